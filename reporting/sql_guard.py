"""Ad-hoc SQL a report reader may run: one SELECT over gold tables, nothing else.

The statement is parsed with sqlglot (the warehouse's own dialect) rather than matched with
regular expressions, so a `DROP` hidden in a comment-split string, a data-modifying CTE or a
second statement after a semicolon is seen for what it is. Unqualified table names are read as
`gold.<name>`, so `select * from lead_scores` works and `select * from '/etc/passwd'` (a file
in DuckDB) becomes a missing gold table. The guard is the first of two walls: the connection
itself is read-only (see `readonly`).

A tenant that shares the warehouse by schema prefix has its gold in `<prefix>_gold`: the reader
still writes `gold` (or that name), the guard points each table at the tenant's own gold, and
every other schema, another tenant's gold included, is refused.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

ALLOWED_SCHEMA = "gold"

# Anything that writes, changes settings or reaches outside the warehouse, wherever it sits in
# the tree (a CTE may hold a DELETE ... RETURNING on Postgres).
FORBIDDEN = (
    exp.DML,
    exp.DDL,
    exp.Copy,
    exp.Command,
    exp.Pragma,
    exp.Set,
    exp.Into,
    exp.Lock,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Attach,
    exp.Detach,
    exp.Use,
)


class RefusedQuery(ValueError):
    """The statement is not one read-only SELECT on gold; the message says why, in one line."""


def checked_query(sql: str, dialect: str, gold_schema: str = ALLOWED_SCHEMA) -> exp.Query:
    """The statement as a sqlglot tree, its tables qualified with `gold_schema` (the warehouse's
    physical gold, `Warehouse.schema("gold")`), or `RefusedQuery`."""
    text = sql.strip()
    if not text:
        raise RefusedQuery("Enter a SELECT statement.")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise RefusedQuery(f"Not valid SQL: {first}") from None
    if len(statements) != 1:
        raise RefusedQuery(f"One statement at a time: this text has {len(statements)}.")
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        fragment = isinstance(statement, exp.Alias | exp.Column | exp.Identifier | exp.Literal | exp.Paren)
        what = "this is not a SELECT" if fragment else f"this is {_kind(statement)}"
        raise RefusedQuery(f"Only SELECT queries run here; {what}. Nothing was run.")
    for node in statement.walk():
        if isinstance(node, FORBIDDEN):
            raise RefusedQuery(f"Only reading is allowed: the query contains {_kind(node)}. Nothing was run.")
    _qualify_tables(statement, gold_schema)
    return statement


def _qualify_tables(statement: exp.Query, gold_schema: str) -> None:
    """Every table read is a gold table or a CTE of the query itself; table functions (file
    readers, generators) are refused."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise RefusedQuery(f"Only gold tables can be read, not {table.this.sql()[:60]}.")
        schema, catalog = table.db, table.catalog
        if not schema and not catalog and table.name.lower() in ctes:
            continue
        if catalog or (schema and schema.lower() not in {ALLOWED_SCHEMA, gold_schema}):
            where = ".".join(p for p in (catalog, schema) if p)
            raise RefusedQuery(f"Only the gold schema can be read, not {where}.{table.name}.")
        table.set("db", exp.to_identifier(gold_schema))


def limited_sql(statement: exp.Query, dialect: str, max_rows: int) -> str:
    """The query wrapped to return at most `max_rows + 1` rows (one more shows truncation)."""
    wrapped = exp.select("*").from_(statement.subquery("report_query")).limit(max_rows + 1)
    return wrapped.sql(dialect=dialect)


def _kind(node: exp.Expression) -> str:
    key = getattr(node, "key", "") or type(node).__name__
    if isinstance(node, exp.Command):
        key = str(node.this)
    return key.upper().replace("_", " ")
