"""ThehogClient over real HTTP against the sandbox (providers.md 3): sync and async answers, batching,
idempotent retries, polling, faults, and results compared to the world's ground truth."""

from __future__ import annotations

import hashlib
import json
import logging
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
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    CreditsExhaustedError,
    MalformedResponseError,
)
from enrich_pipeline.providers.thehog import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    ThehogClient,
    UnsafePollUrlError,
    idempotency_key,
    poll_target,
)
from enrich_pipeline.providers.thehog import payloads as thehog
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person
from enrich_pipeline_tests.conftest import TEST_CONFIG

EMAIL, PHONE, LINKEDIN = WantedField.EMAIL, WantedField.PHONE, WantedField.LINKEDIN
SUBMIT = "POST /api/enrichments"
POLL = "GET /api/operations/{operation_id}"
NOBODY_URL = "https://www.linkedin.com/in/no-such-person-000000"


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[ThehogClient]:
    with make_client(sandbox) as made:
        yield made


def make_client(sandbox: SandboxServer, **kw: Any) -> ThehogClient:
    return ThehogClient.create(
        TEST_CONFIG.thehog_access_key,
        TEST_CONFIG.thehog_secret_key,
        base_url=sandbox.base_url("thehog"),
        speed=0.01,
        **kw,
    )


# ---------------------------------------------------------------------------------- helpers


def knowledge(sandbox: SandboxServer, person: Person) -> Knowledge:
    return sandbox.state.world.knowledge("thehog", person)


def people(
    sandbox: SandboxServer, wanted: Callable[[Person, Knowledge], bool], n: int = 1
) -> list[Person]:
    world = sandbox.state.world
    found = [p for p in world.people if wanted(p, world.knowledge("thehog", p))][:n]
    assert len(found) == n
    return found


def by_linkedin(
    person: Person, *fields: WantedField, correlation: str | None = None
) -> EnrichmentRequest:
    return EnrichmentRequest(
        person_key=person_key(linkedin_url=person.linkedin_url) or "",
        correlation=correlation,
        linkedin_url=person.linkedin_url,
        email=person.work_email,
        fields=frozenset(fields or {EMAIL}),
    )


def by_email(person: Person, *fields: WantedField) -> EnrichmentRequest:
    return EnrichmentRequest(
        person_key=f"em:{person.work_email}",
        email=person.work_email.upper(),
        fields=frozenset(fields or {EMAIL}),
    )


def requests_total(sandbox: SandboxServer) -> int:
    return int(sandbox.counters()["requests_total"].get("thehog", 0))


def route_counts(sandbox: SandboxServer, route: str) -> dict[str, int]:
    return dict(sandbox.counters()["requests"].get("thehog", {}).get(route, {}))


def operations(sandbox: SandboxServer) -> int:
    return len(sandbox.state.store("thehog").operations)


def deductions(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return [t for t in sandbox.state.wallets["thehog"].transactions if t["type"] == "deduction"]


def fault(sandbox: SandboxServer, kind: str, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": "thehog", "kind": kind, **rule})


def assert_contact_truth(
    sandbox: SandboxServer, record: EnrichmentResult, person: Person, fields: set[WantedField]
) -> None:
    world = sandbox.state.world
    known = knowledge(sandbox, person)
    found = False
    if EMAIL in fields:
        if known.email is None:
            assert record.email is None
        else:
            found = True
            assert record.email == known.email.lower()
            verdict = known.email_status or world.email_verdict(known.email)
            assert record.email_status == EmailStatus(verdict)
    if PHONE in fields:
        assert [(p.number, p.type) for p in record.phones] == [
            (p.number, p.type) for p in known.phones
        ]
        found = found or bool(known.phones)
    if LINKEDIN in fields:
        assert (record.linkedin is not None) == known.profile
        if known.profile:
            found = True
            assert_profile(record, person)
    assert record.record_status is (RecordStatus.FOUND if found else RecordStatus.NOT_FOUND)


def assert_profile(record: EnrichmentResult, person: Person) -> None:
    profile = record.linkedin
    assert profile is not None
    assert profile.url == person.linkedin_url
    assert (profile.first_name, profile.last_name) == (person.first_name, person.last_name)
    assert profile.full_name == f"{person.first_name} {person.last_name}"
    assert (profile.headline, profile.title) == (person.headline, person.title)
    assert (profile.company_name, profile.company_domain) == (
        person.company.name,
        person.company.domain,
    )
    assert (profile.location, profile.summary) == (person.location, person.summary)
    assert profile.skills == person.skills
    assert profile.photo_url == person.photo_url
    assert [
        (p.title, p.company_name, p.company_domain, p.start_year, p.start_month, p.end_year)
        for p in profile.positions
    ] == [
        (p.title, p.company_name, p.company_domain, p.start_year, p.start_month, p.end_year)
        for p in person.positions
    ]
    assert [p.is_current for p in profile.positions] == [
        p.end_year is None for p in person.positions
    ]
    assert [
        (e.school_name, e.degree_name, e.start_year, e.end_year) for e in profile.education
    ] == [(e.school_name, e.degree_name, e.start_year, e.end_year) for e in person.education]


def fully_known(p: Person, k: Knowledge) -> bool:
    return k.email == p.work_email and k.email_status == "deliverable" and bool(k.phones)


# ------------------------------------------------------------------------------- basics


def test_module_constants() -> None:
    assert DEFAULT_BASE_URL == "https://developer.thehog.ai"
    assert BATCH_MAX == 100
    assert [(r.limit, r.window_s) for r in DEFAULT_RATE_LIMITS["global"]] == [(600, 60.0)]
    assert [(r.limit, r.window_s) for r in DEFAULT_RATE_LIMITS["polling"]] == [(300, 60.0)]


def test_create_needs_both_keys() -> None:
    with pytest.raises(AuthenticationError):
        ThehogClient.create("ak_only", "")
    made = ThehogClient.create("ak_secret_value", "sk_secret_value")
    assert "sk_secret_value" not in repr(made) and "ak_secret_value" not in repr(made)
    made.close()


def test_wrong_keys_are_refused(sandbox: SandboxServer) -> None:
    person = people(sandbox, fully_known)[0]
    with (
        ThehogClient.create(
            "ak_wrong", "sk_wrong", base_url=sandbox.base_url("thehog"), speed=0.01
        ) as wrong,
        pytest.raises(AuthenticationError, match="Authentication is required"),
    ):
        wrong.submit([by_linkedin(person)])
    assert route_counts(sandbox, SUBMIT) == {"401": 1}


def test_credits_remaining_is_not_documented(client: ThehogClient) -> None:
    assert client.credits_remaining() is None


def test_idempotency_key_is_derived_from_the_stable_body() -> None:
    body = {"identifier": {"email": "a@x.io"}, "fields": ["contact.email"]}
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert idempotency_key(body) == "ep_" + digest[:32]
    assert idempotency_key(dict(reversed(body.items()))) == idempotency_key(body)


# --------------------------------------------------------------------------- sync (200)


def test_single_linkedin_contact_lookup_answers_at_once(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_linkedin(person, EMAIL, PHONE, correlation="crm-7")])
    assert submission.error is None and submission.provider_ref is None
    assert submission.raw["http_status"] == 200
    assert submission.raw["response"]["data"]["contact"]["email"]
    sent = submission.raw["request"]
    assert sent == {
        "fields": ["contact.email", "contact.phone"],
        "identifier": {"linkedin_url": person.linkedin_url},
    }
    assert submission.raw["idempotency_key"] == idempotency_key(sent)

    [record] = client.poll(submission) or []
    assert route_counts(sandbox, POLL) == {}  # no poll was needed
    assert_contact_truth(sandbox, record, person, {EMAIL, PHONE})
    assert record.request_correlation == "crm-7"
    assert record.person_key == f"li:/in/{person.linkedin_slug}"
    assert (record.cost_credits, record.cost_basis) == (6, CostBasis.REPORTED)
    assert sandbox.counters()["credits_net"]["thehog"] == 6
    [collected] = client.collect([submission])
    assert (collected.email, collected.phones) == (record.email, record.phones)
    assert requests_total(sandbox) == 1  # the one submit: nothing was polled


def test_unresolved_single_linkedin_lookup_is_refused_item(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    request = EnrichmentRequest(person_key="li:/in/nobody", linkedin_url=NOBODY_URL)
    [submission] = client.submit([request])
    assert submission.error == "Could not resolve this identity"
    [record] = client.collect([submission])
    assert record.record_status is RecordStatus.FAILED
    assert record.reason == "Could not resolve this identity"
    assert sandbox.counters()["credits_net"].get("thehog", 0) == 0


# --------------------------------------------------------------------------- async (202)


def test_single_email_lookup_goes_async_and_is_polled(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person, EMAIL, PHONE)])
    assert submission.provider_ref is not None and submission.provider_ref.startswith("op_")
    assert submission.raw["request"]["identifier"] == {"email": person.work_email}
    [record] = client.collect([submission])
    assert_contact_truth(sandbox, record, person, {EMAIL, PHONE})
    assert record.provider_ref == submission.provider_ref
    # operations report no cost: priced from the table, which must agree with what was charged
    assert record.cost_basis is CostBasis.ESTIMATED  # our price table: The Hog publishes none
    assert record.cost_credits == sandbox.counters()["credits_net"]["thehog"]
    assert record.raw["submit"]["id"] == submission.provider_ref
    assert route_counts(sandbox, POLL).get("200", 0) >= 1


def test_poll_returns_none_while_running_then_the_record(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.1})  # queued 50 ms, processing 300 ms
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person)])
    assert client.poll(submission) is None
    deadline = time.monotonic() + 5
    while (records := client.poll(submission)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert_contact_truth(sandbox, records[0], person, {EMAIL})


def test_batches_at_the_maximum_and_matches_ground_truth(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    crowd = list(sandbox.state.world.people[:250])
    requests = [by_linkedin(p, EMAIL, PHONE) for p in crowd]
    submissions = client.submit(requests)
    assert route_counts(sandbox, SUBMIT) == {"202": 3}  # 100 + 100 + 50
    refs = [s.provider_ref for s in submissions]
    assert len(set(refs)) == 3 and [refs.count(r) for r in dict.fromkeys(refs)] == [100, 100, 50]
    submitted = sandbox.counters()["submissions"]["thehog"]
    assert all(submitted[p.person_id] == 1 for p in crowd)

    records = client.collect(submissions)
    assert [r.person_key for r in records] == [r.person_key for r in requests]
    for record, person in zip(records, crowd, strict=True):
        assert_contact_truth(sandbox, record, person, {EMAIL, PHONE})
    statuses = {r.record_status for r in records}
    assert statuses == {RecordStatus.FOUND, RecordStatus.NOT_FOUND}
    # Each operation is fetched once per round, not once per person.
    assert sum(route_counts(sandbox, POLL).values()) < 30


def test_per_item_errors_are_kept_item_by_item(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    known, other = people(sandbox, fully_known, 2)
    requests = [
        by_linkedin(known),
        EnrichmentRequest(person_key="li:/in/no-such", linkedin_url=NOBODY_URL, correlation="x1"),
        EnrichmentRequest(person_key="em:ghost@nowhere.example", email="ghost@nowhere.example"),
        by_email(other),
    ]
    records = client.enrich(requests)
    # an identity The Hog cannot resolve is a clear "not found" for that person, item by item
    assert [r.record_status for r in records] == [
        RecordStatus.FOUND,
        RecordStatus.NOT_FOUND,
        RecordStatus.NOT_FOUND,
        RecordStatus.FOUND,
    ]
    assert records[1].reason == "Could not resolve this identity (identity_not_resolved)"
    assert records[1].request_correlation == "x1"
    assert records[1].raw["item"]["identifier"] == {"linkedin_url": NOBODY_URL}
    assert records[2].person_key == "em:ghost@nowhere.example"
    assert_contact_truth(sandbox, records[0], known, {EMAIL})
    assert_contact_truth(sandbox, records[3], other, {EMAIL})


def test_linkedin_profiles_match_the_world(sandbox: SandboxServer, client: ThehogClient) -> None:
    with_profile = people(sandbox, lambda p, k: k.profile and len(p.positions) > 1, 3)
    without = people(sandbox, lambda p, k: not k.profile and k.knows_anything, 1)
    crowd = with_profile + without
    records = client.enrich([by_linkedin(p, LINKEDIN, EMAIL) for p in crowd])
    for record, person in zip(records, crowd, strict=True):
        assert_contact_truth(sandbox, record, person, {LINKEDIN, EMAIL})
    assert route_counts(sandbox, SUBMIT) == {"202": 1}


def test_requests_are_grouped_by_fields(sandbox: SandboxServer, client: ThehogClient) -> None:
    a, b, c, d = people(sandbox, fully_known, 4)
    requests = [
        by_linkedin(a, EMAIL),
        by_linkedin(b, PHONE),
        by_linkedin(c, EMAIL),
        by_linkedin(d, PHONE),
    ]
    submissions = client.submit(requests)
    assert route_counts(sandbox, SUBMIT) == {"202": 2}
    assert submissions[0].provider_ref == submissions[2].provider_ref
    assert submissions[1].provider_ref == submissions[3].provider_ref != submissions[0].provider_ref
    records = client.collect(submissions)
    assert [r.person_key for r in records] == [r.person_key for r in requests]
    for record, person, fields in zip(records, (a, b, c, d), ({EMAIL}, {PHONE}) * 2, strict=True):
        assert_contact_truth(sandbox, record, person, fields)


def test_what_the_hog_cannot_serve_is_refused_without_a_call(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    only_verification = by_linkedin(person, WantedField.EMAIL_VERIFICATION)
    anonymous = EnrichmentRequest(person_key="nd:x", first_name="Ana", last_name="Lopez")
    submissions = client.submit([only_verification, anonymous])
    assert requests_total(sandbox) == 0
    assert [s.error for s in submissions] == [
        "The Hog does not offer email_verification",
        "The Hog needs a LinkedIn URL or an email to identify the person",
    ]
    records = client.collect(submissions)
    assert [r.record_status for r in records] == [RecordStatus.FAILED] * 2
    assert [(r.cost_credits, r.reason) for r in records] == [(0, s.error) for s in submissions]
    assert requests_total(sandbox) == 0

    # Alongside an offered field, verification is dropped and said so.
    [mixed] = client.submit([by_linkedin(person, EMAIL, WantedField.EMAIL_VERIFICATION)])
    assert mixed.error is None
    assert mixed.raw["skipped"] == ["email_verification: not offered by The Hog"]
    assert mixed.raw["request"]["fields"] == ["contact.email"]


def test_on_submitted_reports_each_call(sandbox: SandboxServer, client: ThehogClient) -> None:
    crowd = list(sandbox.state.world.people[:150])
    calls: list[list[Submission]] = []
    client.submit([by_linkedin(p) for p in crowd], on_submitted=calls.append)
    assert [len(c) for c in calls] == [100, 50]


# ----------------------------------------------------------------------------- idempotency


def test_submitting_the_same_requests_again_replays_the_operation(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    crowd = people(sandbox, fully_known, 3)
    first = client.submit([by_linkedin(p) for p in crowd])
    again = client.submit([by_linkedin(p) for p in crowd])
    assert [s.provider_ref for s in again] == [s.provider_ref for s in first]
    assert operations(sandbox) == 1
    client.collect(again)
    assert len(deductions(sandbox)) == 1


def test_dropped_connection_after_an_async_submit_is_retried_and_charged_once(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    crowd = people(sandbox, fully_known, 3)
    fault(sandbox, "drop", route=SUBMIT, after=True, count=1)
    submissions = client.submit([by_linkedin(p, EMAIL, PHONE) for p in crowd])
    assert client.transport.stats["retries"] == 1
    assert operations(sandbox) == 1  # the retry got the operation the first request started
    assert len({s.provider_ref for s in submissions}) == 1
    submitted = sandbox.counters()["submissions"]["thehog"]
    assert [submitted[p.person_id] for p in crowd] == [1, 1, 1]
    records = client.collect(submissions)
    for record, person in zip(records, crowd, strict=True):
        assert_contact_truth(sandbox, record, person, {EMAIL, PHONE})
    [charge] = deductions(sandbox)
    assert charge["amount"] == -3 * (1 + 5)  # email 1 + phone 5 each, once


def test_dropped_connection_after_a_sync_submit_is_retried_and_charged_once(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    fault(sandbox, "drop", route=SUBMIT, after=True, count=1)
    [submission] = client.submit([by_linkedin(person, EMAIL, PHONE)])
    assert submission.raw["http_status"] == 200
    assert len(deductions(sandbox)) == 1
    assert sandbox.counters()["submissions"]["thehog"] == {person.person_id: 1}


@pytest.mark.parametrize(("kind", "extra"), [("error_503", {}), ("malformed", {})])
def test_5xx_and_unreadable_submit_answers_are_retried_safely(
    sandbox: SandboxServer, client: ThehogClient, kind: str, extra: dict[str, Any]
) -> None:
    crowd = people(sandbox, fully_known, 2)
    fault(sandbox, kind, route=SUBMIT, count=2, **extra)
    submissions = client.submit([by_email(p) for p in crowd])
    assert operations(sandbox) == 1
    assert all(s.provider_ref == submissions[0].provider_ref for s in submissions)
    records = client.collect(submissions)
    for record, person in zip(records, crowd, strict=True):
        assert_contact_truth(sandbox, record, person, {EMAIL})


# ------------------------------------------------------------------------- limits and faults


def test_429_storm_is_ridden_out_honouring_retry_after(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    fault(sandbox, "rate_limit", count=5, retry_after_s=4)  # Retry-After 0.040 at speed 0.01
    started = time.monotonic()
    [record] = client.enrich([by_email(person)])
    assert time.monotonic() - started >= 5 * 0.04
    assert client.transport.stats["rate_limited"] == 5
    assert route_counts(sandbox, SUBMIT).get("429") == 5
    assert_contact_truth(sandbox, record, person, {EMAIL})


def test_5xx_and_timeouts_on_polls_are_retried(sandbox: SandboxServer) -> None:
    person = people(sandbox, fully_known)[0]
    with make_client(sandbox, timeout_s=0.25) as client:
        [submission] = client.submit([by_email(person)])
        fault(sandbox, "error_502", route=POLL, count=2)
        fault(sandbox, "timeout", route=POLL, count=1, delay_s=0.6)
        [record] = client.collect([submission])
    assert_contact_truth(sandbox, record, person, {EMAIL})
    assert route_counts(sandbox, POLL).get("502") == 2
    assert client.transport.stats["retries"] >= 3


def test_a_poll_outage_leaves_records_pending_then_resumes(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person)])
    fault(sandbox, "error_503", route=POLL)
    [record] = client.collect([submission], timeout_s=0.2)
    assert record.record_status is RecordStatus.PENDING  # never not_found
    assert record.provider_ref == submission.provider_ref
    assert "last poll failed" in (record.reason or "")
    sandbox.admin("DELETE", "faults")
    [record] = client.collect([submission])
    assert_contact_truth(sandbox, record, person, {EMAIL})


def test_out_of_credits_raises_at_once(sandbox: SandboxServer, client: ThehogClient) -> None:
    person = people(sandbox, fully_known)[0]
    sandbox.admin("POST", "credits", json={"provider": "thehog", "balance": 0})
    with pytest.raises(CreditsExhaustedError, match="Insufficient credits"):
        client.submit([by_email(person)])
    assert route_counts(sandbox, SUBMIT) == {"402": 1}
    assert client.transport.stats["retries"] == 0


def test_malformed_poll_body_is_a_clear_error(sandbox: SandboxServer, client: ThehogClient) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person)])
    fault(sandbox, "malformed", route=POLL)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.poll(submission)


def test_stuck_job_with_a_short_timeout_stays_pending(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    fault(sandbox, "job_stuck", count=1)
    [record] = client.enrich([by_email(person)], timeout_s=0.15)
    assert record.record_status is RecordStatus.PENDING
    assert record.provider_ref and record.provider_ref.startswith("op_")
    assert record.reason == "operation still processing when we stopped waiting"
    assert record.person_key == f"em:{person.work_email}"


def test_failed_job_fails_every_person_with_its_message(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    crowd = people(sandbox, fully_known, 2)
    fault(sandbox, "job_fail", count=1)
    records = client.enrich([by_email(p) for p in crowd])
    assert [r.record_status for r in records] == [RecordStatus.FAILED] * 2
    assert {r.reason for r in records} == {
        "The enrichment job failed. Please retry. (enrichment_failed)"
    }
    assert deductions(sandbox) == []


def test_unknown_operation_is_failed(sandbox: SandboxServer, client: ThehogClient) -> None:
    ghost = Submission(
        person_key="em:a@x.io",
        provider="thehog",
        provider_ref="op_00000000000000000000000000",
        raw={
            "request": {"fields": ["contact.email"], "identifier": {"email": "a@x.io"}},
            "item_index": 0,
        },
    )
    [record] = client.collect([ghost])
    assert record.record_status is RecordStatus.FAILED
    assert "operation not found" in (record.reason or "")
    assert route_counts(sandbox, "GET /api/enrichments/{id}") == {"404": 1}


# ---------------------------------------------------------------------------------- pollUrl


def test_poll_target_resolves_every_documented_form() -> None:
    base = "https://developer.thehog.ai"
    assert poll_target(base, None, "op_1") == "/api/enrichments/op_1"
    assert poll_target(base, "/api/operations/op_1", "op_1") == "/api/operations/op_1"
    assert poll_target(base, "api/operations/op_1", "op_1") == "/api/operations/op_1"
    absolute = "https://developer.thehog.ai/api/operations/op_1"
    assert poll_target(base, absolute, "op_1") == "/api/operations/op_1"
    assert poll_target(base, "https://developer.thehog.ai:443/api/operations/op_1", "x") == (
        "/api/operations/op_1"
    )
    prefixed = "http://127.0.0.1:8000/thehog"
    assert poll_target(prefixed, "/api/operations/op_1", "op_1") == "/api/operations/op_1"
    assert poll_target(prefixed, prefixed + "/api/operations/op_1", "op_1") == (
        "/api/operations/op_1"
    )
    for elsewhere in (
        "https://evil.example/api/operations/op_1",
        "http://developer.thehog.ai/api/operations/op_1",  # keys never go out in clear text
        "https://developer.thehog.ai:8443/api/operations/op_1",
        "//evil.example/api/operations/op_1",
    ):
        with pytest.raises(UnsafePollUrlError, match="refusing to send the API keys"):
            poll_target(base, elsewhere, "op_1")


def _with_poll_url(submission: Submission, poll_url: str | None) -> Submission:
    response = dict(submission.raw["response"])
    if poll_url is None:
        response.pop("pollUrl")
    else:
        response["pollUrl"] = poll_url
    return submission.model_copy(update={"raw": {**submission.raw, "response": response}})


def test_relative_and_missing_poll_urls_over_http(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person)])
    assert submission.raw["response"]["pollUrl"].startswith(sandbox.base_url("thehog"))
    op_id = submission.provider_ref

    [relative] = client.collect([_with_poll_url(submission, f"/api/operations/{op_id}")])
    assert_contact_truth(sandbox, relative, person, {EMAIL})
    assert route_counts(sandbox, POLL).get("200", 0) >= 1

    [fallback] = client.collect([_with_poll_url(submission, None)])
    assert fallback.email == relative.email
    assert route_counts(sandbox, "GET /api/enrichments/{id}").get("200", 0) >= 1


def test_a_poll_url_on_another_host_is_refused(
    sandbox: SandboxServer, client: ThehogClient
) -> None:
    person = people(sandbox, fully_known)[0]
    [submission] = client.submit([by_email(person)])
    evil = _with_poll_url(submission, "https://evil.example/api/operations/x")
    before = requests_total(sandbox)
    with pytest.raises(UnsafePollUrlError):
        client.poll(evil)
    [record] = client.collect([evil])
    assert record.record_status is RecordStatus.FAILED
    assert "refusing to send the API keys" in (record.reason or "")
    assert requests_total(sandbox) == before


# --------------------------------------------------------------- undocumented status (mocked)


def test_undocumented_running_status_keeps_polling_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            body = {"id": "op_X", "operationId": "op_X", "status": "queued",
                    "pollUrl": "/api/operations/op_X", "meta": {"requestId": "r"}}  # fmt: skip
            return httpx.Response(202, json=body)
        return httpx.Response(200, json={"id": "op_X", "status": "running", "progress": 5,
                                         "result": None, "error": None})  # fmt: skip

    client = ThehogClient.create("ak_test", "sk_test", speed=0.01)
    client.transport.client = httpx.Client(
        base_url=DEFAULT_BASE_URL, auth=client.transport.auth, transport=httpx.MockTransport(answer)
    )
    thehog._reported_statuses.discard("running")
    request = EnrichmentRequest(person_key="em:a@x.io", email="a@x.io")
    with caplog.at_level(logging.WARNING, logger="enrich_pipeline.providers"):
        [submission] = client.submit([request])
        assert client.poll(submission) is None
        [record] = client.collect([submission], timeout_s=0.05)
    assert record.record_status is RecordStatus.PENDING
    assert "'running' is not a documented status" in (record.reason or "")
    assert len([r for r in caplog.records if "'running'" in r.getMessage()]) == 1
    post = seen[0]
    assert post.headers["X-Access-Key"] == "ak_test" and post.headers["X-Secret-Key"] == "sk_test"
    assert post.headers["Idempotency-Key"] == idempotency_key(json.loads(post.content))
    assert json.loads(post.content) == {
        "fields": ["contact.email"],
        "identifier": {"email": "a@x.io"},
    }
    assert all(r.url.path == "/api/operations/op_X" for r in seen[1:])
    client.close()
