"""LemlistClient over real HTTP against the sandbox (speed 0.01): every method, batching, polling,
faults, credits, and answers checked against the world's ground truth.

A few paths the sandbox cannot produce (a 402, which lemlist does not document; a per-item bulk
error, which our own input check prevents; the older JSON 400 bodies) use an httpx.MockTransport.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from enrich_pipeline.identity import person_key
from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    RecordStatus,
    Submission,
    WantedField,
    to_e164,
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    MalformedResponseError,
    ProviderUnavailableError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.lemlist import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    LemlistClient,
    parse_lemlist_error,
    parse_webhook,
)
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.transport import RetryPolicy, SecretAuth, Transport
from enrich_pipeline.sandbox.providers.lemlist_records import Lead
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

SPEED = 0.01
EVERYTHING = frozenset({WantedField.EMAIL, WantedField.PHONE, WantedField.LINKEDIN})
BULK = "POST /v2/enrichments/bulk"
POLL = "GET /enrich/{enrichId}"
# Retries in milliseconds, so fault tests stay fast while still exercising the retry loop.
FAST_RETRY = RetryPolicy(
    max_attempts=6, base_delay_s=0.001, max_delay_s=0.01, max_total_s=5.0, max_retry_after_s=5.0
)


# ----------------------------------------------------------------------------------- helpers


@pytest.fixture
def lemlist(sandbox: SandboxServer) -> Iterator[LemlistClient]:
    with client_for(sandbox) as client:
        yield client


def client_for(sandbox: SandboxServer, **kw: Any) -> LemlistClient:
    kw.setdefault("retry", FAST_RETRY)
    return LemlistClient.create(
        sandbox.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=SPEED, **kw
    )


def request_for(
    person: Person, fields: frozenset[WantedField] = EVERYTHING, **overrides: Any
) -> EnrichmentRequest:
    values: dict[str, Any] = {
        "linkedin_url": person.linkedin_url,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "company_name": person.company.name,
        "company_domain": person.company.domain,
        "correlation": person.person_id,
    }
    values.update(overrides)
    key = person_key(
        linkedin_url=values["linkedin_url"],
        email=values.get("email"),
        first_name=values["first_name"],
        last_name=values["last_name"],
        company_domain=values["company_domain"],
    )
    assert key is not None
    return EnrichmentRequest(person_key=key, fields=fields, **values)


def knowledge(sandbox: SandboxServer, person: Person) -> Knowledge:
    return sandbox.state.world.knowledge("lemlist", person)


def person_where(sandbox: SandboxServer, wanted: Callable[[Knowledge], bool]) -> Person:
    world = sandbox.state.world
    return next(p for p in world.people if wanted(world.knowledge("lemlist", p)))


def fully_known(k: Knowledge) -> bool:
    return k.email_status == "deliverable" and bool(k.phones) and k.profile


def fault(sandbox: SandboxServer, kind: str, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": "lemlist", "kind": kind, **rule})


def route_counts(sandbox: SandboxServer, route: str) -> dict[str, int]:
    return sandbox.counters()["requests"].get("lemlist", {}).get(route, {})


def lemlist_requests(sandbox: SandboxServer) -> int:
    return sandbox.counters()["requests_total"].get("lemlist", 0)


def leads(sandbox: SandboxServer, kind: str) -> list[Lead]:
    return [lead for lead in sandbox.state.store("lemlist").leads.values() if lead.kind == kind]


def poll_until(client: LemlistClient, submission: Submission) -> list[EnrichmentResult]:
    """Bounded wait for one enrichment (a 3.5 s job lasts 35 ms at test speed)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        results = client.poll(submission)
        if results is not None:
            return results
        time.sleep(0.01)
    raise AssertionError(f"{submission.provider_ref} did not finish")


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[LemlistClient, list]:
    """A client whose HTTP goes to `handler`; returns (client, list of requests seen)."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    transport = Transport(
        provider="lemlist",
        base_url=DEFAULT_BASE_URL,
        auth=SecretAuth(lambda r: None),
        credential_id="mock-key",
        retry=FAST_RETRY,
        error_parser=parse_lemlist_error,
        client=httpx.Client(base_url=DEFAULT_BASE_URL, transport=httpx.MockTransport(record)),
    )
    return LemlistClient(transport, speed=SPEED), seen


def assert_matches_truth(sandbox: SandboxServer, person: Person, result: EnrichmentResult) -> None:
    """The record says exactly what lemlist knows about this person (right or wrong)."""
    known = knowledge(sandbox, person)
    assert result.email == known.email
    assert result.email_status == (EmailStatus(known.email_status) if known.email else None)
    expected_phone = to_e164(known.phones[0].number) if known.phones else None
    assert (result.phones[0].number if result.phones else None) == expected_phone
    assert (result.linkedin is not None) == known.profile
    if result.linkedin is not None:
        profile = result.linkedin
        assert profile.url == person.linkedin_url
        assert profile.provider_profile_id == str(person.linkedin_member_id)
        assert profile.full_name == f"{person.first_name} {person.last_name}"
        assert (profile.headline, profile.title) == (person.headline, person.title)
        assert profile.company_domain == person.company.domain
        assert profile.location == person.location
        assert profile.skills == person.skills
        assert profile.photo_url == person.photo_url
        assert [p.title for p in profile.positions] == [p.title for p in person.positions]
        assert [p.is_current for p in profile.positions] == [
            p.end_year is None for p in person.positions
        ]
        assert [p.start_year for p in profile.positions] == [p.start_year for p in person.positions]
    found = known.email is not None or bool(known.phones) or known.profile
    assert result.record_status is (RecordStatus.FOUND if found else RecordStatus.NOT_FOUND)


# ------------------------------------------------------------------------------ happy paths


def test_enrich_answers_what_lemlist_knows_and_costs_what_the_sandbox_charged(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    people = sandbox.state.world.people[:40]
    results = lemlist.enrich([request_for(p) for p in people])

    assert [r.person_key for r in results] == [request_for(p).person_key for p in people]
    assert [r.request_correlation for r in results] == [p.person_id for p in people]
    for person, result in zip(people, results, strict=True):
        assert_matches_truth(sandbox, person, result)
        assert result.provider_ref and result.provider_ref.startswith("enr_")
        assert result.cost_basis is CostBasis.TABLE
    statuses = {r.record_status for r in results}
    assert {RecordStatus.FOUND, RecordStatus.NOT_FOUND} <= statuses
    counters = sandbox.counters()
    assert counters["credits_net"]["lemlist"] == sum(r.cost_credits or 0 for r in results)
    assert route_counts(sandbox, BULK) == {"200": 1}
    assert "429" not in route_counts(sandbox, POLL)  # the pacer keeps a healthy run under the limit
    assert sorted(counters["submissions"]["lemlist"]) == sorted(p.person_id for p in people)


def test_batching_at_the_maximum_1234_people_are_three_bulk_calls(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    world = sandbox.state.world
    people = [world.people[i % len(world.people)] for i in range(1234)]
    batches: list[int] = []

    submissions = lemlist.submit(
        [request_for(p) for p in people], on_submitted=lambda made: batches.append(len(made))
    )

    assert BATCH_MAX == 500
    assert batches == [500, 500, 234]
    assert route_counts(sandbox, BULK) == {"200": 3}
    assert len(submissions) == 1234
    assert [s.correlation for s in submissions] == [p.person_id for p in people]
    assert len({s.provider_ref for s in submissions}) == 1234
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 1234


def test_single_submit_polls_in_progress_then_done(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    person = person_where(sandbox, fully_known)
    submission = lemlist.submit_single(request_for(person, job_title=person.title))

    assert submission.provider_ref and submission.error is None
    assert lemlist.poll(submission) is None  # 202 in-progress
    (result,) = poll_until(lemlist, submission)

    assert_matches_truth(sandbox, person, result)
    assert result.cost_credits == 5 + 20 + 1
    assert route_counts(sandbox, "POST /enrich") == {"200": 1}
    assert {"202", "200"} <= set(route_counts(sandbox, POLL))


def test_name_and_domain_alone_find_the_email(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    person = person_where(sandbox, lambda k: k.email_status == "deliverable")
    request = request_for(person, frozenset({WantedField.EMAIL}), linkedin_url=None)
    (result,) = lemlist.enrich([request], interval_s=0.01)

    assert request.person_key.startswith("nd:")
    assert (result.person_key, result.email) == (
        request.person_key,
        knowledge(sandbox, person).email,
    )
    assert (result.email_status, result.cost_credits) == (EmailStatus.DELIVERABLE, 5)


def test_verification_returns_the_world_verdict_for_one_credit(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    world = sandbox.state.world
    person = world.people[3]
    fields = frozenset({WantedField.EMAIL_VERIFICATION})
    request = request_for(person, fields, linkedin_url=None, email=person.work_email)
    (result,) = lemlist.enrich([request], interval_s=0.01)

    assert result.record_status is RecordStatus.FOUND
    assert result.email == person.work_email
    assert result.email_status == EmailStatus(world.email_verdict(person.work_email))
    assert result.cost_credits == 1 == sandbox.counters()["credits_net"]["lemlist"]


def test_credits_remaining_reads_the_team_balance(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    assert lemlist.credits_remaining() == sandbox.state.wallets["lemlist"].balance == 100_000
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 940})
    assert lemlist.credits_remaining() == 940


def test_webhooks_carry_the_same_answers_as_polling(
    sandbox: SandboxServer, lemlist: LemlistClient, webhook_receiver: WebhookReceiver
) -> None:
    people = sandbox.state.world.people[:6]
    requests = [request_for(p) for p in people]
    submissions = lemlist.submit(requests, webhook_url=webhook_receiver.url)
    polled = lemlist.collect(submissions, interval_s=0.01)
    webhook_receiver.wait_for(len(people))

    delivered = [
        r for body in webhook_receiver.bodies() for r in parse_webhook(body, requests=requests)
    ]
    by_ref = {r.provider_ref: r for r in delivered}
    for result in polled:
        hooked = by_ref[result.provider_ref]
        assert (hooked.person_key, hooked.request_correlation) == (
            result.person_key,
            result.request_correlation,
        )
        assert (hooked.record_status, hooked.email, hooked.email_status) == (
            result.record_status,
            result.email,
            result.email_status,
        )
        assert (hooked.phones, hooked.linkedin, hooked.cost_credits) == (
            result.phones,
            result.linkedin,
            result.cost_credits,
        )


# ------------------------------------------------------------------------- refusals, errors


def test_people_lemlist_cannot_serve_are_refused_without_a_call(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    person = sandbox.state.world.people[0]
    nameless = EnrichmentRequest(person_key="em:x@y.io", first_name="Ana", fields=EVERYTHING)
    phone_only = EnrichmentRequest(
        person_key="nd:1", first_name="Ana", last_name="Lee", company_domain="acme.io",
        fields=frozenset({WantedField.PHONE}),
    )  # fmt: skip

    submissions = lemlist.submit([nameless, phone_only])
    single = lemlist.submit_single(phone_only)

    assert lemlist_requests(sandbox) == 0
    assert all(s.provider_ref is None for s in [*submissions, single])
    assert submissions[1].error == single.error == "MISSING_INPUTS: find_phone needs linkedinUrl"
    assert submissions[0].error is not None and "find_email needs" in submissions[0].error
    results = lemlist.collect(submissions)
    assert [r.record_status for r in results] == [RecordStatus.FAILED] * 2
    assert results[1].reason == submissions[1].error and results[1].cost_credits == 0

    # A partly servable person goes out with what can run; the rest is noted, not sent.
    partial = request_for(person, linkedin_url=None)
    (submission,) = lemlist.submit([partial])
    assert submission.raw["enrichmentRequests"] == ["find_email", "linkedin_enrichment"]
    assert submission.raw["skipped"] == ["find_phone needs linkedinUrl"]


def test_per_item_bulk_errors_come_back_item_by_item() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)
        answer = [
            {"id": "enr_AAAAAAAAAAAAAAAAA", "metadata": items[0]["metadata"]},
            {"error": "MISSING_LINKEDIN_URL", "metadata": items[1]["metadata"]},
            {"id": "enr_CCCCCCCCCCCCCCCCC", "metadata": items[2]["metadata"]},
        ]
        return httpx.Response(200, json=answer)

    client, seen = mock_client(handler)
    requests = [
        EnrichmentRequest(person_key=f"li:/in/p{i}", linkedin_url=f"https://linkedin.com/in/p{i}")
        for i in range(3)
    ]
    submissions = client.submit(requests)

    assert len(seen) == 1
    assert [s.provider_ref for s in submissions] == [
        "enr_AAAAAAAAAAAAAAAAA",
        None,
        "enr_CCCCCCCCCCCCCCCCC",
    ]
    assert [s.error for s in submissions] == [None, "MISSING_LINKEDIN_URL", None]
    assert [s.person_key for s in submissions] == [r.person_key for r in requests]
    sent = json.loads(seen[0].content)
    assert sent[0] == {
        "input": {"linkedinUrl": "https://www.linkedin.com/in/p0"},
        "enrichmentRequests": ["find_email"],
        "metadata": "li:/in/p0",
    }


def test_whole_request_bulk_400_raises_with_the_code() -> None:
    client, seen = mock_client(
        lambda r: httpx.Response(400, json={"error": "TOO_MANY_ENRICHMENTS_REQUESTED"})
    )
    request = EnrichmentRequest(person_key="li:/in/a", linkedin_url="linkedin.com/in/a")
    with pytest.raises(BadRequestError) as caught:
        client.submit([request])
    assert (caught.value.status, caught.value.code) == (400, "TOO_MANY_ENRICHMENTS_REQUESTED")
    assert len(seen) == 1


def test_single_submit_400_text_plain_from_the_sandbox(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    person = sandbox.state.world.people[0]
    with pytest.raises(BadRequestError) as caught:
        lemlist.submit_single(request_for(person), webhook_url="not a url")
    assert (caught.value.status, caught.value.code) == (400, "INVALID_WEBHOOK_URL")
    assert route_counts(sandbox, "POST /enrich") == {"400": 1}


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (httpx.Response(400, text="Bad team"), "BAD_TEAM"),
        (httpx.Response(400, json={"error": "Bad request"}), "BAD_REQUEST"),  # CONFLICT 1.3
        (
            httpx.Response(400, json={"error": "No enrichment requested (findEmail, ...)"}),
            "NO_ENRICHMENT_REQUESTED",
        ),
        (httpx.Response(400, text="Invalid webhookUrl"), "INVALID_WEBHOOK_URL"),
    ],
)
def test_single_submit_400_bodies_text_or_json_both_give_a_code(
    response: httpx.Response, code: str
) -> None:
    client, seen = mock_client(lambda r: response)
    request = EnrichmentRequest(person_key="li:/in/a", linkedin_url="linkedin.com/in/a")
    with pytest.raises(BadRequestError) as caught:
        client.submit_single(request)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert len(seen) == 1
    assert seen[0].url.params["findEmail"] == "true"


def test_402_raises_credits_exhausted_at_once_with_nothing_retried() -> None:
    # lemlist documents no 402 (providers.md 1.9); if one ever comes, it must not be retried.
    client, seen = mock_client(lambda r: httpx.Response(402, json={"error": "Not enough credits"}))
    request = EnrichmentRequest(person_key="li:/in/a", linkedin_url="linkedin.com/in/a")
    with pytest.raises(CreditsExhaustedError):
        client.submit([request])
    assert len(seen) == 1


def test_wrong_key_is_an_authentication_error_without_retries(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as good:
        assert good.credits_remaining() is not None
    bad = LemlistClient.create(
        "not-the-key", base_url=sandbox.base_url("lemlist"), speed=SPEED, retry=FAST_RETRY
    )
    with pytest.raises(AuthenticationError) as caught:
        bad.credits_remaining()
    assert caught.value.status == 401
    assert "not-the-key" not in str(caught.value) and "not-the-key" not in repr(bad)
    assert route_counts(sandbox, "GET /team/credits") == {"200": 1, "401": 1}


def test_the_key_travels_only_as_basic_auth_with_an_empty_user() -> None:
    client = LemlistClient.create("sk_secret", base_url="http://unused.test")
    request = client.transport.client.build_request("GET", "/team/credits")  # type: ignore[union-attr]
    flow = client.transport.auth.auth_flow(request)
    sent = next(flow)
    assert sent.headers["authorization"] == "Basic OnNrX3NlY3JldA=="  # base64(":sk_secret")
    assert "sk_secret" not in str(sent.url) and "sk_secret" not in repr(client)
    assert {"global": [RateLimit(20, 2.0)]} == DEFAULT_RATE_LIMITS
    client.close()


# ------------------------------------------------------------------------------------- leads


def test_enrich_lead_runs_refuses_a_parallel_run_then_skips_until_forced(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    lead = next(x for x in leads(sandbox, "fresh") if fully_known(knowledge(sandbox, x.person)))
    email = frozenset({WantedField.EMAIL})

    submission = lemlist.enrich_lead(lead.lead_id, email)
    with pytest.raises(BadRequestError) as running:
        lemlist.enrich_lead(lead.lead_id, email)
    (result,) = poll_until(lemlist, submission)
    with pytest.raises(BadRequestError) as skipped:
        lemlist.enrich_lead(lead.lead_id, email)
    forced = lemlist.enrich_lead(lead.lead_id, email, force=True)

    assert (running.value.status, running.value.code) == (409, "ENRICHMENT_RUNNING")
    assert (skipped.value.status, skipped.value.code) == (409, "ALREADY_ENRICHED")
    assert forced.provider_ref not in (None, submission.provider_ref)
    assert result.email == knowledge(sandbox, lead.person).email
    assert (
        result.person_key == f"lead:{lead.lead_id}" and result.request_correlation == lead.lead_id
    )


def test_enrich_lead_errors_carry_the_documented_codes(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    email = [WantedField.EMAIL]
    cases = {
        "lea_AAAAAAAAAAAAAAAAA": (404, "LEAD_NOT_FOUND"),
        leads(sandbox, "no_contact")[0].lead_id: (404, "CONTACT_NOT_FOUND"),
        "bogus": (400, "BAD_TEAM"),
    }
    for lead_id, expected in cases.items():
        with pytest.raises(BadRequestError) as caught:
            lemlist.enrich_lead(lead_id, email)
        assert (caught.value.status, caught.value.code) == expected
    # The documented 500 may have started something: reported as unknown, never retried.
    with pytest.raises(SubmitOutcomeUnknownError):
        lemlist.enrich_lead(leads(sandbox, "broken")[0].lead_id, email)
    assert route_counts(sandbox, "POST /leads/{leadId}/enrich") == {"404": 2, "400": 1, "500": 1}


# ------------------------------------------------------------------------------------- faults


def test_a_429_storm_is_ridden_out_honouring_retry_after(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    fault(sandbox, "rate_limit", count=5, route=BULK, retry_after_s=5)  # 5 s -> 50 ms at speed
    started = time.monotonic()
    submissions = lemlist.submit([request_for(sandbox.state.world.people[0])])

    assert submissions[0].provider_ref is not None
    assert time.monotonic() - started >= 5 * 0.05 * 0.9
    assert route_counts(sandbox, BULK) == {"429": 5, "200": 1}
    assert lemlist.transport.stats["rate_limited"] == 5
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 1


def test_5xx_and_timeouts_on_polls_are_retried_within_bounds(sandbox: SandboxServer) -> None:
    with client_for(sandbox, timeout_s=0.3) as client:
        (submission,) = client.submit([request_for(sandbox.state.world.people[1])])
        fault(sandbox, "error_503", count=2, route=POLL)
        fault(sandbox, "timeout", count=1, route=POLL, delay_s=1.0)
        (result,) = client.collect([submission], interval_s=0.01, timeout_s=5)
        assert result.record_status in (RecordStatus.FOUND, RecordStatus.NOT_FOUND)
        assert route_counts(sandbox, POLL)["503"] == 2
        assert client.transport.stats["retries"] >= 3  # two 503s and one client-side timeout

        fault(sandbox, "error_500", route=POLL)  # an outage: until cleared
        with pytest.raises(ProviderUnavailableError):
            client.poll(submission)
        assert route_counts(sandbox, POLL)["500"] == FAST_RETRY.max_attempts
        # collect rides an outage out as pending, with the reason, not as an answer
        (pending,) = client.collect([submission], interval_s=0.01, timeout_s=0.1)
        assert pending.record_status is RecordStatus.PENDING
        assert pending.reason is not None and "last poll failed" in pending.reason


@pytest.mark.parametrize(
    ("kind", "rule"),
    [("drop", {"after": True}), ("error_500", {}), ("malformed", {})],
)
def test_a_submit_that_may_have_been_accepted_is_never_retried(
    sandbox: SandboxServer, lemlist: LemlistClient, kind: str, rule: dict[str, Any]
) -> None:
    fault(sandbox, kind, count=3, route=BULK, **rule)
    with pytest.raises(SubmitOutcomeUnknownError):
        lemlist.submit([request_for(sandbox.state.world.people[2])])
    assert sum(route_counts(sandbox, BULK).values()) == 1


@pytest.mark.parametrize("kind", ["error_503", "error_502"])
def test_a_503_or_502_on_a_submit_says_not_processed_so_it_is_retried_and_accepted_once(
    sandbox: SandboxServer, lemlist: LemlistClient, kind: str
) -> None:
    fault(sandbox, kind, count=1, route=BULK)
    (submission,) = lemlist.submit([request_for(sandbox.state.world.people[2])])
    assert submission.provider_ref and submission.error is None
    assert route_counts(sandbox, BULK) == {kind.removeprefix("error_"): 1, "200": 1}
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 1


def test_an_unknown_outcome_mid_run_hands_over_what_was_already_accepted(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    world = sandbox.state.world
    requests = [request_for(world.people[i % 1000]) for i in range(BATCH_MAX + 1)]

    def drop_the_next_call(made: list[Submission]) -> None:
        fault(sandbox, "drop", after=True, count=1, route=BULK)

    with pytest.raises(SubmitOutcomeUnknownError) as caught:
        lemlist.submit(requests, on_submitted=drop_the_next_call)

    accepted = caught.value.accepted_submissions  # type: ignore[attr-defined]
    assert len(accepted) == BATCH_MAX and all(s.provider_ref for s in accepted)
    # Both calls reached lemlist (the second was processed, then its answer lost); none repeated.
    assert route_counts(sandbox, BULK) == {"200": 2}
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == BATCH_MAX + 1


def test_malformed_poll_bodies_are_a_clear_error(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    (submission,) = lemlist.submit([request_for(sandbox.state.world.people[4])])
    fault(sandbox, "malformed", route=POLL)
    with pytest.raises(MalformedResponseError) as caught:
        lemlist.poll(submission)
    assert "not JSON" in str(caught.value)
    assert sum(route_counts(sandbox, POLL).values()) == FAST_RETRY.max_attempts


def test_a_stuck_job_stays_pending_at_the_deadline_never_not_found(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    fault(sandbox, "job_stuck", count=1)
    people = sandbox.state.world.people[5:8]
    submissions = lemlist.submit([request_for(p) for p in people])
    results = lemlist.collect(submissions, interval_s=0.01, timeout_s=0.3)

    assert results[0].record_status is RecordStatus.PENDING
    assert results[0].provider_ref == submissions[0].provider_ref
    assert results[0].cost_credits is None
    assert all(r.record_status is not RecordStatus.PENDING for r in results[1:])


def test_a_failed_job_is_failed_and_costs_nothing(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    fault(sandbox, "job_fail", count=1)
    (result,) = lemlist.enrich([request_for(sandbox.state.world.people[9])], interval_s=0.01)
    assert result.record_status is RecordStatus.FAILED
    assert result.reason == "Enrichment failed"
    assert result.cost_credits == 0 == sandbox.counters()["credits_net"].get("lemlist", 0)


def test_running_out_of_credits_is_a_failure_not_a_not_found(
    sandbox: SandboxServer, lemlist: LemlistClient
) -> None:
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 0})
    person = person_where(sandbox, fully_known)
    (result,) = lemlist.enrich([request_for(person)], interval_s=0.01)

    assert result.record_status is RecordStatus.FAILED
    assert result.reason == "Insufficient credits"
    assert (result.email, result.phones, result.linkedin, result.cost_credits) == (
        None,
        (),
        None,
        0,
    )
