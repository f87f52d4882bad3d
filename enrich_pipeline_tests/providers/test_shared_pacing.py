"""Pacing shared through the state folder (`pacing.sqlite`): one process, several processes on one
key and a process started right after another all stay under the provider's limit (the sandbox
counts every 429) while not wasting most of it. The rate itself (>= 95 % of the limit) is a speed
target, measured by benchmarks/pacing.py: on a loaded machine a starved process sends late through
no fault of the pacer, so these tests only hold a floor (FLOOR) that catches a pacer that waits
twice too long.

The sandbox runs in its own process at speed 0.1 (lemlist's 20 requests / 2 s become 20 / 200 ms),
as a provider would; the workers are real processes (WORKER), released together
by a line on their stdin once all are up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.shared_pacing import SharedPacer, SharedRule
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.server import free_port

SPEED = 0.1
LIMIT, WINDOW_S = 20, 2.0 * SPEED  # lemlist's documented 20 / 2 s, sped up
FLOOR = 0.5  # of the limit: a floor for a loaded machine; the 95 % target is benchmarks/pacing.py
KEY = SandboxConfig().lemlist_api_key
ROUTE = "GET /team/credits"

SERVE = (
    "import sys\n"
    "from enrich_pipeline.sandbox.config import SandboxConfig\n"
    "from enrich_pipeline.sandbox.server import serve_forever\n"
    "serve_forever(SandboxConfig(speed=float(sys.argv[1]), people=50, companies=10), "
    "'127.0.0.1', int(sys.argv[2]))\n"
)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(SPEED), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # uvicorn says when it listens: no polling
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("the sandbox process exited before listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sandbox_at_speed(sandbox_url: str) -> str:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    return sandbox_url


def client(url: str, state_dir: Path | None) -> LemlistClient:
    c = LemlistClient.create(KEY, base_url=f"{url}/lemlist/api", speed=SPEED)
    c.transport.share_pacing(state_dir)
    return c


def run_requests(c: LemlistClient, n: int) -> list[float]:
    """Answer times of `n` paced requests."""
    answered = []
    for _ in range(n):
        assert c.credits_remaining() == 100_000
        answered.append(time.time())
    return answered


def served(url: str) -> dict[str, int]:
    counters = httpx.get(f"{url}/_sandbox/counters").json()
    return counters["requests"].get("lemlist", {}).get(ROUTE, {})  # type: ignore[no-any-return]


def share_of_limit(answered: Sequence[float]) -> float:
    """Sustained rate over whole windows against LIMIT / WINDOW_S: a slot is reused once its send
    left the window, so request i + LIMIT follows request i by one (paced) window; measured from the
    first answer to the first of the last whole group."""
    times = sorted(answered)
    groups = (len(times) - 1) // LIMIT
    assert groups >= 2, "measure over at least two windows"
    rate = groups * LIMIT / (times[groups * LIMIT] - times[0])
    return rate / (LIMIT / WINDOW_S)


# A worker process: imports only the client, makes it, says ready, waits for `go`, then sends.
WORKER = """
import json, os, sys, time
from enrich_pipeline.providers.lemlist import LemlistClient
url, state_dir, n, speed = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client = LemlistClient.create(os.environ["PACING_TEST_KEY"], base_url=url + "/lemlist/api", speed=speed)
client.transport.share_pacing(None if state_dir == "-" else state_dir)
print("ready", flush=True)
sys.stdin.readline()
answered = []
for _ in range(n):
    client.credits_remaining()
    answered.append(time.time())
print(json.dumps({"answered": answered, **client.transport.stats}), flush=True)
client.close()
"""


class Worker:
    """A client in a process of its own, started by `go` (a line on its stdin)."""

    def __init__(self, url: str, state_dir: Path | None, n: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(state_dir or "-"), str(n), str(SPEED)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PACING_TEST_KEY": KEY},
        )
        assert self.process.stdout is not None and self.process.stdin is not None
        self.stdout, self.stdin = self.process.stdout, self.process.stdin

    def ready(self) -> None:
        assert self.stdout.readline().strip() == "ready"

    def go(self) -> None:
        self.stdin.write("go\n")
        self.stdin.flush()

    def result(self) -> dict[str, object]:
        out = json.loads(self.stdout.readline())
        assert self.process.wait(timeout=30) == 0
        return out  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- against the sandbox


def test_one_process_keeps_to_the_limit_without_a_429(
    sandbox_at_speed: str, tmp_path: Path
) -> None:
    c = client(sandbox_at_speed, tmp_path)
    answered = run_requests(c, 5 * LIMIT + 1)
    c.close()
    assert served(sandbox_at_speed) == {"200": 5 * LIMIT + 1}, "no 429"
    assert (tmp_path / "pacing.sqlite").exists()
    share = share_of_limit(answered)
    assert share >= FLOOR, f"{share:.3f} of the limit"


def test_three_processes_on_one_key_share_its_limit_without_a_429(
    sandbox_at_speed: str, tmp_path: Path
) -> None:
    workers = [Worker(sandbox_at_speed, tmp_path, 2 * LIMIT) for _ in range(3)]
    for w in workers:
        w.ready()
    for w in workers:
        w.go()
    results = [w.result() for w in workers]
    assert served(sandbox_at_speed) == {"200": 6 * LIMIT}, (
        "no 429 although three processes drive one key"
    )
    assert [r["rate_limited"] for r in results] == [0, 0, 0]
    answered = [t for r in results for t in r["answered"]]  # type: ignore[attr-defined]
    share = share_of_limit(answered)
    assert share >= FLOOR, f"together {share:.3f} of the one key's limit"


def test_a_process_started_right_after_another_meets_no_429(
    sandbox_at_speed: str, tmp_path: Path
) -> None:
    later = Worker(sandbox_at_speed, tmp_path, LIMIT)
    later.ready()  # up and waiting, so it starts within the first run's last window
    first = client(sandbox_at_speed, tmp_path)
    run_requests(first, 2 * LIMIT)  # its last window is full when it finishes
    first.close()
    later.go()
    result = later.result()
    assert served(sandbox_at_speed) == {"200": 3 * LIMIT}, "no 429 for the process that came next"
    assert result["rate_limited"] == 0
    assert result["paced_s"] > 0, "it waited for the first run's window, which it never saw"


# ----------------------------------------------------------------------------- the log itself


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def pacer(tmp_path: Path, clock: FakeClock) -> SharedPacer:
    return SharedPacer(
        tmp_path / "pacing.sqlite",
        margin=0.0,
        margin_s=0.0,
        inflight_s=60.0,
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_send_counts_from_its_answer_and_while_in_flight(tmp_path: Path) -> None:
    clock = FakeClock()
    rule = SharedRule("lemlist:abc:global:2/1", 2, 1.0)
    one, two = pacer(tmp_path, clock), pacer(tmp_path, clock)  # two processes' views of one file
    first = one.acquire([rule])
    two.acquire([rule])
    clock.t += 5.0  # the first is still in flight long after its window: it still counts
    started = clock.t
    one.settle(first)  # answered now: counts for one window from now
    third = two.acquire([rule])
    assert third.waited_s == pytest.approx(1.0)  # the second (in flight) frees at most 1 s on
    assert clock.t - started == pytest.approx(1.0)


def test_a_hold_and_a_clock_set_back_never_block_for_long(tmp_path: Path) -> None:
    clock = FakeClock()
    rule = SharedRule("thehog:abc:global:1/1", 1, 1.0)
    p = pacer(tmp_path, clock)
    p.settle(p.acquire([rule]))
    p.hold([rule.scope], 3.0)
    held = p.acquire([rule])
    assert held.waited_s == pytest.approx(3.0)  # the Retry-After, for everyone
    p.settle(held)
    clock.t -= 3_600.0  # the wall clock is set back an hour
    assert p.acquire([rule]).waited_s <= 1.0 + 1e-9  # at most one window, not an hour


def test_the_key_is_never_stored(sandbox_at_speed: str, tmp_path: Path) -> None:
    c = client(sandbox_at_speed, tmp_path)
    c.credits_remaining()
    c.close()
    assert KEY.encode() not in (tmp_path / "pacing.sqlite").read_bytes()
    wal = tmp_path / "pacing.sqlite-wal"
    assert not wal.exists() or KEY.encode() not in wal.read_bytes()


def test_the_resources_hand_every_client_the_ledger_folder(
    pipeline_env: object, tmp_path: Path
) -> None:
    from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
    from enrich_pipeline.settings import settings

    for resource in (LemlistResource, EnrichsoResource, ThehogResource):
        with resource(pacing_dir=str(tmp_path)).get_client() as named:
            assert named.transport.pacing_dir == tmp_path
        with resource().get_client() as default:  # sandbox mode: in process, unless asked
            assert default.transport.pacing_dir is None
        with resource(pacing_dir=str(settings().state_dir)).get_client() as shared:
            assert shared.transport.pacing_dir == settings().state_dir


def test_live_resources_pace_with_every_process_on_the_ledger_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real key is counted per key, whoever sends: live clients share the state folder's pace."""
    from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
    from enrich_pipeline.settings import settings

    for name in ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"):
        monkeypatch.setenv(name, f"test-{name.lower()}-0123456789")
    monkeypatch.setenv("ENRICH_MODE", "live")
    settings.cache_clear()
    try:
        for resource in (LemlistResource, EnrichsoResource, ThehogResource):
            with resource().get_client() as live:
                assert live.transport.pacing_dir == settings().state_dir
    finally:
        settings.cache_clear()
