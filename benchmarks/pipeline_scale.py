"""Pipeline scale: one day of N raw prospects through `enrich-pipeline run`, for several N, to see
whether our memory and CPU grow with the day (issue #12: "bounded by batch, not by day size").

For each N in `--sizes` (default 2000,10000): the project's own generator writes one day of N raw
prospect rows (`enrich-pipeline sandbox --make-prospects N`, messy on purpose: duplicates, about
5 % unknown people), from a sandbox world of max(5000, 1.2 N) people, so that the rows are distinct
people where they can be. The project's sandbox serves that same world in its own process
(`enrich-pipeline sandbox --speed S`, wallets topped up so that no provider runs dry), and
`enrich-pipeline run --day D` runs that one day as a separate process, with a fresh temporary
ENRICH_RAW_DIR / ENRICH_WAREHOUSE_DIR / ENRICH_STATE_DIR and DAGSTER_HOME (config/dagster.yaml
copied in), no API key and no webhook URL in its environment: polling, as by default.

Measured for the run process (never the sandbox's):
* wall time, from the spawn to the exit, and its start-up part (spawn -> its first line of output);
* peak RSS of its process tree, sampled from /proc with psutil every `--interval` s (psutil is in
  uv.lock), and the exact peak of its largest single process (`wait4`'s ru_maxrss);
* our CPU time: user + sys of the run process and the children it reaped (`wait4`), and its share
  of the wall time (the sandbox's CPU is shown apart);
* per 1k prospects: wall and CPU seconds; between sizes, the growth exponent of wall and CPU
  (log ratio of time / log ratio of N: 1.0 is linear, above 1 grows faster than the day) and the
  marginal memory per prospect (delta peak RSS / delta N), extrapolated to a 100k day;
* where the wall goes: each step's wall and peak RSS (from the run's own STEP_START / STEP_SUCCESS
  events in its DAGSTER_HOME), the time outside the steps, and each provider's requests by route
  (the sandbox's /_sandbox/counters).

Targets (issue #12): a 100k-prospect day under 2 GiB peak; our CPU under 5 % of wall time when the
sandbox runs at the providers' documented limits (`--speed 1`). Informational: exit status 0 either
way, 1 when a run fails (the tails of its and the sandbox's logs are printed).

    .venv/bin/python benchmarks/pipeline_scale.py                          # 2k, 10k at speed 0.05: ~3.5 min
    .venv/bin/python benchmarks/pipeline_scale.py --sizes 2000,10000,50000 # the full table: ~14 min
    .venv/bin/python benchmarks/pipeline_scale.py --sizes 2000 --speed 1   # the CPU-share target: ~4.5 min
    .venv/bin/python benchmarks/pipeline_scale.py --sizes 2000 --speed 1 --webhooks  # the same, answers by webhook
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "enrich_pipeline.cli"]
DAY = "2026-11-02"  # the partitions' first day (ENRICH_FIRST_DAY's default)
KEY_VARIABLES = ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY")
# Anything that would change what the run does or where it writes: the benchmark sets its own.
DROPPED_PREFIXES = ("ENRICH_", "SANDBOX_", "DAGSTER_HOME")
WALLET = str(10**10)  # credits per provider wallet: no provider runs dry at any size
TARGET_RSS_MIB = 2048  # a 100k day
TARGET_CPU_SHARE = 0.05  # at speed 1
RUN_TIMEOUT_S = 3 * 3600
MIB = 1024 * 1024


@dataclass
class Measure:
    n: int
    wall_s: float = 0.0
    startup_s: float = 0.0
    cpu_s: float = 0.0  # user + sys of the run process and its reaped children
    peak_tree_mib: float = 0.0  # sampled sum over the run's process tree
    peak_single_mib: float = 0.0  # exact, wait4's ru_maxrss: largest single process
    samples: int = 0
    sandbox_cpu_s: float = 0.0
    receiver_cpu_s: float | None = None  # --webhooks: the receiver's CPU (ours, counted apart)
    summary: str = ""
    requests: dict[str, dict[str, int]] = field(default_factory=dict)  # provider -> route -> n
    rss: list[tuple[float, int]] = field(default_factory=list)  # (epoch, tree RSS) samples
    steps: list[tuple[str, float, float]] = field(default_factory=list)  # (step, start, end) epoch

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.wall_s

    @property
    def per_1k_s(self) -> float:
        return self.wall_s / self.n * 1000


def world_size(n: int) -> tuple[int, int]:
    """People and companies in the sandbox world: every row a distinct person where it can be,
    and the default world's shape (5,000 people, 800 companies) at least."""
    people = max(5000, n * 6 // 5)
    return people, max(800, people * 4 // 25)


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in KEY_VARIABLES and not k.startswith(DROPPED_PREFIXES)
    }
    return env


@contextmanager
def sandbox(
    speed: float, people: int, companies: int, env: dict[str, str], log: Path
) -> Iterator[tuple[str, psutil.Process]]:
    """The project's sandbox in its own process (own session) on a free port, stopped on exit."""
    from enrich_pipeline.sandbox.server import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [*CLI, "sandbox", "--port", str(port), "--speed", f"{speed:g}"]
    argv += ["--people", str(people), "--companies", str(companies)]
    wallets = {f"SANDBOX_{p}_CREDITS": WALLET for p in ("LEMLIST", "ENRICHSO", "THEHOG")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env=env | wallets,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300  # a big world takes a while to build
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"sandbox exited with {process.returncode}")
                try:
                    if httpx.get(f"{url}/_sandbox/health", timeout=2).is_success:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("sandbox not ready after 300 s")
                time.sleep(0.2)
            yield url, psutil.Process(process.pid)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # the session this benchmark started
                    process.wait()


def sample_tree(
    pid: int, interval: float, done: threading.Event, out: list[tuple[float, int]]
) -> None:
    """(epoch time, summed RSS of `pid` and its descendants) until `done` or the process is gone."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not done.is_set():
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            with suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        out.append((time.time(), total))
        done.wait(interval)


def step_windows(home: Path) -> list[tuple[str, float, float]]:
    """(step, start, end) in epoch seconds from the run's own events in DAGSTER_HOME."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return []
        starts: dict[str, float] = {}
        windows = []
        for entry in instance.all_logs(runs[0].run_id, of_type=kinds):
            if entry.step_key is None or entry.dagster_event is None:
                continue
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                starts[entry.step_key] = entry.timestamp
            elif entry.step_key in starts:
                windows.append((entry.step_key, starts[entry.step_key], entry.timestamp))
    return windows


def run_day(n: int, root: Path, env: dict[str, str], interval: float) -> tuple[Measure, int, Path]:
    """`enrich-pipeline run --day DAY` as its own process; its wall, CPU, RSS and log lines."""
    measure = Measure(n)
    log = root / "run.log"
    lines: list[tuple[float, str]] = []
    started = time.perf_counter()
    process = subprocess.Popen(
        [*CLI, "run", "--day", DAY],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    sampler = threading.Thread(target=sample_tree, args=(process.pid, interval, done, samples))
    sampler.start()

    def read() -> None:
        assert process.stdout is not None
        with log.open("wb") as out:
            for raw in process.stdout:
                lines.append((time.perf_counter() - started, raw.decode(errors="replace")))
                out.write(raw)
                out.flush()  # the log can be followed while the run goes

    reader = threading.Thread(target=read)
    reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    measure.wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    reader.join()
    measure.cpu_s = usage.ru_utime + usage.ru_stime
    measure.peak_single_mib = usage.ru_maxrss / 1024  # KiB on Linux
    measure.rss = samples
    measure.peak_tree_mib = max(
        max((r for _, r in samples), default=0) / MIB, measure.peak_single_mib
    )
    measure.samples = len(samples)
    measure.startup_s = lines[0][0] if lines else measure.wall_s
    measure.summary = next((ln.strip() for _, ln in lines if ln.startswith("SUMMARY ")), "")
    return measure, process.returncode, log


@contextmanager
def receiver(env: dict[str, str], log: Path) -> Iterator[tuple[str, psutil.Process]]:
    """`enrich-pipeline webhooks` in its own process on a free port (same ledger as the run)."""
    from enrich_pipeline.sandbox.server import free_port

    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CLI, "webhooks", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"webhook receiver exited with {process.returncode}")
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("webhook receiver did not listen within 60 s")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}", psutil.Process(process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure_size(
    n: int, speed: float, interval: float, tmp: Path, *, webhooks: bool = False
) -> Measure:
    root = tmp / f"n{n}"
    home, raw = root / "dagster_home", root / "raw" / DAY
    home.mkdir(parents=True)
    raw.mkdir(parents=True)
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    people, companies = world_size(n)
    env = base_env()
    world = ["--people", str(people), "--companies", str(companies)]
    started = time.perf_counter()
    subprocess.run(
        [*CLI, "sandbox", *world, "--make-prospects", str(n), "--out", str(raw / "prospects.csv")],
        env=env,
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(
        f"N={n:,}: {n:,} raw rows written in {time.perf_counter() - started:.1f} s "
        f"(world {people:,} people / {companies:,} companies); starting the sandbox ...",
        flush=True,
    )
    with sandbox(speed, people, companies, env, root / "sandbox.log") as (url, sandbox_proc):
        env |= {
            "DAGSTER_HOME": str(home),
            "ENRICH_RAW_DIR": str(root / "raw"),
            "ENRICH_WAREHOUSE_DIR": str(root / "warehouse"),
            "ENRICH_STATE_DIR": str(root / "state"),
            "ENRICH_SANDBOX_URL": url,
            "ENRICH_SANDBOX_SPEED": f"{speed:g}",
        }
        with ExitStack() as stack:
            receiver_proc = None
            if webhooks:
                hook_url, receiver_proc = stack.enter_context(receiver(env, root / "webhooks.log"))
                env["ENRICH_WEBHOOK_URL"] = hook_url
            sandbox_cpu = sum(sandbox_proc.cpu_times()[:2])
            measure, code, log = run_day(n, root, env, interval)
            measure.sandbox_cpu_s = sum(sandbox_proc.cpu_times()[:2]) - sandbox_cpu
            if receiver_proc is not None:
                measure.receiver_cpu_s = sum(receiver_proc.cpu_times()[:2])
        measure.steps = step_windows(home)
        counters = httpx.get(f"{url}/_sandbox/counters", timeout=30).json()
    if code != 0:
        for name, path in (("run", log), ("sandbox", root / "sandbox.log")):
            tail = path.read_text(errors="replace").splitlines()[-40:]
            print(f"--- tail of the {name} log ({path}):", *tail, sep="\n", file=sys.stderr)
        raise RuntimeError(f"N={n}: enrich-pipeline run exited with {code}")
    for provider, routes in counters["requests"].items():
        measure.requests[provider] = {
            route: sum(statuses.values()) for route, statuses in routes.items()
        }
    return measure


def report(m: Measure) -> None:
    print(
        f"  wall {m.wall_s:7.1f} s (start-up {m.startup_s:.1f} s)  "
        f"peak RSS {m.peak_tree_mib:7.0f} MiB tree / {m.peak_single_mib:.0f} MiB largest process"
        f" ({m.samples} samples)  our CPU {m.cpu_s:6.1f} s = {m.cpu_share:5.1%} of wall  "
        f"sandbox CPU {m.sandbox_cpu_s:.1f} s"
        + ("" if m.receiver_cpu_s is None else f"  webhook receiver CPU {m.receiver_cpu_s:.1f} s"),
        flush=True,
    )
    print(f"  per 1k prospects: wall {m.per_1k_s:.2f} s, our CPU {m.cpu_s / m.n * 1000:.2f} s")
    if m.summary:
        print(f"  {m.summary}")
    in_steps = 0.0
    for step, start, end in m.steps:
        in_steps += end - start
        peak = max((r for t, r in m.rss if start <= t <= end), default=0) / MIB
        provider = step.removesuffix("_enrichment")
        routes = m.requests.get(provider, {}) if provider != step else {}
        top = sorted(routes.items(), key=lambda kv: -kv[1])[:3]
        calls = (
            f"; {sum(routes.values()):,} requests: " + ", ".join(f"{r} {k:,}" for r, k in top)
            if routes
            else ""
        )
        print(f"  step {step:22} {end - start:7.1f} s, peak RSS {peak:6.0f} MiB{calls}")
    if m.steps:
        print(f"  outside the steps (imports, job set-up, summary) {m.wall_s - in_steps:.1f} s")


def exponent(a: float, b: float, n_a: int, n_b: int) -> float:
    return math.log(b / a) / math.log(n_b / n_a)


def growth(measures: list[Measure]) -> float | None:
    """Prints the growth between consecutive sizes; returns the last marginal KiB per prospect."""
    if len(measures) < 2:
        return None
    print("\ngrowth between sizes (exponent 1.0 = linear in N; marginal = delta / delta N)")
    kib = 0.0
    for a, b in itertools.pairwise(measures):
        kib = (b.peak_tree_mib - a.peak_tree_mib) * 1024 / (b.n - a.n)
        print(
            f"  {a.n:>6,} -> {b.n:>6,}: wall x{b.wall_s / a.wall_s:.2f} "
            f"(exponent {exponent(a.wall_s, b.wall_s, a.n, b.n):.2f}), "
            f"CPU x{b.cpu_s / a.cpu_s:.2f} (exponent {exponent(a.cpu_s, b.cpu_s, a.n, b.n):.2f}), "
            f"per-1k wall x{b.per_1k_s / a.per_1k_s:.2f}; peak RSS x{b.peak_tree_mib / a.peak_tree_mib:.2f}, "
            f"marginal {kib:.1f} KiB per prospect, RSS per prospect "
            f"{a.peak_tree_mib * 1024 / a.n:.0f} -> {b.peak_tree_mib * 1024 / b.n:.0f} KiB"
        )
    return kib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,10000", help="raw rows per day, comma-separated")
    parser.add_argument(
        "--speed", type=float, default=0.05, help="sandbox speed (1 = documented limits)"
    )
    parser.add_argument("--interval", type=float, default=0.1, help="RSS sampling period (s)")
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="run the webhook receiver beside the run and set ENRICH_WEBHOOK_URL (default: polling)",
    )
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (logs, ledger, warehouse)"
    )
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] < 1 or args.speed <= 0:
        parser.error("--sizes must be positive integers and --speed > 0")
    print(
        f"enrich-pipeline run, one day, sandbox speed {args.speed:g}, sizes {sizes}, "
        f"{'webhooks' if args.webhooks else 'polling'}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    measures: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="pipeline-scale-") as tmp:
        work = args.keep or Path(tmp)
        for n in sizes:
            try:
                measures.append(
                    measure_size(n, args.speed, args.interval, work, webhooks=args.webhooks)
                )
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"FAILED: {exc}", file=sys.stderr)
                return 1
            report(measures[-1])
    kib = growth(measures)
    last = measures[-1]
    if kib is None:  # one size: the RSS per prospect with the fixed cost in it; no extrapolation
        memory = f"{last.peak_tree_mib * 1024 / last.n:.1f} KiB, fixed cost included (100k est. "
        memory += "needs two sizes)"
        rss_verdict = "n/a"
    else:
        at_100k = last.peak_tree_mib + kib * (100_000 - last.n) / 1024
        memory = f"{kib:.1f} KiB marginal (100k est. {at_100k:,.0f} MiB)"
        rss_verdict = "PASS" if at_100k < TARGET_RSS_MIB else "MISS"
    cpu_verdict = (
        ("PASS" if last.cpu_share < TARGET_CPU_SHARE else "MISS")
        if args.speed == 1
        else f"n/a at speed {args.speed:g}"
    )
    print(
        f"N={last.n} wall={last.wall_s:.1f} s peak_rss={last.peak_tree_mib:.0f} MiB "
        f"cpu_share={last.cpu_share:.1%} per_1k={last.per_1k_s:.2f} s; memory per prospect "
        f"{memory}; targets: 100k < 2 GiB {rss_verdict}, cpu < 5% at speed 1 {cpu_verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
