"""Per-record validation with the error codes a real org returns."""

from __future__ import annotations

from datetime import date
from typing import Any

from sandbox.salesforce.schema import SObject
from sandbox.salesforce.store import parse_datetime, stored_datetime


class RecordError(Exception):
    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


def validate_record(obj: SObject, payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Checks a create/update body and returns the values in stored form."""
    if not isinstance(payload, dict):
        raise RecordError("JSON_PARSER_ERROR", "record body must be a JSON object", [])
    values: dict[str, Any] = {}
    for name, value in payload.items():
        field = obj.field(name)
        if field is None:
            raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])
        if not (field.createable if creating else field.updateable):
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {field.name}. Please check the security settings of this field.",
                [field.name],
            )
        values[field.name] = _coerce(field, value)
    if creating:
        missing = [f.name for f in obj.fields if f.required and values.get(f.name) in (None, "")]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
    else:
        blanked = [f.name for f in obj.fields if f.required and f.name in values and values[f.name] in (None, "")]
        if blanked:
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(blanked)}]", blanked)
    return values


def _coerce(field: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = field.type
    try:
        if kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind in {"double", "currency", "percent"}:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "datetime":
            return stored_datetime(parse_datetime(str(value)))
        if kind == "date":
            return date.fromisoformat(str(value)).isoformat()
    except (TypeError, ValueError):
        raise RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{field.name}: value not of required type: {value!r}", [field.name]
        ) from None
    text = str(value)
    if field.length and len(text) > field.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{field.name}: data value too large: {text[:20]}... (max length={field.length})",
            [field.name],
        )
    if field.restricted and text not in field.picklist:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.name}: bad value for restricted picklist field: {text}",
            [field.name],
        )
    return text
