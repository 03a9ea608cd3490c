"""Layers import one way (docs/ARCHITECTURE.md, README "How it fits together").

Every import in every module is read from source with `ast`, including imports inside functions,
so a lazy import cannot step around the rule. Each package may import only the packages below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {
    "warehouse",
    "ingestion",
    "silver",
    "expectations",
    "reverse_etl",
    "sandbox",
    "scoring",
    "reporting",
    "orchestration",
}

# package -> the project packages (or single modules) it may import besides itself
ALLOWED: dict[str, set[str]] = {
    "warehouse": set(),
    "ingestion": {"warehouse"},
    "silver": {"warehouse"},
    "expectations": {"warehouse"},
    "reverse_etl": {"warehouse"},
    # predictive scoring reads silver and gold tables through the warehouse only
    "scoring": {"warehouse"},
    # the reporting app reads gold through the warehouse switch, nothing else of ours
    "reporting": {"warehouse"},
    # the sandbox simulates what the codecs decode, so it may use them, and nothing else of ours
    "sandbox": {"warehouse", "ingestion.imb"},
    "orchestration": PROJECT_PACKAGES - {"orchestration"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def violations(package: str, root: Path = REPO) -> list[str]:
    allowed = ALLOWED[package]
    wrong = []
    for path in sorted((root / package).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top not in PROJECT_PACKAGES or top == package:
                continue
            if not any(module == a or module.startswith(a + ".") for a in allowed):
                wrong.append(f"{path.relative_to(root)}:{line} imports {module}")
    return wrong


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_layers_below(package: str) -> None:
    assert (REPO / package).is_dir(), f"{package}/ is a layer of the architecture"
    assert violations(package) == []


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself can fail: a bottom layer importing the top is reported, lazily or not."""
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "switch.py").write_text(
        "import os\n\ndef f():\n    from orchestration.resources import WarehouseResource\n"
    )
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "sandbox" / "gen.py").write_text("from ingestion.imb import encode\nimport ingestion.salesforce\n")
    assert violations("warehouse", tmp_path) == [
        "warehouse/switch.py:4 imports orchestration.resources.WarehouseResource"
    ]
    assert violations("sandbox", tmp_path) == ["sandbox/gen.py:2 imports ingestion.salesforce"]


def test_every_project_package_has_a_layer() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(ALLOWED)


def test_no_benchmark_script_shadows_a_package() -> None:
    """`python bench/x.py` puts bench/ first on sys.path: a bench/scoring.py would be what
    `import scoring` finds, for every benchmark that imports the pipeline."""
    scripts = {path.stem for path in (REPO / "bench").glob("*.py")}
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")}
    assert scripts and packages
    assert not scripts & packages
