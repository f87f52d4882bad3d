"""The deployment's processes on this machine, for the end-to-end test: what deploy/docker-compose.yml
runs in containers, run here as plain processes on free local ports.

`TcpPostgresServer` is the suite's Postgres fixture server (postgres_server.py) listening on
127.0.0.1 as well, because Dagster's `postgres_db` config (config/dagster-postgres.yaml) names a
host and a port. `Stack` starts each command in a session of its own and stops every one of them,
with whatever it started (the code server's run workers), by process group, even when the test
failed; each keeps its output in a log whose tail a failure shows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from enrich_pipeline_tests.postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's console scripts: dagster, dagster-webserver, ...
POLL_S = 0.2
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TcpPostgresServer(PostgresServer):
    """The fixture server, also on 127.0.0.1:`port` (pg_ctl passes every -o on to postgres, and
    a later -c wins over the fixture's listen_addresses='')."""

    port: int = field(default_factory=free_port)

    def _run(self, tool: str, *args: str) -> None:
        if tool == "pg_ctl" and args[:1] == ("start",):
            args = (*args, "-o", f"-c listen_addresses=127.0.0.1 -c port={self.port}")
        super()._run(tool, *args)

    def url(self, database: str = "postgres") -> str:
        # the socket's name carries the port too (.s.PGSQL.<port>)
        return f"{super().url(database)}&port={self.port}"

    def tcp_url(self, database: str, user: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def create_role_with_databases(self, user: str, password: str, *databases: str) -> None:
        """A login role owning new databases: what a platform team hands the deployment."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
            for database in databases:
                admin.execute(f"CREATE DATABASE {database} OWNER {user}")


def workspace_for(code_port: int) -> dict[str, Any]:
    """deploy/workspace.yaml with the code server on this machine at `code_port`."""
    workspace = yaml.safe_load((REPO / "deploy" / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    entry["grpc_server"] |= {"host": "127.0.0.1", "port": code_port}
    return workspace


@dataclass
class Stack:
    """Processes started from `logs`; `stop()` ends all of them (and their children)."""

    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )
        self.processes[name] = process
        return process

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.tail(name)}")

    def wait_for(self, what: str, ready: Callable[[], T | None], timeout_s: float) -> T:
        """`ready()` until it returns something truthy; fails when a process dies or time's up."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check_alive()
            with contextlib.suppress(httpx.HTTPError, OSError):
                if value := ready():
                    return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout_s:.0f} s\n{self.tails()}")
            time.sleep(POLL_S)

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {name} (last {chars} chars)\n{text[-chars:]}"

    def tails(self) -> str:
        return "\n".join(self.tail(name, 1500) for name in self.processes)

    def stop(self) -> None:
        """SIGTERM to every group (the code server stops its run workers), SIGKILL after 10 s."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group this test started
            process.wait()


@contextlib.contextmanager
def running(logs: Path) -> Iterator[Stack]:
    stack = Stack(logs)
    try:
        yield stack
    finally:
        stack.stop()


class GraphQL:
    """The webserver's /graphql endpoint, as the UI calls it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=60)

    def __call__(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(
            f"{self.url}/graphql", json={"query": document, "variables": variables or {}}
        )
        if response.is_error:
            raise AssertionError(f"GraphQL {response.status_code}: {response.text[:3000]}")
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data
