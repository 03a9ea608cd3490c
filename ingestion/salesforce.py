"""dlt source for Salesforce objects, on the real `simple-salesforce` client.

dlt's verified Salesforce source is not on PyPI, so this is our own. Three choices matter:
- Pages become Arrow tables typed from `describe`, not Python dicts: dlt normalizes dicts at a
  few thousand rows per second but loads Arrow at hundreds of thousands, and a describe-typed
  schema keeps all-null columns and datetimes correct on every warehouse.
- Reads go through `queryAll` filtered on `SystemModstamp`, so an incremental run fetches only
  what changed *including deletions*, which arrive as rows with `IsDeleted = true` and are kept
  as a soft-delete flag by the merge on `Id`.
- Every read is retried on a transient failure (5xx, a 429 after its Retry-After, a response
  cut off mid-body) with exponential backoff, request by request, so a paged read resumes at
  the page that failed (`crm_clients.with_read_retries`; a client factory may hand over a client
  already configured with other attempts or backoff, which is kept).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import requests
from dlt.sources import DltResource
from simple_salesforce import Salesforce

from ingestion import quarantine
from ingestion.arrow_cast import array_or_reject, cast_or_reject
from ingestion.crm_clients import with_read_retries
from ingestion.cursor_window import CursorWindow
from ingestion.prefetch import prefetched
from ingestion.schema_drift import SCHEMA_CONTRACT, check_no_removed_columns, known_columns

logger = logging.getLogger(__name__)

DEFAULT_OBJECTS: tuple[str, ...] = (
    "Lead",
    "Contact",
    "Account",
    "Opportunity",
    "Task",
    "Campaign",
    "CampaignMember",
    "User",
    # Field history: when each tracked field (the consent flags) changed, so a decision is
    # dated by the change and not by the record's last edit.
    "LeadHistory",
    "ContactHistory",
)
CURSOR_FIELD = "SystemModstamp"
# Objects without SystemModstamp: field history rows are only ever added, stamped CreatedDate.
CURSOR_FIELDS: dict[str, str] = {"LeadHistory": "CreatedDate", "ContactHistory": "CreatedDate"}
BULK_THRESHOLD = 10_000
BULK_PAGE_SIZE = 100_000

# Salesforce field types → Arrow. Anything not listed (picklist, email, phone, textarea, id,
# reference, url, …) is text.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "currency": pa.float64(),
    "percent": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}
# Compound fields (Address, geolocation) duplicate their parts and arrive as nested objects.
_SKIPPED_TYPES = {"address", "location", "base64", "anyType", "complexvalue"}


class SourceUnavailableError(RuntimeError):
    """The CRM could not be reached; the message says where and what to do."""


@dlt.source(name="salesforce", max_table_nesting=0)
def salesforce_source(
    client_factory: Callable[[], Salesforce] | None = None,
    objects: tuple[str, ...] = DEFAULT_OBJECTS,
    where: str = "sandbox or Salesforce",
    bulk_threshold: int = BULK_THRESHOLD,
    bulk_poll_seconds: float = 2.0,
    skip_own_writes: tuple[str, ...] = (),
) -> list[DltResource]:
    """One merge resource per object; `client_factory` is called only when a resource runs.

    `skip_own_writes` names the objects Leadloop's syncs write: an incremental read of them
    leaves out rows whose last change was made by this client's own user (the integration user
    the syncs run as), so a sync's writes do not come back as source changes. The cost: a
    person's edit followed by a sync write to the same record before the next load is read only
    at that record's next change by someone else.

    Dagster needs the resources at definition time to name the assets, long before any
    credentials or sandbox exist, so the client is a factory, not a value. `where` names the
    endpoint's origin in errors. A read of at least `bulk_threshold` changed rows goes through
    Bulk API 2.0 (CSV straight into Arrow); a small incremental read stays on REST, where a bulk
    job's fixed overhead would dominate.
    """
    return [
        _object_resource(client_factory, sobject, where, bulk_threshold, bulk_poll_seconds, sobject in skip_own_writes)
        for sobject in objects
    ]


def _object_resource(
    client_factory: Callable[[], Salesforce] | None,
    sobject: str,
    where: str,
    bulk_threshold: int,
    bulk_poll_seconds: float,
    skip_own_writes: bool = False,
) -> DltResource:
    table_name = resource_name(sobject)

    @dlt.resource(name=table_name, primary_key="Id", write_disposition="merge", schema_contract=SCHEMA_CONTRACT)
    def records() -> Iterator[pa.Table]:
        if client_factory is None:
            raise SourceUnavailableError("no Salesforce client configured for this source")
        cursor = CURSOR_FIELDS.get(sobject, CURSOR_FIELD)
        window = CursorWindow(dlt.current.resource_state(), cursor, "Id")
        counts = {"read": 0, "loaded": 0, "quarantined": 0}
        # The first load appends into an empty table: a merge would only dedupe what the query
        # snapshot already made unique, at twice the load time.
        hints = dlt.mark.make_hints(write_disposition="append" if window.is_first_run else "merge")
        client = with_read_retries(client_factory())
        try:
            schema = arrow_schema(client, sobject)
            check_no_removed_columns(f"Salesforce {sobject}", table_name, schema.names, known_columns())
            changed_since = f"{cursor} >= {_soql_datetime(window.start)}"
            if skip_own_writes and not window.is_first_run:
                changed_since += f" AND LastModifiedById != '{own_user_id(client)}'"
            select = f"SELECT {', '.join(schema.names)} FROM {sobject} WHERE {changed_since}"
            changed = client.query(f"SELECT COUNT() FROM {sobject} WHERE {changed_since}", include_deleted=True)
            if changed["totalSize"] >= bulk_threshold:
                bulk = getattr(client.bulk2, sobject)
                pages = prefetched(bulk.query_all(select, max_records=BULK_PAGE_SIZE, wait=bulk_poll_seconds))
                tables = (csv_to_arrow(page, schema, sobject) for page in pages)
            else:
                tables = _rest_pages(client, f"{select} ORDER BY {cursor}", schema, sobject)
            for parsed, rejected in tables:
                table = window.unseen(parsed)
                # Rows the last run already loaded (the window's overlap) do not count as read.
                counts["read"] += table.num_rows + len(rejected)
                counts["loaded"] += table.num_rows
                counts["quarantined"] += len(rejected)
                if table.num_rows:
                    yield dlt.mark.with_hints(table, hints)
                if rejected:
                    yield quarantine.hinted(quarantine.to_arrow(rejected), table_name)
        except requests.ConnectionError:
            raise SourceUnavailableError(
                f"Salesforce not reachable at https://{client.sf_instance} ({where}): "
                "start the sandbox with `leadloop sandbox` (or `make dev`), or set SALESFORCE_INSTANCE_URL "
                "and SALESFORCE_ACCESS_TOKEN"
            ) from None
        window.commit()
        dlt.current.resource_state()[quarantine.RUN_COUNTS_STATE] = counts

    return records


def own_user_id(client: Salesforce) -> str:
    """The user the client's session belongs to (OpenID Connect userinfo), quote-safe for SOQL."""
    info = client.oauth2("userinfo") or {}
    user_id = str(info.get("user_id", ""))
    if not re.fullmatch(r"[A-Za-z0-9]{15,18}", user_id):
        raise SourceUnavailableError("Salesforce userinfo did not name the session's user")
    return user_id


def resource_name(sobject: str) -> str:
    """`CampaignMember` → `campaign_member`: the bronze table (and Dagster asset) name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", sobject).lower()


def _rest_pages(client: Salesforce, soql: str, schema: pa.Schema, sobject: str) -> Iterator[Page]:
    page = client.query(soql, include_deleted=True)
    while True:
        if page["records"]:
            yield records_to_arrow(page["records"], schema, sobject)
        if page.get("done", True):
            return
        page = client.query_more(page["nextRecordsUrl"], identifier_is_url=True, include_deleted=True)


# A page as loaded rows plus the rows that broke the contract.
Page = tuple[pa.Table, list[quarantine.Rejected]]


def csv_to_arrow(page: str, schema: pa.Schema, sobject: str = "") -> Page:
    """One Bulk API 2.0 result page: parsed by Arrow's CSV reader as text, then cast column by
    column to describe's types; rows with a cell that does not cast, or without an Id, are split
    off for quarantine."""
    raw = pa_csv.read_csv(
        io.BytesIO(page.encode()),
        convert_options=pa_csv.ConvertOptions(
            column_types={f.name: pa.string() for f in schema},
            strings_can_be_null=True,
            null_values=[""],
        ),
    ).select(schema.names)
    columns, bad = [], {}
    for field in schema:
        text = raw[field.name].combine_chunks()
        if pa.types.is_boolean(field.type):
            text = pc.utf8_lower(text)
        values, failures = cast_or_reject(text, field.type)
        columns.append(values)
        for index in failures:
            bad.setdefault(index, f"unparseable {field.type} in {field.name}: {text[index].as_py()!r}")
    return _split(
        pa.Table.from_arrays(columns, schema=schema.set(0, schema.field(0).with_nullable(True))),
        bad,
        sobject,
        lambda i: {name: raw[name][i].as_py() for name in schema.names},
    )


def records_to_arrow(records: list[dict[str, Any]], schema: pa.Schema, sobject: str = "") -> Page:
    """One REST query page as a typed Arrow table (the `attributes` envelope dropped), with the
    records whose values do not fit their declared type split off for quarantine."""
    columns, bad = [], {}
    for field in schema:
        values = [record.get(field.name) for record in records]
        if pa.types.is_timestamp(field.type) or pa.types.is_date32(field.type):
            values, failures = cast_or_reject(pa.array([_text(v) for v in values], pa.string()), field.type)
        else:
            values, failures = array_or_reject(values, field.type)
        columns.append(values)
        for index in failures:
            bad.setdefault(index, f"unparseable {field.type} in {field.name}: {records[index].get(field.name)!r}")
    table = pa.Table.from_arrays(columns, schema=_nullable_id(schema))
    return _split(table, bad, sobject, lambda i: {k: v for k, v in records[i].items() if k != "attributes"})


def _text(value: Any) -> str | None:
    return None if value is None else str(value).replace("+0000", "+00:00")


def _split(table: pa.Table, bad: dict[int, str], sobject: str, raw_row: Callable[[int], dict]) -> Page:
    """Rows without an Id join the rejects; the rest is cast to the schema's non-null Id."""
    for index in pc.indices_nonzero(pc.is_null(table["Id"])).to_pylist():
        bad.setdefault(index, "missing key Id")
    rejected = [
        quarantine.Rejected(
            source=f"salesforce/{sobject}/{raw_row(i).get('Id') or 'no-id'}@{raw_row(i).get(CURSOR_FIELD)}",
            row_number=1,  # an API record is identified by id@stamp; its position in a page is not stable
            raw_payload=json.dumps(raw_row(i), sort_keys=True, default=str),
            reason=reason,
        )
        for i, reason in sorted(bad.items())
    ]
    if bad:
        table = table.filter(pa.array([i not in bad for i in range(table.num_rows)]))
    index = table.schema.get_field_index("Id")
    return table.cast(table.schema.set(index, table.schema.field(index).with_nullable(False))), rejected


def _nullable_id(schema: pa.Schema) -> pa.Schema:
    """The schema with Id nullable, so a page with a missing Id parses and the row can be rejected."""
    index = schema.get_field_index("Id")
    return schema.set(index, schema.field(index).with_nullable(True))


def arrow_schema(client: Salesforce, sobject: str) -> pa.Schema:
    """The Arrow schema of an object's queryable fields, in describe order."""
    described = getattr(client, sobject).describe()
    # Id is the primary key dlt declares not-null; saying so here keeps the two schemas agreeing.
    fields = [
        pa.field(f["name"], _ARROW_TYPES.get(f["type"], pa.string()), nullable=f["name"] != "Id")
        for f in described["fields"]
        if f["type"] not in _SKIPPED_TYPES
    ]
    return pa.schema(fields)


def _soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal, floored to the second; `>=` plus the merge on Id makes that safe
    (the rows of the cursor's own second are read again and merged onto themselves)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
