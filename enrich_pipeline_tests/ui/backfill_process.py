"""The Dagster webserver's GraphQL API and the backfill daemon for one scenario, in this process.

Run as `python -m enrich_pipeline_tests.ui.backfill_process SPEC.json RESULT.json`, with
DAGSTER_HOME and the ENRICH_* variables set by the caller (`harness.py`). Why a process of its own:
Dagster validates a backfill (and the daemon plans its runs) by walking *sets* of asset keys, whose
order follows the interpreter's hash seed; issue #14's "Targeted subset must match ..." came and went
with PYTHONHASHSEED, which is fixed when an interpreter starts. So every seed gets an interpreter.

What runs here is Dagster's own code, not a re-implementation: the GraphQL schema the webserver
serves (`launchPartitionBackfill` with the exact parameters the UI's dialogs send, see `ui_params`),
then the backfill daemon's iteration and the run queue daemon's iteration, as `dagster-daemon run`
would call them, minus its 30 s pause between backfill iterations. The code location is loaded in
this process (`dagster dev` would start a gRPC code server, but the checks that failed run in the
webserver and the daemon, on the snapshot either way), and the instance is DAGSTER_HOME's: the run
queue and pools of config/dagster.yaml, with the run launcher `harness.py` adds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterInstance
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import BACKFILL_ID_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster._utils.error import SerializableErrorInfo
from dagster_graphql.schema import create_schema

from enrich_pipeline_tests.ui.spec import PROJECT_ROOT, Launch, Spec

DEFINITIONS_MODULE = "enrich_pipeline.definitions"
LOCATION = "enrich_pipeline"  # pyproject's code_location_name, as `dagster dev` names it
BACKFILL_IN_FLIGHT = {
    BulkActionStatus.REQUESTED,
    BulkActionStatus.CANCELING,
    BulkActionStatus.FAILING,
}
RUNNING = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
RUN_POLL_S = 0.1

ASSETS_QUERY = """
query UiAssetGraph {
  assetNodes { assetKey { path } }
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } } }
    ... on Error { message }
  }
}
"""

# The UI's LAUNCH_PARTITION_BACKFILL_MUTATION asks for the same union members.
LAUNCH_MUTATION = """
mutation UiLaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on Error { message }
    ... on PythonError { className stack }
  }
}
"""

BACKFILL_QUERY = """
query UiBackfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      id
      status
      partitionNames
      assetSelection { path }
      error { message }
      runs {
        runId
        status
        tags { key value }
        assetSelection { path }
        assetMaterializations { assetKey { path } partition }
      }
    }
    ... on Error { message }
  }
}
"""


def workspace_target() -> InProcessWorkspaceLoadTarget:
    """The project's code location (pyproject's module and name), loaded in this process."""
    origin = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=DEFINITIONS_MODULE,
        working_directory=str(PROJECT_ROOT),
    )
    return InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name=LOCATION))


class Webserver:
    """The webserver's GraphQL endpoint without HTTP: one request context per query, as it does."""

    def __init__(self, process_context: WorkspaceProcessContext) -> None:
        self.process_context = process_context
        self.schema = create_schema()

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        context = self.process_context.create_request_context()
        result = asyncio.run(
            self.schema.execute_async(
                document, context_value=context, variable_values=dict(variables or {})
            )
        )
        if result.errors:
            raise RuntimeError(f"GraphQL errors: {[str(e) for e in result.errors]}")
        assert result.data is not None
        return result.data


def ui_params(
    launch: Launch, days: list[str], every_asset: list[list[str]], repository: dict[str, str]
) -> dict[str, Any]:
    """`backfillParams` as the UI's LaunchAssetChoosePartitionsDialog builds them.

    The asset graph's "Materialize all" and the Catalog's "Materialize selected" send the asset keys
    and the partition names; on a job's page the same dialog adds the job's partition set."""
    keys = every_asset if launch["assets"] is None else [[name] for name in launch["assets"]]
    params: dict[str, Any] = {
        "tags": [],
        "assetSelection": [{"path": path} for path in keys],
        "partitionNames": days,
        "fromFailure": False,
    }
    if launch["page"] == "job":
        params["selector"] = {
            "partitionSetName": f"{launch['job']}_partition_set",
            "repositorySelector": {
                "repositoryLocationName": repository["location"],
                "repositoryName": repository["name"],
            },
        }
    return params


def wait_while_running(instance: DagsterInstance, backfill_ids: list[str], deadline: float) -> None:
    """Until no run of these backfills is starting or running: runs the run queue launched into
    processes of their own. (The in-process launcher of these tests returns with the run done.)"""
    while instance.get_runs(RunsFilter(statuses=RUNNING, tags={BACKFILL_ID_TAG: backfill_ids})):
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs of backfills {backfill_ids} still running")
        time.sleep(RUN_POLL_S)


def reported(iteration: Iterable[object]) -> list[str]:
    """The errors a daemon iteration yields (among None and span markers)."""
    return [e.to_string() for e in iteration if isinstance(e, SerializableErrorInfo)]


def run_daemons(
    process_context: WorkspaceProcessContext,
    backfill_ids: list[str],
    *,
    run: bool,
    deadline: float,
) -> list[str]:
    """What `dagster-daemon run` does for these backfills: the backfill daemon's iteration, and
    when `run` the run queue's (which launches the queued runs) in turn, until every backfill is
    settled. Returns the errors the daemons reported (they log them and carry on)."""
    logger = logging.getLogger("backfill_daemon")
    instance = process_context.instance
    errors: list[str] = []
    with QueuedRunCoordinatorDaemon(interval_seconds=0) as run_queue:
        while True:
            errors += reported(execute_backfill_iteration(process_context, logger))
            if not run or errors:
                return errors
            backfills = [instance.get_backfill(i) for i in backfill_ids]
            if all(b is not None and b.status not in BACKFILL_IN_FLIGHT for b in backfills):
                return errors
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfills {backfill_ids} not settled")
            errors += reported(run_queue.run_iteration(process_context))
            wait_while_running(instance, backfill_ids, deadline)


@contextmanager
def ui_process() -> Iterator[WorkspaceProcessContext]:
    """DAGSTER_HOME's instance and the workspace, as the webserver and the daemon hold them."""
    with (
        DagsterInstance.get() as instance,
        WorkspaceProcessContext(instance, workspace_target()) as process_context,
    ):
        yield process_context


def execute(spec: Spec) -> dict[str, Any]:
    """Launch every backfill of `spec` through GraphQL, let the daemons act, read them back."""
    deadline = time.monotonic() + spec["timeout_s"]
    with ui_process() as process_context:
        webserver = Webserver(process_context)
        graph = webserver.query(ASSETS_QUERY)
        every_asset = sorted(node["assetKey"]["path"] for node in graph["assetNodes"])
        (repo,) = graph["repositoriesOrError"]["nodes"]
        repository = {"name": repo["name"], "location": repo["location"]["name"]}
        launched: dict[str, dict[str, Any]] = {}
        daemon_errors: list[str] = []
        for phase in spec["phases"]:
            ids: list[str] = []
            for launch in phase:
                params = ui_params(launch, spec["days"], every_asset, repository)
                answer = webserver.query(LAUNCH_MUTATION, {"backfillParams": params})
                launched[launch["name"]] = answer = answer["launchPartitionBackfill"]
                ids += [answer["backfillId"]] if "backfillId" in answer else []
            daemon_errors += run_daemons(process_context, ids, run=spec["run"], deadline=deadline)
        backfills = {
            name: webserver.query(BACKFILL_QUERY, {"backfillId": answer["backfillId"]})[
                "partitionBackfillOrError"
            ]
            for name, answer in launched.items()
            if "backfillId" in answer
        }
    return {
        "every_asset": ["/".join(path) for path in every_asset],
        "launched": launched,
        "daemon_errors": daemon_errors,
        "backfills": backfills,
    }


def main(argv: list[str]) -> None:
    spec_path, result_path = argv
    spec: Spec = json.loads(Path(spec_path).read_text())
    result = execute(spec)
    Path(result_path).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
