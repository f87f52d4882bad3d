"""Fixtures of the spend tests: a ledger in the test's own state folder, and the Postgres server
fixtures (enrich_pipeline_tests/postgres_server.py): a server per xdist worker, started only when a
test asks for it. A test module may define its own `ledger` (the backend-parametrised one)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline_tests.postgres_server import postgres_server, postgres_url

__all__ = ["ledger", "postgres_server", "postgres_url"]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite")
    yield ledger
    ledger.close()
