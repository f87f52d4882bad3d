"""lemlist results by webhook against polling: requests made and wall time for one provider run of
N people at the documented limits (sandbox speed 1: 20 requests / 2 s, a job takes 3.5 s).

The sandbox runs in its own process; so does the webhook receiver (`enrich-pipeline webhooks`, the
command a user starts beside `make ui`), writing deliveries to the ledger the run reads. Each mode
starts from a reset sandbox (the same seeded world) and a fresh ledger, and runs `run_provider`, as
the lemlist asset does, with the client's default pacing, poll interval and webhook grace:

* polling: one bulk submit per 500 people, then `GET /enrich/{id}` per enrichment until done;
* webhooks: the same submits carry `webhookUrl`; answers are read from the stored deliveries, and
  only enrichments still without one after the grace (ENRICH_WEBHOOK_GRACE_S, 30 s) are polled.

Both must record the same answers and credits (checked; exit 2 otherwise).

    .venv/bin/python benchmarks/webhooks_vs_polling.py          # N = 500, about 1.5 min
    .venv/bin/python benchmarks/webhooks_vs_polling.py 2000     # about 4.5 min
    .venv/bin/python benchmarks/webhooks_vs_polling.py --drop 0.05   # 5 % of deliveries lost
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from enrich_pipeline.model import EnrichmentRequest, WantedField
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.sandbox.app import PREFIXES
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.server import free_port
from enrich_pipeline.sandbox.world import World
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline.webhooks.receiver import webhook_url

DAY = "2026-11-02"
POLL = "GET /enrich/{enrichId}"
RATE_WINDOW_S = 2.0  # lemlist: 20 requests / 2 s per key (providers.md 1.1)
SERVE = (
    "import sys\n"
    "from enrich_pipeline.sandbox.config import SandboxConfig\n"
    "from enrich_pipeline.sandbox.server import serve_forever\n"
    "serve_forever(SandboxConfig(seed=int(sys.argv[1]), people=int(sys.argv[2]), "
    "companies=int(sys.argv[3])), '127.0.0.1', int(sys.argv[4]))\n"
)


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s}s")


def one_mode(
    sandbox_url: str,
    requests: list[EnrichmentRequest],
    ledger_path: Path,
    hooks: str | None,
    drop: float = 0.0,
) -> dict[str, Any]:
    httpx.post(f"{sandbox_url}/_sandbox/reset").raise_for_status()
    if drop > 0:
        rule = {"provider": "lemlist", "kind": "webhook_drop", "probability": drop}
        httpx.post(f"{sandbox_url}/_sandbox/faults", json=rule).raise_for_status()
    client = LemlistClient.create(
        SandboxConfig().lemlist_api_key, base_url=sandbox_url + PREFIXES["lemlist"]
    )
    ledger = Ledger(ledger_path)
    settings = RunSettings(batch_max=500, webhook_url=webhook_url(hooks, "lemlist"))
    started, started_at = time.perf_counter(), time.time()
    try:
        run = run_provider("lemlist", client, ledger, DAY, requests, settings, on_progress=None)
        wall = time.perf_counter() - started
        received = [
            datetime.fromisoformat(str(at)).timestamp() - started_at
            for (at,) in ledger._db.execute("SELECT received_at FROM webhook_deliveries")
        ]
        answers = {
            s.result.person_key: (s.result.record_status, s.result.email, s.result.cost_credits)
            for s in ledger.results(day=DAY, provider="lemlist")
        }
    finally:
        client.close()
        ledger.close()
    counters = httpx.get(f"{sandbox_url}/_sandbox/counters").json()
    routes = counters["requests"].get("lemlist", {})
    return {
        "wall": wall,
        "requests": counters["requests_total"].get("lemlist", 0),
        "polls": sum(routes.get(POLL, {}).values()),
        "credits": counters["credits_net"].get("lemlist", 0),
        "run_credits": run.credits_spent,
        "answers": answers,
        "last_delivery": max(received, default=float("nan")),
        # delivered = the receiver answered 2xx (so it is in the ledger); not the dropped ones
        "deliveries": sum(
            n
            for event in counters["webhooks"].get("lemlist", {}).values()
            for outcome, n in event.items()
            if outcome.startswith("http_2")
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=500, help="people (default 500)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--drop",
        type=float,
        default=0.0,
        help="share of webhook deliveries the sandbox loses (webhook_drop fault), e.g. 0.05",
    )
    args = parser.parse_args()
    people, companies = max(args.n, 1000), max(args.n // 6, 200)
    world = World.build(args.seed, people, companies)
    requests = [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            linkedin_url=p.linkedin_url,
            fields=frozenset({WantedField.EMAIL, WantedField.PHONE, WantedField.LINKEDIN}),
        )
        for p in world.people[: args.n]
    ]
    sandbox_port, hooks_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as tmp:
        state = Path(tmp) / "state"
        env = {**os.environ, "ENRICH_STATE_DIR": str(state), "ENRICH_MODE": "sandbox"}
        env.pop("ENRICH_LEDGER_URL", None)
        sandbox = subprocess.Popen(
            [sys.executable, "-c", SERVE, *map(str, (args.seed, people, companies, sandbox_port))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        receiver = subprocess.Popen(
            [sys.executable, "-m", "enrich_pipeline.cli", "webhooks", "--port", str(hooks_port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port(sandbox_port, sandbox)
            wait_for_port(hooks_port, receiver)
            url = f"http://127.0.0.1:{sandbox_port}"
            lost = f", {args.drop:.0%} of deliveries lost" if args.drop else ""
            print(f"lemlist, sandbox speed 1 (20 req / 2 s, jobs 3.5 s), {args.n} people{lost}")
            polling = one_mode(url, requests, Path(tmp) / "polling.sqlite", None)
            hooks = f"http://127.0.0.1:{hooks_port}"
            # The key's pacing is per process and outlives a client: let the polling run's rate
            # window pass, or the webhook run's submit would wait for it.
            time.sleep(2 * RATE_WINDOW_S)
            webhooks = one_mode(url, requests, state / "ledger.sqlite", hooks, args.drop)
        finally:
            for process in (receiver, sandbox):
                process.terminate()
                process.wait(timeout=10)
    print(
        f"{'mode':9} {'wall s':>7} {'requests':>8} {'polls':>6} {'deliveries':>10} "
        f"{'last delivery s':>15} {'credits':>7}"
    )
    for name, m in (("polling", polling), ("webhooks", webhooks)):
        print(
            f"{name:9} {m['wall']:7.1f} {m['requests']:8d} {m['polls']:6d} "
            f"{m['deliveries']:10d} {m['last_delivery']:15.1f} {m['credits']:7d}"
        )
    same = (
        polling["answers"] == webhooks["answers"]
        and polling["credits"] == webhooks["credits"] == webhooks["run_credits"]
        and len(webhooks["answers"]) == args.n
    )
    print("same answers and credits in both modes" if same else "MISMATCH between the modes")
    print(
        f"ratio={polling['wall'] / webhooks['wall']:.1f} "
        f"requests_polling={polling['requests']} requests_webhooks={webhooks['requests']}"
    )
    return 0 if same else 2


if __name__ == "__main__":
    sys.exit(main())
