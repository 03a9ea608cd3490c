"""tenants.yaml: checked with one-line errors, and each tenant's environment holds only its own
warehouse, folders, credentials and scoring (no value of another tenant or of the shell)."""

import os
from pathlib import Path

import pytest
import yaml

from orchestration.tenants import TenantConfigError, demo_lanes, load_tenants, tenant_environment, workspace_document

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, tenants: list[dict]) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    return path


def test_the_example_file_loads_and_gives_each_tenant_its_own_folder_and_warehouse(tmp_path):
    tenants = load_tenants(REPO / "tenants.example.yaml", root=tmp_path)
    assert [t.name for t in tenants] == ["acme", "globex"]
    assert [t.data_dir for t in tenants] == [tmp_path / "tenants" / "acme", tmp_path / "tenants" / "globex"]
    assert tenants[0].warehouse().path == (tmp_path / "tenants" / "acme" / "warehouse.duckdb").resolve()
    assert tenants[0].warehouse() != tenants[1].warehouse()


@pytest.mark.parametrize(
    ("tenants", "message"),
    [
        ([{"name": "a"}, {"name": "a"}], "tenants a and a share the same name"),
        ([{"name": "Acme Corp"}], "name must be lower-case"),
        ([{"name": "a", "colour": "red"}], "tenant a: unknown key(s) colour"),
        ([{"name": "a", "warehouse_url": "postgresql://u:secret@h:5432/a"}], "holds a password"),
        ([{"name": "a", "credentials": {"SALESFORCE_ACCESS_TOKEN": "00Dxx!token"}}], "must be an env var NAME"),
        ([{"name": "a", "credentials": {"AWS_SECRET": "A_AWS"}}], "unknown variable(s) AWS_SECRET"),
        ([{"name": "a", "scoring": {"mql_score_threshold": "high"}}], "must be a number"),
        ([{"name": "a", "scoring": {"fit_bonus": 3}}], "scoring.fit_bonus is not one of"),
        ([{"name": "a", "data_dir": "x"}, {"name": "b", "data_dir": "x"}], "share the same data_dir"),
        (
            [
                {"name": "a", "warehouse_url": "duckdb:////w.duckdb"},
                {"name": "b", "warehouse_url": "duckdb:////w.duckdb"},
            ],
            "share the same warehouse and schema_prefix",
        ),
        (
            [
                {"name": "a", "warehouse_url": "postgresql://h/db", "schema_prefix": "x"},
                {"name": "b", "warehouse_url": "postgresql://h/db?schema_prefix=x"},
            ],
            "share the same warehouse and schema_prefix",
        ),
        ([{"name": "a", "schema_prefix": "a_b"}], "schema_prefix must be one lower-case word"),
        ([{"name": "a", "partner_configs": "/no/such/folder"}], "is not a folder of partner YAML files"),
    ],
)
def test_a_wrong_tenants_file_is_refused_in_one_line(tmp_path, tenants, message):
    with pytest.raises(TenantConfigError) as refused:
        load_tenants(write(tmp_path, tenants), root=tmp_path)
    assert message in str(refused.value)
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)


def test_a_tenant_environment_has_its_own_values_only_and_is_restored(tmp_path, monkeypatch):
    monkeypatch.setenv("A_SF_TOKEN", "token-of-a")
    monkeypatch.setenv("B_SF_TOKEN", "token-of-b")
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "the-shell's-own")
    monkeypatch.setenv("LEADLOOP_PRODUCT_DB_URL", "postgresql://shell@h/product")
    a, b = load_tenants(
        write(
            tmp_path,
            [
                {
                    "name": "a",
                    "credentials": {"SALESFORCE_ACCESS_TOKEN": "A_SF_TOKEN"},
                    "scoring": {"mql_score_threshold": 55},
                },
                {"name": "b", "credentials": {"SALESFORCE_ACCESS_TOKEN": "B_SF_TOKEN"}},
            ],
        ),
        root=tmp_path,
    )
    with tenant_environment(a):
        assert os.environ["SALESFORCE_ACCESS_TOKEN"] == "token-of-a"
        assert os.environ["LEADLOOP_VAR_MQL_SCORE_THRESHOLD"] == "55"
        assert "LEADLOOP_PRODUCT_DB_URL" not in os.environ  # the shell's product DB is not a's
        assert os.environ["LEADLOOP_DATA_DIR"] == str((tmp_path / "tenants" / "a").resolve())
        assert "tenants/a/" in os.environ["LEADLOOP_WAREHOUSE_URL"]
    with tenant_environment(b):
        assert os.environ["SALESFORCE_ACCESS_TOKEN"] == "token-of-b"
        assert "LEADLOOP_VAR_MQL_SCORE_THRESHOLD" not in os.environ  # a's override stays a's
        assert "tenants/b/" in os.environ["LEADLOOP_WAREHOUSE_URL"]
    assert os.environ["SALESFORCE_ACCESS_TOKEN"] == "the-shell's-own"
    assert os.environ["LEADLOOP_PRODUCT_DB_URL"] == "postgresql://shell@h/product"


def test_the_workspace_has_one_code_location_per_tenant(tmp_path):
    tenants = load_tenants(REPO / "tenants.example.yaml", root=tmp_path)
    locations = [entry["python_module"] for entry in workspace_document(tenants)["load_from"]]
    assert [(loc["location_name"], loc["attribute"]) for loc in locations] == [
        ("acme", "defs_acme"),
        ("globex", "defs_globex"),
    ]
    assert {loc["module_name"] for loc in locations} == {"orchestration.tenants"}


def test_tenants_share_one_warehouse_by_schema_prefix_each_with_its_own_partners(tmp_path):
    partners = tmp_path / "acme-partners"
    partners.mkdir()
    shipped = REPO / "ingestion" / "partner_files" / "partners" / "eastprint.yaml"
    (partners / "eastprint.yaml").write_text(shipped.read_text())
    shared = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    acme, globex = load_tenants(
        write(
            tmp_path,
            [
                {"name": "acme", "warehouse_url": shared, "schema_prefix": "acme", "partner_configs": str(partners)},
                {"name": "globex", "warehouse_url": shared, "schema_prefix": "globex"},
            ],
        ),
        root=tmp_path,
    )
    assert acme.warehouse().path == globex.warehouse().path
    assert (acme.warehouse().schema("gold"), globex.warehouse().schema("gold")) == ("acme_gold", "globex_gold")
    with tenant_environment(acme):
        assert os.environ["LEADLOOP_WAREHOUSE_URL"].endswith("shared.duckdb?schema_prefix=acme")
        assert os.environ["LEADLOOP_PARTNER_CONFIGS_DIR"] == str(partners.resolve())
    with tenant_environment(globex):
        assert "LEADLOOP_PARTNER_CONFIGS_DIR" not in os.environ  # the shipped partners, not acme's


def test_tenant_demos_run_side_by_side_except_tenants_sharing_a_duckdb_file(tmp_path, monkeypatch):
    monkeypatch.setenv("C_WAREHOUSE_URL", "postgresql://leadloop@db:5432/shared?schema_prefix=c")
    shared = f"duckdb:///{tmp_path / 'shared.duckdb'}"
    tenants = load_tenants(
        write(
            tmp_path,
            [
                {"name": "a", "warehouse_url": shared, "schema_prefix": "a"},
                {"name": "b"},
                {"name": "c", "warehouse_url_env": "C_WAREHOUSE_URL"},
                {"name": "d", "warehouse_url": shared, "schema_prefix": "d"},
                {"name": "e", "warehouse_url": "postgresql://leadloop@db:5432/shared", "schema_prefix": "e"},
            ],
        ),
        root=tmp_path,
    )
    lanes = [[(position, tenant.name) for position, tenant in lane] for lane in demo_lanes(tenants)]
    assert lanes == [[(0, "a"), (3, "d")], [(1, "b")], [(2, "c")], [(4, "e")]]
