"""One provider, one day: the ledger makes a run safe to kill, resume and repeat (sandbox over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.model import (
    EnrichmentRequest,
    EnrichmentResult,
    Outcome,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.thehog import ThehogClient
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider

DAY = "2026-11-02"
SETTINGS = RunSettings(batch_max=500, poll_interval_s=0.01, poll_timeout_s=10)
BULK = "POST /v2/enrichments/bulk"


@pytest.fixture
def lemlist(sandbox: SandboxServer) -> Iterator[LemlistClient]:
    client = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    yield client
    client.close()


def _requests(sandbox: SandboxServer, n: int) -> list[EnrichmentRequest]:
    people = sandbox.state.world.people[:n]
    return [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            linkedin_url=p.linkedin_url,
            fields=frozenset({WantedField.EMAIL}),
        )
        for p in people
    ]


def _bulk_calls(sandbox: SandboxServer) -> int:
    routes = sandbox.counters()["requests"].get("lemlist", {})
    return sum(routes.get(BULK, {}).values())


def test_a_run_finds_what_the_provider_knows_and_records_every_answer(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    requests = _requests(sandbox, 60)
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, SETTINGS)
    world = sandbox.state.world
    expected = {
        f"li:/in/{p.linkedin_slug}": world.knowledge("lemlist", p).email for p in world.people[:60]
    }
    found = {
        a.result.person_key: a.result.email for a in run.attempts if a.outcome is Outcome.FOUND
    }
    assert found == {k: v for k, v in expected.items() if v}
    assert run.count(Outcome.NOT_FOUND) == sum(1 for v in expected.values() if not v)
    assert run.new_submissions == 60 and _bulk_calls(sandbox) == 1
    assert ledger.counts() == {"completed": 60, "results": 60}
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"]


def test_a_second_run_within_the_ttl_makes_no_request(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    requests = _requests(sandbox, 30)
    first = run_provider("lemlist", lemlist, ledger, DAY, requests, SETTINGS)
    before = sandbox.counters()
    second = run_provider("lemlist", lemlist, ledger, "2026-11-03", requests, SETTINGS)
    assert sandbox.counters()["requests_total"] == before["requests_total"]
    assert second.cache_hits == 30 and second.new_submissions == 0 and second.credits_spent == 0
    assert [a.result.email for a in second.attempts] == [a.result.email for a in first.attempts]
    assert all(a.from_cache for a in second.attempts)


class CrashAfterSubmit:
    """A client that dies (like a killed process) right after its submits were accepted."""

    def __init__(self, inner: LemlistClient) -> None:
        self.inner = inner

    def submit(self, requests: Sequence[EnrichmentRequest]) -> list[Submission]:
        return self.inner.submit(requests)

    def collect(self, submissions: Sequence[Submission], **kw: Any) -> list[EnrichmentResult]:
        raise KeyboardInterrupt("killed after submitting")


def test_a_run_killed_after_submitting_resumes_polling_with_no_new_submission(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    requests = _requests(sandbox, 40)
    with pytest.raises(KeyboardInterrupt):
        run_provider("lemlist", CrashAfterSubmit(lemlist), ledger, DAY, requests, SETTINGS)
    assert ledger.counts() == {"submitted": 40, "results": 0}
    charged = sandbox.counters()["credits_net"].get("lemlist", 0)

    resumed = run_provider("lemlist", lemlist, ledger, DAY, requests, SETTINGS)
    assert resumed.resumed == 40 and resumed.new_submissions == 0
    assert _bulk_calls(sandbox) == 1, "nothing was submitted twice"
    assert ledger.counts() == {"completed": 40, "results": 40}
    assert sandbox.counters()["credits_net"]["lemlist"] >= charged
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 40


def test_a_submit_that_may_have_been_accepted_is_not_repeated(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    requests = _requests(sandbox, 20)
    sandbox.admin(
        "POST", "faults", json={"provider": "lemlist", "kind": "drop", "after": True, "route": BULK}
    )
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, SETTINGS)
    assert run.count(Outcome.UNKNOWN) == 20 and run.stopped is not None
    again = run_provider("lemlist", lemlist, ledger, DAY, requests, SETTINGS)
    assert again.count(Outcome.UNKNOWN) == 20 and again.new_submissions == 0
    assert _bulk_calls(sandbox) == 1, "the lost submit was reported, not paid for twice"


def test_the_hog_resubmits_an_unknown_outcome_safely_through_its_idempotency_key(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    hog = ThehogClient.create(
        sandbox.state.config.thehog_access_key,
        sandbox.state.config.thehog_secret_key,
        base_url=sandbox.base_url("thehog"),
        speed=0.01,
    )
    requests = [
        r.model_copy(update={"fields": frozenset({WantedField.PHONE})})
        for r in _requests(sandbox, 12)
    ]
    run = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    again = run_provider("thehog", hog, ledger, "2026-11-03", requests, SETTINGS)
    hog.close()
    assert run.new_submissions == 12 and again.new_submissions == 0 and again.cache_hits == 12


def test_a_stuck_job_stays_pending_and_is_polled_again_next_run(
    sandbox: SandboxServer, lemlist: LemlistClient, ledger: Ledger
) -> None:
    requests = _requests(sandbox, 3)
    sandbox.admin("POST", "faults", json={"provider": "lemlist", "kind": "job_stuck", "count": 3})
    short = RunSettings(batch_max=500, poll_interval_s=0.01, poll_timeout_s=0.2)
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, short)
    assert run.count(Outcome.PENDING) == 3 and run.count(Outcome.NOT_FOUND) == 0
    again = run_provider("lemlist", lemlist, ledger, DAY, requests, short)
    assert again.resumed == 3 and again.new_submissions == 0 and _bulk_calls(sandbox) == 1


def test_a_stray_answer_about_a_person_with_an_unknown_attempt_is_kept_beside_it(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        request = EnrichmentRequest(person_key="li:/in/someone", fields=frozenset())
        [intent] = ledger.record_intents("enrichso", "2026-11-03", [request])
        ledger.mark([intent], "unknown", "cut off")
        stray = EnrichmentResult(
            person_key="li:/in/someone",
            provider="enrichso",
            provider_ref="finder:abc",
            record_status=RecordStatus.FOUND,
            email="someone@example.test",
            cost_credits=10,
        )
        ledger.record_unattributed("enrichso", "2026-11-03", [stray])  # paid: never dropped
        assert ledger.credits_spent() == 10
        assert ledger.people_in_state("enrichso", "2026-11-03", "unknown") == {
            "li:/in/someone": "cut off"
        }
    finally:
        ledger.close()
