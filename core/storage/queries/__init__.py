"""Named SQL queries: every statement the engine and the task service send, in one place.

Each module holds plain SQL strings with psycopg named placeholders (`%(name)s`). The only code that sends
them is `utask.core.engine.store`, which also owns locking and encryption, so a reader can see every
lock and every claim the product takes by reading this folder.
"""
