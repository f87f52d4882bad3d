"""Pacing at the ceiling: per provider, the rate achieved against the documented limit, and the 429s
the provider counted, for one process and for three processes sharing one key and one state folder
(the shared pacing in `<state dir>/pacing.sqlite`, enrich_pipeline/providers/shared_pacing.py).

The sandbox (the project's emulator, which enforces the documented limits) runs in its own process
at `--speed` (default 0.1: every rate window is a tenth of the documented one). Each measurement
starts with a reset sandbox and a fresh state folder; the workers are real processes, released
together once all are up. Cheap routes only: lemlist GET /team/credits, enrich.so GET
/wallets/balance, The Hog GET /api/operations.

The rate counted is the sustained one: a slot is reused once its send left the window, so it is
measured over whole windows (from the first answer to the first answer of the last whole group),
as `limit * groups / time`, against `limit / window`. enrich.so (growth plan) shows both of its
global rules: the 1-second burst rule over the first sustained window's requests, and the rolling
60 s rule over all.

    .venv/bin/python benchmarks/pacing.py                  # speed 0.1, two windows: about 1.5 min
    .venv/bin/python benchmarks/pacing.py --speed 1 --providers lemlist
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import httpx

from enrich_pipeline.sandbox.app import PREFIXES
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.server import free_port

TARGET = 0.95


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_s: float  # documented (speed 1)
    first: int | None = None  # measured over the first N answers only (None: all)


# The documented limits the benchmark drives each provider into (providers.md 1.1, 2.1, 3.7).
RULES: dict[str, list[Rule]] = {
    "lemlist": [Rule("20 req / 2 s per key", 20, 2.0)],
    "enrichso": [
        Rule("growth burst 25 req / 1 s", 25, 1.0, first=300),
        Rule("growth sustained 300 req / 60 s", 300, 60.0),
    ],
    "thehog": [Rule("600 req / 60 s", 600, 60.0)],
}
BINDING = {"lemlist": 20, "enrichso": 300, "thehog": 600}  # the limit that sets the long-run pace

SERVE = (
    "import sys\n"
    "from enrich_pipeline.sandbox.config import SandboxConfig\n"
    "from enrich_pipeline.sandbox.server import serve_forever\n"
    "serve_forever(SandboxConfig(speed=float(sys.argv[1]), people=50, companies=10), "
    "'127.0.0.1', int(sys.argv[2]))\n"
)

WORKER = """
import json, os, sys, time
provider, base, state_dir, n, speed = sys.argv[1:6]
n, speed = int(n), float(speed)
if provider == "lemlist":
    from enrich_pipeline.providers.lemlist import LemlistClient
    client = LemlistClient.create(os.environ["KEY1"], base_url=base, speed=speed)
    call = client.credits_remaining
elif provider == "enrichso":
    from enrich_pipeline.providers.enrichso import EnrichsoClient
    client = EnrichsoClient.create(os.environ["KEY1"], base_url=base, speed=speed)
    call = client.credits_remaining
else:
    from enrich_pipeline.providers.thehog import ThehogClient
    client = ThehogClient.create(os.environ["KEY1"], os.environ["KEY2"], base_url=base, speed=speed)
    def call():
        client.transport.request_json("GET", "/api/operations", idempotent=True)
client.transport.share_pacing(state_dir)
print("ready", flush=True)
sys.stdin.readline()
answered = []
for _ in range(n):
    call()
    answered.append(time.time())
print(json.dumps({"answered": answered, **client.transport.stats}), flush=True)
client.close()
"""


def share(answered: list[float], rule: Rule, speed: float) -> float:
    times = sorted(answered)[: rule.first] if rule.first else sorted(answered)
    groups = (len(times) - 1) // rule.limit
    if groups < 1:
        return float("nan")
    rate = groups * rule.limit / (times[groups * rule.limit] - times[0])
    return rate / (rule.limit / (rule.window_s * speed))


def measure(url: str, provider: str, processes: int, requests: int, speed: float) -> dict:
    httpx.post(f"{url}/_sandbox/reset").raise_for_status()
    config = SandboxConfig()
    keys = {
        "lemlist": (config.lemlist_api_key, ""),
        "enrichso": (config.enrichso_api_key, ""),
        "thehog": (config.thehog_access_key, config.thehog_secret_key),
    }[provider]
    env = {**os.environ, "KEY1": keys[0], "KEY2": keys[1]}
    with tempfile.TemporaryDirectory(prefix="pacing-bench-") as state_dir:
        share_n = [requests // processes + (i < requests % processes) for i in range(processes)]
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    provider,
                    url + PREFIXES[provider],
                    state_dir,
                    *(str(n), str(speed)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for n in share_n
        ]
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = []
        for w in workers:
            assert w.stdout is not None
            results.append(json.loads(w.stdout.readline()))
            w.wait(timeout=60)
    counters = httpx.get(f"{url}/_sandbox/counters").json()["requests"].get(provider, {})
    too_many = sum(statuses.get("429", 0) for statuses in counters.values())
    answered = [t for r in results for t in r["answered"]]
    return {
        "shares": {rule.name: share(answered, rule, speed) for rule in RULES[provider]},
        "429": too_many,
        "requests": len(answered),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=0.1)
    parser.add_argument("--windows", type=int, default=2, help="whole windows of the binding limit")
    parser.add_argument("--providers", default="lemlist,enrichso,thehog")
    args = parser.parse_args()

    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(args.speed), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    worst = float("inf")
    total_429 = 0
    try:
        assert sandbox.stderr is not None
        for line in sandbox.stderr:
            if "Uvicorn running on" in line:
                break
        print(f"sandbox speed {args.speed}; windows of the binding limit: {args.windows}")
        print(f"{'provider':9} {'processes':>9} {'requests':>8} {'429s':>5}  achieved/ceiling")
        for provider in args.providers.split(","):
            requests = BINDING[provider] * args.windows + 1
            for processes in (1, 3):
                result = measure(url, provider, processes, requests, args.speed)
                total_429 += result["429"]
                shares = "; ".join(f"{name}: {s:.3f}" for name, s in result["shares"].items())
                worst = min(worst, *result["shares"].values())
                print(
                    f"{provider:9} {processes:>9} {result['requests']:>8} {result['429']:>5}  "
                    f"{shares}"
                )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    verdict = "PASS" if worst >= TARGET and total_429 == 0 else "MISS"
    print(
        f"RATIO worst achieved/ceiling {worst:.3f} (target >= {TARGET}), 429s {total_429}: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
