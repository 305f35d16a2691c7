"""Task templates as the REST API lists them, and the upsert that publishes loaded templates (§1.1, §7.4)."""

# Listing by internal id after `last` (a name); the hidden filter is a parameter so admins see them all.
LIST_TEMPLATES = """
SELECT * FROM "task_template"
WHERE (%(with_hidden)s OR NOT hidden)
  AND id > coalesce((SELECT id FROM "task_template" WHERE name = %(last)s), 0)
ORDER BY id
LIMIT %(limit)s
"""

TEMPLATE_ID_BY_NAME = 'SELECT id FROM "task_template" WHERE name = %(name)s'

# µTask upserts every template file at start-up; the row keeps its id (tasks reference it).
UPSERT_TEMPLATE = """
INSERT INTO "task_template" (name, description, long_description, doc_link, inputs, resolver_inputs, steps,
    variables, allowed_resolver_groups, allowed_resolver_usernames, allow_all_resolver_usernames,
    auto_runnable, blocked, hidden, result_format, title_format, retry_max, allow_task_start_over,
    base_configurations, tags)
VALUES (%(name)s, %(description)s, %(long_description)s, %(doc_link)s, %(inputs)s, %(resolver_inputs)s,
    %(steps)s, %(variables)s, %(allowed_resolver_groups)s, %(allowed_resolver_usernames)s,
    %(allow_all_resolver_usernames)s, %(auto_runnable)s, %(blocked)s, %(hidden)s, %(result_format)s,
    %(title_format)s, %(retry_max)s, %(allow_task_start_over)s, %(base_configurations)s, %(tags)s)
ON CONFLICT (name) DO UPDATE SET
    description = EXCLUDED.description, long_description = EXCLUDED.long_description,
    doc_link = EXCLUDED.doc_link, inputs = EXCLUDED.inputs, resolver_inputs = EXCLUDED.resolver_inputs,
    steps = EXCLUDED.steps, variables = EXCLUDED.variables,
    allowed_resolver_groups = EXCLUDED.allowed_resolver_groups,
    allowed_resolver_usernames = EXCLUDED.allowed_resolver_usernames,
    allow_all_resolver_usernames = EXCLUDED.allow_all_resolver_usernames,
    auto_runnable = EXCLUDED.auto_runnable, blocked = EXCLUDED.blocked, hidden = EXCLUDED.hidden,
    result_format = EXCLUDED.result_format, title_format = EXCLUDED.title_format,
    retry_max = EXCLUDED.retry_max, allow_task_start_over = EXCLUDED.allow_task_start_over,
    base_configurations = EXCLUDED.base_configurations, tags = EXCLUDED.tags
RETURNING id
"""
