"""Entry point for `dagster dev -w workspace.yaml`: the whole lead loop for the configured warehouse."""

from orchestration.build import build_definitions
from orchestration.paths import data_dir, warehouse_url
from orchestration.resources import WarehouseResource
from warehouse import Warehouse

# Unset LEADLOOP_WAREHOUSE_URL means DuckDB in the data dir, as for the CLI.
defs = build_definitions(Warehouse.from_url(warehouse_url(data_dir())), warehouse_resource=WarehouseResource.from_env())
