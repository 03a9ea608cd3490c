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
from collections.abc import Iterable
from datetime import UTC, datetime

import fsspec
import pyarrow as pa

from orchestration.identity.standardize import email_key
from orchestration.warehouse import Warehouse

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
    with warehouse.connect() as conn:
        cur = conn.cursor()
        cur.execute(f"create schema if not exists {SCHEMA}")
        cur.execute(
            f"create table if not exists {SCHEMA}.{TABLE} ("
            "key_hash varchar primary key, key_type varchar not null, "
            "requested_at timestamp not null, requested_by varchar not null)"
        )


def register(warehouse: Warehouse, emails: Iterable[str | None], requested_by: str) -> int:
    """Adds erasure requests; returns how many were new (a repeated request changes nothing)."""
    ensure_registry(warehouse)
    hashes = sorted(set(hashes_of(emails)))
    before = registered_count(warehouse)
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connect() as conn:
        cur = conn.cursor()
        for digest in hashes:
            cur.execute(
                warehouse.adapt_sql(
                    f"insert into {SCHEMA}.{TABLE} values (?, 'email', ?, ?) on conflict (key_hash) do nothing"
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
    return int(warehouse.query(f"select count(*) from {SCHEMA}.{TABLE}")[0][0])


def registered_hashes(warehouse: Warehouse) -> set[str]:
    ensure_registry(warehouse)
    return {row[0] for row in warehouse.query(f"select key_hash from {SCHEMA}.{TABLE}")}
