"""A Postgres server on a free local TCP port for the deployment tests, started only when a test
asks for it (the suite's fixture server, see stack.TcpPostgresServer)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich_pipeline_tests.deploy.stack import TcpPostgresServer


@pytest.fixture(scope="module")
def tcp_postgres() -> Iterator[TcpPostgresServer]:
    server = TcpPostgresServer(Path(tempfile.mkdtemp(prefix="enrich-pg-tcp-"))).start()
    try:
        yield server
    finally:
        server.stop()
