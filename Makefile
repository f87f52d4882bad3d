# Bootstraps from a machine with only python3 (>= 3.11) and make: gets uv if missing, builds .venv
# from uv.lock, then runs. Every target is safe to run on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
UV_TOOL_DIR := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(UV_TOOL_DIR)/bin/uv)
VENV := .venv
STAMP := $(VENV)/.synced
PORT ?= 8700
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: setup run sandbox test lint fmt clean

$(UV):
	@echo ">> uv not found: installing it into $(UV_TOOL_DIR)/ (one-off)"
	$(PYTHON) -m venv $(UV_TOOL_DIR)
	$(UV_TOOL_DIR)/bin/python -m pip install --quiet --disable-pip-version-check uv

$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-groups
	@touch $(STAMP)

setup: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)

run: setup
	$(VENV)/bin/enrich-pipeline demo

sandbox: setup
	$(VENV)/bin/enrich-pipeline sandbox --port $(PORT)

test: setup
	$(VENV)/bin/python -m pytest -n 2 -q

lint: setup
	$(VENV)/bin/ruff check enrich_pipeline enrich_pipeline_tests benchmarks
	$(VENV)/bin/ruff format --check enrich_pipeline enrich_pipeline_tests benchmarks

fmt: setup
	$(VENV)/bin/ruff format enrich_pipeline enrich_pipeline_tests benchmarks
	$(VENV)/bin/ruff check --fix enrich_pipeline enrich_pipeline_tests benchmarks

clean:
	rm -rf $(VENV) $(UV_TOOL_DIR) .pytest_cache .ruff_cache
