# opsmetrics — every target is listed by `make help`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= small
SEED ?= 42
DATA_DIR ?= data/raw/$(SCALE)
TARGET ?= duckdb
export OPSMETRICS_DUCKDB_PATH ?= warehouse/opsmetrics.duckdb
export DBT_PROFILES_DIR := $(CURDIR)

.DEFAULT_GOAL := help
.PHONY: help venv demo generate load build docs docs-serve test lint format semantic-check test-fast kpis export-metrics quality test-postgres test-spark test-spark-incremental spark-cluster-demo clean forecast publish bi bi-serve test-bi test-docs dashboards report

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the pinned dependencies

demo: $(STAMP) ## Generate SCALE data, load it into DuckDB, dbt build, quality run, summary
	$(BIN)/opsmetrics demo --scale $(SCALE) --seed $(SEED) --out $(DATA_DIR)

generate: $(STAMP) ## Generate a raw data set (SCALE, SEED, DATA_DIR)
	$(BIN)/opsmetrics generate --scale $(SCALE) --seed $(SEED) --out $(DATA_DIR)

load: $(STAMP) ## Load DATA_DIR into the warehouse's raw schema
	$(BIN)/opsmetrics load --from $(DATA_DIR)

build: $(STAMP) ## dbt build on the default (DuckDB) target (one line if the warehouse is held)
	$(BIN)/opsmetrics build

quality: $(STAMP) ## GX suites via one checkpoint + Data Docs (TARGET); exit 1 failed, 2 engine error
	$(BIN)/opsmetrics quality --target $(TARGET)

docs: $(STAMP) ## Generate dbt docs (lineage, KPI formulas) into target/
	$(BIN)/dbt docs generate

docs-serve: docs ## Serve dbt docs on http://localhost:8080
	$(BIN)/dbt docs serve --port 8080

lint: $(STAMP) ## sqlfluff (dbt templater; macros' own SQL) + ruff lint and format check + yamllint
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests
	$(BIN)/yamllint --strict .
	OPSMETRICS_DUCKDB_PATH=target/lint.duckdb $(BIN)/sqlfluff lint models metrics macros analyses tests/dbt
	$(BIN)/python scripts/ci/lint_macros.py macros tests/dbt/generic

format: $(STAMP) ## Fix what ruff and sqlfluff can fix
	$(BIN)/ruff format scripts tests
	$(BIN)/ruff check --fix scripts tests
	OPSMETRICS_DUCKDB_PATH=target/lint.duckdb $(BIN)/sqlfluff fix models metrics macros analyses tests/dbt

test: $(STAMP) lint semantic-check ## The whole suite: lint, semantic checks, then pytest tests/python/unit + integration
	scripts/ci/ensure_chromium.sh
	$(BIN)/pytest tests/python/unit tests/python/integration

test-fast: $(STAMP) ## The unit tests only (tests/python/unit: no warehouse, seconds)
	$(BIN)/pytest tests/python/unit

semantic-check: $(STAMP) ## dbt parse + MetricFlow config validation of metrics/ (no warehouse needed)
	$(BIN)/dbt parse --quiet
	$(BIN)/mf validate-configs --skip-dw

kpis: $(STAMP) ## Regenerate docs/kpis.md, the KPI registry, from the semantic layer
	$(BIN)/opsmetrics kpis

export-metrics: $(STAMP) ## Materialise every saved query into the warehouse's metrics schema
	$(BIN)/opsmetrics export-metrics

.PHONY: alerts
alerts: $(STAMP) ## Export the metric tables, evaluate the alert rules and notify (TARGET)
	$(BIN)/opsmetrics export-metrics --target $(TARGET)
	$(BIN)/opsmetrics alerts evaluate --target $(TARGET)

test-postgres: $(STAMP) ## The Postgres suite (parity, an incremental daily run) on a throw-away server (or OPSMETRICS_PG_HOST's; Superset's: test-bi)
	OPSMETRICS_REQUIRE_POSTGRES=1 scripts/ci/with_postgres.sh $(BIN)/pytest -m 'postgres and not bi'

test-spark: $(STAMP) ## The tiny build on a local Spark (Java 17, installed where missing) equals DuckDB's
	scripts/ci/ensure_java.sh
	OPSMETRICS_TEST_SPARK=1 $(BIN)/pytest -m spark tests/python/integration

test-spark-incremental: $(STAMP) ## test-spark with the last day loaded and built incrementally (not in CI)
	scripts/ci/ensure_java.sh
	OPSMETRICS_TEST_SPARK=1 OPSMETRICS_SPARK_INCREMENTAL=1 $(BIN)/pytest -m spark tests/python/integration

spark-cluster-demo: $(STAMP) ## test-spark on a local Spark standalone cluster (master + worker; not in CI)
	scripts/spark/cluster_demo.sh

forecast: $(STAMP) ## Forecast the KPIs, capacity crossings and churn risk into schema forecasts (TARGET)
	$(BIN)/opsmetrics forecast --target $(TARGET)

# Issue 19: publishing, the BI client (Superset in its own venv) and dbt docs in a browser.
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed

publish: $(STAMP) ## Write the read-only snapshot BI tools open (after build + quality + export-metrics)
	$(BIN)/opsmetrics publish

$(BI_STAMP): bi/requirements.txt
	test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -r bi/requirements.txt
	touch $(BI_STAMP)

bi: $(STAMP) $(BI_STAMP) ## Superset in .venv-bi: the published snapshot (+ Postgres marts) and the KPI dashboard
	$(BIN)/opsmetrics bi-setup

bi-serve: bi ## Superset on http://127.0.0.1:8088 (admin password: .venv-bi/home/admin_password)
	$(BIN)/opsmetrics bi-serve --port 8088

test-bi: $(STAMP) $(BI_STAMP) ## Superset headless on 127.0.0.1 (+ a throw-away Postgres): datasets equal mf query
	OPSMETRICS_TEST_BI=1 OPSMETRICS_REQUIRE_POSTGRES=1 scripts/ci/with_postgres.sh \
		$(BIN)/pytest -m bi tests/python/integration

test-docs: $(STAMP) ## dbt docs in Debian's chromium: a mart page and the lineage graph
	scripts/ci/ensure_chromium.sh
	$(BIN)/pytest tests/python/integration/test_dbt_docs_browser.py

PORT ?= 8501
AUDIENCE ?= executive
# Empty: the last month ended by the data's as-of stamp (what the dashboards show).
PERIOD ?=
FORMAT ?= html
dashboards: $(STAMP) ## Serve the dashboards on http://127.0.0.1:PORT (TARGET; reads the published snapshot)
	$(BIN)/opsmetrics dashboards --port $(PORT) --target $(TARGET)

report: $(STAMP) ## KPI report of AUDIENCE for PERIOD (YYYY-MM, default the last ended) as FORMAT (html|pdf) under reports/
	$(BIN)/opsmetrics report --audience $(AUDIENCE) $(if $(PERIOD),--period $(PERIOD)) --format $(FORMAT) --target $(TARGET)

clean: ## Remove the warehouse, generated data and dbt artefacts
	rm -rf warehouse data target logs
