"""The dlt source over partner drops: every partner's files, read through its config, into one
table per record kind (`mailed_records`, `delivery_confirmations`, `callbacks`).

- Barcodes in any of the three encodings become the canonical 20-digit IMb tracking code (plus
  routing ZIP) through `ingestion.imb`; one that does not decode is quarantined as
  "undecodable barcode", as are rows with a missing required field or an unparseable date or
  number. read = loaded + quarantined, per file and run.
- Each file is read once, recognised by its content hash, so a re-sent copy under any name is
  a no-op. Rows merge insert-only on their key: the first delivery confirmation of a piece
  wins, and a duplicate row changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import fsspec
import pyarrow as pa
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.imb import IMbError, normalize
from ingestion.partner_files.config import KINDS, PartnerConfig, load_partner_configs
from ingestion.schema_drift import SCHEMA_CONTRACT

FILES_STATE = "loaded_files"  # relative path → sha256, and every content hash ever loaded
HASHES_STATE = "loaded_hashes"
BARCODE = "barcode"

_TEXT, _DATE, _TIMESTAMP, _FLOAT, _INT = pa.string(), pa.date32(), pa.timestamp("s", tz="UTC"), pa.float64(), pa.int64()
# Canonical fields per kind, with their types and whether a row without them is rejected.
FIELDS: dict[str, list[tuple[str, pa.DataType, bool]]] = {
    "mailed": [
        ("first_name", _TEXT, False),
        ("last_name", _TEXT, True),
        ("street", _TEXT, False),
        ("city", _TEXT, False),
        ("state", _TEXT, False),
        ("postal_code", _TEXT, False),
        ("loan_amount", _FLOAT, False),
        ("rate", _FLOAT, False),
        ("mailer_version", _TEXT, False),
        ("mailed_on", _DATE, True),
    ],
    "delivered": [("delivered_at", _TIMESTAMP, True)],
    "callbacks": [
        ("caller_phone", _TEXT, False),
        ("called_at", _TIMESTAMP, True),
        ("duration_seconds", _INT, False),
        ("ivr_option", _TEXT, False),
    ],
}
KEYS: dict[str, list[str]] = {
    "mailed": ["imb_tracking"],
    "delivered": ["imb_tracking"],
    "callbacks": ["imb_tracking", "called_at"],
}


def schema(kind: str) -> pa.Schema:
    return pa.schema(
        [
            pa.field("imb_tracking", _TEXT, nullable=False),
            pa.field("imb_routing", _TEXT),
            *(pa.field(name, kind_type) for name, kind_type, _ in FIELDS[kind]),
            pa.field("partner", _TEXT),
            pa.field("source_file", _TEXT),
            pa.field("row_number", _INT),
        ]
    )


class RowError(ValueError):
    """A row that breaks the contract; the message is the quarantine reason."""


@dlt.source(name="partners", max_table_nesting=0)
def partner_files_source(folder_url: str, configs: list[PartnerConfig] | None = None) -> list[DltResource]:
    configs = configs if configs is not None else load_partner_configs()
    return [_kind_resource(kind, folder_url, configs) for kind in KINDS]


def _kind_resource(kind: str, folder_url: str, configs: list[PartnerConfig]) -> DltResource:
    table = KINDS[kind]

    @dlt.resource(
        name=table,
        primary_key=KEYS[kind],
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        schema_contract=SCHEMA_CONTRACT,
    )
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        loaded: dict[str, str] = state.setdefault(FILES_STATE, {})
        hashes: list[str] = state.setdefault(HASHES_STATE, [])
        known = set(hashes)
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "files": 0, "skipped_files": 0}
        seen: set[tuple] = set()
        fs, root = fsspec.core.url_to_fs(folder_url)
        root = root.rstrip("/")
        for config in configs:
            for path in sorted(fs.glob(f"{root}/{config.pattern(kind)}")):
                name = path[len(root) + 1 :]
                content = fs.cat_file(path)
                digest = hashlib.sha256(content).hexdigest()
                if loaded.get(name) == digest:
                    continue
                parsed, rejected = parse_file(content, name, config, kind)
                if digest in known and (parsed.num_rows or rejected):
                    counts["skipped_files"] += 1  # a re-sent copy of a file already loaded
                    loaded[name] = digest
                    continue
                keys = [tuple(parsed[k][i].as_py() for k in KEYS[kind]) for i in range(parsed.num_rows)]
                keep = [key not in seen for key in keys]
                seen.update(keys)
                parsed = parsed.filter(pa.array(keep)) if not all(keep) else parsed
                counts["files"] += 1
                counts["read"] += len(keys) + len(rejected)
                counts["loaded"] += parsed.num_rows
                counts["quarantined"] += len(rejected)
                if parsed.num_rows:
                    yield parsed
                if rejected:
                    yield quarantine.hinted(quarantine.to_arrow(rejected), table)
                loaded[name] = digest
                if digest not in known and (parsed.num_rows or rejected):  # header-only files look alike
                    hashes.append(digest)
                    known.add(digest)
        counts["duplicates"] = counts["read"] - counts["loaded"] - counts["quarantined"]
        state[quarantine.RUN_COUNTS_STATE] = counts

    return rows


def parse_file(
    content: bytes, name: str, config: PartnerConfig, kind: str
) -> tuple[pa.Table, list[quarantine.Rejected]]:
    """One partner file as canonical, typed rows plus the rows it rejects (with reasons)."""
    header, raw_rows = _read(content, config)
    position = {column: index for index, column in enumerate(header)}
    columns: dict[str, list[Any]] = {f.name: [] for f in schema(kind)}
    rejected = []
    for number, cells in enumerate(raw_rows, start=1):
        raw = {column: (cells[i] if i < len(cells) else None) for column, i in position.items()}
        try:
            row = _canonical(raw, config, kind)
        except RowError as exc:
            rejected.append(
                quarantine.Rejected(
                    source=name, row_number=number, raw_payload=json.dumps(raw, ensure_ascii=False), reason=str(exc)
                )
            )
            continue
        for column, value in row.items():
            columns[column].append(value)
        columns["partner"].append(config.partner)
        columns["source_file"].append(name)
        columns["row_number"].append(number)
    return pa.table(columns, schema=schema(kind)), rejected


def _read(content: bytes, config: PartnerConfig) -> tuple[list[str], list[list[str | None]]]:
    if config.format == "xlsx":
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            values = [
                [None if v is None else str(v) for v in row]
                for row in workbook.worksheets[0].iter_rows(values_only=True)
            ]
        finally:
            workbook.close()
    else:
        text = content.decode(config.encoding)
        values = [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=config.delimiter)]
    if not values:
        return [], []
    header = [str(h or "").strip() for h in values[0]]
    return header, [row for row in values[1:] if any(cell not in (None, "") for cell in row)]


def _canonical(raw: dict[str, str | None], config: PartnerConfig, kind: str) -> dict[str, Any]:
    def cell(canonical: str) -> str | None:
        value = raw.get(config.header(canonical))
        return value.strip() if isinstance(value, str) and value.strip() else None

    row: dict[str, Any] = {}
    if kind == "callbacks":
        quoted = cell("tracking_number")
        if quoted is None:
            raise RowError("missing required field tracking_number")
        imb = _decode(quoted)
        row["imb_tracking"], row["imb_routing"] = imb.tracking, imb.routing or None
    else:
        parts = [raw.get(column) for column in config.barcode]
        if not all(isinstance(p, str) and p.strip() for p in parts[: max(1, len(parts) - 1)]):
            raise RowError("missing required field barcode")
        imb = _decode("-".join(p.strip() for p in parts if isinstance(p, str) and p.strip()))
        row["imb_tracking"], row["imb_routing"] = imb.tracking, imb.routing or None
    for name, kind_type, required in FIELDS[kind]:
        text = cell(name)
        if text is None:
            if required:
                raise RowError(f"missing required field {name}")
            row[name] = None
            continue
        row[name] = _typed(text, kind_type, name, config)
    return row


def _decode(value: str) -> Any:
    try:
        return normalize(value)
    except (IMbError, TypeError) as exc:
        raise RowError(f"undecodable barcode: {exc}") from None


def _typed(text: str, kind_type: pa.DataType, name: str, config: PartnerConfig) -> Any:
    try:
        if kind_type == _DATE:
            return datetime.strptime(text, config.date_format).date()
        if kind_type == _TIMESTAMP:
            moment = datetime.strptime(text, config.datetime_format)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if kind_type == _FLOAT:
            return float(text.replace(".", "").replace(",", ".") if config.decimal_comma else text.replace(",", ""))
        if kind_type == _INT:
            return int(text)
    except ValueError:
        label = "date" if kind_type in (_DATE, _TIMESTAMP) else "number"
        raise RowError(f"unparseable {label} in {name}: {text!r}") from None
    return text
