"""A SOQL subset, parsed and translated to parameterized SQLite.

The point is fidelity, not breadth: whatever is parsed is answered exactly as a real org
would; anything else is rejected with MALFORMED_QUERY (or INVALID_FIELD), never guessed at.
Supported: SELECT fields | COUNT() FROM Object [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n],
with AND / OR / NOT / parentheses, = != <> < <= > >=, [NOT] IN (…), LIKE, NULL, booleans,
numbers, quoted strings, date and datetime literals.

SOQL logic is two-valued: a null field simply fails `=`, `<`, `IN`, `LIKE` and passes `!=` and
`NOT IN`, so `NOT (Industry = 'Retail')` includes leads without an industry. SQL's three-valued
NULL would silently drop them, so every comparison is emitted in a null-proof form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.schema import Field, SObject, sobject
from sandbox.salesforce.store import id18, parse_datetime, stored_datetime

KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "null",
    "true",
    "false",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "count",
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
      | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Query:
    sobject: SObject
    fields: list[Field]
    count_only: bool
    where_sql: str = ""
    params: list[Any] = field(default_factory=list)
    order_sql: str = ""
    limit: int | None = None
    offset: int = 0

    def sql(
        self, include_deleted: bool, with_id: bool = False, ordered: bool = True, selective: bool = False
    ) -> tuple[str, list[Any]]:
        """`with_id` adds an `Id` column first, because every REST record carries its Id in
        `attributes.url` even when the query did not select it. `ordered=False` drops the
        ORDER BY (for counting). `selective` says the WHERE keeps few rows: sorting them beats
        walking the whole Id index, which SQLite would otherwise do to avoid the sort."""
        clauses = [] if include_deleted else ['"IsDeleted" = 0']
        if self.where_sql:
            clauses.append(f"({self.where_sql})")
        where = f" where {' and '.join(clauses)}" if clauses else ""
        if self.count_only:
            return f'select count(*) from "{self.sobject.name}"{where}', list(self.params)
        columns = ", ".join((['"Id" as "__id"'] if with_id else []) + [f'"{f.name}"' for f in self.fields])
        sql = f'select {columns} from "{self.sobject.name}"{where}'
        # Id breaks ties so offset paging (REST locators, Bulk results) is stable between calls.
        id_order = '+"Id"' if selective else '"Id"'
        if ordered:
            sql += f" order by {self.order_sql}, {id_order}" if self.order_sql else f" order by {id_order}"
        if self.limit is not None or self.offset:
            sql += f" limit {self.limit if self.limit is not None else -1} offset {self.offset}"
        return sql, list(self.params)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token near: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "ident" and value.lower() in KEYWORDS:
            kind, value = "kw", value.lower()
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.params: list[Any] = []
        self.obj: SObject | None = None

    # -------------------------------------------------------------- token helpers
    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("eof", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def accept_kw(self, *words: str) -> bool:
        kind, value = self.peek()
        if kind == "kw" and value == words[0]:
            for offset, word in enumerate(words):
                if self.peek(offset) != ("kw", word):
                    return False
            self.pos += len(words)
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.accept_kw(word):
            raise SoqlError("MALFORMED_QUERY", f"expecting '{word.upper()}' near {self.peek()[1]!r}")

    def expect(self, kind: str, value: str | None = None) -> str:
        got_kind, got_value = self.take()
        if got_kind != kind or (value is not None and got_value != value):
            raise SoqlError("MALFORMED_QUERY", f"unexpected {got_value or 'end of query'!r}")
        return got_value

    # -------------------------------------------------------------- grammar
    def parse(self) -> Query:
        self.expect_kw("select")
        names: list[str] = []
        count_only = False
        if self.peek() == ("kw", "count"):
            self.take()
            self.expect("punct", "(")
            self.expect("punct", ")")
            count_only = True
        else:
            names.append(self.expect("ident"))
            while self.peek() == ("punct", ","):
                self.take()
                names.append(self.expect("ident"))
        self.expect_kw("from")
        object_name = self.expect("ident")
        obj = sobject(object_name)
        if obj is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
        self.obj = obj
        fields = [self.field(name) for name in names]
        query = Query(obj, fields, count_only)
        if self.accept_kw("where"):
            query.where_sql = self.condition()
            query.params = self.params
        if self.accept_kw("order", "by"):
            query.order_sql = self.order_list()
        if self.accept_kw("limit"):
            query.limit = int(self.expect("number"))
        if self.accept_kw("offset"):
            query.offset = int(self.expect("number"))
        if self.peek()[0] != "eof":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {self.peek()[1]!r}")
        return query

    def field(self, name: str) -> Field:
        assert self.obj is not None
        found = self.obj.field(name)
        if found is None:
            raise SoqlError(
                "INVALID_FIELD", f"No such column '{name}' on entity '{self.obj.name}'. Check the spelling."
            )
        return found

    def order_list(self) -> str:
        parts = []
        while True:
            column = f'"{self.field(self.expect("ident")).name}"'
            direction = "asc"
            if self.accept_kw("asc"):
                direction = "asc"
            elif self.accept_kw("desc"):
                direction = "desc"
            nulls = "first" if direction == "asc" else "last"  # SOQL's defaults
            if self.accept_kw("nulls"):
                nulls = "first" if self.accept_kw("first") else ("last" if self.accept_kw("last") else "")
                if not nulls:
                    raise SoqlError("MALFORMED_QUERY", "expecting FIRST or LAST after NULLS")
            parts.append(f"{column} {direction} nulls {nulls}")
            if self.peek() != ("punct", ","):
                return ", ".join(parts)
            self.take()

    def condition(self) -> str:
        parts = [self.conjunction()]
        while self.accept_kw("or"):
            parts.append(self.conjunction())
        return " or ".join(parts) if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def conjunction(self) -> str:
        parts = [self.negation()]
        while self.accept_kw("and"):
            parts.append(self.negation())
        return " and ".join(parts) if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def negation(self) -> str:
        if self.accept_kw("not"):
            return f"not ({self.negation()})"
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.condition()
            self.expect("punct", ")")
            return f"({inner})"
        return self.comparison()

    def comparison(self) -> str:
        target = self.field(self.expect("ident"))
        column = f'"{target.name}"'
        collate = "" if target.type in _EXACT_TYPES else " collate nocase"
        negated = self.accept_kw("not")
        if self.accept_kw("in"):
            self.expect("punct", "(")
            values = [self.value(target)]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.value(target))
            self.expect("punct", ")")
            listed = [_id18(target, v) for v in values if v is not None]
            has_null = len(listed) < len(values)
            self.params.extend(listed)
            member = f"{column}{collate} in ({', '.join('?' * len(listed))})" if listed else "0"
            if negated:  # null is "not in" a list unless the list names null
                return (
                    f"(not ({member}) and {column} is not null)"
                    if has_null
                    else f"(not ({member}) or {column} is null)"
                )
            return f"({member} or {column} is null)" if has_null else f"({member} and {column} is not null)"
        if negated:
            raise SoqlError("MALFORMED_QUERY", "NOT must be followed by IN here")
        if self.accept_kw("like"):
            kind, text = self.take()
            if kind != "string":
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a quoted string")
            self.params.append(_like_pattern(text))
            return f"({column} like ? escape '\\' and {column} is not null)"
        kind, op = self.take()
        if kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"expecting an operator near {op!r}")
        op = "!=" if op == "<>" else op
        if self.peek() == ("kw", "null"):
            self.take()
            if op not in {"=", "!="}:
                raise SoqlError("MALFORMED_QUERY", "null can only be compared with = or !=")
            return f"{column} is {'not ' if op == '!=' else ''}null"
        self.params.append(_id18(target, self.value(target)))
        if op == "!=":
            return f"({column}{collate} != ? or {column} is null)"
        return f"({column}{collate} {op} ? and {column} is not null)"

    def value(self, target: Field) -> Any:
        kind, text = self.take()
        if kind == "kw" and text in {"true", "false"}:
            if target.type != "boolean":
                raise SoqlError("INVALID_FIELD", f"value of type boolean for field {target.name}")
            return 1 if text == "true" else 0
        if kind == "kw" and text == "null":
            return None
        if target.type == "datetime":
            if kind != "datetime":
                raise SoqlError(
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{target.name}' must be of "
                    "type dateTime and should not be enclosed in quotes",
                )
            return stored_datetime(parse_datetime(text))
        if target.type == "date":
            if kind != "date":
                raise SoqlError("INVALID_FIELD", f"value for field '{target.name}' must be of type date")
            return text
        if target.type in {"int", "double", "currency", "percent"}:
            if kind != "number":
                raise SoqlError("INVALID_FIELD", f"value for field '{target.name}' must be a number")
            return float(text) if "." in text else int(text)
        if kind != "string":
            raise SoqlError("MALFORMED_QUERY", f"value for field '{target.name}' must be a quoted string")
        return _unquote(text)


_EXACT_TYPES = {"id", "reference", "boolean", "int", "double", "currency", "percent", "date", "datetime"}


def _id18(target: Field, value: Any) -> Any:
    """A 15-character id names the same record as its 18-character form; widening the literal
    keeps the comparison exact, so SQLite still uses the primary key."""
    if target.type in {"id", "reference"} and isinstance(value, str) and len(value) == 15:
        return id18(value)
    return value


def _like_pattern(text: str) -> str:
    """SOQL LIKE: `%` and `_` are wildcards, `\\%` and `\\_` literal; kept escaped for `ESCAPE '\\'`."""
    out, body, i = [], text[1:-1], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, "\\" + nxt if nxt in "%_\\" else nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)


def parse(text: str) -> Query:
    return _Parser(text).parse()
