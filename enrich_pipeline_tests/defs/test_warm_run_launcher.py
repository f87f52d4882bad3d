"""The warm run launcher (config/dagster.yaml) on a real instance: runs forked from one warm worker,
which is replaced when the code changes, and terminated through Dagster's interruption.

Each test writes a tiny code location into tmp_path (so the sources' fingerprint covers only it),
uses an instance made from the project's config/dagster.yaml, and launches runs the way the daemon
does: `instance.run_launcher.launch_run`. What a run saw is read back from its own log messages.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.code_pointer import FileCodePointer
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.launcher import LaunchRunContext

from enrich_pipeline.defs.run_launcher import (
    PID_TAG,
    WORKERS,
    WarmQueuedRunCoordinator,
    WarmRunLauncher,
    WarmStartUnavailable,
    WorkerKey,
    worker_key,
)

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 60.0
LOCATION = """
import os
import time

import dagster as dg

VERSION = {version}


@dg.op
def report(context) -> None:
    context.log.info(f"run worker pid={{os.getpid()}} parent={{os.getppid()}} version={{VERSION}}")


@dg.op
def wait_for_termination(context) -> None:
    context.log.info("op is waiting for termination")
    while True:  # until the launcher's SIGINT interrupts the run
        time.sleep(0.02)


@dg.job(executor_def=dg.in_process_executor)
def report_job():
    report()


@dg.job(executor_def=dg.in_process_executor)
def waiting_job():
    wait_for_termination()


defs = dg.Definitions(jobs=[report_job, waiting_job])
"""


def write_location(root: Path, version: int) -> None:
    package = root / "warm_location"
    package.mkdir(exist_ok=True)
    source = package / "__init__.py"
    source.write_text(LOCATION.format(version=version))
    stamp = time.time_ns() + version * 1_000_000_000  # a new mtime even within one clock tick
    os.utime(source, ns=(stamp, stamp))


@contextmanager
def project_instance(root: Path) -> Iterator[dg.DagsterInstance]:
    """An instance from the project's config/dagster.yaml, and the code location at version 1."""
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "config" / "dagster.yaml", home / "dagster.yaml")
    write_location(root, version=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))  # the warm worker inherits it
        with dg.DagsterInstance.get() as instance:
            try:
                yield instance
            finally:
                WORKERS.retire_all()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dg.DagsterInstance, Path]]:
    """One instance and one warm worker for the tests that do not change the code."""
    root = tmp_path_factory.mktemp("warm")
    with project_instance(root) as instance:
        yield instance, root


def launch(instance: dg.DagsterInstance, root: Path, job_name: str) -> dg.DagsterRun:
    sys.path.insert(0, str(root))  # the test process builds the job; the worker imports it itself
    try:
        recon_job = ReconstructableRepository.for_module(
            "warm_location", "defs", str(root)
        ).get_reconstructable_job(job_name)
        job = recon_job.get_definition()
    finally:
        sys.path.remove(str(root))
    run = instance.create_run_for_job(
        job, job_code_origin=recon_job.get_python_origin(), status=dg.DagsterRunStatus.STARTING
    )
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return run


def wait_for(instance: dg.DagsterInstance, run_id: str, *, message: str | None = None) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if message is None and run is not None and run.is_finished:
            return
        if message is not None and any(message in m for m in messages(instance, run_id)):
            return
        time.sleep(
            0.05
        )  # polling the run's own storage: there is no event to await across processes
    raise AssertionError(f"run {run_id} did not get there in {RUN_TIMEOUT_S:.0f} s")


def messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [record.user_message for record in instance.all_logs(run_id)]


def reported(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    for message in messages(instance, run_id):
        found = re.search(r"pid=(\d+) parent=(\d+) version=(\d+)", message)
        if found:
            pid, parent, version = map(int, found.groups())
            return {"pid": pid, "parent": parent, "version": version}
    raise AssertionError(f"run {run_id} reported nothing: {messages(instance, run_id)}")


def test_the_project_instance_uses_the_warm_launcher_and_queue(
    shared: tuple[dg.DagsterInstance, Path],
) -> None:
    instance, _ = shared
    assert isinstance(instance.run_launcher, WarmRunLauncher)
    assert isinstance(instance.run_coordinator, WarmQueuedRunCoordinator)


def test_runs_fork_from_one_warm_worker_and_succeed(
    shared: tuple[dg.DagsterInstance, Path],
) -> None:
    instance, tmp_path = shared
    first = launch(instance, tmp_path, "report_job")
    wait_for(instance, first.run_id)
    second = launch(instance, tmp_path, "report_job")
    wait_for(instance, second.run_id)

    key = WorkerKey(sys.executable, "warm_location", "defs", os.path.realpath(tmp_path))
    worker = WORKERS.worker_pid(key)
    for run in (first, second):
        finished = instance.get_run_by_id(run.run_id)
        assert finished is not None and finished.status == dg.DagsterRunStatus.SUCCESS
        seen = reported(instance, run.run_id)
        assert seen == {"pid": int(finished.tags[PID_TAG]), "parent": worker, "version": 1}
    assert reported(instance, first.run_id)["pid"] != reported(instance, second.run_id)["pid"]


def test_a_code_change_starts_a_new_worker_so_runs_see_the_new_code(tmp_path: Path) -> None:
    with project_instance(tmp_path) as instance:
        runs_before_and_after_a_change(instance, tmp_path)


def runs_before_and_after_a_change(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    before = launch(instance, tmp_path, "report_job")
    wait_for(instance, before.run_id)
    write_location(tmp_path, version=2)
    after = launch(instance, tmp_path, "report_job")
    wait_for(instance, after.run_id)

    old, new = reported(instance, before.run_id), reported(instance, after.run_id)
    assert (old["version"], new["version"]) == (1, 2)
    assert old["parent"] != new["parent"]


def test_terminating_a_warm_run_interrupts_it_and_the_run_ends_canceled(
    shared: tuple[dg.DagsterInstance, Path],
) -> None:
    instance, tmp_path = shared
    run = launch(instance, tmp_path, "waiting_job")
    wait_for(instance, run.run_id, message="op is waiting for termination")

    assert instance.run_launcher.terminate(run.run_id)
    wait_for(instance, run.run_id)

    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None and finished.status == dg.DagsterRunStatus.CANCELED
    worker = Path(f"/proc/{finished.tags[PID_TAG]}")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while worker.exists() and time.monotonic() < deadline:  # it exits right after RUN_CANCELED
        time.sleep(0.02)
    assert not worker.exists()


def test_only_module_code_locations_are_started_warm(
    shared: tuple[dg.DagsterInstance, Path],
) -> None:
    instance, tmp_path = shared
    module_run = launch(instance, tmp_path, "report_job")
    assert worker_key(module_run).module == "warm_location"
    wait_for(instance, module_run.run_id)

    file_origin = module_run.job_code_origin
    assert file_origin is not None
    file_run = module_run._replace(
        job_code_origin=file_origin._replace(
            repository_origin=file_origin.repository_origin._replace(
                code_pointer=FileCodePointer(str(tmp_path / "defs.py"), "defs", str(tmp_path))
            )
        )
    )
    with pytest.raises(WarmStartUnavailable, match="FileCodePointer is not a module"):
        worker_key(file_run)
