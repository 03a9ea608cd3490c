"""The classifier interface routing depends on, and the text features of the offline model.

Routing only needs a label with a confidence and the model that produced it, so any source of
guesses (the shipped offline model, an OpenAI-compatible endpoint, a future vendor) fits behind
`Classifier.predict`. A guess below the configured confidence is not used: the person waits in
the default queue, with the confidence in the reason.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TextRecord:
    """What a person's records say in free text: the evidence a classifier reads."""

    company: str | None = None
    email_domain: str | None = None
    title: str | None = None
    website: str | None = None


@dataclass(frozen=True)
class Classification:
    label: str | None
    confidence: float
    model_version: str


class Classifier(Protocol):
    """Returns one classification per record, in order; `label` None when it cannot say."""

    def predict(self, records: Sequence[TextRecord]) -> list[Classification]: ...


class ClassifierError(RuntimeError):
    """The classifier could not answer (endpoint down, malformed model): a one-line reason."""


_WORD = re.compile(r"[a-z0-9]+")


def tokens(record: TextRecord) -> list[str]:
    """Field-tagged tokens: words of the company name and title, the domain, its top-level label
    (".edu", ".gov" say a lot) and its words, and character 4-grams of the domain's name
    (domains run words together: "wayneoscorp")."""
    out: list[str] = []
    for tag, text in (("c", record.company), ("t", record.title)):
        out.extend(f"{tag}:{w}" for w in _WORD.findall((text or "").lower()))
    for tag, raw in (("d", record.email_domain), ("w", _host(record.website))):
        domain = (raw or "").strip().lower()
        if not domain:
            continue
        out.append(f"{tag}:{domain}")
        name, _, top = domain.partition(".")
        if top:
            out.append(f"{tag}.top:{top.rpartition('.')[2]}")
        out.extend(f"{tag}:{w}" for w in _WORD.findall(name))
        padded = f"^{name}$"
        out.extend(f"{tag}4:{padded[i : i + 4]}" for i in range(max(len(padded) - 3, 1)))
    return out


def feature_index(token: str, n_features: int) -> int:
    """A stable bucket per token (crc32, not Python's salted hash), so a model trained once
    scores the same on every machine and run."""
    return zlib.crc32(token.encode()) % n_features


def _host(website: str | None) -> str | None:
    if not website:
        return None
    host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/")[0]
    return host.removeprefix("www.") or None
