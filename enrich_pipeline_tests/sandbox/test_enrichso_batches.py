"""enrich.so sandbox batches: lifecycle, dedupe, reservation, settlement, paging, webhooks, job faults
(providers.md 2.3-2.11)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person
from enrich_pipeline_tests.conftest import TEST_CONFIG
from enrich_pipeline_tests.sandbox.enrichso_helpers import (
    HEX24,
    PROVIDER,
    assert_problem,
    balance,
    catch_all_person,
    credits_net,
    person_where,
    poll_until,
    reachable,
    submissions,
    wait_terminal,
    without_profile,
)
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

START = TEST_CONFIG.enrichso_credits
BASES = {
    "validation": "/email-validation/batch",
    "finder": "/email-finder/batch",
    "reverse": "/reverse-lookup/bulk-lookup",
    "phones": "/reverse-lookup/phones/bulk",
}


def three_verdicts(sandbox: SandboxServer) -> tuple[Person, Person, Person, list[str]]:
    """A valid, a risky (catch-all) and an invalid (stale) address, in that order."""
    world = sandbox.state.world
    lina, ops = reachable(world), catch_all_person(world)
    stale = person_where(world, lambda p, k: bool(p.stale_emails))
    return lina, ops, stale, [lina.work_email, ops.work_email, stale.stale_emails[0]]


def submit(client: httpx.Client, product: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(BASES[product], json=body)
    assert response.status_code == 200, response.text  # batch submits answer 200, not 202 (DOC)
    return response.json()  # type: ignore[no-any-return]


def finish(client: httpx.Client, product: str, batch_id: str) -> dict[str, Any]:
    wait_terminal(client, f"{BASES[product]}/{batch_id}")
    return client.get(f"{BASES[product]}/{batch_id}/results").json()  # type: ignore[no-any-return]


def lead(person: Person, **overrides: str) -> dict[str, str]:
    return {
        "firstName": person.first_name,
        "lastName": person.last_name,
        "domain": person.company.domain,
        **overrides,
    }


# ---------------------------------------------------------------------------- lifecycle (2.3)


def test_lifecycle_queued_processing_completed(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.1})  # 100 ms queued, 500 ms processing
    _, _, _, emails = three_verdicts(sandbox)
    sub = submit(enrichso_http, "validation", {"emails": emails})
    batch_id = sub["data"]["batchId"]
    assert HEX24.match(batch_id) and sub["data"]["status"] == "queued"
    path = f"{BASES['validation']}/{batch_id}"
    body, seen = poll_until(enrichso_http, path, lambda b: b["data"]["status"] == "processing")
    early = enrichso_http.get(f"{path}/results").json()
    # Before a terminal status: current status, partial results, no settlement (ASSUMPTION 2.3).
    assert early["data"]["status"] in ("processing", "completed")
    if early["data"]["status"] == "processing":
        assert "creditsUsed" not in early["meta"] and "creditsRefunded" not in early["meta"]
        assert len(early["data"]["results"]) == early["data"]["processedCount"] <= 3
    body, more = poll_until(enrichso_http, path, lambda b: b["data"]["status"] == "completed")
    seen += more
    assert seen[0] == "queued" and "processing" in seen and seen[-1] == "completed"
    assert seen.index("processing") < seen.index("completed")
    assert body["data"]["progress"] == 100 and body["data"]["processedItems"] == 3
    assert balance(sandbox) == START - 3  # still only the reservation until results are fetched


def test_progress_is_monotonic_and_consistent(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.05})
    emails = [p.work_email for p in sandbox.state.world.people[:30]]
    batch_id = submit(enrichso_http, "validation", {"emails": emails})["data"]["batchId"]
    path = f"{BASES['validation']}/{batch_id}"
    last = -1.0
    while True:
        data = enrichso_http.get(path).json()["data"]
        assert last <= data["progress"] <= 100 and 0 <= data["processedItems"] <= 30
        assert data["processedItems"] == int(30 * data["progress"] / 100)
        last = data["progress"]
        if data["status"] == "completed":
            break
        time.sleep(0.005)


# ------------------------------------------------------------------------ settlement (2.3, 2.11)


def test_validation_settlement_happens_once(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    lina, ops, stale, emails = three_verdicts(sandbox)
    sub = submit(enrichso_http, "validation", {"emails": emails})
    assert sub["meta"]["creditsReserved"] == 3 and balance(sandbox) == START - 3
    first = finish(enrichso_http, "validation", sub["data"]["batchId"])
    assert [r["result"] for r in first["data"]["results"]] == ["valid", "risky", "invalid"]
    meta = first["meta"]
    assert (meta["creditsUsed"], meta["creditsRefunded"]) == (2, 1)  # the risky row is refunded
    assert meta["creditsRemaining"] == balance(sandbox) == START - 2
    again = enrichso_http.get(f"{BASES['validation']}/{sub['data']['batchId']}/results").json()
    assert (again["meta"]["creditsUsed"], again["meta"]["creditsRefunded"]) == (2, 1)
    assert balance(sandbox) == START - 2  # re-fetching never re-charges
    listing = enrichso_http.get("/wallets/transactions").json()["data"]["transactions"]
    assert [(t["type"], t["amount"]) for t in listing] == [("refund", 1), ("deduction", -3)]
    assert credits_net(sandbox) == START - balance(sandbox) == 2
    assert submissions(sandbox) == {lina.person_id: 1, ops.person_id: 1, stale.person_id: 1}


def test_finder_batch_dedupes_leads_by_name_and_domain(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    lina, nobody = reachable(world), without_profile(world)
    leads = [
        lead(lina),
        lead(lina, firstName=lina.first_name.upper(), domain=lina.company.domain.upper()),
        lead(nobody),
    ]
    sub = submit(enrichso_http, "finder", {"leads": leads})
    assert (sub["data"]["itemCount"], sub["data"]["originalCount"]) == (2, 3)
    assert sub["data"]["duplicatesRemoved"] == 1
    assert (sub["meta"]["creditsPerItem"], sub["meta"]["creditsReserved"]) == (10, 20)
    assert sub["meta"]["estimatedCredits"] == 20
    results = finish(enrichso_http, "finder", sub["data"]["batchId"])
    assert [r["found"] for r in results["data"]["results"]] == [True, False]
    assert results["data"]["results"][0]["firstName"] == lina.first_name  # first spelling kept
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (10, 10)
    assert credits_net(sandbox) == START - balance(sandbox) == 10
    assert submissions(sandbox) == {lina.person_id: 1, nobody.person_id: 1}


def test_reverse_bulk_results_omit_misses(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    lina, nobody = reachable(world), without_profile(world)
    emails = [lina.work_email, nobody.work_email, lina.work_email.upper()]
    sub = submit(enrichso_http, "reverse", {"emails": emails})
    assert sub["data"]["message"] == "bulk lookup job created"
    assert (sub["data"]["itemCount"], sub["data"]["duplicatesRemoved"]) == (2, 1)
    results = finish(enrichso_http, "reverse", sub["data"]["batchId"])
    data = results["data"]
    assert [r["id"] for r in data["results"]] == [lina.profile_id]  # no row for the miss
    assert (data["processedItems"], data["successful"], data["failed"]) == (2, 1, 1)
    assert (data["page"], data["limit"]) == (1, 100)
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (10, 10)


def test_phone_bulk_dedupes_emails_but_not_urls(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    lina, nobody = reachable(world), without_profile(world)
    body = {
        "emails": [lina.work_email, lina.work_email.upper()],
        "linkedins": [nobody.linkedin_url, nobody.linkedin_url, nobody.linkedin_url + "/"],
    }
    sub = submit(enrichso_http, "phones", body)
    assert sub["data"]["message"] == "bulk phone lookup job created"
    # Emails case-insensitively (2 -> 1), profile URLs as-is (3 -> 2: the trailing slash differs).
    assert (sub["data"]["itemCount"], sub["data"]["originalCount"]) == (3, 5)
    assert sub["meta"]["creditsReserved"] == 1500 and sub["meta"]["creditsPerItem"] == 500
    results = finish(enrichso_http, "phones", sub["data"]["batchId"])
    rows = results["data"]["results"]
    assert [sorted(r) for r in rows] == [["email", "phones"]] + [
        ["error", "linkedin", "phones"]
    ] * 2
    assert (results["data"]["successful"], results["data"]["failed"]) == (1, 2)
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (500, 1000)
    assert submissions(sandbox) == {lina.person_id: 1, nobody.person_id: 2}


def test_batch_402_at_submit_charges_nothing(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    sandbox.admin("POST", "credits", json={"provider": PROVIDER, "balance": 15})
    world = sandbox.state.world
    leads = [lead(reachable(world)), lead(without_profile(world))]
    response = enrichso_http.post(BASES["finder"], json={"leads": leads})
    body = assert_problem(response, 402, "insufficient-credits")
    assert body["detail"] == "Not enough credits. Required: 20, available: 15"
    assert balance(sandbox) == 15 and submissions(sandbox) == {} and credits_net(sandbox) == 0
    # The reservation is what failed: a single lookup still fits the same wallet.
    assert enrichso_http.post("/email-finder", json=leads[0]).status_code == 200


# ------------------------------------------------------------------------------ paging and 404


def test_results_paging(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    emails = [p.work_email for p in sandbox.state.world.people[:5]]
    batch_id = submit(enrichso_http, "validation", {"emails": emails})["data"]["batchId"]
    finish(enrichso_http, "validation", batch_id)
    path = f"{BASES['validation']}/{batch_id}/results"
    pages = [
        enrichso_http.get(path, params={"page": page, "limit": 2}).json()["data"]["results"]
        for page in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [r["email"] for p in pages for r in p] == emails
    for params in ({"page": 0}, {"limit": 0}, {"limit": 1001}, {"page": "x"}):
        detail = assert_problem(enrichso_http.get(path, params=params), 400, "validation-error")
        assert detail["detail"].startswith("querystring/")


@pytest.mark.parametrize("product", list(BASES))
def test_unknown_batch_is_404(
    sandbox: SandboxServer, enrichso_http: httpx.Client, product: str
) -> None:
    for suffix in ("", "/results"):
        response = enrichso_http.get(f"{BASES[product]}/6f1c2a9e4b7d3c0012ab34cd{suffix}")
        assert assert_problem(response, 404, "not-found")["detail"] == "No batch found with that ID"


def test_batch_ids_are_per_product_and_phone_ids_validated(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    emails = [reachable(sandbox.state.world).work_email]
    batch_id = submit(enrichso_http, "validation", {"emails": emails})["data"]["batchId"]
    assert_problem(enrichso_http.get(f"{BASES['finder']}/{batch_id}"), 404, "not-found")
    assert_problem(enrichso_http.get(f"{BASES['validation']}/batch_abc123"), 404, "not-found")
    for suffix in ("", "/results"):
        response = enrichso_http.get(f"{BASES['phones']}/batch_abc123{suffix}")
        detail = assert_problem(response, 400, "validation-error")["detail"]
        assert detail == 'params/jobId must match pattern "^[a-f0-9]{24}$"'


@pytest.mark.parametrize(
    ("product", "body", "detail"),
    [
        ("validation", {}, "body must have required property 'emails'"),
        ("validation", {"emails": []}, "body/emails must NOT have fewer than 1 items"),
        ("validation", {"emails": ["a@b.io", "nope"]}, "body/emails/1 Invalid email"),
        ("validation", {"emails": "a@b.io"}, "body/emails must be array"),
        (
            "validation",
            {"emails": ["a@b.io"], "webhookUrl": "not a url"},
            'body/webhookUrl must match format "uri"',
        ),
        (
            "finder",
            {"leads": [{"firstName": "A", "lastName": "B"}]},
            "body/leads/0 must have required property 'domain'",
        ),
        ("finder", {"leads": ["x"]}, "body/leads/0 must be object"),
        ("reverse", {"emails": [1]}, "body/emails/0 must be string"),
        ("phones", {}, "body must have at least one item in 'emails' or 'linkedins'"),
        ("phones", {"linkedins": ["x"]}, "body/linkedins/0 Invalid LinkedIn profile URL"),
    ],
)
def test_batch_submit_validation(
    sandbox: SandboxServer,
    enrichso_http: httpx.Client,
    product: str,
    body: dict[str, Any],
    detail: str,
) -> None:
    response = enrichso_http.post(BASES[product], json=body)
    assert assert_problem(response, 400, "validation-error")["detail"] == detail
    assert balance(sandbox) == START


# --------------------------------------------------------------------------- conflicts and faults


def test_identical_batch_while_running_is_409(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "job_stuck", "count": 1})
    _, _, _, emails = three_verdicts(sandbox)
    first = submit(enrichso_http, "validation", {"emails": emails})
    again = enrichso_http.post(BASES["validation"], json={"emails": [e.upper() for e in emails]})
    # ASSUMPTION (providers.md 2.1): documented for another batch product only.
    assert assert_problem(again, 409, "conflict")["detail"] == "Duplicate batch submission detected"
    assert balance(sandbox) == START - 3  # only the first reservation
    other = submit(enrichso_http, "validation", {"emails": emails[:2]})
    assert other["data"]["batchId"] != first["data"]["batchId"]
    finish(enrichso_http, "validation", other["data"]["batchId"])
    # A finished batch no longer blocks: the same list may be bought again.
    assert enrichso_http.post(BASES["validation"], json={"emails": emails[:2]}).status_code == 200


def test_stuck_job_never_settles(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "job_stuck", "count": 1})
    _, _, _, emails = three_verdicts(sandbox)
    body = {"emails": emails, "webhookUrl": webhook_receiver.url}
    batch_id = submit(enrichso_http, "validation", body)["data"]["batchId"]
    path = f"{BASES['validation']}/{batch_id}"
    deadline = time.monotonic() + 0.3  # five times the 60 ms the job should take
    while time.monotonic() < deadline:
        data = enrichso_http.get(path).json()["data"]
        assert data["status"] in ("queued", "processing") and data["progress"] <= 95
        time.sleep(0.01)
    results = enrichso_http.get(f"{path}/results").json()
    assert results["data"]["status"] == "processing" and "creditsUsed" not in results["meta"]
    assert balance(sandbox) == START - 3 and webhook_receiver.deliveries == []


def test_failed_job_is_refunded_in_full(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "job_fail", "count": 1})
    _, _, _, emails = three_verdicts(sandbox)
    body = {"emails": emails, "webhookUrl": webhook_receiver.url}
    batch_id = submit(enrichso_http, "validation", body)["data"]["batchId"]
    status = wait_terminal(enrichso_http, f"{BASES['validation']}/{batch_id}")
    assert status["data"]["status"] == "failed"
    results = enrichso_http.get(f"{BASES['validation']}/{batch_id}/results").json()
    assert results["data"]["status"] == "failed" and results["data"]["results"] == []
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (0, 3)
    assert balance(sandbox) == START and credits_net(sandbox) == 0
    # ASSUMPTION (2.9): a failed batch sends its completion callback with status "failed" only.
    completion = webhook_receiver.wait_for(1)[0]["body"]
    assert completion["event"] == "validation.completed"
    assert completion["data"]["status"] == "failed" and completion["data"]["successful"] == 0
    sandbox.settle_webhooks()
    assert len(webhook_receiver.deliveries) == 1


# ------------------------------------------------------------------------------- webhooks (2.9)


def _events(receiver: WebhookReceiver, count: int) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for delivery in receiver.wait_for(count):
        grouped.setdefault(delivery["body"]["event"], []).append(delivery["body"])
    return grouped


def test_validation_webhooks_do_not_settle(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    lina, ops, _, emails = three_verdicts(sandbox)
    body = {"emails": emails, "webhookUrl": webhook_receiver.url}
    batch_id = submit(enrichso_http, "validation", body)["data"]["batchId"]
    events = _events(webhook_receiver, 4)
    items = {e["data"]["result_id"]: e["data"] for e in events["webhook:email_lookup.completed"]}
    assert set(items) == set(emails)
    valid = items[lina.work_email]
    assert valid["job_id"] == batch_id
    assert sorted(valid["result"]) == sorted(
        ["email", "result", "message", "provider", "confidence", "is_catch_all", "domain"]
    )
    assert items[ops.work_email]["result"]["is_catch_all"] is True
    completion = events["validation.completed"][0]["data"]
    assert completion["status"] == "completed" and completion["total_items"] == 3
    assert (completion["valid"], completion["invalid"], completion["risky"]) == (1, 1, 1)
    assert (completion["successful"], completion["failed"]) == (2, 1)
    assert completion["completed_at"].endswith("Z")
    assert balance(sandbox) == START - 3  # webhooks never settle credits
    finish(enrichso_http, "validation", batch_id)
    assert balance(sandbox) == START - 2
    sandbox.settle_webhooks()  # a delivery is counted once the receiver's answer is back
    assert sandbox.counters()["webhooks"][PROVIDER]["validation.completed"] == {"http_200": 1}


def test_reverse_and_phone_webhooks(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = sandbox.state.world
    lina, nobody = reachable(world), without_profile(world)
    emails = [lina.work_email, nobody.work_email]
    submit(enrichso_http, "reverse", {"emails": emails, "webhookUrl": webhook_receiver.url})
    submit(enrichso_http, "phones", {"emails": emails, "webhookUrl": webhook_receiver.url})
    events = _events(webhook_receiver, 6)
    reverse = {e["data"]["result_id"]: e["data"] for e in events["webhook:email_result.completed"]}
    assert reverse[lina.work_email]["type"] == "success"
    assert reverse[lina.work_email]["result"]["id"] == lina.profile_id
    assert reverse[lina.work_email]["message"] == "Person found"
    assert (
        reverse[nobody.work_email]["type"] == "no_match"
        and "result" not in reverse[nobody.work_email]
    )
    phones = {e["data"]["result_id"]: e["data"] for e in events["webhook:phone_result.completed"]}
    assert (
        phones[nobody.work_email]["type"] == "no_match"
        and "phones" not in phones[nobody.work_email]
    )
    for event in ("webhook:email_completion.completed", "webhook:phone_completion.completed"):
        data = events[event][0]["data"]
        assert sorted(data) == sorted(
            ["job_id", "status", "total_items", "found", "not_found", "completed_at"]
        )
        assert (data["found"], data["not_found"], data["total_items"]) == (1, 1, 2)


def test_webhook_duplicate_and_drop_faults(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _, _, _, emails = three_verdicts(sandbox)
    faults = [
        {"provider": PROVIDER, "kind": "webhook_duplicate", "count": 1},
        {"provider": PROVIDER, "kind": "webhook_drop", "count": 1},
    ]
    sandbox.admin("POST", "faults", json=faults)
    submit(enrichso_http, "validation", {"emails": emails, "webhookUrl": webhook_receiver.url})
    webhook_receiver.wait_for(4)  # 4 callbacks: the first sent twice, the second dropped
    sandbox.settle_webhooks()
    assert len(webhook_receiver.deliveries) == 4
    counts = sandbox.counters()["webhooks"][PROVIDER]["webhook:email_lookup.completed"]
    assert counts == {"http_200": 3, "dropped": 1}


def test_webhook_out_of_order_fault(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "webhook_out_of_order"})
    emails = [p.work_email for p in sandbox.state.world.people[:8]]
    submit(enrichso_http, "validation", {"emails": emails, "webhookUrl": webhook_receiver.url})
    bodies = [d["body"] for d in webhook_receiver.wait_for(9)]
    assert sorted(b["data"]["result_id"] for b in bodies if "result_id" in b["data"]) == sorted(
        emails
    )
    assert sum(b["event"] == "validation.completed" for b in bodies) == 1
