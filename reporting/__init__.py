"""The read-only reporting app: the gold report marts as pages with charts, and ad-hoc SQL on
gold that cannot change anything.

Read-only by construction, not only by checking: DuckDB is opened `read_only` with file access
off, and on Postgres the app connects as a role that may only SELECT from `gold`, in read-only
transactions. The SQL guard (`sql_guard`) comes first so a refused statement gets a clear
message instead of a database error. Imports only `warehouse`, below it.
"""
