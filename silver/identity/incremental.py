"""A day's identity run scores only the profile pairs whose score may have moved, and links
exactly as scoring every pair would.

Scoring every blocked pair was most of identity's time on a day's run at 1M leads (70 of 121 s)
to find the links of the 1 % of records that changed. What moves a pair's match weight between
two runs is known:

- a profile that is new (a new or changed record: a profile is named by its match keys);
- a term frequency: Splink adjusts exact-match levels on names and cities by how common the value
  is among all profiles, so a new "Zielinski" moves the weight of every pair of Zielinskis, and
  the profile count moving moves every value a little;
- the model's parameters (a missing given name's levels follow how common it is; a retrained
  model moves everything).

So each run keeps the pairs it scored within `BAND_BITS` below the link threshold (by their
profile keys: hashes, no values) and a *ceiling*: the highest weight any pair it did not keep can
have. The next run marks *dirty* every new profile and every profile holding a value whose term
frequency moved more than `DIRTY_BITS`, and scores

- every blocked pair with a dirty side (the match settings' own blocks, and a dirty side), and
- every blocked pair within a group of last run's kept pairs (their weights are current again).

Every other blocked pair is clean on both sides and was not kept: its weight is under the
ceiling, moved since by at most the drift this run measures (the largest clean term-frequency
move per comparison, plus the parameters' move per comparison). While the ceiling plus the drift
stays under the link threshold no such pair can be a link, so the links are those of scoring
every pair; otherwise, and on every full run, every pair is scored and the ceiling starts again
at the band. Links keep the weights of this run's term frequencies either way: scored pairs are
scored in full, with the same SQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from silver.identity.profiles import FULL_NAME_KEY, PROFILE_KEY

PAIRS_TABLE = "identity_scored_pairs"
STATE_TABLE = "identity_prediction_state"
BAND_BITS = 3.0  # kept pairs: those within this much of the link threshold's weight
DIRTY_BITS = 0.1  # a value whose term frequency moved more than this makes its profiles dirty
GROUP_PAIRS_PER_KEPT_PAIR = 20  # past this, groups of kept pairs are too large to rescore
PAIRS_SCHEMA = pa.schema([pa.field("profile_key_l", pa.string()), pa.field("profile_key_r", pa.string())])
STATE_SCHEMA = pa.schema(
    [
        pa.field("model_json", pa.string()),  # the parameters the kept pairs were scored with
        pa.field("ceiling_bits", pa.float64()),  # no pair left out of the kept ones weighs more
    ]
)
PREVIOUS_PROFILE_COLUMNS = ("profile_key", "first_name_key", "last_name_key", "city_key")
# Term-frequency columns as the profiles hold them (`profiles.profiles`).
TF_EXPRESSIONS = {"full_name_key": FULL_NAME_KEY}


@dataclass(frozen=True)
class PredictionState:
    """What one run leaves the next: the pairs it kept, the model that scored them, the ceiling;
    and, read back with it, the profiles of the records that run resolved (from silver's
    `identity_records`, `previous_profiles_sql`), for the term frequencies they made."""

    model_json: str
    ceiling_bits: float
    pairs: pa.Table
    profiles: pa.Table | None = None

    def as_tables(self) -> dict[str, pa.Table]:
        state = pa.Table.from_pylist(
            [{"model_json": self.model_json, "ceiling_bits": self.ceiling_bits}], schema=STATE_SCHEMA
        )
        return {PAIRS_TABLE: self.pairs.cast(PAIRS_SCHEMA), STATE_TABLE: state}

    @classmethod
    def from_tables(cls, state: pa.Table, pairs: pa.Table, profiles: pa.Table) -> PredictionState | None:
        rows = state.to_pylist()
        if len(rows) != 1:
            return None
        profiles = profiles.cast(pa.schema([pa.field(name, pa.string()) for name in PREVIOUS_PROFILE_COLUMNS]))
        return cls(rows[0]["model_json"], float(rows[0]["ceiling_bits"]), pairs.cast(PAIRS_SCHEMA), profiles)


# What a run is given of the last: the state, or what reads it from the warehouse when it is
# needed, so its tables are held only while the pairs are chosen (`probabilistic_links`).
Previous = PredictionState | Callable[[], PredictionState | None] | None

NO_STATE = {PAIRS_TABLE: PAIRS_SCHEMA.empty_table(), STATE_TABLE: STATE_SCHEMA.empty_table()}


def previous_profiles_sql(records: str) -> str:
    """The profiles of `records` (a table of match keys: silver's `identity_records`), in either
    warehouse's SQL, with the columns term frequencies are taken over."""
    return (
        f"select {PROFILE_KEY} as profile_key, min(first_name_key) as first_name_key,"
        f" min(last_name_key) as last_name_key, min(city_key) as city_key from {records} group by 1"
    )


@dataclass
class Scope:
    """Which pairs this run scores, and why: materialization metadata, and the blocks to use."""

    incremental: bool
    reason: str
    rules: list[str]
    band_bits: float  # the weight pairs are kept from
    ceiling_bits: float  # after this run
    drift_bits: float = 0.0
    dirty_profiles: int = 0
    watched_pairs: int = 0
    scored_pairs: int = 0
    term_frequency_drift: dict[str, float] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "scored": "changed pairs" if self.incremental else "every pair",
            "why": self.reason,
            "dirty_profiles": self.dirty_profiles,
            "kept_pairs_rescored": self.watched_pairs,
            "scored_pairs_kept": self.scored_pairs,
            "drift_bits": round(self.drift_bits, 4),
            "ceiling_bits": round(self.ceiling_bits, 4),
            "term_frequency_drift_bits": {k: round(v, 4) for k, v in self.term_frequency_drift.items()},
        }


def weight_of(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def probability_of(weight: float) -> float:
    return 1 / (1 + 2 ** (-weight))


def _rules(model: dict[str, Any]) -> list[str]:
    return [rule["blocking_rule"] for rule in model["blocking_rules_to_generate_predictions"]]


def _numbers_stripped(model: dict[str, Any]) -> dict[str, Any]:
    stripped = json.loads(json.dumps(model))
    for key in ("probability_two_random_records_match", "linker_uid"):
        stripped.pop(key, None)
    for comparison in stripped["comparisons"]:
        for level in comparison["comparison_levels"]:
            level.pop("m_probability", None)
            level.pop("u_probability", None)
    return stripped


def _log2(value: float | None) -> float:
    return math.log2(max(value or 0.0, 1e-300))


def parameter_drift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float] | None:
    """How far, in bits, the parameters moved any pair's weight per comparison (and the prior);
    None when the models differ in anything but their numbers (other comparisons or blocks).

    A level's weight is log2(m/u); a term-frequency level adds log2(u of the comparison's exact
    level) - log2(tf), so its move is bounded by the move of log2(m/u) plus the largest move of a
    log2(u) in the comparison."""
    if _numbers_stripped(before) != _numbers_stripped(after):
        return None
    prior = abs(
        weight_of(before["probability_two_random_records_match"])
        - weight_of(after["probability_two_random_records_match"])
    )
    drift = {"prior": prior}
    for old, new in zip(before["comparisons"], after["comparisons"], strict=True):
        weight_moves, u_moves, tf = [0.0], [0.0], False
        for a, b in zip(old["comparison_levels"], new["comparison_levels"], strict=True):
            if a.get("is_null_level") or b.get("m_probability") is None or b.get("u_probability") is None:
                continue
            weight_moves.append(
                abs((_log2(a.get("m_probability")) - _log2(a.get("u_probability")))
                    - (_log2(b["m_probability"]) - _log2(b["u_probability"])))
            )  # fmt: skip
            u_moves.append(abs(_log2(a.get("u_probability")) - _log2(b["u_probability"])))
            tf = tf or bool(b.get("tf_adjustment_column"))
        drift[new["output_column_name"]] = max(weight_moves) + (max(u_moves) if tf else 0.0)
    return drift


def _tf_columns(model: dict[str, Any]) -> dict[str, set[str]]:
    """Each comparison's term-frequency columns: one pair reaches one level per comparison."""
    columns: dict[str, set[str]] = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if column := level.get("tf_adjustment_column"):
                columns.setdefault(comparison["output_column_name"], set()).add(column)
    return columns


def scope(
    con: duckdb.DuckDBPyConnection, model: dict[str, Any], threshold: float, previous: PredictionState | None
) -> Scope:
    """Decides which pairs to score and, for a changed-pairs run, adds `dirty` and `watch_group`
    to `profiles`."""
    band = weight_of(threshold) - BAND_BITS
    rules = _rules(model)

    def everything(reason: str) -> Scope:
        return Scope(incremental=False, reason=reason, rules=rules, band_bits=band, ceiling_bits=band)

    if previous is None or previous.profiles is None:
        return everything("no pairs kept from an earlier run")
    moved = parameter_drift(json.loads(previous.model_json), model)
    if moved is None:
        return everything("the match settings changed since the kept pairs were scored")
    tf_moved, dirty = _term_frequency_drift(con, previous.profiles, _tf_columns(model))
    drift = sum(moved.values()) + sum(tf_moved.values())
    if previous.ceiling_bits + drift >= weight_of(threshold):
        return everything(
            f"pairs left unscored may have reached the threshold ({previous.ceiling_bits:.2f} + {drift:.2f} bits)"
        )
    watched, within = _watch_groups(con, previous.pairs)
    if within > GROUP_PAIRS_PER_KEPT_PAIR * max(watched, 1_000):
        # Kept pairs chained into groups so large that rescoring them costs a run of its own.
        return everything(f"last run's kept pairs chain into groups of {within:,} pairs")
    every_rule = " or ".join(f"({rule})" for rule in rules)
    return Scope(
        incremental=True,
        reason=f"{dirty:,} profiles new or with a moved term frequency",
        rules=[f"({rule}) and (l.dirty or r.dirty)" for rule in rules]
        + [f"l.watch_group = r.watch_group and ({every_rule})"],
        band_bits=band,
        ceiling_bits=max(previous.ceiling_bits + drift, band),
        drift_bits=drift,
        dirty_profiles=dirty,
        watched_pairs=watched,
        term_frequency_drift=tf_moved,
    )


def _term_frequency_drift(
    con: duckdb.DuckDBPyConnection, before: pa.Table, tf_columns: dict[str, set[str]]
) -> tuple[dict[str, float], int]:
    """The largest term-frequency move (bits) of a clean value per comparison, and how many
    profiles are dirty; `profiles` gains `dirty`."""
    con.register("previous_profiles", before)
    con.execute(
        "create or replace temp table dirty_profiles as select profile_key from profiles"
        " anti join previous_profiles using (profile_key)"
    )
    drift: dict[str, float] = {}
    for comparison, columns in tf_columns.items():
        drift[comparison] = 0.0
        for column in sorted(columns):
            value = TF_EXPRESSIONS.get(column, column)
            # tf = count / count of the non-null, over profiles, as Splink computes it.
            shifts = f"""
                with before as (select {value} as v, count(*) as n from previous_profiles
                                where v is not null group by v),
                     now as (select {column} as v, count(*) as n from profiles where v is not null group by v),
                     totals as (select (select sum(n) from before) as before_n, (select sum(n) from now) as now_n)
                select now.v, abs(log2((now.n / totals.now_n) / (before.n / totals.before_n))) as bits
                from now left join before using (v), totals
            """
            con.execute(f"create or replace temp table shifts as {shifts}")
            clean = con.sql(f"select coalesce(max(bits), 0) from shifts where bits <= {DIRTY_BITS}").fetchall()[0][0]
            drift[comparison] = max(drift[comparison], float(clean))
            con.execute(
                f"""
                insert into dirty_profiles
                select p.profile_key from profiles p join shifts s on s.v = p.{column}
                where s.bits is null or s.bits > {DIRTY_BITS}
                """
            )
    con.execute(
        """
        create or replace temp table profiles as
        select p.*, d.profile_key is not null as dirty
        from profiles p left join (select distinct profile_key from dirty_profiles) d using (profile_key)
        """
    )
    dirty = int(con.sql("select count(*) from profiles where dirty").fetchall()[0][0])
    con.execute("drop table dirty_profiles; drop table shifts")
    con.unregister("previous_profiles")
    return drift, dirty


def _watch_groups(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> tuple[int, int]:
    """`profiles` gains `watch_group`: connected groups of last run's kept pairs among this run's
    profiles (null for a profile in none). Returns how many kept pairs still have both sides, and
    how many pairs the groups hold (what rescoring them compares at most).

    The keys are matched inside DuckDB, within its memory limit; only the pairs' profile numbers
    come out, for the components."""
    con.register("kept_pairs", pairs)
    found = con.sql(
        """
        select l.profile_id as l, r.profile_id as r from kept_pairs k
        join profiles l on l.profile_key = k.profile_key_l join profiles r on r.profile_key = k.profile_key_r
        """
    ).fetchnumpy()
    con.unregister("kept_pairs")
    left, right = found["l"].astype(np.int64), found["r"].astype(np.int64)
    n = int(con.sql("select coalesce(max(profile_id), 0) + 1 from profiles").fetchall()[0][0])
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    in_pair = np.zeros(n, dtype=bool)
    in_pair[left] = True
    in_pair[right] = True
    members = np.flatnonzero(in_pair)
    groups = pa.table({"profile_id": members, "watch_group": label[members]})
    con.register("watch_groups", groups)
    con.execute(
        "create or replace temp table profiles as"
        " select p.*, w.watch_group from profiles p left join watch_groups w using (profile_id)"
    )
    con.unregister("watch_groups")
    sizes = np.bincount(label[members]).astype(np.int64)
    return int(len(left)), int((sizes * (sizes - 1) // 2).sum())


def kept_pairs(con: duckdb.DuckDBPyConnection, predictions: str) -> pa.Table:
    """The scored pairs at or above the band, by profile key, for the next run."""
    return (
        con.sql(
            f"""
            select l.profile_key as profile_key_l, r.profile_key as profile_key_r
            from {predictions} p
            join profiles l on l.profile_id = p.profile_id_l
            join profiles r on r.profile_id = p.profile_id_r
            """
        )
        .to_arrow_table()
        .cast(PAIRS_SCHEMA)
    )
