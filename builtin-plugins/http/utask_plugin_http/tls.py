"""What an http execution needs, loaded once per warm worker instead of once per execution.

This module is in the plugin's `preload`: the warm worker imports it before forking its execution children,
which inherit what it loaded. Loading the system CA bundle costs ~30 ms, and httpx imports its transport
stack (httpcore, h11, …) on the first client it builds (~20 ms): both are done here. Executions that use
the system trust store unchanged share `SYSTEM_CONTEXT`; any customisation (extra root CA, no
verification, client certificate) gets a fresh context.
"""

from __future__ import annotations

import ssl

import httpx

SYSTEM_CONTEXT = ssl.create_default_context()
httpx.Client(verify=SYSTEM_CONTEXT).close()
