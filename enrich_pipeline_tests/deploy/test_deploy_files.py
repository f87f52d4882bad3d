"""The deployment files parse and agree with each other and with the project (no Docker or Helm here):
config/dagster-postgres.yaml is a valid Dagster instance config with the same limits as
config/dagster.yaml; deploy/docker-compose.yml runs the project's real commands against one
workspace; deploy/helm/values.yaml names the secrets the keys come from; no file holds a secret."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from enrich_pipeline.cli.main import build_parser
from enrich_pipeline.definitions import build_definitions
from enrich_pipeline.mode import KEY_VARS

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PG_VARIABLES = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD")
KEYS = sorted(name for names in KEY_VARS.values() for name in names)
SECRET_FILES = [
    "config/dagster-postgres.yaml",
    "deploy/docker-compose.yml",
    "deploy/helm/values.yaml",
    "deploy/Dockerfile",
    "deploy/workspace.yaml",
]


def load(relative: str) -> Any:
    return yaml.safe_load((REPO / relative).read_text())


def project_pools() -> set[str]:
    graph = build_definitions().resolve_asset_graph()
    return {pool for key in graph.get_all_asset_keys() for pool in graph.get(key).pools or ()}


def test_the_postgres_instance_config_is_valid_and_reads_every_connection_field_from_env(
    tmp_path: Path,
) -> None:
    shutil.copyfile(REPO / "config" / "dagster-postgres.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # Dagster's own schema check
    fields = config["storage"]["postgres"]["postgres_db"]
    assert {fields[f]["env"] for f in ("hostname", "port", "username", "password", "db_name")} == {
        *PG_VARIABLES,
        "DAGSTER_PG_DB",
    }
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["telemetry"] == {"enabled": False}
    local = load("config/dagster.yaml")
    assert config["concurrency"] == local["concurrency"]  # the same pools and run limit
    assert local["concurrency"]["pools"]["default_limit"] == 1


def test_compose_runs_the_projects_commands_against_one_workspace() -> None:
    compose = load("deploy/docker-compose.yml")
    services = compose["services"]
    assert {"postgres", "pools", "code", "webserver", "daemon", "webhooks"} <= set(services)
    code = services["code"]["command"]
    assert code[:3] == ["dagster", "code-server", "start"]
    module = code[code.index("-m") + 1]
    assert (
        module == "enrich_pipeline.definitions"
        and (REPO / "enrich_pipeline/definitions.py").exists()
    )
    grpc = load("deploy/workspace.yaml")["load_from"][0]["grpc_server"]
    assert grpc["host"] == "code" and str(grpc["port"]) == code[code.index("-p") + 1]
    assert grpc["location_name"] == code[code.index("--location-name") + 1]
    workspace = "/opt/dagster/app/deploy/workspace.yaml"
    assert services["webserver"]["command"][-2:] == ["-w", workspace]
    assert services["daemon"]["command"] == ["dagster-daemon", "run", "-w", workspace]
    # The webhook receiver's flags are the CLI's own.
    webhooks = services["webhooks"]["command"]
    args = build_parser().parse_args(webhooks[1:])
    assert (webhooks[0], args.command, args.host, args.port) == (
        "enrich-pipeline",
        "webhooks",
        "0.0.0.0",
        8710,
    )
    # Dagster's processes get the instance's connection; runs (in `code`) get keys and ledger too.
    for name in ("pools", "code", "webserver", "daemon"):
        assert set(PG_VARIABLES) <= set(services[name]["environment"]), name
    assert {"ENRICH_LEDGER_URL", *KEYS} <= set(services["code"]["environment"])
    assert "ENRICH_LEDGER_URL" in services["webhooks"]["environment"]
    # Every pool the assets declare gets its limit set before the daemon starts runs.
    assert set(
        re.findall(r"for pool in ([\w ]+);", services["pools"]["command"][-1])[0].split()
    ) == (project_pools())
    assert services["daemon"]["depends_on"]["pools"] == {
        "condition": "service_completed_successfully"
    }


def test_helm_values_run_the_project_image_with_keys_and_ledger_from_secrets() -> None:
    values = load("deploy/helm/values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert values["dagster-user-deployments"]["enabled"] is True
    assert deployment["codeServerArgs"] == ["-m", "enrich_pipeline.definitions"]
    secrets = {s["name"] for s in deployment["envSecrets"]}
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert {s["name"] for s in launcher["config"]["k8sRunLauncher"]["envSecrets"]} == secrets
    assert set(deployment["env"]).isdisjoint({"ENRICH_LEDGER_URL", *KEYS})  # only via secrets
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["concurrency"]["pools"]["defaultLimit"] == 1
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]
    mounts = {m["mountPath"] for m in deployment["volumeMounts"]}
    assert {
        str(Path(deployment["env"][f"ENRICH_{d}_DIR"]).parent) for d in ("WAREHOUSE", "STATE")
    } <= mounts
    # The header's `kubectl create secret` lines create those secrets with the keys in them.
    header = (REPO / "deploy/helm/values.yaml").read_text()
    for name in [*KEYS, "ENRICH_LEDGER_URL"]:
        assert f"--from-literal={name}=" in header, name


@pytest.mark.parametrize("relative", SECRET_FILES)
def test_no_deployment_file_holds_a_key_or_password(relative: str) -> None:
    text = (REPO / relative).read_text()
    for name in [*KEYS, "DAGSTER_PG_PASSWORD", "POSTGRES_PASSWORD", "postgresqlPassword"]:
        for value in re.findall(rf"(?<![{{\w]){name}\s*[:=]\s*\"?([^\s\"]+)", text):
            assert value.startswith(("$", "{", "env")) or value in ('""', "~", "..."), (name, value)


def test_the_image_installs_from_the_lock_and_ships_the_postgres_instance() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "config/dagster-postgres.yaml $DAGSTER_HOME/dagster.yaml" in dockerfile
    uv = re.search(r"ghcr.io/astral-sh/uv:([\d.]+)", dockerfile)
    assert uv is not None
    lock = (REPO / "uv.lock").read_text()
    assert 'name = "dagster-postgres"\nversion = "0.29.27"' in lock
