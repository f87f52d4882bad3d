"""Starting `backfill_process` under chosen hash seeds, each in a fresh Dagster installation.

One `UiInstall` is a throw-away installation: DAGSTER_HOME (the project's config/dagster.yaml and
two test settings, below) and the pipeline's raw, warehouse and state folders, all under one tmp
folder, so no test sees another's runs or files. `start` spawns the process with PYTHONHASHSEED set
(the seed is fixed when an interpreter starts, hence a process per seed); `results` waits for the
processes and returns what each read back through GraphQL.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from enrich_pipeline_tests.pipeline_helpers import KEY_VARIABLES, SPEED
from enrich_pipeline_tests.ui.spec import PROJECT_ROOT, Launch, Page, Spec

PROCESS_MODULE = "enrich_pipeline_tests.ui.backfill_process"
ERROR_LINE = re.compile(r" - (STEP|RUN)_FAILURE - |^[\w.]+(Error|Exception): ")
# These keys replace config/dagster.yaml's. The run queue daemon launches each run inside the
# process: a run worker process would cost seconds of imports per run and check nothing more. Dagster's default
# SQLite event log creates (and fsyncs) one database per run; one database for all runs changes
# nothing these tests look at.
TEST_INSTANCE_SETTINGS = """
run_launcher:
  module: dagster._core.launcher.sync_in_memory_run_launcher
  class: SyncInMemoryRunLauncher
event_log_storage:
  module: dagster._core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {history}
"""


@dataclass(frozen=True)
class UiInstall:
    """Dagster instance and pipeline folders for one process, all under `root`."""

    root: Path

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "wh"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def create(self) -> UiInstall:
        """The folders, and DAGSTER_HOME/dagster.yaml as `make setup` copies it (pools, run queue)
        plus TEST_INSTANCE_SETTINGS."""
        for folder in (self.dagster_home, self.raw_dir, self.warehouse_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        settings = yaml.safe_load((PROJECT_ROOT / "config" / "dagster.yaml").read_text())
        history = self.dagster_home / "history"
        settings.update(yaml.safe_load(TEST_INSTANCE_SETTINGS.format(history=history)))
        (self.dagster_home / "dagster.yaml").write_text(yaml.safe_dump(settings))
        return self

    def environment(
        self, seed: int, sandbox_url: str | None, pycache: Path | None
    ) -> dict[str, str]:
        """This process's environment minus anything that would steer the pipeline elsewhere
        (provider keys, ENRICH_*, SANDBOX_*, DAGSTER_*), plus this installation and the sandbox."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in KEY_VARIABLES
            and not name.startswith(("ENRICH_", "SANDBOX_", "DAGSTER_"))
        }
        env |= {
            "PYTHONHASHSEED": str(seed),
            "DAGSTER_HOME": str(self.dagster_home),
            "ENRICH_RAW_DIR": str(self.raw_dir),
            "ENRICH_WAREHOUSE_DIR": str(self.warehouse_dir),
            "ENRICH_STATE_DIR": str(self.state_dir),
            "ENRICH_SANDBOX_SPEED": SPEED,
        }
        if sandbox_url is not None:
            env["ENRICH_SANDBOX_URL"] = sandbox_url
        if pycache is not None and env.get("PYTHONDONTWRITEBYTECODE"):
            # No bytecode written: every interpreter would compile Dagster and the pipeline anew
            # (~5 s of CPU each). Compiled modules go to one cache outside the source tree instead.
            del env["PYTHONDONTWRITEBYTECODE"]
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        return env


@dataclass
class UiProcess:
    """One running `backfill_process` and where it writes."""

    seed: int
    install: UiInstall
    process: subprocess.Popen[bytes]

    @property
    def result_path(self) -> Path:
        return self.install.root / "result.json"

    @property
    def log_path(self) -> Path:
        return self.install.root / "process.log"

    def result(self, timeout_s: float) -> dict[str, Any]:
        """What the process read back; AssertionError with its log's tail if it failed or hung."""
        try:
            code: int | None = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            code = None
        if code != 0 or not self.result_path.exists():
            tail = self.log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(f"seed {self.seed}: backfill process exit {code}\n{tail}")
        result: dict[str, Any] = json.loads(self.result_path.read_text())
        return result

    def errors(self, limit: int = 6) -> str:
        """The first error lines of the process's log (step failures and exceptions): what a
        failed run's page in the UI would show first."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        found = [line for line in lines if ERROR_LINE.search(line)]
        return "\n".join(found[:limit]) or f"(no error lines in {self.log_path})"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start(
    install: UiInstall,
    spec: Spec,
    *,
    seed: int,
    sandbox_url: str | None = None,
    pycache: Path | None = None,
) -> UiProcess:
    """Spawn `backfill_process` for `spec` under PYTHONHASHSEED=`seed`, in the project folder as
    `dagster dev` runs; without `sandbox_url` no provider may be called."""
    spec_path = install.root / "spec.json"
    spec_path.write_text(json.dumps(spec))
    command = [
        sys.executable,
        "-m",
        PROCESS_MODULE,
        str(spec_path),
        str(install.root / "result.json"),
    ]
    with (install.root / "process.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=install.environment(seed, sandbox_url, pycache),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return UiProcess(seed, install, process)


def results(processes: Iterable[UiProcess], timeout_s: float) -> dict[int, dict[str, Any]]:
    """seed -> result of each process (started beforehand, so that they ran side by side)."""
    processes = list(processes)
    try:
        return {p.seed: p.result(timeout_s) for p in processes}
    finally:
        for p in processes:
            p.stop()


def ui_launch(name: str, page: Page, assets: list[str] | None = None) -> Launch:
    """A launch from a UI page; `assets` None selects every asset, as "Materialize all" does."""
    return Launch(name=name, page=page, assets=assets, job="enrich_job" if page == "job" else None)


def run_partition(run: dict[str, Any]) -> str | None:
    """The one partition a backfill's run targets, from its tags (a job backfill tags
    dagster/partition, an asset backfill a range start..end); None for a range of several."""
    tags = {t["key"]: t["value"] for t in run["tags"]}
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    first = tags.get("dagster/asset_partition_range_start")
    last = tags.get("dagster/asset_partition_range_end")
    return first if first == last else None


def key_names(keys: list[dict[str, list[str]]] | None) -> set[str]:
    """GraphQL asset keys ({path: [...]}) as the strings the UI shows."""
    return {"/".join(k["path"]) for k in keys or []}
