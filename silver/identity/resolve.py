"""Identity resolution end to end: records in, people and the links that made them out."""

import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from silver.erasure import key_hash
from silver.identity.clusters import person_ids
from silver.identity.deterministic import deterministic_links
from silver.identity.incremental import Previous
from silver.identity.phase_memory import phase
from silver.identity.probabilistic import (
    IDENTITY_DUCKDB_FLOOR,
    MatchConfig,
    MatchModel,
    probabilistic_links,
    profile_links,
)
from silver.identity.reused_keys import HASH_COLUMN, Before, standardize_reusing
from silver.identity.saved_model import SavedModel
from silver.identity.standardize import KEY_COLUMNS
from warehouse.duckdb_limits import DuckDBLimits, resident_bytes

SUPPRESSED = ("record_key", "source", "source_id")
OUTPUT_COLUMNS = (
    "record_key",
    "source",
    "source_id",
    "person_id",
    "cluster_size",
    *KEY_COLUMNS,
    "created_at",
    "input_hash",  # what the keys were made from: the next run carries them over (`reused_keys`)
)


def no_suppressed() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in SUPPRESSED})


@dataclass
class Resolution:
    records: pa.Table  # the standardized records, with `person_id`
    links: pa.Table  # every link, with its rule or match weight and what agreed
    seconds: dict[str, float] = field(default_factory=dict)
    # Records of erased people: only their source ids are kept, so later steps can leave them out.
    suppressed: pa.Table = field(default_factory=no_suppressed)
    # Which Splink model scored the pairs, its training pairs and any step skipped.
    model: MatchModel = field(default_factory=MatchModel)
    # What the in-memory DuckDB was held to, as DuckDB itself reports it (memory_limit, threads,
    # temp_directory): the run's evidence that it could not take more than its share.
    duckdb_settings: dict[str, Any] = field(default_factory=dict)
    # Records standardized in this run; the others' keys were carried over (`reused_keys`).
    standardized: int = 0

    @property
    def people(self) -> int:
        return pc.count_distinct(self.records["person_id"]).as_py()

    def person_records(self) -> pa.Table:
        """What silver keeps: each record's person and its match keys, in record-key order."""
        return self.records.select(list(OUTPUT_COLUMNS)).sort_by("record_key")

    def links_by_rule(self) -> dict[str, int]:
        counts = self.links.group_by("rule").aggregate([("rule", "count")])
        return dict(zip(counts["rule"].to_pylist(), counts["rule_count"].to_pylist(), strict=True))


def resolve(
    records: pa.Table,
    erased: set[str] | frozenset[str] = frozenset(),
    suppressed: pa.Table | None = None,
    config: MatchConfig | None = None,
    limits: DuckDBLimits | None = None,
    saved_model: SavedModel | None = None,
    retrain_reason: str | None = None,
    previous: Previous = None,
    keys_before: Before = None,
) -> Resolution:
    """Resolves `records` into people, in an in-memory DuckDB held to `limits` (the warehouse's,
    `LEADLOOP_DUCKDB_*`; by default from the environment): without them Splink's joins took
    5 GB at 1M leads where, limited, they spill. A person any of whose records carries an email in
    `erased` (registry hashes, see `erasure`), or is already in `suppressed` (an earlier run's
    suppressed records: their email may be blanked by now), is left out whole, keeping only its
    record ids; suppression only grows.

    When this run leaves out records that are still in the input (a new erasure request, or a
    source that loaded an erased person again), everyone else is resolved a second time without
    them: the match model's term frequencies are taken over the records it sees, so keeping
    the erased in the first pass gave other people's links other weights than the next run
    gives, once the erased person's bronze rows are deleted. An erasure, or a run killed
    halfway through one and run again, then ends where the run after it starts (issue 25).

    `saved_model`, the last accepted trained match model, scores instead of a new training when
    the data has not moved much since (see `saved_model`); both passes are offered it, so the
    second decides as the next run will. `retrain_reason` says why none was offered. `previous`,
    what the last run kept of its scoring (`incremental`), lets this one score only the pairs whose
    score may have moved; the model's `to_carry` is what this run keeps for the next.
    `keys_before`, the last run's records with their keys and `input_hash`, spares standardizing
    the records that did not change (`reused_keys`)."""
    limits = limits or DuckDBLimits.from_env()
    reuse = {"saved": saved_model, "retrain_reason": retrain_reason, "previous": previous}
    first = _resolve_once(records, erased, suppressed, config, limits, reuse, keys_before)
    kept = pc.is_in(records["record_key"], value_set=first.records["record_key"].combine_chunks())
    if (pc.sum(kept).as_py() or 0) == records.num_rows:
        return first
    first_suppressed, first_seconds = first.suppressed, first.seconds
    # The second pass's records are the first's kept ones: their keys are the first pass's.
    carried = first.records.select(["record_key", HASH_COLUMN, *KEY_COLUMNS])
    del first  # its records and links go before the second pass makes its own
    second = _resolve_once(records.filter(kept), erased, first_suppressed, config, limits, reuse, carried)
    second.seconds = {**{f"{step} (with the erased)": s for step, s in first_seconds.items()}, **second.seconds}
    return second


def _resolve_once(
    records: pa.Table,
    erased: set[str] | frozenset[str],
    suppressed: pa.Table | None,
    config: MatchConfig | None,
    limits: DuckDBLimits,
    reuse: dict[str, Any],
    keys_before: Before,
) -> Resolution:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with phase("standardize"):
        standardized, anew = standardize_reusing(records, keys_before)
    seconds["standardize"] = time.perf_counter() - started
    # The records and their keys, scanned in place, and all else the process holds count against
    # its share; Splink spills well (`IDENTITY_DUCKDB_FLOOR`).
    with limits.less(resident_bytes(), at_least=IDENTITY_DUCKDB_FLOOR).scratch_connection() as con:
        names = ("memory_limit", "threads", "temp_directory")
        found = con.sql(f"select {', '.join(f'current_setting({n!r})' for n in names)}").fetchall()[0]
        duckdb_settings = dict(zip(names, found, strict=True))
        con.register("records", standardized)
        started = time.perf_counter()
        with phase("deterministic"):
            links = deterministic_links(con)
        seconds["deterministic"] = time.perf_counter() - started
        started = time.perf_counter()
        with phase("probabilistic"):
            matched, model = probabilistic_links(con, config=config, limits=limits, **reuse)
            links = pa.concat_tables([links, profile_links(con), matched])
        seconds["probabilistic"] = time.perf_counter() - started
        con.unregister("records")
    started = time.perf_counter()
    with phase("cluster"):
        people = person_ids(standardized, links)
    seconds["cluster"] = time.perf_counter() - started
    # Aligned by key rather than joined: a join copies every column of 1.6M records at 1M leads.
    at = pc.index_in(standardized["record_key"], value_set=people["record_key"].combine_chunks())
    joined = standardized.append_column("person_id", people["person_id"].take(at)).append_column(
        "cluster_size", people["cluster_size"].take(at)
    )
    del people
    earlier = (
        no_suppressed() if suppressed is None else suppressed.select(list(SUPPRESSED)).cast(no_suppressed().schema)
    )
    if not erased and not earlier.num_rows:
        return Resolution(
            records=joined,
            links=links,
            seconds=seconds,
            model=model,
            duckdb_settings=duckdb_settings,
            standardized=anew,
        )
    with phase("leave out the erased"):
        resolution = _without_erased_people(joined, links, erased, earlier, seconds)
    resolution.model, resolution.duckdb_settings, resolution.standardized = model, duckdb_settings, anew
    return resolution


def _without_erased_people(
    records: pa.Table,
    links: pa.Table,
    erased: set[str] | frozenset[str],
    earlier: pa.Table,
    seconds: dict[str, float],
) -> Resolution:
    """Leaves out whole every person one of whose records holds an erased email or was
    suppressed before."""
    # Arrow all through, each distinct email hashed once: no Python list of 1.6M records.
    found = pc.is_in(records["record_key"].combine_chunks(), value_set=earlier["record_key"].combine_chunks())
    if erased:
        emails = pc.dictionary_encode(records["email_key"].combine_chunks())
        hashed = pa.array([bool(key) and key_hash(key) in erased for key in emails.dictionary.to_pylist()], pa.bool_())
        found = pc.or_(found, pc.fill_null(hashed.take(emails.indices), False))
    erased_people = pc.unique(records["person_id"].filter(found).combine_chunks())
    gone = pc.is_in(records["person_id"], value_set=erased_people)
    suppressed = records.filter(gone).select(list(SUPPRESSED))
    # Records suppressed before and no longer in any source stay suppressed.
    suppressed = pa.concat_tables([suppressed, earlier])
    suppressed = suppressed.group_by(list(SUPPRESSED)).aggregate([])
    gone_keys = suppressed["record_key"].combine_chunks()
    touches = pc.or_(
        pc.is_in(links["record_key_l"], value_set=gone_keys), pc.is_in(links["record_key_r"], value_set=gone_keys)
    )
    return Resolution(
        records=records.filter(pc.invert(gone)),
        links=links.filter(pc.invert(touches)),
        seconds=seconds,
        suppressed=suppressed.sort_by("record_key"),
    )
