"""The trained match model kept between runs, so a day's run does not pay for training again.

Training (u by random sampling, m by EM sessions, the model check) was two thirds of
identity's time at 100k leads (29.8 of 44.3 s; at 10k, 26 of 29 s: u is sampled from 2e6 pairs
whatever the scale), and it learns *population* statistics: how often two random
people agree on a postcode, how often one person's records agree on a name. A day of new and
changed leads (about 1 % of them) does not move those. So the last accepted trained model is kept
in the warehouse (`silver.identity_match_model`, one row: the Splink model JSON and what it was
trained on) and used again while

- the match settings are the same (`training_fingerprint`: comparisons, blocks, threshold,
  training sessions, shipped parameters, seed),
- the Splink version is the same (a model JSON is read by the version that wrote it), and
- the profiles to score are within `REUSE_WITHIN` (10 %) of the number it was trained on, either
  way. One simulated day moved the profiles 2.6 % at 100k leads, so the model is trained about
  every four days; a model reused a day later linked as one trained on that day's records
  (precision 0.99931 both, recall 0.99512 against 0.99514, one record of 184,382 in another
  person: `bench/identity_resolution.py --drift-days 1`). The u of a level is a share of random
  pairs, so a population grown by a tenth moves it by at most about that much unless the
  newcomers differ from everyone before them (a new country, a new partner), and a change that
  large is exactly when the model should learn again. Shrinking by a tenth (a source dropped, a
  mass erasure) is the same kind of change.

Otherwise, and always on a full run (`leadloop demo --full`, run tag `leadloop/full_run=true`),
the model is trained again, and kept when it passed its check. A trained model the check
rejects is not kept: the last accepted one stays (the run itself used the shipped model).
Below `MIN_TRAINING_PROFILES` no training happens and nothing is kept or reused: the shipped
model is used, as before.

The row holds model parameters only (m and u per comparison level, the settings' SQL), no
record's values, so erasure has nothing to remove from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

SCHEMA = "silver"
TABLE = "identity_match_model"
REUSE_WITHIN = 0.10  # profiles may move this share of the training count, either way

ARROW_SCHEMA = pa.schema(
    [
        pa.field("model_json", pa.string()),
        pa.field("trained_at", pa.timestamp("us")),
        pa.field("profiles", pa.int64()),
        pa.field("training_fingerprint", pa.string()),
        pa.field("splink_version", pa.string()),
        pa.field("source", pa.string()),  # "trained" or "partly trained"
    ]
)


@dataclass(frozen=True)
class SavedModel:
    """An accepted trained model and what it was trained on."""

    model_json: str
    trained_at: datetime
    profiles: int
    training_fingerprint: str
    splink_version: str
    source: str

    def why_not_reusable(self, profiles: int, fingerprint: str, splink_version: str) -> str | None:
        """None when this model may score `profiles` profiles under these settings; else why not."""
        if fingerprint != self.training_fingerprint:
            return "the match settings changed since the model was trained"
        if splink_version != self.splink_version:
            return f"Splink {splink_version} runs, the model was trained with {self.splink_version}"
        moved = abs(profiles - self.profiles) / max(self.profiles, 1)
        if moved > REUSE_WITHIN:
            return (
                f"profiles moved {moved:.1%} since training ({self.profiles:,} then, {profiles:,} now),"
                f" more than {REUSE_WITHIN:.0%}"
            )
        return None

    def as_table(self) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "model_json": self.model_json,
                    "trained_at": self.trained_at,
                    "profiles": self.profiles,
                    "training_fingerprint": self.training_fingerprint,
                    "splink_version": self.splink_version,
                    "source": self.source,
                }
            ],
            schema=ARROW_SCHEMA,
        )

    @classmethod
    def from_table(cls, table: Any) -> SavedModel | None:
        """The saved model in `table` (as `as_table` wrote it, read back from either warehouse);
        None when it holds no row."""
        rows = table.to_pylist()
        if not rows:
            return None
        if len(rows) > 1:
            raise ValueError(f"{TABLE} holds {len(rows)} rows; it keeps one model")
        row = rows[0]
        missing = sorted(set(ARROW_SCHEMA.names) - set(row))
        if missing:
            raise ValueError(f"{TABLE} lacks the column(s) {', '.join(missing)}")
        return cls(
            model_json=row["model_json"],
            trained_at=row["trained_at"],
            profiles=int(row["profiles"]),
            training_fingerprint=row["training_fingerprint"],
            splink_version=row["splink_version"],
            source=row["source"],
        )
