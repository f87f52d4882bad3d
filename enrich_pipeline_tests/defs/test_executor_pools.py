"""The in-process executor (one process per run, issue #14) keeps the provider pools.

Every step of a run executes in its run's process, and the executor still claims each step's pool
slot in the instance before the step starts: two runs of different days, each in its own real
process (`dagster job execute`, which runs the job with its own executor, as `dagster api
execute_run` does for a launched run), against one Dagster instance with config/dagster.yaml's pools
(limit 1), never run the same provider's step at once. Step times come from the event log; the
test waits by polling the instance for the state it needs, never for a fixed time.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.pipeline_helpers import Pipeline, cli_env

REPO = Path(__file__).resolve().parents[2]
DAYS = ("2026-11-02", "2026-11-03")
PEOPLE = 12
HOLDER_RUN, HOLDER_STEP = "held-by-the-test", "held_by_the_test"
# `dagster job execute`: the run in its own process, with the job's executor (the Definitions')
DAGSTER_EXECUTE = [sys.executable, "-m", "dagster", "job", "execute"]
DAGSTER_EXECUTE += ["-m", "enrich_pipeline.definitions", "-j", "enrich_job"]


def test_every_job_the_ui_launches_runs_its_steps_in_one_process() -> None:
    from enrich_pipeline.definitions import defs

    assert defs.resolve_job_def("enrich_job").executor_def is dg.in_process_executor
    # the asset graph's "Materialize" launches the implicit asset job (a subset of it)
    assert defs.resolve_implicit_global_asset_job_def().executor_def is dg.in_process_executor
    jobs = defs.get_repository_def().get_all_jobs()
    assert {job.name for job in jobs} >= {"enrich_job", "__ASSET_JOB"}
    assert all(job.executor_def is dg.in_process_executor for job in jobs)


def _step_pools() -> dict[str, str]:
    """step key -> pool of every pooled step of enrich_job (the providers and warehouse_views)."""
    from enrich_pipeline.definitions import defs

    job = defs.resolve_job_def("enrich_job")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    return {step: pool for step, pool in pools.items() if pool}


def _launch(day: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A run of enrich_job for `day` in its own process, with the job's own executor."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [*DAGSTER_EXECUTE, "--tags", json.dumps({"dagster/partition": day})],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _await(
    what: str, ready: Callable[[], bool], processes: list[subprocess.Popen[bytes]], logs: list[Path]
) -> None:
    deadline = time.monotonic() + 120  # two cold process start-ups on a busy machine
    while not ready():
        exited = [p.returncode for p in processes if p.poll() is not None]
        if exited or time.monotonic() > deadline:
            tails = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
            pytest.fail(f"never saw {what} (exit codes {exited})\n{tails}")
        time.sleep(0.05)  # the storage has no notification to wait on: poll it


def _intervals(
    instance: dg.DagsterInstance, run_id: str, steps: set[str]
) -> dict[str, tuple[float, float]]:
    """step key -> (STEP_START, STEP_SUCCESS) timestamps of the run's pooled steps."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key not in steps:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            start[event.step_key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            end[event.step_key] = record.timestamp
    assert start.keys() == end.keys() == steps, (run_id, start, end)
    return {step: (start[step], end[step]) for step in steps}


# Two real run processes (each imports Dagster and the project: ~5 s of CPU on a 2-core machine, far
# more while `make test -n 2` runs beside it), so the slower suite: `make test-faults`.
@pytest.mark.faults
@pytest.mark.timeout(300)
def test_two_launched_runs_never_run_one_providers_steps_at_once(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox = pipeline_env
    env = cli_env(tmp_path, sandbox.url)
    for seed, day in enumerate(DAYS, 41):
        Pipeline(tmp_path).write_day(sandbox.state.world, day, PEOPLE, seed=seed)
    step_pools = _step_pools()
    assert set(step_pools.values()) >= {"lemlist", "thehog", "enrichso"}

    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        storage = instance.event_log_storage
        assert storage.supports_global_concurrency_limits
        # The test holds lemlist's one slot (its limit from dagster.yaml's default_limit) until
        # both runs wait for it: then they are surely concurrent, and must take turns.
        storage.initialize_concurrency_limit_to_default("lemlist")
        assert storage.get_concurrency_info("lemlist").slot_count == 1
        assert storage.claim_concurrency_slot("lemlist", HOLDER_RUN, HOLDER_STEP).is_claimed

        logs = [tmp_path / f"{day}.log" for day in DAYS]
        processes = [_launch(day, env, log) for day, log in zip(DAYS, logs, strict=True)]
        try:

            def both_runs_wait_for_lemlist() -> bool:
                waiting = {
                    step.run_id
                    for step in storage.get_concurrency_info("lemlist").pending_steps
                    if step.assigned_timestamp is None and step.run_id != HOLDER_RUN
                }
                return len(waiting) == 2

            _await(
                "both runs waiting for the lemlist pool",
                both_runs_wait_for_lemlist,
                processes,
                logs,
            )
            storage.free_concurrency_slot_for_step(HOLDER_RUN, HOLDER_STEP)
            for process, log in zip(processes, logs, strict=True):
                assert process.wait(timeout=180) == 0, log.read_text(errors="replace")[-4000:]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()

        runs = instance.get_runs()
        assert sorted(run.tags["dagster/partition"] for run in runs) == sorted(DAYS)
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        # each run executed every step in its own single process (no process per step)
        for run in runs:
            pids = {
                record.dagster_event.pid
                for record in instance.all_logs(run.run_id)
                if record.dagster_event is not None and record.dagster_event.is_step_event
            }
            assert len(pids) == 1, (run.run_id, pids)

        by_pool: dict[str, list[tuple[float, float, str, str]]] = defaultdict(list)
        for run in runs:
            for step, (start, end) in _intervals(instance, run.run_id, set(step_pools)).items():
                by_pool[step_pools[step]].append((start, end, step, run.run_id))
        for pool, intervals in by_pool.items():
            intervals.sort()
            for earlier, later in itertools.pairwise(intervals):
                assert earlier[1] <= later[0], f"pool {pool}: {earlier} overlaps {later}"
        # nothing is left claimed or waiting once both runs are done
        for pool in set(step_pools.values()):
            info = storage.get_concurrency_info(pool)
            assert info.claimed_slots == [] and info.pending_steps == [], (pool, info)
