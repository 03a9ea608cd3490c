"""The shipped offline classifier: a multinomial logistic regression over hashed text features,
trained by `bench/tools/train_industry_classifier.py` with scikit-learn and stored as JSON.

JSON of coefficients rather than a pickle (or skops): loading it executes no code and needs no
scikit-learn at run time (numpy does the arithmetic), a diff shows what changed, and the file
stays valid across scikit-learn versions. The metrics it was shipped with sit beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from silver.routing.classifier import Classification, ClassifierError, TextRecord, feature_index, tokens

DEFAULT_MODEL = Path(__file__).with_name("industry_model.json")


class OfflineTextClassifier:
    def __init__(self, model: dict, version: str) -> None:
        try:
            self.labels: list[str] = [str(label) for label in model["labels"]]
            self.n_features = int(model["n_features"])
            self.coef = np.asarray(model["coef"], dtype=np.float64)
            self.intercept = np.asarray(model["intercept"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ClassifierError(f"malformed classifier model: {exc}") from None
        if self.coef.shape != (len(self.labels), self.n_features) or self.intercept.shape != (len(self.labels),):
            raise ClassifierError(
                f"malformed classifier model: coef {self.coef.shape}, intercept {self.intercept.shape}, "
                f"{len(self.labels)} labels x {self.n_features} features expected"
            )
        self.model_version = version

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> OfflineTextClassifier:
        try:
            raw = path.read_bytes()
            model = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise ClassifierError(f"cannot read classifier model {path}: {exc}") from None
        return cls(model, f"{model.get('name', 'offline')}@{hashlib.sha256(raw).hexdigest()[:12]}")

    def predict(self, records: Sequence[TextRecord]) -> list[Classification]:
        if not records:
            return []
        features = vectorize(records, self.n_features)
        scores = np.asarray(features @ self.coef.T) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        probabilities = np.exp(scores)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        empty = features.getnnz(axis=1) == 0
        return [
            Classification(None, 0.0, self.model_version)
            if empty[i]
            else Classification(self.labels[best[i]], round(float(probabilities[i, best[i]]), 4), self.model_version)
            for i in range(len(records))
        ]


def vectorize(records: Sequence[TextRecord], n_features: int) -> sparse.csr_matrix:
    """Token counts per hashed bucket, each row scaled to unit length (what training saw).
    Sparse: a 100k-record batch is a few hundred thousand entries, not 100k x n_features."""
    rows: list[int] = []
    columns: list[int] = []
    for row, record in enumerate(records):
        for token in tokens(record):
            rows.append(row)
            columns.append(feature_index(token, n_features))
    counts = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, columns)), shape=(len(records), n_features), dtype=np.float64
    )
    counts.sum_duplicates()
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ counts)
