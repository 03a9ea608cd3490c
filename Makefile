# The README's commands. Each target creates .venv if missing and installs with the pinned
# constraints, so a fresh clone needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.leadloop-installed

.PHONY: install demo test dev lint dbt-build bench bench-all clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install  ## Run the whole lead loop once (DuckDB + local sandbox) and print a summary
	$(BIN)/leadloop demo

test: install  ## Unit, integration and end-to-end tests (Postgres tests skip without a server), one worker per core
	$(BIN)/pytest -n auto --dist loadgroup

dev: install  ## Sandbox + Dagster UI on http://127.0.0.1:3000
	$(BIN)/leadloop dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

dbt-build: install  ## dbt build (models, data tests, unit tests) on $$LEADLOOP_WAREHOUSE_URL
	$(BIN)/leadloop dbt build

bench: install  ## One report (bench/report.py) at LEADLOOP_BENCH_LEADS (default 100k): bench/results/report-<leads>.json
	$(BIN)/python bench/report.py

bench-all: install  ## Every benchmark on its own; each prints one JSON object
	@for script in bench/*.py; do case "$$script" in bench/harness.py|bench/report.py) ;; *) $(BIN)/python $$script || exit 1;; esac; done

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
