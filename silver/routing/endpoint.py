"""An OpenAI-compatible chat-completions endpoint as the classifier, configured by env vars:
`LEADLOOP_CLASSIFIER_URL` (the API base, e.g. https://host/v1), `LEADLOOP_CLASSIFIER_API_KEY`
and `LEADLOOP_CLASSIFIER_MODEL`. The model is asked for one JSON object per record, constrained
to the known labels; an answer outside them, or unparsable, is "unknown" with confidence 0 —
routing then queues the person rather than trusting a free-form guess."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import requests

from silver.routing.classifier import Classification, ClassifierError, TextRecord

URL_ENV = "LEADLOOP_CLASSIFIER_URL"
KEY_ENV = "LEADLOOP_CLASSIFIER_API_KEY"
MODEL_ENV = "LEADLOOP_CLASSIFIER_MODEL"


class EndpointClassifier:
    def __init__(
        self, base_url: str, labels: Sequence[str], *, api_key: str = "", model: str = "default", timeout: float = 20
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.labels = list(labels)
        self.api_key = api_key
        self.model = model
        self.timeout = timeout
        self.model_version = f"endpoint:{model}"
        self.session = requests.Session()

    @classmethod
    def from_env(cls, labels: Sequence[str]) -> EndpointClassifier | None:
        """The configured endpoint, or None when LEADLOOP_CLASSIFIER_URL is unset."""
        url = os.environ.get(URL_ENV, "").strip()
        if not url:
            return None
        return cls(url, labels, api_key=os.environ.get(KEY_ENV, ""), model=os.environ.get(MODEL_ENV, "default"))

    def predict(self, records: Sequence[TextRecord]) -> list[Classification]:
        return [self._one(record) for record in records]

    def _one(self, record: TextRecord) -> Classification:
        prompt = (
            "Classify the company's industry. Answer with JSON only: "
            '{"label": <one of ' + json.dumps(self.labels) + ' or null>, "confidence": <0..1>}.\n'
            f"Company: {record.company or ''}\nEmail domain: {record.email_domain or ''}\n"
            f"Title: {record.title or ''}\nWebsite: {record.website or ''}"
        )
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = self.session.post(
                self.url,
                json={"model": self.model, "temperature": 0, "messages": [{"role": "user", "content": prompt}]},
                headers=headers,
                timeout=self.timeout,
            )
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except requests.RequestException as exc:
            raise ClassifierError(f"classifier endpoint {self.url} failed: {type(exc).__name__}") from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise ClassifierError(f"classifier endpoint {self.url} sent no chat completion") from None
        return self._parse(content)

    def _parse(self, content: str) -> Classification:
        try:
            answer = json.loads(content.strip().removeprefix("```json").removesuffix("```"))
            label, confidence = answer.get("label"), float(answer.get("confidence", 0))
        except (ValueError, TypeError, AttributeError):
            return Classification(None, 0.0, self.model_version)
        if label not in self.labels or not 0 <= confidence <= 1:
            return Classification(None, 0.0, self.model_version)
        return Classification(str(label), round(confidence, 4), self.model_version)
