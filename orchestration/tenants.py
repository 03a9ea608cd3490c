"""Many tenants from one code base: `tenants.yaml` lists them, each becomes its own Dagster code
location with its own warehouse, data folder, sync state and credentials.

Tenants may also share one warehouse (one Postgres database, one DuckDB file): a tenant with
`schema_prefix: acme` keeps all of its schemas under that prefix (`acme_bronze_salesforce`,
`acme_silver`, `acme_gold`, `acme_reverse_etl`, `acme_privacy`, `acme_contracts`), passed to every
layer as `?schema_prefix=acme` on its LEADLOOP_WAREHOUSE_URL (see `warehouse.switch`). Its direct-
mail partners may be its own too: `partner_configs` names a folder of partner YAML files.

A tenant is an *environment*, not a fork: `tenant_environment` sets the variables every layer
already reads (LEADLOOP_WAREHOUSE_URL, LEADLOOP_DATA_DIR, the CRM credentials, the landing URLs,
and the scoring vars dbt reads as LEADLOOP_VAR_<NAME>) to the tenant's values and removes the ones
the tenant does not set, so nothing of another tenant or of the operator's own shell leaks in.
The file holds only the *names* of the variables with secrets, never their values.

In Dagster each code location is its own process: `dagster dev -w workspace.tenants.yaml`
(written by `python -m orchestration.tenants workspace`) loads `orchestration.tenants` once per
tenant with `attribute: defs_<name>`, and the module's `__getattr__` builds that tenant's
definitions inside its environment. Sync state lives in each tenant's warehouse
(`reverse_etl.*`), so it is separate too.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingestion.partner_files.config import PARTNER_CONFIGS_ENV, PartnerConfigError, load_partner_configs
from warehouse import SCHEMA_PREFIX_RULE, Warehouse, is_schema_prefix

TENANTS_FILE_ENV = "LEADLOOP_TENANTS_FILE"
DEFAULT_TENANTS_FILE = "tenants.yaml"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Leadloop's own variables a tenant may point at one of its env vars (by name).
CREDENTIAL_VARIABLES = (
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_ACCESS_TOKEN",
    "SALESFORCE_CA_BUNDLE",
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_HOST",
    "LEADLOOP_PRODUCT_DB_URL",
)
# Where a tenant's files arrive (not secret: given as values).
LANDING_VARIABLES = {
    "events_url": "LEADLOOP_EVENTS_URL",
    "partner_drops_url": "LEADLOOP_PARTNER_DROPS_URL",
    "firmographics_url": "LEADLOOP_FIRMOGRAPHICS_URL",
}
# dbt vars a tenant may override (dbt_project.yml reads them as LEADLOOP_VAR_<NAME>).
SCORING_VARS = ("mql_score_threshold", "lead_grade_a_min", "lead_grade_b_min", "lead_grade_c_min")
KEYS = {
    "name",
    "warehouse_url",
    "warehouse_url_env",
    "schema_prefix",
    "data_dir",
    "credentials",
    "landing",
    "partner_configs",
    "scoring",
}


class TenantConfigError(ValueError):
    """tenants.yaml is wrong; the message names the tenant and the key, in one line."""


@dataclass(frozen=True)
class Tenant:
    name: str
    data_dir: Path
    warehouse_url: str | None = None  # a URL without a password
    warehouse_url_env: str | None = None  # or the name of the env var holding the URL
    credentials: dict[str, str] = field(default_factory=dict)  # Leadloop variable -> tenant env var name
    landing: dict[str, str] = field(default_factory=dict)
    scoring: dict[str, float] = field(default_factory=dict)
    schema_prefix: str | None = None  # shares its warehouse: every schema is <prefix>_<schema>
    partner_configs: Path | None = None  # its own folder of direct-mail partner YAML files

    def warehouse(self) -> Warehouse:
        """The tenant's warehouse, under its schema prefix if it has one; default an embedded
        DuckDB file in its own data folder."""
        if self.warehouse_url_env:
            url = os.environ.get(self.warehouse_url_env)
            if not url:
                raise TenantConfigError(f"tenant {self.name}: {self.warehouse_url_env} (warehouse_url_env) is not set")
        else:
            url = self.warehouse_url or f"duckdb:///{self.data_dir.resolve() / 'warehouse.duckdb'}"
        warehouse = Warehouse.from_url(url)
        if self.schema_prefix and warehouse.schema_prefix not in ("", self.schema_prefix):
            raise TenantConfigError(
                f"tenant {self.name}: its warehouse URL says schema_prefix={warehouse.schema_prefix}, "
                f"the tenant says {self.schema_prefix}"
            )
        return warehouse.with_schema_prefix(self.schema_prefix) if self.schema_prefix else warehouse

    def environment(self) -> dict[str, str | None]:
        """The variables to set for this tenant (None: unset)."""
        env: dict[str, str | None] = {
            "LEADLOOP_DATA_DIR": str(self.data_dir.resolve()),
            "LEADLOOP_WAREHOUSE_URL": self.warehouse().url,
        }
        for variable in CREDENTIAL_VARIABLES:
            source = self.credentials.get(variable)
            env[variable] = os.environ.get(source) if source else None
        for key, variable in LANDING_VARIABLES.items():
            env[variable] = self.landing.get(key)
        env[PARTNER_CONFIGS_ENV] = str(self.partner_configs.resolve()) if self.partner_configs else None
        for var in SCORING_VARS:
            value = self.scoring.get(var)
            env[f"LEADLOOP_VAR_{var.upper()}"] = None if value is None else f"{value:g}"
        return env


def load_tenants(path: Path, root: Path | None = None) -> list[Tenant]:
    """The tenants of a tenants file, checked. `root` (default $LEADLOOP_DATA_DIR or data) holds
    each tenant's default data folder, `<root>/tenants/<name>`."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise TenantConfigError(f"no tenants file at {path}") from None
    except yaml.YAMLError as exc:
        raise TenantConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    entries = document.get("tenants") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise TenantConfigError(f"{path}: expected a non-empty list under `tenants:`")
    base = Path(root or os.environ.get("LEADLOOP_DATA_DIR", "data"))
    tenants = [_tenant(entry, base, i) for i, entry in enumerate(entries, start=1)]
    _check_apart(tenants)
    return tenants


def _tenant(entry: Any, base: Path, position: int) -> Tenant:
    if not isinstance(entry, dict):
        raise TenantConfigError(f"tenant #{position} is not a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise TenantConfigError(f"tenant #{position}: name must be lower-case letters, digits and _ (got {name!r})")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise TenantConfigError(f"tenant {name}: unknown key(s) {', '.join(unknown)}")
    url = entry.get("warehouse_url")
    prefix = entry.get("schema_prefix")
    if prefix is not None and not is_schema_prefix(str(prefix)):
        raise TenantConfigError(f"tenant {name}: schema_prefix must be {SCHEMA_PREFIX_RULE} (got {prefix!r})")
    if url and entry.get("warehouse_url_env"):
        raise TenantConfigError(f"tenant {name}: give warehouse_url or warehouse_url_env, not both")
    if url:
        warehouse = Warehouse.from_url(str(url))
        if warehouse.password:
            raise TenantConfigError(
                f"tenant {name}: warehouse_url holds a password; put the URL in an env var and name it in "
                "warehouse_url_env"
            )
    credentials = dict(entry.get("credentials") or {})
    wrong = sorted(set(credentials) - set(CREDENTIAL_VARIABLES))
    if wrong:
        raise TenantConfigError(f"tenant {name}: credentials for unknown variable(s) {', '.join(wrong)}")
    for variable, env_name in credentials.items():
        if not isinstance(env_name, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env_name):
            raise TenantConfigError(f"tenant {name}: credentials.{variable} must be an env var NAME (got {env_name!r})")
    landing = dict(entry.get("landing") or {})
    if set(landing) - set(LANDING_VARIABLES):
        raise TenantConfigError(f"tenant {name}: landing keys are {', '.join(LANDING_VARIABLES)}")
    scoring = dict(entry.get("scoring") or {})
    for var, value in scoring.items():
        if var not in SCORING_VARS:
            raise TenantConfigError(f"tenant {name}: scoring.{var} is not one of {', '.join(SCORING_VARS)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TenantConfigError(f"tenant {name}: scoring.{var} must be a number (got {value!r})")
    data_dir = Path(entry.get("data_dir") or base / "tenants" / name)
    partner_configs = Path(entry["partner_configs"]).resolve() if entry.get("partner_configs") else None
    if partner_configs is not None:
        _check_partner_configs(name, partner_configs)
    return Tenant(
        name=name,
        data_dir=data_dir,
        warehouse_url=url,
        warehouse_url_env=entry.get("warehouse_url_env"),
        credentials=credentials,
        landing={k: str(v) for k, v in landing.items()},
        scoring=scoring,
        schema_prefix=str(prefix) if prefix is not None else None,
        partner_configs=partner_configs,
    )


def _check_partner_configs(name: str, folder: Path) -> None:
    """The tenant's partner folder holds at least one usable partner file (a typo in the path
    would otherwise load no partner at all, silently)."""
    try:
        configs = load_partner_configs(folder) if folder.is_dir() else None
    except (PartnerConfigError, yaml.YAMLError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TenantConfigError(f"tenant {name}: partner_configs: {first}") from None
    if not configs:
        raise TenantConfigError(f"tenant {name}: partner_configs {folder} is not a folder of partner YAML files")


def _check_apart(tenants: list[Tenant]) -> None:
    """No two tenants share a name, a data folder or a (literal) warehouse under the same schema
    prefix (or none): tenants that share a warehouse must each have a prefix of their own."""
    for attribute in ("name", "data_dir", "warehouse"):
        seen: dict[Any, str] = {}
        for tenant in tenants:
            if attribute == "warehouse":
                value = _literal_schemas(tenant)
                what = "warehouse and schema_prefix (give each a schema_prefix of its own)"
            else:
                value = getattr(tenant, attribute)
                value = value.resolve() if attribute == "data_dir" else value
                what = attribute
            if value is None:
                continue
            if value in seen:
                raise TenantConfigError(f"tenants {seen[value]} and {tenant.name} share the same {what}")
            seen[value] = tenant.name


def _literal_schemas(tenant: Tenant) -> tuple[str, str] | None:
    """Where a tenant's schemas live when the file says so itself: (warehouse, prefix)."""
    if not tenant.warehouse_url:
        return None
    warehouse = Warehouse.from_url(tenant.warehouse_url)
    return warehouse.url.partition("?")[0], tenant.schema_prefix or warehouse.schema_prefix


@contextmanager
def tenant_environment(tenant: Tenant) -> Iterator[Tenant]:
    """Runs the block with the tenant's environment, restoring the previous one after."""
    wanted = tenant.environment()
    before = {key: os.environ.get(key) for key in wanted}
    _apply(wanted)
    try:
        yield tenant
    finally:
        _apply(before)


def _apply(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def tenant_definitions(tenant: Tenant) -> Any:
    """The tenant's Dagster definitions: the one lead loop, built in the tenant's environment.
    Resources resolve secrets through EnvVar at run time, so the environment must stay the
    tenant's for the life of the process (a code location is one process per tenant)."""
    from orchestration.build import build_definitions
    from orchestration.resources import (
        EnrichmentResource,
        HubSpotResource,
        LandingZoneResource,
        ProductDbResource,
        SalesforceResource,
        WarehouseResource,
    )

    _apply(tenant.environment())
    return build_definitions(
        tenant.warehouse(),
        warehouse_resource=WarehouseResource.from_env(),
        salesforce=SalesforceResource.from_env(),
        hubspot=HubSpotResource.from_env(),
        product_db=ProductDbResource.from_env(),
        landing=LandingZoneResource.from_env(),
        enrichment=EnrichmentResource.from_env(),
    )


@dataclass(frozen=True)
class TenantDemo:
    tenant: Tenant
    returncode: int
    output: list[str]  # what its `leadloop demo` printed: the summary, or the one-line error


def run_tenant_demos(path: Path, *, leads: int, seed: int, fresh: bool = False) -> Iterator[TenantDemo]:
    """The demo once per tenant, side by side: each tenant's `leadloop demo` is a process of its
    own, with its environment, data folder and sandbox (a different world per tenant: the seed is
    offset by its position). Yields each tenant's result as it finishes.

    Processes, not threads: a tenant *is* its environment (`tenant_environment`), which is one
    per process. Tenants that share a DuckDB file run one after another in one lane, since
    DuckDB admits one writing process; every other tenant runs in a lane of its own."""
    tenants = load_tenants(path)
    done: queue.Queue[TenantDemo | BaseException] = queue.Queue()

    def run_lane(members: list[tuple[int, Tenant]]) -> None:
        try:
            for position, tenant in members:
                done.put(_demo_process(tenant, leads=leads, seed=seed + position, fresh=fresh))
        except BaseException as exc:  # handed to the caller rather than lost in the thread
            done.put(exc)

    threads = [threading.Thread(target=run_lane, args=(lane,), daemon=True) for lane in demo_lanes(tenants)]
    for thread in threads:
        thread.start()
    for _ in tenants:
        result = done.get()
        if isinstance(result, BaseException):
            raise result
        yield result
    for thread in threads:
        thread.join()


def demo_lanes(tenants: list[Tenant]) -> list[list[tuple[int, Tenant]]]:
    """The tenants (with their positions) grouped into lanes that may run at the same time: one
    lane per DuckDB file, whose tenants take turns; a lane of its own for each other tenant."""
    lanes: dict[Any, list[tuple[int, Tenant]]] = {}
    for position, tenant in enumerate(tenants):
        warehouse = tenant.warehouse()
        lane = ("duckdb", warehouse.path) if warehouse.is_duckdb else ("tenant", tenant.name)
        lanes.setdefault(lane, []).append((position, tenant))
    return list(lanes.values())


def _demo_process(tenant: Tenant, *, leads: int, seed: int, fresh: bool) -> TenantDemo:
    """`leadloop demo` for one tenant in a child process with only the tenant's environment (and
    its own dbt target and Dagster home, in its folder)."""
    env = dict(os.environ)
    for key in ("DAGSTER_HOME", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
        env.pop(key, None)
    for key, value in tenant.environment().items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    leadloop = Path(sys.executable).with_name("leadloop")
    command = [str(leadloop)] if leadloop.exists() else [sys.executable, "-m", "orchestration.cli"]
    command += ["demo", "--data-dir", str(tenant.data_dir), "--leads", str(leads), "--seed", str(seed)]
    command += ["--fresh"] if fresh else []
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in process.stdout.splitlines() if line.strip()]
    if process.returncode:  # its one-line error (the rest of stderr is Dagster's and dbt's chatter)
        lines += [line for line in process.stderr.splitlines() if line.strip()][-1:]
    return TenantDemo(tenant, process.returncode, lines)


def tenants_file() -> Path:
    return Path(os.environ.get(TENANTS_FILE_ENV) or DEFAULT_TENANTS_FILE)


def workspace_document(tenants: list[Tenant]) -> dict[str, Any]:
    """A Dagster workspace with one code location per tenant, all from this module."""
    return {
        "load_from": [
            {
                "python_module": {
                    "module_name": "orchestration.tenants",
                    "attribute": f"defs_{tenant.name}",
                    "location_name": tenant.name,
                    "working_directory": ".",
                }
            }
            for tenant in tenants
        ]
    }


def write_workspace(tenants: list[Tenant], out: Path) -> Path:
    out.write_text(
        "# Generated by `python -m orchestration.tenants workspace`: one code location per tenant.\n"
        + yaml.safe_dump(workspace_document(tenants), sort_keys=False),
        encoding="utf-8",
    )
    return out


def __getattr__(attribute: str) -> Any:
    """`defs_<tenant>`: what a tenant's code location loads (see the module docstring)."""
    if not attribute.startswith("defs_"):
        raise AttributeError(attribute)
    name = attribute.removeprefix("defs_")
    for tenant in load_tenants(tenants_file()):
        if tenant.name == name:
            return tenant_definitions(tenant)
    raise AttributeError(f"no tenant {name!r} in {tenants_file()}")


def main(argv: list[str] | None = None) -> int:
    """`python -m orchestration.tenants workspace [TENANTS_FILE] [OUT]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "workspace":
        print("usage: python -m orchestration.tenants workspace [tenants.yaml] [workspace.tenants.yaml]")
        return 2
    source = Path(args[1]) if len(args) > 1 else tenants_file()
    out = Path(args[2]) if len(args) > 2 else Path("workspace.tenants.yaml")
    try:
        tenants = load_tenants(source)
    except TenantConfigError as exc:
        print(f"leadloop: error: {exc}", file=sys.stderr)
        return 2
    write_workspace(tenants, out)
    print(f"wrote {out}: {', '.join(t.name for t in tenants)} (set {TENANTS_FILE_ENV}={source} for dagster dev)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
