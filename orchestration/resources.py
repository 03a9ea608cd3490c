"""Dagster resources: the warehouse and the CRM connections.

Credentials come only from environment variables (as Dagster `EnvVar`s, so the UI shows the
variable's name, never its value). Without them, the Salesforce resource points at the local
sandbox that `leadloop sandbox` advertises in `data/sandbox/endpoints.json`, and says so once.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from hubspot import HubSpot
from simple_salesforce import Salesforce

from ingestion.crm_clients import hubspot_client, salesforce_client
from ingestion.partner_files.config import CONFIG_DIR, PARTNER_CONFIGS_ENV, PartnerConfig, load_partner_configs
from ingestion.product_db import PRODUCT_DB_ENV
from ingestion.salesforce import SourceUnavailableError
from orchestration.paths import data_dir, warehouse_url
from silver.enrichment.providers import FirmographicsProvider
from warehouse import DEFAULT_WAREHOUSE_URL, Warehouse

logger = logging.getLogger("leadloop")


class WarehouseResource(ConfigurableResource):
    """Where every layer reads and writes; see `warehouse`."""

    url: str = DEFAULT_WAREHOUSE_URL

    def get(self) -> Warehouse:
        return Warehouse.from_url(self.url)

    @classmethod
    def from_env(cls) -> WarehouseResource:
        if os.environ.get("LEADLOOP_WAREHOUSE_URL"):
            # An EnvVar keeps a Postgres password out of the run config shown in the UI.
            return cls(url=EnvVar("LEADLOOP_WAREHOUSE_URL"))
        # Unset: DuckDB in the data dir, as the CLI computes it, so `dagster dev` and the CLI agree.
        return cls(url=warehouse_url(data_dir()))


class SalesforceResource(ConfigurableResource):
    """A Salesforce org, or the sandbox when no credentials are set."""

    instance_url: str | None = None
    access_token: str | None = None
    ca_bundle: str | None = None
    data_dir: str = "data"
    bulk_poll_seconds: float = 2.0
    """How long the Bulk API 2.0 client waits before polling a job (the sandbox finishes at once)."""

    @classmethod
    def from_env(cls) -> SalesforceResource:
        data_dir = os.environ.get("LEADLOOP_DATA_DIR", "data")
        if os.environ.get("SALESFORCE_INSTANCE_URL") and os.environ.get("SALESFORCE_ACCESS_TOKEN"):
            return cls(
                instance_url=EnvVar("SALESFORCE_INSTANCE_URL"),
                access_token=EnvVar("SALESFORCE_ACCESS_TOKEN"),
                ca_bundle=os.environ.get("SALESFORCE_CA_BUNDLE"),
                data_dir=data_dir,
            )
        return cls(data_dir=data_dir, bulk_poll_seconds=0.0)

    @property
    def origin(self) -> str:
        return "Salesforce" if self.access_token else "local sandbox"

    def client(self) -> Salesforce:
        if self.instance_url and self.access_token:
            return salesforce_client(self.instance_url, self.access_token, self.ca_bundle)
        from sandbox.endpoints import read_endpoints

        endpoints = (read_endpoints(Path(self.data_dir)) or {}).get("salesforce")
        if not endpoints:
            raise SourceUnavailableError(
                "no SALESFORCE_INSTANCE_URL/SALESFORCE_ACCESS_TOKEN set and no sandbox running "
                f"({Path(self.data_dir) / 'sandbox' / 'endpoints.json'} missing): "
                "start one with `leadloop sandbox` or `make dev`"
            )
        logger.info("No Salesforce credentials set: using the local sandbox at %s", endpoints["instance_url"])
        return salesforce_client(endpoints["instance_url"], endpoints["token"], endpoints.get("ca_path"))


class HubSpotResource(ConfigurableResource):
    """A HubSpot portal, or the sandbox when no token is set."""

    access_token: str | None = None
    host: str | None = None
    """Only for tests and proxies; the client's default is api.hubapi.com."""
    data_dir: str = "data"

    @classmethod
    def from_env(cls) -> HubSpotResource:
        data_dir = os.environ.get("LEADLOOP_DATA_DIR", "data")
        if os.environ.get("HUBSPOT_ACCESS_TOKEN"):
            return cls(
                access_token=EnvVar("HUBSPOT_ACCESS_TOKEN"), host=os.environ.get("HUBSPOT_HOST"), data_dir=data_dir
            )
        return cls(data_dir=data_dir)

    @property
    def origin(self) -> str:
        return "HubSpot" if self.access_token else "local sandbox"

    def client(self) -> HubSpot:
        if self.access_token:
            return hubspot_client(self.host, self.access_token)
        from sandbox.endpoints import read_endpoints

        endpoints = (read_endpoints(Path(self.data_dir)) or {}).get("hubspot")
        if not endpoints:
            raise SourceUnavailableError(
                "no HUBSPOT_ACCESS_TOKEN set and no sandbox running "
                f"({Path(self.data_dir) / 'sandbox' / 'endpoints.json'} missing): "
                "start one with `leadloop sandbox` or `make dev`"
            )
        logger.info("No HubSpot token set: using the local sandbox at %s", endpoints["url"])
        return hubspot_client(endpoints["url"], endpoints["token"])


class ProductDbResource(ConfigurableResource):
    """The product's own database; unset, the SQLite file of the local world under `data_dir`."""

    url: str | None = None
    data_dir: str = "data"

    @classmethod
    def from_env(cls, data_dir: str | None = None) -> ProductDbResource:
        data_dir = data_dir or os.environ.get("LEADLOOP_DATA_DIR", "data")
        if os.environ.get(PRODUCT_DB_ENV):
            # An EnvVar keeps a password in the URL out of the run config shown in the UI.
            return cls(url=EnvVar(PRODUCT_DB_ENV), data_dir=data_dir)
        return cls(data_dir=data_dir)

    def resolved_url(self) -> str:
        return self.url or f"sqlite:///{(Path(self.data_dir) / 'world' / 'product.sqlite').resolve()}"


class LandingZoneResource(ConfigurableResource):
    """Where file sources land: web events and partner drops. Any fsspec URL (a local path,
    `s3://…`, `gs://…`); unset, the local world's folders under `data_dir`. The partners whose
    drops are read are the YAML files of `partner_configs_dir` (a tenant's own folder), unset
    the shipped `ingestion/partner_files/partners/`."""

    events_url: str | None = None
    partner_drops_url: str | None = None
    partner_configs_dir: str | None = None
    data_dir: str = "data"

    @classmethod
    def from_env(cls, data_dir: str | None = None) -> LandingZoneResource:
        return cls(
            events_url=os.environ.get("LEADLOOP_EVENTS_URL"),
            partner_drops_url=os.environ.get("LEADLOOP_PARTNER_DROPS_URL"),
            partner_configs_dir=os.environ.get(PARTNER_CONFIGS_ENV),
            data_dir=data_dir or os.environ.get("LEADLOOP_DATA_DIR", "data"),
        )

    def events(self) -> str:
        return self.events_url or str((Path(self.data_dir) / "world" / "landing").resolve())

    def partner_drops(self) -> str:
        return self.partner_drops_url or str((Path(self.data_dir) / "world" / "partners").resolve())

    def partner_configs(self) -> list[PartnerConfig]:
        return load_partner_configs(Path(self.partner_configs_dir) if self.partner_configs_dir else CONFIG_DIR)


class EnrichmentResource(ConfigurableResource):
    """The firmographics provider and the guards around it. Unset, the reference file the local
    world provides (`data/world/reference/firmographics.csv`)."""

    firmographics_url: str | None = None
    data_dir: str = "data"
    timeout_seconds: float = 5.0
    failure_threshold: int = 5

    @classmethod
    def from_env(cls, data_dir: str | None = None) -> EnrichmentResource:
        return cls(
            firmographics_url=os.environ.get("LEADLOOP_FIRMOGRAPHICS_URL"),
            data_dir=data_dir or os.environ.get("LEADLOOP_DATA_DIR", "data"),
        )

    def provider(self) -> FirmographicsProvider:
        from silver.enrichment.providers import ReferenceFileProvider

        url = self.firmographics_url or str(
            (Path(self.data_dir) / "world" / "reference" / "firmographics.csv").resolve()
        )
        return ReferenceFileProvider(url)
