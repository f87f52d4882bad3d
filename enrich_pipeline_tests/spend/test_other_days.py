"""A person's attempt of one day holds them on every other day until it is settled (live sandbox).

Prospect lists overlap from day to day. When a day's submit of a person is still open (accepted,
not yet answered) or of unknown outcome (its answer lost: the job may run), a run of another day
must not pay that provider again for them: it collects the open job, replays the unknown call
where the provider makes that safe (The Hog's Idempotency-Key, test_thehog_idempotency.py), and
otherwise reports the person unknown with the day to reconcile. Checked against the sandbox's own
counts of people submitted and credits charged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.model import EnrichmentRequest, Outcome, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline_tests.pipeline_helpers import people_submitted, requests_for

DAY, NEXT_DAY = "2026-11-03", "2026-11-04"
EMAIL, PHONE = WantedField.EMAIL, WantedField.PHONE
SUBMIT_ROUTE = {"lemlist": "POST /v2/enrichments/bulk", "enrichso": "POST *"}
SETTINGS = RunSettings(poll_interval_s=0.01, poll_timeout_s=20)


@pytest.fixture(params=["lemlist", "enrichso"])
def client(request: pytest.FixtureRequest, sandbox: SandboxServer) -> Iterator[Any]:
    config, provider = sandbox.state.config, request.param
    if provider == "lemlist":
        made: Any = LemlistClient.create(
            config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
        )
    else:
        made = EnrichsoClient.create(
            config.enrichso_api_key, base_url=sandbox.base_url("enrichso"), speed=0.01
        )
    made.provider = provider
    yield made
    made.close()


def _requests(
    sandbox: SandboxServer, n: int, *fields: WantedField, skip: int = 0
) -> list[EnrichmentRequest]:
    return requests_for(sandbox.state.world, n, fields or {EMAIL}, skip=skip)


def _lose_the_submit_answer(sandbox: SandboxServer, provider: str) -> None:
    """The next submit is processed (its people submitted, their jobs run), then its connection
    dropped: the run cannot know whether it was accepted."""
    sandbox.admin(
        "POST",
        "faults",
        json={
            "provider": provider,
            "kind": "drop",
            "route": SUBMIT_ROUTE[provider],
            "after": True,
            "count": 1,
        },
    )


def _outcomes(run: Any) -> dict[str, Outcome]:
    return {a.result.person_key: a.outcome for a in run.attempts}


def _states(ledger: Ledger, day: str) -> dict[str, int]:
    rows = ledger._db.execute(
        "SELECT state, count(*) FROM submissions WHERE day = ? GROUP BY state", (day,)
    ).fetchall()
    return dict(rows)


def test_a_job_left_open_on_one_day_is_collected_by_the_next_day_not_bought_again(
    sandbox: SandboxServer, client: Any, ledger: Ledger
) -> None:
    provider = client.provider
    people = _requests(sandbox, 6)
    # Day one submits and stops before any answer (its run ended: one look, nothing ready yet).
    sandbox.admin("POST", "config", json={"speed": 1.0})
    first = run_provider(
        provider, client, ledger, DAY, people, RunSettings(poll_interval_s=0.01, poll_timeout_s=0)
    )
    assert first.new_submissions == 6 and set(_outcomes(first).values()) == {Outcome.PENDING}
    sandbox.admin("POST", "config", json={"speed": 0.01})

    # The next day wants four of them and two new people.
    wanted = people[2:] + _requests(sandbox, 2, skip=6)
    second = run_provider(provider, client, ledger, NEXT_DAY, wanted, SETTINGS)

    counters = sandbox.counters()
    assert people_submitted(counters, provider) == 8  # 6 on day one, only the 2 new ones after
    assert second.new_submissions == 2
    outcomes = _outcomes(second)
    assert set(outcomes) == {r.person_key for r in wanted}
    assert not {Outcome.PENDING, Outcome.UNKNOWN, Outcome.DEFERRED} & set(outcomes.values())
    # day one's whole call was collected (its other two people too): nothing is left open
    assert _states(ledger, DAY) == {"completed": 6}
    assert ledger.credits_spent() == counters["credits_net"].get(provider, 0)


def test_a_submit_of_unknown_outcome_holds_its_people_on_the_next_day_until_reconciled(
    sandbox: SandboxServer, client: Any, ledger: Ledger
) -> None:
    provider = client.provider
    people = _requests(sandbox, 4)
    _lose_the_submit_answer(sandbox, provider)
    first = run_provider(provider, client, ledger, DAY, people, SETTINGS)
    assert set(_outcomes(first).values()) == {Outcome.UNKNOWN}
    paid = people_submitted(sandbox.counters(), provider)
    assert paid == 4  # the provider took them: sending them again would pay twice

    second = run_provider(provider, client, ledger, NEXT_DAY, people, SETTINGS)
    assert people_submitted(sandbox.counters(), provider) == paid
    assert second.new_submissions == 0
    held = [a for a in second.attempts if a.outcome is Outcome.UNKNOWN]
    assert len(held) == 4
    assert all(f"submit of {DAY} of unknown outcome" in (a.result.reason or "") for a in held)
    assert all(f"reconcile --day {DAY}" in (a.result.reason or "") for a in held)

    # Once the user settles day one (here: resubmit), the next day asks for them again.
    assert ledger.resubmit_unknown(provider, DAY) == 4
    third = run_provider(provider, client, ledger, NEXT_DAY, people, SETTINGS)
    assert third.new_submissions == 4
    assert Outcome.UNKNOWN not in set(_outcomes(third).values())


@pytest.mark.parametrize("client", ["lemlist"], indirect=True)  # one provider suffices
def test_an_open_job_that_asked_for_less_answers_what_it_asked_the_rest_waits(
    sandbox: SandboxServer, client: Any, ledger: Ledger
) -> None:
    people = _requests(sandbox, 3)
    sandbox.admin("POST", "config", json={"speed": 1.0})
    run_provider(
        "lemlist", client, ledger, DAY, people, RunSettings(poll_interval_s=0.01, poll_timeout_s=0)
    )
    sandbox.admin("POST", "config", json={"speed": 0.01})

    more = [r.model_copy(update={"fields": frozenset({EMAIL, PHONE})}) for r in people]
    second = run_provider("lemlist", client, ledger, NEXT_DAY, more, SETTINGS)
    assert people_submitted(sandbox.counters(), "lemlist") == 3  # nobody sent again today
    for person in more:
        mine = [a for a in second.attempts if a.result.person_key == person.person_key]
        by_fields = {a.fields: a.outcome for a in mine}
        assert by_fields[frozenset({PHONE})] == Outcome.DEFERRED  # asked on the next run
        assert by_fields[frozenset({EMAIL})] in (Outcome.FOUND, Outcome.NOT_FOUND)


def test_the_ledger_never_claims_a_person_another_day_holds(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        request = EnrichmentRequest(person_key="em:a@example.test", fields=frozenset({EMAIL}))
        (held,) = ledger.record_intents("lemlist", DAY, [request])
        ledger.mark([held], "unknown", "connection dropped")
        assert ledger.record_intents("lemlist", NEXT_DAY, [request]) == []
        assert len(ledger.record_intents("thehog", NEXT_DAY, [request])) == 1  # other provider
    finally:
        ledger.close()


@pytest.mark.parametrize("client", ["lemlist"], indirect=True)  # the balance-checked provider
def test_another_days_job_answered_out_of_credits_is_deferred_on_its_own_day(
    sandbox: SandboxServer, client: Any, ledger: Ledger
) -> None:
    people = _requests(sandbox, 3)
    sandbox.admin("POST", "config", json={"lemlist_out_of_credits": "not_found", "speed": 1.0})
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 0})
    run_provider(
        "lemlist", client, ledger, DAY, people, RunSettings(poll_interval_s=0.01, poll_timeout_s=0)
    )
    sandbox.admin("POST", "config", json={"speed": 0.01})

    second = run_provider("lemlist", client, ledger, NEXT_DAY, people, SETTINGS)
    # day one's unpaid "not found" answers are not answers: its rows are deferred, not cached
    assert set(_outcomes(second).values()) == {Outcome.DEFERRED}
    assert _states(ledger, DAY) == {"call_failed": 3}
    assert "out of credits" in (second.stopped or "")

    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 100_000})
    topped_up = run_provider("lemlist", client, ledger, NEXT_DAY, people, SETTINGS)
    assert topped_up.new_submissions == 3
    assert Outcome.FOUND in set(_outcomes(topped_up).values())
