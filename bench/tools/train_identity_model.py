"""Trains the shipped identity model (`silver/identity/default_model.json`) on a generated world.

The shipped parameters are what identity resolution uses when its input is too small to train
on (and where a training session finds no pairs). They are trained once here, on a world of
the generator's noise, and reviewed in the diff before they are committed; run again after a
change to the comparisons. Prints the training report as JSON.

Usage: python bench/tools/train_identity_model.py [--leads N] [--write]
"""

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
from harness import generate, load_people_sources  # noqa: E402
from splink.backends.duckdb import DuckDBAPI  # noqa: E402

from silver.identity.probabilistic import DEFAULT_MODEL, MatchConfig, model_parameters, profiles, train  # noqa: E402
from silver.identity.records import records_sql  # noqa: E402
from silver.identity.standardize import standardize  # noqa: E402
from warehouse import Warehouse  # noqa: E402

# Levels no training pair of the generated world reaches keep these reviewed numbers (m, u):
# a slip is far likelier between two records of one person than between strangers, and rarer
# than exact agreement. Written into the file only where training left a level without one.
REVIEWED = {
    # Same family name, another given name: relatives far more often than one person.
    ("first_name_key_last_name_key", "Exact match on last_name_key"): {"m": 0.002},
    # A record without a given name: as common among one person's records as the lists that
    # drop it (about one in a hundred).
    ("first_name_key_last_name_key", "(first_name_key is NULL) AND (Exact match on last_name_key)"): {
        "m": 0.01,
        "u": 2e-4,
    },
    (
        "first_name_key_last_name_key",
        "(first_name_key is NULL) AND (Jaro-Winkler distance of last_name_key >= 0.92)",
    ): {"m": 0.001, "u": 2e-5},
    ("phone_e164", "Damerau-Levenshtein distance of phone_e164 <= 1"): {"m": 0.002, "u": 1e-5},
    ("postal_key", "Damerau-Levenshtein distance of postal_key <= 1"): {"m": 0.01, "u": 4e-4},
    ("company_key", "Jaro-Winkler distance of company_key >= 0.95"): {"m": 0.005, "u": 4e-5},
    ("company_key", "All other comparisons"): {"m": 0.05, "u": 0.99},
}


def with_reviewed(parameters: dict) -> dict:
    for comparison, levels in parameters["comparisons"].items():
        for level in levels:
            for name, value in REVIEWED.get((comparison, level["label"]), {}).items():
                if level[name] is None:
                    level[name] = value
    return parameters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_MODEL}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        generate(world, args.leads)
        warehouse = Warehouse.from_url(f"duckdb:///{tmp}/train.duckdb")
        load_people_sources(warehouse, world)
        records = standardize(warehouse.read_arrow(records_sql()))
    with duckdb.connect() as con:
        con.register("records", records)
        profiles(con)
        model, report = train(DuckDBAPI(connection=con), con, MatchConfig(min_training_profiles=0))
    parameters = with_reviewed(model_parameters(model))
    unset = [(c, lv["label"]) for c, ls in parameters["comparisons"].items() for lv in ls if None in (lv["m"], lv["u"])]
    if unset:
        raise SystemExit(f"levels without parameters, review and add to REVIEWED: {unset}")
    if args.write:
        DEFAULT_MODEL.write_text(json.dumps(parameters, indent=2) + "\n")
    print(json.dumps({"benchmark": "train_identity_model", "leads": args.leads, **report.as_metadata()}))


if __name__ == "__main__":
    main()
