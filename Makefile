# Bootstraps from a machine with only python3 (>= 3.11) and make: gets uv if missing, builds .venv
# from uv.lock, then runs. Every target is safe to run on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
UV_TOOL_DIR := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(UV_TOOL_DIR)/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced
PORT ?= 8700
UI_PORT ?= 3000
UI_GRACE ?= 30
WEBHOOK_PORT ?=
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup run demo ui sandbox test test-faults test-deploy lint fmt clean

$(UV):
	@echo ">> uv not found: installing it into $(UV_TOOL_DIR)/ (one-off)"
	$(PYTHON) -m venv $(UV_TOOL_DIR)
	$(UV_TOOL_DIR)/bin/python -m pip install --quiet --disable-pip-version-check uv

# --compile-bytecode: every Dagster process (a run, a code server, a test's subprocess) would
# otherwise compile Dagster's sources again when PYTHONDONTWRITEBYTECODE is set (~2.5 s per start).
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-groups --compile-bytecode
	@touch $(STAMP)

setup: $(STAMP)
	@$(VENV)/bin/python -m compileall -q enrich_pipeline >/dev/null
	@mkdir -p $(DAGSTER_HOME)
	@cp -n config/dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true

# The main job end to end on the sample data: the sandbox stands in for any provider without a key.
run: setup
	$(VENV)/bin/enrich-pipeline run

# One enrichment per provider over HTTP against the sandbox (a smoke test of the emulator).
demo: setup
	$(VENV)/bin/enrich-pipeline demo

# The Dagster UI (`dg dev` on $(UI_PORT)) with the sample data; the sandbox runs beside it on $(PORT).
# One supervisor owns both: Ctrl-C, SIGTERM to make, or either part dying stops all of it
# (webserver, daemon, code servers, sandbox), SIGKILL after UI_GRACE seconds.
# WEBHOOK_PORT=8710: the webhook receiver runs beside them and runs take lemlist answers from it.
ui: setup
	exec $(VENV)/bin/python -m enrich_pipeline.cli.ui --port $(UI_PORT) --sandbox-port $(PORT) --grace $(UI_GRACE) $(if $(WEBHOOK_PORT),--webhook-port $(WEBHOOK_PORT))

sandbox: setup
	$(VENV)/bin/enrich-pipeline sandbox --port $(PORT)

test: setup
	$(VENV)/bin/python -m pytest -n 2 -q -m "not faults and not deploy"

# Ctrl-C, SIGTERM and kill -9 aimed at real `enrich-pipeline run` processes (slower; CI runs it too).
test-faults: setup
	$(VENV)/bin/python -m pytest -n 2 -q -m "faults and not deploy"

# The deployment end to end (deploy/, config/dagster-postgres.yaml): Postgres from the pgserver wheel
# on a free port, code server, webserver and dagster-daemon as separate processes, a 3-day backfill.
test-deploy: setup
	$(VENV)/bin/python -m pytest -q -m deploy

lint: setup
	$(VENV)/bin/ruff check enrich_pipeline enrich_pipeline_tests benchmarks
	$(VENV)/bin/ruff format --check enrich_pipeline enrich_pipeline_tests benchmarks

fmt: setup
	$(VENV)/bin/ruff format enrich_pipeline enrich_pipeline_tests benchmarks
	$(VENV)/bin/ruff check --fix enrich_pipeline enrich_pipeline_tests benchmarks

clean:
	rm -rf $(VENV) $(UV_TOOL_DIR) .pytest_cache .ruff_cache
