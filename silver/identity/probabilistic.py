"""Links for records that share no key: a Splink (Fellegi-Sunter) model over names, email,
phone, postal address and company, with graded (fuzzy) levels and term-frequency adjustment on
names and cities.

The model runs on distinct *profiles* (records with identical match keys are scored once: a
partner mailing one person twelve times is one profile), in an in-process DuckDB whatever the
warehouse, so both warehouses resolve identically.

Training cannot silently fail. The model starts from shipped parameters
(`default_model.json`, trained once on a generated world and reviewed), so data too small to
train still link. On enough data each training step (u by seeded sampling, m by expectation
maximisation per blocking rule) runs on a *fresh* linker built from the model so far, and its
result replaces the model only when it succeeded: Splink 5.0 drops the blocked-on comparisons
from a linker whose EM session found no pairs, and never puts them back. A trained model is
then checked (`model_check`: ordered evidence, known pairs) and, when it fails, replaced by the
shipped one. `MatchModel` says which model was used, each session's training pairs, what was
skipped and why a trained model was rejected.

An accepted trained model is kept between runs and used again while the data has not moved
much (`saved_model`): a reused model scores with the very parameters of the run that trained
it, so on the same records it makes the same links.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI
from splink.internals.exceptions import SplinkException

from silver.identity.deterministic import LINK_SCHEMA
from silver.identity.incremental import (
    PAIRS_SCHEMA,
    PredictionState,
    Previous,
    Scope,
    kept_pairs,
    probability_of,
    scope,
)
from silver.identity.model_check import model_problems
from silver.identity.phase_memory import phase
from silver.identity.profiles import profiles
from silver.identity.saved_model import SavedModel
from warehouse.duckdb_limits import DuckDBLimits, held_beside

MATCH_PROBABILITY = 0.995  # a false merge sends one person's score and tasks to another
MATCH_PROBABILITY_SETTING = "LEADLOOP_IDENTITY_MATCH_PROBABILITY"
BLOCKING_RULES_SETTING = "LEADLOOP_IDENTITY_BLOCKING_RULES"
MIN_TRAINING_PROFILES_SETTING = "LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES"
SEED = 7
# The least share of its limit identity's DuckDB is given, whatever the process holds beside it:
# on the 1M-lead warehouse beside the loop's 1.2 GB, a third of 3 GB (973 MiB) against half took
# resolution's peak 458 MB lower, in the same 105 s, to the same people.
IDENTITY_DUCKDB_FLOOR = 1 / 3
DEFAULT_MODEL = Path(__file__).with_name("default_model.json")
# Below this many profiles the shipped parameters are used as they are: EM on a few hundred
# pairs learns noise, and u sampled from a small population is mostly zeros.
MIN_TRAINING_PROFILES = 5_000
MIN_SESSION_PAIRS = 50  # an EM session with fewer blocked pairs is skipped
U_SAMPLED_PAIRS = 2e6  # random pairs u is estimated from
PROBABILITY_FLOOR = 1e-6  # the least m or u a level gets: "never seen" is not "impossible"
logger = logging.getLogger("leadloop")

# Prediction blocks: pairs sharing any of these column sets are compared. Several, each leaving
# other fields free, so one typo never keeps two records of a person apart.
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("postal_key",),
    # Family-name prefix and city (for a postcode with a typo), narrowed by the house number:
    # with the initial instead, this one block held two thirds of a 1M-record run's pairs.
    ("last_name_prefix", "city_key", "street_number"),
    # Given name and house number (for a family name with a typo), within a city: colleagues
    # share an office's street, and without the city this block held 3.2M pairs at 1M records.
    ("first_name_key", "street_number", "city_key"),
    ("phone_e164",),
    ("email_local",),
    ("company_key", "last_name_key"),
    ("company_key", "first_name_key"),
)
# EM sessions: each leaves different fields free. Names learn only among records sharing an
# email: under an address block, colleagues at one office would teach that names may disagree.
TRAINING_BLOCKS: dict[str, tuple[str, ...]] = {
    "m_by_email": ("email_key",),
    # Every comparison but email and company is trained above; email and company are trained here.
    # (Name and company, the earlier second block, drives an unseen postcode level to an m of
    # exactly 0, which Splink 5.0 refuses.)
    "m_by_name_and_postcode": ("first_name_key", "last_name_key", "postal_key"),
}
# How a link explains itself: comparison name → the column of its match-weight contribution.
EXPLAINED = {
    "name": "first_name_key_last_name_key",
    "email": "email_key",
    "phone": "phone_e164",
    "street": "street_key",
    "city": "city_key",
    "postal_code": "postal_key",
    "company": "company_key",
}


@dataclass(frozen=True)
class MatchConfig:
    """What an operator may tune: the match threshold and the prediction blocks."""

    match_probability: float = MATCH_PROBABILITY
    blocking_rules: tuple[tuple[str, ...], ...] = BLOCKING_RULES
    min_training_profiles: int = MIN_TRAINING_PROFILES
    training_blocks: tuple[tuple[str, tuple[str, ...]], ...] = tuple(TRAINING_BLOCKS.items())

    @classmethod
    def from_env(cls) -> MatchConfig:
        """`LEADLOOP_IDENTITY_MATCH_PROBABILITY` (a float), `LEADLOOP_IDENTITY_BLOCKING_RULES`
        (JSON: a list of column lists, e.g. `[["postal_key"], ["phone_e164"]]`) and
        `LEADLOOP_IDENTITY_MIN_TRAINING_PROFILES` (from how many profiles the model is trained
        rather than shipped; small worlds in tests train with it lowered) override the defaults."""
        threshold = os.environ.get(MATCH_PROBABILITY_SETTING)
        rules = os.environ.get(BLOCKING_RULES_SETTING)
        least = os.environ.get(MIN_TRAINING_PROFILES_SETTING, "").strip()
        if least and not (least.isdigit() and int(least) >= 2):
            raise ValueError(f"{MIN_TRAINING_PROFILES_SETTING}={least!r}: give a whole number of profiles, at least 2")
        return cls(
            match_probability=float(threshold) if threshold else MATCH_PROBABILITY,
            blocking_rules=tuple(tuple(rule) for rule in json.loads(rules)) if rules else BLOCKING_RULES,
            min_training_profiles=int(least) if least else MIN_TRAINING_PROFILES,
        )


@dataclass
class MatchModel:
    """Which model scored the pairs, and how it got its parameters (materialization metadata)."""

    # "default" (shipped parameters), "trained", "partly trained", or "reused" (a saved trained model)
    source: str = "default"
    profiles: int = 0
    training_pairs: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # step → why
    seconds: dict[str, float] = field(default_factory=dict)  # training, prediction
    rejected: list[str] = field(default_factory=list)  # why the trained model failed its check
    # The saved model this run used ("reused") or trained and passed its check (to keep): when it
    # was trained, and on how many profiles.
    saved: SavedModel | None = None
    retrained_because: str | None = None  # why a saved model was not used, when training ran
    # Which pairs were scored (every one, or those whose score may have moved: `incremental`), and
    # what this run keeps for the next.
    scope: Scope | None = None
    to_carry: PredictionState | None = None

    @property
    def to_keep(self) -> SavedModel | None:
        """The model this run trained and accepted, for the next runs to reuse."""
        return self.saved if self.source in ("trained", "partly trained") else None

    def as_metadata(self) -> dict[str, Any]:
        return {
            "model": self.source,
            "profiles": self.profiles,
            "model_trained_at": self.saved.trained_at.isoformat(timespec="seconds") if self.saved else None,
            "model_trained_on_profiles": self.saved.profiles if self.saved else None,
            "model_retrained_because": self.retrained_because,
            "training_pairs": self.training_pairs,
            "skipped_training": self.skipped,
            "rejected_trained_model": self.rejected,
            "model_seconds": self.seconds,
            "prediction": self.scope.as_metadata() if self.scope else None,
        }


def _graded(column: str, levels: list[Any]) -> cl.CustomComparison:
    return cl.CustomComparison(
        comparison_levels=[cll.NullLevel(column), *levels, cll.ElseLevel()], output_column_name=column
    )


def name_comparison() -> cl.CustomComparison:
    """Given and family name together: exact (TF on the full name) / swapped / both close by
    Jaro-Winkler / one side without a given name and the family names exact (TF) or close /
    family name exact but given names differ (relatives: evidence against) / given name exact /
    else. A missing given name is its own level, so it neither counts as a disagreement nor
    passes for a relative."""
    first, last = "first_name_key", "last_name_key"
    return cl.CustomComparison(
        output_column_name=f"{first}_{last}",
        comparison_levels=[
            cll.And(cll.NullLevel(first), cll.NullLevel(last)),
            cll.ExactMatchLevel("full_name_key").configure(tf_adjustment_column="full_name_key"),
            cll.ColumnsReversedLevel(first, last, symmetrical=True),
            cll.And(cll.JaroWinklerLevel(first, 0.92), cll.JaroWinklerLevel(last, 0.92)),
            cll.And(cll.JaroWinklerLevel(first, 0.88), cll.JaroWinklerLevel(last, 0.88)),
            cll.And(cll.NullLevel(first), cll.ExactMatchLevel(last)).configure(tf_adjustment_column=last),
            cll.And(cll.NullLevel(first), cll.JaroWinklerLevel(last, 0.92)),
            cll.ExactMatchLevel(last).configure(tf_adjustment_column=last),
            cll.ExactMatchLevel(first).configure(tf_adjustment_column=first),
            cll.ElseLevel(),
        ],
    )


def settings(config: MatchConfig = MatchConfig()) -> SettingsCreator:
    """The comparisons, each graded exact / close / else, with a missing value neutral."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        probability_two_random_records_match=1e-5,
        comparisons=[
            name_comparison(),
            _graded(
                "email_key",
                [
                    cll.ExactMatchLevel("email_key"),
                    cll.ExactMatchLevel("email_local"),  # work and personal address, same mailbox name
                    cll.DamerauLevenshteinLevel("email_local", 1),
                ],
            ),
            _graded("phone_e164", [cll.ExactMatchLevel("phone_e164"), cll.DamerauLevenshteinLevel("phone_e164", 1)]),
            _graded(
                "street_key",
                [
                    cll.ExactMatchLevel("street_key"),
                    cll.DamerauLevenshteinLevel("street_key", 1),
                    cll.JaroWinklerLevel("street_key", 0.9),
                ],
            ),
            _graded(
                "city_key",
                [
                    cll.ExactMatchLevel("city_key").configure(tf_adjustment_column="city_key"),
                    cll.JaroWinklerLevel("city_key", 0.9),
                ],
            ),
            _graded("postal_key", [cll.ExactMatchLevel("postal_key"), cll.DamerauLevenshteinLevel("postal_key", 1)]),
            cl.JaroWinklerAtThresholds("company_key", [0.95, 0.88]),
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in config.blocking_rules],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=[],
    )


def model_parameters(model: dict[str, Any]) -> dict[str, Any]:
    """The trained numbers of a Splink settings dict, by comparison and level label: what
    `default_model.json` holds."""
    return {
        "probability_two_random_records_match": model["probability_two_random_records_match"],
        "comparisons": {
            c["output_column_name"]: [
                {"label": level["label_for_charts"], "m": level.get("m_probability"), "u": level.get("u_probability")}
                for level in c["comparison_levels"]
                if not level.get("is_null_level")
            ]
            for c in model["comparisons"]
        },
    }


def with_parameters(model: dict[str, Any], parameters: dict[str, Any], only_missing: bool = False) -> dict[str, Any]:
    """`model` with the m and u of `parameters` wherever a comparison's level labels agree
    (`only_missing`: where `model` has none, e.g. a level training never saw)."""
    model = json.loads(json.dumps(model))
    if not only_missing:
        model["probability_two_random_records_match"] = parameters["probability_two_random_records_match"]
    for comparison in model["comparisons"]:
        known = parameters["comparisons"].get(comparison["output_column_name"])
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        if not known or [k["label"] for k in known] != [level["label_for_charts"] for level in levels]:
            logger.warning("identity: no shipped parameters for comparison %s", comparison["output_column_name"])
            continue
        for level, values in zip(levels, known, strict=True):
            for name in ("m", "u"):
                if values[name] is not None and not (only_missing and level.get(f"{name}_probability") is not None):
                    level[f"{name}_probability"] = values[name]
    return model


def loadable(model: dict[str, Any]) -> dict[str, Any]:
    """`model` with every m and u at least `PROBABILITY_FLOOR`: Splink writes a 0.0 it has
    estimated but refuses to load one."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for name in ("m_probability", "u_probability"):
                if level.get(name) is not None:
                    level[name] = max(level[name], PROBABILITY_FLOOR)
    return model


def default_model(config: MatchConfig = MatchConfig()) -> dict[str, Any]:
    """The settings with the shipped parameters."""
    base = settings(config).create_settings_dict(sql_dialect_str="duckdb")
    return loadable(with_parameters(base, json.loads(DEFAULT_MODEL.read_text())))


NO_GIVEN_NAME_LEVELS = {
    # level label → (P(family names agree this way | one person), | two people): the family name's
    # own evidence, which a missing given name neither adds to nor takes from.
    "(first_name_key is NULL) AND (Exact match on last_name_key)": (0.95, None),
    "(first_name_key is NULL) AND (Jaro-Winkler distance of last_name_key >= 0.92)": (0.03, 0.001),
}


def with_missing_given_names(model: dict[str, Any], con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """A missing given name is neutral: the levels "no given name, family name agrees" get m and u
    in proportion to how often a given name is missing in these profiles, so their weight is the
    family name's alone, however common missing given names are (a fixed m would call them
    evidence where they are rare and against where they are common)."""
    share = con.sql(
        "select avg(case when first_name_key is null and last_name_key is not null then 1.0 else 0 end) from profiles"
    ).fetchall()[0][0]
    if not share:
        return model
    either_side = min(1.0, 2 * share)
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] != EXPLAINED["name"]:
            continue
        levels = {level["label_for_charts"]: level for level in comparison["comparison_levels"]}
        surname_u = levels["Exact match on last_name_key"].get("u_probability") or 0.02
        for label, (m, u) in NO_GIVEN_NAME_LEVELS.items():
            levels[label]["m_probability"] = max(PROBABILITY_FLOOR, either_side * m)
            levels[label]["u_probability"] = max(PROBABILITY_FLOOR, either_side * (u or surname_u))
    return model


def _block_pairs(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...]) -> int:
    """How many profile pairs share every column of `columns` (none null)."""
    present = " and ".join(f"{c} is not null" for c in columns)
    return int(
        con.sql(
            f"select coalesce(sum(n * (n - 1) // 2), 0) from"
            f" (select count(*) as n from profiles where {present} group by {', '.join(columns)})"
        ).fetchall()[0][0]
    )


def training_fingerprint(config: MatchConfig) -> str:
    """What a trained model depends on besides the data: the comparisons and blocks, the
    threshold its check used, the training sessions, the shipped parameters it starts from and
    falls back to, and the training's own constants. A model trained under another fingerprint
    is not reused."""
    parts = {
        "settings": settings(config).create_settings_dict(sql_dialect_str="duckdb"),
        "config": asdict(config),
        "shipped": json.loads(DEFAULT_MODEL.read_text()),
        "constants": [SEED, MIN_SESSION_PAIRS, PROBABILITY_FLOOR, U_SAMPLED_PAIRS],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _reuse(
    saved: SavedModel, con: duckdb.DuckDBPyConnection, config: MatchConfig
) -> tuple[dict[str, Any] | None, MatchModel | None]:
    """The saved model and its report when it may score these profiles, else (None, None).

    The missing-given-name levels are set again from these profiles, as training set them from
    its own (on the same records, the same numbers): they follow how common a missing given name
    is, which a day's records can change where the population's agreement rates do not."""
    count = int(con.sql("select count(*) from profiles").fetchall()[0][0])
    if count < config.min_training_profiles:
        return None, None  # what training does below that: the shipped model, as before
    if saved.why_not_reusable(count, training_fingerprint(config), splink.__version__) is not None:
        return None, None
    model = loadable(with_missing_given_names(json.loads(saved.model_json), con))
    return model, MatchModel(source="reused", profiles=count, saved=saved)


def train(db_api: DuckDBAPI, con: duckdb.DuckDBPyConnection, config: MatchConfig) -> tuple[dict[str, Any], MatchModel]:
    """The model to predict with, and how it was made.

    Starts from the shipped parameters; on enough data, each step runs on a fresh linker built
    from the model so far, and replaces it only when it succeeded, so a failed or empty session
    leaves the model as it was.
    """
    model = default_model(config)
    report = MatchModel(profiles=int(con.sql("select count(*) from profiles").fetchall()[0][0]))
    if report.profiles < config.min_training_profiles:
        report.skipped["all"] = f"{report.profiles} profiles, fewer than {config.min_training_profiles}"
        return with_missing_given_names(model, con), report

    def attempt(name: str, step: Any, fresh_m: bool = False) -> None:
        nonlocal model
        start = model
        if fresh_m:
            # EM starts from Splink's own starting m: from a finished model's, a level no
            # blocked pair reaches is driven to exactly 0, which Splink 5.0 then refuses.
            start = json.loads(json.dumps(model))
            for comparison in start["comparisons"]:
                for level in comparison["comparison_levels"]:
                    level.pop("m_probability", None)
        linker = Linker(db_api.register("profiles"), start, log_level=logging.ERROR)
        started = time.perf_counter()
        try:
            step(linker)
        # SplinkException: a block without pairs; ValueError: a parameter EM drove below what
        # Splink accepts. Either way the session taught nothing the model may keep.
        except (SplinkException, ValueError, duckdb.Error) as exc:
            reason = str(exc).splitlines()[0]
            logger.warning("identity: Splink training step %s skipped: %s", name, reason)
            report.skipped[name] = reason
            return
        report.seconds[name] = round(time.perf_counter() - started, 2)
        trained = linker.misc.save_model_to_json()
        # Comparisons the session blocked on (and levels it never saw) keep the model's numbers.
        model = loadable(with_parameters(trained, model_parameters(model), only_missing=True))

    shared_emails = _block_pairs(con, ("email_key",))
    if shared_emails:  # no match to count: the prior stays where it was, not at zero
        attempt(
            "match_rate",
            lambda linker: linker.training.estimate_probability_two_random_records_match(
                [block_on("email_key")], recall=0.8
            ),
        )
    else:
        report.skipped["match_rate"] = "no two profiles share an email"
    attempt("u", lambda linker: linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLED_PAIRS, seed=SEED))
    for name, columns in config.training_blocks:
        pairs = _block_pairs(con, columns)
        report.training_pairs[name] = pairs
        if pairs < MIN_SESSION_PAIRS:
            report.skipped[name] = f"{pairs} training pairs, fewer than {MIN_SESSION_PAIRS}"
            continue
        attempt(
            name,
            lambda linker, columns=columns: linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns)
            ),
            fresh_m=True,
        )
    trained = len(config.training_blocks) + 2 - len(report.skipped)
    report.source = "trained" if not report.skipped else "partly trained" if trained else "default"
    # A level no training pair reached keeps the shipped numbers rather than none.
    model = with_parameters(model, json.loads(DEFAULT_MODEL.read_text()), only_missing=True)
    model = loadable(with_missing_given_names(model, con))
    if report.source == "default":
        return model, report
    started = time.perf_counter()
    report.rejected = model_problems(model, config.match_probability)
    report.seconds["check"] = round(time.perf_counter() - started, 2)
    if report.rejected:
        # EM converged somewhere wrong: the reviewed shipped parameters are the safer model.
        logger.warning("identity: trained model rejected, shipped model used: %s", "; ".join(report.rejected))
        report.source = "default"
        model = with_missing_given_names(default_model(config), con)
    return model, report


def probabilistic_links(
    con: duckdb.DuckDBPyConnection,
    records: str = "records",
    config: MatchConfig | None = None,
    saved: SavedModel | None = None,
    retrain_reason: str | None = None,
    previous: Previous = None,
    limits: DuckDBLimits | None = None,
) -> tuple[pa.Table, MatchModel]:
    """Links between records the model matches at the configured probability or above, one per
    matched pair of profiles (profile's first record to profile's first record), with the match
    weight and the comparisons that spoke for it; and the model that scored them.

    `saved` (the last accepted trained model) is used instead of training when it may be
    (`SavedModel.why_not_reusable`); `retrain_reason` says why none was offered (a full run).
    `previous`, what the last run kept, lets this one score only the pairs whose score may have
    moved (`incremental`): the same links as scoring every pair. `limits`, the share `con` was
    opened with, is taken again before scoring, less what the process holds beside it by then."""
    config = config or MatchConfig.from_env()
    profiles(con, records)
    db_api = DuckDBAPI(connection=con)
    started = time.perf_counter()
    model, report = _reuse(saved, con, config) if saved is not None else (None, None)
    if model is None or report is None:
        with phase("training"):
            model, report = train(db_api, con, config)
        if report.source in ("trained", "partly trained"):
            report.saved = SavedModel(
                model_json=json.dumps(model),
                trained_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
                profiles=report.profiles,
                training_fingerprint=training_fingerprint(config),
                splink_version=splink.__version__,
                source=report.source,
            )
        if report.profiles >= config.min_training_profiles:
            report.retrained_because = retrain_reason or (
                "no saved model"
                if saved is None
                else saved.why_not_reusable(report.profiles, training_fingerprint(config), splink.__version__)
            )
        report.seconds["training"] = round(time.perf_counter() - started, 2)
    else:
        report.seconds["reuse"] = round(time.perf_counter() - started, 2)
    if report.profiles < 2:
        return LINK_SCHEMA.empty_table(), report
    started = time.perf_counter()
    # The last run's pairs and profiles are read here and let go once the pairs are chosen: held
    # through scoring (at 1M leads ~250 MB beside a DuckDB already at its floor), they raised
    # identity's peak by as much.
    with phase("pairs to score"):
        state = previous() if callable(previous) else previous
        report.scope = chosen = scope(con, model, config.match_probability, state)
        del state
    if limits is not None:
        tighter = limits.less(held_beside(con), at_least=IDENTITY_DUCKDB_FLOOR)
        con.execute(f"set memory_limit = '{tighter.memory_limit}'")
    blocks = [{"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in chosen.rules]
    linker = Linker(
        db_api.register("profiles"),
        {**model, "blocking_rules_to_generate_predictions": blocks},
        log_level=logging.ERROR,
    )
    # Scored down to the band, kept for the next run; links are the pairs at the threshold.
    with phase("prediction"):
        predictions = linker.inference.predict(threshold_match_probability=probability_of(chosen.band_bits))
    report.seconds["prediction"] = round(time.perf_counter() - started, 2)
    predicted_columns = {row[0] for row in con.sql(f"describe {predictions.physical_name}").fetchall()}
    if f"mw_{EXPLAINED['name']}" not in predicted_columns:  # no pair was blocked: nothing to link
        report.to_carry = PredictionState(json.dumps(model), chosen.ceiling_bits, PAIRS_SCHEMA.empty_table())
        return LINK_SCHEMA.empty_table(), report
    carried = kept_pairs(con, predictions.physical_name)
    chosen.scored_pairs = carried.num_rows
    report.to_carry = PredictionState(json.dumps(model), chosen.ceiling_bits, carried)
    # Each comparison's share of the match weight: the fields that spoke for the match.
    agreed = " || ".join(
        f"case when p.mw_{column} > 0 then '{name},' else '' end" for name, column in EXPLAINED.items()
    )
    links = con.sql(
        f"""
        select l.first_record_key as record_key_l, r.first_record_key as record_key_r,
               'splink' as rule, p.match_weight, p.match_probability, rtrim({agreed}, ',') as agreed_on
        from {predictions.physical_name} p
        join profiles l on l.profile_id = p.profile_id_l
        join profiles r on r.profile_id = p.profile_id_r
        -- Colleagues share an office's street, switchboard and company: fields that agree
        -- together, against the model's independence assumption. A link needs the names too.
        where p.mw_{EXPLAINED["name"]} > 0 and p.match_probability >= {config.match_probability!r}
        """
    ).to_arrow_table()
    return links.cast(LINK_SCHEMA), report


def profile_links(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Records that share a profile, linked to the profile's first record."""
    return (
        con.sql(
            """
        select p.first_record_key as record_key_l, rp.record_key as record_key_r, 'same_profile' as rule,
               cast(null as double) as match_weight, 1.0 as match_probability, 'all match keys' as agreed_on
        from record_profiles rp join profiles p using (profile_id)
        where rp.record_key <> p.first_record_key
        """
        )
        .to_arrow_table()
        .cast(LINK_SCHEMA)
    )
