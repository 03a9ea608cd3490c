"""Silver and gold: the dbt project as Dagster assets, its tests as asset checks.

Keys are `<schema>/<model>` (silver/…, gold/…), and dbt sources map to the bronze asset keys
(`bronze_<source>/<table>`), so the graph is one connected lineage.
"""

import fcntl
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetsDefinition,
    Output,
    TableSchema,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from orchestration import change_gate
from orchestration.dbt_forkserver import ensure_server
from orchestration.dbt_partial_parse import PARTIAL_PARSE_FILE, invocation_target, partial_parse
from orchestration.dbt_table_metadata import with_table_metadata
from orchestration.resources import LandingZoneResource, WarehouseResource
from scoring.score_history import history_metadata
from silver.routing.speed_to_lead import sli_metadata
from warehouse import Warehouse
from warehouse.duckdb_limits import DBT_MEMORY_LIMIT_ENV, resident_bytes

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# The dbt installed beside this interpreter, so a venv works without being on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
# What Dagster's dbt steps run: dbt forked from a warm process (orchestration/dbt_forkserver.py),
# or dbt itself where the package's console script is not installed.
FORKED_DBT_EXECUTABLE = str(Path(sys.executable).with_name("leadloop-dbt"))

# A run builds and tests the data; dbt's unit tests test the SQL against fixed inputs, so they run
# where the SQL changes (`make test`: tests/e2e/test_dbt_unit_tests.py; CI's `leadloop dbt
# build`), not in every run of the loop, where they were 39 of its nodes and a fifth of its dbt time.
PIPELINE_BUILD_ARGS = ("--exclude-resource-type", "unit_test")

# dbt sources that silver's Python assets write (identity resolution, enrichment, routing), not dlt.
SILVER_PYTHON_SOURCES = frozenset({"identity", "enrichment", "routing"})
SCORE_HISTORY = AssetKey(["gold", "lead_score_history"])
SPEED_TO_LEAD_SLIS = AssetKey(["gold", "speed_to_lead_slis"])

# The CLI points DBT_TARGET_PATH (and DBT_LOG_PATH) into the data dir, so a run's manifest and
# artifacts live with its warehouse, not in the checkout; unset, dbt's own `target/`.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=Path(os.environ.get("DBT_TARGET_PATH") or "target"),
)


class LeadloopDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it builds in Dagster's own process.

    Before starting each dbt subprocess, `DbtCliResource.cli` loads the profile and parses every
    macro in-process (2.5 s per invocation here, three invocations a loop) to hand the
    invocation an adapter. Only `fetch_column_metadata` and `fetch_row_counts` use it; this
    project reads row counts and column types from the warehouse once dbt has finished
    (`orchestration/dbt_table_metadata.py`), so dbt itself, in its subprocess, does all the work.
    """

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:  # dagster-dbt's hook, pinned
        return None

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        """Starts the fork server this process's dbt steps run through (once), then dbt."""
        if self.dbt_executable == FORKED_DBT_EXECUTABLE:
            ensure_server()
        return super().cli(args, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        """The version of the dbt beside this interpreter (`DBT_EXECUTABLE`), from its package
        metadata rather than by running `dbt --version` (2 s) once per resource."""
        return version.parse(importlib.metadata.version("dbt-core"))


def dbt_resource() -> DbtCliResource:
    forked = Path(FORKED_DBT_EXECUTABLE).exists()
    return LeadloopDbtCliResource(
        project_dir=dbt_project, dbt_executable=FORKED_DBT_EXECUTABLE if forked else DBT_EXECUTABLE
    )


def prepare_manifest(force: bool = False) -> Path:
    """Writes `target/manifest.json` with `dbt parse` when it is missing or older than any file
    of the project (or always, with force).

    The CLI, `dagster dev` and tests all come through here, so a fresh clone, or a checkout with
    new models, loads without a manual dbt step. dagster-dbt's own `prepare_if_dev` is not used:
    it re-parsed on every `dagster dev` start, in place, beside processes reading the manifest.
    """
    # One parse at a time across processes (test workers, `leadloop dev` beside a demo), and each
    # parse lands whole: dbt writes manifest.json as it goes, and a process that only reads it
    # (it takes no lock) once read half a manifest written by a `dagster dev` starting beside it.
    target = dbt_project.manifest_path.parent
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".prepare_manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or _manifest_is_stale(dbt_project.manifest_path):
            _parse_then_replace(target)
    return dbt_project.manifest_path


def _parse_then_replace(target: Path) -> None:
    """Parses into a private folder (seeded with the last parse, so dbt re-reads only what
    changed), then renames its files over the target's: a reader sees the old file or the new."""
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
    try:
        if (target / PARTIAL_PARSE_FILE).exists():
            shutil.copyfile(target / PARTIAL_PARSE_FILE, scratch / PARTIAL_PARSE_FILE)
        dbt_resource().cli(["parse", "--quiet"], target_path=scratch).wait()
        for written in scratch.iterdir():
            if written.is_file():
                os.replace(written, target / written.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _manifest_is_stale(manifest: Path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "seeds", "macros", "tests"):
        sources.extend(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return any(path.stat().st_mtime > built for path in sources)


class LeadloopDbtTranslator(DagsterDbtTranslator):
    def __init__(self, *args: Any, other_steps_tests: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._other_steps_tests = other_steps_tests

    def get_asset_check_spec(
        self, asset_spec: Any, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetCheckSpec | None:
        """A source's test is a check of one dbt step only (see `source_test_steps`)."""
        if unique_id in self._other_steps_tests:
            return None
        return super().get_asset_check_spec(asset_spec, manifest, unique_id, project)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] in SILVER_PYTHON_SOURCES:  # written by Python assets
                return AssetKey(["silver", dbt_resource_props["name"]])
            return AssetKey([f"bronze_{dbt_resource_props['source_name']}", dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or "silver"
        return AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema") or "silver"


# The Python assets between dbt models, and the step after which their dbt readers run: dbt
# cannot run in one step, because identity resolution reads staging and the people models read
# identity, and enrichment sits between the people and the scores.
STEP_NAMES = ("dbt_staging", "dbt_people", "dbt_scoring")
# The step that decides whether the rest of the loop has anything new to do (change_gate).
GATE_STEP = STEP_NAMES[0]
SOURCE_STEP = {"identity": 1, "enrichment": 2}


def _steps_by_node(manifest: Mapping[str, Any]) -> dict[str, int]:
    """Each model, seed and snapshot (by unique id) and its step: the latest step of its parents,
    or the one after the Python asset a `SOURCE_STEP` source comes from."""
    nodes = {
        uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] in {"model", "seed", "snapshot"}
    }
    sources = manifest.get("sources", {})
    steps: dict[str, int] = {}

    def step_of(uid: str) -> int:
        if uid not in steps:
            parents = nodes[uid].get("depends_on", {}).get("nodes", [])
            steps[uid] = max(
                [step_of(p) for p in parents if p in nodes]
                + [SOURCE_STEP.get(sources[p]["source_name"], 0) for p in parents if p in sources]
                + [0]
            )
        return steps[uid]

    for uid in nodes:
        step_of(uid)
    return steps


def dbt_steps(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """The project's models and seeds by the step that builds them (named in STEP_NAMES).

    Left to itself Dagster splits one dbt asset at the same places but names the steps
    `leadloop_dbt`, `leadloop_dbt_2`, …, which says nothing in the UI or in a failure alert."""
    by_step: dict[str, list[str]] = {}
    for uid, step in sorted(_steps_by_node(manifest).items()):
        by_step.setdefault(_step_name(step), []).append(manifest["nodes"][uid]["name"])
    return by_step


def _step_name(step: int) -> str:
    return STEP_NAMES[min(step, len(STEP_NAMES) - 1)]


def source_test_steps(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Each test of a dbt source (a check on a bronze or Python asset, by unique id) and the one
    step that owns it: the first step with a model that reads the source (dagster-dbt offers a
    source's tests only to the steps reading it), so no two steps define the same check."""
    steps = _steps_by_node(manifest)
    readers: dict[str, list[int]] = {}
    for uid, step in steps.items():
        for parent in manifest["nodes"][uid].get("depends_on", {}).get("nodes", []):
            readers.setdefault(parent, []).append(step)
    sources = manifest.get("sources", {})
    found = {}
    for uid, node in manifest["nodes"].items():
        parents = [p for p in node.get("depends_on", {}).get("nodes", []) if p in sources]
        if node["resource_type"] == "test" and parents:
            first = [min(readers.get(p) or [SOURCE_STEP.get(sources[p]["source_name"], 0)]) for p in parents]
            found[uid] = _step_name(max(first))
    return found


def build_dbt_assets() -> list[AssetsDefinition]:
    """One dbt multi-asset per step of `dbt_steps`, each named for what it builds."""
    manifest = json.loads(prepare_manifest().read_text())
    tests = source_test_steps(manifest)
    return [
        _dbt_step(
            name,
            # A source's tests are selected by name: dbt selects no test of a source that is not
            # itself selected, whatever the indirect selection, so the step would define their
            # checks and never run them.
            names + sorted(manifest["nodes"][test]["name"] for test, step in tests.items() if step == name),
            frozenset(test for test, step in tests.items() if step != name),
        )
        for name, names in dbt_steps(manifest).items()
    ]


def _dbt_step(step: str, names: list[str], other_steps_tests: frozenset[str]) -> AssetsDefinition:
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        name=step,
        select=" ".join(names),
        # Source tests (unique ids in bronze) become checks on the bronze assets they test.
        dagster_dbt_translator=LeadloopDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True),
            other_steps_tests=other_steps_tests,
        ),
        pool="warehouse",
    )
    def leadloop_dbt(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, landing: LandingZoneResource
    ) -> Iterator[Any]:
        target_warehouse = warehouse.get()
        step_name = context.op_execution_context.op.name
        # The first step after the loads decides for the rest of the loop (orchestration/change_gate.py);
        # a run of some of its assets only (a click on one asset) is asked for on purpose and runs.
        whole_step = set(context.selected_asset_keys) == set(context.assets_def.keys)
        if step_name == GATE_STEP and whole_step:
            decision = change_gate.decide(
                target_warehouse,
                landing.events(),
                run_id=context.run.run_id,
                forced=change_gate.is_full_run(context.run.tags),
            )
            context.log.info(decision.reason)
            if decision.skip:
                # No output: Dagster skips every step downstream ("skipped dependencies").
                for key in sorted(context.selected_asset_keys):
                    yield AssetObservation(
                        asset_key=key,
                        metadata={
                            "skipped": decision.reason,
                            "unchanged_since_run": decision.unchanged_since_run or "",
                            "inputs_fingerprint": decision.fingerprint[:16],
                        },
                    )
                return
        # dagster-dbt hands os.environ to the dbt subprocess; profiles.yml reads these.
        os.environ.update(target_warehouse.dbt_env())
        # Identity resolution (Python) sits between staging and the models after it, so Dagster
        # runs dbt in several steps; "buildable" keeps a test with two parents (a relationship to
        # a seed) for the step that builds its last parent, instead of running it too early.
        os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")
        target = invocation_target(DBT_PROJECT_DIR, context.op_execution_context.op.name, context.run.run_id)
        with partial_parse(DBT_PROJECT_DIR, target_warehouse, target):
            history_built = False
            with _dbt_memory_beside_this_process(target_warehouse):
                invocation = dbt.cli(["build", *PIPELINE_BUILD_ARGS], context=context, target_path=target)
            events = invocation.stream()
            # Row counts and typed columns on each materialization (see dbt_table_metadata).
            for event in with_table_metadata(events, target_warehouse, _asset_key_of(context), _documented(context)):
                if isinstance(event, Output) and context.asset_key_for_output(event.output_name) == SCORE_HISTORY:
                    history_built = True
                if isinstance(event, Output) and context.asset_key_for_output(event.output_name) == SPEED_TO_LEAD_SLIS:
                    # The SLIs on the SLI asset's own materialization (dbt has exited: the events
                    # are held until then, so the warehouse is free to read).
                    event = event.with_metadata({**(event.metadata or {}), **sli_metadata(target_warehouse)})
                yield event
        if history_built:
            # The score moves of this build, shown on the history asset in the UI. Read once dbt
            # has exited (DuckDB lets one process at a time open the file), so as an observation:
            # the materialization itself went out in dbt's order.
            yield AssetObservation(asset_key=SCORE_HISTORY, metadata=history_metadata(target_warehouse))
        if whole_step:  # a part of the step built is not the step done
            change_gate.record_success(target_warehouse, step_name, context.run.run_id)

    return leadloop_dbt


@contextmanager
def _dbt_memory_beside_this_process(warehouse: Warehouse) -> Iterator[None]:
    """dbt's DuckDB gets the share less what this process holds (`DuckDBLimits.less`, as identity
    resolution's does), for the one invocation started inside: on DuckDB the lead loop's steps
    all run in this process, which held 1.2-1.8 GB through the dbt steps at 1M leads, and dbt,
    given the whole 3 GB beside it, took the process tree to 4.1-4.5 GB. The variable is read by
    dbt's plugin only (warehouse/dbt_duckdb_plugin.py), never by this process's own DuckDBs."""
    if not warehouse.is_duckdb:
        yield
        return
    share = warehouse.duckdb_limits().less(resident_bytes())
    before = os.environ.get(DBT_MEMORY_LIMIT_ENV)
    os.environ[DBT_MEMORY_LIMIT_ENV] = share.memory_limit  # dagster-dbt copies the environment
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DBT_MEMORY_LIMIT_ENV, None)
        else:
            os.environ[DBT_MEMORY_LIMIT_ENV] = before


def _asset_key_of(context: AssetExecutionContext) -> Any:
    def key_of(event: Any) -> AssetKey | None:
        if isinstance(event, Output):
            return context.asset_key_for_output(event.output_name)
        return getattr(event, "asset_key", None)

    return key_of


def _documented(context: AssetExecutionContext) -> dict[AssetKey, TableSchema]:
    """The column descriptions dbt's docs give each model, as dagster-dbt put them on its specs."""
    documented = {}
    for key, spec in context.assets_def.specs_by_key.items():
        value = spec.metadata.get("dagster/column_schema")
        if value is not None:
            documented[key] = getattr(value, "schema", value)
    return documented
