"""Sync specs: which gold table goes to which CRM object and field. One YAML file per sync."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SPECS_DIR = Path(__file__).parent / "specs"
MAX_BATCH = {"salesforce": 200, "hubspot": 100}


class SpecError(ValueError):
    """A sync spec is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class SyncSpec:
    name: str
    source_schema: str
    source_table: str
    key: str
    destination: str
    object: str
    operation: str
    fields: dict[str, str]
    batch_size: int
    description: str = ""


def load_spec(name_or_path: str | Path) -> SyncSpec:
    path = Path(name_or_path)
    if not path.suffix:
        path = SPECS_DIR / f"{name_or_path}.yaml"
    try:
        raw = yaml.safe_load(path.read_text())
        source, destination = raw["source"], raw["destination"]
        kind = destination["kind"]
        batch_size = int(raw.get("batch_size", MAX_BATCH.get(kind, 100)))
        spec = SyncSpec(
            name=raw["name"],
            description=raw.get("description", ""),
            source_schema=source["schema"],
            source_table=source["table"],
            key=source["key"],
            destination=kind,
            object=destination["object"],
            operation=destination.get("operation", "update"),
            fields=dict(raw["fields"]),
            batch_size=batch_size,
        )
    except (KeyError, TypeError) as exc:
        raise SpecError(f"{path}: missing or malformed {exc}") from None
    if not 1 <= spec.batch_size <= MAX_BATCH.get(kind, 100):
        raise SpecError(f"{path}: batch_size must be between 1 and {MAX_BATCH.get(kind, 100)} for {kind}")
    if not spec.fields:
        raise SpecError(f"{path}: fields must map at least one column")
    return spec


def all_specs() -> list[SyncSpec]:
    return [load_spec(path) for path in sorted(SPECS_DIR.glob("*.yaml"))]
