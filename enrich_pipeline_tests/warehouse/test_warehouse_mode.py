"""A warehouse folder belongs to one mode, and SQL sees where each row came from."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from enrich_pipeline.mode import Mode
from enrich_pipeline.warehouse.storage import Warehouse, WarehouseModeError, connect_readonly

DAY = "2026-11-02"
ROWS = pa.table({"person_key": ["li:/in/alice-example"], "email": ["alice@example.test"]})


def test_rows_carry_their_origin_and_the_other_mode_is_refused(tmp_path: Path) -> None:
    live = Warehouse(tmp_path, mode=Mode.LIVE)
    live.write_partition("contacts", DAY, ROWS)
    live.write_partition("attempts_lemlist", DAY, ROWS, origin="live:api.lemlist.com")
    live.refresh_views()
    with connect_readonly(tmp_path) as db:
        assert db.sql("SELECT origin FROM contacts").fetchall() == [("live",)]
        assert db.sql("SELECT origin FROM enrichment_attempts").fetchall() == [
            ("live:api.lemlist.com",)
        ]
    assert live.read_partition("contacts", DAY).column_names == ROWS.column_names  # type: ignore[union-attr]
    with pytest.raises(WarehouseModeError, match="holds live rows and this is a sandbox run"):
        Warehouse(tmp_path, mode=Mode.SANDBOX).write_partition("contacts", DAY, ROWS)


def test_a_rewrite_keeps_the_origin(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path, mode=Mode.SANDBOX)
    warehouse.write_partition("attempts_thehog", DAY, ROWS, origin="sandbox:127.0.0.1")
    table = Warehouse(tmp_path).read_partition("attempts_thehog", DAY, with_origin=True)
    assert table is not None
    Warehouse(tmp_path).write_partition("attempts_thehog", DAY, table)  # e.g. an erasure
    again = warehouse.read_partition("attempts_thehog", DAY, with_origin=True)
    assert again is not None and again.column("origin").to_pylist() == ["sandbox:127.0.0.1"]
