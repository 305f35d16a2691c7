"""Decoded task templates kept between requests, keyed by database, row id and row version.

Decoding a template (models, Go decoding rules) costs more than the rest of a POST /task or a
GET /task/:id, and template rows only change when an instance (re)publishes them. The version is the row's
`xmin`, which changes with every update, so a stale entry is never returned: the caller reads the version
(a few bytes) and decodes only on a miss. One cache for the whole process, so the task service and the
REST API share what either decoded. Entries are shared objects: callers must not modify them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["DecodedTemplates", "DECODED_TEMPLATES"]


class DecodedTemplates:
    """A bounded LRU map (database, template id) → (row version, decoded template)."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[Hashable, int], tuple[str, Any]] = OrderedDict()
        # The API and the engine may run in different threads (tests, tools): dict reordering is not atomic.
        self._lock = threading.Lock()

    def get(self, database: Hashable, template_id: int, version: str | None) -> Any | None:
        """The decoded template if it was decoded from this very row version, else None."""
        if version is None:
            return None
        key = (database, template_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, database: Hashable, template_id: int, version: str | None, template: Any) -> None:
        if version is None:
            return  # no version, no way to tell when it goes stale
        key = (database, template_id)
        with self._lock:
            self._entries[key] = (version, template)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def forget(self, database: Hashable) -> None:
        """Drop one database's entries (after publishing templates: the old objects are freed now)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == database]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


DECODED_TEMPLATES = DecodedTemplates()
