"""The warm run worker: one process that has already imported Dagster and a code location, and
forks a child per launched run, which then does exactly what `dagster api execute_run` does.

A launched run used to pay ~3 s of imports (Dagster, pandas, pyarrow, the project) before its first
step, on a day whose work takes a few seconds (issue #14, benchmarks/run_overhead.py). Forking a
process that has paid them once costs milliseconds. `WarmRunLauncher` (run_launcher.py) starts this
module and talks to it over two pipes, one line per message:

    stdin  (launcher -> worker): a serialized `ExecuteRunArgs`, one per run to start
    reply_fd (worker -> launcher): "ready <pid>" once the imports are done, then "pid <pid>" per run

The run's own output goes to this process's stdout/stderr, inherited from the launcher (the daemon's
terminal under `make ui`), as with a run the code server starts. The worker forks only while it has
one thread (forking a threaded process can copy a held lock); if an import ever starts a thread it
answers "error threads" and the launcher starts runs the usual way. It exits when the launcher
closes stdin (the daemon stopped); runs already forked finish on their own.

    python -m enrich_pipeline.defs.warm_worker <module> <attribute> <reply_fd>
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback


def main(argv: list[str]) -> int:
    module, attribute, reply_fd = argv[1], argv[2], int(argv[3])
    replies = os.fdopen(reply_fd, "w", buffering=1)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C in the terminal: just go
    _warm_up(module, attribute)
    if threading.active_count() != 1:
        replies.write("error threads\n")
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished runs are reaped by the kernel
    replies.write(f"ready {os.getpid()}\n")
    for request in sys.stdin:
        pid = os.fork()
        if pid == 0:
            _run(request.strip(), reply_fd)  # never returns
        replies.write(f"pid {pid}\n")
    return 0


def _warm_up(module: str, attribute: str) -> None:
    """Everything a run's first second goes to: the imports, the definitions (Dagster caches them
    per code pointer, so the child finds them loaded) and the instance's storage modules (opened
    and closed again here: no connection crosses the fork)."""
    import dagster as dg
    from dagster._cli import api  # noqa: F401  # the run's entry point
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    ReconstructableRepository.for_module(module, attribute, os.getcwd()).get_definition()
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
    from enrich_pipeline import heap

    heap.settle()  # what every forked run inherits is never scanned by the collector again


def _run(serialized_args: str, reply_fd: int) -> None:
    """In the forked child: the body of `dagster api execute_run`, then exit with its status."""
    code = 1
    try:
        os.close(reply_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the launcher's requests are not the run's input
        os.close(devnull)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the run may wait on its own children
        signal.signal(signal.SIGINT, signal.default_int_handler)  # termination: Dagster's interrupt
        from dagster._cli.api import execute_run_command

        execute_run_command.callback(input_json=serialized_args, compressed_input_json=None)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
