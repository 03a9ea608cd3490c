"""Partner files → canonical, typed rows plus the rows they reject, with reasons.

Files are read straight into Arrow text columns (Arrow's CSV reader, calamine through
fastexcel for workbooks). Many files of one partner and kind are then checked and cast as one
batch, so the fixed cost of each Arrow call is paid per batch rather than per (often small)
file. 65-bar barcodes are decoded whole by `ingestion.imb_column`; Python runs per row only to
word the reasons of rejected rows.

This module does not import dlt: the loader runs it in worker processes too.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from ingestion import quarantine
from ingestion.arrow_cast import cast_or_reject
from ingestion.imb import SEPARATOR, IMbError, normalize
from ingestion.imb_column import decode_column
from ingestion.partner_files.config import PartnerConfig

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
_DIGITS = r"^[0-9][0-4][0-9]{18}([0-9]{5}|[0-9]{9}|[0-9]{11})?$"  # tracking code plus 0/5/9/11 routing digits


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


# The longest cell a CSV file may hold (Python's `csv` default limit): a larger one is no
# partner's data, and reading it would hold the whole file in one cell.
MAX_FIELD_CHARS = 131_072
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class UnreadableFileError(ValueError):
    """A file that cannot be read as its partner's format; the message is the reason it is
    quarantined whole (`quarantine.RejectedFile`)."""


@dataclass(frozen=True)
class Parsed:
    table: pa.Table  # canonical rows, in file and row order
    rejected: list[quarantine.Rejected]
    rows_per_file: list[int]  # data rows read, loaded or rejected
    unreadable: dict[int, str] = field(default_factory=dict)  # file index → why it was not read at all


def parse_file(
    content: bytes, name: str, config: PartnerConfig, kind: str
) -> tuple[pa.Table, list[quarantine.Rejected]]:
    parsed = parse_batch([(name, content)], config, kind)
    return parsed.table, parsed.rejected


def parse_batch(files: Sequence[tuple[str, bytes]], config: PartnerConfig, kind: str) -> Parsed:
    """Files of one partner and kind (name, content) as canonical rows plus the rows they
    reject. Row numbers count a file's non-blank data rows from 1. A file that cannot be read
    at all counts no rows and is named, with the reason, in `unreadable`."""
    read, unreadable = [], {}
    for index, (_, content) in enumerate(files):
        try:
            read.append(_read(content, config, kind))
        except UnreadableFileError as exc:
            read.append(pa.table({}))
            unreadable[index] = str(exc)
    cells, file_index = _data_rows(read)
    n = cells.num_rows
    per_file = np.bincount(file_index, minlength=len(files)).astype(np.int64)
    raw = {h: _column_or_nulls(cells, h) for h in _raw_headers(config, kind)}
    blank = pa.nulls(n, _TEXT)

    def column(canonical: str) -> pa.Array:
        values = pc.utf8_trim_whitespace(raw.get(config.header(canonical), blank))
        return pc.if_else(pc.equal(values, ""), None, values)

    reasons: dict[int, str] = {}  # row in the batch → the first rule it broke
    tracking, routing = _barcodes(raw, config, kind, column, reasons, blank)
    out: dict[str, pa.Array] = {"imb_tracking": tracking, "imb_routing": routing}
    for field_name, field_type, required in FIELDS[kind]:
        text = column(field_name)
        if required:
            _reject(reasons, pc.is_null(text), lambda i, f=field_name: f"missing required field {f}")
        values, failed = _cast(text, field_type, config)
        label = "date" if field_type in (_DATE, _TIMESTAMP) else "number"
        _reject(
            reasons, failed, lambda i, f=field_name, t=text, lab=label: f"unparseable {lab} in {f}: {t[i].as_py()!r}"
        )
        out[field_name] = values
    names = pa.array([name for name, _ in files], _TEXT)
    out["partner"] = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([config.partner])).cast(_TEXT)
    out["source_file"] = pa.DictionaryArray.from_arrays(file_index, names).cast(_TEXT)
    first_row = np.repeat(np.cumsum(per_file) - per_file, per_file)
    out["row_number"] = pa.array(np.arange(n, dtype=np.int64) - first_row + 1)
    table = pa.table(out)
    if reasons:
        keep = np.ones(n, dtype=bool)
        keep[list(reasons)] = False
        table = table.filter(pa.array(keep))
    rejected = []
    if reasons:
        at = sorted(reasons)
        for i, cells_of_row in zip(at, cells.take(pa.array(at)).to_pylist(), strict=True):
            f = int(file_index[i])
            payload = {c: cells_of_row[c] for c in read[f].column_names}  # the file's own header
            rejected.append(
                quarantine.Rejected(
                    source=files[f][0],
                    row_number=i - int(first_row[i]) + 1,
                    raw_payload=json.dumps(payload, ensure_ascii=False),
                    reason=reasons[i],
                )
            )
    return Parsed(table.cast(schema(kind)), rejected, per_file.tolist(), unreadable)


def _data_rows(read: list[pa.Table]) -> tuple[pa.Table, np.ndarray]:
    """The files' rows as one table (columns by name; null where a file lacks one), blank rows
    (every cell empty) dropped, and the file each row came from."""
    file_index = np.repeat(np.arange(len(read), dtype=np.int32), [t.num_rows for t in read])
    if not read or not file_index.size:
        return pa.table({}), file_index
    cells = pa.concat_tables([t for t in read if t.num_rows], promote_options="default")  # no copy
    blank = pc.fill_null(pc.equal(cells.column(0), ""), True)
    if pc.any(blank).as_py():  # a blank row has an empty first cell; only then are the others read
        blank = functools.reduce(pc.and_, [blank, *(pc.fill_null(pc.equal(c, ""), True) for c in cells.columns[1:])])
    if pc.any(blank).as_py():
        keep = pc.invert(blank)
        cells, file_index = cells.filter(keep), file_index[keep.to_numpy(zero_copy_only=False)]
    return cells, file_index


def _column_or_nulls(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.nulls(table.num_rows, _TEXT)


def _raw_headers(config: PartnerConfig, kind: str) -> list[str]:
    """The partner's headers this kind reads: barcode parts and the kind's fields."""
    names = ["tracking_number"] if kind == "callbacks" else []
    headers = [config.header(name) for name in names + [f for f, _, _ in FIELDS[kind]]]
    return list(dict.fromkeys([*(config.barcode if kind != "callbacks" else ()), *headers]))


def _barcodes(
    raw: dict[str, pa.Array],
    config: PartnerConfig,
    kind: str,
    column: Callable[[str], pa.Array],
    reasons: dict[int, str],
    blank: pa.Array,
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
    digits = _without_separators(pc.fill_null(value, ""))
    valid = pc.match_substring_regex(digits, pattern=_DIGITS)
    tracking = pc.if_else(valid, pc.utf8_slice_codeunits(digits, 0, 20), None)
    routing = pc.if_else(valid, pc.utf8_slice_codeunits(digits, 20, 31), None)
    others = pc.and_(pc.invert(valid), pc.is_valid(value))
    if pc.any(others).as_py():  # 65 bar states, decoded whole
        bar_tracking, bar_routing = decode_column(pc.if_else(others, value, None))
        tracking, routing = pc.coalesce(tracking, bar_tracking), pc.coalesce(routing, bar_routing)
    unread = pc.fill_null(pc.and_(pc.is_null(tracking), pc.is_valid(value)), False)
    if pc.any(unread).as_py():  # malformed values: the scalar codec words their reason best
        at = np.flatnonzero(unread.to_numpy(zero_copy_only=False)).tolist()
        fixed_tracking: list[str | None] = []
        fixed_routing: list[str | None] = []
        for i, text in zip(at, value.take(pa.array(at)).to_pylist(), strict=True):
            imb = None
            if i not in reasons:
                try:
                    imb = normalize(text)
                except IMbError as exc:
                    reasons[i] = f"undecodable barcode: {exc}"
            fixed_tracking.append(imb.tracking if imb else None)
            fixed_routing.append(imb.routing if imb else None)
        tracking = pc.replace_with_mask(tracking, unread, pa.array(fixed_tracking, _TEXT))
        routing = pc.replace_with_mask(routing, unread, pa.array(fixed_routing, _TEXT))
    return tracking, pc.if_else(pc.equal(routing, ""), None, routing)


def _without_separators(text: pa.Array) -> pa.Array:
    """`text` with the separators a barcode may be written with removed. Dashes (how split
    barcodes are joined, and how one partner writes them) go by a literal replace, several times
    faster than the regex; only cells still not all digits go through the regex."""
    text = pc.replace_substring(text, "-", "")
    rest = pc.invert(pc.ascii_is_decimal(text))
    if not pc.any(rest).as_py():
        return text
    stripped = pc.replace_substring_regex(text.filter(rest), pattern=SEPARATOR, replacement="")
    return pc.replace_with_mask(text, rest, stripped)


def _cast(text: pa.Array, field_type: pa.DataType, config: PartnerConfig) -> tuple[pa.Array, np.ndarray]:
    """`text` as `field_type`, and a mask of the cells that were present but did not parse."""
    if field_type == _TEXT:
        return text, np.zeros(len(text), dtype=bool)
    if field_type in (_DATE, _TIMESTAMP):
        fmt = config.date_format if field_type == _DATE else config.datetime_format
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        failed = pc.and_(pc.is_valid(text), pc.is_null(parsed))
        values = pc.cast(parsed, _DATE) if field_type == _DATE else pc.assume_timezone(parsed, "UTC")
        return values, failed.to_numpy(zero_copy_only=False)
    if field_type == _FLOAT:
        text = (
            pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
            if config.decimal_comma
            else pc.replace_substring(text, ",", "")
        )
    values, failures = cast_or_reject(text, field_type)
    failed = np.zeros(len(text), dtype=bool)
    failed[failures] = True
    return values, failed


def _reject(reasons: dict[int, str], mask: pa.Array | np.ndarray, reason: Callable[[int], str]) -> None:
    """Gives each masked row without a reason yet this one (the first broken rule is reported)."""
    hits = mask if isinstance(mask, np.ndarray) else pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(hits).tolist():
        if i not in reasons:
            reasons[i] = reason(i)


def _read(content: bytes, config: PartnerConfig, kind: str) -> pa.Table:
    """A file's rows as text columns named by its header (made unique: `a`, `a_1`). Empty
    cells are null in a workbook and "" in a CSV file. Raises `UnreadableFileError` for a file
    that is not its partner's format, or whose header has none of the kind's columns."""
    table = _read_xlsx(content) if config.format == "xlsx" else _read_csv(content, config)
    expected = _raw_headers(config, kind)
    if table.num_columns and not set(table.column_names) & set(expected):
        found = ", ".join(table.column_names[:5]) + (", ..." if table.num_columns > 5 else "")
        raise UnreadableFileError(
            f"not a {config.partner} {kind} file: its header ({found[:200]}) has none of the columns "
            f"{', '.join(expected)}"
        )
    return table


def _read_xlsx(content: bytes) -> pa.Table:
    import fastexcel  # calamine (Rust) straight into Arrow: no Python object per cell

    try:
        sheet = fastexcel.read_excel(content).load_sheet(0, dtypes="string")
        table = pa.Table.from_batches([sheet.to_arrow()])
    except fastexcel.FastExcelError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(f"not a readable XLSX workbook (truncated or another format): {detail}") from None
    return table.rename_columns(_unique([name.strip() for name in table.column_names]))


def _decoded(content: bytes, config: PartnerConfig) -> tuple[bytes, str]:
    """The content in an encoding the readers take, and that encoding. A byte-order mark is
    certain evidence, so a UTF-16 or UTF-8-with-BOM file loads whatever the partner's declared
    encoding; without one the declared encoding must hold for every byte (a UTF-8 partner's file
    with Latin-1 bytes is refused, not guessed at)."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            try:
                text = content[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    f"starts with a {encoding} byte-order mark but is not {encoding}: {exc.reason} at byte {exc.start}"
                ) from None
            return text.encode("utf-8"), "utf-8"
    nul = content.find(b"\x00")
    if nul >= 0:
        raise UnreadableFileError(
            f"binary content, not CSV text: a NUL byte at offset {nul} (UTF-16 without a byte-order mark?)"
        )
    if not content.isascii():
        try:
            content.decode(config.encoding)
        except UnicodeDecodeError as exc:
            raise UnreadableFileError(
                f"not {config.encoding} text as {config.partner} declares: {exc.reason} "
                f"(byte 0x{content[exc.start]:02x} at offset {exc.start})"
            ) from None
    return content, config.encoding


def _read_csv(content: bytes, config: PartnerConfig) -> pa.Table:
    """Read by Arrow's CSV reader, every column as text. A file with a row whose cell count is
    not the header's is read by Python's `csv` instead, which pads a short row with nulls and
    drops a long row's extras, as it always has."""
    content, encoding = _decoded(content, config)
    header = _csv_header(content, config, encoding)
    if not header:
        return pa.table({})
    names = [f"column_{i}" for i in range(len(header))]
    misshapen: list[Any] = []

    def on_invalid(row: Any) -> str:
        misshapen.append(row)
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(content),
            read_options=pa_csv.ReadOptions(encoding=encoding, column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter=config.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, _TEXT), strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        misshapen.append(None)
    if misshapen:
        return _read_csv_rows(content, config, encoding)
    longest = max((pc.max(pc.utf8_length(c)).as_py() or 0 for c in table.columns), default=0)
    if longest > MAX_FIELD_CHARS:
        raise UnreadableFileError(f"a field over the {MAX_FIELD_CHARS:,}-character limit ({longest:,} characters)")
    return table.rename_columns(_unique(header))


def _read_csv_rows(content: bytes, config: PartnerConfig, encoding: str) -> pa.Table:
    reader = csv.reader(io.StringIO(content.decode(encoding), newline=""), delimiter=config.delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        limit = "field larger than field limit" in str(exc)
        reason = f"a field over the {MAX_FIELD_CHARS:,}-character limit" if limit else f"malformed CSV: {exc}"
        raise UnreadableFileError(f"{reason} (line {reader.line_num})") from None
    if not rows:
        return pa.table({})
    header, data = rows[0], rows[1:]
    width = len(header)
    # Transposed in C; a short row's missing cells come out as None, a long row's extras are dropped.
    values = [list(column) for column in itertools.islice(itertools.zip_longest(*data), width)] if data else []
    values += [[None] * len(data) for _ in range(width - len(values))]
    return pa.table(dict(zip(_unique([h.strip() for h in header]), [pa.array(v, _TEXT) for v in values], strict=True)))


def _csv_header(content: bytes, config: PartnerConfig, encoding: str) -> list[str]:
    head = content[:65536].decode(encoding, errors="ignore")
    first = next(csv.reader(io.StringIO(head, newline=""), delimiter=config.delimiter), [])
    return [h.strip() for h in first]


def _unique(names: list[str]) -> list[str]:
    """Header names made unique the way workbook readers do: a repeat of `a` becomes `a_1`."""
    out: list[str] = []
    for name in names:
        unique, count = name, 0
        while unique in out:
            count += 1
            unique = f"{name}_{count}"
        out.append(unique)
    return out
