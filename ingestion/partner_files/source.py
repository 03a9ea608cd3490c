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
import functools
import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from typing import Any

import dlt
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.arrow_cast import cast_or_reject
from ingestion.imb import IMbError, normalize
from ingestion.partner_files.config import KINDS, PartnerConfig, load_partner_configs
from ingestion.schema_drift import SCHEMA_CONTRACT

FILES_STATE = "loaded_files"  # relative path → sha256, and every content hash ever loaded
HASHES_STATE = "loaded_hashes"
BATCH_ROWS = 200_000  # rows handed to dlt at once
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
            *(pa.field(name, kind_type, nullable=name not in KEYS[kind]) for name, kind_type, _ in FIELDS[kind]),
            pa.field("partner", _TEXT),
            pa.field("source_file", _TEXT),
            pa.field("row_number", _INT),
        ]
    )


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
        # Into an empty table the first load appends (half the time of a merge): the run
        # already keeps each key once, which is all an insert-only merge would add.
        append = dlt.mark.make_hints(write_disposition="append") if not loaded else None
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "files": 0, "skipped_files": 0}
        seen: set[tuple] = set()
        parsed_tables: list[pa.Table] = []
        rejected_rows: list[quarantine.Rejected] = []

        def flush() -> Iterator[Any]:
            # Files are handed on in batches: dlt's per-item bookkeeping costs more than a
            # small file's rows.
            if parsed_tables:
                batch = pa.concat_tables(parsed_tables)
                yield dlt.mark.with_hints(batch, append) if append else batch
            if rejected_rows:
                yield quarantine.hinted(quarantine.to_arrow(rejected_rows), table)
            parsed_tables.clear()
            rejected_rows.clear()

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
                keys = list(zip(*(parsed[k].to_pylist() for k in KEYS[kind]), strict=True))
                keep = [key not in seen for key in keys]
                seen.update(keys)
                parsed = parsed.filter(pa.array(keep)) if not all(keep) else parsed
                counts["files"] += 1
                counts["read"] += len(keys) + len(rejected)
                counts["loaded"] += parsed.num_rows
                counts["quarantined"] += len(rejected)
                if parsed.num_rows:
                    parsed_tables.append(parsed)
                rejected_rows.extend(rejected)
                loaded[name] = digest
                if digest not in known and (parsed.num_rows or rejected):  # header-only files look alike
                    hashes.append(digest)
                    known.add(digest)
                if sum(t.num_rows for t in parsed_tables) + len(rejected_rows) >= BATCH_ROWS:
                    yield from flush()
        yield from flush()
        counts["duplicates"] = counts["read"] - counts["loaded"] - counts["quarantined"]
        state[quarantine.RUN_COUNTS_STATE] = counts

    return rows


def parse_file(
    content: bytes, name: str, config: PartnerConfig, kind: str
) -> tuple[pa.Table, list[quarantine.Rejected]]:
    """One partner file as canonical, typed rows plus the rows it rejects (with reasons).

    Columns are checked and cast whole, in Arrow; Python runs only for 65-bar barcodes (the
    codec decodes them one by one) and for the rejected rows, to word their reasons.
    """
    header, raw_rows = _read(content, config)
    n = len(raw_rows)
    # Transposed in C; a short row's missing cells come out as None, a long row's extras are dropped.
    columns = itertools.zip_longest(*raw_rows) if raw_rows else iter(())
    raw = {column: pa.array(values, pa.string()) for column, values in zip(header, columns, strict=False)}
    raw |= {column: pa.nulls(n, pa.string()) for column in header if column not in raw}
    blank = pa.nulls(n, pa.string())

    def column(canonical: str) -> pa.Array:
        values = raw.get(config.header(canonical), blank)
        return pc.if_else(pc.equal(pc.utf8_trim_whitespace(values), ""), None, pc.utf8_trim_whitespace(values))

    reasons: list[str | None] = [None] * n
    tracking, routing = _barcodes(raw, config, kind, column, reasons, blank)
    out: dict[str, pa.Array] = {"imb_tracking": tracking, "imb_routing": routing}
    for field_name, field_type, required in FIELDS[kind]:
        text = column(field_name)
        if required:
            _reject(reasons, pc.is_null(text), lambda i, f=field_name: f"missing required field {f}")
        values, failed = _cast(text, field_type, config)
        label = "date" if field_type in (_DATE, _TIMESTAMP) else "number"
        _reject(
            reasons,
            failed,
            lambda i, f=field_name, t=text, lab=label: f"unparseable {lab} in {f}: {t[i].as_py()!r}",
        )
        out[field_name] = values
    out["partner"] = pa.array([config.partner] * n, _TEXT)
    out["source_file"] = pa.array([name] * n, _TEXT)
    out["row_number"] = pa.array(range(1, n + 1), _INT)
    keep = pa.array([reason is None for reason in reasons], pa.bool_())
    table = pa.table(out).filter(keep)
    table = table.cast(schema(kind))
    rejected = [
        quarantine.Rejected(
            source=name,
            row_number=i + 1,
            raw_payload=json.dumps({c: raw[c][i].as_py() for c in header}, ensure_ascii=False),
            reason=reason,
        )
        for i, reason in enumerate(reasons)
        if reason is not None
    ]
    return table, rejected


def _barcodes(
    raw: dict[str, pa.Array], config: PartnerConfig, kind: str, column: Any, reasons: list[str | None], blank: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """The canonical tracking and routing codes; rows whose barcode is missing or undecodable
    get their reason."""
    if kind == "callbacks":
        value = column("tracking_number")
        _reject(reasons, pc.is_null(value), lambda i: "missing required field tracking_number")
    else:
        parts = [pc.utf8_trim_whitespace(raw.get(c, blank)) for c in config.barcode]
        required = parts[: max(1, len(parts) - 1)]  # a trailing routing part may be empty
        missing = functools.reduce(pc.or_, [pc.or_(pc.is_null(p), pc.equal(p, "")) for p in required])
        _reject(reasons, pc.fill_null(missing, True), lambda i: "missing required field barcode")
        value = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*[pc.fill_null(p, "") for p in parts], "-")
    digits = pc.replace_substring_regex(pc.fill_null(value, ""), pattern=r"[\s\-_./]", replacement="")
    valid = pc.match_substring_regex(digits, pattern=r"^[0-9][0-4][0-9]{18}([0-9]{5}|[0-9]{9}|[0-9]{11})?$")
    tracking = pc.if_else(valid, pc.utf8_slice_codeunits(digits, 0, 20), None).to_pylist()
    routing = pc.if_else(valid, pc.utf8_slice_codeunits(digits, 20, 31), None).to_pylist()
    values = value.to_pylist()
    for i, ok in enumerate(valid.to_pylist()):
        if ok or reasons[i] is not None:
            continue
        try:  # 65 bar states, or a malformed value whose reason the codec words best
            imb = normalize(values[i] or "")
            tracking[i], routing[i] = imb.tracking, imb.routing
        except (IMbError, TypeError) as exc:
            reasons[i] = f"undecodable barcode: {exc}"
    routing = [r or None for r in routing]
    return pa.array(tracking, _TEXT), pa.array(routing, _TEXT)


def _cast(text: pa.Array, field_type: pa.DataType, config: PartnerConfig) -> tuple[pa.Array, pa.Array]:
    """`text` as `field_type`, and a mask of the cells that were present but did not parse."""
    if field_type == _TEXT:
        return text, pa.array([False] * len(text))
    if field_type in (_DATE, _TIMESTAMP):
        fmt = config.date_format if field_type == _DATE else config.datetime_format
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        failed = pc.and_(pc.is_valid(text), pc.is_null(parsed))
        values = pc.cast(parsed, _DATE) if field_type == _DATE else pc.assume_timezone(parsed, "UTC")
        return values, failed
    if field_type == _FLOAT:
        text = (
            pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
            if config.decimal_comma
            else pc.replace_substring(text, ",", "")
        )
    values, failures = cast_or_reject(text, field_type)
    failed = [False] * len(text)
    for i in failures:
        failed[i] = True
    return values, pa.array(failed)


def _reject(reasons: list[str | None], mask: pa.Array, reason: Any) -> None:
    """Gives each masked row without a reason yet this one (the first broken rule is reported)."""
    for i, hit in enumerate(mask.to_pylist()):
        if hit and reasons[i] is None:
            reasons[i] = reason(i)


def _read(content: bytes, config: PartnerConfig) -> tuple[list[str], list[list[str | None]]]:
    if config.format == "xlsx":
        # calamine (Rust) reads a sheet an order of magnitude faster than openpyxl.
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
        values = [[None if v in (None, "") else str(v) for v in row] for row in sheet.to_python()]
    else:
        text = content.decode(config.encoding)
        values = list(csv.reader(io.StringIO(text, newline=""), delimiter=config.delimiter))
    if not values:
        return [], []
    header = [str(h or "").strip() for h in values[0]]
    return header, [row for row in values[1:] if any(row)]  # cells are text or None: blank rows drop
