"""The Hog's Idempotency-Key through the runner and the ledger (providers.md 3.1, 3.3), live sandbox.

Two promises, checked against the sandbox's own counts:
* a *new* attempt carries a key of its own, so an operation that failed (or was cancelled) is never
  handed back as the answer to it: the person is asked again and answered;
* a *replay* of a submit whose answer was lost sends exactly the body and key of the call it
  replays, whatever the day's people look like now, so each person's job is paid for once — and an
  operation still running is polled, never started again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from enrich_pipeline.model import (
    EnrichmentRequest,
    EnrichmentResult,
    Outcome,
    Submission,
    WantedField,
)
from enrich_pipeline.providers.errors import ProviderUnavailableError, SubmitOutcomeUnknownError
from enrich_pipeline.providers.thehog import ThehogClient, idempotency_key
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline_tests.conftest import TEST_CONFIG

DAY = "2026-11-04"
SUBMIT = "POST /api/enrichments"
EMAIL, PHONE = WantedField.EMAIL, WantedField.PHONE
SETTINGS = RunSettings(poll_interval_s=0.01, poll_timeout_s=10)


@pytest.fixture
def hog(sandbox: SandboxServer) -> Iterator[ThehogClient]:
    client = ThehogClient.create(
        TEST_CONFIG.thehog_access_key,
        TEST_CONFIG.thehog_secret_key,
        base_url=sandbox.base_url("thehog"),
        speed=0.01,
    )
    yield client
    client.close()


# ---------------------------------------------------------------------------------- helpers


def _known(sandbox: SandboxServer, n: int, *, skip: int = 0) -> list[Person]:
    """People The Hog knows fully (work email, deliverable, a phone): each of them ends found."""
    world = sandbox.state.world
    found = [
        p
        for p in world.people
        if (k := world.knowledge("thehog", p)).email == p.work_email
        and k.email_status == "deliverable"
        and k.phones
    ][skip : skip + n]
    assert len(found) == n
    return found


def _by_email(person: Person, *fields: WantedField) -> EnrichmentRequest:
    """Identified by email: always an operation (202), even alone (providers.md 3.2)."""
    return EnrichmentRequest(
        person_key=f"em:{person.work_email}",
        email=person.work_email,
        fields=frozenset(fields or {EMAIL}),
    )


def _by_linkedin(person: Person, *fields: WantedField) -> EnrichmentRequest:
    """Identified by LinkedIn, contact fields only: alone, answered at once (200)."""
    return EnrichmentRequest(
        person_key=f"li:/in/{person.linkedin_slug}",
        linkedin_url=person.linkedin_url,
        fields=frozenset(fields or {EMAIL}),
    )


def _fault(sandbox: SandboxServer, kind: str, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": "thehog", "kind": kind, **rule})


def _lose_every_submit_answer(sandbox: SandboxServer) -> None:
    """Every submit is processed (and its key stored), then its connection dropped."""
    _fault(sandbox, "drop", route=SUBMIT, after=True)


def _submitted(sandbox: SandboxServer) -> dict[str, int]:
    """Jobs The Hog started per person (its own count): a replayed key adds none."""
    return dict(sandbox.counters()["submissions"].get("thehog", {}))


def _operations(sandbox: SandboxServer) -> set[str]:
    return set(sandbox.state.store("thehog").operations)


def _stored_keys(sandbox: SandboxServer) -> set[str]:
    return {key for _, key in sandbox.state.store("thehog").idempotency}


def _deductions(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [t for t in sandbox.state.wallets["thehog"].transactions if t["type"] == "deduction"]


def _posts(sandbox: SandboxServer) -> int:
    return sum(sandbox.counters()["requests"].get("thehog", {}).get(SUBMIT, {}).values())


def _polls(sandbox: SandboxServer) -> int:
    routes = sandbox.counters()["requests"].get("thehog", {})
    return sum(sum(v.values()) for route, v in routes.items() if route.startswith("GET "))


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    """The ledger's thehog rows, oldest first: person, state, chunk, operations and keys sent."""
    db = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT person_key, state, chunk, provider_refs, submissions_json FROM submissions "
            "WHERE provider = 'thehog' ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    out = []
    for person, state, chunk, refs, submissions in rows:
        sent = [Submission.model_validate(s) for s in json.loads(submissions or "[]")]
        out.append(
            {
                "person": person,
                "state": state,
                "chunk": chunk,
                "ops": json.loads(refs or "[]"),
                "keys": [s.raw.get("idempotency_key") for s in sent],
            }
        )
    return out


def _outcomes(run: Any) -> dict[str, Outcome]:
    return {a.result.person_key: a.outcome for a in run.attempts}


def _found(run: Any, people: Sequence[Person], requests: Sequence[EnrichmentRequest]) -> None:
    """Every one of `people` ends found, with The Hog's right answer."""
    by_key = {a.result.person_key: a.result for a in run.attempts}
    for person, request in zip(people, requests, strict=True):
        result: EnrichmentResult = by_key[request.person_key]
        assert _outcomes(run)[request.person_key] is Outcome.FOUND, result.reason
        assert result.email == person.work_email


# ------------------------------------------------------------------------- the key itself


def test_the_key_names_the_attempt_as_well_as_the_body(
    sandbox: SandboxServer, hog: ThehogClient
) -> None:
    body = {"identifier": {"email": "a@x.io"}, "fields": ["contact.email"]}
    assert idempotency_key(body, "chunk-1") == idempotency_key(dict(body), "chunk-1")
    assert idempotency_key(body, "chunk-1") != idempotency_key(body, "chunk-2")
    assert idempotency_key(body, "chunk-1") != idempotency_key(body)

    [person] = _known(sandbox, 1)
    [first] = hog.submit([_by_email(person)], attempt="chunk-1")
    [replay] = hog.submit([_by_email(person)], attempt="chunk-1")
    [fresh] = hog.submit([_by_email(person)], attempt="chunk-2")
    assert replay.provider_ref == first.provider_ref  # the same attempt: the same operation
    assert fresh.provider_ref not in (None, first.provider_ref)  # a new attempt: a new one
    assert replay.raw["idempotency_key"] == first.raw["idempotency_key"]
    assert fresh.raw["idempotency_key"] != first.raw["idempotency_key"]
    assert _submitted(sandbox) == {person.person_id: 2}


# ---------------------------------------------- a failed operation is never the answer again


@pytest.mark.parametrize("n", [1, 3], ids=["single", "batch"])
def test_after_a_failed_operation_the_next_run_starts_a_new_one_and_the_person_is_found(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger, n: int
) -> None:
    people = _known(sandbox, n)
    requests = [_by_email(p) for p in people]
    _fault(sandbox, "job_fail", count=1)  # The Hog fails the job; nothing is charged
    first = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert set(_outcomes(first).values()) == {Outcome.FAILED}
    assert _deductions(sandbox) == []
    [failed_op] = _operations(sandbox)

    # retry_failed_after defaults to 0: the next run (same day) asks again, as a new attempt.
    again = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert again.new_submissions == n and again.replayed == 0
    _found(again, people, requests)

    rows = _rows(ledger)
    assert [r["state"] for r in rows] == ["completed"] * (2 * n)
    old, new = rows[:n], rows[n:]
    assert {op for r in old for op in r["ops"]} == {failed_op}
    [new_op] = {op for r in new for op in r["ops"]}
    assert new_op != failed_op
    assert {k for r in old for k in r["keys"]}.isdisjoint({k for r in new for k in r["keys"]})
    assert _operations(sandbox) == {failed_op, new_op}
    assert _submitted(sandbox) == {p.person_id: 2 for p in people}  # two jobs; one paid
    assert len(_deductions(sandbox)) == 1
    assert ledger.credits_spent() == sandbox.counters()["credits_net"]["thehog"]


def test_a_replayed_submit_whose_operation_failed_is_answered_failed_then_asked_anew(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger
) -> None:
    people = _known(sandbox, 2)
    requests = [_by_email(p) for p in people]
    _fault(sandbox, "job_fail", count=1)
    _lose_every_submit_answer(sandbox)
    lost = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert set(_outcomes(lost).values()) == {Outcome.UNKNOWN}
    sandbox.admin("DELETE", "faults")

    # The replay is the same attempt: The Hog hands back the operation it has, which failed.
    replayed = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert replayed.replayed == 2 and replayed.new_submissions == 0
    assert set(_outcomes(replayed).values()) == {Outcome.FAILED}
    [failed_op] = _operations(sandbox)

    # The next run is a new attempt: a new key, a new operation, and the answers.
    again = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert again.new_submissions == 2
    _found(again, people, requests)
    assert len(_operations(sandbox) - {failed_op}) == 1
    assert _submitted(sandbox) == {p.person_id: 2 for p in people}
    assert ledger.credits_spent() == sandbox.counters()["credits_net"]["thehog"]


# ----------------------------------------- a replay sends what was sent, whatever the day is now


def _regrouped(
    variant: str, sandbox: SandboxServer, requests: list[EnrichmentRequest]
) -> tuple[list[EnrichmentRequest], RunSettings]:
    """The day as the next run sees it: the lost chunk's people regrouped in another way."""
    if variant == "more_prospects_other_order":
        extra = [_by_email(p) for p in _known(sandbox, 3, skip=len(requests))]
        return [extra[0], *reversed(requests), *extra[1:]], SETTINGS
    if variant == "a_member_suppressed_or_answered":
        # The suppression list (or an earlier provider's answer) keeps one of them out today.
        return requests[1:], SETTINGS
    if variant == "smaller_batches":
        return list(reversed(requests)), RunSettings(
            batch_max=2, poll_interval_s=0.01, poll_timeout_s=10
        )
    raise AssertionError(variant)


@pytest.mark.parametrize(
    "variant", ["more_prospects_other_order", "a_member_suppressed_or_answered", "smaller_batches"]
)
def test_an_unknown_submit_is_replayed_byte_for_byte_however_the_day_regroups_its_people(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger, variant: str
) -> None:
    people = _known(sandbox, 4)
    requests = [_by_email(p, EMAIL, PHONE) for p in people]
    _lose_every_submit_answer(sandbox)
    lost = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert set(_outcomes(lost).values()) == {Outcome.UNKNOWN}
    assert lost.stopped is not None
    [lost_op] = _operations(sandbox)  # The Hog did start the job: only its answer was lost
    [lost_key] = _stored_keys(sandbox)
    assert _submitted(sandbox) == {p.person_id: 1 for p in people}
    sandbox.admin("DELETE", "faults")

    today, settings = _regrouped(variant, sandbox, requests)
    again = run_provider("thehog", hog, ledger, DAY, today, settings)
    assert again.replayed == len(people)

    rows = {
        r["person"]: r for r in _rows(ledger) if r["person"] in {q.person_key for q in requests}
    }
    assert {tuple(r["ops"]) for r in rows.values()} == {(lost_op,)}
    assert {tuple(r["keys"]) for r in rows.values()} == {(lost_key,)}
    assert {r["state"] for r in rows.values()} == {"completed"}
    in_today = [(p, q) for p, q in zip(people, requests, strict=True) if q in today]
    _found(again, [p for p, _ in in_today], [q for _, q in in_today])
    submitted = _submitted(sandbox)
    assert all(submitted[p.person_id] == 1 for p in people), "a lost chunk was paid twice"
    extra = {q.person_key for q in today} - {q.person_key for q in requests}
    assert sum(submitted.values()) == len(people) + len(extra)
    assert ledger.credits_spent() == sandbox.counters()["credits_net"]["thehog"]


def test_a_lost_synchronous_answer_is_replayed_and_charged_once(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger
) -> None:
    [person, *others] = _known(sandbox, 3)
    request = _by_linkedin(person, EMAIL, PHONE)
    _lose_every_submit_answer(sandbox)
    lost = run_provider("thehog", hog, ledger, DAY, [request], SETTINGS)
    assert _outcomes(lost) == {request.person_key: Outcome.UNKNOWN}
    assert len(_deductions(sandbox)) == 1  # answered (200) and charged; the answer was lost
    [lost_key] = _stored_keys(sandbox)
    sandbox.admin("DELETE", "faults")

    # More prospects today: the lost single lookup is still sent alone, as it was.
    today = [_by_linkedin(p, EMAIL, PHONE) for p in others] + [request]
    again = run_provider("thehog", hog, ledger, DAY, today, SETTINGS)
    assert again.replayed == 1
    _found(again, [person], [request])
    [row] = [r for r in _rows(ledger) if r["person"] == request.person_key]
    assert row["keys"] == [lost_key] and row["ops"] == []  # the stored 200, replayed
    assert _submitted(sandbox)[person.person_id] == 1
    sync = [d for d in _deductions(sandbox) if d["description"] == "enrichment (sync)"]
    assert len(sync) == 1, "the synchronous answer was charged twice"
    assert ledger.credits_spent() == sandbox.counters()["credits_net"]["thehog"]


def test_a_replayed_key_whose_operation_still_runs_is_polled_not_resubmitted(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger
) -> None:
    people = _known(sandbox, 2)
    requests = [_by_email(p) for p in people]
    _fault(sandbox, "job_stuck", count=1)  # the job never finishes
    _lose_every_submit_answer(sandbox)
    short = RunSettings(poll_interval_s=0.01, poll_timeout_s=0.2)
    run_provider("thehog", hog, ledger, DAY, requests, short)
    [op] = _operations(sandbox)
    sandbox.admin("DELETE", "faults")

    posts, polls = _posts(sandbox), _polls(sandbox)
    replayed = run_provider("thehog", hog, ledger, DAY, requests, short)
    assert replayed.replayed == 2 and replayed.new_submissions == 0
    assert set(_outcomes(replayed).values()) == {Outcome.PENDING}
    assert _posts(sandbox) == posts + 1  # the one replay, answered with the running operation
    assert _polls(sandbox) > polls
    assert {tuple(r["ops"]) for r in _rows(ledger)} == {(op,)}

    posts = _posts(sandbox)
    resumed = run_provider("thehog", hog, ledger, DAY, requests, short)
    assert resumed.resumed == 2 and resumed.replayed == 0 and resumed.new_submissions == 0
    assert _posts(sandbox) == posts  # polled again, never submitted again
    assert _operations(sandbox) == {op}
    assert _submitted(sandbox) == {p.person_id: 1 for p in people}


# ----------------------------------------------- the client: what makes an outcome unknown


def test_a_submit_whose_every_answer_was_lost_is_an_unknown_outcome(
    sandbox: SandboxServer, hog: ThehogClient
) -> None:
    people = _known(sandbox, 2)
    _lose_every_submit_answer(sandbox)
    with pytest.raises(SubmitOutcomeUnknownError):
        hog.submit([_by_email(p) for p in people], attempt="a")
    assert len(_operations(sandbox)) == 1  # every retry carried the key: one job


def test_an_answer_lost_before_an_outage_still_makes_the_outcome_unknown(
    sandbox: SandboxServer, hog: ThehogClient
) -> None:
    people = _known(sandbox, 2)
    _fault(sandbox, "drop", route=SUBMIT, after=True, count=1)  # processed, answer lost
    _fault(sandbox, "error_503", route=SUBMIT)  # then unavailable for every retry
    with pytest.raises(SubmitOutcomeUnknownError):
        hog.submit([_by_email(p) for p in people], attempt="a")
    assert len(_operations(sandbox)) == 1


def test_an_outage_that_processed_nothing_is_not_an_unknown_outcome(
    sandbox: SandboxServer, hog: ThehogClient
) -> None:
    people = _known(sandbox, 2)
    _fault(sandbox, "error_503", route=SUBMIT)
    with pytest.raises(ProviderUnavailableError) as raised:
        hog.submit([_by_email(p) for p in people], attempt="a")
    assert not isinstance(raised.value, SubmitOutcomeUnknownError)
    assert _operations(sandbox) == set()


# ------------------------------------------- known gaps, outside the client (ledger and runner)


def test_the_lost_call_of_a_chunk_whose_first_call_was_answered_is_replayed(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger
) -> None:
    people = _known(sandbox, 4)
    # Two sets of fields: one submit of the runner, two calls to The Hog.
    requests = [_by_email(p) for p in people[:2]] + [_by_email(p, EMAIL, PHONE) for p in people[2:]]

    class LoseTheSecondCall:
        def submit(self, batch: Sequence[EnrichmentRequest], **kw: Any) -> list[Submission]:
            return hog.submit(
                batch, on_submitted=lambda _: _lose_every_submit_answer(sandbox), **kw
            )

        def collect(self, submissions: Sequence[Submission], **kw: Any) -> list[EnrichmentResult]:
            return hog.collect(submissions, **kw)

    first = run_provider("thehog", LoseTheSecondCall(), ledger, DAY, requests, SETTINGS)
    assert [_outcomes(first)[q.person_key] for q in requests] == [Outcome.FOUND] * 2 + [
        Outcome.UNKNOWN
    ] * 2
    sandbox.admin("DELETE", "faults")

    again = run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    assert again.replayed == 2
    _found(again, people[2:], requests[2:])
    assert _submitted(sandbox) == {p.person_id: 1 for p in people}


def test_a_person_whose_submit_is_unknown_is_not_paid_for_again_on_the_next_day(
    sandbox: SandboxServer, hog: ThehogClient, ledger: Ledger
) -> None:
    people = _known(sandbox, 3)
    requests = [_by_email(p) for p in people]
    _lose_every_submit_answer(sandbox)
    run_provider("thehog", hog, ledger, DAY, requests, SETTINGS)
    sandbox.admin("DELETE", "faults")
    run_provider("thehog", hog, ledger, "2026-11-05", requests, SETTINGS)
    assert _submitted(sandbox) == {p.person_id: 1 for p in people}
