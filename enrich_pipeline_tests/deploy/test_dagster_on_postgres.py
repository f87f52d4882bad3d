"""Three days backfilled through a Postgres-backed Dagster deployment, every part its own process
(issue #11): what deploy/docker-compose.yml runs, on free local ports instead of containers.

    Postgres (the suite's pgserver binaries, on TCP)  databases `dagster` and `enrich_ledger`
    sandbox        `enrich-pipeline sandbox --seed 42`: the world the sample days were drawn from
    code server    `dagster code-server start -m enrich_pipeline.definitions` (launches the runs)
    webserver      `dagster-webserver -w <deploy/workspace.yaml on this machine>`
    daemon         `dagster-daemon run`: the backfill, the run queue, the provider pools

DAGSTER_HOME/dagster.yaml is config/dagster-postgres.yaml as it stands; the DAGSTER_PG_* variables
point it at the server, ENRICH_LEDGER_URL the ledger. The backfill is launched as the UI's
"Materialize all" launches it (`launchPartitionBackfill`, the helpers of ui/backfill_process.py),
before the daemon starts: Dagster's backfill daemon ticks every 30 s (not configurable), and its
first tick picks the backfill up at once; a daemon already running would on its next tick.

Checked: three runs succeed, one per day; the days' contacts are in the warehouse (every prospect
has its row, found emails belong to real people of the world, the DuckDB view counts them all);
the ledger's rows are in Postgres (every submission answered and stored), with no SQLite ledger;
runs and events are in Postgres, with no SQLite storage in DAGSTER_HOME; and no two steps of one
pool overlapped in time across the runs (from the event log's step start/end times), while the
runs themselves did overlap, so the pools are what kept the steps apart.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from dagster import DagsterInstance
from dagster._grpc.client import DagsterGrpcClient

from enrich_pipeline.sandbox.world import World
from enrich_pipeline.warehouse.storage import Warehouse, connect_readonly
from enrich_pipeline_tests.deploy.stack import (
    BIN,
    REPO,
    GraphQL,
    Stack,
    TcpPostgresServer,
    free_port,
    running,
    workspace_for,
)
from enrich_pipeline_tests.pipeline_helpers import PROVIDERS, people_submitted
from enrich_pipeline_tests.ui.backfill_process import (
    ASSETS_QUERY,
    BACKFILL_QUERY,
    LAUNCH_MUTATION,
    ui_params,
)
from enrich_pipeline_tests.ui.harness import run_partition, ui_launch

DAYS = ["2026-11-02", "2026-11-03", "2026-11-04"]
SEED, PEOPLE, COMPANIES = 42, 5000, 800  # the sandbox's default world: the sample days' people
SPEED = "0.01"
LOCATION = "enrich_pipeline"
PG_USER, PG_PASSWORD = "dagster", "deploy-test"  # trust auth: the password travels, unchecked
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
STEP_EVENTS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE")
STARTUP_S, RUNS_S = 120, 180
POOL_LIMIT = 1  # config/dagster-postgres.yaml's default_limit

WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
POOLS_QUERY = "{ assetNodes { opNames pools } }"

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(STARTUP_S + RUNS_S + 60)]


def environment(root: Path, server: TcpPostgresServer) -> dict[str, str]:
    """This process's environment minus anything steering Dagster or the pipeline elsewhere (keys,
    base URLs, ENRICH_*, SANDBOX_*, DAGSTER_*), plus the deployment's variables."""
    own = ("ENRICH_", "SANDBOX_", "DAGSTER_", "LEMLIST_", "ENRICHSO_", "THEHOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    return env | {
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": PG_PASSWORD,
        "DAGSTER_PG_DB": "dagster",
        "ENRICH_LEDGER_URL": server.tcp_url("enrich_ledger", PG_USER, PG_PASSWORD),
        "ENRICH_RAW_DIR": str(root / "raw"),
        "ENRICH_WAREHOUSE_DIR": str(root / "wh"),
        "ENRICH_STATE_DIR": str(root / "state"),
        "ENRICH_SANDBOX_SPEED": SPEED,
    }


def install(root: Path) -> Path:
    """DAGSTER_HOME with config/dagster-postgres.yaml, the days' raw files, the empty data folders;
    returns the workspace file for the webserver and the daemon."""
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(REPO / "config" / "dagster-postgres.yaml", home / "dagster.yaml")
    for day in DAYS:
        shutil.copytree(REPO / "data" / "raw" / "prospects" / day, root / "raw" / day)
    for folder in ("wh", "state", "logs"):
        (root / folder).mkdir()
    return root / "logs"


def location_loaded(graphql: GraphQL) -> bool:
    entries = graphql(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    (entry,) = [e for e in entries if e["name"] == LOCATION]
    loaded = entry["locationOrLoadError"]
    if entry["loadStatus"] != "LOADED" or loaded is None:
        return False
    assert loaded["__typename"] != "PythonError", loaded["message"]
    return True


def set_pool_limits(env: dict[str, str], pools: set[str]) -> None:
    """Every pool's limit set once, as `dagster instance concurrency set <pool> 1` does (the
    deployment's one-off step, deploy/docker-compose.yml's `pools` service). Left to the first
    claims, two runs starting at once both insert the pool's default row on Postgres and one run
    fails (dagster-io/dagster#33552, open in 1.13.27); an explicitly set limit skips that path."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB"):
            patch.setenv(name, env[name])
        patch.setenv("DAGSTER_PG_PASSWORD", env["DAGSTER_PG_PASSWORD"])
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            for pool in sorted(pools):
                instance.event_log_storage.set_concurrency_slots(pool, POOL_LIMIT)


def launch_backfill(graphql: GraphQL) -> str:
    """Every asset over DAYS, with the parameters the asset graph's "Materialize all" sends."""
    graph = graphql(ASSETS_QUERY)
    every_asset = sorted(node["assetKey"]["path"] for node in graph["assetNodes"])
    (repo,) = graph["repositoriesOrError"]["nodes"]
    repository = {"name": repo["name"], "location": repo["location"]["name"]}
    params = ui_params(ui_launch("materialize all", "asset_graph"), DAYS, every_asset, repository)
    answer = graphql(LAUNCH_MUTATION, {"backfillParams": params})["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return str(answer["backfillId"])


def finished_runs(graphql: GraphQL, backfill_id: str) -> list[dict[str, Any]] | None:
    backfill = graphql(BACKFILL_QUERY, {"backfillId": backfill_id})["partitionBackfillOrError"]
    runs: list[dict[str, Any]] = backfill["runs"]
    done = len(runs) == len(DAYS) and all(run["status"] in FINISHED for run in runs)
    return runs if done else None


def start_stack(stack: Stack, env: dict[str, str], root: Path) -> tuple[GraphQL, str]:
    """Sandbox, code server and webserver; returns the webserver's GraphQL and the sandbox URL."""
    sandbox_port, code_port, web_port = free_port(), free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env["ENRICH_SANDBOX_URL"] = sandbox_url
    workspace = root / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(workspace_for(code_port)))
    sandbox = [str(BIN / "enrich-pipeline"), "sandbox", "--port", str(sandbox_port)]
    world = ["--seed", str(SEED), "--people", str(PEOPLE), "--companies", str(COMPANIES)]
    stack.start("sandbox", [*sandbox, *world, "--speed", SPEED], env)
    code_server = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1"]
    module = ["-m", "enrich_pipeline.definitions", "--location-name", LOCATION]
    stack.start("code_server", [*code_server, "-p", str(code_port), *module], env)
    # The webserver after the code server answers, as compose's depends_on + healthcheck order them:
    # a location it cannot reach at start stays an error until someone presses Reload.
    code = DagsterGrpcClient(port=code_port, host="127.0.0.1")
    stack.wait_for("code server", lambda: code.health_check_query() == "SERVING", STARTUP_S)
    webserver = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port)]
    stack.start("webserver", [*webserver, "-w", str(workspace)], env)
    graphql = GraphQL(f"http://127.0.0.1:{web_port}")
    stack.wait_for(
        "sandbox",
        lambda: httpx.get(f"{sandbox_url}/_sandbox/health", timeout=5).is_success,
        STARTUP_S,
    )
    stack.wait_for("code location in the webserver", lambda: location_loaded(graphql), STARTUP_S)
    return graphql, sandbox_url


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as db:
        return db.execute(sql).fetchall()  # type: ignore[arg-type]


def step_intervals(
    dagster_db: str, pool_of_step: dict[str, str]
) -> dict[str, list[tuple[datetime, datetime, str, str]]]:
    """pool -> (start, end, run id, step) of every step in a pool, from Postgres's event log."""
    rows = query(
        dagster_db,
        "SELECT run_id, step_key, dagster_event_type, timestamp FROM event_logs "
        f"WHERE dagster_event_type IN {STEP_EVENTS} AND step_key IS NOT NULL",
    )
    starts: dict[tuple[str, str], datetime] = {}
    ends: dict[tuple[str, str], datetime] = {}
    for run_id, step, kind, at in rows:
        (starts if kind == "STEP_START" else ends)[(run_id, step)] = at
    by_pool: dict[str, list[tuple[datetime, datetime, str, str]]] = defaultdict(list)
    for (run_id, step), started in starts.items():
        if step in pool_of_step:
            by_pool[pool_of_step[step]].append((started, ends[(run_id, step)], run_id, step))
    return by_pool


def check_runs_and_pools(graphql: GraphQL, runs: list[dict[str, Any]], dagster_db: str) -> None:
    assert sorted(str(run_partition(run)) for run in runs) == DAYS
    assert {run["status"] for run in runs} == {"SUCCESS"}, [(r["runId"], r["status"]) for r in runs]
    # Runs and events are in Postgres: the storage the webserver, daemon and workers share.
    stored = query(dagster_db, "SELECT run_id, status FROM runs")
    assert sorted(stored) == sorted((run["runId"], "SUCCESS") for run in runs)

    pool_of_step = {
        op: pool
        for node in graphql(POOLS_QUERY)["assetNodes"]
        for op in node["opNames"]
        for pool in node["pools"]
    }
    assert {pool_of_step[f"{p}_enrichment"] for p in PROVIDERS} == set(PROVIDERS)
    by_pool = step_intervals(dagster_db, pool_of_step)
    assert set(by_pool) >= set(PROVIDERS)
    for pool, steps in by_pool.items():
        steps.sort()
        assert len({run_id for _, _, run_id, _ in steps}) == len(DAYS), (pool, steps)
        for (_, ended, run_a, step_a), (started, _, run_b, step_b) in pairwise(steps):
            assert started >= ended, f"pool {pool}: {step_b} of {run_b} started at {started}, " + (
                f"before {step_a} of {run_a} ended at {ended}"
            )
    # The runs overlapped: without the pools their provider steps could have too.
    spans = query(dagster_db, "SELECT run_id, start_time, end_time FROM runs")
    assert len(spans) == len(DAYS)
    assert any(
        a_start < b_end and b_start < a_end
        for i, (_, a_start, a_end) in enumerate(spans)
        for _, b_start, b_end in spans[i + 1 :]
    ), f"the runs ran one after another: {spans}"


def check_warehouse(root: Path) -> None:
    world = World.build(SEED, PEOPLE, COMPANIES)
    warehouse = Warehouse(root / "wh")
    total = 0
    for day in DAYS:
        prospects = warehouse.read_partition("prospects", day)
        contacts = warehouse.read_partition("contacts", day)
        assert prospects is not None and contacts is not None, day
        rows = contacts.to_pylist()
        assert rows and sorted(r["person_key"] for r in rows) == sorted(
            prospects.column("person_key").to_pylist()
        ), day
        # Found, not brought: an address the prospect row did not carry (a brought one that a
        # provider verified is found too) belongs to a real person of the sandbox's world.
        brought = {r["person_key"]: r["email"] for r in prospects.to_pylist()}
        found = [
            r["email"] for r in rows if r["found_email"] and r["email"] != brought[r["person_key"]]
        ]
        assert found, f"{day}: no email found"
        assert [e for e in found if world.find_by_email(e) is None] == [], day
        total += len(rows)
    with connect_readonly(root / "wh") as con:
        (counted,) = con.execute("SELECT COUNT(*) FROM contacts").fetchone() or (0,)
    assert counted == total


def check_ledger(root: Path, ledger_db: str, sandbox_url: str) -> None:
    assert not (root / "state" / "ledger.sqlite").exists()
    days = {day for (day,) in query(ledger_db, "SELECT DISTINCT day FROM results")}
    assert days == set(DAYS)
    # Every submission was answered and its answer stored before the tables were built from it.
    states = dict(query(ledger_db, "SELECT state, COUNT(*) FROM submissions GROUP BY 1"))
    assert set(states) == {"completed"}, states
    unanswered = query(
        ledger_db,
        "SELECT COUNT(*) FROM submissions s "
        "WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.submission_id = s.id)",
    )
    assert unanswered == [(0,)]
    # The providers the sandbox was sent people by are the ones the ledger recorded.
    counters = httpx.get(f"{sandbox_url}/_sandbox/counters", timeout=10).json()
    recorded = {p for (p,) in query(ledger_db, "SELECT DISTINCT provider FROM submissions")}
    assert recorded == {p for p in PROVIDERS if people_submitted(counters, p)} == set(PROVIDERS)


def test_a_backfill_of_three_days_runs_on_postgres_with_the_daemon_apart_and_pools_honoured(
    tmp_path: Path, tcp_postgres: TcpPostgresServer
) -> None:
    tcp_postgres.create_role_with_databases(PG_USER, PG_PASSWORD, "dagster", "enrich_ledger")
    logs = install(tmp_path)
    env = environment(tmp_path, tcp_postgres)
    with running(logs) as stack:
        graphql, sandbox_url = start_stack(stack, env, tmp_path)
        pools = {pool for node in graphql(POOLS_QUERY)["assetNodes"] for pool in node["pools"]}
        set_pool_limits(env, pools)
        backfill_id = launch_backfill(graphql)
        stack.start(
            "daemon",
            [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
            env,
        )
        runs = stack.wait_for(
            "three finished runs", lambda: finished_runs(graphql, backfill_id), RUNS_S
        )
        try:
            check_runs_and_pools(graphql, runs, tcp_postgres.tcp_url("dagster"))
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{stack.tails()}") from None
        check_warehouse(tmp_path)
        check_ledger(tmp_path, tcp_postgres.tcp_url("enrich_ledger"), sandbox_url)
    assert not list((tmp_path / "dagster_home").rglob("*.db")), "SQLite storage in DAGSTER_HOME"
