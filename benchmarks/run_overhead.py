"""Run overhead: one sample day launched the way the UI launches it, against the same day's work.

Baseline (measured in the same run): the IN-PROCESS WORK — `enrich_job.execute_in_process` for the
first sample day, in this (already warm) process, against a fresh ledger and warehouse. Candidates:
the same day LAUNCHED as the UI launches it — a GraphQL `launchPipelineExecution` to a running
`dagster dev` (webserver + daemon) over workspace.yaml, with config/dagster.yaml's run queue (1 s
tick) and launcher: the daemon dequeues -> WarmRunLauncher forks the run from a worker that has
already imported Dagster and the project (`--default-launcher`: Dagster's DefaultRunLauncher, whose
code server spawns a fresh `dagster api execute_run`) -> the job's executor. Once
with the project's Definitions (the in-process executor), once with a comparison code location that
is the same Definitions with `dg.multiprocess_executor` (`multiprocess_defs` below: a process per
step, the old layout). Wall time runs from the launch request to the run's RUN_SUCCESS event.

Every measurement starts fresh: an empty ledger and warehouse and a reset sandbox. The sandbox is
the project's own emulator (`enrich-pipeline sandbox`) in a separate process on a free port, so it
competes for the GIL with neither side. Each speed gets its own DAGSTER_HOME (config/dagster.yaml
copied in: provider pools, limit 1), sandbox and `dagster dev`, all under one temporary directory.

Target (issue #14): launched / in-process < 1.5x. The verdict lines are informational: exit status 0
either way, 1 when a run fails or cannot be launched.

    .venv/bin/python benchmarks/run_overhead.py                     # speeds 0.05 and 0.01, ~11 min
    .venv/bin/python benchmarks/run_overhead.py --speeds 0.05 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.5
KEY_VARIABLES = ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY")
MULTIPROCESS_LOCATION = "run_overhead_multiprocess"
# The same for all three measurements: the console logger at WARNING keeps this output readable
# (every event still goes to the event log, as in the UI).
RUN_CONFIG: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
RUN_TIMEOUT_S = 900.0

LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
WORKSPACE = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }"


@dg.definitions
def multiprocess_defs() -> dg.Definitions:
    """The comparison code location: the project's Definitions with the multiprocess executor (a
    process per step, as before the fix). Lazy, so importing this file reads no settings."""
    from enrich_pipeline.definitions import build_definitions

    defs = build_definitions()
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        resources=defs.resources,
        jobs=defs.jobs,
        executor=dg.multiprocess_executor,
    )


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Phases:
    """Seconds of one run, from the launch request (or the call) to its RUN_SUCCESS event."""

    total_s: float
    queued_s: float  # launch -> RUN_STARTING: waits for the daemon's QueuedRunCoordinator tick
    start_s: float  # RUN_STARTING -> RUN_START: `dagster api execute_run` spawned, imports, loads
    steps_s: float  # RUN_START -> the last step ends (a process per step for multiprocess)
    finish_s: float  # the last step -> RUN_SUCCESS

    @staticmethod
    def of(instance: dg.DagsterInstance, run_id: str, started_at: float) -> Phases:
        first: dict[dg.DagsterEventType, float] = {}
        last: dict[dg.DagsterEventType, float] = {}
        for record in instance.all_logs(run_id):
            if record.dagster_event is None:
                continue
            kind = record.dagster_event.event_type
            first.setdefault(kind, record.timestamp)
            last[kind] = record.timestamp
        E = dg.DagsterEventType
        end = last[E.RUN_SUCCESS]
        run_start = first[E.RUN_START]
        launched = first.get(E.RUN_STARTING, started_at)  # execute_in_process is never queued
        steps_end = max(last.get(E.STEP_SUCCESS, run_start), last.get(E.STEP_FAILURE, run_start))
        return Phases(
            total_s=end - started_at,
            queued_s=launched - started_at,
            start_s=run_start - launched,
            steps_s=steps_end - run_start,
            finish_s=end - steps_end,
        )


@dataclass(frozen=True)
class Measure:
    name: str
    phases: Phases


def median_phases(measures: Sequence[Measure]) -> Phases:
    return Phases(
        *(
            statistics.median(getattr(m.phases, f) for m in measures)
            for f in ("total_s", "queued_s", "start_s", "steps_s", "finish_s")
        )
    )


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(what: str, ready: Any, timeout_s: float, process: subprocess.Popen[Any]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        try:
            value = ready()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready after {timeout_s:.0f} s")


@contextmanager
def child(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process in its own session (so its children can be stopped with it), stopped on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(
                    signal.SIGTERM
                )  # dagster dev stops its webserver/daemon/servers
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # the group this benchmark started
                    process.wait()


@contextmanager
def sandbox(speed: float, env: dict[str, str], logs: Path) -> Iterator[str]:
    """The project's sandbox (default world: the one the sample days were drawn from)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "enrich_pipeline.cli", "sandbox", "--port", str(port)]
    with child([*argv, "--speed", str(speed)], env, logs / "sandbox.log") as process:
        wait_until(
            "sandbox",
            lambda: httpx.get(f"{url}/_sandbox/health", timeout=2).is_success,
            60,
            process,
        )
        yield url


class DagsterDev:
    """`dagster dev` over workspace.yaml plus the multiprocess comparison location."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]  # type: ignore[no-any-return]

    def locations(self) -> dict[str, str] | None:
        """location name -> its load status, once every location has finished loading."""
        entries = self.graphql(WORKSPACE)["workspaceOrError"].get("locationEntries") or []
        if len(entries) < 2 or any(e["loadStatus"] != "LOADED" for e in entries):
            return None
        for entry in entries:
            loaded = entry["locationOrLoadError"]
            if loaded["__typename"] == "PythonError":
                raise RuntimeError(f"code location {entry['name']}: {loaded['message']}")
        return {e["name"]: e["loadStatus"] for e in entries}

    def queue_daemon_healthy(self) -> bool:
        daemons = self.graphql(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
        return any(d["daemonType"] == "QUEUED_RUN_COORDINATOR" and d["healthy"] for d in daemons)

    def launch(self, location: str, day: str) -> str:
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "jobName": "enrich_job",
            },
            "runConfigData": RUN_CONFIG,
            "mode": "default",
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
        }
        answer = self.graphql(LAUNCH, {"executionParams": params})["launchPipelineExecution"]
        if answer["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launch on {location} failed: {answer}")
        return str(answer["run"]["runId"])


@contextmanager
def dagster_dev(env: dict[str, str], tmp: Path) -> Iterator[DagsterDev]:
    extra = tmp / "workspace_multiprocess.yaml"
    extra.write_text(
        "load_from:\n"
        "  - python_file:\n"
        f"      relative_path: {Path(__file__).resolve()}\n"
        "      attribute: multiprocess_defs\n"
        f"      location_name: {MULTIPROCESS_LOCATION}\n"
        f"      working_directory: {REPO}\n"
    )
    port = free_port()
    argv = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    argv += ["-w", str(REPO / "workspace.yaml"), "-w", str(extra)]
    with child(argv, env, tmp / "dagster_dev.log") as process:
        dev = DagsterDev(f"http://127.0.0.1:{port}", process)
        wait_until("dagster dev: code locations", dev.locations, 180, process)
        wait_until("dagster dev: run queue daemon", dev.queue_daemon_healthy, 120, process)
        yield dev


# --------------------------------------------------------------------------- measuring


def fresh(env: dict[str, str], sandbox_url: str) -> None:
    """An empty ledger and warehouse, a sandbox with no jobs, charges or counts."""
    for name in ("ENRICH_WAREHOUSE_DIR", "ENRICH_STATE_DIR"):
        shutil.rmtree(env[name], ignore_errors=True)
        Path(env[name]).mkdir(parents=True)
    httpx.post(f"{sandbox_url}/_sandbox/reset", timeout=10).raise_for_status()


def measure_in_process(env: dict[str, str], day: str) -> Measure:
    """(a) the work: `enrich_job.execute_in_process` in this process, on the session's instance."""
    from enrich_pipeline.definitions import build_definitions
    from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
    from enrich_pipeline.settings import settings

    for name in KEY_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(env)
    settings.cache_clear()  # this session's folders
    forget_sandbox_endpoint()  # this session's sandbox and speed
    job = build_definitions().resolve_job_def("enrich_job")
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        started = time.time()
        result = job.execute_in_process(
            partition_key=day, instance=instance, run_config=RUN_CONFIG, raise_on_error=False
        )
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            raise RuntimeError(f"in-process run failed in {', '.join(failed)}")
        return Measure("in-process work", Phases.of(instance, result.run_id, started))


def measure_launched(
    name: str, dev: DagsterDev, location: str, env: dict[str, str], day: str
) -> Measure:
    """(b)/(c) a launched run: from the launch request to RUN_SUCCESS (the event's own time)."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        started = time.time()
        run_id = dev.launch(location, day)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            run = instance.get_run_by_id(run_id)
            if run is not None and run.is_finished:
                break
            if time.monotonic() > deadline or dev.process.poll() is not None:
                raise RuntimeError(f"{name}: run {run_id} did not finish")
            time.sleep(0.05)  # only how soon we notice; the times come from the run's events
        if run.status != dg.DagsterRunStatus.SUCCESS:
            raise RuntimeError(f"{name}: run {run_id} ended {run.status.value}")
        return Measure(name, Phases.of(instance, run_id, started))


def session(
    speed: float,
    day: str,
    repeat: int,
    tmp: Path,
    *,
    multiprocess: bool = True,
    default_launcher: bool = False,
) -> list[Measure]:
    """Sandbox + `dagster dev` at one speed; `repeat` rounds of the (three) measurements."""
    root = tmp / f"speed-{speed:g}"
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    if default_launcher:  # the what-if: Dagster's own launcher and queue, same settings
        settings = yaml.safe_load((home / "dagster.yaml").read_text())
        settings["run_coordinator"] |= {"module": "dagster", "class": "QueuedRunCoordinator"}
        settings["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
        (home / "dagster.yaml").write_text(yaml.safe_dump(settings))
    shutil.copytree(REPO / "data" / "raw" / "prospects" / day, root / "raw" / day)
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env |= {
        "DAGSTER_HOME": str(home),
        "ENRICH_RAW_DIR": str(root / "raw"),
        "ENRICH_WAREHOUSE_DIR": str(root / "wh"),
        "ENRICH_STATE_DIR": str(root / "state"),
        "ENRICH_SANDBOX_SPEED": f"{speed:g}",
        "SANDBOX_SPEED": f"{speed:g}",
    }
    env.pop("ENRICH_WEBHOOK_URL", None)
    measures: list[Measure] = []
    with sandbox(speed, env, root) as sandbox_url:
        env["ENRICH_SANDBOX_URL"] = sandbox_url
        started = time.perf_counter()
        with dagster_dev(env, root) as dev:
            print(
                f"  dagster dev ready in {time.perf_counter() - started:.1f} s "
                f"(locations {', '.join(sorted(dev.locations() or {}))})",
                flush=True,
            )
            project = next(n for n in (dev.locations() or {}) if n != MULTIPROCESS_LOCATION)
            launched = {"launched, in_process executor": project}
            if multiprocess:
                launched["launched, multiprocess executor"] = MULTIPROCESS_LOCATION
            for number in range(1, repeat + 1):
                for name in ["in-process work", *launched]:
                    fresh(env, sandbox_url)
                    measure = (
                        measure_launched(name, dev, launched[name], env, day)
                        if name in launched
                        else measure_in_process(env, day)
                    )
                    measures.append(measure)
                    print(
                        f"  [{number}/{repeat}] {name:<33} {measure.phases.total_s:6.1f} s",
                        flush=True,
                    )
    return measures


# ---------------------------------------------------------------------------- printing


def report(speed: float, measures: Sequence[Measure]) -> bool:
    names = list(dict.fromkeys(m.name for m in measures))
    medians = {n: median_phases([m for m in measures if m.name == n]) for n in names}
    work = medians["in-process work"].total_s
    print(f"\nENRICH_SANDBOX_SPEED={speed:g} (median of {len(measures) // len(names)})")
    header = f"  {'':<33} {'total':>7} {'queued':>7} {'start':>7} {'steps':>7} {'finish':>7} {'ratio':>7}"
    print(header)
    for name, p in medians.items():
        print(
            f"  {name:<33} {p.total_s:6.1f}s {p.queued_s:6.1f}s {p.start_s:6.1f}s "
            f"{p.steps_s:6.1f}s {p.finish_s:6.1f}s {p.total_s / work:6.2f}x"
        )
    launched = medians["launched, in_process executor"]
    multi = medians.get("launched, multiprocess executor")
    unqueued = f"launched/in_process = {(launched.total_s - launched.queued_s) / work:.2f}x"
    if multi is not None:
        unqueued += f", multiprocess/in_process = {(multi.total_s - multi.queued_s) / work:.2f}x"
    print(f"  without the run queue's wait (daemon tick): {unqueued}")
    ratio = launched.total_s / work
    ok = ratio < TARGET
    print(
        f"RATIO launched/in_process = {ratio:.2f}x (target < {TARGET}x) at "
        f"ENRICH_SANDBOX_SPEED={speed:g}: {'PASS' if ok else 'MISS'}"
        + (f"; multiprocess/in_process = {multi.total_s / work:.2f}x" if multi else "")
    )
    return ok


# -------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speeds",
        default="0.05,0.01",
        help="ENRICH_SANDBOX_SPEED values, one session each (0.05: make run/ui; 0.01: tests)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds per speed; medians (1)")
    parser.add_argument("--day", help="sample day folder (default: the first)")
    parser.add_argument(
        "--no-multiprocess",
        action="store_true",
        help="skip the multiprocess comparison (the slowest run by far)",
    )
    parser.add_argument(
        "--default-launcher",
        action="store_true",
        help="what-if: Dagster's DefaultRunLauncher (a fresh process per run) instead of the warm one",
    )
    args = parser.parse_args(argv)
    args.speeds = list(dict.fromkeys(float(s) for s in args.speeds.split(",") if s.strip()))
    if not args.speeds or any(s <= 0 for s in args.speeds) or args.repeat < 1:
        parser.error("--speeds must be > 0 and --repeat >= 1")
    days = sorted(p.name for p in (REPO / "data" / "raw" / "prospects").iterdir() if p.is_dir())
    args.day = args.day or days[0]
    if args.day not in days:
        parser.error(f"--day {args.day}: no such folder under data/raw/prospects")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    files = sorted(p.name for p in (REPO / "data" / "raw" / "prospects" / args.day).iterdir())
    launcher = "DefaultRunLauncher (what-if)" if args.default_launcher else "WarmRunLauncher"
    print(
        f"day {args.day} ({', '.join(files)}); {os.cpu_count()} cores; launcher {launcher}",
        flush=True,
    )
    started = time.perf_counter()
    results: list[tuple[float, list[Measure]]] = []
    with tempfile.TemporaryDirectory(prefix="run_overhead-") as tmp:
        for speed in args.speeds:
            print(f"\nsession ENRICH_SANDBOX_SPEED={speed:g}", flush=True)
            try:
                measures = session(
                    speed,
                    args.day,
                    args.repeat,
                    Path(tmp),
                    multiprocess=not args.no_multiprocess,
                    default_launcher=args.default_launcher,
                )
                results.append((speed, measures))
            except RuntimeError as exc:
                logs = sorted(Path(tmp).glob("speed-*/*.log"))
                for log in logs:
                    print(f"--- {log.name} (tail)\n{log.read_text(errors='replace')[-3000:]}")
                print(f"run_overhead: {exc}", file=sys.stderr)
                return 1
    for speed, measures in results:
        report(speed, measures)
    print(f"total wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
