"""`make ui` stops everything it started: the real `make ui` on free ports and a temp DAGSTER_HOME,
stopped the three ways it is stopped in practice (SIGTERM to make, a terminal's Ctrl-C = SIGINT to
the foreground process group, one of its parts dying). Every process below make (supervisor,
sandbox, `dg dev`, webserver, daemon, code servers, their gRPC servers) must be gone and both ports
free again within a timeout. Slow (a webserver start-up per case), hence `faults`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.faults, pytest.mark.timeout(480)]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300  # uv sync when the lock changed, then the code location's first load
STOP_TIMEOUT_S = 75  # the supervisor's grace (UI_GRACE) is 30 s, then SIGKILL
# every kind of process `make ui` must start (and stop), matched in /proc/<pid>/cmdline
EXPECTED = {
    "supervisor": "enrich_pipeline.cli.ui",
    "sandbox": "enrich_pipeline.cli sandbox",
    "dg dev": "dg dev",
    "webserver": "dagster_webserver",
    "daemon": "dagster._daemon",
    "code server": "dagster code-server",
    "grpc server": "dagster api grpc",
    "webhook receiver": "enrich_pipeline.cli webhooks",  # WEBHOOK_PORT is set below
    "warm run worker": "enrich_pipeline.defs.warm_worker",  # the daemon starts it
}
LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat[stat.rfind(")") + 2 :].split()[:2]
    return state, int(ppid)


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _tree(root: int) -> dict[int, str]:
    """pid -> command line of `root` and every live process below it (parent links in /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) and stat[0] != "Z":
            children.setdefault(stat[1], []).append(int(name))
    found, stack = [root], [root]
    while stack:
        for pid in children.get(stack.pop(), []):
            found.append(pid)
            stack.append(pid)
    tree = {}
    for pid in found:
        with contextlib.suppress(OSError):
            tree[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return tree


def _missing(tree: dict[int, str]) -> list[str]:
    return [
        kind for kind, needle in EXPECTED.items() if not any(needle in c for c in tree.values())
    ]


def _port_free(port: int) -> bool:
    """Nobody listens on `port`, and a new server could bind it (as uvicorn does: SO_REUSEADDR)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class MakeUi:
    proc: subprocess.Popen[bytes]
    log: Path
    ui_port: int
    sandbox_port: int
    webhook_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def make_ui(tmp_path: Path) -> Iterator[MakeUi]:
    ui_port, sandbox_port, webhook_port = _free_port(), _free_port(), _free_port()
    home = tmp_path / "dagster_home"
    env = {
        **os.environ,
        "ENRICH_STATE_DIR": str(tmp_path / "state"),
        "ENRICH_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
    }
    for key in ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"):
        env.pop(key, None)
    env.pop("MAKEFLAGS", None)
    log = tmp_path / "make_ui.log"
    with log.open("wb") as out:
        # its own session, as a shell job: the whole group gets the terminal's SIGINT
        proc = subprocess.Popen(
            [
                "make",
                "-s",
                "ui",
                f"PORT={sandbox_port}",
                f"UI_PORT={ui_port}",
                f"WEBHOOK_PORT={webhook_port}",
                f"DAGSTER_HOME={home}",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui = MakeUi(proc, log, ui_port, sandbox_port, webhook_port)
    seen: dict[int, str] = {}
    try:
        yield ui
    finally:  # whatever happened, leave nothing behind
        seen.update(_tree(proc.pid))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in seen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_until_up(ui: MakeUi) -> dict[int, str]:
    """Poll /server_info until the webserver answers and every expected process runs."""
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"http://127.0.0.1:{ui.ui_port}"
    with httpx.Client(base_url=url, timeout=5) as http:
        while True:
            assert ui.proc.poll() is None, f"make ui exited early:\n{ui.output()}"
            assert time.monotonic() < deadline, f"UI not up in {START_TIMEOUT_S}s:\n{ui.output()}"
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/server_info").status_code == 200:
                    tree = _tree(ui.proc.pid)
                    if not _missing(tree):
                        return tree
            time.sleep(0.25)


def _locations(ui: MakeUi) -> list[dict]:
    url = f"http://127.0.0.1:{ui.ui_port}/graphql"
    answer = httpx.post(url, json={"query": LOCATIONS}, timeout=30).json()
    workspace = answer["data"]["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", answer
    return workspace["locationEntries"]


def _wait_until_loaded(ui: MakeUi) -> list[dict]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while (entries := _locations(ui)) and any(e["loadStatus"] == "LOADING" for e in entries):
        assert time.monotonic() < deadline, entries
        time.sleep(0.25)
    return entries


def _wait_until_gone(ui: MakeUi, pids: dict[int, str]) -> list[str]:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        left = [f"{pid}: {cmd[:100]}" for pid, cmd in pids.items() if _alive(pid)]
        if not left and ui.proc.poll() is not None:
            return []
        time.sleep(0.1)
    return left or ["make itself"]


@pytest.mark.parametrize("stop", ["sigterm_to_make", "ctrl_c_to_group", "sandbox_dies"])
def test_make_ui_stops_everything_it_started(make_ui: MakeUi, stop: str) -> None:
    tree = _wait_until_up(make_ui)
    entries = _wait_until_loaded(make_ui)
    assert [(e["name"], e["loadStatus"]) for e in entries] == [("enrich_pipeline", "LOADED")]
    assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", entries
    delivery = {"type": "enrichmentDone", "id": "enr_test_ui_stop"}  # stored, never interpreted
    answer = httpx.post(
        f"http://127.0.0.1:{make_ui.webhook_port}/lemlist", json=delivery, timeout=10
    )
    assert answer.is_success, answer.text
    tree.update(_tree(make_ui.proc.pid))  # everything started so far, collected before the signal

    started = time.monotonic()
    if stop == "sigterm_to_make":
        make_ui.proc.send_signal(signal.SIGTERM)
    elif stop == "ctrl_c_to_group":
        os.killpg(make_ui.proc.pid, signal.SIGINT)
    else:
        sandbox = next(p for p, c in tree.items() if EXPECTED["sandbox"] in c)
        os.kill(sandbox, signal.SIGKILL)

    left = _wait_until_gone(make_ui, tree)
    took = time.monotonic() - started
    assert not left, f"still running {STOP_TIMEOUT_S}s after {stop}: {left}\n{make_ui.output()}"
    assert make_ui.proc.returncode != 0  # make reports the interruption / the failed part
    assert _port_free(make_ui.ui_port), f"webserver port {make_ui.ui_port} still taken"
    assert _port_free(make_ui.sandbox_port), f"sandbox port {make_ui.sandbox_port} still taken"
    assert _port_free(make_ui.webhook_port), f"webhook port {make_ui.webhook_port} still taken"
    output = make_ui.output()
    assert "ui: stopped" in output, output
    assert "killing" not in output, f"needed SIGKILL after {took:.1f}s:\n{output}"
