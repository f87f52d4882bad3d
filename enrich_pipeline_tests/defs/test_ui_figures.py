"""What the Dagster UI shows of a run: honest progress lines and figures, Dagster's metadata
conventions (owners, row counts, column schemas, plottable numbers, no empty rows), and no personal
data in the event log unless ENRICH_FULL_PREVIEWS asks for it (issue 14, items 2, 5, 9, 10)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from enrich_pipeline.definitions import defs
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings, settings
from enrich_pipeline.warehouse.checks import BLOCKING_CHECKS, CHECK_NAMES
from enrich_pipeline_tests.conftest import TEST_CONFIG
from enrich_pipeline_tests.defs.test_pipeline import _everything_said
from enrich_pipeline_tests.pipeline_helpers import PROVIDERS, Pipeline, materialized_metadata

DAY = "2026-11-03"
TABLE_ASSETS = (
    "raw_prospects",
    "prospects",
    "prospect_rejects",
    *(f"{p}_enrichment" for p in PROVIDERS),
    "contacts",
    "positions",
    "contact_channels",
)
PROGRESS = re.compile(r"^(\w+) \S+: (\d+)/(\d+) jobs done, (\d+) credits in the answers so far$")


def _run_day(tmp_path: Path, sandbox: SandboxServer, *, full: bool = False):  # type: ignore[no-untyped-def]
    pipeline = Pipeline(tmp_path, settings=Settings(full_previews=full))
    pipeline.write_day(sandbox.state.world, DAY, 40, seed=3)
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    result = pipeline.materialize(DAY, instance=instance)
    return pipeline, instance, result


@dataclass
class DayRun:
    pipeline: Pipeline
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult
    metadata: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def day_run(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DayRun]:
    """One day materialised with the default settings (masked previews), shared by the tests that
    only read what it left: a run takes seconds, its reading milliseconds."""
    sandbox_server.reset()
    with pytest.MonkeyPatch.context() as env:
        for name in (
            "LEMLIST_API_KEY",
            "ENRICHSO_API_KEY",
            "THEHOG_ACCESS_KEY",
            "THEHOG_SECRET_KEY",
        ):
            env.delenv(name, raising=False)
        env.delenv("ENRICH_FULL_PREVIEWS", raising=False)
        env.setenv("ENRICH_SANDBOX_URL", sandbox_server.url)
        env.setenv("ENRICH_SANDBOX_SPEED", str(TEST_CONFIG.speed))
        forget_sandbox_endpoint()
        settings.cache_clear()
        pipeline, instance, result = _run_day(tmp_path_factory.mktemp("day"), sandbox_server)
        yield DayRun(pipeline, instance, result, materialized_metadata(result))
        forget_sandbox_endpoint()
        settings.cache_clear()
    sandbox_server.reset()


def _personal_values(pipeline: Pipeline) -> set[str]:
    """Every email, phone, name and person key the day's tables hold."""
    values: set[str] = set()
    for table, columns in (
        ("prospects", ("person_key", "first_name", "last_name", "email")),
        ("contacts", ("person_key", "email", "phone")),
    ):
        rows = pipeline.table(table, DAY).select(list(columns)).to_pylist()
        values |= {str(v) for row in rows for v in row.values() if v and len(str(v)) > 3}
    return values


def test_previews_and_checks_carry_no_personal_data_by_default(day_run: DayRun) -> None:
    said = _everything_said(day_run.instance, day_run.result.run_id)
    personal = _personal_values(day_run.pipeline)
    assert len(personal) > 40
    leaked = sorted(v for v in personal if v in said)
    assert not leaked, f"personal values in Dagster's event log: {leaked[:5]}"
    assert "•••@" in day_run.metadata["contacts"]["preview"]  # the previews are there, masked


def test_full_previews_is_an_explicit_setting(
    pipeline_env: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENRICH_FULL_PREVIEWS", "true")
    settings.cache_clear()
    try:
        pipeline, instance, result = _run_day(tmp_path, pipeline_env, full=True)
    finally:
        settings.cache_clear()
    said = _everything_said(instance, result.run_id)
    emails = {r["email"] for r in pipeline.table("contacts", DAY).select(["email"]).to_pylist()[:5]}
    assert any(e and e in said for e in emails)


def test_progress_lines_count_the_credits_the_step_reports(day_run: DayRun) -> None:
    metadata = day_run.metadata
    last: dict[str, int] = {}
    for entry in day_run.instance.all_logs(day_run.result.run_id):
        match = PROGRESS.match(entry.user_message or "")
        if match and match.group(2) == match.group(3):
            last[match.group(1)] = int(match.group(4))
    assert last, "no progress line reached its last job"
    for provider, credits in last.items():
        spent = metadata[f"{provider}_enrichment"]["credits_spent"]
        assert credits == spent > 0, provider


def test_every_figure_names_what_was_sent_and_what_came_from_the_ledger(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path)  # runs on the in-memory instance: only their figures are read
    pipeline.write_day(pipeline_env.state.world, DAY, 40, seed=3)
    pipeline.materialize(DAY)
    again = materialized_metadata(pipeline.materialize(DAY))
    for provider in PROVIDERS:
        meta = again[f"{provider}_enrichment"]
        # a re-run: everyone asked is answered from the ledger, nothing is sent, nothing paid
        assert meta["new_submissions"] == 0 and meta["credits_spent"] == 0, meta
        assert meta["answered_from_ledger"] == meta["people_asked"] > 0, meta
        assert "people_sent" not in meta and "stopped" not in meta


def test_table_assets_carry_owners_row_counts_and_column_schemas(day_run: DayRun) -> None:
    pipeline, metadata = day_run.pipeline, day_run.metadata
    graph = defs.resolve_asset_graph()
    for name in TABLE_ASSETS:
        node = graph.get(dg.AssetKey(name))
        assert node.owners == ["team:data-engineering"], name
        assert node.description, name
        meta = metadata[name]
        schema = meta["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema) and schema.columns, name
        if name in ("contacts", "positions", "contact_channels", "prospects"):
            assert meta["dagster/row_count"] == pipeline.table(name, DAY).num_rows, name
        for key, value in meta.items():  # plottable or readable, never a blank row
            assert value not in (None, "", {}, []), (name, key)
            assert not isinstance(value, dict), (name, key)
    contacts = metadata["contacts"]
    assert all(isinstance(contacts[f"{f}_coverage"], float) for f in ("email", "phone"))


def test_schedule_sensor_and_checks_say_what_they_do() -> None:
    assert defs.get_schedule_def("enrich_daily").description
    assert defs.get_sensor_def("new_prospect_files").description
    graph = defs.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert set(CHECK_NAMES) <= set(checks)
    for name in CHECK_NAMES:
        spec = checks[name]
        assert spec.description and len(spec.description) > 40, name
        assert spec.blocking == (name in BLOCKING_CHECKS), name
        assert spec.partitions_def is not None, name  # each result belongs to its day
    assert set(CHECK_NAMES) - {"found_rate_floor"} == BLOCKING_CHECKS


def test_check_results_belong_to_their_day(day_run: DayRun) -> None:
    key = dg.AssetCheckKey(dg.AssetKey("contacts"), "person_key_unique")
    records = day_run.instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    assert records, "no check execution recorded"
    evaluation = records[0].evaluation
    assert evaluation is not None and evaluation.passed
    assert evaluation.partition == DAY
