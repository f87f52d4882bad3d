"""The whole pipeline against both sandbox shapes, and in live mode against a sandbox stand-in.

`rich` answers fill what providers.md leaves open with our guesses; `documented` answers carry only
what providers.md marks DOC (a lemlist poll's email has no status, The Hog's elements are strings,
nothing about profiles). Whatever the shape: every person gets a contact, nothing is called
deliverable without a provider's verdict, and no credit a provider charged goes unrecorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
from enrich_pipeline.mode import Mode
from enrich_pipeline.model import CostBasis
from enrich_pipeline.providers.enrichso import client as enrichso_client
from enrich_pipeline.providers.lemlist import client as lemlist_client
from enrich_pipeline.providers.thehog import client as thehog_client
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import LedgerModeError
from enrich_pipeline.warehouse.storage import connect_readonly
from enrich_pipeline_tests.pipeline_helpers import Pipeline

DAY = "2026-11-05"
PEOPLE = 160


@pytest.fixture(params=["rich", "documented"])
def shaped(request: pytest.FixtureRequest, pipeline_env: SandboxServer) -> Iterator[str]:
    pipeline_env.admin("POST", "config", json={"shape": request.param})
    yield request.param
    pipeline_env.admin("POST", "config", json={"shape": "rich"})


def _ledger_credits(pipeline: Pipeline) -> dict[str, int]:
    with pipeline.ledger() as ledger:
        return {p: ledger.credits_spent(provider=p) for p in ("lemlist", "enrichso", "thehog")}


def test_every_shape_gives_contacts_with_evidence_and_records_every_credit(
    shaped: str, pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path)
    pipeline.write_day(pipeline_env.state.world, DAY, PEOPLE, seed=5)
    pipeline.materialize(DAY)

    prospects = pipeline.table("prospects", DAY)
    contacts = pipeline.table("contacts", DAY).to_pylist()
    assert len(contacts) == prospects.num_rows
    found = {f: sum(1 for c in contacts if c[f"found_{f}"]) for f in ("email", "phone")}
    assert found["email"] > PEOPLE // 3 and found["phone"] > PEOPLE // 5, found

    attempts: list[dict[str, Any]] = [
        row
        for provider in ("lemlist", "thehog", "enrichso")
        for row in pipeline.table(f"attempts_{provider}", DAY).to_pylist()
    ]
    # Deliverable only on a provider's verdict: a contact's deliverable email is one some attempt
    # answered deliverable; in the documented shape lemlist's polls give no verdict at all.
    verdicts = {
        (a["person_key"], a["email"]) for a in attempts if a["email_status"] == "deliverable"
    }
    for contact in contacts:
        if contact["email_status"] == "deliverable":
            assert (contact["person_key"], contact["email"]) in verdicts, contact["person_key"]
    # lemlist's finder (not its verify endpoint, whose status is documented) gives a verdict only
    # in the rich shape.
    finder = [
        a
        for a in attempts
        if a["provider"] == "lemlist" and a["email"] and "email" in a["fields_requested"]
    ]
    assert finder
    statuses = {a["email_status"] for a in finder}
    if shaped == "documented":
        assert statuses == {"unknown"}
    else:
        assert "deliverable" in statuses

    # No charge goes unrecorded: enrich.so's receipts match its books to the credit; lemlist's
    # table does too when the answers carry the verdict it bills on (rich), and counts a found
    # email without one as charged (documented: never less than lemlist took); The Hog's
    # estimate never counts less than it charged.
    charged = pipeline_env.counters()["credits_net"]
    recorded = _ledger_credits(pipeline)
    if shaped == "rich":
        assert recorded["lemlist"] == charged.get("lemlist", 0)
    else:
        assert recorded["lemlist"] >= charged.get("lemlist", 0)
    assert recorded["enrichso"] == charged.get("enrichso", 0)
    assert recorded["thehog"] >= charged.get("thehog", 0)
    hog_bases = {
        a["cost_basis"] for a in attempts if a["provider"] == "thehog" and a["cost_credits"]
    }
    assert hog_bases <= {CostBasis.ESTIMATED.value, CostBasis.REPORTED.value}


def _live_resources(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Live-mode resources whose base URLs point at the sandbox (the contract-testing use of
    LEMLIST_BASE_URL & co): the live code path, end to end, without a real key. Keys come from
    the environment only (a literal key is refused): the sandbox's are set there."""
    config = sandbox.state.config
    for name, value in {
        "LEMLIST_API_KEY": config.lemlist_api_key,
        "ENRICHSO_API_KEY": config.enrichso_api_key,
        "THEHOG_ACCESS_KEY": config.thehog_access_key,
        "THEHOG_SECRET_KEY": config.thehog_secret_key,
    }.items():
        monkeypatch.setenv(name, value)
    return {
        "lemlist": LemlistResource(
            api_key=dg.EnvVar("LEMLIST_API_KEY"),
            base_url=sandbox.base_url("lemlist"),
            mode="live",
        ),
        "enrichso": EnrichsoResource(
            api_key=dg.EnvVar("ENRICHSO_API_KEY"),
            base_url=sandbox.base_url("enrichso"),
            mode="live",
        ),
        "thehog": ThehogResource(
            access_key=dg.EnvVar("THEHOG_ACCESS_KEY"),
            secret_key=dg.EnvVar("THEHOG_SECRET_KEY"),
            base_url=sandbox.base_url("thehog"),
            mode="live",
        ),
    }


def test_a_live_state_folder_rejects_sandbox_runs_and_rows_say_where_they_came_from(
    pipeline_env: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Live clients poll at the real pace (3-5 s between polls); the sandbox answers in
    # milliseconds, so only the waiting between polls is scaled to match.
    monkeypatch.setattr(lemlist_client, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(thehog_client, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(enrichso_client, "POLL_INTERVAL_S", 0.02)
    live = Pipeline(tmp_path, providers=_live_resources(pipeline_env, monkeypatch), mode=Mode.LIVE)
    live.write_day(pipeline_env.state.world, DAY, 8, seed=7)  # live clients pace at real limits
    live.materialize(DAY)
    with connect_readonly(live.warehouse_dir) as db:
        origins = {
            o for (o,) in db.sql("SELECT DISTINCT origin FROM enrichment_attempts").fetchall()
        }
        assert origins == {"live:127.0.0.1"}
        assert db.sql("SELECT DISTINCT origin FROM contacts").fetchall() == [("live",)]
    with live.ledger() as ledger:
        rows = ledger._db.execute("SELECT DISTINCT origin FROM submissions").fetchall()
    assert rows == [("live:127.0.0.1",)]

    # The same folders in sandbox mode: refused before anything is asked or reused.
    for name in (
        "LEMLIST_API_KEY",
        "ENRICHSO_API_KEY",
        "THEHOG_ACCESS_KEY",
        "THEHOG_SECRET_KEY",
    ):
        monkeypatch.delenv(name)
    sandbox_run = Pipeline(tmp_path)
    before = pipeline_env.counters()["requests"]
    result = sandbox_run.materialize(DAY, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "holds live" in str(failure.event_specific_data)
    assert pipeline_env.counters()["requests"] == before  # nothing sent in the wrong mode
    with pytest.raises(LedgerModeError), sandbox_run.ledger():
        pass
