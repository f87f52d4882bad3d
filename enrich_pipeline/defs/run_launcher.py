"""Launch runs from a warm worker: Dagster's default launcher, minus ~3 s of imports per run.

Dagster's `DefaultRunLauncher` asks the code server to spawn a fresh `dagster api execute_run`
process per run, which imports Dagster and the project again before the first step: on a sample day
that was a third of the run (issue #14; benchmarks/run_overhead.py). `WarmRunLauncher` keeps one
warm worker per code location (warm_worker.py: the same executable, module and working directory
as the run's code origin, imports already done) and forks it per run. The child runs the same
`execute_run` body, so events, pools, run monitoring and the run's process tree look as before.

Whenever the warm path cannot be trusted it steps aside and the run starts the default way: a code
pointer that is not a module, the location's Python sources changed since the worker imported them
(a new worker is started for the next run; this one starts cold), or the worker failed to answer.
`WarmQueuedRunCoordinator` starts the worker when the daemon starts, so the first run is warm too.

Termination: the run is marked CANCELING and its process gets SIGINT, which Dagster's run worker
turns into a clean interruption (steps see DagsterExecutionInterruptedError, the run ends CANCELED).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import DefaultRunLauncher, LaunchRunContext
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import serialize_value

PID_TAG = "enrich/run_worker_pid"
HOST_TAG = "enrich/run_worker_host"
WORKER_MODULE = "enrich_pipeline.defs.warm_worker"
PREWARM_MODULE, PREWARM_ATTRIBUTE = "enrich_pipeline.definitions", "defs"  # workspace.yaml
READY_TIMEOUT_S = 120.0  # imports on a cold, loaded machine
REPLY_TIMEOUT_S = 10.0  # one fork


class WarmStartUnavailable(Exception):
    """The warm worker cannot start this run; the default launcher will."""


@dataclass(frozen=True)
class WorkerKey:
    """What a warm worker was started for: it may only start runs with this same origin."""

    executable: str
    module: str
    attribute: str
    working_directory: str


def sources_fingerprint(module: str, working_directory: str) -> tuple[int, int, int]:
    """(files, newest mtime, total bytes) of the Python sources of `module`'s top-level package: a
    worker whose imports predate a change must not start runs (the UI's "reload" would lie)."""
    top = module.split(".")[0]
    local = Path(working_directory) / top  # the code server puts working_directory first
    if local.is_dir() or local.with_suffix(".py").is_file():
        roots = [local if local.is_dir() else local.with_suffix(".py")]
    else:
        spec = importlib.util.find_spec(top)
        if spec is None:
            raise WarmStartUnavailable(f"cannot find the sources of {module}")
        roots = [Path(p) for p in spec.submodule_search_locations or [spec.origin or ""]]
    files = newest = size = 0
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*.py")
        for path in paths:
            stat = path.stat()
            files += 1
            newest = max(newest, stat.st_mtime_ns)
            size += stat.st_size
    return files, newest, size


class WarmWorker:
    """One warm worker process and the two pipes to it."""

    def __init__(self, key: WorkerKey) -> None:
        self.key = key
        self.fingerprint = sources_fingerprint(key.module, key.working_directory)
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [key.executable, "-m", WORKER_MODULE, key.module, key.attribute, str(write_fd)],
                stdin=subprocess.PIPE,
                cwd=key.working_directory,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        self._replies = read_fd
        self._buffer = b""
        self._ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def start_run(self, serialized_args: str) -> int:
        """Fork one run; its pid."""
        if not self._ready:
            reply = self._reply(READY_TIMEOUT_S)
            if not reply.startswith("ready "):
                raise WarmStartUnavailable(f"warm worker did not start ({reply})")
            self._ready = True
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(serialized_args.encode() + b"\n")
            stdin.flush()
        except OSError as error:
            raise WarmStartUnavailable(f"warm worker gone ({error})") from error
        reply = self._reply(REPLY_TIMEOUT_S)
        if not reply.startswith("pid "):
            raise WarmStartUnavailable(f"warm worker answered {reply!r}")
        return int(reply.split()[1])

    def _reply(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarmStartUnavailable(f"warm worker silent for {timeout_s:.0f} s")
            readable, _, _ = select.select([self._replies], [], [], remaining)
            if readable:
                chunk = os.read(self._replies, 4096)
                if not chunk:
                    raise WarmStartUnavailable(f"warm worker exited ({self.process.poll()})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def retire(self) -> None:
        """No more runs from this worker: it exits; runs it forked go on."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        os.close(self._replies)


class _Workers:
    """This process's warm workers, one per origin, shared by every launcher object in it (the
    daemon builds several instances)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[WorkerKey, WarmWorker] = {}
        self._retired: list[subprocess.Popen[bytes]] = []

    def start_run(self, key: WorkerKey, serialized_args: str) -> int:
        with self._lock:
            worker = self._current(key)
            try:
                pid = worker.start_run(serialized_args)
            except WarmStartUnavailable:
                self._drop(key)
                raise
            return pid

    def prewarm(self, key: WorkerKey) -> None:
        with self._lock:
            self._current(key)

    def retire_all(self) -> None:
        """Every worker exits (runs they forked go on); the next run starts a new one."""
        with self._lock:
            for key in list(self._by_key):
                self._drop(key)

    def worker_pid(self, key: WorkerKey) -> int | None:
        worker = self._by_key.get(key)
        return worker.process.pid if worker is not None else None

    def _current(self, key: WorkerKey) -> WarmWorker:
        worker = self._by_key.get(key)
        fresh = worker is not None and worker.alive()
        if fresh and worker is not None:
            fresh = worker.fingerprint == sources_fingerprint(key.module, key.working_directory)
        if worker is None or not fresh:
            self._drop(key)
            worker = self._by_key[key] = WarmWorker(key)
        return worker

    def _drop(self, key: WorkerKey) -> None:
        worker = self._by_key.pop(key, None)
        if worker is not None:
            worker.retire()
            self._retired.append(worker.process)
            self._retired = [p for p in self._retired if p.poll() is None]  # reap


WORKERS = _Workers()


def worker_key(run: dg.DagsterRun) -> WorkerKey:
    origin = run.job_code_origin
    if origin is None:
        raise WarmStartUnavailable("the run has no code origin")
    pointer = origin.repository_origin.code_pointer
    if not isinstance(pointer, ModuleCodePointer):
        raise WarmStartUnavailable(f"code pointer {type(pointer).__name__} is not a module")
    working_directory = os.path.realpath(pointer.working_directory or os.getcwd())
    return WorkerKey(origin.executable_path, pointer.module, pointer.fn_name, working_directory)


class WarmRunLauncher(DefaultRunLauncher):
    """`DefaultRunLauncher` that forks runs from a warm worker; see the module docstring."""

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        try:
            key = worker_key(run)
            args = ExecuteRunArgs(
                job_origin=run.job_code_origin,  # type: ignore[arg-type]  # checked in worker_key
                run_id=run.run_id,
                instance_ref=self._instance.get_ref(),
            )
            pid = WORKERS.start_run(key, serialize_value(args))
        except WarmStartUnavailable as reason:
            self._instance.report_engine_event(
                f"Starting the run the default way: {reason}.", run, cls=self.__class__
            )
            super().launch_run(context)
            return
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(pid), HOST_TAG: socket.gethostname()})
        self._run_ids.add(run.run_id)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        pid = run.tags.get(PID_TAG)
        if pid is None:
            return super().terminate(run_id)
        self._instance.report_run_canceling(run)
        if run.tags.get(HOST_TAG) != socket.gethostname():
            self._instance.report_engine_event(
                f"Run worker {pid} is on {run.tags.get(HOST_TAG)}, not here: cannot interrupt it.",
                run,
                cls=self.__class__,
            )
            return False
        try:
            os.kill(int(pid), signal.SIGINT)
        except ProcessLookupError:
            return False
        return True


def _in_daemon() -> bool:
    """`dagster-daemon run`, or the daemon `dagster dev` / `dg dev` start (`-m dagster._daemon`)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return program.name == "dagster-daemon" or program.parts[-2:] == ("_daemon", "__main__.py")


class WarmQueuedRunCoordinator(QueuedRunCoordinator):
    """Dagster's run queue, which in the daemon also starts the warm worker for the project's code
    location, so that the first run of a session is warm as well."""

    def register_instance(self, instance: dg.DagsterInstance) -> None:
        super().register_instance(instance)
        if _in_daemon():
            threading.Thread(target=_prewarm, args=(instance,), daemon=True).start()


def _prewarm(instance: dg.DagsterInstance) -> None:
    if isinstance(instance.run_launcher, WarmRunLauncher):
        key = WorkerKey(
            sys.executable, PREWARM_MODULE, PREWARM_ATTRIBUTE, os.path.realpath(os.getcwd())
        )
        WORKERS.prewarm(key)
