"""The `leadloop` command: generate the world, serve the sandbox, run the loop, run dbt.

Known operational errors (bad warehouse URL, unreachable CRM, a failed step) print one line
and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path
from typing import Any

import click

from ingestion.salesforce import SourceUnavailableError
from warehouse import Warehouse, WarehouseConfigError

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("LEADLOOP_DATA_DIR", "data"),
    show_default="$LEADLOOP_DATA_DIR or data",
    help="Where the world, the sandbox state and the embedded warehouse live.",
)


@click.group()
def cli() -> None:
    """Leadloop: leads from every source, scored, and pushed back into the CRMs."""


@cli.command()
@click.option("--leads", default=1000, show_default=True, help="Number of leads in the world.")
@click.option("--seed", default=42, show_default=True, help="Same seed, same world.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/world"), show_default=True)
@click.option("--days", default=0, show_default=True, help="Advance the existing world at --out by this many days.")
def generate(leads: int, seed: int, out: Path, days: int) -> None:
    """Generate a deterministic world (sandbox CRM data plus ground truth), or advance it with --days."""
    if days:
        from sandbox.advance import advance_world

        if not (out / "world.json").exists():
            raise click.UsageError(f"no world at {out} to advance: run `leadloop generate` first")
        changes = advance_world(out, days)
        click.echo("advanced the world: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
        return
    from sandbox.generator import generate_world

    summary = generate_world(out, leads=leads, seed=seed)
    click.echo(f"generated {summary.get('leads', leads)} leads into {out} (seed {seed})")


@cli.command()
@DATA_DIR_OPTION
@click.option("--port", default=0, show_default=True, help="Salesforce sandbox port (0: any free port).")
@click.option("--leads", default=1000, show_default=True, help="World size if no world exists yet.")
@click.option("--seed", default=42, show_default=True)
@click.option(
    "--faults",
    default="",
    help="Injected faults, e.g. 'seed=1,latency_ms=50,server_error_rate=0.05,drop_connection_rate=0.01,"
    "record_rejection_rate=0.02,failed_job_rate=0.1,throttle_every=50,throttle_burst=5,retry_after=1'.",
)
def sandbox(data_dir: Path, port: int, leads: int, seed: int, faults: str) -> None:
    """Serve the sandbox CRMs until interrupted (state persists under DATA_DIR/world)."""
    from sandbox.faults import Faults

    try:
        Faults.parse(faults)
    except (ValueError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    from sandbox.endpoints import read_endpoints

    stop = threading.Event()
    with _running_sandbox(data_dir, port, leads, seed, faults) as running:
        hubspot = read_endpoints(data_dir)["hubspot"]["url"]
        click.echo(f"Salesforce sandbox at {running.instance_url} (CA {running.ca_path}), HubSpot at {hubspot}")
        click.echo("Ctrl-C to stop")
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with suppress(KeyboardInterrupt):
            stop.wait()


@cli.command()
@DATA_DIR_OPTION
@click.option("--port", default=0, show_default=True, help="Salesforce sandbox port (0: any free port).")
@click.option("--ui-port", default=3000, show_default=True, help="Port of the Dagster UI.")
def dev(data_dir: Path, port: int, ui_port: int) -> None:
    """The sandbox plus `dagster dev -w workspace.yaml`, stopped together."""
    with _running_sandbox(data_dir, port, 1000, 42) as running:
        click.echo(f"Salesforce sandbox at {running.instance_url}")
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "LEADLOOP_DATA_DIR": str(data_dir.resolve()),
            # `dagster dev` re-parses dbt through `dbt` on PATH; make it this venv's, activated or not.
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        }
        env.setdefault("DAGSTER_HOME", str((data_dir / "dagster_home").resolve()))
        Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        dagster = Path(sys.executable).with_name("dagster")
        raise SystemExit(subprocess.call([str(dagster), "dev", "-w", "workspace.yaml", "-p", str(ui_port)], env=env))


@cli.command()
@DATA_DIR_OPTION
@click.option("--leads", default=1000, show_default=True, help="World size on first run (or with --fresh).")
@click.option("--seed", default=42, show_default=True)
@click.option("--fresh", is_flag=True, help="Regenerate the world before running.")
@click.option(
    "--tenants",
    "tenants_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run the loop once per tenant of this file (e.g. tenants.example.yaml), each in its own folder.",
)
def demo(data_dir: Path, leads: int, seed: int, fresh: bool, tenants_path: Path | None) -> None:
    """Run the whole lead loop once on the local sandbox and print a summary."""
    from orchestration.demo import run_demo

    if tenants_path is not None:
        _tenant_demos(tenants_path, data_dir, leads, seed, fresh)
        return
    # dbt streams every node's progress to stdout; keep it in a file and show the summary.
    log_path = data_dir / "logs" / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"Leadloop demo: loading, scoring, checking and syncing (details in {log_path}) ...")
    with open(log_path, "w") as log, redirect_stdout(log):
        summary = run_demo(data_dir, leads=leads, seed=seed, fresh=fresh)
    click.echo("Leadloop demo: done")
    for line in summary.lines():
        click.echo(f"  {line}")


def _tenant_demos(tenants_path: Path, data_dir: Path, leads: int, seed: int, fresh: bool) -> None:
    from orchestration.tenants import TenantConfigError, run_tenant_demos

    log_path = data_dir / "logs" / "demo-tenants.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"Leadloop demo for the tenants of {tenants_path} (details in {log_path}) ...")
    os.environ.setdefault("LEADLOOP_DATA_DIR", str(data_dir))
    try:
        with open(log_path, "w") as log:
            runs = run_tenant_demos(tenants_path, leads=leads, seed=seed, fresh=fresh)
            while True:
                with redirect_stdout(log):
                    tenant, summary = next(runs, (None, None))
                if tenant is None:
                    break
                click.echo(f"tenant {tenant.name} ({tenant.data_dir}): done")
                for line in summary.lines():
                    click.echo(f"  {line}")
    except TenantConfigError as exc:
        raise click.UsageError(str(exc)) from None


@cli.command()
@click.option("--email", "emails", multiple=True, required=True, help="An address to erase (repeatable).")
def erase(emails: tuple[str, ...]) -> None:
    """Register erasure requests: the people holding these emails leave silver, gold and every
    sync on the next run, and stay out when a source loads them again."""
    from silver.erasure import register

    new = register(Warehouse.from_env(), emails, requested_by="cli")
    # The addresses themselves are not echoed: the registry keeps only their hashes.
    click.echo(f"{new} new erasure request(s) registered ({len(emails) - new} already known or unusable);")
    click.echo("they take effect on the next run of the identity assets.")


@cli.command()
@click.argument("name", required=False)
@click.option("--dry-run", is_flag=True, help="Print the plan and what it would cost; write nothing anywhere.")
@click.option("--sample", default=5, show_default=True, help="Records whose field-level diff the plan shows.")
@click.option("--create-properties", is_flag=True, help="HubSpot: create missing properties (opt-in).")
@DATA_DIR_OPTION
def sync(name: str | None, dry_run: bool, sample: int, create_properties: bool, data_dir: Path) -> None:
    """Run one sync (NAME, e.g. lead_scores_to_salesforce) or all of them, or preview with --dry-run.

    Every run (and every preview) checks first that the CRM has the fields the sync writes, and
    stops with the list of missing ones before anything is sent."""
    from orchestration.checks.sync_gate import gate
    from reverse_etl.destinations.salesforce import PreflightError, QuotaGuardError
    from reverse_etl.executor import run_sync
    from reverse_etl.preview import preview_sync
    from reverse_etl.spec import SpecError, all_specs, load_spec

    try:
        specs = [load_spec(name)] if name else all_specs()
    except SpecError as exc:
        raise click.UsageError(str(exc)) from None
    warehouse = Warehouse.from_env()
    destinations: dict[str, Any] = {}
    failed = False
    for spec in specs:
        # With every spec selected, one whose gold table or CRM is not there yet gets a one-line
        # error and the others still run (a Salesforce-only setup has no HubSpot portal).
        if not warehouse.table_exists(spec.source_schema, spec.source_table):
            click.echo(
                f"leadloop: error: {spec.name}: {spec.source_schema}.{spec.source_table} is not built yet", err=True
            )
            failed = True
            continue
        try:
            if spec.destination not in destinations:
                destinations[spec.destination] = _destination(spec.destination, data_dir, create_properties)
        except SourceUnavailableError as exc:
            click.echo(f"leadloop: error: {spec.name}: {exc}", err=True)
            failed = True
            continue
        destination = destinations[spec.destination]
        try:
            if dry_run:
                for line in preview_sync(spec, warehouse, destination, sample=sample).lines():
                    click.echo(line)
                continue
            decision = gate(None, warehouse, spec.name, spec.source_schema, spec.source_table)
            if not decision.allowed:  # the CLI cannot step around a contract either
                click.echo(f"leadloop: error: {decision.line}", err=True)
                failed = True
                continue
            result = run_sync(spec, warehouse, destination)
        except (PreflightError, QuotaGuardError) as exc:
            click.echo(f"leadloop: error: {exc}", err=True)
            failed = True
            continue
        click.echo(
            f"{spec.name}: {result.status}: {result.sent} sent, {result.succeeded} confirmed, {result.failed} "
            f"rejected, {result.unchanged} unchanged, {result.skipped} skipped, {result.cleared} cleared"
            + (f" (rejections by code: {result.error_codes})" if result.error_codes else "")
        )
    if failed:
        raise SystemExit(2)


def _destination(kind: str, data_dir: Path, create_properties: bool) -> Any:
    """The CRM a sync writes to, from the environment's credentials or the running sandbox.

    Outside Dagster the resources' EnvVar fields are not resolved, so credentials are read here."""
    from orchestration.resources import HubSpotResource, SalesforceResource
    from reverse_etl.destinations.hubspot import HubSpotDestination
    from reverse_etl.destinations.salesforce import SalesforceDestination

    if kind == "hubspot":
        token = os.environ.get("HUBSPOT_ACCESS_TOKEN")
        hubspot = HubSpotResource(access_token=token, host=os.environ.get("HUBSPOT_HOST"), data_dir=str(data_dir))
        return HubSpotDestination(hubspot.client(), create_properties=create_properties)
    if os.environ.get("SALESFORCE_INSTANCE_URL") and os.environ.get("SALESFORCE_ACCESS_TOKEN"):
        salesforce = SalesforceResource(
            instance_url=os.environ["SALESFORCE_INSTANCE_URL"],
            access_token=os.environ["SALESFORCE_ACCESS_TOKEN"],
            ca_bundle=os.environ.get("SALESFORCE_CA_BUNDLE"),
            data_dir=str(data_dir),
        )
    else:
        salesforce = SalesforceResource(data_dir=str(data_dir), bulk_poll_seconds=0.0)
    return SalesforceDestination(salesforce.client(), bulk_poll_wait=salesforce.bulk_poll_seconds)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def dbt(args: tuple[str, ...]) -> None:
    """Run dbt against the configured warehouse, e.g. `leadloop dbt build`."""
    from orchestration.assets.dbt import DBT_PROJECT_DIR

    env = {**os.environ, **Warehouse.from_env().dbt_env()}
    executable = Path(sys.executable).with_name("dbt")
    command = [
        str(executable),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]
    raise SystemExit(subprocess.call(command, env=env))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True)
@click.option("--max-rows", default=1000, show_default=True, help="Rows an ad-hoc query may return.")
@click.option("--timeout", "timeout_seconds", default=10.0, show_default=True, help="Seconds a query may run.")
def report(host: str, port: int, max_rows: int, timeout_seconds: float) -> None:
    """Serve the read-only reporting app (reports, charts, ad-hoc SQL on gold)."""
    from reporting.serve import serve

    click.echo(f"Leadloop reports at http://{host}:{port} (Ctrl-C to stop)")
    serve(Warehouse.from_env(), host=host, port=port, max_rows=max_rows, timeout_seconds=timeout_seconds)


@contextmanager
def _running_sandbox(data_dir: Path, port: int, leads: int, seed: int, faults: str = "") -> Iterator[Any]:
    """Starts the sandbox on the world in DATA_DIR and advertises it in endpoints.json meanwhile."""
    from sandbox.endpoints import write_endpoints
    from sandbox.faults import Faults
    from sandbox.generator import generate_world
    from sandbox.hubspot.server import HubSpotSandbox
    from sandbox.salesforce.server import SalesforceSandbox

    world = data_dir / "world"
    if not (world / "salesforce.sqlite").exists():
        generate_world(world, leads=leads, seed=seed)
    sf_faults, hs_faults = Faults.parse(faults), Faults.parse(faults)
    with (
        SalesforceSandbox(world, port=port, faults=sf_faults) as running,
        HubSpotSandbox(world, faults=hs_faults) as hubspot,
    ):
        endpoints = write_endpoints(
            data_dir,
            salesforce={
                "instance_url": running.instance_url,
                "ca_path": str(running.ca_path),
                "token": running.token,
            },
            hubspot={"url": hubspot.url, "token": hubspot.token},
        )
        try:
            yield running
        finally:
            # A stale file would send the next run to a dead port.
            Path(endpoints).unlink(missing_ok=True)


def main() -> None:
    from orchestration.demo import LoopFailedError

    try:
        cli(standalone_mode=True)
    except (WarehouseConfigError, SourceUnavailableError, LoopFailedError) as exc:
        click.echo(f"leadloop: error: {exc}", err=True)
        raise SystemExit(2) from None
