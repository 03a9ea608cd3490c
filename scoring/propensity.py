"""One propensity session: train, guard, keep versions, score every person.

A model is published only when the guard passes; otherwise the last published model (kept, with
every session's verdict, in `gold.propensity_models`) scores, and with none yet people keep their
rule score only (propensity null, `model_version` = `rules_only`). Either way the run says why,
so the Dagster asset's metadata shows which model scored and what was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.propensity_features import read_people
from scoring.propensity_model import GuardConfig, ModelRefused, PropensityModel, train
from warehouse import Warehouse

SCHEMA = "gold"
TABLE = "lead_propensity"
MODELS_TABLE = "propensity_models"
RULES_ONLY = "rules_only"


@dataclass(frozen=True)
class PropensityRun:
    people: int
    model_version: str
    published: bool
    reason: str
    metrics: dict[str, Any]

    def to_metadata(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "model_version": self.model_version,
            "published_new_model": self.published,
            "reason": self.reason,
            **{k: v for k, v in self.metrics.items() if isinstance(v, int | float)},
        }


def run_propensity(
    warehouse: Warehouse,
    guard: GuardConfig | None = None,
    trainer: Callable[[pd.DataFrame, GuardConfig], PropensityModel] = train,
) -> PropensityRun:
    guard = guard or GuardConfig()
    frame = read_people(warehouse)
    sessions = _sessions(warehouse)
    try:
        model = trainer(frame, guard)
        status, reason, metrics = "published", "trained and passed the guard", model.metrics
    except ModelRefused as refused:
        model, status, reason, metrics = None, "refused", refused.reason, refused.metrics
    except Exception as exc:  # a failing session must leave the last good model in use
        model, status, reason, metrics = None, "failed", f"training failed: {type(exc).__name__}: {exc}", {}
    version = model.version if model else ""
    _record_session(warehouse, sessions, version, status, reason, model)
    if model is None:
        model = _last_published(sessions)
        reason += "; " + (f"kept model {model.version}" if model else "no model yet: rule score only")
    _write_scores(warehouse, frame, model)
    return PropensityRun(
        people=len(frame),
        model_version=model.version if model else RULES_ONLY,
        published=status == "published",
        reason=reason,
        metrics=metrics or (model.metrics if model else {}),
    )


def _sessions(warehouse: Warehouse) -> pd.DataFrame:
    schema = warehouse.schema(SCHEMA)
    if not warehouse.table_exists(schema, MODELS_TABLE):
        return pd.DataFrame(columns=["session", "model_version", "status", "reason", "model_json"])
    return warehouse.query_df(
        f"select session, model_version, status, reason, model_json from {schema}.{MODELS_TABLE} order by session"
    )


def _last_published(sessions: pd.DataFrame) -> PropensityModel | None:
    published = sessions[sessions["status"] == "published"]
    return PropensityModel.from_json(published["model_json"].iloc[-1]) if len(published) else None


def _record_session(
    warehouse: Warehouse,
    sessions: pd.DataFrame,
    version: str,
    status: str,
    reason: str,
    model: PropensityModel | None,
) -> None:
    """Appends this session's verdict, unless it repeats the last one (a rerun on the same data
    changes nothing)."""
    schema = warehouse.schema(SCHEMA)
    last = sessions.iloc[-1] if len(sessions) else None
    if last is not None and (last["model_version"], last["status"], last["reason"]) == (version, status, reason):
        return
    row = {
        "session": [int(sessions["session"].max()) + 1 if len(sessions) else 1],
        "model_version": [version],
        "status": [status],
        "reason": [reason],
        "model_json": [model.to_json() if model else ""],
    }
    table = pa.table({k: [*sessions[k].tolist(), *v] for k, v in row.items()})
    warehouse.replace_table(schema, MODELS_TABLE, table.cast(_MODELS_SCHEMA))


_MODELS_SCHEMA = pa.schema(
    [("session", pa.int64()), ("model_version", pa.string()), ("status", pa.string()), ("reason", pa.string()),
     ("model_json", pa.string())]
)  # fmt: skip


def _write_scores(warehouse: Warehouse, frame: pd.DataFrame, model: PropensityModel | None) -> None:
    """gold.lead_propensity: probability, 1-99 propensity and top 3 factors per person (nulls
    when no model has passed the guard yet)."""
    schema = warehouse.schema(SCHEMA)
    if model is None:
        probability = [None] * len(frame)
        propensity: list[int | None] = [None] * len(frame)
        factors: list[str | None] = [None] * len(frame)
    else:
        p = model.predict(frame)
        probability = [round(float(v), 6) for v in p]
        propensity = [int(v) for v in np.clip(np.rint(p * 100), 1, 99)]
        factors = model.top_factors(frame)
    table = pa.table(
        {
            "person_id": pa.array(frame["person_id"].tolist(), pa.string()),
            "propensity_probability": pa.array(probability, pa.float64()),
            "propensity": pa.array(propensity, pa.int32()),
            "top_factors": pa.array(factors, pa.string()),
            "model_version": pa.array([model.version if model else RULES_ONLY] * len(frame), pa.string()),
        }
    )
    warehouse.replace_table(schema, TABLE, table)
