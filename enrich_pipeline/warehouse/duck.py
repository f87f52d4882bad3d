"""In-memory DuckDB sessions that build tables from Arrow (contacts, positions, channels, the
provider report): their working memory is capped, so on a large day DuckDB spills to a temporary
folder instead of growing the step's peak with the day."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

# Measured on a 100k-prospect day's provider report (~0.5M request rows): 481 MiB of working
# memory uncapped, 229 MiB with this cap, same rows; 512 MB would save little (416 MiB).
WORKING_MEMORY = "256MB"


def session() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database with capped working memory (use as a context manager)."""
    spill = Path(tempfile.gettempdir()) / "enrich_pipeline_duckdb"
    return duckdb.connect(config={"memory_limit": WORKING_MEMORY, "temp_directory": str(spill)})
