"""A real Postgres server for the tests, started by the test run itself: no Docker, no root, no
system package. The binaries come from the `pgserver` wheel (dev group, pinned in uv.lock); this
module drives them directly (initdb, `pg_ctl start --wait`, `pg_ctl stop`) rather than through
pgserver's Python layer, which keeps its servers in a per-user runtime folder and, under root, adds
a system user.

One server per pytest-xdist worker (`postgres_server`, session-scoped): a throw-away cluster in a
temporary folder that listens only on a unix socket there (no port to collide on), with durability
off (fsync) since nothing outlives the session; stopped and deleted at the end. One fresh database
per test (`postgres_url`), so tests never see each other's rows.

Postgres refuses to run as root; when the tests run as root (CI here) the server runs as `nobody`.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NOBODY = 65534
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",  # a test cluster: speed over durability
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "120",  # the race test opens one per process, at once
    "shared_buffers": "32MB",
}


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("pgserver")  # located, not imported (its import has effects)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the Postgres tests need the `pgserver` package (dev group): run `make setup` "
            "(uv sync --frozen --all-groups)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _as_server_user() -> None:
    if os.geteuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


@dataclass
class PostgresServer:
    root: Path  # data folder, socket and log
    bin_dir: Path = field(default_factory=_bin_dir)
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.root}"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin_dir / tool), *args],
            preexec_fn=_as_server_user,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stderr}\n{log[-2000:]}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            os.chown(self.root, NOBODY, NOBODY)
            # The clone may sit where `nobody` cannot enter (/root is 0700): run a copy of the
            # binaries (34 MB, well under a second) from the server's own folder.
            # Same layout as in site-packages: the binaries' RPATH is $ORIGIN/../../../pgserver.libs.
            installed = self.bin_dir.parent  # .../site-packages/pgserver/pginstall
            site = self.root / "site"
            shutil.copytree(installed, site / "pgserver" / "pginstall", symlinks=True)
            shutil.copytree(installed.parent.parent / "pgserver.libs", site / "pgserver.libs")
            self.bin_dir = site / "pgserver" / "pginstall" / "bin"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        self._run(
            "pg_ctl",
            *(
                "start",
                "--wait",
                "--timeout=60",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
            ),
            *("-o", f"-k {self.root} {options}"),
        )
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "--wait", "-m", "immediate", "-D", str(self.data))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="enrich-pg-"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the worker's server (its URL)."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
