"""Every example JSON of providers.md section 2 (enrich.so) is a shape the sandbox produces.

The examples are copied from the doc verbatim (as JSON text); each test makes the sandbox produce
the same kind of answer for a person of the synthetic world and compares keys and types recursively.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.sandbox.enrichso_helpers import (
    HEX24,
    assert_problem,
    assert_shape,
    balance,
    catch_all_person,
    knows,
    person_where,
    reachable,
    wait_terminal,
)
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver


def doc(text: str) -> Any:
    return json.loads(text)


# ------------------------------------------------------------------------------------ 2.3 status

STATUS = doc("""
{"success": true,
 "data": {"batchId": "6f1c2a9e4b7d3c0012ab34cd", "status": "processing",
          "totalItems": 4, "processedItems": 3, "progress": 75},
 "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34ce"}}
""")


def test_batch_status_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    emails = [p.work_email for p in sandbox.state.world.people[:4]]
    batch_id = enrichso_http.post("/email-validation/batch", json={"emails": emails}).json()[
        "data"
    ]["batchId"]
    body = enrichso_http.get(f"/email-validation/batch/{batch_id}").json()
    assert_shape(STATUS, body, exact=True)
    assert body["data"]["batchId"] == batch_id and body["data"]["totalItems"] == 4
    assert 0 <= body["data"]["progress"] <= 100
    assert HEX24.match(body["meta"]["requestId"])


# -------------------------------------------------------------------------------- 2.4 validation

VALIDATION_SINGLE = doc("""
{
  "success": true,
  "data": {
    "email": "lina.okafor@northwind-labs.io",
    "result": "valid",
    "message": "Mailbox exists and accepts mail",
    "isCatchAll": false,
    "isFederated": false,
    "hasSEG": false,
    "provider": "GOOGLE",
    "confidence": "high"
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3400", "creditsUsed": 1,
           "creditsRemaining": 48211, "processingTimeMs": 412}
}
""")
VALIDATION_BATCH_REQUEST = doc("""
{"emails": ["lina.okafor@northwind-labs.io", "LINA.OKAFOR@northwind-labs.io", "ops@harbor-ops.com"],
 "webhookUrl": "https://hooks.example.test/enrich"}
""")
VALIDATION_BATCH_SUBMIT = doc("""
{
  "success": true,
  "data": {"batchId": "6f1c2a9e4b7d3c0012ab34cd", "status": "queued",
           "itemCount": 2, "originalCount": 3, "duplicatesRemoved": 1},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34cc", "creditsReserved": 2,
           "creditsPerItem": 1, "estimatedCredits": 2}
}
""")
VALIDATION_BATCH_RESULTS = doc("""
{
  "success": true,
  "data": {
    "batchId": "6f1c2a9e4b7d3c0012ab34cd",
    "status": "completed",
    "totalItems": 2,
    "processedCount": 2,
    "results": [
      {"email": "lina.okafor@northwind-labs.io", "result": "valid",
       "message": "Mailbox exists and accepts mail", "isCatchAll": false,
       "provider": "GOOGLE", "confidence": "high"},
      {"email": "ops@harbor-ops.com", "result": "risky",
       "message": "Domain accepts all addresses; delivery not guaranteed", "isCatchAll": true,
       "provider": "SMTP", "confidence": "low"}
    ]
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34d0", "creditsUsed": 1, "creditsRefunded": 1,
           "creditsRemaining": 48210, "totalItems": 2, "processedItems": 2}
}
""")


def test_validation_single_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    lina = reachable(sandbox.state.world)
    body = enrichso_http.post("/email-validation", json={"email": lina.work_email}).json()
    assert_shape(VALIDATION_SINGLE, body)  # segProvider is added only when hasSEG
    assert_shape(VALIDATION_SINGLE["meta"], body["meta"], exact=True)
    assert body["data"]["result"] == "valid" and body["data"]["email"] == lina.work_email
    assert body["meta"]["creditsUsed"] == 1
    assert body["meta"]["creditsRemaining"] == balance(sandbox)


def test_validation_batch_examples(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    world = sandbox.state.world
    lina, ops = reachable(world), catch_all_person(world)
    # The doc's webhookUrl points at an outside host; this sandbox never calls one.
    request = {
        **VALIDATION_BATCH_REQUEST,
        "emails": [lina.work_email, lina.work_email.upper(), ops.work_email],
    }
    del request["webhookUrl"]
    submit = enrichso_http.post("/email-validation/batch", json=request).json()
    assert_shape(VALIDATION_BATCH_SUBMIT, submit, exact=True)
    assert {k: submit["data"][k] for k in ("itemCount", "originalCount", "duplicatesRemoved")} == {
        "itemCount": 2,
        "originalCount": 3,
        "duplicatesRemoved": 1,
    }
    batch_id = submit["data"]["batchId"]
    wait_terminal(enrichso_http, f"/email-validation/batch/{batch_id}")
    results = enrichso_http.get(f"/email-validation/batch/{batch_id}/results").json()
    assert_shape(VALIDATION_BATCH_RESULTS, results, exact=True)
    rows = results["data"]["results"]
    assert [r["result"] for r in rows] == ["valid", "risky"]
    assert rows[1]["isCatchAll"] is True and rows[1]["confidence"] == "low"
    # The risky row is refunded, exactly as in the doc example.
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (1, 1)


# ------------------------------------------------------------------------------------ 2.5 finder

FINDER_REQUEST = doc(
    """{"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io"}"""
)
FINDER_SINGLE = doc("""
{
  "success": true,
  "data": {"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io",
           "found": true, "email": "lina.okafor@northwind-labs.io", "confidence": "high",
           "isCatchAll": false, "provider": "GOOGLE", "message": "Email found (high confidence)"},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3501", "creditsUsed": 10,
           "creditsRemaining": 48200, "processingTimeMs": 880}
}
""")
FINDER_BATCH_REQUEST = doc("""
{"leads": [{"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io"},
           {"firstName": "Tomas", "lastName": "Rieger", "domain": "harbor-ops.com"}]}
""")
FINDER_BATCH_RESULTS = doc("""
{
  "success": true,
  "data": {"batchId": "6f1c2a9e4b7d3c0012ab3600", "status": "completed", "totalItems": 2,
           "processedCount": 2,
           "results": [
             {"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io", "found": true,
              "email": "lina.okafor@northwind-labs.io", "confidence": "high", "isCatchAll": false,
              "provider": "GOOGLE", "message": "Email found (high confidence)"},
             {"firstName": "Tomas", "lastName": "Rieger", "domain": "harbor-ops.com", "found": false,
              "message": "No professional email found"}
           ]},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3605", "creditsUsed": 10, "creditsRefunded": 10,
           "creditsRemaining": 48190, "totalItems": 2, "processedItems": 2}
}
""")


def lead_of(person: Any) -> dict[str, str]:
    return {
        "firstName": person.first_name,
        "lastName": person.last_name,
        "domain": person.company.domain,
    }


def test_finder_single_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    lina = reachable(sandbox.state.world)
    request = {**FINDER_REQUEST, **lead_of(lina)}
    body = enrichso_http.post("/email-finder", json=request).json()
    assert_shape(FINDER_SINGLE, body, exact=True)
    assert body["data"]["email"] == lina.work_email and body["data"]["confidence"] == "high"
    assert body["meta"]["creditsUsed"] == 10


def test_finder_batch_results_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    lina = reachable(sandbox.state.world)
    tomas = {"firstName": "Tomas", "lastName": "Rieger", "domain": lina.company.domain}
    request = {"leads": [lead_of(lina), tomas]}
    assert_shape(FINDER_BATCH_REQUEST, request, exact=True)
    submit = enrichso_http.post("/email-finder/batch", json=request).json()
    assert_shape(VALIDATION_BATCH_SUBMIT, submit, exact=True)  # "same submit shape"
    assert submit["meta"]["creditsPerItem"] == 10 and submit["meta"]["creditsReserved"] == 20
    batch_id = submit["data"]["batchId"]
    wait_terminal(enrichso_http, f"/email-finder/batch/{batch_id}")
    results = enrichso_http.get(f"/email-finder/batch/{batch_id}/results").json()
    assert_shape(FINDER_BATCH_RESULTS, results, exact=True)
    assert (results["meta"]["creditsUsed"], results["meta"]["creditsRefunded"]) == (10, 10)


# ---------------------------------------------------------------------------- 2.6 reverse lookup

REVERSE_SINGLE = doc("""
{
  "success": true,
  "data": {
    "id": "ACoAAE1xQk9bLm2",
    "displayName": "Lina Okafor",
    "firstName": "Lina",
    "lastName": "Okafor",
    "headline": "Head of Revenue Operations at Northwind Labs",
    "companyName": "Northwind Labs",
    "location": "Oakland, California",
    "profileUrl": "https://www.linkedin.com/in/lina-okafor",
    "isPublic": true,
    "skills": ["Salesforce", "SQL", "Forecasting"],
    "locale": {"country": "US", "language": "en"},
    "positions": {"positionsCount": 1, "positionHistory": [
      {"title": "Head of Revenue Operations", "companyName": "Northwind Labs",
       "startEndDate": {"start": {"month": 4, "year": 2023}, "end": null}}]},
    "schools": {"educationsCount": 0, "educationHistory": []},
    "creditsConsumed": 10
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3700", "creditsUsed": 10,
           "creditsRemaining": 48180, "processingTimeMs": 1930}
}
""")


def test_reverse_lookup_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    world = sandbox.state.world
    lina = person_where(world, lambda p, k: k.profile and len(p.positions) == 1 and not p.education)
    body = enrichso_http.post("/reverse-lookup/lookup", json={"email": lina.work_email}).json()
    assert_shape(REVERSE_SINGLE, body)  # plus summary, photoUrl, descriptions: documented fields
    assert_shape(REVERSE_SINGLE["meta"], body["meta"], exact=True)
    data = body["data"]
    assert data["id"] == lina.profile_id and data["profileUrl"] == lina.linkedin_url
    assert data["positions"]["positionHistory"][0]["startEndDate"]["end"] is None


# ------------------------------------------------------------------------------------ 2.7 phones

PHONES_SINGLE = doc("""
{"success": true,
 "data": {"found": true, "phones": ["+14155550142"]},
 "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3800", "creditsUsed": 500,
          "creditsRemaining": 47680, "processingTimeMs": 1210}}
""")
PHONES_BULK_RESULTS = doc("""
{
  "success": true,
  "data": {
    "batchId": "6f1c2a9e4b7d3c0012ab3900", "status": "completed",
    "totalItems": 2, "processedItems": 2, "successful": 1, "failed": 1,
    "results": [
      {"email": "lina.okafor@northwind-labs.io", "phones": ["+14155550142"]},
      {"linkedin": "https://www.linkedin.com/in/tomas-rieger", "phones": [],
       "error": "No phone numbers found for this profile"}
    ],
    "page": 1, "limit": 100
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3907", "creditsUsed": 500, "creditsRefunded": 500,
           "creditsRemaining": 47180, "totalItems": 2, "processedItems": 2}
}
""")


def test_phones_examples(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    world = sandbox.state.world
    lina = reachable(world)
    tomas = person_where(world, lambda p, k: not k.phones)
    single = enrichso_http.get("/reverse-lookup/phones", params={"linkedin": lina.linkedin_url})
    assert_shape(PHONES_SINGLE, single.json(), exact=True)
    request = {"emails": [lina.work_email], "linkedins": [tomas.linkedin_url]}
    submit = enrichso_http.post("/reverse-lookup/phones/bulk", json=request).json()
    assert submit["data"]["message"] == "bulk phone lookup job created"
    job_id = submit["data"]["batchId"]
    wait_terminal(enrichso_http, f"/reverse-lookup/phones/bulk/{job_id}")
    results = enrichso_http.get(f"/reverse-lookup/phones/bulk/{job_id}/results").json()
    assert_shape(PHONES_BULK_RESULTS, results, exact=True)
    assert results["data"]["results"][0]["phones"] == [p.number for p in knows(world, lina).phones]


# ------------------------------------------------------------------------------------ 2.8 wallet

BALANCE = {
    "success": True,
    "data": {"organizationId": "<hex>", "balance": 47180, "currency": "credits", "asOf": "<ISO>"},
}
TRANSACTIONS = {
    "success": True,
    "data": {
        "transactions": [
            {
                "id": "<hex>",
                "organizationId": "<hex>",
                "type": "deduction",
                "amount": -500,
                "balanceAfter": 47180,
                "description": "Phone finder",
                "createdAt": "<ISO>",
            }
        ],
        "pagination": {"page": 1, "limit": 20, "total": 1, "totalPages": 1},
    },
}


def test_wallet_examples(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    body = enrichso_http.get("/wallets/balance").json()
    assert_shape(BALANCE["data"], body["data"], exact=True)
    assert body["data"]["balance"] == balance(sandbox)
    assert HEX24.match(body["data"]["organizationId"])
    lina = reachable(sandbox.state.world)
    enrichso_http.get("/reverse-lookup/phones", params={"email": lina.work_email})
    listing = enrichso_http.get("/wallets/transactions").json()
    assert_shape(TRANSACTIONS, listing)


# ---------------------------------------------------------------------------------- 2.9 webhooks

FINDER_ITEM_HOOK = doc("""
{"event": "webhook:finder_lookup.completed", "timestamp": "2026-03-02T10:21:07.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3600", "result_id": "lina.okafor@northwind-labs.io",
          "result": {"email": "lina.okafor@northwind-labs.io", "result": "found",
                     "confidence": "high", "is_catch_all": false, "domain": "northwind-labs.io",
                     "provider": "GOOGLE", "message": "Email found (high confidence)"}}}
""")
FINDER_COMPLETION_HOOK = doc("""
{"event": "finder.completed", "timestamp": "2026-03-02T10:21:30.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3600", "status": "completed", "total_items": 2,
          "successful": 1, "failed": 1, "completed_at": "2026-03-02T10:21:30.000Z",
          "found": 1, "not_found": 1}}
""")
PHONE_ITEM_HOOK = doc("""
{"event": "webhook:phone_result.completed", "timestamp": "2026-03-02T10:30:02.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3900", "result_id": "lina.okafor@northwind-labs.io",
          "type": "success", "phones": ["+14155550142"], "message": "Phone numbers found"}}
""")


def _by_event(receiver: WebhookReceiver, count: int) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for delivery in receiver.wait_for(count):
        grouped.setdefault(delivery["body"]["event"], []).append(delivery["body"])
    return grouped


def test_webhook_examples(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    lina = reachable(sandbox.state.world)
    tomas = {"firstName": "Tomas", "lastName": "Rieger", "domain": lina.company.domain}
    finder = {"leads": [lead_of(lina), tomas], "webhookUrl": webhook_receiver.url}
    job = enrichso_http.post("/email-finder/batch", json=finder).json()["data"]["batchId"]
    phones = {"emails": [lina.work_email], "webhookUrl": webhook_receiver.url}
    enrichso_http.post("/reverse-lookup/phones/bulk", json=phones)
    hooks = _by_event(webhook_receiver, 3 + 2)  # 2 finder items + completion, 1 phone + completion
    found = [
        h for h in hooks[FINDER_ITEM_HOOK["event"]] if h["data"]["result"]["result"] == "found"
    ]
    assert_shape(FINDER_ITEM_HOOK, found[0], exact=True)
    assert found[0]["data"]["job_id"] == job
    assert_shape(FINDER_COMPLETION_HOOK, hooks["finder.completed"][0], exact=True)
    assert_shape(PHONE_ITEM_HOOK, hooks[PHONE_ITEM_HOOK["event"]][0], exact=True)


# ------------------------------------------------------------------------------------ 2.10 error

ERROR = doc("""
{"type": "https://dev.enrich.so/errors/insufficient-credits", "title": "Insufficient Credits",
 "status": 402, "detail": "Not enough credits. Required: 10, available: 3",
 "instance": "/requests/0b7f3c2e-1d4a-4c1e-9a59-3f5c2d7e8a10"}
""")


def test_error_body_example(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    sandbox.admin("POST", "credits", json={"provider": "enrichso", "balance": 3})
    lina = reachable(sandbox.state.world)
    response = enrichso_http.post("/email-finder", json=lead_of(lina))
    body = assert_problem(response, 402, "insufficient-credits")
    assert_shape(ERROR, body)  # plus the optional required/currentBalance/shortfall members
    assert body["detail"] == ERROR["detail"]
    assert balance(sandbox) == 3
