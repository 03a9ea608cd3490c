"""The propensity gap on either side of a person-key boundary, on a scored world (issue 17).

Until issue 17's fix the generator gave web events, product use and partner mail only to the
first 20,000 people by key (sandbox/daily_sources.py), so in a bigger world most people could
show no intent at all while their true propensity carried it. Keys are drawn independently of
everything else, so the two sides are random halves of one population: a model-to-truth gap
that differs between them is what the sources reach, not who the people are. On the same
time-based holdout as the model's, per side: the AUC of the true propensity, the observable
ceiling (bench/scoring_scale.py), the model as the pipeline trains it, the generator's fit
alone and the rule score, and the share of people with any engagement.
Reads the warehouse and `world/truth/` only; writes nothing.

Usage: python bench/tools/propensity_by_person_key.py DATA_DIR [--first 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.propensity_ceiling import person_keys  # noqa: E402
from bench.scoring_scale import observable_ceiling, truth_propensity  # noqa: E402
from warehouse import Warehouse  # noqa: E402

COLUMNS = ("truth", "observable_ceiling", "model", "true_fit_only", "rule_score")


def figures(data_dir: Path, first: int) -> dict[str, Any]:
    from scoring.propensity_features import read_people
    from scoring.propensity_model import GuardConfig, evaluate, time_split, train

    truth_dir = data_dir / "world" / "truth"
    warehouse = Warehouse.from_url(f"duckdb:///{data_dir / 'warehouse.duckdb'}")
    people = read_people(warehouse)
    parts = pd.read_csv(truth_dir / "intent.csv", dtype={"person_key": str})
    inside = set(sorted(parts["person_key"])[:first])
    known = people.merge(person_keys(warehouse, truth_dir).rename("person_key"), left_on="person_id", right_index=True)
    known = known.merge(parts[["person_key", "fit", "in_market"]], on="person_key")
    truth = truth_propensity(warehouse, truth_dir)
    known["truth"] = known["person_id"].map(truth)
    known["observable_ceiling"] = known["person_id"].map(observable_ceiling(people, truth))
    model = train(people, GuardConfig())
    known["model"] = model.predict(known)
    known["true_fit_only"] = known["fit"]
    known["rule_score"] = known["score"]
    _, holdout = time_split(known)
    first_keys = holdout["person_key"].isin(inside)
    out: dict[str, Any] = {
        "benchmark": "propensity_by_person_key",
        "people": len(people),
        "first_keys": first,
        "model_holdout_metrics": model.metrics,
    }
    for name, part in (("all", holdout), ("first_keys", holdout[first_keys]), ("other_keys", holdout[~first_keys])):
        outcome = part["converted"].to_numpy()
        aucs = {c: evaluate(outcome, part[c].to_numpy(float))["auc"] for c in COLUMNS}
        out[name] = {
            "holdout_rows": len(part),
            "holdout_positives": int(outcome.sum()),
            "auc": aucs,
            "gap_model_to_truth": round(aucs["truth"] - aucs["model"], 4),
            "gap_ceiling_to_truth": round(aucs["truth"] - aucs["observable_ceiling"], 4),
            "any_engagement_share": round(float((part["engagement_score"] > 0).mean()), 3),
            "in_market_share": round(float(part["in_market"].mean()), 3),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="a scored world (leadloop demo --data-dir)")
    parser.add_argument("--first", type=int, default=20_000, help="people in the first part, by person key")
    args = parser.parse_args()
    print(json.dumps(figures(args.data_dir, args.first)), flush=True)


if __name__ == "__main__":
    main()
