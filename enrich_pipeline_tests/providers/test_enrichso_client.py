"""enrich.so client over real HTTP against the sandbox (providers.md section 2, 4.3-4.5).

Ground truth: what enrich.so answers comes from `world.knowledge("enrichso", person)` (finder,
reverse lookup, phones) and `world.email_verdict` (validation); the client's records must say the
same, with the credits the sandbox wallet and counters saw.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
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
    WantedField,
)
from enrich_pipeline.providers.enrichso import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    EnrichsoClient,
    parse_webhook,
    plan_rate_limits,
)
from enrich_pipeline.providers.errors import (
    CreditsExhaustedError,
    MalformedResponseError,
    ProviderUnavailableError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.transport import RetryPolicy, SecretAuth, Transport
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person, World
from enrich_pipeline_tests.conftest import TEST_CONFIG
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

P = "enrichso"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.005, max_delay_s=0.02, max_total_s=5.0)
VALIDATION_BATCH = "POST /email-validation/batch"
VALIDATION_STATUS = "GET /email-validation/batch/{batchId}"
VALIDATION_RESULTS = "GET /email-validation/batch/{batchId}/results"
ALL = frozenset(WantedField)


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterable[EnrichsoClient]:
    with make_client(sandbox) as made:
        yield made


def make_client(sandbox: SandboxServer, **kw: Any) -> EnrichsoClient:
    kw.setdefault("retry", FAST_RETRY)
    return EnrichsoClient.create(
        TEST_CONFIG.enrichso_api_key, base_url=sandbox.base_url(P), speed=0.01, **kw
    )


def knows(world: World, person: Person) -> Knowledge:
    return world.knowledge(P, person)


def people_where(world: World, test: Callable[[Person, Knowledge], bool], n: int) -> list[Person]:
    found = [p for p in world.people if test(p, knows(world, p))][:n]
    assert len(found) == n, "the test world has too few such people"
    return found


def request_for(
    person: Person,
    fields: Iterable[WantedField] = ALL,
    *,
    email: str | None = None,
    linkedin: bool = False,
    names: bool = True,
) -> EnrichmentRequest:
    address = email if email is not None else person.work_email
    url = person.linkedin_url if linkedin else None
    return EnrichmentRequest(
        person_key=person_key(linkedin_url=url, email=address) or person.person_id,
        correlation=person.person_id,
        first_name=person.first_name if names else None,
        last_name=person.last_name if names else None,
        email=address,
        company_name=person.company.name if names else None,
        company_domain=person.company.domain if names else None,
        linkedin_url=url,
        fields=frozenset(fields),
    )


def product(record: EnrichmentResult) -> str:
    return (record.provider_ref or ":").split(":", 1)[0]


def by_product(
    records: Iterable[EnrichmentResult],
) -> dict[tuple[str, str | None], EnrichmentResult]:
    out: dict[tuple[str, str | None], EnrichmentResult] = {}
    for record in records:
        key = (product(record), record.request_correlation)
        assert key not in out, f"two records for {key}"
        out[key] = record
    return out


def requests_on(sandbox: SandboxServer, route: str) -> dict[str, int]:
    return dict(sandbox.counters()["requests"].get(P, {}).get(route, {}))


def credits_net(sandbox: SandboxServer) -> int:
    return int(sandbox.counters()["credits_net"].get(P, 0))


def balance(sandbox: SandboxServer) -> int:
    return sandbox.state.wallets[P].balance


def fault(sandbox: SandboxServer, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": P, **rule})


VERDICT = {
    "deliverable": EmailStatus.DELIVERABLE,
    "undeliverable": EmailStatus.UNDELIVERABLE,
    "risky": EmailStatus.RISKY,  # catch-all or unconfirmable: `risky`
    "unknown": EmailStatus.RISKY,  # no verdict from the mail server: `risky`, confidence none
}


def finder_expectation(world: World, person: Person) -> tuple[str | None, EmailStatus | None]:
    """What the finder should say: the provider's email unless it knows it bounces; its status
    per 4.3 (high → deliverable, catch-all / medium / low → risky)."""
    k = knows(world, person)
    if k.email is None or k.email_status == "undeliverable":
        return None, None
    catch_all = world.company_by_domain(k.email.split("@")[1])
    if k.email_status == "deliverable" and not (catch_all and catch_all.catch_all):
        return k.email, EmailStatus.DELIVERABLE
    return k.email, EmailStatus.RISKY


# ------------------------------------------------------------------------------- construction


def test_defaults_follow_the_documentation() -> None:
    assert DEFAULT_BASE_URL == "https://dev.enrich.so/api/v3"
    assert BATCH_MAX == {
        "validation": 500_000,
        "finder": 500_000,
        "reverse": 100_000,
        "phones": 500_000,
    }
    assert plan_rate_limits("growth") == DEFAULT_RATE_LIMITS
    assert plan_rate_limits("growth") == {
        "global": [RateLimit(25, 1.0, "global"), RateLimit(300, 60.0, "global")],
        "enrichment": [RateLimit(100, 60.0, "enrichment")],
        "bulk": [RateLimit(3, 1.0, "bulk"), RateLimit(10, 60.0, "bulk")],
    }
    assert plan_rate_limits("enterprise", speed=0.5) == {
        "global": [RateLimit(200, 0.5, "global"), RateLimit(10_000, 30.0, "global")]
    }
    with pytest.raises(ValueError, match=r"unknown enrich\.so plan"):
        plan_rate_limits("platinum")


def test_requests_carry_the_api_key_and_never_show_it(sandbox: SandboxServer) -> None:
    with make_client(sandbox) as good:
        assert good.credits_remaining() == TEST_CONFIG.enrichso_credits
        assert TEST_CONFIG.enrichso_api_key not in repr(good.transport)
    with make_client(sandbox) as bad:
        wrong = SecretAuth(lambda r: r.headers.update({"x-api-key": "sk_no"}))
        bad.transport.client.auth = wrong  # type: ignore[union-attr]
        with pytest.raises(Exception, match="401"):
            bad.credits_remaining()


# ------------------------------------------------------------------------------------ submit


def test_submit_refuses_what_a_product_cannot_use_without_a_call(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    bare = EnrichmentRequest(person_key="nd:x", first_name="Ana", fields=ALL)
    bad_email = EnrichmentRequest(
        person_key="em:x", email="not-an-address", fields={WantedField.EMAIL_VERIFICATION}
    )
    submissions = client.submit([bare, bad_email])
    assert len(submissions) == 5 and all(s.error and s.provider_ref is None for s in submissions)
    reasons = " | ".join(sorted(s.error or "" for s in submissions))
    assert (
        "needs a valid email" in reasons
        and "needs first_name, last_name and company_domain" in reasons
    )
    assert "LinkedIn URL or a valid email" in reasons
    assert sandbox.counters()["requests_total"].get(P, 0) == 0
    records = client.collect(submissions)
    assert {r.record_status for r in records} == {RecordStatus.FAILED}
    assert all(r.cost_credits == 0 for r in records)


def test_enrich_every_product_matches_the_ground_truth(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    world = sandbox.state.world
    people = list(world.people[:60])
    submissions = client.submit([request_for(p) for p in people])
    refs = Counter(s.provider_ref.split(":")[0] for s in submissions if s.provider_ref)
    assert refs == {"validation": 60, "finder": 60, "reverse": 60, "phones": 60}
    assert requests_on(sandbox, VALIDATION_BATCH) == {"200": 1}
    records = by_product(client.collect(submissions))
    assert len(records) == 240
    for person in people:
        k = knows(world, person)
        check_validation(world, person, records["validation", person.person_id])
        check_finder(world, person, records["finder", person.person_id])
        check_reverse(person, k, records["reverse", person.person_id])
        check_phones(k, records["phones", person.person_id])
    # Costs are the settled receipts, spread over the charged rows: they add up to the wallet.
    assert sum(r.cost_credits or 0 for r in records.values()) == credits_net(sandbox)
    assert balance(sandbox) == TEST_CONFIG.enrichso_credits - credits_net(sandbox)
    assert {r.cost_basis for r in records.values()} == {CostBasis.REPORTED}


def check_validation(world: World, person: Person, record: EnrichmentResult) -> None:
    assert record.record_status is RecordStatus.FOUND
    assert record.email == person.work_email
    assert record.email_status is VERDICT[world.email_verdict(person.work_email)]
    assert record.person_key == person_key(email=person.work_email)
    assert record.cost_credits == (0 if record.email_status is EmailStatus.RISKY else 1)


def check_finder(world: World, person: Person, record: EnrichmentResult) -> None:
    email, status = finder_expectation(world, person)
    assert record.email == email and record.email_status is status
    expected = RecordStatus.FOUND if email else RecordStatus.NOT_FOUND
    assert record.record_status is expected
    assert record.cost_credits == (10 if email else 0)


def check_reverse(person: Person, k: Knowledge, record: EnrichmentResult) -> None:
    if not k.profile:
        assert record.record_status is RecordStatus.NOT_FOUND and record.linkedin is None
        assert record.cost_credits == 0
        return
    assert record.record_status is RecordStatus.FOUND and record.cost_credits == 10
    profile = record.linkedin
    assert profile is not None
    assert profile.url == person.linkedin_url and profile.provider_profile_id == person.profile_id
    assert (profile.first_name, profile.last_name) == (person.first_name, person.last_name)
    assert profile.full_name == f"{person.first_name} {person.last_name}"
    assert profile.headline == person.headline and profile.location == person.location
    assert profile.company_name == person.company.name and profile.skills == person.skills
    assert profile.title == person.positions[0].title  # the current role
    assert [p.title for p in profile.positions] == [p.title for p in person.positions]
    assert [p.is_current for p in profile.positions] == [
        p.end_year is None for p in person.positions
    ]
    assert [e.school_name for e in profile.education] == [e.school_name for e in person.education]


def check_phones(k: Knowledge, record: EnrichmentResult) -> None:
    if not k.phones:
        assert record.record_status is RecordStatus.NOT_FOUND and record.phones == ()
        assert record.cost_credits == 0
        return
    assert record.record_status is RecordStatus.FOUND and record.cost_credits == 500
    assert [p.number for p in record.phones] == [p.number for p in k.phones]
    assert [p.source_rank for p in record.phones] == list(range(len(k.phones)))


def test_reverse_lookup_rows_without_email_are_matched_on_the_profile(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    """Bulk reverse-lookup rows do not echo their email and misses are omitted: only addresses
    here, no names — matched by the address's local part and domain against the profile."""
    world = sandbox.state.world
    people = list(world.people[100:400])
    requests = [request_for(p, {WantedField.LINKEDIN}, names=False) for p in people]
    records = client.enrich(requests)
    mine = {r.request_correlation: r for r in records if r.request_correlation}
    assert len(mine) == len(people)
    unattributed = [r for r in records if r.request_correlation is None]
    statuses = Counter(r.record_status for r in mine.values())
    for person in people:
        record, k = mine[person.person_id], knows(world, person)
        if record.record_status is RecordStatus.FOUND:
            assert record.linkedin and record.linkedin.url == person.linkedin_url  # never wrong
        elif record.record_status is RecordStatus.NOT_FOUND:
            assert not k.profile  # NOT_FOUND only when there truly is nothing
    # The rows left over were paid for: returned under their own profile key, not dropped.
    found = sum(knows(world, p).profile for p in people)
    assert statuses[RecordStatus.FOUND] + len(unattributed) == found
    assert statuses[RecordStatus.FOUND] >= 0.9 * found
    assert all(r.person_key and r.person_key.startswith("li:") for r in unattributed)
    assert sum(r.cost_credits or 0 for r in records) == credits_net(sandbox) == 10 * found


def test_namesake_colleague_never_takes_an_answer(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    """`khalid@` has no profile at enrich.so; his colleague Khalid (`khalid2@`) has one. The row
    for the colleague must not be given to `khalid@`, whose status is then not NOT_FOUND either."""
    world = sandbox.state.world
    mates = [
        p for p in world.people if p.first_name == "Khalid" and "amberline-payments" in p.work_email
    ]
    assert {knows(world, p).profile for p in mates} == {True, False}
    records = client.enrich([request_for(p, {WantedField.LINKEDIN}, names=False) for p in mates])
    for record in records:
        if record.request_correlation is None:
            continue
        person = world.person(record.request_correlation)
        assert person is not None
        if record.record_status is RecordStatus.FOUND:
            assert record.linkedin and record.linkedin.url == person.linkedin_url
        else:
            assert (
                record.record_status is not RecordStatus.NOT_FOUND
                or not knows(world, person).profile
            )


def test_phones_by_linkedin_url_or_email(sandbox: SandboxServer, client: EnrichsoClient) -> None:
    world = sandbox.state.world
    people = people_where(world, lambda p, k: bool(k.phones), 6)
    requests = [
        request_for(p, {WantedField.PHONE}, linkedin=i % 2 == 0, names=False)
        for i, p in enumerate(people)
    ]
    submissions = client.submit(requests)
    inputs = [s.raw["input"] for s in submissions]
    assert [kind for kind, _ in inputs] == ["linkedin", "email"] * 3
    records = by_product(client.collect(submissions))
    for person in people:
        check_phones(knows(world, person), records["phones", person.person_id])


def test_duplicates_are_one_item_billed_once(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    world = sandbox.state.world
    a, b = people_where(world, lambda p, k: world.email_verdict(p.work_email) == "deliverable", 2)
    emails = [a.work_email, a.work_email.upper(), b.work_email]
    requests = [
        EnrichmentRequest(
            person_key=f"em:{e.lower()}",
            correlation=f"row-{i}",
            email=e,
            fields={WantedField.EMAIL_VERIFICATION},
        )
        for i, e in enumerate(emails)
    ]
    submissions = client.submit(requests)
    assert len({s.provider_ref for s in submissions}) == 1
    assert submissions[0].raw["submit"]["data"]["itemCount"] == 2
    records = client.collect(submissions)
    assert [r.request_correlation for r in records] == ["row-0", "row-1", "row-2"]
    assert all(r.email_status is EmailStatus.DELIVERABLE for r in records)
    assert [r.cost_credits for r in records] == [1, 0, 1]  # the duplicate rides along for free
    assert credits_net(sandbox) == 2 and balance(sandbox) == TEST_CONFIG.enrichso_credits - 2


def test_settlement_agrees_with_wallet_and_counters_and_is_never_repeated(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    world = sandbox.state.world
    valid = people_where(world, lambda p, k: world.email_verdict(p.work_email) == "deliverable", 1)
    risky = people_where(world, lambda p, k: p.company.catch_all, 1)
    stale = people_where(world, lambda p, k: bool(p.stale_emails), 1)
    emails = [valid[0].work_email, risky[0].work_email, stale[0].stale_emails[0]]
    requests = [
        EnrichmentRequest(
            person_key=f"em:{e}", correlation=e, email=e, fields={WantedField.EMAIL_VERIFICATION}
        )
        for e in emails
    ]
    submissions = client.submit(requests)
    assert balance(sandbox) == TEST_CONFIG.enrichso_credits - 3  # reserved at submit
    records = {r.request_correlation: r for r in client.collect(submissions)}
    statuses = [records[e].email_status for e in emails]
    assert statuses == [EmailStatus.DELIVERABLE, EmailStatus.RISKY, EmailStatus.UNDELIVERABLE]
    assert [records[e].cost_credits for e in emails] == [1, 0, 1]  # risky is refunded
    meta = records[emails[0]].raw["meta"]
    assert (meta["creditsUsed"], meta["creditsRefunded"]) == (2, 1)
    counters = sandbox.counters()
    assert sum(counters["credits_charged"][P].values()) == 3
    assert sum(counters["credits_refunded"][P].values()) == 1
    assert balance(sandbox) == TEST_CONFIG.enrichso_credits - 2
    # Another process polling the same submissions re-reads the cached settlement for free.
    with make_client(sandbox) as other:
        again = [r for s in submissions for r in other.poll(s) or []]
    assert [r.cost_credits for r in again] == [1, 0, 1]
    assert balance(sandbox) == TEST_CONFIG.enrichso_credits - 2 and credits_net(sandbox) == 2


def test_402_at_submit_raises_at_once_and_charges_nothing(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    world = sandbox.state.world
    people = list(world.people[:3])
    sandbox.admin("POST", "credits", json={"provider": P, "balance": 5})
    requests = [request_for(p, {WantedField.EMAIL_VERIFICATION, WantedField.EMAIL}) for p in people]
    with pytest.raises(CreditsExhaustedError, match="Not enough credits") as caught:
        client.submit(requests)
    # Validation (3 credits) went through first; the finder (30) was refused: nothing charged.
    accepted = caught.value.accepted_submissions  # type: ignore[attr-defined]
    assert [s.provider_ref.split(":")[0] for s in accepted] == ["validation"] * 3
    assert requests_on(sandbox, "POST /email-finder/batch") == {"402": 1}  # not retried
    assert balance(sandbox) == 2
    assert sum(r.cost_credits or 0 for r in client.collect(accepted)) == credits_net(sandbox)


def test_batch_over_several_results_pages(sandbox: SandboxServer, client: EnrichsoClient) -> None:
    world = sandbox.state.world
    emails = [p.work_email for p in world.people]
    emails += [e for p in world.people for e in p.stale_emails]
    emails += [f"someone{i}@nowhere-{i % 7}.example" for i in range(2500 - len(emails))]
    requests = [
        EnrichmentRequest(
            person_key=f"em:{e}", correlation=e, email=e, fields={WantedField.EMAIL_VERIFICATION}
        )
        for e in emails
    ]
    records = client.collect(client.submit(requests))
    assert requests_on(sandbox, VALIDATION_BATCH) == {"200": 1}
    assert requests_on(sandbox, VALIDATION_RESULTS) == {"200": 3}  # 1000 + 1000 + 500
    assert len(records) == 2500 and {r.record_status for r in records} == {RecordStatus.FOUND}
    assert {r.request_correlation for r in records} == set(emails)
    assert records[0].raw["meta"]["pages"] == 3
    wrong = [
        r for r in records if r.email_status is not VERDICT[world.email_verdict(r.email or "")]
    ]
    assert wrong == []
    assert sum(r.cost_credits or 0 for r in records) == credits_net(sandbox)


def test_chunks_at_the_batch_maximum(sandbox: SandboxServer) -> None:
    emails = [f"person{i}@nowhere.example" for i in range(2500)]
    requests = [
        EnrichmentRequest(person_key=f"em:{e}", email=e, fields={WantedField.EMAIL_VERIFICATION})
        for e in emails
    ]
    with make_client(sandbox, batch_max={"validation": 1000}) as chunked:
        submissions = chunked.submit(requests)
        refs = Counter(s.provider_ref for s in submissions)
        assert sorted(refs.values()) == [500, 1000, 1000]
        assert requests_on(sandbox, VALIDATION_BATCH) == {"200": 3}
        records = chunked.collect(submissions)
    assert len(records) == 2500 and {r.email for r in records} == set(emails)


def test_webhook_callbacks_flatten_to_the_polled_answers(
    sandbox: SandboxServer, client: EnrichsoClient, webhook_receiver: WebhookReceiver
) -> None:
    world = sandbox.state.world
    people = list(world.people[:5])
    fields = {WantedField.EMAIL_VERIFICATION, WantedField.PHONE}
    submissions = client.submit(
        [request_for(p, fields, linkedin=True) for p in people], webhook_url=webhook_receiver.url
    )
    polled = by_product(client.collect(submissions))
    deliveries = webhook_receiver.wait_for(5 + 1 + 5 + 1)
    hooked = [r for d in deliveries for r in parse_webhook(d["body"])]
    assert len(hooked) == 10  # completion events carry nobody
    for record in hooked:
        assert record.cost_basis is CostBasis.TABLE  # webhooks never settle
        if product(record) == "validation":
            owner = world.find_by_email(record.email or "")
            same = polled["validation", owner.person_id]  # type: ignore[union-attr]
            assert (record.email, record.email_status) == (same.email, same.email_status)
        else:
            owner = world.find_by_linkedin(record.request_correlation or "")
            same = polled["phones", owner.person_id]  # type: ignore[union-attr]
            assert record.phones == same.phones and record.record_status == same.record_status
            assert record.provider_ref == same.provider_ref


# ------------------------------------------------------------------------------------ polling


def test_poll_returns_none_until_the_batch_is_done(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.05})  # 50 ms queued, 250 ms processing
    person = sandbox.state.world.people[0]
    (submission,) = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
    assert client.poll(submission) is None
    deadline = time.monotonic() + 5
    while (records := client.poll(submission)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert [r.record_status for r in records] == [RecordStatus.FOUND]
    assert requests_on(sandbox, VALIDATION_STATUS)["200"] >= 2
    assert requests_on(sandbox, VALIDATION_RESULTS) == {"200": 1}
    assert client.poll(submission) == records  # settled batches are remembered, not re-read
    assert requests_on(sandbox, VALIDATION_RESULTS) == {"200": 1}


def test_stuck_job_with_a_short_timeout_stays_pending(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    fault(sandbox, kind="job_stuck", count=1)
    people = list(sandbox.state.world.people[:3])
    submissions = client.submit([request_for(p, {WantedField.LINKEDIN}) for p in people])
    records = client.collect(submissions, interval_s=0.01, timeout_s=0.2)
    assert {r.record_status for r in records} == {RecordStatus.PENDING}  # never NOT_FOUND
    assert [r.provider_ref for r in records] == [s.provider_ref for s in submissions]
    assert all("still running" in (r.reason or "") for r in records)
    assert requests_on(sandbox, "GET /reverse-lookup/bulk-lookup/{batchId}/results") == {}


def test_failed_job_is_failed_and_refunded(sandbox: SandboxServer, client: EnrichsoClient) -> None:
    fault(sandbox, kind="job_fail", count=1)
    people = list(sandbox.state.world.people[:3])
    records = client.enrich([request_for(p, {WantedField.EMAIL}) for p in people])
    assert {r.record_status for r in records} == {RecordStatus.FAILED}
    assert all("failed" in (r.reason or "") for r in records)
    assert [r.cost_credits for r in records] == [0, 0, 0]
    assert credits_net(sandbox) == 0  # the results fetch released the reservation


def test_unknown_batch_is_failed_not_waited_for(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    person = sandbox.state.world.people[0]
    (submission,) = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
    lost = submission.model_copy(update={"provider_ref": "validation:" + "0" * 24})
    (record,) = client.collect([lost], interval_s=0.01, timeout_s=1)
    assert record.record_status is RecordStatus.FAILED and "404" in (record.reason or "")


# ------------------------------------------------------------------------------------- faults


def test_429_storm_is_ridden_out_honouring_retry_after(sandbox: SandboxServer) -> None:
    fault(sandbox, kind="rate_limit", count=5, route=VALIDATION_BATCH, retry_after_s=2)
    person = sandbox.state.world.people[0]
    patient = RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02)
    with make_client(sandbox, retry=patient) as client:
        started = time.monotonic()
        (submission,) = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
        assert submission.provider_ref and submission.error is None
        assert time.monotonic() - started >= 5 * 2 * 0.01  # five Retry-After: 0.020 waits
        assert client.transport.stats["rate_limited"] == 5
    assert requests_on(sandbox, VALIDATION_BATCH) == {"429": 5, "200": 1}


def test_poll_5xx_and_timeouts_are_retried_within_bounds(sandbox: SandboxServer) -> None:
    person = sandbox.state.world.people[0]
    with make_client(sandbox, timeout_s=0.2) as client:
        submissions = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
        fault(sandbox, kind="error_503", count=2, route=VALIDATION_STATUS)
        fault(sandbox, kind="timeout", count=1, route=VALIDATION_RESULTS, delay_s=0.5)
        records = client.collect(submissions, interval_s=0.01, timeout_s=5)
        assert [r.record_status for r in records] == [RecordStatus.FOUND]
        assert requests_on(sandbox, VALIDATION_STATUS)["503"] == 2
        # Without end: the retry budget (4 attempts) gives up with a typed error.
        fault(sandbox, kind="error_502", route=VALIDATION_STATUS)
        fresh = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
        with pytest.raises(ProviderUnavailableError):
            client.poll(fresh[0])
        assert requests_on(sandbox, VALIDATION_STATUS)["502"] == FAST_RETRY.max_attempts
        # collect() keeps the batch PENDING through an outage, with the error as the reason.
        (pending,) = client.collect(fresh, interval_s=0.01, timeout_s=0.05)
        assert pending.record_status is RecordStatus.PENDING and "502" in (pending.reason or "")


@pytest.mark.parametrize(
    ("rule", "what"),
    [
        ({"kind": "drop", "after": True}, "RemoteProtocolError|ReadError"),
        ({"kind": "error_500"}, "may have been accepted"),
        ({"kind": "malformed"}, "not JSON"),
    ],
)
def test_a_submit_that_may_have_landed_is_never_retried(
    sandbox: SandboxServer, client: EnrichsoClient, rule: dict[str, Any], what: str
) -> None:
    fault(sandbox, count=1, route=VALIDATION_BATCH, **rule)
    person = sandbox.state.world.people[0]
    with pytest.raises(SubmitOutcomeUnknownError, match=what):
        client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
    assert sum(requests_on(sandbox, VALIDATION_BATCH).values()) == 1  # exactly one submit


def test_a_single_lookup_that_may_have_landed_is_never_retried(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    fault(sandbox, kind="drop", after=True, count=1, route="POST /email-finder")
    person = sandbox.state.world.people[0]
    with pytest.raises(SubmitOutcomeUnknownError):
        client.find_email(person.first_name, person.last_name, person.company.domain)
    assert sum(requests_on(sandbox, "POST /email-finder").values()) == 1


def test_malformed_poll_is_a_clear_error(sandbox: SandboxServer, client: EnrichsoClient) -> None:
    person = sandbox.state.world.people[0]
    (submission,) = client.submit([request_for(person, {WantedField.EMAIL_VERIFICATION})])
    fault(sandbox, kind="malformed", route=VALIDATION_STATUS)  # until cleared
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.poll(submission)
    assert requests_on(sandbox, VALIDATION_STATUS) == {"200": FAST_RETRY.max_attempts}


def test_identical_batch_while_the_first_runs_is_linked_to_it(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    sandbox.admin("POST", "config", json={"speed": 1})  # keep the first batch running
    people = list(sandbox.state.world.people[:2])
    requests = [request_for(p, {WantedField.EMAIL_VERIFICATION}) for p in people]
    first = client.submit(requests)
    second = client.submit(requests)  # 409: linked to the batch it names, never refused
    assert all(s.error is None for s in first + second)
    assert {s.provider_ref for s in second} == {s.provider_ref for s in first}
    assert balance(sandbox) == TEST_CONFIG.enrichso_credits - 2  # one reservation only


def test_each_call_goes_to_its_rate_limit_bucket(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    """Submits pace in "bulk", single lookups in "enrichment", polls and reads in "global" only;
    paid calls are non-idempotent, reads idempotent."""
    seen: list[tuple[str, str, str, bool]] = []
    send = client.transport.request

    def spy(method: str, path: str, **kw: Any) -> httpx.Response:
        seen.append((method, path.split("/")[1], kw.get("bucket", "global"), kw["idempotent"]))
        return send(method, path, **kw)

    client.transport.request = spy  # type: ignore[method-assign]
    person = sandbox.state.world.people[0]
    client.collect(client.submit([request_for(person, {WantedField.LINKEDIN})]))
    client.enrich([request_for(person, {WantedField.EMAIL_VERIFICATION, WantedField.PHONE})])
    client.credits_remaining()
    calls = set(seen)
    assert ("POST", "reverse-lookup", "bulk", False) in calls  # the submit
    assert ("GET", "reverse-lookup", "global", True) in calls  # status and results pages
    assert ("POST", "email-validation", "enrichment", False) in calls
    assert ("GET", "reverse-lookup", "enrichment", False) in calls  # the paid phone lookup
    assert ("GET", "wallets", "global", True) in calls
    assert len(calls) == 5


def test_a_free_plan_is_paced_not_rate_limited(sandbox: SandboxServer) -> None:
    sandbox.admin("POST", "config", json={"enrichso_plan": "free"})
    emails = [f"p{i}@nowhere.example" for i in range(3)]
    requests = [
        EnrichmentRequest(person_key=f"em:{e}", email=e, fields={WantedField.EMAIL_VERIFICATION})
        for e in emails
    ]
    # Windows 20 % wider than the sandbox's: it runs in this process, so a request may reach it
    # some milliseconds late — more than the pacer's own margin is worth at speed 0.01.
    with EnrichsoClient.create(
        TEST_CONFIG.enrichso_api_key,
        base_url=sandbox.base_url(P),
        plan="free",
        speed=0.012,
        batch_max={"validation": 1},
        retry=FAST_RETRY,
    ) as slow:
        for person in sandbox.state.world.people[:11]:  # free: 10 single lookups a minute
            slow.validate_email(person.work_email)
        slow.submit(requests)  # free: 2 batch submits a minute
        # Both minutes were waited out by the client itself (a stray 429 from scheduling jitter,
        # or from the transport's pacer stamps after a long wait, is tolerated once).
        assert slow.transport.stats["paced_s"] >= 2 * 0.9 * 60 * 0.01
        assert slow.transport.stats["rate_limited"] <= 1
    counters = sandbox.counters()["requests"][P]
    assert counters[VALIDATION_BATCH]["200"] == 3
    assert counters["POST /email-validation"]["200"] == 11


# ------------------------------------------------------------------------------ single lookups


def test_single_lookups_match_the_ground_truth_and_their_receipts(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    world = sandbox.state.world
    person = people_where(world, lambda p, k: k.profile and bool(k.phones), 1)[0]
    spent = 0
    valid = client.validate_email(person.work_email)
    assert valid.email_status is VERDICT[world.email_verdict(person.work_email)]
    assert valid.person_key == f"em:{person.work_email}"
    found = client.find_email(person.first_name, person.last_name, person.company.domain)
    assert (found.email, found.email_status) == finder_expectation(world, person)
    profile = client.reverse_lookup(person.work_email)
    check_reverse(person, knows(world, person), profile)
    assert profile.person_key == f"li:/in/{person.linkedin_slug}"
    phones = client.find_phones(linkedin=person.linkedin_url)
    check_phones(knows(world, person), phones)
    by_email = client.find_phones(email=person.work_email)
    assert by_email.phones == phones.phones
    for record in (valid, found, profile, phones, by_email):
        assert record.cost_basis is CostBasis.REPORTED
        assert record.cost_credits == record.raw["meta"]["creditsUsed"]
        spent += record.cost_credits or 0
    assert spent == credits_net(sandbox)
    with pytest.raises(ValueError, match="email or a LinkedIn URL"):
        client.find_phones()


def test_single_lookups_read_the_quick_reference_shapes(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    sandbox.admin("POST", "config", json={"enrichso_shape": "legacy"})
    world = sandbox.state.world
    person = people_where(world, lambda p, k: bool(k.phones), 1)[0]
    record = client.validate_email(person.work_email)
    assert "status" in record.raw["data"] and "result" not in record.raw["data"]
    verdict = world.email_verdict(person.work_email)
    expected = {"deliverable": EmailStatus.DELIVERABLE, "risky": EmailStatus.RISKY}[verdict]
    assert record.email_status is expected
    phones = client.find_phones(linkedin=person.linkedin_url)
    assert [(p.number, p.type) for p in phones.phones] == [
        (p.number, p.type) for p in knows(world, person).phones
    ]


def test_enrich_of_one_person_uses_the_single_lookups(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    person = sandbox.state.world.people[0]
    records = client.enrich([request_for(person)])
    assert [product(r) for r in records] == ["validation", "finder", "reverse", "phones"]
    assert {r.person_key for r in records} == {person_key(email=person.work_email)}
    assert {r.request_correlation for r in records} == {person.person_id}
    routes = sandbox.counters()["requests"][P]
    assert set(routes) == {
        "POST /email-validation",
        "POST /email-finder",
        "POST /reverse-lookup/lookup",
        "GET /reverse-lookup/phones",
    }
    assert sum(r.cost_credits or 0 for r in records) == credits_net(sandbox)


def test_credits_remaining_is_the_wallet(sandbox: SandboxServer, client: EnrichsoClient) -> None:
    sandbox.admin("POST", "credits", json={"provider": P, "balance": 1234})
    assert client.credits_remaining() == 1234


# ----------------------------------------------------------------------- errors without sandbox


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> EnrichsoClient:
    base = "https://dev.enrich.so/api/v3"
    transport = Transport(
        provider=P,
        base_url=base,
        auth=SecretAuth(lambda r: None),
        credential_id="sk_test_mock",
        retry=FAST_RETRY,
        client=httpx.Client(transport=httpx.MockTransport(handler), base_url=base),
    )
    from enrich_pipeline.providers.enrichso.api import parse_enrichso_error

    transport.error_parser = parse_enrichso_error
    return EnrichsoClient(transport)


@pytest.mark.parametrize(
    "body",
    [
        {
            "type": "https://dev.enrich.so/errors/insufficient-credits",
            "title": "Insufficient Credits",
            "status": 402,
            "detail": "Not enough credits. Required: 10, available: 3",
        },
        {"error": "Payment Required", "message": "Not enough credits", "statusCode": 402},
        {
            "error": "Payment Required",
            "message": "Insufficient credits for batch operation",
            "detail": {"required": 50000, "itemCount": 500, "creditCostPerItem": 100},
        },
    ],
)
def test_both_402_body_shapes_raise_credits_exhausted(body: dict[str, Any]) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(402, json=body)

    client = mock_client(handler)
    request = EnrichmentRequest(
        person_key="em:a@b.io", email="a@b.io", fields={WantedField.EMAIL_VERIFICATION}
    )
    with pytest.raises(CreditsExhaustedError) as caught:
        client.submit([request])
    assert len(calls) == 1
    assert "credits" in str(caught.value).lower()
    if isinstance(body.get("detail"), dict):
        assert "required 50000" in str(caught.value)


def test_a_400_naming_one_item_resubmits_the_rest() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            problem = {"type": "x/validation-error", "title": "Validation Error", "status": 400,
                       "detail": "body/emails/1 Invalid email"}  # fmt: skip
            return httpx.Response(400, json=problem)
        data = {"batchId": "a" * 24, "status": "queued", "itemCount": 2}
        return httpx.Response(200, json={"success": True, "data": data, "meta": {}})

    emails = ["a@b.io", "odd@b.io", "c@b.io"]
    requests = [
        EnrichmentRequest(person_key=f"em:{e}", email=e, fields={WantedField.EMAIL_VERIFICATION})
        for e in emails
    ]
    submissions = mock_client(handler).submit(requests)
    assert bodies[1]["emails"] == ["a@b.io", "c@b.io"]
    refused = [s for s in submissions if s.error]
    assert [s.person_key for s in refused] == ["em:odd@b.io"]
    assert "Invalid email" in (refused[0].error or "")
    assert {s.provider_ref for s in submissions if not s.error} == {"validation:" + "a" * 24}


def test_a_200_submit_without_batch_id_is_an_unknown_outcome() -> None:
    client = mock_client(lambda r: httpx.Response(200, json={"success": True, "data": {}}))
    request = EnrichmentRequest(
        person_key="em:a@b.io", email="a@b.io", fields={WantedField.EMAIL_VERIFICATION}
    )
    with pytest.raises(SubmitOutcomeUnknownError, match="without a batchId"):
        client.submit([request])
