"""The shipped Salesforce metadata, the sandbox's schema and the sync specs agree: every field a
sync writes is deployable, typed as the sandbox serves it, and editable by the integration user."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reverse_etl.spec import all_specs
from sandbox.salesforce.schema import sobject

ROOT = Path(__file__).parents[2] / "reverse_etl" / "salesforce_metadata" / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# Sandbox describe type -> metadata type
TYPES = {"double": "Number", "string": "Text", "textarea": "LongTextArea"}


def _fields() -> dict[tuple[str, str], ET.Element]:
    return {
        (path.parts[-3], path.name.removesuffix(".field-meta.xml")): ET.parse(path).getroot()
        for path in ROOT.glob("objects/*/fields/*.field-meta.xml")
    }


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(f"md:{tag}", NS)
    return None if found is None else found.text


def test_every_synced_field_is_shipped():
    """Custom fields (`__c`, including an external ID) ship as metadata; standard fields (a Task's
    WhoId, Subject…) are every org's and only have to exist on the object."""
    shipped = _fields()
    for spec in all_specs():
        if spec.destination == "salesforce":
            standard = {f.name for f in sobject(spec.object).fields if not f.custom}
            for name in [*spec.fields.values(), *([spec.external_id] if spec.external_id else [])]:
                if name.endswith("__c"):
                    assert (spec.object, name) in shipped, f"{spec.name}: no metadata for {spec.object}.{name}"
                else:
                    assert name in standard, f"{spec.name}: {spec.object} has no standard field {name}"


def test_the_metadata_matches_the_sandbox_schema():
    shipped = _fields()
    expected = {(obj, f.name): f for obj in ("Lead", "Contact", "Task") for f in sobject(obj).fields if f.custom}
    assert set(shipped) == set(expected)
    for key, field in expected.items():
        element = shipped[key]
        assert _text(element, "fullName") == field.name
        assert _text(element, "type") == TYPES[field.type], key
        if field.type != "double":
            assert int(_text(element, "length") or 0) == field.length, key
        assert (_text(element, "externalId") == "true") == field.external_id, key


def test_the_permission_set_lets_the_integration_user_edit_every_shipped_field():
    root = ET.parse(ROOT / "permissionsets" / "Leadloop_Integration.permissionset-meta.xml").getroot()
    editable = {_text(p, "field") for p in root.findall("md:fieldPermissions", NS) if _text(p, "editable") == "true"}
    assert editable == {f"{obj}.{name}" for obj, name in _fields()}
