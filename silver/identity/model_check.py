"""A sanity check on a trained Splink model before it links anyone.

Expectation maximisation on a poor training block (one dominated by colleagues or neighbours,
or with too few true pairs) converges without complaint to a model that calls strangers the
same person or people with a typo strangers. The check catches that before prediction:

- *Ordered ends*: in every comparison the exact level is evidence for a match (m > u) and the
  "all other comparisons" level evidence against (m < u). (The levels in between are not
  required to be monotonic: a swapped name, or a city whose exact level is term-frequency
  adjusted, may rightly weigh more than the plain exact level.)
- *Known pairs*: a handful of record pairs whose answer is not in doubt (the same person with a
  typo, a swapped name, a missing given name, a street typo; relatives at
  one address; namesakes in different cities) are scored with the model and must land on the
  right side of the match threshold.

The shipped model passes both (a unit test says so), so a trained model that fails is replaced
by it, with the reasons in the materialization metadata.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from splink.backends.duckdb import DuckDBAPI
from splink.internals.realtime import compare_records

from silver.identity.profiles import profiles
from silver.identity.records import COLUMNS
from silver.identity.standardize import standardize
from warehouse.duckdb_limits import DuckDBLimits

NAME_COMPARISON = "first_name_key_last_name_key"  # links also need the names to agree (probabilistic.py)


def _record(key: str, first: str | None, last: str, **fields: str) -> dict[str, Any]:
    return {"record_key": key, "first_name": first, "last_name": last, **fields}


_OLIVER = {"street": "14 Kingsway Road", "city": "Manchester", "postal_code": "M1 4BT", "country": "GB"}
_LENA = {"street": "Elbchaussee 12", "city": "Hamburg", "postal_code": "22763", "country": "DE"}
_THI = {"street": "8 Rundle Street", "city": "Adelaide", "postal_code": "5000", "country": "AU"}
_MARIA = {"email": "maria.gonzalez@acme-corp.com", "city": "Austin", "postal_code": "78701", "country": "US"}

# (why, left record, right record, one person?)
KNOWN_PAIRS: tuple[tuple[str, dict[str, Any], dict[str, Any], bool], ...] = (
    (
        "a family-name typo at one address",
        _record("l:1", "Oliver", "Hughes", **_OLIVER),
        _record("r:1", "Oliver", "Hughs", **_OLIVER),
        True,
    ),
    (
        "a swapped given and family name at one address",
        _record("l:2", "Lena", "Fischer", **_LENA),
        _record("r:2", "Fischer", "Lena", **_LENA),
        True,
    ),
    (
        "a missing given name at one address",
        _record("l:3", "Thi", "Nguyen", **_THI),
        _record("r:3", None, "Nguyen", **_THI),
        True,
    ),
    (
        "one email and name, a street typo",
        _record("l:4", "Maria", "Gonzalez", street="200 Main St", **_MARIA),
        _record("r:4", "Maria", "Gonzalez", street="200 Mian St", **_MARIA),
        True,
    ),
    (
        "relatives at one address",
        _record("l:5", "Oliver", "Hughes", **_OLIVER),
        _record("r:5", "Amelia", "Hughes", **_OLIVER),
        False,
    ),
    (
        "namesakes in different cities",
        _record("l:6", "Oliver", "Hughes", **_OLIVER),
        _record("r:6", "Oliver", "Hughes", street="2 Station Lane", city="Leeds", postal_code="LS1 4DY", country="GB"),
        False,
    ),
)


def _weight(level: dict[str, Any]) -> float | None:
    m, u = level.get("m_probability"), level.get("u_probability")
    if not m or not u:
        return None
    return math.log2(m / u)


def ordering_problems(model: dict[str, Any]) -> list[str]:
    """Comparisons whose exact level is not evidence for a match, or whose "else" level is not
    evidence against one."""
    problems = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        exact, other = _weight(levels[0]), _weight(levels[-1])
        if exact is None or exact <= 0:
            problems.append(f"{name}: the exact level is not evidence for a match (weight {exact})")
        if other is None or other >= 0:
            problems.append(f"{name}: disagreement is not evidence against a match (weight {other})")
    return problems


def _neutral_term_frequencies(model: dict[str, Any]) -> dict[str, float]:
    """Each term-frequency column at the u of its own exact level, so the known pairs are scored
    as if their names and cities were of average frequency."""
    found: dict[str, float] = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and level.get("label_for_charts") == f"Exact match on {column}" and level.get("u_probability"):
                found[f"tf_{column}"] = level["u_probability"]
    return found


def _known_profiles() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The known pairs' records as profiles (standardized, with derived columns), left and right,
    each pair sharing its `profile_id`."""
    rows = [record for _, left, right, _ in KNOWN_PAIRS for record in (left, right)]
    filled = [{c: row.get(c) for c in COLUMNS} for row in rows]
    for n, row in enumerate(filled):
        row["source"], row["source_id"] = row["record_key"].split(":")
        row["created_at"] = datetime(2026, 1, 1) + timedelta(minutes=n)
    schema = pa.schema([pa.field(c, pa.timestamp("us") if c == "created_at" else pa.string()) for c in COLUMNS])
    with DuckDBLimits.from_env().scratch_connection() as con:
        con.register("records", standardize(pa.Table.from_pylist(filled, schema=schema)))
        profiles(con)
        # Identical records are one profile: look each record's profile up, not its first record.
        found = con.sql("select rp.record_key, p.* from record_profiles rp join profiles p using (profile_id)")
        names = [d[0] for d in found.description]
        by_record = {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in found.fetchall()}
    left, right = [], []
    for pair, (_, one, two, _) in enumerate(KNOWN_PAIRS):
        left.append({**by_record[one["record_key"]], "profile_id": pair})
        right.append({**by_record[two["record_key"]], "profile_id": pair})
    return left, right


def known_pair_problems(model: dict[str, Any], match_probability: float) -> list[str]:
    """Known pairs the model puts on the wrong side of the threshold (a link also needs the
    names to agree, as in prediction)."""
    tf = _neutral_term_frequencies(model)
    left, right = _known_profiles()
    left, right = [{**row, **tf} for row in left], [{**row, **tf} for row in right]
    with DuckDBLimits.from_env().scratch_connection() as con:
        scored = compare_records(
            left, right, model, DuckDBAPI(connection=con), join_condition="l.profile_id = r.profile_id"
        )
        rows = con.sql(
            f"select profile_id_l, match_probability, mw_{NAME_COMPARISON} from {scored.physical_name}"
        ).fetchall()
    problems = []
    for pair, probability, name_weight in sorted(rows):
        why, _, _, same = KNOWN_PAIRS[pair]
        linked = probability >= match_probability and name_weight > 0
        if linked != same:
            verdict = "kept apart" if same else "linked"
            problems.append(f"{why}: {verdict} (match probability {probability:.4f})")
    return problems


def model_problems(model: dict[str, Any], match_probability: float) -> list[str]:
    """Everything wrong with `model` (empty when it may link)."""
    return ordering_problems(model) + known_pair_problems(model, match_probability)
