"""Publishing the templates of `--templates-path` at start-up (reference §1.1).

Templates absent from the files are deleted; those still referenced by tasks cannot be (foreign key) and
are archived instead: hidden and blocked.
"""

from .api_templates import UPSERT_TEMPLATE

__all__ = ["UPSERT_TEMPLATE", "DELETE_UNLISTED_UNUSED", "ARCHIVE_UNLISTED_USED"]

DELETE_UNLISTED_UNUSED = """
DELETE FROM "task_template" t
WHERE NOT (t.name = ANY(%(names)s))
  AND NOT EXISTS (SELECT 1 FROM "task" WHERE id_template = t.id)
RETURNING t.name
"""

ARCHIVE_UNLISTED_USED = """
UPDATE "task_template" SET hidden = true, blocked = true
WHERE NOT (name = ANY(%(names)s)) AND NOT (hidden AND blocked)
RETURNING name
"""
