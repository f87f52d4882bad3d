"""Webhook-first collection (issue #12): lemlist answers are taken from the deliveries the receiver
stored in the ledger, and only the enrichments still without one after the grace are polled.

Real sandbox over HTTP, the real receiver (a thread on a free port) writing to the same ledger file
the runner reads; the sandbox's own counters say how many polls were made.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    Outcome,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.lemlist.deliveries import DeliveryReader
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline.webhooks.receiver import WebhookReceiver, webhook_url
from enrich_pipeline_tests.providers.test_lemlist_flatten import WEBHOOK_DONE
from enrich_pipeline_tests.spend.webhook_fixtures import ledger, ledger_path, receiver

DAY = "2026-11-02"
POLL = "GET /enrich/{enrichId}"
BULK = "POST /v2/enrichments/bulk"
ALL_FIELDS = frozenset({WantedField.EMAIL, WantedField.PHONE, WantedField.LINKEDIN})
# Polling as the runner tests do. With webhooks the grace (silence before stragglers are polled) is
# long next to a job (50 ms at speed 0.01): a run whose deliveries all arrive ends before it, even
# on a loaded machine; it only costs time in the straggler test.
POLLING = RunSettings(batch_max=500, poll_interval_s=0.01, poll_timeout_s=10)


@pytest.fixture
def lemlist(sandbox: SandboxServer) -> Iterator[LemlistClient]:
    client = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    yield client
    client.close()


def _webhooks(receiver: WebhookReceiver, grace_s: float = 5.0) -> RunSettings:
    return RunSettings(
        batch_max=500,
        poll_interval_s=0.01,
        poll_timeout_s=10,
        webhook_url=webhook_url(receiver.url, "lemlist"),
        webhook_grace_s=grace_s,
    )


def _requests(sandbox: SandboxServer, n: int) -> list[EnrichmentRequest]:
    return [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            linkedin_url=p.linkedin_url,
            fields=ALL_FIELDS,
        )
        for p in sandbox.state.world.people[:n]
    ]


def _calls(sandbox: SandboxServer, route: str) -> int:
    return sum(sandbox.counters()["requests"].get("lemlist", {}).get(route, {}).values())


def _answers(attempts: Sequence[Any]) -> dict[str, tuple[Any, ...]]:
    """What the warehouse is built from, per person (not when it was fetched, nor the raw body)."""
    out = {}
    for a in attempts:
        r: EnrichmentResult = a.result
        out[r.person_key] = (
            a.outcome,
            r.record_status,
            r.provider_ref,
            r.email,
            r.email_status,
            tuple(p.number for p in r.phones),
            r.linkedin.model_dump() if r.linkedin else None,
            r.cost_credits,
            r.cost_basis,
            r.reason,
        )
    return out


def _ledger_answers(ledger: Ledger) -> dict[str, tuple[Any, ...]]:
    return {
        s.result.person_key: (s.result.record_status, s.result.email, s.result.cost_credits)
        for s in ledger.results(day=DAY, provider="lemlist")
    }


def test_webhooks_give_the_same_answers_and_credits_as_polling_with_no_poll_at_all(
    sandbox: SandboxServer,
    lemlist: LemlistClient,
    ledger: Ledger,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    requests = _requests(sandbox, 40)
    polled_ledger = Ledger(tmp_path / "polled.sqlite")
    try:
        polled = run_provider("lemlist", lemlist, polled_ledger, DAY, requests, POLLING)
        polls = _calls(sandbox, POLL)
        polled_credits = sandbox.counters()["credits_net"]["lemlist"]
        polled_rows = _ledger_answers(polled_ledger)
    finally:
        polled_ledger.close()
    assert polls >= 40  # one GET per enrichment at least

    sandbox.reset()  # the same seeded world again, from scratch
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver))
    assert _calls(sandbox, POLL) == 0 and _calls(sandbox, BULK) == 1
    assert _answers(run.attempts) == _answers(polled.attempts)
    assert run.count(Outcome.FOUND) > 20 and run.count(Outcome.PENDING) == 0
    assert _ledger_answers(ledger) == polled_rows
    assert ledger.counts() == {"completed": 40, "results": 40}
    credits = sandbox.counters()["credits_net"]["lemlist"]
    assert credits == polled_credits == run.credits_spent == polled.credits_spent > 0
    assert ledger.credits_spent(provider="lemlist") == credits
    # Every delivery is in the ledger, and the answer recorded is the delivery's.
    assert len(ledger.deliveries("lemlist", since="")) == 40
    assert all(
        s.result.raw.get("type") == "enrichmentDone"
        for s in ledger.results(day=DAY, provider="lemlist")
    )


def test_only_the_enrichments_whose_delivery_was_lost_are_polled(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger, receiver: WebhookReceiver
) -> None:
    requests = _requests(sandbox, 30)
    world = sandbox.state.world
    sandbox.admin(
        "POST", "faults", json={"provider": "lemlist", "kind": "webhook_drop", "count": 4}
    )
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver, 2.0))
    # (a 2 s grace: on a loaded machine the burst of deliveries can take over 1 s to be stored)
    dropped = sandbox.counters()["webhooks"]["lemlist"]["enrichmentDone"]["dropped"]
    assert dropped == 4
    # The 4 stragglers were polled once each (their jobs were done by then), nobody else.
    assert _calls(sandbox, POLL) == 4
    assert run.count(Outcome.PENDING) == 0 and ledger.counts() == {"completed": 30, "results": 30}
    expected = {
        f"li:/in/{p.linkedin_slug}": world.knowledge("lemlist", p).email for p in world.people[:30]
    }
    found = {a.result.person_key: a.result.email for a in run.attempts if a.result.email}
    assert found == {k: v for k, v in expected.items() if v}
    polled_answers = [
        s for s in ledger.results(day=DAY, provider="lemlist") if "enrichmentStatus" in s.result.raw
    ]
    assert len(polled_answers) == 4
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"]


def test_duplicate_and_out_of_order_deliveries_are_recorded_once(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger, receiver: WebhookReceiver
) -> None:
    requests = _requests(sandbox, 20)
    sandbox.admin(
        "POST",
        "faults",
        json=[
            {"provider": "lemlist", "kind": "webhook_duplicate", "count": 10},
            {"provider": "lemlist", "kind": "webhook_out_of_order", "count": 10},
        ],
    )
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver))
    sandbox.settle_webhooks()
    assert len(ledger.deliveries("lemlist", since="")) == 30  # 10 sent twice
    assert _calls(sandbox, POLL) == 0
    assert ledger.counts() == {"completed": 20, "results": 20}
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"]
    assert ledger.credits_spent(provider="lemlist") == run.credits_spent
    # A re-run reads the duplicates again and records nothing new: the attempts are answered.
    again = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver))
    assert again.cache_hits == 20 and ledger.counts() == {"completed": 20, "results": 20}


class _KilledBeforeCollecting(Exception):
    pass


class _DiesBeforeCollecting(LemlistClient):
    """The run dies (as if killed) after its submits were recorded, before it reads any answer,
    once every delivery has reached the receiver."""

    sandbox: SandboxServer
    expected: int

    def collect(self, submissions: Sequence[Submission], **kw: Any) -> list[EnrichmentResult]:
        deadline_rounds = 2000
        while self.sandbox.state.webhooks.pending or self._delivered() < self.expected:
            deadline_rounds -= 1
            assert deadline_rounds > 0, "deliveries did not arrive"
            self.sandbox.settle_webhooks(0.01)
        raise _KilledBeforeCollecting

    def _delivered(self) -> int:
        counts = self.sandbox.counters()["webhooks"].get("lemlist", {})
        return sum(counts.get("enrichmentDone", {}).values())


def test_a_run_killed_between_delivery_and_collection_loses_nothing(
    sandbox: SandboxServer, ledger: Ledger, receiver: WebhookReceiver, lemlist: LemlistClient
) -> None:
    requests = _requests(sandbox, 15)
    dying = _DiesBeforeCollecting(lemlist.transport, speed=0.01)
    dying.sandbox, dying.expected = sandbox, 15
    with pytest.raises(_KilledBeforeCollecting):
        run_provider("lemlist", dying, ledger, DAY, requests, _webhooks(receiver))
    assert len(ledger.deliveries("lemlist", since="")) == 15  # stored before each 2xx
    assert len(ledger.open_submissions("lemlist", DAY)) == 15
    charged = sandbox.counters()["credits_net"]["lemlist"]

    run = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver))
    assert run.resumed == 15 and run.new_submissions == 0
    assert _calls(sandbox, POLL) == 0 and _calls(sandbox, BULK) == 1  # adopted, not asked again
    assert ledger.counts() == {"completed": 15, "results": 15}
    assert run.credits_spent == charged == sandbox.counters()["credits_net"]["lemlist"]


def test_without_a_webhook_url_nothing_changes(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    run = run_provider("lemlist", lemlist, ledger, DAY, _requests(sandbox, 10), POLLING)
    assert _calls(sandbox, POLL) >= 10
    assert sandbox.counters()["webhooks"] == {}
    assert ledger.counts() == {"completed": 10, "results": 10}
    assert run.count(Outcome.PENDING) == 0


def test_documented_shape_the_delivery_adds_the_email_status_the_poll_lacks(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger, receiver: WebhookReceiver
) -> None:
    """providers.md 1.6's poll answer has no deliverability status; 1.7's webhook has one. With
    webhooks the record carries it (the union), and credits match what lemlist charged exactly."""
    sandbox.admin("POST", "config", json={"shape": "documented"})
    requests = [
        r.model_copy(update={"fields": frozenset({WantedField.EMAIL})})
        for r in _requests(sandbox, 40)
    ]
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, _webhooks(receiver))
    assert _calls(sandbox, POLL) == 0
    world = sandbox.state.world
    for person in world.people[:40]:
        known = world.knowledge("lemlist", person)
        [attempt] = [a for a in run.attempts if a.result.person_key.endswith(person.linkedin_slug)]
        if known.email:
            assert attempt.result.email_status == EmailStatus(known.email_status or "unknown")
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"]


def test_the_documented_example_body_reads_as_this_record() -> None:
    """providers.md 1.7's enrichmentDone example, answering the find_email+find_phone+linkedin
    submission of Lina whose metadata was the doc's `{"crm_id": "C-1001"}` (ours is the
    person_key), read into the record written out here by hand."""
    body = copy.deepcopy(WEBHOOK_DONE)  # the doc's example, as the flatten tests hold it
    lina = Submission(
        person_key="li:/in/lina-okafor",
        provider="lemlist",
        provider_ref="enr_Q3vT8kLmN2pXw7RzA",
        correlation="C-1001",
        raw={
            "request": {"metadata": {"crm_id": "C-1001"}},
            "enrichmentRequests": ["find_email", "find_phone", "linkedin_enrichment"],
        },
    )
    reader = DeliveryReader([lina])
    [record] = reader.read([body])["enr_Q3vT8kLmN2pXw7RzA"]
    assert record.person_key == "li:/in/lina-okafor"
    assert record.provider_ref == "enr_Q3vT8kLmN2pXw7RzA"
    assert record.request_correlation == "C-1001"
    assert record.record_status is RecordStatus.FOUND and record.reason is None
    assert record.email == "lina.okafor@northwind-labs.io"
    assert record.email_status is EmailStatus.DELIVERABLE
    assert [(p.number, p.source_rank) for p in record.phones] == [("+14155550142", 0)]
    profile = record.linkedin
    assert profile is not None
    assert (profile.url, profile.provider_profile_id) == (
        "https://www.linkedin.com/in/lina-okafor",
        "512340987",
    )
    assert (profile.full_name, profile.headline, profile.title) == (
        "Lina Okafor",
        "Head of Revenue Operations",
        "Head of Revenue Operations",
    )
    assert (profile.company_name, profile.company_domain, profile.location) == (
        "Northwind Labs",
        "northwind-labs.io",
        "Oakland, California, United States",
    )
    assert profile.skills == ("Salesforce", "SQL", "Forecasting")
    [position] = profile.positions
    assert (position.title, position.company_name, position.company_domain) == (
        "Head of Revenue Operations",
        "Northwind Labs",
        "northwind-labs.io",
    )
    assert (position.start_year, position.start_month, position.is_current) == (2023, 4, True)
    # 5 (deliverable email) + 20 (phone) + 1 (LinkedIn), priced from the table (1.9).
    assert (record.cost_credits, record.cost_basis) == (26, CostBasis.TABLE)
    assert record.raw == {"type": "enrichmentDone", "data": body["data"]}
    # The same delivery again (a duplicate) answers nothing new.
    assert reader.read([body]) == {}


@pytest.mark.parametrize(
    "body",
    [
        # one item as an object, not an array
        {"type": "enrichmentDone", "data": {"id": "enr_a", "data": {"find_email": {}}}},
        # a bare item, no envelope
        {"id": "enr_a", "data": {"find_email": {"notFound": True}}},
        # the id under the poll's name; the event in another spelling; a team hook's secret
        {"type": "enrichment_done", "secret": "s", "data": [{"enrichmentId": "enr_a", "data": {}}]},
        # no id at all: the echoed metadata names our person
        {"type": "enrichmentDone", "data": [{"metadata": "li:/in/a", "data": {}}]},
        # several bodies in one delivery (a JSON array)
        [{"type": "enrichmentDone", "data": [{"id": "enr_a", "data": {}}]}],
    ],
)
def test_every_plausible_delivery_shape_answers_the_enrichment(body: Any) -> None:
    submission = Submission(
        person_key="li:/in/a",
        provider="lemlist",
        provider_ref="enr_a",
        raw={"enrichmentRequests": ["find_email"]},
    )
    [record] = DeliveryReader([submission]).read([body])["enr_a"]
    assert record.record_status is RecordStatus.NOT_FOUND
    assert (record.person_key, record.provider_ref, record.cost_credits) == ("li:/in/a", "enr_a", 0)
    assert "secret" not in str(record.raw)


def test_errors_other_events_and_strangers_are_read_as_such() -> None:
    ours = Submission(
        person_key="li:/in/a",
        provider="lemlist",
        provider_ref="enr_a",
        raw={"enrichmentRequests": ["find_email", "linkedin_enrichment"]},
    )
    reader = DeliveryReader([ours])
    stranger = {"type": "enrichmentDone", "data": [{"id": "enr_z", "metadata": "li:/in/a"}]}
    other_event = {"type": "emailsSent", "data": [{"id": "enr_a"}]}
    assert reader.read([stranger, other_event]) == {}  # an id we never submitted is not ours
    failed = {"type": "enrichmentError", "data": [{"id": "enr_a", "error": "INSUFFICIENT_CREDITS"}]}
    done = {"type": "enrichmentDone", "data": [{"id": "enr_a", "data": {}}]}
    [record] = reader.read([failed, done])["enr_a"]  # first terminal answer wins
    assert (record.record_status, record.reason, record.cost_credits) == (
        RecordStatus.FAILED,
        "INSUFFICIENT_CREDITS",
        0,
    )


def test_our_enrichment_id_with_someone_elses_metadata_is_not_taken_as_the_answer() -> None:
    ours = Submission(person_key="li:/in/a", provider="lemlist", provider_ref="enr_a")
    reader = DeliveryReader([ours])
    mixed = {"type": "enrichmentDone", "data": [{"id": "enr_a", "metadata": "li:/in/b"}]}
    assert reader.read([mixed]) == {}
    crm = {"type": "enrichmentDone", "data": [{"id": "enr_a", "metadata": {"crm_id": "li:/in/a"}}]}
    assert list(reader.read([crm])) == ["enr_a"]


def test_the_webhook_settings_are_read_from_the_environment() -> None:
    from enrich_pipeline.settings import Settings

    off = Settings.from_env({})
    assert (off.webhook_url, off.webhook_grace_s) == (None, None)  # polling, the default
    on = Settings.from_env(
        {"ENRICH_WEBHOOK_URL": "https://hooks.example.test/x", "ENRICH_WEBHOOK_GRACE_S": "12.5"}
    )
    assert (on.webhook_url, on.webhook_grace_s) == ("https://hooks.example.test/x", 12.5)
    assert webhook_url(on.webhook_url, "lemlist") == "https://hooks.example.test/x/lemlist"
    with pytest.raises(ValueError, match="webhook_grace_s"):
        Settings.from_env({"ENRICH_WEBHOOK_GRACE_S": "0"})


def test_stragglers_are_polled_oldest_first_up_to_the_first_still_running() -> None:
    """The rule itself (no HTTP): a1 and a2 lost their deliveries, a3 is still running, a4 was
    delivered. One round polls a1, a2, a3 and stops; a job still running costs one poll a grace."""
    from enrich_pipeline.providers.polling import wait_for_deliveries

    polled: list[str] = []
    deliveries = [{"a4": "delivered"}]

    def poll_once(ref: str) -> str | None:
        polled.append(ref)
        return None if ref == "a3" else "polled"

    finished, pending = wait_for_deliveries(
        "lemlist",
        ["a1", "a2", "a3", "a4"],
        lambda: deliveries.pop() if deliveries else {},
        poll_once,
        grace_s=0.05,
        timeout_s=0.3,
        check_every_s=0.01,
        on_progress=None,
    )
    assert finished == {"a4": "delivered", "a1": "polled", "a2": "polled"}
    assert pending == ["a3"]
    assert polled[:3] == ["a1", "a2", "a3"] and set(polled[3:]) == {"a3"}
    assert 2 <= len(polled) - 2 <= 7  # a3 once per grace until the timeout, nobody else again


def test_a_missing_receiver_is_named_once_and_nothing_is_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ENRICH_WEBHOOK_URL set but no receiver running: not one delivery ever comes, the polled
    jobs are finished. The answers still arrive (by poll) and the user is told what to check, once;
    with deliveries arriving, a straggler poll alone says nothing of the kind."""
    from enrich_pipeline.providers.polling import wait_for_deliveries

    def collect(deliveries: list[dict[str, str]]) -> dict[str, str]:
        finished, pending = wait_for_deliveries(
            "lemlist",
            ["a1", "a2", "a3"],
            lambda: deliveries.pop() if deliveries else {},
            lambda ref: "polled",
            grace_s=0.02,
            timeout_s=5.0,
            check_every_s=0.005,
            on_progress=None,
        )
        assert pending == []
        return finished

    with caplog.at_level(logging.WARNING, logger="enrich_pipeline.providers"):
        assert collect([]) == {"a1": "polled", "a2": "polled", "a3": "polled"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no webhook delivery has arrived at all" in warnings[0]
    assert "ENRICH_WEBHOOK_URL" in warnings[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="enrich_pipeline.providers"):
        assert collect([{"a2": "delivered"}])["a2"] == "delivered"
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_a_day_collected_in_windows_reads_each_delivery_once_more_at_most(
    sandbox: SandboxServer,
    lemlist: LemlistClient,
    ledger: Ledger,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows of whole submit calls (memory bounded by the window): every window is answered from
    the deliveries with no poll, and a delivery that arrived while an earlier window was collected
    is read again only by the window it answers, not by every window."""
    requests = _requests(sandbox, 60)
    read: list[int] = []
    after, by_id = ledger.deliveries_after, ledger.deliveries_by_id

    def counted_after(*args: Any, **kwargs: Any) -> list[tuple[int, object]]:
        rows = after(*args, **kwargs)
        read.extend(i for i, _ in rows)
        return rows

    def counted_by_id(*args: Any, **kwargs: Any) -> list[tuple[int, object]]:
        rows = by_id(*args, **kwargs)
        read.extend(i for i, _ in rows)
        return rows

    monkeypatch.setattr(ledger, "deliveries_after", counted_after)
    monkeypatch.setattr(ledger, "deliveries_by_id", counted_by_id)
    settings = RunSettings(
        batch_max=10,
        poll_interval_s=0.01,
        poll_timeout_s=10,
        webhook_url=webhook_url(receiver.url, "lemlist"),
        webhook_grace_s=5.0,
        collect_window=25,  # 3 windows of 2 submit calls
    )
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, settings)
    assert _calls(sandbox, POLL) == 0 and _calls(sandbox, BULK) == 6
    assert run.count(Outcome.PENDING) == 0 and run.by_webhook == 60
    assert ledger.counts() == {"completed": 60, "results": 60}
    assert len(set(read)) == 60 and len(read) <= 2 * 60  # each once, at most once more
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"]


__all__ = ["ledger", "ledger_path", "receiver"]  # fixtures used here
