"""Entry point for `dagster dev -w workspace.yaml`: the whole lead loop for the configured warehouse."""

from orchestration.build import build_definitions
from orchestration.resources import WarehouseResource
from warehouse import Warehouse

defs = build_definitions(Warehouse.from_env(), warehouse_resource=WarehouseResource.from_env())
