"""The `leadloop` command: generate the world, serve the sandbox, run the loop, run dbt.

Only click and the standard library load before the arguments are parsed, so `--help` answers
at once; Dagster, dbt, dlt and pandas load inside the command that needs them.

A user error (a bad option, a bad warehouse URL, a data dir that cannot be written, Postgres
down, an unreachable CRM, a failed step) prints one line, what is wrong and what to do, and
exits 2, before anything is written where possible. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import click

from orchestration.paths import DATA_DIR_ENV, ensure_dagster_home, ensure_writable, run_env, warehouse_url

T = TypeVar("T")
USER_ERROR_EXIT = 2
# Errors whose message is already written for a person. Matched by class name so that catching
# them does not import the modules (dlt, Dagster) that define them.
USER_ERRORS = frozenset(
    {"WarehouseConfigError", "SourceUnavailableError", "LoopFailedError", "DataDirError", "SpecError"}
)
# Good enough to catch a typo (no @, no dot in the domain); the registry normalizes the rest.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _data_dir(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """The data dir, absolute and proven writable before the command does anything."""
    return ensure_writable(value)


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get(DATA_DIR_ENV) or "data",
    show_default=f"${DATA_DIR_ENV} or data",
    callback=_data_dir,
    help="Where everything a run writes lives: the world, the sandbox state, the default DuckDB warehouse, "
    "dbt's target and logs, and the Dagster home.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Leadloop: leads from every source, scored, and pushed back into the CRMs."""


@cli.command()
@click.option("--leads", type=click.IntRange(min=1), default=1000, show_default=True, help="Leads in the world.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True, help="Same seed, same world.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, show_default="DATA_DIR/world")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Advance the existing world at --out by this many days (0: generate a new world).",
)
@DATA_DIR_OPTION
def generate(leads: int, seed: int, out: Path | None, days: int, data_dir: Path) -> None:
    """Generate a deterministic world (sandbox CRM data plus ground truth), or advance it with --days.

    The new world is written beside the old one and swapped in when complete: an interrupted
    run leaves the previous world as it was."""
    out = (out or data_dir / "world").expanduser().resolve()
    ensure_writable(out.parent)
    if days:
        if not (out / "world.json").exists():
            raise click.UsageError(f"no world at {out} to advance: run `leadloop generate` first")
        from sandbox.advance import advance_world

        with _status(f"advancing the world at {out} by {days} day(s)"):
            changes = replace_dir(out, lambda tmp: advance_world(tmp, days), start_from_existing=True)
        click.echo("advanced the world: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
        return
    from sandbox.generator import generate_world

    with _status(f"generating {leads} leads into {out}"):
        summary = replace_dir(out, lambda tmp: generate_world(tmp, leads=leads, seed=seed))
    click.echo(f"generated {summary.get('leads', leads)} leads into {out} (seed {seed})")


def replace_dir(target: Path, build: Callable[[Path], T], *, start_from_existing: bool = False) -> T:
    """Runs `build` on a scratch folder beside `target` (a copy of it, with start_from_existing)
    and swaps the result in only if `build` returns: a failure or Ctrl-C leaves `target` whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        if start_from_existing and target.exists():
            shutil.copytree(target, scratch, dirs_exist_ok=True)
        result = build(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(scratch, target)
    shutil.rmtree(old, ignore_errors=True)
    return result


@cli.command()
@DATA_DIR_OPTION
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Salesforce port (0: any).")
@click.option("--leads", type=click.IntRange(min=1), default=1000, show_default=True, help="World size if none yet.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
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
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Salesforce port (0: any).")
@click.option("--ui-port", type=click.IntRange(1, 65535), default=3000, show_default=True, help="Dagster UI port.")
def dev(data_dir: Path, port: int, ui_port: int) -> None:
    """The sandbox plus `dagster dev -w workspace.yaml`, stopped together (Ctrl-C or SIGTERM)."""
    env = {**os.environ, **run_env(data_dir)}
    _check_warehouse(env["LEADLOOP_WAREHOUSE_URL"])
    ensure_dagster_home(Path(env["DAGSTER_HOME"]))
    # `dagster dev` re-parses dbt through `dbt` on PATH; make it this venv's, activated or not.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    with _running_sandbox(data_dir, port, 1000, 42) as running:
        click.echo(f"Salesforce sandbox at {running.instance_url}; Dagster home {env['DAGSTER_HOME']}")
        dagster = Path(sys.executable).with_name("dagster")
        workspace = Path(__file__).resolve().parents[1] / "workspace.yaml"
        code = run_process_group([str(dagster), "dev", "-w", str(workspace), "-p", str(ui_port)], env=env)
    raise SystemExit(code)


def run_process_group(command: list[str], env: dict[str, str], grace_seconds: float = 20.0) -> int:
    """Runs `command` in a process group of its own and waits for it; SIGINT or SIGTERM to this
    process stops the whole group (first politely, then by force after `grace_seconds`), so
    nothing it started (a webserver, a daemon, code servers) outlives it."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    stopping = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while process.poll() is None and not stopping.is_set():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.5)
        if stopping.is_set():
            deadline = time.monotonic() + grace_seconds
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
        return process.returncode if process.returncode is not None else 130
    finally:
        # Whatever is left in the group (also after a clean exit) goes with it.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@cli.command()
@DATA_DIR_OPTION
@click.option("--leads", type=click.IntRange(min=1), default=1000, show_default=True, help="World size on first run.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option("--fresh", is_flag=True, help="Regenerate the world before running.")
@click.option(
    "--full", is_flag=True, help="Rebuild, re-check and re-sync everything, even when no source has anything new."
)
@click.option(
    "--tenants",
    "tenants_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run the loop once per tenant of this file (e.g. tenants.example.yaml), each in its own folder.",
)
def demo(data_dir: Path, leads: int, seed: int, fresh: bool, full: bool, tenants_path: Path | None) -> None:
    """Run the whole lead loop once on the local sandbox and print a summary.

    The runs land in DATA_DIR/dagster_home, the Dagster home `leadloop dev` opens (a tenant's
    in its own folder's)."""
    if tenants_path is not None:
        _tenant_demos(tenants_path, data_dir, leads, seed, fresh)
        return
    env = run_env(data_dir)
    _check_warehouse(env["LEADLOOP_WAREHOUSE_URL"])
    os.environ.update(env)  # this process is the run: dbt, dlt and Dagster read these
    ensure_dagster_home(Path(env["DAGSTER_HOME"]))
    from orchestration.demo import run_demo

    log_path = data_dir / "logs" / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"Leadloop demo: loading, scoring, checking and syncing (details in {log_path})")
    summary = run_demo(data_dir, leads=leads, seed=seed, fresh=fresh, log_path=log_path, full=full)
    click.echo("Leadloop demo: done")
    for line in summary.lines():
        click.echo(f"  {line}")


def _email(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    bad = [v for v in values if not EMAIL.match(v.strip())]
    if bad:
        # The address itself is not echoed: it may be someone's, even when mistyped.
        raise click.BadParameter(
            f"{len(bad)} of the addresses is not an email address (name@domain.tld): nothing registered; "
            "fix it and run again",
            param_hint="--email",
        )
    return values


def _tenant_demos(tenants_path: Path, data_dir: Path, leads: int, seed: int, fresh: bool) -> None:
    """Every tenant's demo at once, each its own process (see `run_tenant_demos`); each one's
    summary is printed when it finishes, its details are in its own folder's logs/demo.log."""
    from orchestration.tenants import TenantConfigError, run_tenant_demos

    click.echo(f"Leadloop demo for the tenants of {tenants_path}, side by side ...")
    os.environ.setdefault("LEADLOOP_DATA_DIR", str(data_dir))
    failed = []
    try:
        for run in run_tenant_demos(tenants_path, leads=leads, seed=seed, fresh=fresh):
            status = "done" if run.returncode == 0 else f"failed (exit code {run.returncode})"
            click.echo(f"tenant {run.tenant.name} ({run.tenant.data_dir}): {status}")
            for line in run.output:
                click.echo(f"  {line}")
            if run.returncode:
                failed.append(run.tenant.name)
    except TenantConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if failed:
        raise SystemExit(1)


@cli.command()
@click.option(
    "--email", "emails", multiple=True, required=True, callback=_email, help="An address to erase (repeatable)."
)
@DATA_DIR_OPTION
def erase(emails: tuple[str, ...], data_dir: Path) -> None:
    """Register erasure requests: the people holding these emails leave silver, gold and every
    sync on the next run, and stay out when a source loads them again."""
    warehouse = _check_warehouse(warehouse_url(data_dir))
    from silver.erasure import register

    new = register(warehouse, emails, requested_by="cli")
    # The addresses themselves are not echoed: the registry keeps only their hashes.
    click.echo(f"{new} new erasure request(s) registered ({len(emails) - new} already known);")
    click.echo("they take effect on the next run of the identity assets.")


@cli.command()
@click.argument("name", required=False)
@click.option("--dry-run", is_flag=True, help="Print the plan and what it would cost; write nothing anywhere.")
@click.option("--sample", type=click.IntRange(min=0), default=5, show_default=True, help="Records diffed in the plan.")
@click.option("--create-properties", is_flag=True, help="HubSpot: create missing properties (opt-in).")
@DATA_DIR_OPTION
def sync(name: str | None, dry_run: bool, sample: int, create_properties: bool, data_dir: Path) -> None:
    """Run one sync (NAME, e.g. lead_scores_to_salesforce) or all of them, or preview with --dry-run.

    Every run (and every preview) checks first that the CRM has the fields the sync writes, and
    stops with the list of missing ones before anything is sent."""
    warehouse = _check_warehouse(warehouse_url(data_dir))
    from ingestion.salesforce import SourceUnavailableError
    from orchestration.checks.sync_gate import gate
    from reverse_etl.destinations.salesforce import PreflightError, QuotaGuardError
    from reverse_etl.executor import run_sync
    from reverse_etl.preview import preview_sync
    from reverse_etl.spec import SpecError, all_specs, load_spec

    try:
        specs = [load_spec(name)] if name else all_specs()
    except SpecError as exc:
        raise click.UsageError(str(exc)) from None
    destinations: dict[str, Any] = {}
    failed = False
    for spec in specs:
        # With every spec selected, one whose gold table or CRM is not there yet gets a one-line
        # error and the others still run (a Salesforce-only setup has no HubSpot portal).
        if not warehouse.table_exists(warehouse.schema(spec.source_schema), spec.source_table):
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
        raise SystemExit(USER_ERROR_EXIT)


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
    """Run dbt against the configured warehouse, e.g. `leadloop dbt build`.

    dbt's target and logs go to $LEADLOOP_DATA_DIR/dbt."""
    folder = ensure_writable(Path(os.environ.get(DATA_DIR_ENV) or "data"))
    env = {**os.environ, **run_env(folder)}
    warehouse = _check_warehouse(env["LEADLOOP_WAREHOUSE_URL"])
    env.update(warehouse.dbt_env())
    project = Path(__file__).resolve().parents[1] / "dbt_project"
    executable = Path(sys.executable).with_name("dbt")
    command = [str(executable), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    raise SystemExit(subprocess.call(command, env=env))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option(
    "--max-rows", type=click.IntRange(min=1), default=1000, show_default=True, help="Rows an ad-hoc query may return."
)
@click.option("--timeout", "timeout_seconds", default=10.0, show_default=True, help="Seconds a query may run.")
@DATA_DIR_OPTION
def report(host: str, port: int, max_rows: int, timeout_seconds: float, data_dir: Path) -> None:
    """Serve the read-only reporting app (reports, charts, ad-hoc SQL on gold)."""
    warehouse = _check_warehouse(warehouse_url(data_dir))
    from reporting.serve import serve

    click.echo(f"Leadloop reports at http://{host}:{port} (Ctrl-C to stop)")
    serve(warehouse, host=host, port=port, max_rows=max_rows, timeout_seconds=timeout_seconds)


def _check_warehouse(url: str) -> Any:
    """The warehouse at `url`, once it is known to answer: a run against a Postgres that is down
    should stop here, in one line, not in the middle of a load."""
    from warehouse import Warehouse, WarehouseConfigError

    warehouse = Warehouse.from_url(url)
    if not warehouse.is_duckdb:
        try:
            warehouse.query("select 1")
        except WarehouseConfigError as exc:
            raise WarehouseConfigError(f"{exc} (is Postgres running? check LEADLOOP_WAREHOUSE_URL)") from None
    return warehouse


@contextmanager
def _status(message: str) -> Iterator[None]:
    """A spinner with the elapsed time on stderr while a long step runs (plain when not a tty)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


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
        with _status(f"generating {leads} leads into {world}"):
            replace_dir(world, lambda tmp: generate_world(tmp, leads=leads, seed=seed))
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


def is_user_error(exc: BaseException) -> bool:
    return any(cls.__name__ in USER_ERRORS for cls in type(exc).__mro__)


def main(argv: list[str] | None = None) -> None:
    """The console script: click's own errors and the known user errors as one line, exit 2."""
    try:
        code = cli.main(args=argv, prog_name="leadloop", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("leadloop: interrupted", err=True)
        raise SystemExit(130) from None
    except click.ClickException as exc:
        where = f" {exc.ctx.info_name}" if getattr(exc, "ctx", None) and exc.ctx.parent else ""
        click.echo(f"leadloop{where}: error: {exc.format_message()}", err=True)
        raise SystemExit(USER_ERROR_EXIT) from None
    except Exception as exc:
        if not is_user_error(exc):
            raise
        message = " ".join(str(exc).split())  # one line, however the message was wrapped
        click.echo(f"leadloop: error: {message}", err=True)
        raise SystemExit(USER_ERROR_EXIT) from None
    raise SystemExit(code if isinstance(code, int) else 0)
