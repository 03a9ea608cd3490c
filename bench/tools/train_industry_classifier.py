"""Trains the shipped industry classifier (`silver/routing/industry_model.json`) on a generated
world and writes its held-out metrics beside it (`industry_model_metrics.json`).

Labelled records are the world's Salesforce leads that name their industry. One company in five
(by a hash of its name) is held out with all its people, so the metrics say how the model does
on companies it has never seen, which is what routing asks of it. The regularization is chosen
by held-out log loss, so the confidences are honest: where the text carries no signal the model
says so with low confidence and routing queues the person instead of guessing. The generated
world's companies carry their industry the way real ones do, or do not (an industry word in the
name, a telling domain, industry departments in titles, a misleading name, nothing at all:
sandbox/industry_signal.py, with the kind in `truth/companies.csv`). scikit-learn fits the
model (dev dependency); it is stored as JSON coefficients and scored with numpy at run time.

Usage: python bench/tools/train_industry_classifier.py [--leads N] [--seed S] [--write]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402

from sandbox.generator import generate_world  # noqa: E402
from silver.routing.classifier import TextRecord  # noqa: E402
from silver.routing.offline import DEFAULT_MODEL, OfflineTextClassifier, vectorize  # noqa: E402

N_FEATURES = 2**14


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


def split(records: list[TextRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Whole companies in or out (a stable hash of the name), never a company on both sides."""
    held_out = np.array([zlib.crc32((r.company or "").lower().encode()) % 5 == 0 for r in records])
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def train(records: list[TextRecord], labels: list[str], held_out: list[TextRecord], held_labels: list[str]) -> dict:
    """The model whose regularization gives the lowest log loss on the held-out companies."""
    features, held_features = vectorize(records, N_FEATURES), vectorize(held_out, N_FEATURES)
    best = min(
        (LogisticRegression(C=c, max_iter=500).fit(features, labels) for c in (0.1, 1.0, 10.0, 100.0)),
        key=lambda fitted: log_loss(held_labels, fitted.predict_proba(held_features), labels=fitted.classes_),
    )
    return {
        "name": "industry-text-logreg",
        "regularization_c": best.C,
        "labels": [str(label) for label in best.classes_],
        "n_features": N_FEATURES,
        "intercept": [round(float(v), 4) for v in best.intercept_],
        "coef": [[round(float(v), 4) for v in row] for row in best.coef_],
    }


def evaluate(model: dict, records: list[TextRecord], labels: list[str], min_confidence: float) -> dict:
    classifier = OfflineTextClassifier(model, "candidate")
    predictions = classifier.predict(records)
    correct = np.array([p.label == label for p, label in zip(predictions, labels, strict=True)])
    confident = np.array([p.confidence >= min_confidence for p in predictions])
    return {
        "held_out_records": len(records),
        "accuracy": round(float(correct.mean()), 4),
        "regularization_c": model["regularization_c"],
        "min_confidence": min_confidence,
        "share_confident": round(float(confident.mean()), 4),
        "accuracy_when_confident": round(float(correct[confident].mean()), 4) if confident.any() else None,
        "majority_class_share": round(max(labels.count(x) for x in set(labels)) / len(labels), 4),
    }


def by_signal(
    model: dict, records: list[TextRecord], labels: list[str], kinds: list[str], min_confidence: float
) -> dict[str, dict[str, float | int]]:
    """Held-out records per kind of industry signal their company carries (truth/companies.csv,
    by company name; "[not provided]" for name-and-address lists): how many, how often right,
    how often confident. Where the text says nothing, "confident" should be rare."""
    predictions = OfflineTextClassifier(model, "candidate").predict(records)
    out: dict[str, dict[str, float | int]] = {}
    for kind in sorted(set(kinds)):
        rows = [(p, label) for p, label, k in zip(predictions, labels, kinds, strict=True) if k == kind]
        out[kind] = {
            "records": len(rows),
            "accuracy": round(sum(p.label == label for p, label in rows) / len(rows), 4),
            "share_confident": round(sum(p.confidence >= min_confidence for p, _ in rows) / len(rows), 4),
        }
    return out


def signal_kinds(world: Path, records: list[TextRecord]) -> list[str]:
    with open(world / "truth" / "companies.csv") as handle:
        kind_of = {row["name"]: row["industry_signal"] for row in csv.DictReader(handle)}
    return [kind_of.get(r.company or "", "[not provided]") for r in records]


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
        kinds = signal_kinds(world, records)
    train_idx, test_idx = split(records)
    held_out, held_labels = [records[i] for i in test_idx], [labels[i] for i in test_idx]
    model = train([records[i] for i in train_idx], [labels[i] for i in train_idx], held_out, held_labels)
    metrics = {
        "world": {"leads": args.leads, "seed": args.seed, "labelled_records": len(records)},
        "held_out": "companies (1 in 5, by name), all their people",
        "trained_on": len(train_idx),
        **evaluate(model, held_out, held_labels, args.min_confidence),
        "held_out_by_signal": by_signal(
            model, held_out, held_labels, [kinds[i] for i in test_idx], args.min_confidence
        ),
    }
    if args.write:
        DEFAULT_MODEL.write_text(json.dumps(model, separators=(",", ":")) + "\n")
        metrics["model_version"] = OfflineTextClassifier.load().model_version
        DEFAULT_MODEL.with_name("industry_model_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
