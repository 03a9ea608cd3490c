"""Where the propensity model's AUC gap to the truth comes from, on a scored world (issue 17).

The generator's true P(convert) is sigmoid(-2.9 + 0.8 fit_z + 2.2 in_market + 0.3 noise)
(sandbox/intent.py); `truth/intent.csv` holds each person's fit and in-market bit. On the same
time-based holdout as the model's, this prints ROC-AUCs that split the gap:

- `true_propensity`: the truth itself (the issue's yardstick);
- `true_fit_and_in_market`: the truth without its noise term, the most fit and intent can give;
- `true_fit_only`: what fit alone gives;
- `observable_ceiling`: E[true propensity | the model's own features], learned by gradient
  boosting on the truth and cross-fitted (scoring_scale.observable_ceiling): the most any model
  on these features can reach;
- `true_fit_with_model_engagement`: the same with the generator's fit in place of the fit
  features: if it is no higher, the fit features lose nothing that matters;
- `model`: the propensity model as the pipeline trains it (scoring.propensity_model.train).

And how visible each part is: the cross-validated R² of the generator's fit from the fit features
(linear, as the logistic regression sees them), and the AUC with which the engagement features
tell who is in market. Reads the warehouse and `world/truth/` only; writes nothing.

Usage: python bench/propensity_ceiling.py [--data-dir data] [--gap-only]  (a scored world: `leadloop demo`;
       `--gap-only`: the model and the truth alone, for a 1M world)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scoring_scale import observable_ceiling, truth_propensity  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def person_keys(warehouse: Warehouse, truth_dir: Path) -> pd.Series:
    """person_id -> the true person most of their CRM records belong to."""
    keys = pd.concat(
        [
            pd.read_csv(truth_dir / name, usecols=[key, "person_key"], dtype=str)
            .rename(columns={key: "source_id"})
            .assign(source=source)
            for name, key, source in (
                ("leads.csv", "lead_id", "salesforce_lead"),
                ("contacts.csv", "contact_id", "salesforce_contact"),
                ("hubspot_contacts.csv", "contact_id", "hubspot_contact"),
            )
        ]
    ).drop_duplicates(["source", "source_id"])
    records = warehouse.read_arrow("select person_id, source, source_id from silver.identity_records").to_pandas()
    joined = records.merge(keys, on=["source", "source_id"])
    return joined.groupby("person_id")["person_key"].agg(lambda s: s.value_counts().index[0])


def cross_fitted(frame: pd.DataFrame, features: list[str], target: str, folds: int = 5) -> np.ndarray:
    """Out-of-fold gradient-boosting predictions of `target` (a regression; AUCs need ranks only)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    out = np.zeros(len(frame))
    for train_rows, test_rows in KFold(n_splits=folds, shuffle=True, random_state=0).split(frame):
        model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, min_samples_leaf=40, random_state=0)
        model.fit(frame.iloc[train_rows][features], frame.iloc[train_rows][target])
        out[test_rows] = model.predict(frame.iloc[test_rows][features])
    return out


def gap_only(data_dir: Path) -> dict[str, Any]:
    """The model against the truth on the model's own holdout, without the cross-fitted splits
    (fifteen gradient-boosting fits, most of an hour at 1M people): the issue's yardstick alone."""
    from scoring.propensity_features import read_people
    from scoring.propensity_model import GuardConfig, evaluate, time_split, train

    warehouse = Warehouse.from_url(f"duckdb:///{data_dir / 'warehouse.duckdb'}")
    people = read_people(warehouse)
    truth = truth_propensity(warehouse, data_dir / "world" / "truth")
    model = train(people, GuardConfig())
    _, holdout = time_split(people)
    known = holdout[holdout["person_id"].isin(truth.keys())]
    outcome = known["converted"].to_numpy()
    model_figures = evaluate(outcome, model.predict(known))
    true_figures = evaluate(outcome, known["person_id"].map(truth).to_numpy(float))
    return {
        "benchmark": "propensity_gap",
        "people": len(people),
        "holdout_rows": len(holdout),
        "holdout_with_truth": len(known),
        "holdout_positives": int(outcome.sum()),
        "model": model_figures,
        "true_propensity": true_figures,
        "rule_score": {"auc": evaluate(outcome, known["score"].to_numpy(float))["auc"]},
        "gap_model_to_truth": round(true_figures["auc"] - model_figures["auc"], 4),
    }


def figures(data_dir: Path) -> dict[str, Any]:
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    from sandbox import intent
    from scoring.propensity_features import feature_columns, read_people
    from scoring.propensity_model import GuardConfig, evaluate, time_split, train

    truth_dir = data_dir / "world" / "truth"
    warehouse = Warehouse.from_url(f"duckdb:///{data_dir / 'warehouse.duckdb'}")
    people = read_people(warehouse)
    parts = pd.read_csv(truth_dir / "intent.csv", dtype={"person_key": str})
    known = people.merge(person_keys(warehouse, truth_dir).rename("person_key"), left_on="person_id", right_index=True)
    known = known.merge(parts[["person_key", "fit", "in_market"]], on="person_key")
    truth = truth_propensity(warehouse, truth_dir)
    known["true_propensity"] = known["person_id"].map(truth)

    features = feature_columns(people)
    fit_features = [c for c in features if c.startswith(("fit:", "log:", "known:"))]
    engagement = [c for c in features if c.startswith("events:")] + ["engagement_score"]
    z = (known["fit"] - intent.FIT_MEAN) / intent.FIT_SD
    known["true_fit_only"] = z
    known["true_fit_and_in_market"] = intent.FIT_WEIGHT * z + intent.IN_MARKET_WEIGHT * known["in_market"]
    known["observable_ceiling"] = known["person_id"].map(observable_ceiling(people, truth))
    known["true_fit_with_model_engagement"] = cross_fitted(known, ["fit", *engagement], "true_propensity")
    model = train(people, GuardConfig())
    known["model"] = model.predict(known)

    _, holdout = time_split(known)
    outcome = holdout["converted"].to_numpy()
    columns = (
        "true_propensity",
        "true_fit_and_in_market",
        "observable_ceiling",
        "true_fit_with_model_engagement",
        "model",
        "true_fit_only",
    )
    aucs = {c: evaluate(outcome, holdout[c].to_numpy(float))["auc"] for c in columns}
    linear = cross_val_predict(LinearRegression(), known[fit_features], known["fit"], cv=5)
    in_market_seen = cross_fitted(known, engagement, "in_market")
    engaged, market = known["engagement_score"] > 0, known["in_market"] == 1
    return {
        "benchmark": "propensity_ceiling",
        "people": len(people),
        "people_with_truth": len(known),
        "holdout_rows": len(holdout),
        "holdout_positives": int(outcome.sum()),
        "holdout_auc": aucs,
        "gap_model_to_truth": round(aucs["true_propensity"] - aucs["model"], 4),
        "gap_ceiling_to_truth": round(aucs["true_propensity"] - aucs["observable_ceiling"], 4),
        "gap_model_to_ceiling": round(aucs["observable_ceiling"] - aucs["model"], 4),
        "fit_r2_from_fit_features_linear": round(
            float(1 - np.mean((linear - known["fit"]) ** 2) / known["fit"].var(ddof=0)), 3
        ),
        "in_market_auc_from_engagement_features": round(float(roc_auc_score(known["in_market"], in_market_seen)), 3),
        "in_market_share": round(float(known["in_market"].mean()), 3),
        "in_market_with_any_engagement": round(float(engaged[market].mean()), 3),
        "others_with_any_engagement": round(float(engaged[~market].mean()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", type=Path, help="a scored world (leadloop demo)")
    parser.add_argument("--gap-only", action="store_true", help="only the model's and the truth's AUCs (fast at 1M)")
    args = parser.parse_args()
    if not (args.data_dir / "world" / "truth" / "intent.csv").is_file():
        raise SystemExit(f"no truth/intent.csv under {args.data_dir}/world: regenerate the world (demo --fresh)")
    print(json.dumps(gap_only(args.data_dir) if args.gap_only else figures(args.data_dir)), flush=True)


if __name__ == "__main__":
    main()
