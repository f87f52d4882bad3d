"""The lemlist emulator's wire contract: auth, rate limit, fault switches and every example JSON of
providers.md section 1 reproduced by the live sandbox (key sets and value types, recursively)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.sandbox.test_lemlist import (
    fully_known,
    knowledge,
    lead_where,
    leads,
    lemlist_client,  # noqa: F401  (the `lemlist` fixture: a client that waits out 429s)
    person_where,
    slow_jobs,
    submit,
    wait_result,
)
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

UNAUTHORIZED = "The authentication you supplied is incorrect"


def js_date(text: str) -> datetime:
    """Parse a JavaScript Date.toString(): 'Mon Mar 02 2026 10:15:04 GMT+0000 (...)'."""
    return datetime.strptime(text.split(" (")[0], "%a %b %d %Y %H:%M:%S GMT%z")


def add_fault(sandbox: SandboxServer, kind: str, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": "lemlist", "kind": kind, **rule})


# ------------------------------------------------------------------------ auth, rate limit


def test_wrong_or_missing_key_is_a_plain_text_401(sandbox: SandboxServer) -> None:
    base = sandbox.base_url("lemlist")
    attempts: list[dict[str, Any]] = [
        {},
        {"auth": ("", "wrong")},
        {"headers": {"Authorization": "Bearer sandbox"}},
        {"headers": {"Authorization": "Basic !!!"}},
    ]
    for kwargs in attempts:
        response = httpx.get(f"{base}/team/credits", **kwargs)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == UNAUTHORIZED
    assert sandbox.counters()["requests"]["lemlist"]["GET /team/credits"] == {"401": 4}


def test_twenty_requests_per_two_seconds_then_429_with_retry_headers(
    sandbox: SandboxServer, lemlist_http: httpx.Client
) -> None:
    sandbox.admin("POST", "config", json={"speed": 1.0})  # the real 2 s window
    answers = [lemlist_http.get("/team/credits") for _ in range(21)]
    assert [r.status_code for r in answers] == [200] * 20 + [429]
    first, refused = answers[0], answers[20]
    assert first.headers["X-RateLimit-Limit"] == "20"
    assert first.headers["X-RateLimit-Remaining"] == "19"
    assert answers[19].headers["X-RateLimit-Remaining"] == "0"
    assert (
        abs(
            (
                js_date(first.headers["X-RateLimit-Reset"]) - datetime.now().astimezone()
            ).total_seconds()
        )
        < 5
    )
    assert refused.headers["content-type"].startswith("text/plain")
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    js_date(refused.headers["X-RateLimit-Reset"])
    assert sandbox.counters()["requests"]["lemlist"]["GET /team/credits"] == {"200": 20, "429": 1}


# ---------------------------------------------------------------------------- request faults


def test_429_storm_then_recovery(sandbox: SandboxServer, lemlist_http: httpx.Client) -> None:
    add_fault(sandbox, "rate_limit", count=3, retry_after_s=2, route="POST /enrich")
    statuses = [
        lemlist_http.post("/enrich", params={"verifyEmail": "true", "email": "a@b.com"})
        for _ in range(4)
    ]
    assert [r.status_code for r in statuses] == [429, 429, 429, 200]
    assert float(statuses[0].headers["Retry-After"]) > 0
    assert sum(sandbox.counters()["submissions"]["lemlist"].values()) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(sandbox: SandboxServer, lemlist: httpx.Client, status: int) -> None:
    add_fault(sandbox, f"error_{status}", count=1)
    response = lemlist.get("/team/credits")
    assert response.status_code == status
    if status == 500:
        assert response.json() == {"error": "Internal server error"}
    assert lemlist.get("/team/credits").status_code == 200


def test_slow_answer_still_answers(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    add_fault(sandbox, "slow", count=1, delay_s=0.2)
    started = time.monotonic()
    assert lemlist.get("/team/credits").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_timeout_makes_the_client_time_out(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    add_fault(sandbox, "timeout", count=1, delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        lemlist.get("/team/credits", timeout=0.2)


def test_dropped_connection_after_submit_still_submitted(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    add_fault(sandbox, "drop", count=1, after=True, route="POST /enrich")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        lemlist.post("/enrich", params={"verifyEmail": "true", "email": "a@b.com"})
    # The enrichment was accepted before the connection died: a blind retry would pay twice.
    assert sandbox.counters()["submissions"]["lemlist"] == {"unknown": 1}
    add_fault(sandbox, "drop", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        lemlist.get("/team/credits")


def test_malformed_body(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    add_fault(sandbox, "malformed", count=1, route="GET /enrich/*")
    enrichment_id = submit(lemlist, "verifyEmail", email="a@b.com")
    response = lemlist.get(f"/enrich/{enrichment_id}")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


# -------------------------------------------------------------------------------- job faults


def test_stuck_job_stays_in_progress_and_keeps_its_lead_busy(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    add_fault(sandbox, "job_stuck", count=1)
    lead = lead_where(sandbox, fully_known)
    enrichment_id = lemlist.post(
        f"/leads/{lead.lead_id}/enrich", params={"findEmail": "true"}
    ).json()["id"]
    normal_finish = sandbox.state.store("lemlist").enrichments[enrichment_id].timer.finishes_at
    while time.monotonic() < normal_finish + 0.1:  # well past when it should have finished
        response = lemlist.get(f"/enrich/{enrichment_id}")
        assert response.status_code in (202, 429)
    assert lemlist.get(f"/enrich/{enrichment_id}").json()["enrichmentStatus"] == "in-progress"
    busy = lemlist.post(f"/leads/{lead.lead_id}/enrich", params={"findEmail": "true"})
    assert busy.status_code == 409 and "code" not in busy.json()
    assert sandbox.counters()["credits_charged"] == {}


def test_failed_job_is_done_not_found_with_an_error_and_costs_nothing(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    add_fault(sandbox, "job_fail", count=1)
    person = person_where(sandbox, fully_known)
    enrichment_id = submit(
        lemlist,
        "findEmail",
        "findPhone",
        linkedinUrl=person.linkedin_url,
        webhookUrl=webhook_receiver.url,
    )
    done = wait_result(lemlist, enrichment_id).json()
    assert done["error"] == "Enrichment failed"
    assert done["data"] == {
        "email": {"email": None, "notFound": True},
        "phone": {"phone": None, "notFound": True},
    }
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery["body"]["type"] == "enrichmentError"
    assert sandbox.counters()["credits_charged"] == {}


# ---------------------------------------------------------------------------- webhook faults


def test_webhook_duplicate_sends_the_same_body_twice(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    add_fault(sandbox, "webhook_duplicate", count=1)
    submit(lemlist, "verifyEmail", email="a@b.com", webhookUrl=webhook_receiver.url)
    first, second = webhook_receiver.wait_for(2)
    assert first["body"] == second["body"]


def test_webhook_drop_is_counted_and_never_sent(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    add_fault(sandbox, "webhook_drop", count=1)
    dropped = submit(lemlist, "verifyEmail", email="a@b.com", webhookUrl=webhook_receiver.url)
    wait_result(lemlist, dropped)
    kept = submit(lemlist, "verifyEmail", email="b@b.com", webhookUrl=webhook_receiver.url)
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery["body"]["data"][0]["id"] == kept
    assert sandbox.counters()["webhooks"]["lemlist"]["enrichmentDone"]["dropped"] == 1


def test_webhook_out_of_order_still_delivers_each_once(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    add_fault(sandbox, "webhook_out_of_order")
    ids = {
        submit(lemlist, "verifyEmail", email=f"n{i}@b.com", webhookUrl=webhook_receiver.url)
        for i in range(3)
    }
    deliveries = webhook_receiver.wait_for(3)
    assert {d["body"]["data"][0]["id"] for d in deliveries} == ids


# ------------------------------------------------------------------- providers.md examples


def assert_shape(example: Any, actual: Any, *, extra_keys: bool = False, path: str = "$") -> None:
    """`actual` has the example's keys (exactly, unless extra_keys), nesting and value types."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        missing = set(example) - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)}"
        if not extra_keys:
            assert set(actual) == set(example), (
                f"{path}: extra {sorted(set(actual) - set(example))}"
            )
        for key, value in example.items():
            assert_shape(value, actual[key], extra_keys=extra_keys, path=f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list) and actual, f"{path}: {actual!r} is not a non-empty array"
        pairs = (
            zip(example, actual, strict=True)
            if len(example) == len(actual)
            else ((example[0], item) for item in actual)
        )
        for i, (want, got) in enumerate(pairs):
            assert_shape(want, got, extra_keys=extra_keys, path=f"{path}[{i}]")
    else:
        assert type(actual) is type(example), f"{path}: {actual!r} is not {type(example).__name__}"


EXAMPLE_1_3 = {"id": "enr_Q3vT8kLmN2pXw7RzA"}
EXAMPLE_1_4_409 = {
    "error": "Enrichment skipped: contact already has the requested data or was recently enriched",
    "code": "ALREADY_ENRICHED",
}
EXAMPLE_1_5_RESPONSE = [
    {"id": "enr_Q3vT8kLmN2pXw7RzA", "metadata": {"crm_id": "C-1001"}},
    {"id": "enr_b8YtR1cVn5KqW3zLp", "metadata": "C-1002"},
    {"error": "MISSING_INPUTS", "metadata": "C-1003"},
]
_INPUT_1_6 = {
    "firstName": "Lina",
    "lastName": "Okafor",
    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
    "companyName": "Northwind Labs",
    "companyDomain": "northwind-labs.io",
}
EXAMPLE_1_6_IN_PROGRESS = {
    "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
    "enrichmentStatus": "in-progress",
    "input": _INPUT_1_6,
    "data": {},
}
EXAMPLE_1_6_DONE = {
    "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
    "enrichmentStatus": "done",
    "input": _INPUT_1_6,
    "data": {"email": {"email": "lina.okafor@northwind-labs.io", "notFound": False}},
}
EXAMPLE_1_6_NOT_FOUND = {
    "enrichmentId": "enr_t3WsF23sActKexff",
    "enrichmentStatus": "not-found",
    "error": "Enrichment not found",
    "data": {},
}
_DATE = {"start": {"month": 4, "year": 2023}, "end": {}}
EXAMPLE_1_7 = {
    "type": "enrichmentDone",
    "data": [
        {
            "id": "enr_Q3vT8kLmN2pXw7RzA",
            "metadata": {"crm_id": "C-1001"},
            "data": {
                "find_email": {"email": "lina.okafor@northwind-labs.io", "status": "deliverable"},
                "find_phone": {"phone": "+14155550142"},
                "linkedin_enrichment": {
                    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
                    "linkedinMemberId": 512340987,
                    "firstName": "Lina",
                    "lastName": "Okafor",
                    "tagline": "Head of Revenue Operations",
                    "occupation": "Head of Revenue Operations",
                    "locationName": "Oakland, California, United States",
                    "industry": "Software Development",
                    "skills": "Salesforce, SQL, Forecasting",
                    "languages": "English, Yoruba",
                    "companyName": "Northwind Labs",
                    "companyDomain": "northwind-labs.io",
                    "companyLinkedinUrl": "https://www.linkedin.com/company/northwind-labs",
                    "companySize": "51-200",
                    "positionGroups": [
                        {
                            "company": {
                                "id": 81234567,
                                "name": "Northwind Labs",
                                "domain": "northwind-labs.io",
                            },
                            "date": _DATE,
                            "profilePositions": [
                                {
                                    "title": "Head of Revenue Operations",
                                    "companyName": "Northwind Labs",
                                    "date": _DATE,
                                }
                            ],
                        }
                    ],
                },
            },
        }
    ],
}
EXAMPLE_1_9 = {
    "credits": 940,
    "details": {
        "remaining": {"total": 940, "freemium": 0, "subscription": 800, "gifted": 40, "paid": 100}
    },
}


def test_example_1_3_and_1_6_single_enrichment(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    slow_jobs(sandbox)
    person = person_where(sandbox, fully_known)
    params = {
        "findEmail": "true",
        "findPhone": "true",
        "linkedinEnrichment": "true",
        "linkedinUrl": person.linkedin_url,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "companyName": person.company.name,
        "companyDomain": person.company.domain,
        "webhookUrl": webhook_receiver.url,
    }
    submitted = lemlist.post("/enrich", params=params)
    assert submitted.status_code == 200
    assert_shape(EXAMPLE_1_3, submitted.json())
    enrichment_id = submitted.json()["id"]
    in_progress = lemlist.get(f"/enrich/{enrichment_id}")
    assert in_progress.status_code == 202
    assert_shape(EXAMPLE_1_6_IN_PROGRESS, in_progress.json())
    done = wait_result(lemlist, enrichment_id).json()
    # Sandbox adds `status` to `email` and answers the other requested types too (1.6 ASSUMPTION).
    assert_shape(EXAMPLE_1_6_DONE, done, extra_keys=True)
    assert set(done) == set(EXAMPLE_1_6_DONE) and set(done["input"]) == set(_INPUT_1_6)
    missing = lemlist.get("/enrich/enr_t3WsF23sActKexff")
    assert missing.status_code == 404
    assert_shape(EXAMPLE_1_6_NOT_FOUND, missing.json())


def test_example_1_4_already_enriched(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    (lead,) = leads(sandbox, "verified_email")
    response = lemlist.post(
        f"/leads/{lead.lead_id}/enrich", params={"findEmail": "true", "verifyEmail": "true"}
    )
    assert response.status_code == 409
    assert response.json() == EXAMPLE_1_4_409


def test_example_1_5_bulk(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    lina = person_where(sandbox, fully_known)
    marc = person_where(sandbox, lambda k: k.email is not None and k.profile)
    request = [
        {
            "input": {"linkedinUrl": lina.linkedin_url},
            "enrichmentRequests": ["find_email", "find_phone"],
            "metadata": {"crm_id": "C-1001"},
        },
        {
            "input": {"email": marc.work_email},
            "enrichmentRequests": ["verify", "linkedin_enrichment"],
            "metadata": "C-1002",
        },
        {"input": {"firstName": "Ana"}, "enrichmentRequests": ["find_email"], "metadata": "C-1003"},
    ]
    response = lemlist.post("/v2/enrichments/bulk", json=request)
    assert response.status_code == 200
    answers = response.json()
    assert_shape(EXAMPLE_1_5_RESPONSE, answers)
    assert [a.get("metadata") for a in answers] == [{"crm_id": "C-1001"}, "C-1002", "C-1003"]
    assert answers[2]["error"] == "MISSING_INPUTS"
    assert sandbox.counters()["submissions"]["lemlist"] == {lina.person_id: 1, marc.person_id: 1}


def test_example_1_7_enrichment_done_webhook(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    person = person_where(sandbox, fully_known)
    request = [
        {
            "input": {"linkedinUrl": person.linkedin_url},
            "enrichmentRequests": ["find_email", "find_phone", "linkedin_enrichment"],
            "metadata": {"crm_id": "C-1001"},
        }
    ]
    lemlist.post("/v2/enrichments/bulk", params={"webhookUrl": webhook_receiver.url}, json=request)
    (delivery,) = webhook_receiver.wait_for(1)
    body = delivery["body"]
    # The profile carries every 1.8 field, a superset of the example's.
    assert_shape(EXAMPLE_1_7, body, extra_keys=True)
    assert set(body) == {"type", "data"} and set(body["data"][0]) == {"id", "metadata", "data"}
    k = knowledge(sandbox, person)
    found = body["data"][0]["data"]
    assert found["find_email"] == {"email": k.email, "status": k.email_status}
    assert found["find_phone"] == {"phone": k.phones[0].number}
    assert found["linkedin_enrichment"]["linkedinMemberId"] == person.linkedin_member_id


def test_example_1_9_team_credits(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 940})
    credits = lemlist.get("/team/credits").json()
    assert_shape(EXAMPLE_1_9, credits)
    remaining = credits["details"]["remaining"]
    assert credits["credits"] == remaining["total"] == 940
    assert sum(v for k, v in remaining.items() if k != "total") == 940
