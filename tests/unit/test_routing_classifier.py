"""The routing classifier's interface: the shipped offline model, a hand-made model whose answer
is known, and an OpenAI-compatible endpoint played by a tiny local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from silver.routing.classifier import ClassifierError, TextRecord, feature_index, tokens
from silver.routing.endpoint import EndpointClassifier
from silver.routing.offline import OfflineTextClassifier

RECORDS = [
    TextRecord(company="Wayne Oscorp Inc", email_domain="wayneoscorp.com", title="VP Sales"),
    TextRecord(company="Initech Sun LLC", email_domain="initechsun.com", title=None),
    TextRecord(),
]


def test_the_shipped_model_labels_each_record_with_confidence_and_version():
    classifier = OfflineTextClassifier.load()
    first = classifier.predict(RECORDS)
    assert len(first) == len(RECORDS)
    for guess in first[:2]:
        assert guess.label in classifier.labels
        assert 0 < guess.confidence <= 1
        assert guess.model_version.startswith("industry-text-logreg@")
    # Nothing to read: no guess, not the majority class.
    assert (first[2].label, first[2].confidence) == (None, 0.0)
    assert classifier.predict(RECORDS) == first
    assert classifier.predict([]) == []


def test_the_shipped_model_reads_industry_words_and_is_unsure_without_them():
    """Trained on a world whose names, domains and titles carry the industry (or not): unseen
    companies that say their industry are labelled right and confidently (routing's floor is
    0.6, dbt var routing_min_confidence); ones that say nothing are left to the queue."""
    classifier = OfflineTextClassifier.load()
    telling = {
        "Healthcare": TextRecord(company="Larkspur Hospital", email_domain="larkspurhospital.org", title="Nurse"),
        "Government": TextRecord(company="Greenfield County", email_domain="greenfield.gov", title="Director of IT"),
        "Financial Services": TextRecord(company="Redwood Gamma LLC", email_domain="redwoodgamma-bank.com"),
        "Education": TextRecord(company="Redwood Gamma", email_domain="gmail.com", title="Consultant, Admissions"),
    }
    for label, guess in zip(telling, classifier.predict(list(telling.values())), strict=True):
        assert (guess.label, guess.confidence >= 0.6) == (label, True), guess
    silent = [
        TextRecord(company="Orchid Lantern Co", email_domain="orchidlantern.com", title="Consultant"),
        TextRecord(company="Northwind Trading", email_domain="northwind.com", title="Software Engineer"),
    ]
    assert all(guess.confidence < 0.6 for guess in classifier.predict(silent))


def test_a_hand_made_model_answers_what_its_weights_say():
    n = 4096
    coef = [[0.0] * n, [0.0] * n]
    coef[1][feature_index("c:bank", n)] = 8.0
    model = {
        "name": "tiny",
        "labels": ["Retail", "Financial Services"],
        "n_features": n,
        "coef": coef,
        "intercept": [0.2, 0.0],
    }
    classifier = OfflineTextClassifier(model, "tiny@1")
    bank, shop = classifier.predict([TextRecord(company="First Bank"), TextRecord(company="Corner Shop")])
    assert bank.label == "Financial Services" and bank.confidence > 0.9
    # Unknown words: only the intercepts speak, and they are unsure.
    assert shop.label == "Retail" and 0.5 < shop.confidence < 0.7
    assert "w4:^fir" in tokens(TextRecord(website="https://www.firstbank.com/about"))


def test_a_malformed_model_is_one_clear_error(tmp_path):
    with pytest.raises(ClassifierError, match="malformed classifier model"):
        OfflineTextClassifier({"labels": ["A"], "n_features": 4, "coef": [[1, 2]], "intercept": [0]}, "x")
    broken = tmp_path / "model.json"
    broken.write_text("{not json")
    with pytest.raises(ClassifierError, match="cannot read classifier model"):
        OfflineTextClassifier.load(broken)


class _FakeCompletions(BaseHTTPRequestHandler):
    answers: list[tuple[int, str]] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        status, content = type(self).answers.pop(0)
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_endpoint() -> Iterator[str]:
    _FakeCompletions.answers, _FakeCompletions.seen = [], []
    server = HTTPServer(("127.0.0.1", 0), _FakeCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_an_openai_compatible_endpoint_from_env(fake_endpoint, monkeypatch):
    monkeypatch.setenv("LEADLOOP_CLASSIFIER_URL", fake_endpoint)
    monkeypatch.setenv("LEADLOOP_CLASSIFIER_API_KEY", "k-123")
    monkeypatch.setenv("LEADLOOP_CLASSIFIER_MODEL", "small")
    classifier = EndpointClassifier.from_env(["Technology", "Retail"])
    assert classifier is not None
    _FakeCompletions.answers = [
        (200, '{"label": "Retail", "confidence": 0.83}'),
        (200, '{"label": "Astrology", "confidence": 0.99}'),
        (200, "I think it is retail"),
    ]
    good, invented, prose = classifier.predict(RECORDS)
    assert (good.label, good.confidence, good.model_version) == ("Retail", 0.83, "endpoint:small")
    # An answer outside the labels, or not JSON, is no answer: the person will be queued.
    assert (invented.label, invented.confidence) == (None, 0.0)
    assert (prose.label, prose.confidence) == (None, 0.0)
    request = _FakeCompletions.seen[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer k-123"
    assert request["body"]["model"] == "small"
    assert "wayneoscorp.com" in request["body"]["messages"][0]["content"]


def test_an_endpoint_that_fails_is_a_one_line_error(fake_endpoint, monkeypatch):
    monkeypatch.delenv("LEADLOOP_CLASSIFIER_URL", raising=False)
    assert EndpointClassifier.from_env(["Retail"]) is None
    _FakeCompletions.answers = [(500, "")]
    with pytest.raises(ClassifierError, match="failed: HTTPError"):
        EndpointClassifier(fake_endpoint, ["Retail"]).predict(RECORDS[:1])
