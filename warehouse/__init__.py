"""The warehouse switch, at the bottom of the layers: every layer may import it, it imports none
of them, so where the data lives is decided in exactly one place."""

from warehouse.switch import (
    DEFAULT_WAREHOUSE_URL,
    SCHEMA_PREFIX_RULE,
    Warehouse,
    WarehouseConfigError,
    is_schema_prefix,
)

__all__ = ["DEFAULT_WAREHOUSE_URL", "SCHEMA_PREFIX_RULE", "Warehouse", "WarehouseConfigError", "is_schema_prefix"]
