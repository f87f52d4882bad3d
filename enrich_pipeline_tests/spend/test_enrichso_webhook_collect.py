"""Webhook-first collection for enrich.so (issue #12): a batch is read when its completion callback
arrives (providers.md 2.9): one status check and its results, instead of a status poll every 5 s
until it ends; a batch whose callback was lost is polled after the grace. Real sandbox, real
receiver, one ledger file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.identity import person_key
from enrich_pipeline.model import EnrichmentRequest, Outcome, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.enrichso.webhooks import completed_batches
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline.webhooks.receiver import WebhookReceiver, webhook_url
from enrich_pipeline_tests.providers.test_enrichso_flatten import FINDER_DONE, PHONE_HOOK
from enrich_pipeline_tests.spend.webhook_fixtures import ledger, ledger_path, receiver

DAY = "2026-11-02"
STATUS = "GET /email-finder/batch/{batchId}"
RESULTS = "GET /email-finder/batch/{batchId}/results"
PEOPLE = 12


@pytest.fixture
def enrichso(sandbox: SandboxServer) -> Iterator[EnrichsoClient]:
    with EnrichsoClient.create(
        sandbox.state.config.enrichso_api_key, base_url=sandbox.base_url("enrichso"), speed=0.01
    ) as client:
        yield client


def _finder_requests(sandbox: SandboxServer) -> list[EnrichmentRequest]:
    """People to find an email for from their name and company domain (one finder batch)."""
    return [
        EnrichmentRequest(
            person_key=person_key(
                first_name=p.first_name, last_name=p.last_name, company_domain=p.company.domain
            )
            or p.person_id,
            first_name=p.first_name,
            last_name=p.last_name,
            company_domain=p.company.domain,
            fields=frozenset({WantedField.EMAIL}),
        )
        for p in sandbox.state.world.people[:PEOPLE]
    ]


def _calls(sandbox: SandboxServer, route: str) -> int:
    return sum(sandbox.counters()["requests"].get("enrichso", {}).get(route, {}).values())


def _answers(run: Any) -> dict[str, tuple[Any, ...]]:
    return {
        a.result.person_key: (
            a.outcome,
            a.result.email,
            a.result.email_status,
            a.result.cost_credits,
        )
        for a in run.attempts
    }


def _settings(receiver: WebhookReceiver | None, grace_s: float = 5.0) -> RunSettings:
    return RunSettings(
        batch_max=10_000,
        poll_interval_s=0.01,
        poll_timeout_s=20,
        webhook_url=None if receiver is None else webhook_url(receiver.url, "enrichso"),
        webhook_grace_s=grace_s,
    )


def test_a_batch_is_read_once_its_completion_callback_arrives(
    sandbox: SandboxServer,
    enrichso: EnrichsoClient,
    ledger: Ledger,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    requests = _finder_requests(sandbox)
    polled_ledger = Ledger(tmp_path / "polled.sqlite")
    try:
        polled = run_provider("enrichso", enrichso, polled_ledger, DAY, requests, _settings(None))
    finally:
        polled_ledger.close()
    assert _calls(sandbox, STATUS) >= 1
    polled_credits = sandbox.counters()["credits_net"]["enrichso"]

    sandbox.reset()  # the same seeded world again, from scratch
    with EnrichsoClient.create(
        sandbox.state.config.enrichso_api_key, base_url=sandbox.base_url("enrichso"), speed=0.01
    ) as fresh:  # a new client: nothing of the first run's batches cached
        run = run_provider("enrichso", fresh, ledger, DAY, requests, _settings(receiver))
    # The callback said when: one status check (it confirms how the batch ended), then results.
    assert _calls(sandbox, STATUS) == 1 and _calls(sandbox, RESULTS) >= 1
    assert _answers(run) == _answers(polled)
    assert run.count(Outcome.FOUND) > 0 and run.count(Outcome.PENDING) == 0
    assert run.credits_spent == polled.credits_spent == polled_credits > 0
    assert sandbox.counters()["credits_net"]["enrichso"] == polled_credits  # settled once


def test_a_batch_whose_callbacks_were_lost_is_polled_after_the_grace(
    sandbox: SandboxServer, enrichso: EnrichsoClient, ledger: Ledger, receiver: WebhookReceiver
) -> None:
    requests = _finder_requests(sandbox)
    # one callback per item, then the completion: drop them all
    sandbox.admin(
        "POST", "faults", json={"provider": "enrichso", "kind": "webhook_drop", "count": PEOPLE + 1}
    )
    run = run_provider("enrichso", enrichso, ledger, DAY, requests, _settings(receiver, 0.3))
    assert _calls(sandbox, STATUS) >= 1  # polled once the grace passed
    assert run.count(Outcome.PENDING) == 0
    assert len(run.attempts) == PEOPLE
    assert run.credits_spent == sandbox.counters()["credits_net"]["enrichso"]


def test_completion_callbacks_name_their_batch_and_nothing_else_does() -> None:
    documented = FINDER_DONE  # providers.md 2.9
    item = PHONE_HOOK
    failed_phones = {
        "event": "webhook:phone_completion.completed",
        "data": {"jobId": "abc", "status": "failed"},  # ASSUMPTION (2.9) and a camelCase id
    }
    bodies = [documented, item, failed_phones, "not json", {"event": "finder.completed"}]
    assert list(completed_batches(bodies)) == ["finder:6f1c2a9e4b7d3c0012ab3600", "phones:abc"]


__all__ = ["ledger", "ledger_path", "receiver"]  # fixtures used here
