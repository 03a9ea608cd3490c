"""Trains the shipped industry classifier (`silver/routing/industry_model.json`) on a generated
world and writes its held-out metrics beside it (`industry_model_metrics.json`).

Labelled records are the world's Salesforce leads that name their industry; one in five
(seeded) is held out and never trained on. The generated world draws each company's industry
independently of its name, so what the model can learn there is the company itself (its
domain and name, from colleagues whose records are labelled); the metrics say how much of the
held-out accuracy comes from companies seen in training. scikit-learn fits the model (dev
dependency); the model is stored as JSON coefficients and scored with numpy at run time.

Usage: python bench/tools/train_industry_classifier.py [--leads N] [--seed S] [--write]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from sandbox.generator import generate_world  # noqa: E402
from silver.routing.classifier import TextRecord  # noqa: E402
from silver.routing.offline import DEFAULT_MODEL, OfflineTextClassifier, vectorize  # noqa: E402

N_FEATURES = 2**12
HOLDOUT_SHARE = 0.2


def labelled_records(world: Path) -> tuple[list[TextRecord], list[str]]:
    """Every lead that names its industry, as the classifier would see it."""
    conn = sqlite3.connect(world / "salesforce.sqlite")
    try:
        rows = conn.execute(
            'select "Company", "Email", "Title", "Industry" from "Lead" where "Industry" is not null order by "Id"'
        ).fetchall()
    finally:
        conn.close()
    records = [
        TextRecord(company=company, email_domain=(email or "").strip().lower().rpartition("@")[2] or None, title=title)
        for company, email, title, _ in rows
    ]
    return records, [industry for *_, industry in rows]


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(n * (1 - HOLDOUT_SHARE))
    return np.sort(order[:cut]), np.sort(order[cut:])


def train(records: list[TextRecord], labels: list[str]) -> dict:
    features = vectorize(records, N_FEATURES)
    fitted = LogisticRegression(C=20.0, max_iter=300).fit(features, labels)
    return {
        "name": "industry-text-logreg",
        "labels": [str(label) for label in fitted.classes_],
        "n_features": N_FEATURES,
        "intercept": [round(float(v), 4) for v in fitted.intercept_],
        "coef": [[round(float(v), 4) for v in row] for row in fitted.coef_],
    }


def evaluate(
    model: dict, records: list[TextRecord], labels: list[str], seen_companies: set[str], min_confidence: float
) -> dict:
    classifier = OfflineTextClassifier(model, "candidate")
    predictions = classifier.predict(records)
    correct = np.array([p.label == label for p, label in zip(predictions, labels, strict=True)])
    confident = np.array([p.confidence >= min_confidence for p in predictions])
    seen = np.array([(r.company or "") in seen_companies for r in records])
    return {
        "held_out_records": len(records),
        "accuracy": round(float(correct.mean()), 4),
        "accuracy_seen_companies": round(float(correct[seen].mean()), 4) if seen.any() else None,
        "accuracy_unseen_companies": round(float(correct[~seen].mean()), 4) if (~seen).any() else None,
        "share_seen_companies": round(float(seen.mean()), 4),
        "min_confidence": min_confidence,
        "share_confident": round(float(confident.mean()), 4),
        "accuracy_when_confident": round(float(correct[confident].mean()), 4) if confident.any() else None,
        "majority_class_share": round(max(labels.count(x) for x in set(labels)) / len(labels), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-confidence", type=float, default=0.6)
    parser.add_argument("--write", action="store_true", help="replace the shipped model and metrics")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = generate_world(Path(tmp) / "world", leads=args.leads, seed=args.seed) and Path(tmp) / "world"
        records, labels = labelled_records(world)
    train_idx, test_idx = split(len(records), args.seed)
    model = train([records[i] for i in train_idx], [labels[i] for i in train_idx])
    seen = {records[i].company or "" for i in train_idx}
    metrics = {
        "world": {"leads": args.leads, "seed": args.seed, "labelled_records": len(records)},
        "trained_on": len(train_idx),
        **evaluate(model, [records[i] for i in test_idx], [labels[i] for i in test_idx], seen, args.min_confidence),
    }
    if args.write:
        DEFAULT_MODEL.write_text(json.dumps(model, separators=(",", ":")) + "\n")
        metrics["model_version"] = OfflineTextClassifier.load().model_version
        DEFAULT_MODEL.with_name("industry_model_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
