"""enrich.so sandbox: single lookups, wallet, auth, rate limits and request faults (providers.md 2)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.conftest import TEST_CONFIG
from enrich_pipeline_tests.sandbox.enrichso_helpers import (
    HEX24,
    PROVIDER,
    assert_problem,
    balance,
    catch_all_person,
    credits_net,
    knows,
    person_where,
    reachable,
    submissions,
    without_profile,
)

START = TEST_CONFIG.enrichso_credits


def _lead(person: object) -> dict[str, str]:
    return {
        "firstName": person.first_name,  # type: ignore[attr-defined]
        "lastName": person.last_name,  # type: ignore[attr-defined]
        "domain": person.company.domain,  # type: ignore[attr-defined]
    }


# ------------------------------------------------------------------------------ email validation


def test_validation_charges_one_credit_per_definite_answer(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    lina = reachable(world)
    stale = person_where(world, lambda p, k: bool(p.stale_emails))
    valid = enrichso_http.post("/email-validation", json={"email": lina.work_email}).json()
    assert valid["data"]["result"] == "valid"
    assert valid["data"]["confidence"] in ("definitive", "high")
    invalid = enrichso_http.post("/email-validation", json={"email": stale.stale_emails[0]}).json()
    assert invalid["data"]["result"] == "invalid" and invalid["meta"]["creditsUsed"] == 1
    assert balance(sandbox) == START - 2 == invalid["meta"]["creditsRemaining"]
    assert submissions(sandbox) == {lina.person_id: 1, stale.person_id: 1}


def test_validation_risky_is_free(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    ops = catch_all_person(sandbox.state.world)
    body = enrichso_http.post("/email-validation", json={"email": ops.work_email}).json()
    assert body["data"]["result"] == "risky"
    assert body["data"]["isCatchAll"] is True and body["data"]["confidence"] == "low"
    assert body["meta"]["creditsUsed"] == 0 and balance(sandbox) == START
    unknown = enrichso_http.post("/email-validation", json={"email": "someone@unknown-zz.io"})
    assert (
        unknown.json()["data"]["result"] == "risky" and unknown.json()["meta"]["creditsUsed"] == 0
    )
    assert credits_net(sandbox) == 0


def test_validation_legacy_shape(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    sandbox.admin("POST", "config", json={"enrichso_shape": "legacy"})
    lina = reachable(sandbox.state.world)
    body = enrichso_http.post("/email-validation", json={"email": lina.work_email}).json()
    assert body["data"] == {
        "email": lina.work_email,
        "status": "valid",
        "subStatus": "",
        "freeEmail": False,
        "disposable": False,
        "catchAll": False,
    }
    assert body["meta"]["creditsUsed"] == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "body must have required property 'email'"),
        ({"email": "not-an-email"}, "body/email Invalid email"),
        ({"email": 42}, "body/email must be string"),
        ({"email": "a" * 250 + "@x.io"}, "body/email must NOT have more than 254 characters"),
        ([], "body must be object"),
    ],
)
def test_validation_rejects_bad_input(
    sandbox: SandboxServer, enrichso_http: httpx.Client, body: object, detail: str
) -> None:
    response = enrichso_http.post("/email-validation", json=body)
    assert assert_problem(response, 400, "validation-error")["detail"] == detail
    assert balance(sandbox) == START and submissions(sandbox) == {}


def test_non_json_body_is_a_validation_error(enrichso_http: httpx.Client) -> None:
    response = enrichso_http.post(
        "/email-validation", content=b"email=x", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 400, "validation-error")


# ---------------------------------------------------------------------------------- email finder


def test_finder_found_charges_ten(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    lina = reachable(sandbox.state.world)
    lead = {**_lead(lina), "firstName": lina.first_name.upper()}  # names match case-insensitively
    body = enrichso_http.post("/email-finder", json=lead).json()
    assert body["data"]["found"] is True and body["data"]["email"] == lina.work_email
    assert body["data"]["firstName"] == lead["firstName"]  # the input is echoed as sent
    assert body["meta"]["creditsUsed"] == 10 and balance(sandbox) == START - 10


def test_finder_catch_all_answer_is_low_confidence(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    ops = person_where(world, lambda p, k: p.company.catch_all and k.email == p.work_email)
    body = enrichso_http.post("/email-finder", json=_lead(ops)).json()
    assert body["data"]["found"] is True
    assert body["data"]["isCatchAll"] is True and body["data"]["confidence"] == "low"


def test_finder_not_found_is_free(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    nobody = without_profile(sandbox.state.world)
    body = enrichso_http.post("/email-finder", json=_lead(nobody)).json()
    assert body["data"] == {
        **_lead(nobody),
        "found": False,
        "message": "No professional email found",
    }
    assert body["meta"]["creditsUsed"] == 0 and balance(sandbox) == START
    assert submissions(sandbox) == {nobody.person_id: 1}


def test_finder_requires_every_field(enrichso_http: httpx.Client) -> None:
    response = enrichso_http.post("/email-finder", json={"firstName": "Lina", "lastName": "Okafor"})
    assert assert_problem(response, 400, "validation-error")["detail"] == (
        "body must have required property 'domain'"
    )
    long_name = {"firstName": "L" * 101, "lastName": "Okafor", "domain": "northwind-labs.io"}
    response = enrichso_http.post("/email-finder", json=long_name)
    assert "body/firstName" in assert_problem(response, 400, "validation-error")["detail"]


# -------------------------------------------------------------------------------- reverse lookup


def test_reverse_lookup_returns_the_profile(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    lina = reachable(sandbox.state.world)
    body = enrichso_http.post("/reverse-lookup/lookup", json={"email": lina.work_email}).json()
    data = body["data"]
    assert data["id"] == lina.profile_id and data["displayName"].startswith(lina.first_name)
    assert data["skills"] == list(lina.skills)
    history = data["positions"]["positionHistory"]
    assert data["positions"]["positionsCount"] == len(history) == len(lina.positions)
    assert history[0]["title"] == lina.positions[0].title
    assert history[0]["startEndDate"]["end"] is None  # current role
    assert data["schools"]["educationsCount"] == len(lina.education)
    assert body["meta"]["creditsUsed"] == 10 and balance(sandbox) == START - 10


def test_reverse_lookup_without_profile_is_refunded(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    nobody = without_profile(sandbox.state.world)
    body = enrichso_http.post("/reverse-lookup/lookup", json={"email": nobody.work_email}).json()
    assert body["data"] == {"found": False, "email": nobody.work_email}
    assert body["meta"]["creditsUsed"] == 0 and balance(sandbox) == START
    listing = enrichso_http.get("/wallets/transactions").json()["data"]["transactions"]
    assert [(t["type"], t["amount"]) for t in listing] == [("refund", 10), ("deduction", -10)]
    assert credits_net(sandbox) == 0


# ------------------------------------------------------------------------------------ phones


def test_phones_by_linkedin_or_email(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    world = sandbox.state.world
    lina = reachable(world)
    expected = [p.number for p in knows(world, lina).phones]
    by_url = enrichso_http.get("/reverse-lookup/phones", params={"linkedin": lina.linkedin_url})
    by_email = enrichso_http.get("/reverse-lookup/phones", params={"email": lina.work_email})
    for response in (by_url, by_email):
        assert response.json()["data"] == {"found": True, "phones": expected}
        assert all(n.startswith("+") for n in response.json()["data"]["phones"])
    assert balance(sandbox) == START - 1000
    assert submissions(sandbox) == {lina.person_id: 2}


def test_phones_none_found_is_free(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    nobody = without_profile(sandbox.state.world)
    body = enrichso_http.get("/reverse-lookup/phones", params={"email": nobody.work_email}).json()
    assert body["data"] == {"found": False, "phones": []}
    assert body["meta"]["creditsUsed"] == 0 and balance(sandbox) == START


def test_phones_legacy_shape(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    sandbox.admin("POST", "config", json={"enrichso_shape": "legacy"})
    lina = reachable(sandbox.state.world)
    body = enrichso_http.get("/reverse-lookup/phones", params={"linkedin": lina.linkedin_url})
    phones = knows(sandbox.state.world, lina).phones
    assert body.json()["data"] == {
        "found": True,
        "phones": [{"number": p.number, "type": p.type} for p in phones],
    }


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "querystring must have at least one of 'email' or 'linkedin'"),
        ({"email": "nope"}, "querystring/email Invalid email"),
        (
            {"linkedin": "https://example.com/x"},
            "querystring/linkedin Invalid LinkedIn profile URL",
        ),
    ],
)
def test_phones_rejects_bad_query(
    sandbox: SandboxServer, enrichso_http: httpx.Client, params: dict[str, str], detail: str
) -> None:
    response = enrichso_http.get("/reverse-lookup/phones", params=params)
    assert assert_problem(response, 400, "validation-error")["detail"] == detail
    assert balance(sandbox) == START


# ------------------------------------------------------------------------------ credits and 402


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "price"),
    [
        ("POST", "/email-validation", {"json": {"email": "x@unknown-zz.io"}}, 1),
        (
            "POST",
            "/email-finder",
            {"json": {"firstName": "A", "lastName": "B", "domain": "c.io"}},
            10,
        ),
        ("POST", "/reverse-lookup/lookup", {"json": {"email": "x@unknown-zz.io"}}, 10),
        ("GET", "/reverse-lookup/phones", {"params": {"email": "x@unknown-zz.io"}}, 500),
    ],
)
def test_single_lookup_402_charges_nothing(
    sandbox: SandboxServer,
    enrichso_http: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, object],
    price: int,
) -> None:
    available = price - 1
    sandbox.admin("POST", "credits", json={"provider": PROVIDER, "balance": available})
    response = enrichso_http.request(method, path, **kwargs)  # type: ignore[arg-type]
    body = assert_problem(response, 402, "insufficient-credits")
    assert body["detail"] == f"Not enough credits. Required: {price}, available: {available}"
    assert balance(sandbox) == available and submissions(sandbox) == {}
    assert credits_net(sandbox) == 0


def test_counters_agree_with_the_wallet(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    world = sandbox.state.world
    lina, nobody, ops = reachable(world), without_profile(world), catch_all_person(world)
    for email in (lina.work_email, nobody.work_email, ops.work_email):
        enrichso_http.post("/email-validation", json={"email": email})
        enrichso_http.post("/reverse-lookup/lookup", json={"email": email})
        enrichso_http.get("/reverse-lookup/phones", params={"email": email})
    enrichso_http.post("/email-finder", json=_lead(lina))
    assert credits_net(sandbox) == START - balance(sandbox)
    listing = enrichso_http.get("/wallets/transactions", params={"limit": 100}).json()["data"]
    assert sum(t["amount"] for t in listing["transactions"]) == balance(sandbox) - START
    assert sum(submissions(sandbox).values()) == 10


# ----------------------------------------------------------------------------------------- wallet


def test_wallet_balance(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    sandbox.admin("POST", "credits", json={"provider": PROVIDER, "balance": 47180})
    data = enrichso_http.get("/wallets/balance").json()["data"]
    assert data["balance"] == 47180 and data["currency"] == "credits"
    assert HEX24.match(data["organizationId"]) and data["asOf"].endswith("Z")


def test_wallet_transactions_paging_and_filter(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    lina = reachable(sandbox.state.world)
    for _ in range(25):
        enrichso_http.post("/email-validation", json={"email": lina.work_email})
    enrichso_http.post("/reverse-lookup/lookup", json={"email": "x@unknown-zz.io"})  # + refund
    first = enrichso_http.get("/wallets/transactions").json()["data"]
    assert len(first["transactions"]) == 20  # default limit 20 (CONFLICT 20/50: the reference)
    assert first["pagination"] == {"page": 1, "limit": 20, "total": 27, "totalPages": 2}
    assert first["transactions"][0]["type"] == "refund"  # newest first
    second = enrichso_http.get("/wallets/transactions", params={"page": 2}).json()["data"]
    assert len(second["transactions"]) == 7
    refunds = enrichso_http.get("/wallets/transactions", params={"type": "refund"}).json()["data"]
    assert [t["amount"] for t in refunds["transactions"]] == [10]
    assert refunds["transactions"][0]["balanceAfter"] == balance(sandbox)


@pytest.mark.parametrize(
    "params",
    [{"limit": "101"}, {"limit": "0"}, {"page": "0"}, {"page": "x"}, {"type": "bonus"}],
)
def test_wallet_transactions_rejects_bad_query(
    enrichso_http: httpx.Client, params: dict[str, str]
) -> None:
    response = enrichso_http.get("/wallets/transactions", params=params)
    assert assert_problem(response, 400, "validation-error")["detail"].startswith("querystring/")


# ------------------------------------------------------------------------------------------- auth


def test_missing_or_wrong_key_is_401(sandbox: SandboxServer) -> None:
    base = sandbox.base_url(PROVIDER)
    assert_problem(httpx.get(base + "/wallets/balance"), 401, "unauthorized")
    wrong = httpx.get(base + "/wallets/balance", headers={"x-api-key": "sk_wrong"})
    assert_problem(wrong, 401, "unauthorized")
    bearer = {"authorization": f"Bearer {TEST_CONFIG.enrichso_api_key}"}
    assert httpx.get(base + "/wallets/balance", headers=bearer).status_code == 200


# ------------------------------------------------------------------------------------ rate limits


def test_free_plan_burst_limit(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    # Real speed for this test, so the 1 s burst window cannot slide by between quick requests.
    sandbox.admin("POST", "config", json={"enrichso_plan": "free", "speed": 1})
    responses = [enrichso_http.get("/wallets/balance") for _ in range(6)]
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    ok, limited = responses[0], responses[-1]
    assert ok.headers["X-RateLimit-Limit"] == "5" and ok.headers["X-RateLimit-Remaining"] == "4"
    body = assert_problem(limited, 429, "rate-limit-exceeded")
    assert body["title"] == "Too Many Requests"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Reset"].isdigit()  # seconds until reset, not an epoch
    assert int(limited.headers["X-RateLimit-Reset"]) <= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_free_plan_single_lookup_cap(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    """10 single lookups a minute on Free, under the 5 req/s burst; X-RateLimit-Limit names the
    binding rule, so burst refusals (limit 5) are told apart from the lookup cap (limit 10)."""
    # speed 0.05: a 50 ms burst window, a 3 s window for the lookup cap.
    sandbox.admin("POST", "config", json={"enrichso_plan": "free", "speed": 0.05})
    accepted, deadline = 0, time.monotonic() + 2.5
    while time.monotonic() < deadline:
        response = enrichso_http.post("/email-validation", json={"email": "x@unknown-zz.io"})
        if response.status_code == 200:
            accepted += 1
        elif response.headers["X-RateLimit-Limit"] == "10":
            break
    assert_problem(response, 429, "rate-limit-exceeded")
    assert accepted == 10


# ------------------------------------------------------------------------------- request faults


@pytest.mark.parametrize(
    ("status", "slug"),
    [(500, "internal-error"), (502, "upstream-failure"), (503, "service-unavailable")],
)
def test_server_error_faults(
    sandbox: SandboxServer, enrichso_http: httpx.Client, status: int, slug: str
) -> None:
    rule = {
        "provider": PROVIDER,
        "kind": f"error_{status}",
        "count": 1,
        "route": "POST /email-finder",
    }
    sandbox.admin("POST", "faults", json=rule)
    lina = reachable(sandbox.state.world)
    assert_problem(enrichso_http.post("/email-finder", json=_lead(lina)), status, slug)
    assert balance(sandbox) == START and submissions(sandbox) == {}
    assert enrichso_http.post("/email-finder", json=_lead(lina)).status_code == 200


def test_rate_limit_storm_fault(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    rule = {"provider": PROVIDER, "kind": "rate_limit", "count": 3, "retry_after_s": 2}
    sandbox.admin("POST", "faults", json=rule)
    codes = [enrichso_http.get("/wallets/balance") for _ in range(4)]
    assert [r.status_code for r in codes] == [429, 429, 429, 200]
    assert_problem(codes[0], 429, "rate-limit-exceeded")
    assert float(codes[0].headers["Retry-After"]) > 0


def test_slow_and_timeout_faults(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    slow = {"provider": PROVIDER, "kind": "slow", "count": 1, "delay_s": 0.2}
    sandbox.admin("POST", "faults", json=slow)
    started = time.monotonic()
    assert enrichso_http.get("/wallets/balance").status_code == 200
    assert time.monotonic() - started >= 0.2
    timeout = {"provider": PROVIDER, "kind": "timeout", "count": 1, "delay_s": 1.0}
    sandbox.admin("POST", "faults", json=timeout)
    with pytest.raises(httpx.ReadTimeout):
        enrichso_http.get("/wallets/balance", timeout=0.2)


def test_drop_and_malformed_faults(sandbox: SandboxServer, enrichso_http: httpx.Client) -> None:
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "drop", "count": 1})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        enrichso_http.get("/wallets/balance")
    sandbox.admin("POST", "faults", json={"provider": PROVIDER, "kind": "malformed", "count": 1})
    response = enrichso_http.get("/wallets/balance")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_drop_after_processing_still_bills(
    sandbox: SandboxServer, enrichso_http: httpx.Client
) -> None:
    """A lost answer to a lookup that did run: the provider has billed; a retry bills again."""
    rule = {"provider": PROVIDER, "kind": "drop", "count": 1, "after": True}
    sandbox.admin("POST", "faults", json=rule)
    lina = reachable(sandbox.state.world)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        enrichso_http.post("/email-finder", json=_lead(lina))
    assert balance(sandbox) == START - 10
    enrichso_http.post("/email-finder", json=_lead(lina))
    assert balance(sandbox) == START - 20 and submissions(sandbox) == {lina.person_id: 2}
