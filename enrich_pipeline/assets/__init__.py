"""Thin Dagster assets over the plain-Python pipeline (ingest, runner, flatten, warehouse)."""
