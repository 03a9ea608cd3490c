"""The dlt source over partner drops: every partner's files, read through its config, into one
table per record kind (`mailed_records`, `delivery_confirmations`, `callbacks`).

- Barcodes in any of the three encodings become the canonical 20-digit IMb tracking code (plus
  routing ZIP) through `ingestion.imb`; one that does not decode is quarantined as
  "undecodable barcode", as are rows with a missing required field or an unparseable date or
  number (`ingestion.partner_files.parse`). read = loaded + quarantined + duplicates, per run.
- Only files whose listing (size, modification stamp) changed since they loaded are read
  (`ingestion.landed_files`); each of those is recognised by its content hash, so a re-sent
  copy under any name is a no-op. Rows merge insert-only on their key: the first delivery
  confirmation of a piece wins, and a duplicate row changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import dlt
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ingestion import quarantine
from ingestion.dedupe import first_occurrences
from ingestion.landed_files import changed_files
from ingestion.partner_files.config import KINDS, PartnerConfig, load_partner_configs
from ingestion.partner_files.parse import KEYS, parse_batch
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
        counts = {"read": 0, "loaded": 0, "quarantined": 0, "files": 0, "skipped_files": 0}
        seen = pa.chunked_array([], pa.string())  # keys loaded earlier in the run
        pending: list[tuple[str, bytes, str, str | None]] = []  # name, content, digest, listing
        out: list[pa.Table] = []
        out_rejected: list[quarantine.Rejected] = []

        def parse(config: PartnerConfig) -> None:
            """Parses the pending files as one batch; a second copy of a file in it is not parsed."""
            nonlocal seen
            first = {}
            for name, content, digest, _ in pending:
                first.setdefault(digest, (name, content))
            parsed = parse_batch(list(first.values()), config, kind)
            rows_of = dict(zip(first, parsed.rows_per_file, strict=True))
            for name, _, digest, listing in pending:
                if first[digest][0] != name and rows_of[digest]:
                    counts["skipped_files"] += 1  # a re-sent copy of a file in this batch
                else:
                    counts["files"] += 1
                loaded[name], listings[name] = digest, listing
            for digest, rows in rows_of.items():
                if rows and digest not in known:  # header-only files look alike: not remembered
                    hashes.append(digest)
                    known.add(digest)
            keys = _keys(parsed.table, kind)
            unique = first_occurrences(parsed.table, keys, seen)
            seen = pa.chunked_array([*seen.chunks, *_keys(unique, kind).chunks], pa.string())
            counts["read"] += parsed.table.num_rows + len(parsed.rejected)
            counts["loaded"] += unique.num_rows
            counts["quarantined"] += len(parsed.rejected)
            if unique.num_rows:
                out.append(unique)
            out_rejected.extend(parsed.rejected)
            pending.clear()

        def flush() -> Iterator[Any]:
            # Handed on in batches: dlt's per-item bookkeeping costs more than a small file's rows.
            if out:
                batch = pa.concat_tables(out)
                yield dlt.mark.with_hints(batch, append) if append else batch
            if out_rejected:
                yield quarantine.hinted(quarantine.to_arrow(out_rejected), table)
            out.clear()
            out_rejected.clear()

        fs, root = fsspec.core.url_to_fs(folder_url)
        for config in configs:
            for landed in changed_files(fs, root, config.pattern(kind), listings):
                content = fs.cat_file(landed.path)
                digest = hashlib.sha256(content).hexdigest()
                if loaded.get(landed.name) == digest:  # touched, not changed
                    listings[landed.name] = landed.listing
                elif digest in known:  # a re-sent copy of a file loaded before
                    counts["skipped_files"] += 1
                    loaded[landed.name], listings[landed.name] = digest, landed.listing
                else:
                    pending.append((landed.name, content, digest, landed.listing))
                    if sum(len(p[1]) for p in pending) >= BATCH_BYTES:
                        parse(config)
                if sum(t.num_rows for t in out) + len(out_rejected) >= BATCH_ROWS:
                    yield from flush()
            if pending:
                parse(config)
        yield from flush()
        counts["duplicates"] = counts["read"] - counts["loaded"] - counts["quarantined"]
        state[quarantine.RUN_COUNTS_STATE] = counts

    return rows


def _keys(table: pa.Table, kind: str) -> pa.ChunkedArray:
    """One text key per row: the tracking code, plus the call time for callbacks."""
    if kind != "callbacks":
        return table["imb_tracking"]
    called = pc.cast(pc.cast(table["called_at"], pa.int64()), pa.string())
    return pa.chunked_array([pc.binary_join_element_wise(table["imb_tracking"], called, "|")], pa.string())
