"""`POST /crm/v3/objects/{type}/search`: the CRM search API, translated to SQL over the store.

Honours the limits a real portal enforces, because code that passes here must not break there:
at most 5 filter groups (OR) of 6 filters (AND), one sort, 200 results per page, and no paging
past 10,000 results (`after` ≥ 10000 is a 400). Archived records are never searchable.
`lastmodifieddate`, `hs_lastmodifieddate`, `createdate` and `hs_object_id` compare as timestamps /
numbers and accept epoch milliseconds or ISO-8601 values, as HubSpot does. Other properties
compare by their declared type: numbers numerically, datetimes as instants, text without case.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MAX_GROUPS, MAX_FILTERS, MAX_LIMIT, MAX_RESULTS = 5, 6, 200, 10_000
_COMPARISONS = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
# Both stamp names answer on every type: companies and deals call it `hs_lastmodifieddate`, and
# accepting `lastmodifieddate` there too is a documented leniency (see docs/sandbox_fidelity.md).
_TIMESTAMPS = {"lastmodifieddate": "updated_at", "createdate": "created_at", "hs_lastmodifieddate": "updated_at"}
_COLUMNS = "id, properties, created_at, updated_at, archived"


class SearchError(ValueError):
    """A request HubSpot would refuse with 400 VALIDATION_ERROR."""


def search_sql(
    object_type: str, payload: dict[str, Any], types: dict[str, str], searchable: list[str] = ()
) -> tuple[str, list[Any], int, int]:
    """(SQL selecting matching rows in order, its parameters, limit, offset).

    `types` maps property names to HubSpot types (from the properties API) and decides how a
    filter compares; `searchable` are the properties a free-text `query` looks in."""
    if not isinstance(payload, dict):
        raise SearchError("Invalid input JSON: expected an object")
    groups = payload.get("filterGroups") or []
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups ({len(groups)}); the maximum is {MAX_GROUPS}")
    where, params = ["object_type = ?", "archived = 0"], [object_type]
    ors = []
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS:
            raise SearchError(f"Too many filters in a group ({len(filters)}); the maximum is {MAX_FILTERS}")
        ands = []
        for spec in filters:
            clause, values = _filter(spec, types)
            ands.append(clause)
            params.extend(values)
        if ands:
            ors.append("(" + " and ".join(ands) + ")")
    if ors:
        where.append("(" + " or ".join(ors) + ")")
    query = str(payload.get("query") or "").strip().lower()
    if query:
        texts = " or ".join(f"instr(lower({_column(n, types)}), ?) > 0" for n in searchable) or "0"
        where.append(f"({texts})")
        params.extend([query] * len(searchable))
    limit, offset = _integer(payload.get("limit"), 10, "limit"), _integer(payload.get("after"), 0, "after")
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    if offset >= MAX_RESULTS:
        raise SearchError(f"Paging past {MAX_RESULTS} results is not supported; narrow the filters")
    sql = f"select {_COLUMNS} from objects where {' and '.join(where)}"
    return sql + _order(payload.get("sorts") or [], types), params, limit, offset


def _integer(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise SearchError(f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise SearchError(f"{name} must not be negative")
    return number


def _column(name: str, types: dict[str, str]) -> str:
    if name in _TIMESTAMPS:
        return _TIMESTAMPS[name]
    if name == "hs_object_id":
        return "cast(id as integer)"
    if not name or not name.replace("_", "").isalnum():
        raise SearchError(f"Unknown property {name!r}")
    raw = f"json_extract(properties, '$.{name}')"
    return f"cast({raw} as real)" if types.get(name) == "number" else raw


def _kind(name: str, types: dict[str, str]) -> str:
    """How values of `name` compare: instant, integer, number or text."""
    if name in _TIMESTAMPS or types.get(name) in {"datetime", "date"}:
        return "instant"
    if name == "hs_object_id":
        return "integer"
    return "number" if types.get(name) == "number" else "text"


def _value(kind: str, value: Any) -> Any:
    if value is None:
        raise ValueError("a value is required")
    if kind == "instant":
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "integer":
        return int(str(value))
    if kind == "number":
        return float(str(value))
    return str(value).lower()


def _filter(spec: dict[str, Any], types: dict[str, str]) -> tuple[str, list[Any]]:
    name, operator = spec.get("propertyName", ""), str(spec.get("operator", "")).upper()
    column, kind = _column(name, types), _kind(name, types)
    compared = f"lower({column})" if kind == "text" else column
    try:
        if operator in _COMPARISONS:
            return f"{compared} {_COMPARISONS[operator]} ?", [_value(kind, spec.get("value"))]
        if operator in {"IN", "NOT_IN"}:
            values = [_value(kind, v) for v in spec.get("values") or []]
            if not values:
                raise SearchError(f"{operator} on {name} needs a non-empty `values` list")
            marks = ", ".join("?" * len(values))
            return f"{compared} {'not in' if operator == 'NOT_IN' else 'in'} ({marks})", values
        if operator == "BETWEEN":
            low, high = _value(kind, spec.get("value")), _value(kind, spec.get("highValue"))
            return f"{compared} between ? and ?", [low, high]
        if operator == "HAS_PROPERTY":
            return f"({column} is not null and {column} != '')", []
        if operator == "NOT_HAS_PROPERTY":
            return f"({column} is null or {column} = '')", []
    except (TypeError, ValueError) as exc:
        raise SearchError(f"Invalid value for {name}: {exc}") from None
    raise SearchError(f"Unsupported filter operator {operator!r}")


def _order(sorts: list[Any], types: dict[str, str]) -> str:
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return " order by cast(id as integer)"
    sort = sorts[0]
    if isinstance(sort, str):  # the client's model types sorts as strings: "name" or "-name"
        name, direction = sort.lstrip("-"), "DESCENDING" if sort.startswith("-") else "ASCENDING"
    elif isinstance(sort, dict) and sort.get("propertyName"):
        name, direction = sort["propertyName"], sort.get("direction", "ASCENDING")
    else:
        raise SearchError(f"Invalid sort {sort!r}")
    descending = str(direction).upper().startswith("DESC")
    return f" order by {_column(name, types)} {'desc' if descending else 'asc'}, cast(id as integer)"


def page_body(rows: list[tuple], total: int, limit: int, offset: int, render: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"total": total, "results": [render(row) for row in rows[:limit]]}
    if offset + limit < total:
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return body


def wanted_properties(payload: dict[str, Any]) -> list[str] | None:
    properties = payload.get("properties")
    return [str(p) for p in properties] if properties else None
