"""The warehouse switch, at the bottom of the layers: every layer may import it, it imports none
of them, so where the data lives is decided in exactly one place."""

from warehouse.switch import DEFAULT_WAREHOUSE_URL, Warehouse, WarehouseConfigError

__all__ = ["DEFAULT_WAREHOUSE_URL", "Warehouse", "WarehouseConfigError"]
