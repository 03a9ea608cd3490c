"""Sync specs: which gold table goes to which CRM object and field. One YAML file per sync.

Specs are data, not code, so RevOps can review a mapping change without reading Python. They are
validated on load because the names in them end up inside SQL identifiers and CRM payloads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SPECS_DIR = Path(__file__).parent / "specs"
# Per-call record limits of the APIs (Salesforce sObject Collections, HubSpot batch endpoints).
MAX_BATCH = {"salesforce": 200, "hubspot": 100}
OPERATIONS = {"salesforce": {"update", "upsert", "insert_once"}, "hubspot": {"update", "upsert"}}
# HubSpot's record id as an idProperty: what `update` addresses unless the spec names another.
HUBSPOT_RECORD_ID = "hs_object_id"
# What a HubSpot upsert matches on unless the spec names another unique property.
HUBSPOT_UPSERT_ID_PROPERTY = "email"
REMOVAL_MODES = {"clear", "keep"}
PROPERTY_TYPES = ("number", "string")
# Column and table names are interpolated into SQL (quoted); refuse anything that could break out.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(ValueError):
    """A sync spec is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class SkipRule:
    """Source records the destination must not be written for, looked up in another table.

    E.g. converted leads: a real org refuses updates to them, so sending them would only collect
    `CANNOT_UPDATE_CONVERTED_LEAD` rejections on every run. `when` names a boolean column.
    """

    reason: str
    schema: str
    table: str
    key: str
    when: str


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
    skip: tuple[SkipRule, ...] = ()
    # What a record that leaves the source model gets: its mapped fields cleared once ("clear"),
    # or left as they are ("keep"). Either way its state row goes, so a return is sent as new.
    on_removal: str = "clear"
    # upsert: the destination field holding the key (an external ID), e.g. an action's
    # idempotency key on Task, so a repeated run updates the one record instead of adding one.
    external_id: str = ""
    # Source column -> smallest change worth a write. A record whose only differences from what
    # the CRM confirmed are below these is not sent (a score drifting 70 -> 71 -> 72 is sent once
    # the drift from the confirmed 70 reaches the threshold). Empty: every change is sent.
    thresholds: tuple[tuple[str, float], ...] = ()
    # HubSpot only: the spec opts in to creating its missing properties through the properties
    # API (a reviewed line in the YAML, like the Dagster config's `create_properties`), typed by
    # `property_types` (property -> "number" | "string"; unnamed ones are strings).
    create_properties: bool = False
    property_types: tuple[tuple[str, str], ...] = ()
    # update only: before a record Leadloop wrote is written again, the CRM's current values are
    # read; one a person changed since (values unlike the last confirmed ones, and on Salesforce
    # last modified by someone other than the sync's own user) is held back, not overwritten:
    # e.g. a rep who reassigned a lead Leadloop routed keeps it (reverse_etl/people_edits.py).
    keep_changes_by_people: bool = False
    # HubSpot only: the property whose value the source key holds. `update` defaults to the record
    # id (`hs_object_id`, read into bronze); `upsert` to `email`. Any other must be a property
    # with unique values (a custom one the portal marks unique).
    id_property: str = ""
    # HubSpot upsert only: a boolean source column saying whether a missing record may be created
    # (e.g. `can_contact_email`). Rows where it is not true go through batch update by the same
    # id_property, which writes only records the portal already has: no contact is ever created
    # for an opted-out person, and a clear (an erased or removed person) never creates one either.
    create_when: str = ""

    @property
    def hubspot_id_property(self) -> str:
        """The idProperty a HubSpot write addresses records by (the documented defaults)."""
        if self.id_property:
            return self.id_property
        return HUBSPOT_UPSERT_ID_PROPERTY if self.operation == "upsert" else HUBSPOT_RECORD_ID


def load_spec(name_or_path: str | Path) -> SyncSpec:
    """Accepts a spec name (`lead_scores_to_salesforce`) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix not in {".yaml", ".yml"}:
        path = SPECS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(SPECS_DIR.glob("*.yaml"))) or "none"
        raise SpecError(f"no sync spec {str(name_or_path)!r} (known: {known})")
    try:
        raw = yaml.safe_load(path.read_text())
        source, destination = raw["source"], raw["destination"]
        kind = str(destination["kind"])
        spec = SyncSpec(
            name=str(raw["name"]),
            description=str(raw.get("description", "")),
            source_schema=str(source["schema"]),
            source_table=str(source["table"]),
            key=str(source["key"]),
            destination=kind,
            object=str(destination["object"]),
            operation=str(destination.get("operation", "update")),
            fields={str(k): str(v) for k, v in raw["fields"].items()},
            batch_size=int(raw.get("batch_size", MAX_BATCH.get(kind, 100))),
            on_removal=str(raw.get("on_removal", "clear")),
            external_id=str(destination.get("external_id", "")),
            thresholds=tuple((str(k), float(v)) for k, v in (raw.get("change_threshold") or {}).items()),
            create_properties=bool(destination.get("create_properties", False)),
            keep_changes_by_people=bool(destination.get("keep_changes_by_people", False)),
            property_types=tuple((str(k), str(v)) for k, v in (destination.get("property_types") or {}).items()),
            id_property=str(destination.get("id_property", "")),
            create_when=str(destination.get("create_when", "")),
            skip=tuple(
                SkipRule(
                    reason=str(rule["reason"]),
                    schema=str(rule["schema"]),
                    table=str(rule["table"]),
                    key=str(rule["key"]),
                    when=str(rule["when"]),
                )
                for rule in raw.get("skip") or []
            ),
        )
    except (KeyError, TypeError, AttributeError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: missing or malformed {exc}") from None
    _validate(spec, path)
    return spec


def _validate(spec: SyncSpec, path: Path) -> None:
    if spec.destination not in MAX_BATCH:
        raise SpecError(f"{path}: destination kind {spec.destination!r} is not one of {sorted(MAX_BATCH)}")
    if spec.operation not in OPERATIONS[spec.destination]:
        raise SpecError(f"{path}: operation {spec.operation!r} is not supported for {spec.destination}")
    limit = MAX_BATCH[spec.destination]
    if not 1 <= spec.batch_size <= limit:
        raise SpecError(f"{path}: batch_size must be between 1 and {limit} for {spec.destination}")
    if (
        spec.destination == "salesforce"
        and spec.operation in {"upsert", "insert_once"}
        and not _IDENTIFIER.match(spec.external_id)
    ):
        raise SpecError(f"{path}: operation {spec.operation} needs destination.external_id, the external ID field")
    if spec.external_id and not _IDENTIFIER.match(spec.external_id):
        raise SpecError(f"{path}: destination.external_id {spec.external_id!r} is not a plain identifier")
    if spec.keep_changes_by_people and spec.operation != "update":
        raise SpecError(f"{path}: keep_changes_by_people is for operation update only")
    for column, minimum in spec.thresholds:
        if column not in spec.fields or minimum <= 0:
            raise SpecError(f"{path}: change_threshold {column!r} must name a mapped column and be positive")
    if (spec.create_properties or spec.property_types) and spec.destination != "hubspot":
        raise SpecError(f"{path}: create_properties and property_types are for HubSpot properties only")
    for name, kind in spec.property_types:
        if name not in spec.fields.values() or kind not in PROPERTY_TYPES:
            raise SpecError(f"{path}: property_types {name!r} must be a mapped property typed one of {PROPERTY_TYPES}")
    if (spec.id_property or spec.create_when) and spec.destination != "hubspot":
        raise SpecError(f"{path}: id_property and create_when are for HubSpot (Salesforce upserts use external_id)")
    if spec.id_property and not _IDENTIFIER.match(spec.id_property):
        raise SpecError(f"{path}: destination.id_property {spec.id_property!r} is not a plain property name")
    if spec.destination == "hubspot" and spec.operation == "upsert":
        # An upsert creates what the portal lacks: who may be created is a decision the spec
        # must state, never a default (an opted-out person must not become a contact).
        if not _IDENTIFIER.match(spec.create_when):
            raise SpecError(
                f"{path}: a HubSpot upsert needs destination.create_when, the boolean source column that "
                "says which rows may create a record (e.g. can_contact_email)"
            )
        if spec.hubspot_id_property == HUBSPOT_RECORD_ID:
            raise SpecError(f"{path}: a HubSpot upsert matches on a unique property, not the record id")
    elif spec.create_when:
        raise SpecError(f"{path}: destination.create_when applies to a HubSpot upsert only")
    if spec.on_removal not in REMOVAL_MODES:
        raise SpecError(f"{path}: on_removal must be one of {sorted(REMOVAL_MODES)}")
    if not spec.fields:
        raise SpecError(f"{path}: fields must map at least one column")
    for label, name in [
        ("source.schema", spec.source_schema),
        ("source.table", spec.source_table),
        ("source.key", spec.key),
        *(("fields", column) for column in spec.fields),
        *((f"skip.{label}", value) for rule in spec.skip for label, value in _skip_identifiers(rule)),
    ]:
        if not _IDENTIFIER.match(name):
            raise SpecError(f"{path}: {label} {name!r} is not a plain SQL identifier")
    if len(set(spec.fields.values())) != len(spec.fields):
        raise SpecError(f"{path}: two columns map to the same destination field")


def _skip_identifiers(rule: SkipRule) -> list[tuple[str, str]]:
    return [(name, getattr(rule, name)) for name in ("reason", "schema", "table", "key", "when")]


def all_specs() -> list[SyncSpec]:
    return [load_spec(path) for path in sorted(SPECS_DIR.glob("*.yaml"))]
