"""The Hog emulator over HTTP (providers.md 3): shapes, auth, validation, credits, idempotency,
async lifecycle, rate limits and faults."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from enrich_pipeline.sandbox.providers.thehog_data import found_on_attempt
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person
from enrich_pipeline_tests.conftest import SSL_CONTEXT, TEST_CONFIG

TERMINAL = {"succeeded", "failed", "partial_success", "cancelled"}
OP_ID = re.compile(r"^op_[0-9A-Z]{26}$")
START = TEST_CONFIG.thehog_credits

# ------------------------------------------------------------------ the examples of providers.md 3

EXAMPLE_SYNC_200 = json.loads("""
{"data": {"contact": {
   "email": [{"value": "lina.okafor@northwind-labs.io", "type": "work", "verified": true}],
   "phone": [{"value": "+14155550142", "type": "mobile", "verified": true}]}},
 "meta": {"requestId": "0b6f3e0a-6c1d-4f8e-9d55-3e2a1c7b9f10"}}
""")
EXAMPLE_BATCH_202 = json.loads("""
{"id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D", "operationId": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
 "status": "queued",
 "pollUrl": "https://developer.thehog.ai/api/operations/op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
 "meta": {"requestId": "9a3d1f52-7b44-4e0c-8c2f-61e5b0d2a7c4"}}
""")
EXAMPLE_COMPLETED_POLL = json.loads("""
{"id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D", "status": "partial_success", "progress": 100,
 "result": {"items": [
   {"identifier": {"linkedin_url": "https://www.linkedin.com/in/lina-okafor"}, "status": "success",
    "data": {"contact": {"email": [{"value": "lina.okafor@northwind-labs.io", "type": "work",
                                    "verified": true}]}}},
   {"identifier": {"email": "tomas.rieger@harbor-ops.com"}, "status": "success",
    "data": {"contact": {"email": []}}},
   {"identifier": {"github_username": "no-such-user-0000"}, "status": "failed",
    "error": {"message": "Could not resolve this identity"}}]},
 "error": null}
""")
EXAMPLE_LEGACY_202 = json.loads("""
{"id": "op_01JD7R0A1B2C3D4E5F6G7H8J9K", "operationId": "op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "status": "queued", "pollUrl": "/api/operations/op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "meta": {"requestId": "3c9f2b7e-0d41-4a8e-b6c2-7f1a9e5d3b20"}}
""")
EXAMPLE_ESTIMATE = json.loads("""
{"data": {"estimatedCredits": 5, "likelySyncOrAsync": "sync", "expectedLatencyRange": "2\u20138s",
          "providersLikelyUsed": ["a"], "withinPlanLimits": true},
 "meta": {"requestId": "3c9f2b7e-0d41-4a8e-b6c2-7f1a9e5d3b20"}}
""")
EXAMPLE_ERROR = json.loads("""
{"statusCode": 400, "error": "Bad Request", "message": "Validation failed",
 "path": "/api/enrichments", "requestId": "7d2a1c4e-5f60-4b8a-9e13-2c4f6a8b0d91",
 "timestamp": "2026-03-02T10:40:11.000Z",
 "errors": [{"property": "body.fields", "message": "fields must be an array",
             "constraints": {"isArray": "fields must be an array"}}]}
""")


def assert_shape(
    example: Any, actual: Any, path: str = "$", extras: dict[str, set[str]] | None = None
) -> None:
    """Same keys (plus the documented-open extras named per path), same nesting, same JSON types.
    Lists of equal length are compared item by item, otherwise every item against the first."""
    extras = extras or {}
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(example) <= set(actual), f"{path}: missing {set(example) - set(actual)}"
        unexpected = set(actual) - set(example) - extras.get(path, set())
        assert not unexpected, f"{path}: unexpected keys {unexpected}"
        for key, value in example.items():
            assert_shape(value, actual[key], f"{path}.{key}", extras)
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{path}: expected an array, got {actual!r}"
        pairs = (
            zip(example, actual, strict=True)
            if len(example) == len(actual)
            else ((example[0], a) for a in (actual if example else []))
        )
        for i, (want, got) in enumerate(pairs):
            assert_shape(want, got, f"{path}[{i}]", extras)
    elif example is None:
        assert actual is None, f"{path}: expected null, got {actual!r}"
    else:
        assert type(actual) is type(example), f"{path}: {actual!r} is not a {type(example)}"


# ---------------------------------------------------------------------------------------- helpers


def knowledge(sandbox: SandboxServer, person: Person) -> Knowledge:
    return sandbox.state.world.knowledge("thehog", person)


def someone(sandbox: SandboxServer, wanted: Callable[[Person, Knowledge], bool]) -> Person:
    world = sandbox.state.world
    return next(p for p in world.people if wanted(p, world.knowledge("thehog", p)))


def fully_known(sandbox: SandboxServer) -> Person:
    """Deliverable work email, at least one phone, profile known."""
    return someone(
        sandbox,
        lambda p, k: (
            k.email == p.work_email
            and k.email_status == "deliverable"
            and bool(k.phones)
            and k.profile
        ),
    )


def balance(sandbox: SandboxServer) -> int:
    return int(sandbox.admin("GET", "credits")["thehog"])


def net_charged(sandbox: SandboxServer) -> int:
    return int(sandbox.counters()["credits_net"].get("thehog", 0))


def submissions(sandbox: SandboxServer) -> dict[str, int]:
    return dict(sandbox.counters()["submissions"].get("thehog", {}))


def wait_done(client: httpx.Client, url: str, limit_s: float = 5.0) -> dict[str, Any]:
    """Poll until the operation is terminal (bounded; jobs last ~35 ms at speed 0.01)."""
    deadline = time.monotonic() + limit_s
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"operation still {body['status']}"
        time.sleep(0.005)


def assert_envelope(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert {"statusCode", "error", "message", "path", "timestamp", "requestId"} <= set(body)
    assert body["statusCode"] == status and body["message"] == message
    assert body["requestId"] == response.headers["x-request-id"]
    return body


@pytest.fixture
def legacy_http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url("thehog"),
        headers={"Authorization": f"Bearer {TEST_CONFIG.thehog_legacy_api_key}"},
        timeout=10,
        verify=SSL_CONTEXT,
    ) as client:
        yield client


# ------------------------------------------------------------------------- 3.2 sync (200) answers


def test_sync_response_is_the_documented_example(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    known = knowledge(sandbox, person)
    response = thehog_http.post(
        "/api/enrichments",
        headers={"Idempotency-Key": "5b0b7c8e-2f7d-4c3e-9a61-0d9d6a8f4e21"},
        json={
            "identifier": {"linkedin_url": person.linkedin_url},
            "fields": ["contact.email", "contact.phone"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_shape(
        EXAMPLE_SYNC_200,
        body,
        extras={"$.meta": {"cost"}, "$.data.contact.phone[0]": set()},
    )
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    assert body["data"]["contact"]["email"] == [
        {"value": person.work_email, "type": "work", "verified": True}
    ]
    assert body["data"]["contact"]["phone"] == [
        {"value": ph.number, "type": ph.type, "verified": True} for ph in known.phones
    ]
    # contact.email 1 + contact.phone 5, charged at once
    assert body["meta"]["cost"] == {"estimated": 6, "actual": 6}
    assert balance(sandbox) == START - 6
    assert net_charged(sandbox) == 6
    assert submissions(sandbox) == {person.person_id: 1}


def test_sync_catch_all_email_is_flagged_risky_and_missing_fields_are_empty_and_free(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    risky = someone(sandbox, lambda p, k: k.email_status == "risky" and not k.phones)
    response = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"linkedin_url": risky.linkedin_url},
            "fields": ["contact.email", "contact.phone"],
        },
    )
    assert response.status_code == 200
    contact = response.json()["data"]["contact"]
    email = knowledge(sandbox, risky).email
    assert contact["email"] == [
        {"value": email, "type": "work", "verified": False, "status": "risky"}
    ]
    assert contact["phone"] == []  # requested, not found
    assert response.json()["meta"]["cost"] == {"estimated": 6, "actual": 1}
    assert balance(sandbox) == START - 1

    unknown = someone(sandbox, lambda p, k: k.email is None and not k.phones)
    response = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"linkedin_url": unknown.linkedin_url}, "fields": ["contact.email"]},
    )
    assert response.json()["data"] == {"contact": {"email": []}}
    assert response.json()["meta"]["cost"] == {"estimated": 1, "actual": 0}
    assert balance(sandbox) == START - 1


def test_sync_linkedin_url_nobody_has_is_422_and_free(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    response = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"linkedin_url": "https://www.linkedin.com/in/no-such-person-0000"},
            "fields": ["contact.email"],
        },
    )
    assert_envelope(response, 422, "Could not resolve this identity")
    assert balance(sandbox) == START


# ------------------------------------------------------------------- 3.2 / 3.3 async operations


def test_batch_submit_and_partial_success_poll_are_the_documented_examples(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    found = someone(
        sandbox, lambda p, k: k.email == p.work_email and k.email_status == "deliverable"
    )
    not_found = someone(sandbox, lambda p, k: k.email is None)
    identifiers = [
        {"linkedin_url": found.linkedin_url},
        {"email": not_found.work_email},
        {"github_username": "no-such-user-0000"},
    ]
    response = thehog_http.post(
        "/api/enrichments", json={"identifiers": identifiers, "fields": ["contact.email"]}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert_shape(EXAMPLE_BATCH_202, accepted)
    assert OP_ID.match(accepted["id"]) and accepted["operationId"] == accepted["id"]
    assert accepted["meta"]["requestId"] == response.headers["x-request-id"]
    # current API: absolute pollUrl on the client's own base URL
    assert accepted["pollUrl"] == f"{sandbox.base_url('thehog')}/api/operations/{accepted['id']}"

    done = wait_done(thehog_http, accepted["pollUrl"])
    assert_shape(EXAMPLE_COMPLETED_POLL, done, extras={"$.result.items[2].error": {"code"}})
    assert done["status"] == "partial_success" and done["progress"] == 100
    items = done["result"]["items"]
    assert [item["identifier"] for item in items] == identifiers
    assert [item["status"] for item in items] == ["success", "success", "failed"]
    assert items[0]["data"]["contact"]["email"][0]["value"] == found.work_email
    assert items[1]["data"] == {"contact": {"email": []}}
    assert items[2]["error"]["message"] == "Could not resolve this identity"
    # charged once, on completion: one found email
    assert balance(sandbox) == START - 1 and net_charged(sandbox) == 1
    assert submissions(sandbox) == {found.person_id: 1, not_found.person_id: 1, "unknown": 1}
    # /api/enrichments/{id} answers the same operation
    same = thehog_http.get(f"/api/enrichments/{accepted['id']}").json()
    assert same == done
    assert balance(sandbox) == START - 1  # polls are free and settle only once


def test_async_lifecycle_queued_processing_succeeded_and_charge_on_completion(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    # queued 500 ms, processing 3 s: long enough to see every phase on a loaded machine (at 0.3,
    # queued 150 ms, a fresh-clone `make test` once missed it between the submit and first poll)
    sandbox.admin("POST", "config", json={"speed": 1.0})
    person = fully_known(sandbox)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifiers": [{"linkedin_url": person.linkedin_url}], "fields": ["contact.email"]},
    ).json()
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + 15
    while not seen or seen[-1][0] not in TERMINAL:
        wallet = balance(sandbox)  # read first: if the poll then says unfinished, so was the job
        body = thehog_http.get(accepted["pollUrl"]).json()
        seen.append((body["status"], body["progress"]))
        if body["status"] in ("queued", "processing"):
            assert body["result"] is None and body["error"] is None
            assert wallet == START  # nothing charged before completion
        assert time.monotonic() < deadline
        time.sleep(0.01)
    statuses = [s for s, _ in seen]
    order = ["queued", "processing", "succeeded"]
    assert [s for s in order if s in statuses] == order
    assert statuses == sorted(statuses, key=order.index)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    assert balance(sandbox) == START - 1


def test_single_async_profile_and_signals_result_is_the_data_object(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    response = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"email": person.work_email},
            "fields": ["contact.email", "profile", "signals"],
        },
    )
    assert response.status_code == 202
    op_id = response.json()["id"]
    done = wait_done(thehog_http, f"/api/enrichments/{op_id}")
    assert done["status"] == "succeeded" and done["error"] is None
    data = done["result"]
    assert set(data) == {"contact", "profile", "signals"}
    profile = data["profile"]
    assert profile["first_name"] == person.first_name
    assert profile["last_name"] == person.last_name
    assert profile["company"] == person.company.name
    assert profile["company_domain"] == person.company.domain
    assert profile["linkedin_url"] == person.linkedin_url
    assert profile["skills"] == list(person.skills)
    assert [p["title"] for p in profile["positions"]] == [p.title for p in person.positions]
    assert {"headline", "title", "location", "summary", "education", "photo_url"} <= set(profile)
    signals = data["signals"]
    assert signals["items"] and all(
        {"platform", "type", "title", "url", "date"} == set(s) for s in signals["items"]
    )
    # 1 (email) + 2 (profile) + 3 (signals)
    assert balance(sandbox) == START - 6


def test_signals_config_filters_platforms_and_caps_posts(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = someone(sandbox, lambda p, k: p.github_username is not None and len(p.skills) >= 2)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"github_username": person.github_username},
            "fields": ["signals"],
            "signals_config": {"platforms": ["linkedin"], "max_posts": {"linkedin": 1}},
        },
    ).json()
    signals = wait_done(thehog_http, accepted["pollUrl"])["result"]["signals"]
    assert signals["platforms"] == ["linkedin"] and len(signals["items"]) == 1


def test_unresolved_single_fails_and_an_all_failed_batch_fails_free(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    single = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"x_handle": "no-such-handle-0000"}, "fields": ["contact.email"]},
    ).json()
    done = wait_done(thehog_http, single["pollUrl"])
    assert done["status"] == "failed" and done["result"] is None
    assert done["error"] == {
        "message": "Could not resolve this identity",
        "code": "identity_not_resolved",
    }
    batch = thehog_http.post(
        "/api/enrichments",
        json={
            "identifiers": [{"github_username": "no-such-user-0000"}, {"email": "x@nowhere.test"}],
            "fields": ["contact.email"],
        },
    ).json()
    done = wait_done(thehog_http, batch["pollUrl"])
    assert done["status"] == "failed" and set(done["error"]) == {"message", "code"}
    assert [i["status"] for i in done["result"]["items"]] == ["failed", "failed"]
    assert balance(sandbox) == START and net_charged(sandbox) == 0
    assert submissions(sandbox) == {"unknown": 3}


# ----------------------------------------------------------------------------- 3.4 legacy API


def test_legacy_request_gives_the_documented_202_with_a_relative_poll_url(
    sandbox: SandboxServer, legacy_http: httpx.Client, thehog_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    response = legacy_http.post(
        "/api/people/enrich",
        headers={"Idempotency-Key": "1e6a3f0c-9b2d-4a7e-8f15-2c4d6e8a0b13"},
        json={
            "identities": [{"platform": "linkedin", "username": person.linkedin_slug}],
            "asyncPreferred": True,
            "maxEmailProviderAttempts": 1,
            "maxPhoneProviderAttempts": 2,
        },
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert_shape(EXAMPLE_LEGACY_202, accepted)
    assert accepted["pollUrl"] == f"/api/operations/{accepted['id']}"
    # clients urljoin the relative pollUrl onto the base; both credential kinds may poll it
    url = urljoin(sandbox.url + "/thehog/", accepted["pollUrl"].lstrip("/"))
    done = wait_done(legacy_http, url)
    assert thehog_http.get(url).json() == done
    assert done["status"] == "succeeded"
    item = done["result"]["items"][0]
    assert item["identifier"] == {"platform": "linkedin", "username": person.linkedin_slug}
    # charged per waterfall attempt: 1 credit per email attempt, 5 per phone attempt
    email_try = found_on_attempt(person, "email", 2)
    phone_try = found_on_attempt(person, "phone", 3)
    expected_email = [person.work_email] if email_try <= 1 else []
    expected_phones = (
        [p.number for p in knowledge(sandbox, person).phones] if phone_try <= 2 else []
    )
    assert [e["value"] for e in item["data"]["contact"]["email"]] == expected_email
    assert [p["value"] for p in item["data"]["contact"]["phone"]] == expected_phones
    cost = min(email_try, 1) * 1 + min(phone_try, 2) * 5
    assert balance(sandbox) == START - cost


def test_legacy_inline_answer_reports_cost_and_project(
    sandbox: SandboxServer, legacy_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    response = legacy_http.post(
        "/api/people/enrich",
        headers={"X-Project-Id": "proj_42"},
        json={
            "people": [{"id": person.person_id}, {"id": "p_999999"}],
            "asyncPreferred": False,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta"} and len(body["data"]) == 2
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    assert body["meta"]["projectId"] == "proj_42"
    found, missing = body["data"]
    assert found["status"] == "success" and found["identifier"] == {"id": person.person_id}
    assert found["data"]["contact"]["email"][0]["value"] == person.work_email
    assert missing["status"] == "failed"
    assert body["meta"]["cost"]["estimated"] == 2 * (2 * 1 + 3 * 5)
    actual = found_on_attempt(person, "email", 2) + 5 * found_on_attempt(person, "phone", 3)
    assert body["meta"]["cost"]["actual"] == actual
    assert balance(sandbox) == START - actual == START - net_charged(sandbox)
    assert submissions(sandbox) == {person.person_id: 1, "unknown": 1}


def test_legacy_lower_attempt_caps_are_cheaper_and_may_miss(
    sandbox: SandboxServer, legacy_http: httpx.Client
) -> None:
    person = someone(
        sandbox,
        lambda p, k: (
            k.email is not None and bool(k.phones) and found_on_attempt(p, "email", 2) == 2
        ),
    )
    body = {"people": [{"id": person.person_id}], "asyncPreferred": False}
    deep = legacy_http.post("/api/people/enrich", json=body).json()
    shallow = legacy_http.post(
        "/api/people/enrich",
        json={**body, "maxEmailProviderAttempts": 1, "maxPhoneProviderAttempts": 1},
    ).json()
    assert deep["data"][0]["data"]["contact"]["email"] != []
    assert shallow["data"][0]["data"]["contact"]["email"] == []  # found on attempt 2 only
    assert shallow["meta"]["cost"]["actual"] < deep["meta"]["cost"]["actual"]
    assert shallow["meta"]["cost"]["estimated"] == 1 + 5


def test_estimate_is_the_documented_shape_and_free(
    sandbox: SandboxServer, legacy_http: httpx.Client
) -> None:
    response = legacy_http.post(
        "/api/people/enrich/estimate",
        json={
            "identities": [{"platform": "linkedin", "username": "someone"}],
            "asyncPreferred": False,
            "maxEmailProviderAttempts": 1,
            "maxPhoneProviderAttempts": 2,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_shape(EXAMPLE_ESTIMATE, body)
    assert body["data"]["estimatedCredits"] == 1 + 2 * 5
    assert body["data"]["likelySyncOrAsync"] == "sync"
    assert body["data"]["expectedLatencyRange"] == EXAMPLE_ESTIMATE["data"]["expectedLatencyRange"]
    assert body["data"]["providersLikelyUsed"] == [
        "hog-email-primary",
        "hog-phone-primary",
        "hog-phone-secondary",
    ]
    assert body["data"]["withinPlanLimits"] is True
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    async_estimate = legacy_http.post(
        "/api/people/enrich/estimate", json={"people": [{"id": "p_000001"}]}
    ).json()
    assert async_estimate["data"]["likelySyncOrAsync"] == "async"
    assert balance(sandbox) == START and submissions(sandbox) == {}
    sandbox.admin("POST", "credits", json={"provider": "thehog", "balance": 3})
    poor = legacy_http.post("/api/people/enrich/estimate", json={"people": [{"id": "p_000001"}]})
    assert poor.json()["data"]["withinPlanLimits"] is False


# ----------------------------------------------------------------------- 3.6 errors, validation


def test_validation_error_is_the_documented_envelope(thehog_http: httpx.Client) -> None:
    response = thehog_http.post(
        "/api/enrichments", json={"identifier": {"linkedin_url": "https://linkedin.com/in/x"}}
    )
    body = assert_envelope(response, 400, "Validation failed")
    assert_shape(EXAMPLE_ERROR, body)
    assert body["error"] == "Bad Request" and body["path"] == "/api/enrichments"
    assert body["errors"] == EXAMPLE_ERROR["errors"]


@pytest.mark.parametrize(
    ("payload", "prop", "rule"),
    [
        (
            {"identifier": {"email": "a@b.co"}, "identifiers": [{"email": "a@b.co"}]},
            "body",
            "exactlyOneOf",
        ),
        ({}, "body", "exactlyOneOf"),
        ({"identifier": {}}, "body.identifier", "exactlyOneOf"),
        (
            {"identifier": {"email": "a@b.co", "linkedin_url": "https://linkedin.com/in/a"}},
            "body.identifier",
            "exactlyOneOf",
        ),
        ({"identifier": {"phone": "+1"}}, "body.identifier.phone", "whitelistValidation"),
        ({"identifier": {"email": ""}}, "body.identifier.email", "isNotEmpty"),
        ({"identifiers": []}, "body.identifiers", "arrayNotEmpty"),
        ({"identifiers": [{"email": "a@b.co"}, "x"]}, "body.identifiers.1", "isObject"),
        ({"identifiers": {"email": "a@b.co"}}, "body.identifiers", "isArray"),
    ],
)
def test_identifier_xor_identifiers_and_person_identifier_rules(
    sandbox: SandboxServer,
    thehog_http: httpx.Client,
    payload: dict[str, Any],
    prop: str,
    rule: str,
) -> None:
    response = thehog_http.post("/api/enrichments", json={"fields": ["contact.email"], **payload})
    body = assert_envelope(response, 400, "Validation failed")
    assert any(e["property"] == prop and rule in e["constraints"] for e in body["errors"]), body
    assert submissions(sandbox) == {}


@pytest.mark.parametrize(
    ("fields", "rule"),
    [([], "arrayNotEmpty"), (["contact.fax"], "isIn"), ("contact.email", "isArray")],
)
def test_fields_rules(thehog_http: httpx.Client, fields: Any, rule: str) -> None:
    response = thehog_http.post(
        "/api/enrichments", json={"identifier": {"email": "a@b.co"}, "fields": fields}
    )
    body = assert_envelope(response, 400, "Validation failed")
    assert (
        body["errors"][0]["property"] == "body.fields" and rule in body["errors"][0]["constraints"]
    )


def test_non_json_body_is_a_validation_error(thehog_http: httpx.Client) -> None:
    response = thehog_http.post(
        "/api/enrichments", content=b"fields=x", headers={"content-type": "text/plain"}
    )
    assert assert_envelope(response, 400, "Validation failed")["errors"][0]["property"] == "body"


def test_100_identifiers_are_accepted_and_101_refused(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    people = sandbox.state.world.people
    batch = [{"linkedin_url": p.linkedin_url} for p in people[:101]]
    refused = thehog_http.post(
        "/api/enrichments", json={"identifiers": batch, "fields": ["contact.email"]}
    )
    body = assert_envelope(refused, 400, "Validation failed")
    assert body["errors"][0]["property"] == "body.identifiers"
    assert "arrayMaxSize" in body["errors"][0]["constraints"]
    accepted = thehog_http.post(
        "/api/enrichments", json={"identifiers": batch[:100], "fields": ["contact.email"]}
    )
    assert accepted.status_code == 202
    assert sum(submissions(sandbox).values()) == 100
    done = wait_done(thehog_http, accepted.json()["pollUrl"])
    assert len(done["result"]["items"]) == 100
    found = sum(bool(i["data"]["contact"]["email"]) for i in done["result"]["items"])
    assert balance(sandbox) == START - found


def test_legacy_validation(legacy_http: httpx.Client) -> None:
    cases = [
        ({"people": [{"id": "p_1"}], "identities": []}, "body", "exactlyOneOf"),
        (
            {"identities": [{"platform": "myspace", "username": "a"}]},
            "body.identities.0.platform",
            "isIn",
        ),
        (
            {"people": [{"id": "p_1"}], "maxEmailProviderAttempts": 3},
            "body.maxEmailProviderAttempts",
            "isInt",
        ),
        (
            {"people": [{"id": "p_1"}], "maxPhoneProviderAttempts": 0},
            "body.maxPhoneProviderAttempts",
            "isInt",
        ),
        ({"people": [{"id": "p_1"}], "asyncPreferred": "yes"}, "body.asyncPreferred", "isBoolean"),
        ({"people": [{"id": f"p_{i}"} for i in range(101)]}, "body.people", "arrayMaxSize"),
    ]
    for payload, prop, rule in cases:
        response = legacy_http.post("/api/people/enrich", json=payload)
        body = assert_envelope(response, 400, "Validation failed")
        assert any(e["property"] == prop and rule in e["constraints"] for e in body["errors"]), body


def test_unknown_operation_is_404(thehog_http: httpx.Client, legacy_http: httpx.Client) -> None:
    for client, path in [
        (thehog_http, "/api/operations/op_00000000000000000000000000"),
        (legacy_http, "/api/operations/op_00000000000000000000000000"),
        (thehog_http, "/api/enrichments/op_00000000000000000000000000"),
    ]:
        body = assert_envelope(client.get(path), 404, "Resource not found.")
        assert body["error"] == "Not Found" and body["path"] == path


# -------------------------------------------------------------------------------------- auth


def test_both_keys_are_required_and_checked(sandbox: SandboxServer) -> None:
    base = sandbox.base_url("thehog")
    body = {"identifier": {"email": "a@b.co"}, "fields": ["contact.email"]}
    for headers in [
        {"X-Access-Key": TEST_CONFIG.thehog_access_key},
        {"X-Secret-Key": TEST_CONFIG.thehog_secret_key},
        {"X-Access-Key": TEST_CONFIG.thehog_access_key, "X-Secret-Key": "sk_wrong"},
        {},
    ]:
        response = httpx.post(f"{base}/api/enrichments", headers=headers, json=body)
        envelope = assert_envelope(response, 401, "Authentication is required.")
        assert envelope["error"] == "Unauthorized"
    assert balance(sandbox) == START and submissions(sandbox) == {}


def test_legacy_bearer_only_on_legacy_routes_and_the_operations_poll(
    sandbox: SandboxServer, legacy_http: httpx.Client, thehog_http: httpx.Client
) -> None:
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifiers": [{"email": "a@b.co"}], "fields": ["contact.email"]},
    ).json()
    op_id = accepted["id"]
    assert legacy_http.get(f"/api/operations/{op_id}").status_code == 200
    for method, path in [
        ("POST", "/api/enrichments"),
        ("GET", f"/api/enrichments/{op_id}"),
        ("GET", "/api/operations"),
    ]:
        response = legacy_http.request(method, path, json={"fields": ["profile"]})
        assert_envelope(response, 401, "Authentication is required.")
    estimate = legacy_http.post("/api/people/enrich/estimate", json={"people": [{"id": "p_1"}]})
    assert estimate.status_code == 200
    wrong = httpx.post(
        f"{sandbox.base_url('thehog')}/api/people/enrich",
        headers={"Authorization": "Bearer hog_wrong"},
        json={"people": [{"id": "p_1"}]},
    )
    assert_envelope(wrong, 401, "Authentication is required.")


def test_health_is_free_and_open(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.base_url('thehog')}/api/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.headers["x-request-id"]


# ---------------------------------------------------------------------------------- credits


def test_insufficient_credits_is_402_and_nothing_happens(
    sandbox: SandboxServer, thehog_http: httpx.Client, legacy_http: httpx.Client
) -> None:
    sandbox.admin("POST", "credits", json={"provider": "thehog", "balance": 5})
    person = fully_known(sandbox)
    # worst case 1 + 5 = 6 > 5, even though this person's actual cost would fit
    for payload in [
        {
            "identifier": {"linkedin_url": person.linkedin_url},
            "fields": ["contact.email", "contact.phone"],
        },
        {"identifiers": [{"email": person.work_email}] * 6, "fields": ["contact.email"]},
    ]:
        response = thehog_http.post("/api/enrichments", json=payload)
        assert (
            assert_envelope(response, 402, "Insufficient credits.")["error"] == "Payment Required"
        )
    legacy = legacy_http.post("/api/people/enrich", json={"people": [{"id": person.person_id}]})
    assert_envelope(legacy, 402, "Insufficient credits.")
    assert balance(sandbox) == 5 and net_charged(sandbox) == 0
    assert submissions(sandbox) == {}
    assert thehog_http.get("/api/operations").json() == []
    # what the wallet covers still goes through
    ok = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"linkedin_url": person.linkedin_url}, "fields": ["contact.email"]},
    )
    assert ok.status_code == 200 and balance(sandbox) == 4


# -------------------------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_the_same_operation_and_costs_nothing(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    key = {"Idempotency-Key": "2f1d6a0e-8c1b-4b7e-9f4a-6d2c8e0b1a35"}
    body = {"identifiers": [{"linkedin_url": person.linkedin_url}], "fields": ["contact.email"]}
    first = thehog_http.post("/api/enrichments", headers=key, json=body)
    done = wait_done(thehog_http, first.json()["pollUrl"])
    assert done["status"] == "succeeded"
    wallet, counted = balance(sandbox), sandbox.counters()
    # even a different body: the first request wins
    for replay_body in [body, {**body, "fields": ["profile", "signals"]}]:
        again = thehog_http.post("/api/enrichments", headers=key, json=replay_body)
        assert again.status_code == 202
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["pollUrl"] == first.json()["pollUrl"]
        assert again.json()["meta"]["requestId"] == again.headers["x-request-id"]
        assert again.json()["meta"]["requestId"] != first.json()["meta"]["requestId"]
    assert balance(sandbox) == wallet == START - 1
    after = sandbox.counters()
    assert after["submissions"] == counted["submissions"]
    assert after["credits_net"] == counted["credits_net"]
    assert len(thehog_http.get("/api/operations").json()) == 1


def test_idempotent_sync_replay_is_not_charged_twice(
    sandbox: SandboxServer, thehog_http: httpx.Client, legacy_http: httpx.Client
) -> None:
    person = fully_known(sandbox)
    key = {"Idempotency-Key": "sync-key-1"}
    body = {"identifier": {"linkedin_url": person.linkedin_url}, "fields": ["contact.email"]}
    first = thehog_http.post("/api/enrichments", headers=key, json=body).json()
    second = thehog_http.post("/api/enrichments", headers=key, json=body).json()
    assert first["data"] == second["data"] and balance(sandbox) == START - 1
    # legacy replay: same operation, with the estimated cost in meta
    legacy_key = {"Idempotency-Key": "legacy-key-1"}
    legacy_body = {"people": [{"id": person.person_id}]}
    one = legacy_http.post("/api/people/enrich", headers=legacy_key, json=legacy_body).json()
    two = legacy_http.post("/api/people/enrich", headers=legacy_key, json=legacy_body).json()
    assert two["operationId"] == one["operationId"] and two["pollUrl"] == one["pollUrl"]
    assert "estimatedCost" not in one["meta"] and two["meta"]["estimatedCost"] == 17
    assert submissions(sandbox) == {person.person_id: 2}


def test_idempotency_key_expires_after_24_scaled_hours(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    sandbox.admin("POST", "config", json={"speed": 1e-6})  # 24 h last 86 ms
    key = {"Idempotency-Key": "short-lived"}
    body = {"identifiers": [{"email": "a@b.co"}], "fields": ["contact.email"]}
    first = thehog_http.post("/api/enrichments", headers=key, json=body).json()["id"]
    deadline = time.monotonic() + 2
    while (again := thehog_http.post("/api/enrichments", headers=key, json=body)).json()[
        "id"
    ] == first:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert again.status_code == 202 and "idempotent-replayed" not in again.headers
    assert submissions(sandbox) == {"unknown": 2}


def test_dropped_answer_after_submit_is_recovered_with_the_same_key(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    sandbox.admin(
        "POST",
        "faults",
        json={
            "provider": "thehog",
            "kind": "drop",
            "after": True,
            "count": 1,
            "route": "POST /api/enrichments",
        },
    )
    key = {"Idempotency-Key": "retry-after-drop"}
    body = {
        "identifiers": [{"email": fully_known(sandbox).work_email}],
        "fields": ["contact.email"],
    }
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        thehog_http.post("/api/enrichments", headers=key, json=body)
    retry = thehog_http.post("/api/enrichments", headers=key, json=body)
    assert retry.status_code == 202
    assert [op["id"] for op in thehog_http.get("/api/operations").json()] == [retry.json()["id"]]
    assert sum(submissions(sandbox).values()) == 1


# ------------------------------------------------------------------------- operations list


def test_operations_list_newest_first_with_limit_and_status(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    ids = []
    for ident in [{"email": "a@nowhere.test"}, {"email": fully_known(sandbox).work_email}] * 2:
        accepted = thehog_http.post(
            "/api/enrichments", json={"identifiers": [ident], "fields": ["contact.email"]}
        ).json()
        ids.append(accepted["id"])
    for op_id in ids:
        wait_done(thehog_http, f"/api/operations/{op_id}")
    listed = thehog_http.get("/api/operations")
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert [op["id"] for op in listed.json()] == ids[::-1]
    assert all(set(op) == {"id", "status", "progress", "result", "error"} for op in listed.json())
    assert [op["id"] for op in thehog_http.get("/api/operations?limit=2").json()] == ids[:1:-1]
    failed = thehog_http.get("/api/operations", params={"status": "failed"}).json()
    assert [op["id"] for op in failed] == [ids[2], ids[0]]
    for query in ["limit=101", "limit=0", "limit=ten", "status=running"]:
        assert_envelope(thehog_http.get(f"/api/operations?{query}"), 400, "Validation failed")


# ------------------------------------------------------------------------------ rate limits


def test_polling_bucket_is_300_per_minute(
    sandbox: SandboxServer, thehog_http: httpx.Client, legacy_http: httpx.Client
) -> None:
    accepted = thehog_http.post(
        "/api/enrichments", json={"identifiers": [{"email": "a@b.co"}], "fields": ["contact.email"]}
    ).json()
    # a minute lasts 6 s at speed 0.1: room enough for 301 quick polls on a slow machine
    sandbox.admin("POST", "config", json={"speed": 0.1})
    poll = f"/api/operations/{accepted['id']}"
    statuses = [legacy_http.get(poll) for _ in range(301)]
    assert [r.status_code for r in statuses[:300]] == [200] * 300
    # the headers report the binding bucket: the polling one once it runs low
    assert statuses[299].headers["x-ratelimit-limit"] == "300"
    assert statuses[299].headers["x-ratelimit-remaining"] == "0"
    refused = statuses[300]
    assert_envelope(refused, 429, "Rate limit exceeded. Please slow down and retry.")
    assert refused.json()["error"] == "Too Many Requests"
    assert 0 < float(refused.headers["retry-after"]) <= 6
    assert refused.headers["x-ratelimit-limit"] == "300"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in refused.headers
    # the other routes still answer: only the polling bucket is spent
    assert thehog_http.get(f"/api/enrichments/{accepted['id']}").status_code == 200


def test_global_limit_is_600_per_minute(sandbox: SandboxServer, thehog_http: httpx.Client) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.1})
    responses = [thehog_http.get("/api/operations?limit=1") for _ in range(601)]
    assert {r.status_code for r in responses[:600]} == {200}
    refused = responses[600]
    assert_envelope(refused, 429, "Rate limit exceeded. Please slow down and retry.")
    assert refused.headers["x-ratelimit-limit"] == "600"
    assert float(refused.headers["retry-after"]) > 0
    counted = sandbox.counters()["requests"]["thehog"]["GET /api/operations"]
    assert counted == {"200": 600, "429": 1}


# ------------------------------------------------------------------------------------ faults


def add_fault(sandbox: SandboxServer, **rule: Any) -> None:
    sandbox.admin("POST", "faults", json={"provider": "thehog", **rule})


def test_rate_limit_storm_then_recovery(sandbox: SandboxServer, thehog_http: httpx.Client) -> None:
    add_fault(sandbox, kind="rate_limit", count=3, retry_after_s=2)
    codes = [thehog_http.get("/api/operations") for _ in range(4)]
    assert [r.status_code for r in codes] == [429, 429, 429, 200]
    assert_envelope(codes[0], 429, "Rate limit exceeded. Please slow down and retry.")
    assert float(codes[0].headers["retry-after"]) == pytest.approx(0.02)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_use_the_envelope(
    sandbox: SandboxServer, thehog_http: httpx.Client, status: int
) -> None:
    add_fault(sandbox, kind=f"error_{status}", count=1, route="POST /api/enrichments")
    response = thehog_http.post(
        "/api/enrichments", json={"identifiers": [{"email": "a@b.co"}], "fields": ["contact.email"]}
    )
    assert response.status_code == status
    body = response.json()
    assert body["statusCode"] == status and body["requestId"] == response.headers["x-request-id"]
    assert submissions(sandbox) == {} and thehog_http.get("/api/operations").json() == []


def test_slow_timeout_drop_and_malformed(sandbox: SandboxServer, thehog_http: httpx.Client) -> None:
    add_fault(sandbox, kind="slow", delay_s=0.2, count=1, route="GET /api/operations")
    started = time.monotonic()
    assert thehog_http.get("/api/operations").status_code == 200
    assert time.monotonic() - started >= 0.2
    add_fault(sandbox, kind="timeout", delay_s=1.0, count=1, route="GET /api/operations")
    with pytest.raises(httpx.ReadTimeout):
        thehog_http.get("/api/operations", timeout=0.2)
    add_fault(sandbox, kind="drop", count=1, route="GET /api/operations")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        thehog_http.get("/api/operations")
    add_fault(sandbox, kind="malformed", count=1, route="GET /api/operations")
    with pytest.raises(json.JSONDecodeError):
        thehog_http.get("/api/operations").json()
    assert thehog_http.get("/api/operations").json() == []


def test_job_stuck_never_finishes_and_costs_nothing(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    add_fault(sandbox, kind="job_stuck", count=1)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifiers": [{"email": fully_known(sandbox).work_email}], "fields": ["profile"]},
    ).json()
    deadline = time.monotonic() + 0.3  # ~10x the job's normal duration at speed 0.01
    while time.monotonic() < deadline:
        body = thehog_http.get(accepted["pollUrl"]).json()
        assert body["status"] in ("queued", "processing") and body["result"] is None
        time.sleep(0.02)
    assert body["status"] == "processing" and body["progress"] < 100
    assert balance(sandbox) == START


def test_job_fail_ends_failed_with_an_error_and_costs_nothing(
    sandbox: SandboxServer, thehog_http: httpx.Client
) -> None:
    add_fault(sandbox, kind="job_fail", count=1)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifiers": [{"email": fully_known(sandbox).work_email}], "fields": ["profile"]},
    ).json()
    done = wait_done(thehog_http, accepted["pollUrl"])
    assert done["status"] == "failed" and done["result"] is None
    assert (
        set(done["error"]) == {"message", "code"} and done["error"]["code"] == "enrichment_failed"
    )
    assert balance(sandbox) == START and net_charged(sandbox) == 0


def test_every_authenticated_response_carries_its_request_id(
    thehog_http: httpx.Client, legacy_http: httpx.Client
) -> None:
    responses = [
        thehog_http.get("/api/operations"),
        thehog_http.post("/api/enrichments", json={}),
        thehog_http.get("/api/operations/op_nope"),
        legacy_http.post("/api/people/enrich/estimate", json={"people": [{"id": "p_1"}]}),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)
