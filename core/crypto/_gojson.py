"""Go `encoding/json` output (standard encoder, HTML escaping): what symmecrypt's marshal encoding encrypts.

Kept as a name because other modules imported it before `utask.core.gojson.dumps` existed; it is that
function now (one JSON encoder in the project).
"""

from __future__ import annotations

from typing import Any

from utask.core import gojson


def go_dumps(obj: Any) -> str:
    return gojson.dumps(obj, escape_html=True)
