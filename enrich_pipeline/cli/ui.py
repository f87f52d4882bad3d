"""`make ui`: the sandbox and `dg dev` (webserver, daemon, code servers) under one supervisor that
stops everything it started, whatever stops it.

    python -m enrich_pipeline.cli.ui [--port 3000] [--sandbox-port 8700] [--webhook-port P] [--grace 30]

* With `--webhook-port` (`make ui WEBHOOK_PORT=8710`) the webhook receiver (`enrich-pipeline
  webhooks`) runs beside them, and when ENRICH_WEBHOOK_URL is unset the runs are pointed at it
  (http://<host>:<port>: the local sandbox reaches it; live providers need a public URL, so in live
  mode ENRICH_WEBHOOK_URL must be set by you). Without it nothing changes: results are polled.

* Each child starts in its own session, so a terminal's Ctrl-C (SIGINT to the foreground process
  group) reaches only `make` and this supervisor, which then shuts the children down in order instead
  of every process receiving the signal at once (the old `trap "kill 0"` interrupted `dagster dev`
  inside its own shutdown, and the webserver, daemon and code servers outlived it).
* On SIGINT, SIGTERM or SIGHUP, or when one child exits, the others are asked to stop: `dg dev` gets
  SIGINT (it then stops its webserver and daemon and closes its code servers), the sandbox SIGTERM.
  After `--grace` seconds (30) every process still below the supervisor gets SIGKILL; a second signal
  skips the wait.
* On Linux the supervisor is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a grandchild whose
  parent died (a code server, a run worker) is re-parented to it rather than to init, so the final
  sweep over /proc finds it. Its children also get PR_SET_PDEATHSIG=SIGTERM: if the supervisor itself
  is killed with SIGKILL, `dg dev` and the sandbox are still told to stop (and `dg dev` stops its own).

This module uses the standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.2
EXIT_PART_DIED = 1


def _log(message: str) -> None:
    print(f"ui: {message}", file=sys.stderr, flush=True)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _become_subreaper() -> bool:
    prctl = _prctl()
    return bool(prctl) and prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    prctl = _prctl()
    if prctl:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def descendants(root: int) -> list[int]:
    """Every live process below `root`, found by walking /proc/<pid>/stat parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] == "Z":  # a zombie is dead already; reaping it is the parent's business
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for pid in children.get(stack.pop(), []):
            found.append(pid)
            stack.append(pid)
    return found


class Supervisor:
    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.signals: list[int] = []
        self.subreaper = _become_subreaper()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _log(f"started {name} (pid {self.children[name].pid})")

    def _reap(self) -> None:
        """Collect our children's exit statuses, and those of adopted orphans (we are their
        subreaper), so that neither lingers as a zombie."""
        ours = set()
        for proc in self.children.values():
            proc.poll()
            ours.add(proc.pid)
        if not self.subreaper:
            return
        me = str(os.getpid())
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) in ours:
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            state, ppid = stat[stat.rfind(")") + 2 :].split()[:2]
            if state == "Z" and ppid == me:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry.name), os.WNOHANG)

    def _remaining(self) -> list[int]:
        self._reap()
        if sys.platform.startswith("linux"):
            return descendants(os.getpid())
        return [p.pid for p in self.children.values() if p.returncode is None]

    def wait(self) -> str | None:
        """Until a signal arrives or a child exits; returns the name of a child that exited."""
        while not self.signals:
            self._reap()
            for name, proc in self.children.items():
                if proc.returncode is not None:
                    return name
            time.sleep(POLL_S)
        return None

    def stop(self, polite: dict[str, int]) -> None:
        handled = len(self.signals)
        for name, sig in polite.items():
            proc = self.children.get(name)
            if proc and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, sig)
        deadline = time.monotonic() + self.grace_s
        while (left := self._remaining()) and time.monotonic() < deadline:
            if len(self.signals) > handled:
                _log("second signal: killing everything now")
                break
            time.sleep(POLL_S)
        for _ in range(50):  # SIGKILL until nothing is left below us (new orphans may appear)
            left = self._remaining()
            if not left:
                break
            _log(f"killing {len(left)} process(es) still running: {left}")
            for proc in self.children.values():  # whole process groups first
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(POLL_S)
        for proc in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m enrich_pipeline.cli.ui",
        description="The sandbox and the Dagster UI (dg dev); stops all of it on Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="Dagster webserver port")
    parser.add_argument("--sandbox-port", type=int, default=8700)
    parser.add_argument(
        "--webhook-port",
        type=int,
        help="also run the webhook receiver on this port (runs use it unless ENRICH_WEBHOOK_URL is set)",
    )
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds to stop cleanly before SIGKILL"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    bindir = Path(sys.executable).parent
    root = Path(__file__).resolve().parents[2]  # the project: pyproject.toml with [tool.dg]
    sup = Supervisor(args.grace)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, sup.on_signal)

    env = dict(os.environ)
    if sys.prefix != sys.base_prefix:  # dg compares the active venv with the project's .venv
        env["VIRTUAL_ENV"] = sys.prefix
    speed = env.get("ENRICH_SANDBOX_SPEED", "0.05")
    sandbox_url = f"http://{args.host}:{args.sandbox_port}"
    env.update(ENRICH_SANDBOX_URL=sandbox_url, ENRICH_SANDBOX_SPEED=speed)
    sandbox_argv = [sys.executable, "-m", "enrich_pipeline.cli", "sandbox"]
    sandbox_argv += ["--host", args.host, "--port", str(args.sandbox_port)]
    dg_argv = [str(bindir / "dg"), "dev", "--host", args.host, "--port", str(args.port)]
    dg_argv += ["--target-path", str(root)]

    webhooks_argv = None
    if args.webhook_port:
        webhooks_argv = [sys.executable, "-m", "enrich_pipeline.cli", "webhooks"]
        webhooks_argv += ["--host", args.host, "--port", str(args.webhook_port)]
        env.setdefault("ENRICH_WEBHOOK_URL", f"http://{args.host}:{args.webhook_port}")
        _log(f"runs ask providers to deliver to {env['ENRICH_WEBHOOK_URL']}")

    died = None
    try:
        sup.start("sandbox", sandbox_argv, {**env, "SANDBOX_SPEED": speed})
        if webhooks_argv and not sup.signals:
            sup.start("webhooks", webhooks_argv, env)
        if not sup.signals:
            sup.start("dg dev", dg_argv, env)
        parts = f"sandbox on {sandbox_url}, Dagster UI on http://{args.host}:{args.port}"
        if webhooks_argv:
            parts += f", webhook receiver on http://{args.host}:{args.webhook_port}"
        _log(f"{parts} (Ctrl-C stops all of it)")
        died = sup.wait()
    finally:
        if died:
            _log(f"{died} exited with {sup.children[died].returncode}: stopping the rest")
        else:
            _log("stopping the Dagster UI, the sandbox and the webhook receiver")
        sup.stop({"dg dev": signal.SIGINT, "webhooks": signal.SIGINT, "sandbox": signal.SIGTERM})
        _log("stopped")
    if died:
        return EXIT_PART_DIED
    return 128 + sup.signals[0] if sup.signals else 0


if __name__ == "__main__":
    raise SystemExit(main())
