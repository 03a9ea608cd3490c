"""Erasure requests: the registry that keeps an erased person out for good.

A request names an email. Only its SHA-256 (of the identity match key, so case and plus tags
do not matter) is stored, in `privacy.erasure_registry`, outside every dbt-managed schema: a
rebuild of silver or gold cannot drop it, and a source that still holds the person cannot
bring them back, because identity resolution checks every run's records against it. Requests
come from `leadloop erase --email …` and from CSV files (column `email`) dropped in the
landing zone's `erasure/` folder.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import fsspec
import pyarrow as pa

from silver.identity.standardize import email_key
from warehouse import Warehouse

SCHEMA = "privacy"
TABLE = "erasure_registry"
DROP_FOLDER = "erasure"


def key_hash(key: str) -> str:
    return hashlib.sha256(f"email:{key}".encode()).hexdigest()


def hashes_of(emails: Iterable[str | None]) -> list[str]:
    """The registry hashes of `emails` (unusable addresses dropped)."""
    keys = email_key(pa.array(list(emails), pa.string())).to_pylist()
    return [key_hash(k) for k in keys if k]


def ensure_registry(warehouse: Warehouse) -> None:
    schema = warehouse.schema(SCHEMA)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"create schema if not exists {schema}")
        cur.execute(
            f"create table if not exists {schema}.{TABLE} ("
            "key_hash varchar primary key, key_type varchar not null, "
            "requested_at timestamp not null, requested_by varchar not null)"
        )


def register(warehouse: Warehouse, emails: Iterable[str | None], requested_by: str) -> int:
    """Adds erasure requests; returns how many were new (a repeated request changes nothing)."""
    schema = warehouse.schema(SCHEMA)
    ensure_registry(warehouse)
    hashes = sorted(set(hashes_of(emails)))
    before = registered_count(warehouse)
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for digest in hashes:
            cur.execute(
                warehouse.adapt_sql(
                    f"insert into {schema}.{TABLE} values (?, 'email', ?, ?) on conflict (key_hash) do nothing"
                ),
                [digest, now, requested_by],
            )
    return registered_count(warehouse) - before


def register_file_drops(warehouse: Warehouse, landing_url: str) -> int:
    """Registers the emails of every CSV in the landing zone's erasure folder."""
    fs, root = fsspec.core.url_to_fs(landing_url)
    new = 0
    for path in sorted(fs.glob(f"{root.rstrip('/')}/{DROP_FOLDER}/*.csv")):
        rows = csv.DictReader(io.StringIO(fs.cat_file(path).decode("utf-8-sig")))
        new += register(warehouse, (row.get("email") for row in rows), f"file:{path.rsplit('/', 1)[-1]}")
    return new


def registered_count(warehouse: Warehouse) -> int:
    schema = warehouse.schema(SCHEMA)
    return int(warehouse.query(f"select count(*) from {schema}.{TABLE}")[0][0])


def registered_hashes(warehouse: Warehouse) -> set[str]:
    schema = warehouse.schema(SCHEMA)
    ensure_registry(warehouse)
    return {row[0] for row in warehouse.query(f"select key_hash from {schema}.{TABLE}")}


# record source → (bronze table, its id column): where an erased person's rows are deleted
BRONZE_RECORDS: dict[str, tuple[str, str]] = {
    "salesforce_lead": ("bronze_salesforce.lead", "id"),
    "salesforce_contact": ("bronze_salesforce.contact", "id"),
    "hubspot_contact": ("bronze_hubspot.contacts", "id"),
    "partner_mail": ("bronze_partners.mailed_records", "imb_tracking"),
    "product_user": ("bronze_product.users", "id"),
}
# Bronze rows that hang on a person's record (its Salesforce field history): deleted with it.
BRONZE_CHILD_RECORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "salesforce_lead": (("bronze_salesforce.lead_history", "lead_id"),),
    "salesforce_contact": (("bronze_salesforce.contact_history", "contact_id"),),
}
WEB_EVENTS = "bronze_web_events.events"


def anonymize_bronze(warehouse: Warehouse, suppressed: pa.Table, erased: set[str]) -> dict[str, int]:
    """Deletes every bronze row of an erased person (and every web event of an erased address),
    so the staging views over bronze, and every model built on them, show them no more; returns
    rows deleted per table.

    Deleted, not blanked: a blanked row stays a row (a lead with `[erased]` for a name still
    passes through staging and the intermediate models, issue 25). Nothing downstream needs the
    row: identity keeps the person suppressed by record id and by email hash, and the syncs
    clear what they wrote to a record the source no longer has. A source that still holds the
    person may load the row again; the next identity run deletes it again.
    """
    deleted: dict[str, int] = {}
    by_source: dict[str, list[str]] = {}
    for source, source_id in zip(suppressed["source"].to_pylist(), suppressed["source_id"].to_pylist(), strict=True):
        by_source.setdefault(source, []).append(source_id)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for source, ids in sorted(by_source.items()):
            for logical, key in (BRONZE_RECORDS[source], *BRONZE_CHILD_RECORDS.get(source, ())):
                table = warehouse.relation(logical)
                if not _columns(warehouse, cur, table):
                    continue
                for start in range(0, len(ids), 1000):
                    chunk = ids[start : start + 1000]
                    marks = ", ".join("?" * len(chunk))
                    delete = f"delete from {table} where cast({key} as varchar) in ({marks})"
                    cur.execute(warehouse.adapt_sql(delete), chunk)
                    deleted[table] = deleted.get(table, 0) + _affected(warehouse, cur)
        events = warehouse.relation(WEB_EVENTS)
        if erased and _columns(warehouse, cur, events):
            # Events carry only an email: find the erased ones by their hash.
            cur.execute(f"select distinct email from {events} where email is not null")
            emails = [row[0] for row in cur.fetchall()]
            keys = email_key(pa.array(emails, pa.string())).to_pylist()
            gone = [e for e, k in zip(emails, keys, strict=True) if k and key_hash(k) in erased]
            for email in gone:
                cur.execute(warehouse.adapt_sql(f"delete from {events} where email = ?"), [email])
                deleted[events] = deleted.get(events, 0) + _affected(warehouse, cur)
        if erased:
            deleted.update(_delete_quarantined(warehouse, cur, erased))
    return deleted


# Anything shaped like an address inside a raw payload, whatever format the payload was in
# (a CSV line, a JSON document, an XLSX row as text).
_ADDRESS = re.compile(r"[^\s\"'<>,;:()\[\]{}|\\]+@[^\s\"'<>,;:()\[\]{}|\\]+")


def _delete_quarantined(warehouse: Warehouse, cur, erased: set[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Deletes every quarantined row whose raw payload names an erased person; returns rows
    deleted per quarantine table.

    A quarantined row is kept untouched so that it can be replayed, so its payload cannot be
    blanked field by field: a row of an erased person is deleted whole. Replaying it would only
    bring back someone who must stay out.
    """
    # This tenant's bronze schemas only: another tenant's (`<prefix>_bronze_…`) are not ours to touch.
    bronze = warehouse.schema("bronze_").replace("_", "\\_")
    cur.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema like '{bronze}%' escape '\\' and table_name like '%\\_quarantine' escape '\\' "
        "and table_name <> 'file_quarantine'"
    )
    deleted: dict[str, int] = {}
    for schema, name in sorted(cur.fetchall()):
        table = f"{schema}.{name}"
        cur.execute(f"select source, row_number, raw_payload from {table} where raw_payload like '%@%'")
        rows = cur.fetchall()
        found = [(source, number) for source, number, payload in rows if _names_erased(payload, erased)]
        for source, number in found:
            cur.execute(
                warehouse.adapt_sql(f"delete from {table} where source = ? and row_number = ?"), [source, number]
            )
            deleted[table] = deleted.get(table, 0) + _affected(warehouse, cur)
    return deleted


def _names_erased(payload: str, erased: set[str]) -> bool:
    """Whether any address in `payload` is, by its match key, one of the `erased` hashes."""
    candidates = _ADDRESS.findall(payload)
    if not candidates:
        return False
    keys = email_key(pa.array(candidates, pa.string())).to_pylist()
    return any(k and key_hash(k) in erased for k in keys)


def _columns(warehouse: Warehouse, cur, table: str) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """The table's columns, each with whether it is nullable (empty when there is no table)."""
    schema, name = table.split(".")
    cur.execute(
        warehouse.adapt_sql(
            "select column_name, is_nullable from information_schema.columns where table_schema = ? and table_name = ?"
        ),
        [schema, name],
    )
    return {column: nullable == "YES" for column, nullable in cur.fetchall()}


def _affected(warehouse: Warehouse, cur) -> int:  # type: ignore[no-untyped-def]
    """Rows the last UPDATE changed: DuckDB answers with a row, psycopg2 with `rowcount`."""
    return int(cur.fetchall()[0][0]) if warehouse.is_duckdb else max(cur.rowcount, 0)
