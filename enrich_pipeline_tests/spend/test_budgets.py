"""Budgets are never crossed, a 402 keeps what was found, and the estimate spends nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from enrich_pipeline.cli import main
from enrich_pipeline.model import EnrichmentRequest, Outcome, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.sandbox.prospects import make_prospects, write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.budgets import Budget, allowance
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.pricing import worst_case
from enrich_pipeline.spend.runner import RunSettings, run_provider

DAY = "2026-11-02"
FAST = RunSettings(batch_max=500, poll_interval_s=0.01, poll_timeout_s=10)


def lemlist_client(sandbox: SandboxServer) -> LemlistClient:
    return LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )


def by_linkedin(
    sandbox: SandboxServer, n: int, fields: set[WantedField]
) -> list[EnrichmentRequest]:
    return [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            linkedin_url=p.linkedin_url,
            fields=frozenset(fields),
        )
        for p in sandbox.state.world.people[:n]
    ]


def test_a_budget_is_never_crossed_and_the_sandbox_agrees_with_the_ledger_to_the_credit(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    requests = by_linkedin(sandbox, 50, {WantedField.EMAIL, WantedField.PHONE})
    assert worst_case("lemlist", requests[0]) == 25  # find_email 5 + find_phone 20
    client = lemlist_client(sandbox)
    run = run_provider(
        "lemlist", client, ledger, DAY, requests, FAST, budget_credits=200, budget_reason="test cap"
    )
    client.close()
    assert run.new_submissions == 8  # 8 x 25 = 200 fits, a 9th would not
    assert run.count(Outcome.SKIPPED_BUDGET) == 42
    assert run.stopped is not None and "test cap" in run.stopped
    charged = sandbox.counters()["credits_net"].get("lemlist", 0)
    assert charged <= 200
    assert charged == ledger.credits_spent(day=DAY, provider="lemlist") == run.credits_spent
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 8


def test_a_402_mid_run_stops_that_provider_and_keeps_everything_found(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    world = sandbox.state.world
    people = [p for p in world.people if world.knowledge("enrichso", p).email][:30]
    requests = [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            first_name=p.first_name,
            last_name=p.last_name,
            company_domain=p.company.domain,
            fields=frozenset({WantedField.EMAIL}),
        )
        for p in people
    ]
    # finder batches reserve 10 per lead: 150 covers the first batch of 10, not the second
    sandbox.admin("POST", "credits", json={"provider": "enrichso", "balance": 150})
    client = EnrichsoClient.create(
        sandbox.state.config.enrichso_api_key, base_url=sandbox.base_url("enrichso"), speed=0.01
    )
    run = run_provider(
        "enrichso",
        client,
        ledger,
        DAY,
        requests,
        RunSettings(batch_max=10, poll_interval_s=0.01, poll_timeout_s=10),
    )
    client.close()
    assert run.stopped is not None and "402" in run.stopped
    found = [a for a in run.attempts if a.outcome is Outcome.FOUND]
    assert len(found) >= 8 and run.new_submissions == 10
    assert run.count(Outcome.DEFERRED) == 20  # not sent: they wait for enrich.so, sent next run
    assert ledger.counts()["results"] == 10  # every paid answer is in the ledger
    assert sandbox.counters()["credits_net"]["enrichso"] == ledger.credits_spent(
        provider="enrichso"
    )


def test_allowance_takes_the_tightest_limit_minus_jobs_in_flight(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    started = datetime.now(UTC)
    requests = by_linkedin(sandbox, 4, {WantedField.EMAIL})
    client = lemlist_client(sandbox)
    run_provider("lemlist", client, ledger, DAY, requests, FAST)
    client.close()
    spent = ledger.credits_spent(day=DAY)
    assert allowance(Budget(), "lemlist", ledger, DAY, started).credits is None
    day_cap = allowance(Budget(per_day=spent + 7), "lemlist", ledger, DAY, started)
    assert (day_cap.credits, day_cap.binding) == (7, f"per-day budget {spent + 7}")
    both = Budget(per_day=1000, per_provider={"lemlist": spent + 3})
    assert allowance(both, "lemlist", ledger, DAY, started).credits == 3
    run_cap = allowance(Budget(per_run=spent + 2), "lemlist", ledger, DAY, started)
    assert run_cap.credits == 2
    assert allowance(Budget(per_day=0), "lemlist", ledger, DAY, started).credits == 0


def test_estimate_prints_what_a_run_would_cost_and_spends_nothing(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from enrich_pipeline.settings import settings

    day = tmp_path / "raw" / "2026-11-09"
    day.mkdir(parents=True)
    rows = make_prospects(sandbox.state.world, 40, seed=3)
    write_prospect_file(rows, day / "list.csv", style="snake")
    monkeypatch.setenv("ENRICH_STATE_DIR", str(tmp_path / "state"))
    settings.cache_clear()
    try:
        assert main(["estimate", str(day)]) == 0
    finally:
        settings.cache_clear()
    out = capsys.readouterr().out
    assert "lemlist" in out and "worst case" in out and "nothing was spent" in out
    assert sandbox.counters()["requests_total"] == {}
