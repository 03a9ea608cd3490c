"""`POST /crm/v3/objects/{type}/search`: the CRM search API, translated to SQL over the store.

Honours the limits a real portal enforces, because code that passes here must not break there:
at most 5 filter groups (OR) of 6 filters (AND), one sort, 200 results per page, and no paging
past 10,000 results (`after` ≥ 10000 is a 400). Archived records are never searchable.
`lastmodifieddate`, `createdate` and `hs_object_id` compare as timestamps / numbers and accept
epoch milliseconds or ISO-8601 values, as HubSpot does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

MAX_GROUPS, MAX_FILTERS, MAX_LIMIT, MAX_RESULTS = 5, 6, 200, 10_000
_COMPARISONS = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_TIMESTAMPS = {"lastmodifieddate": "updated_at", "createdate": "created_at", "hs_lastmodifieddate": "updated_at"}


class SearchError(ValueError):
    """A request HubSpot would refuse with 400 VALIDATION_ERROR."""


def search_sql(object_type: str, payload: dict[str, Any]) -> tuple[str, list[Any], int, int]:
    """(SQL selecting matching rows in order, its parameters, limit, offset)."""
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
            clause, values = _filter(spec)
            ands.append(clause)
            params.extend(values)
        if ands:
            ors.append("(" + " and ".join(ands) + ")")
    if ors:
        where.append("(" + " or ".join(ors) + ")")
    limit = int(payload.get("limit") or 10)
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}")
    offset = int(payload.get("after") or 0)
    if offset >= MAX_RESULTS:
        raise SearchError(f"Paging past {MAX_RESULTS} results is not supported; narrow the filters")
    sql = f"select id, properties, created_at, updated_at, archived from objects where {' and '.join(where)}"
    return sql + _order(payload.get("sorts") or []), params, limit, offset


def _column(name: str) -> str:
    if name in _TIMESTAMPS:
        return _TIMESTAMPS[name]
    if name == "hs_object_id":
        return "cast(id as integer)"
    if not name.replace("_", "").isalnum():
        raise SearchError(f"Unknown property {name!r}")
    return f"json_extract(properties, '$.{name}')"


def _value(name: str, value: Any) -> Any:
    if name in _TIMESTAMPS:
        text = str(value)
        moment = (
            datetime.fromtimestamp(int(text) / 1000, UTC)
            if text.isdigit()
            else datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        )
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if name == "hs_object_id":
        return int(value)
    return str(value)


def _filter(spec: dict[str, Any]) -> tuple[str, list[Any]]:
    name, operator = spec.get("propertyName", ""), str(spec.get("operator", "")).upper()
    column = _column(name)
    try:
        if operator in _COMPARISONS:
            return f"{column} {_COMPARISONS[operator]} ?", [_value(name, spec.get("value"))]
        if operator in {"IN", "NOT_IN"}:
            values = [_value(name, v) for v in spec.get("values") or []]
            marks = ", ".join("?" * len(values)) or "null"
            return f"{column} {'not in' if operator == 'NOT_IN' else 'in'} ({marks})", values
        if operator == "BETWEEN":
            return f"{column} between ? and ?", [_value(name, spec.get("value")), _value(name, spec.get("highValue"))]
        if operator == "HAS_PROPERTY":
            return f"{column} is not null", []
        if operator == "NOT_HAS_PROPERTY":
            return f"{column} is null", []
    except (TypeError, ValueError) as exc:
        raise SearchError(f"Invalid value for {name}: {exc}") from None
    raise SearchError(f"Unsupported filter operator {operator!r}")


def _order(sorts: list[Any]) -> str:
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return " order by cast(id as integer)"
    sort = sorts[0]
    name, direction = (sort, "ASCENDING") if isinstance(sort, str) else (sort["propertyName"], sort["direction"])
    descending = str(direction).upper().startswith("DESC")
    return f" order by {_column(name)} {'desc' if descending else 'asc'}, cast(id as integer)"


def page_body(rows: list[tuple], total: int, limit: int, offset: int, render: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"total": total, "results": [render(row) for row in rows[:limit]]}
    if offset + limit < total:
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return body


def wanted_properties(payload: dict[str, Any]) -> list[str] | None:
    properties = payload.get("properties")
    return [str(p) for p in properties] if properties else None
