"""dlt source for HubSpot CRM objects (contacts, companies, deals) and owners, on the real
`hubspot-api-client`.

The choices that matter:
- Responses are read raw (`_preload_content=False`) and turned into Arrow columns directly: the
  client's generated models cost more per record than the whole rest of the load. Pages go to
  dlt 10,000 records at a time, since dlt's cost per item outweighs a page's parsing.
- The first run pages through the list endpoint, which also returns associations. Later runs
  ask the search endpoint for `lastmodifieddate >= cursor`, walking past its 10,000-result cap by
  restarting from the newest stamp seen, and read the changed records' associations in batches.
  Archived (deleted) records are listed on every run and kept with `archived = true`.
- Property types come from the properties API. A value that does not parse as its type sends
  the record to `<object>_quarantine` with the reason; the rest of the page loads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import urllib3
from dlt.sources import DltResource
from hubspot import HubSpot

from ingestion import quarantine
from ingestion.arrow_cast import cast_or_reject
from ingestion.cursor_window import CursorWindow
from ingestion.prefetch import prefetched
from ingestion.schema_drift import SCHEMA_CONTRACT

logger = logging.getLogger(__name__)

OBJECT_TYPES: tuple[str, ...] = ("contacts", "companies", "deals")
ASSOCIATIONS: dict[str, tuple[str, ...]] = {
    "contacts": ("companies",),
    "companies": (),
    "deals": ("contacts", "companies"),
}
CURSOR_COLUMN = "updated_at"
# The searchable modification stamp: contacts call it `lastmodifieddate`, other objects
# `hs_lastmodifieddate` (a portal has no `lastmodifieddate` on companies or deals).
MODIFIED_PROPERTY: dict[str, str] = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
PAGE_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000  # HubSpot answers at most this many results per search query
ASSOCIATION_BATCH = 1_000
ITEM_ROWS = 10_000  # parsed records handed to dlt as one Arrow table


class SourceUnavailableError(RuntimeError):
    """HubSpot could not be reached; the message says where and what to do."""


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_source(
    client_factory: Callable[[], HubSpot] | None = None,
    object_types: tuple[str, ...] = OBJECT_TYPES,
    where: str = "sandbox or HubSpot",
) -> list[DltResource]:
    """One merge resource per object type plus owners; the client is built only when a
    resource runs, so Dagster can name the assets before any credentials exist."""
    return [
        *(_object_resource(client_factory, object_type, where) for object_type in object_types),
        _owners_resource(client_factory, where),
    ]


def _object_resource(client_factory: Callable[[], HubSpot] | None, object_type: str, where: str) -> DltResource:
    @dlt.resource(name=object_type, primary_key="id", write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def records() -> Iterator[Any]:
        client = _client(client_factory, where)
        window = CursorWindow(dlt.current.resource_state(), CURSOR_COLUMN, "id")
        types = property_types(client, object_type)
        counts = {"read": 0, "loaded": 0, "quarantined": 0}
        hints = dlt.mark.make_hints(write_disposition="append" if window.is_first_run else "merge")
        pending: list[pa.Table] = []  # parsed pages not yet handed to dlt

        def handed_on() -> Iterator[Any]:
            # Many pages to one item: dlt's fixed cost per item (some 1.5 ms) is more than the
            # parsing of a 100-record page.
            if pending:
                yield dlt.mark.with_hints(pa.concat_tables(pending), hints)
                pending.clear()

        try:
            if window.is_first_run:
                pages = _list_pages(client, object_type, list(types), archived=False)
            else:
                pages = _with_associations(client, object_type, _search_pages(client, object_type, list(types), window))
            for page in [pages, _list_pages(client, object_type, list(types), archived=True)]:
                for records in prefetched(page):
                    table, rejected = records_to_arrow(records, object_type, types)
                    parsed = table.num_rows
                    table = window.unseen(table)
                    # Records the last run already loaded (the window's overlap) are not read again.
                    counts["read"] += len(records) - (parsed - table.num_rows)
                    counts["loaded"] += table.num_rows
                    counts["quarantined"] += len(rejected)
                    if table.num_rows:
                        pending.append(table)
                        if sum(t.num_rows for t in pending) >= ITEM_ROWS:
                            yield from handed_on()
                    if rejected:
                        yield quarantine.hinted(quarantine.to_arrow(rejected), object_type)
            yield from handed_on()
        except urllib3.exceptions.HTTPError as exc:
            raise SourceUnavailableError(f"HubSpot not reachable ({where}): {type(exc).__name__}") from None
        window.commit()
        dlt.current.resource_state()[quarantine.RUN_COUNTS_STATE] = counts

    return records


def _owners_resource(client_factory: Callable[[], HubSpot] | None, where: str) -> DltResource:
    @dlt.resource(name="owners", primary_key="id", write_disposition="replace", schema_contract=SCHEMA_CONTRACT)
    def owners() -> Iterator[pa.Table]:
        client = _client(client_factory, where)
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            body = _json(client.crm.owners.owners_api.get_page(limit=PAGE_LIMIT, after=after, _preload_content=False))
            rows.extend(body.get("results", []))
            after = body.get("paging", {}).get("next", {}).get("after")
            if not after:
                break
        table = pa.table(
            {
                "id": pa.array([r["id"] for r in rows], pa.string()),
                "email": pa.array([r.get("email") for r in rows], pa.string()),
                "first_name": pa.array([r.get("firstName") for r in rows], pa.string()),
                "last_name": pa.array([r.get("lastName") for r in rows], pa.string()),
                "user_id": pa.array([r.get("userId") for r in rows], pa.int64()),
                "archived": pa.array([bool(r.get("archived")) for r in rows], pa.bool_()),
                "updated_at": _timestamps([r.get("updatedAt") for r in rows]),
            }
        )
        yield table.cast(table.schema.set(0, pa.field("id", pa.string(), nullable=False)))

    return owners


def _client(client_factory: Callable[[], HubSpot] | None, where: str) -> HubSpot:
    if client_factory is None:
        raise SourceUnavailableError(f"no HubSpot client configured for this source ({where})")
    return client_factory()


def _json(response: Any) -> dict[str, Any]:
    return json.loads(response.data)


def property_types(client: HubSpot, object_type: str) -> dict[str, str]:
    """Property name → HubSpot type (`string`, `number`, `datetime`, `date`, `bool`, `enumeration`)."""
    body = _json(client.crm.properties.core_api.get_all(object_type, _preload_content=False))
    return {p["name"]: p["type"] for p in body["results"]}


def _list_pages(client: HubSpot, object_type: str, properties: list[str], archived: bool) -> Iterator[list[dict]]:
    api = getattr(client.crm, object_type).basic_api
    associations = list(ASSOCIATIONS[object_type]) if not archived else None
    after = None
    while True:
        body = _json(
            api.get_page(
                limit=PAGE_LIMIT,
                after=after,
                properties=properties,
                associations=associations,
                archived=archived,
                _preload_content=False,
            )
        )
        if body.get("results"):
            yield body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return


def _search_pages(
    client: HubSpot, object_type: str, properties: list[str], window: CursorWindow
) -> Iterator[list[dict]]:
    """Records modified at or after the window's start, oldest first. Search stops answering
    after 10,000 results, so a long window is walked as several queries, each starting at the
    newest stamp the previous one reached (the window drops the overlap)."""
    api = getattr(client.crm, object_type).search_api
    since = window.start
    while True:
        after, newest, served = None, since, 0
        while True:
            request = {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": MODIFIED_PROPERTY[object_type],
                                "operator": "GTE",
                                "value": str(int(since.timestamp() * 1000)),
                            }
                        ]
                    }
                ],
                "sorts": [{"propertyName": MODIFIED_PROPERTY[object_type], "direction": "ASCENDING"}],
                "properties": properties,
                "limit": SEARCH_LIMIT,
                **({"after": after} if after else {}),
            }
            body = _json(api.do_search(public_object_search_request=request, _preload_content=False))
            results = body.get("results", [])
            if results:
                served += len(results)
                newest = max(newest, _parse_timestamp(results[-1]["updatedAt"]))
                yield results
            after = body.get("paging", {}).get("next", {}).get("after")
            if not after:
                return
            if served + SEARCH_LIMIT > SEARCH_CAP:
                break
        if newest == since:  # more than 10,000 records share one millisecond: cannot page further
            raise RuntimeError(f"HubSpot {object_type}: over {SEARCH_CAP} records modified at {since.isoformat()}")
        since = newest


def _with_associations(client: HubSpot, object_type: str, pages: Iterator[list[dict]]) -> Iterator[list[dict]]:
    """Search results carry no associations; fetch them for each page's records (v4 batch read)."""
    batch_api = client.crm.associations.v4.batch_api
    for records in pages:
        for to_type in ASSOCIATIONS[object_type]:
            linked: dict[str, list[dict[str, str]]] = {}
            for start in range(0, len(records), ASSOCIATION_BATCH):
                inputs = [{"id": r["id"]} for r in records[start : start + ASSOCIATION_BATCH]]
                body = _json(batch_api.get_page(object_type, to_type, {"inputs": inputs}, _preload_content=False))
                for result in body.get("results", []):
                    linked[str(result["from"]["id"])] = [{"id": str(t["toObjectId"])} for t in result.get("to", [])]
            for record in records:
                record.setdefault("associations", {})[to_type] = {"results": linked.get(record["id"], [])}
        yield records


# ---------------------------------------------------------------------------------------- Arrow


def records_to_arrow(
    records: list[dict[str, Any]], object_type: str, types: dict[str, str]
) -> tuple[pa.Table, list[quarantine.Rejected]]:
    """One page as a typed Arrow table, and the records whose values do not parse as their type."""
    properties = [r.get("properties") or {} for r in records]
    columns: dict[str, pa.Array] = {
        "id": pa.array([str(r["id"]) for r in records], pa.string()),
        "created_at": _timestamps([r.get("createdAt") for r in records]),
        CURSOR_COLUMN: _timestamps([r.get("updatedAt") for r in records]),
        "archived": pa.array([bool(r.get("archived")) for r in records], pa.bool_()),
    }
    bad: dict[int, str] = {}
    for name, kind in types.items():
        if name in columns:
            continue
        raw = pa.array([p.get(name) for p in properties], pa.string())
        columns[name], failures = _typed(raw, kind)
        for index in failures:
            bad.setdefault(index, f"unparseable {kind} in {name}: {raw[index].as_py()!r}")
    for to_type in ASSOCIATIONS[object_type]:
        columns[f"associated_{to_type}"] = pa.array(
            [_association_ids(r, to_type) for r in records],
            pa.string(),
        )
    # id is the primary key dlt declares not-null; saying so keeps the two schemas agreeing.
    table = pa.table(columns)
    table = table.cast(table.schema.set(0, pa.field("id", pa.string(), nullable=False)))
    if not bad:
        return table, []
    keep = pa.array([i not in bad for i in range(len(records))])
    rejected = [
        quarantine.Rejected(
            source=f"hubspot/{object_type}/{records[i]['id']}@{records[i].get('updatedAt')}",
            row_number=1,
            raw_payload=json.dumps(records[i], sort_keys=True),
            reason=reason,
        )
        for i, reason in sorted(bad.items())
    ]
    return table.filter(keep), rejected


def _association_ids(record: dict[str, Any], to_type: str) -> str | None:
    """Associated ids, sorted and joined with `;` (a stable, cross-warehouse text form)."""
    linked = record.get("associations")
    if linked is None:
        return None  # archived records carry none; do not claim "no associations"
    ids = sorted({str(a["id"]) for a in (linked.get(to_type) or {}).get("results", [])}, key=lambda x: (len(x), x))
    return ";".join(ids)


_ARROW_TYPES = {"number": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "datetime": pa.timestamp("ms", "UTC")}


def _typed(raw: pa.Array, kind: str) -> tuple[pa.Array, list[int]]:
    """Casts a column of HubSpot's string values to its type; unparseable cells become null and
    are reported by index (the caller quarantines their records)."""
    target = _ARROW_TYPES.get(kind)
    if target is None:
        return raw, []
    return cast_or_reject(pc.utf8_lower(raw) if kind == "bool" else raw, target)


def _timestamps(values: list[str | None]) -> pa.Array:
    return pa.array([_parse_timestamp(v) if v else None for v in values], pa.timestamp("ms", "UTC"))


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
