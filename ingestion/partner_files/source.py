"""The dlt source over partner drops: every partner's files, read through its config, into one
table per record kind (`mailed_records`, `delivery_confirmations`, `callbacks`).

- Barcodes in any of the three encodings become the canonical 20-digit IMb tracking code (plus
  routing ZIP) through `ingestion.imb`; one that does not decode is quarantined as
  "undecodable barcode", as are rows with a missing required field or an unparseable date or
  number (`ingestion.partner_files.parse`). read = loaded + quarantined + duplicates, per run.
- A file that cannot be read at all (undecodable bytes, a truncated or junk workbook, a field
  over the size limit, not the partner's columns) goes whole to `file_quarantine` with its
  reason, and the partner's other files load; a file with a byte-order mark is decoded by it.
- Only files whose listing (size, modification stamp) changed since they loaded are read
  (`ingestion.landed_files`); each of those is recognised by its content hash, so a re-sent
  copy under any name is a no-op. Rows merge insert-only on their key: the first delivery
  confirmation of a piece wins, and a duplicate row changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dlt
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.dedupe import first_occurrences
from ingestion.landed_files import changed_files
from ingestion.parse_ahead import parse_ahead
from ingestion.partner_files.config import KINDS, PartnerConfig, load_partner_configs
from ingestion.partner_files.parse import KEYS, Parsed, parse_batch
from ingestion.schema_drift import SCHEMA_CONTRACT

FILES_STATE = "loaded_files"  # relative path → sha256 of the content loaded
HASHES_STATE = "loaded_hashes"  # every content hash ever loaded, to spot re-sent copies
LISTINGS_STATE = "loaded_listings"  # relative path → its listing when it loaded
BATCH_ROWS = 200_000  # rows handed to dlt at once
BATCH_BYTES = 16_000_000  # file content parsed as one batch


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
        listings: dict[str, str | None] = state.setdefault(LISTINGS_STATE, {})
        hashes: list[str] = state.setdefault(HASHES_STATE, [])
        known = set(hashes)
        # Into an empty table the first load appends (half the time of a merge): the run
        # already keeps each key once, which is all an insert-only merge would add.
        append = dlt.mark.make_hints(write_disposition="append") if not loaded else None
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "files": 0, "skipped_files": 0, "quarantined_files": 0}
        per_file: dict[str, dict[str, Any]] = {}
        seen: set[str] = set()  # keys loaded earlier in the run
        out: list[pa.Table] = []
        out_rejected: list[quarantine.Rejected] = []
        out_files: list[quarantine.RejectedFile] = []  # files refused whole
        refused: dict[str, quarantine.RejectedFile] = {}  # content hash → its refusal, for copies
        rows_of: dict[str, int] = {}  # content hash → data rows, for the files parsed in this run
        copies: list[tuple[str, str, str | None]] = []  # second copies of a file parsed in this run

        def batches() -> Iterator[_Batch]:
            """The new files, read and hashed, in batches of one partner; a file already loaded
            (by its listing, or by its content under any name) is not handed on."""
            fs, root = fsspec.core.url_to_fs(folder_url)
            for config in configs:
                batch = _Batch(config)
                for landed in changed_files(fs, root, config.pattern(kind), listings):
                    content = fs.cat_file(landed.path)
                    digest = hashlib.sha256(content).hexdigest()
                    if loaded.get(landed.name) == digest:  # touched, not changed
                        listings[landed.name] = landed.listing
                    elif digest in known:  # a re-sent copy of a file loaded before
                        counts["skipped_files"] += 1
                        loaded[landed.name], listings[landed.name] = digest, landed.listing
                    elif digest in rows_of:  # a copy of a file parsed in this run
                        copies.append((landed.name, digest, landed.listing))
                    else:
                        rows_of[digest] = 0
                        batch.files.append((landed.name, content, digest, landed.listing))
                        batch.size += len(content)
                        if batch.size >= BATCH_BYTES:
                            yield batch
                            batch = _Batch(config)
                if batch.files:
                    yield batch

        def absorb(batch: _Batch, parsed: Parsed) -> None:
            for index, ((name, content, digest, listing), rows) in enumerate(
                zip(batch.files, parsed.rows_per_file, strict=True)
            ):
                counts["files"] += 1
                # A refused file is remembered as read (its listing and hash), so it is refused
                # once, not every run; a corrected copy has another hash and loads.
                loaded[name], listings[name], rows_of[digest] = digest, listing, rows
                if index in parsed.unreadable:
                    counts["quarantined_files"] += 1
                    refused[digest] = quarantine.RejectedFile(
                        name, digest, len(content), table, parsed.unreadable[index]
                    )
                    out_files.append(refused[digest])
                    quarantine.count_refused_file(per_file, name, parsed.unreadable[index])
                elif rows:  # header-only files look alike: not remembered
                    hashes.append(digest)
                    known.add(digest)
            unique = first_occurrences(parsed.table, _keys(parsed.table, kind), seen)
            counts["read"] += parsed.table.num_rows + len(parsed.rejected)
            counts["loaded"] += unique.num_rows
            counts["quarantined"] += len(parsed.rejected)
            names = (name for name, *_ in batch.files)
            quarantine.count_files(per_file, names, parsed.table, unique, parsed.rejected)
            if unique.num_rows:
                out.append(unique)
            out_rejected.extend(parsed.rejected)

        def flush() -> Iterator[Any]:
            # Handed on in batches: dlt's per-item bookkeeping costs more than a small file's rows.
            if out:
                batch = pa.concat_tables(out)
                yield dlt.mark.with_hints(batch, append) if append else batch
            if out_rejected:
                yield quarantine.hinted(quarantine.to_arrow(out_rejected), table)
            if out_files:
                yield quarantine.files_hinted(out_files)
            out.clear()
            out_rejected.clear()
            out_files.clear()

        def parse(batch: _Batch) -> Parsed:
            return parse_batch([(name, content) for name, content, _, _ in batch.files], batch.config, kind)

        for batch, parsed in parse_ahead(parse, batches()):
            absorb(batch, parsed)
            if sum(t.num_rows for t in out) + len(out_rejected) + len(out_files) >= BATCH_ROWS:
                yield from flush()
        for name, digest, listing in copies:
            counts["skipped_files" if rows_of[digest] else "files"] += 1
            loaded[name], listings[name] = digest, listing
            if digest in refused:  # a copy of a refused file is refused under its own name too
                counts["quarantined_files"] += 1
                out_files.append(dataclasses.replace(refused[digest], source=name))
                quarantine.count_refused_file(per_file, name, refused[digest].reason)
        yield from flush()
        counts["duplicates"] = counts["read"] - counts["loaded"] - counts["quarantined"]
        state[quarantine.RUN_COUNTS_STATE] = counts
        state[quarantine.FILE_COUNTS_STATE] = per_file

    return rows


@dataclass
class _Batch:
    config: PartnerConfig
    files: list[tuple[str, bytes, str, str | None]] = field(default_factory=list)  # name, content, hash, listing
    size: int = 0


def _keys(table: pa.Table, kind: str) -> pa.ChunkedArray:
    """One text key per row: the tracking code, plus the call time for callbacks."""
    if kind != "callbacks":
        return table["imb_tracking"]
    called = pc.cast(pc.cast(table["called_at"], pa.int64()), pa.string())
    return pa.chunked_array([pc.binary_join_element_wise(table["imb_tracking"], called, "|")], pa.string())
