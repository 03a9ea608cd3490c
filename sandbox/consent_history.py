"""The org's field history of the consent flags, for the world as generated.

The generated leads predate field history tracking (as `LastModifiedById` is null on them), but
each opt-out and do-not-call was a decision someone made after the lead came in: it is recorded
as a change of the flag at that moment, somewhere between the lead's creation and its last
edit, so the record's modification time (which every later edit, our score sync's included,
moves) is not the decision's. Contacts come from conversions made with tracking on, so each has
its `created` row. The record's owner made each change. Later changes are recorded by the store
itself (`Store.update`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from sandbox.salesforce.schema import TRACKED_FIELDS
from sandbox.salesforce.store import stored_datetime


def _parsed(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def consent_decisions(leads: list[dict[str, Any]], seed: int) -> list[tuple]:
    """LeadHistory rows for the flags set on generated leads, each dated at its decision."""
    draws = np.random.default_rng([seed, 18]).random((len(leads), len(TRACKED_FIELDS["Lead"]))).tolist()
    rows = []
    for lead, u in zip(leads, draws, strict=True):
        for name, u_when in zip(TRACKED_FIELDS["Lead"], u, strict=True):
            if lead[name]:
                created, modified = _parsed(lead["CreatedDate"]), _parsed(lead["LastModifiedDate"])
                decided = stored_datetime(created + (modified - created) * u_when)
                rows.append((lead["Id"], name, "false", "true", decided, lead["OwnerId"]))
    return rows


def contacts_created(contacts: list[dict[str, Any]]) -> list[tuple]:
    """ContactHistory's `created` row of each converted contact."""
    return [(c["Id"], "created", None, None, c["CreatedDate"], c["OwnerId"]) for c in contacts]
