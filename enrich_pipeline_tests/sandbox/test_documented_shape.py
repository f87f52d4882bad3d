"""`shape: documented` for lemlist and The Hog: every answer carries only what providers.md marks
DOC, in the documented shape, so clients are tested against what a live API is known to send.

The default `rich` shape (the sandbox's guesses for what the docs leave open) is covered by
test_lemlist*.py and test_thehog.py; one example per provider here checks it is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.sandbox import test_lemlist as lem
from enrich_pipeline_tests.sandbox import test_thehog as hog
from enrich_pipeline_tests.sandbox.test_lemlist import lemlist_client  # noqa: F401  (`lemlist`)
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

# providers.md 1.8: the LinkedIn profile object and its nested parts.
PROFILE_FIELDS = {
    "linkedinUrl",
    "linkedinMemberId",
    "linkedinClassicId",
    "firstName",
    "lastName",
    "picture",
    "locationName",
    "tagline",
    "industry",
    "summary",
    "languages",
    "skills",
    "occupation",
    "companyName",
    "companyLinkedinUrl",
    "companyDomain",
    "companyId",
    "companyWebsite",
    "companyDescription",
    "companyFoundedOn",
    "companyEmployeesOnLinkedin",
    "companyIndustry",
    "companyLogo",
    "companyType",
    "companyHeadQuarter",
    "companySize",
    "positionGroups",
}
GROUP_COMPANY_FIELDS = {
    "id",
    "name",
    "linkedinUrl",
    "linkedinUrlSalesNav",
    "logo",
    "domain",
    "website",
    "industry",
    "description",
    "employeesOnLinkedin",
    "foundedOn",
    "headQuarter",
    "size",
    "type",
}
EMAIL_STATUSES = {"deliverable", "risky", "undeliverable", "unknown"}  # providers.md 1.8
POLL_KEYS = {"enrichmentId", "enrichmentStatus", "input", "data"}  # providers.md 1.6
OPERATION_KEYS = {"id", "status", "progress", "result", "error"}  # providers.md 3.3
ALL_FLAGS = ("findEmail", "findPhone", "linkedinEnrichment", "verifyEmail")


@pytest.fixture
def documented(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The live sandbox switched to the documented shape at runtime, and back to rich after."""
    assert sandbox.admin("POST", "config", json={"shape": "documented"})["shape"] == "documented"
    yield sandbox
    sandbox.admin("POST", "config", json={"shape": "rich"})


@pytest.fixture
def legacy(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """The Hog's legacy API (Bearer key)."""
    key = sandbox.config.thehog_legacy_api_key
    with httpx.Client(
        base_url=sandbox.base_url("thehog"), headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        yield client


def assert_date(date: dict[str, Any]) -> None:
    assert set(date) == {"start", "end"} and set(date["start"]) == {"month", "year"}
    assert set(date["end"]) in (set(), {"month", "year"})  # empty end = current role


def assert_documented_profile(profile: dict[str, Any]) -> None:
    """Only the keys of providers.md 1.7 / 1.8, recursively; no `notFound` beside them."""
    assert set(profile) <= PROFILE_FIELDS, set(profile) - PROFILE_FIELDS
    for group in profile["positionGroups"]:
        assert set(group) == {"company", "date", "profilePositions"}
        assert set(group["company"]) <= GROUP_COMPANY_FIELDS
        assert_date(group["date"])
        for position in group["profilePositions"]:
            assert set(position) <= {"title", "description", "companyName", "date"}
            assert_date(position["date"])


def spent(sandbox: SandboxServer, provider: str) -> int:
    return int(sandbox.counters()["credits_net"].get(provider, 0))


# ------------------------------------------------------------------------------------- lemlist


def test_lemlist_poll_carries_only_documented_fields(
    documented: SandboxServer, lemlist: httpx.Client
) -> None:
    lem.slow_jobs(documented)  # long enough to see the in-progress answer
    person = lem.person_where(documented, lem.fully_known)
    known = lem.knowledge(documented, person)
    enrichment_id = lem.submit(
        lemlist, *ALL_FLAGS, linkedinUrl=person.linkedin_url, email=person.work_email
    )
    # `input` echoes the five documented inputs; an echoed `email` is only presumed (1.6)
    running = lemlist.get(f"/enrich/{enrichment_id}")
    assert running.status_code == 202
    assert running.json() == {
        "enrichmentId": enrichment_id,
        "enrichmentStatus": "in-progress",
        "input": {"linkedinUrl": person.linkedin_url},
        "data": {},
    }
    done = lem.wait_result(lemlist, enrichment_id).json()
    assert set(done) == POLL_KEYS and done["enrichmentStatus"] == "done"
    assert done["input"] == {"linkedinUrl": person.linkedin_url}
    data = done["data"]
    assert set(data) == {"email", "phone", "linkedin", "verify"}
    assert data["email"] == {"email": known.email, "notFound": False}  # 1.6: no status
    assert data["phone"] == {"phone": known.phones[0].number, "notFound": False}
    verdict = documented.state.world.email_verdict(person.work_email)
    assert data["verify"] == {"email": person.work_email, "status": verdict}
    assert verdict in EMAIL_STATUSES
    assert_documented_profile(data["linkedin"])
    assert data["linkedin"]["linkedinUrl"] == person.linkedin_url


def test_lemlist_not_found_types_carry_only_the_flag(
    documented: SandboxServer, lemlist: httpx.Client
) -> None:
    person = lem.person_where(documented, lem.unknown)
    flags = ("findEmail", "findPhone", "linkedinEnrichment")
    inputs = {"linkedinUrl": person.linkedin_url, "email": person.work_email}
    done = lem.wait_result(lemlist, lem.submit(lemlist, *flags, **inputs))
    assert set(done.json()) == POLL_KEYS
    assert done.json()["input"] == {"linkedinUrl": person.linkedin_url}  # no presumed `email`
    assert done.json()["data"] == {
        "email": {"email": None, "notFound": True},
        "phone": {"phone": None, "notFound": True},
        "linkedin": {"notFound": True},
    }
    assert spent(documented, "lemlist") == 1  # linkedin_enrichment is charged found or not


def test_lemlist_failed_job_polls_done_not_found_and_webhooks_enrichment_error(
    documented: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    documented.admin("POST", "faults", json={"provider": "lemlist", "kind": "job_fail", "count": 1})
    person = lem.person_where(documented, lem.fully_known)
    enrichment_id = lem.submit(
        lemlist,
        "findEmail",
        "findPhone",
        "verifyEmail",
        linkedinUrl=person.linkedin_url,
        email=person.work_email,
        webhookUrl=webhook_receiver.url,
    )
    done = lem.wait_result(lemlist, enrichment_id).json()
    assert set(done) == POLL_KEYS  # no top-level `error`: 1.6 documents none
    assert done["data"] == {
        "email": {"email": None, "notFound": True},
        "phone": {"phone": None, "notFound": True},
        "verify": {"notFound": True},
    }
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery["body"] == {
        "type": "enrichmentError",
        "data": [{"id": enrichment_id, "data": {}, "error": "Enrichment failed"}],
    }
    assert documented.counters()["credits_charged"] == {}


def test_lemlist_unpaid_type_is_not_found_and_the_webhook_is_enrichment_error(
    documented: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    documented.admin("POST", "credits", json={"provider": "lemlist", "balance": 3})
    person = lem.person_where(documented, lambda k: k.email_status == "deliverable")
    enrichment_id = lem.submit(
        lemlist,
        "findEmail",
        "verifyEmail",
        linkedinUrl=person.linkedin_url,
        email=person.work_email,
        webhookUrl=webhook_receiver.url,
    )
    done = lem.wait_result(lemlist, enrichment_id).json()
    verify = {"email": person.work_email, "status": "deliverable"}
    assert set(done) == POLL_KEYS
    assert done["data"] == {"email": {"email": None, "notFound": True}, "verify": verify}
    (delivery,) = webhook_receiver.wait_for(1)
    (item,) = delivery["body"]["data"]
    assert delivery["body"]["type"] == "enrichmentError"
    assert item == {
        "id": enrichment_id,
        "data": {"verify": verify},
        "error": "Insufficient credits",
    }
    assert lem.balance(lemlist) == 2  # verify's 1 was paid, find_email's 5 could not be


def test_lemlist_enrichment_done_webhook_is_keyed_by_workflow_without_not_found_types(
    documented: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    everything = lem.person_where(documented, lem.fully_known)
    no_phone = lem.person_where(documented, lambda k: k.email_status == "risky" and not k.phones)
    body = [
        {
            "input": {"linkedinUrl": everything.linkedin_url},
            "enrichmentRequests": ["find_email", "find_phone", "linkedin_enrichment"],
            "metadata": {"crm_id": "C-1"},
        },
        {
            "input": {"linkedinUrl": no_phone.linkedin_url},
            "enrichmentRequests": ["find_email", "find_phone"],
            "metadata": "C-2",
        },
    ]
    lemlist.post("/v2/enrichments/bulk", params={"webhookUrl": webhook_receiver.url}, json=body)
    items: dict[str, Any] = {}
    for delivery in webhook_receiver.wait_for(2):
        assert set(delivery["body"]) == {"type", "data"}
        assert delivery["body"]["type"] == "enrichmentDone"
        (item,) = delivery["body"]["data"]
        assert set(item) == {"id", "metadata", "data"}
        items[str(item["metadata"])] = item["data"]
    full = items[str({"crm_id": "C-1"})]
    assert set(full) == {"find_email", "find_phone", "linkedin_enrichment"}
    known = lem.knowledge(documented, everything)
    assert full["find_email"] == {"email": known.email, "status": "deliverable"}
    assert full["find_phone"] == {"phone": known.phones[0].number}
    assert_documented_profile(full["linkedin_enrichment"])
    risky = lem.knowledge(documented, no_phone).email
    assert items["C-2"] == {"find_email": {"email": risky, "status": "risky"}}


def run_lemlist_mix(sandbox: SandboxServer, lemlist: httpx.Client) -> int:
    """A mix of found, not found and always-charged types; the credits it cost."""
    found = lem.person_where(sandbox, lem.fully_known)
    nothing = lem.person_where(sandbox, lem.unknown)
    workflows = ["find_email", "find_phone", "linkedin_enrichment"]
    body = [
        {"input": {"linkedinUrl": p.linkedin_url}, "enrichmentRequests": workflows}
        for p in (found, nothing)
    ]
    body.append({"input": {"email": found.work_email}, "enrichmentRequests": ["verify"]})
    for answer in lemlist.post("/v2/enrichments/bulk", json=body).json():
        lem.wait_result(lemlist, answer["id"])
    return spent(sandbox, "lemlist")


def test_lemlist_credits_do_not_depend_on_the_shape(
    documented: SandboxServer, lemlist: httpx.Client
) -> None:
    as_documented = run_lemlist_mix(documented, lemlist)
    documented.reset()  # forgets charges and runtime settings: back to the rich shape
    assert run_lemlist_mix(documented, lemlist) == as_documented == 5 + 20 + 1 + 1 + 1


def test_lemlist_rich_shape_is_unchanged(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    assert sandbox.admin("GET", "config")["shape"] == "rich"
    person = lem.person_where(sandbox, lem.fully_known)
    enrichment_id = lem.submit(
        lemlist, "findEmail", "verifyEmail", linkedinUrl=person.linkedin_url, email="x@y.test"
    )
    done = lem.wait_result(lemlist, enrichment_id).json()
    assert done["input"] == {"linkedinUrl": person.linkedin_url, "email": "x@y.test"}
    email = lem.knowledge(sandbox, person).email
    assert done["data"]["email"] == {"email": email, "notFound": False, "status": "deliverable"}
    assert done["data"]["verify"]["notFound"] is False


# ------------------------------------------------------------------------------------ The Hog


def test_thehog_sync_elements_are_strings_and_meta_is_only_the_request_id(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = hog.fully_known(documented)
    phones = [p.number for p in hog.knowledge(documented, person).phones]
    response = thehog_http.post(
        "/api/enrichments",
        headers={"X-Project-Id": "proj_1"},  # honoured on the current API is an ASSUMPTION
        json={
            "identifier": {"linkedin_url": person.linkedin_url},
            "fields": ["contact.email", "contact.phone"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"contact": {"email": [person.work_email], "phone": phones}},
        "meta": {"requestId": response.headers["x-request-id"]},
    }
    # a catch-all (risky) address is still just a string: no status / verified / type flags
    risky = hog.someone(documented, lambda p, k: k.email_status == "risky")
    answer = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"linkedin_url": risky.linkedin_url}, "fields": ["contact.email"]},
    ).json()
    assert answer["data"] == {"contact": {"email": [hog.knowledge(documented, risky).email]}}
    assert hog.balance(documented) == hog.START - 6 - 1  # charged as in the rich shape


def test_thehog_unknown_person_is_200_with_empty_arrays_not_422(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    response = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"linkedin_url": "https://www.linkedin.com/in/no-such-person-0000"},
            "fields": ["contact.email", "contact.phone"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"contact": {"email": [], "phone": []}},
        "meta": {"requestId": response.headers["x-request-id"]},
    }
    assert hog.balance(documented) == hog.START
    assert hog.submissions(documented) == {"unknown": 1}


def test_thehog_batch_202_and_items_are_the_documented_shape(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    found = hog.someone(documented, lambda p, k: k.email == p.work_email)
    missing = hog.someone(documented, lambda p, k: k.email is None)
    identifiers = [
        {"linkedin_url": found.linkedin_url},
        {"email": missing.work_email},
        {"github_username": "no-such-user-0000"},
    ]
    response = thehog_http.post(
        "/api/enrichments",
        headers={"X-Project-Id": "proj_1"},
        json={"identifiers": identifiers, "fields": ["contact.email"]},
    )
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"id", "operationId", "status", "pollUrl", "meta"}
    assert accepted["meta"] == {"requestId": response.headers["x-request-id"]}
    done = hog.wait_done(thehog_http, accepted["pollUrl"])
    assert set(done) == OPERATION_KEYS
    assert done["status"] == "succeeded" and done["error"] is None
    emails = [[found.work_email], [], []]  # nobody behind the GitHub name: empty, not failed
    assert done["result"] == {
        "items": [
            {"identifier": ident, "status": "success", "data": {"contact": {"email": email}}}
            for ident, email in zip(identifiers, emails, strict=True)
        ]
    }
    assert thehog_http.get(f"/api/enrichments/{accepted['id']}").json() == done
    assert hog.balance(documented) == hog.START - 1


def test_thehog_profile_is_absent_and_so_not_charged(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    person = hog.fully_known(documented)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"email": person.work_email}, "fields": ["contact.email", "profile"]},
    ).json()
    done = hog.wait_done(thehog_http, accepted["pollUrl"])
    assert done["status"] == "succeeded"
    assert done["result"] == {"contact": {"email": [person.work_email]}}
    assert hog.balance(documented) == hog.START - 1  # the email only


def test_thehog_failed_job_error_is_only_a_message(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    hog.add_fault(documented, kind="job_fail", count=1)
    accepted = thehog_http.post(
        "/api/enrichments",
        json={"identifiers": [{"email": "a@b.test"}], "fields": ["contact.email"]},
    ).json()
    done = hog.wait_done(thehog_http, accepted["pollUrl"])
    assert done["status"] == "failed" and done["result"] is None
    assert set(done["error"]) == {"message"}


def test_thehog_legacy_answers_use_the_same_plain_elements(
    documented: SandboxServer, legacy: httpx.Client
) -> None:
    person = hog.fully_known(documented)
    inline = legacy.post(
        "/api/people/enrich",
        json={"people": [{"id": person.person_id}, {"id": "p_999999"}], "asyncPreferred": False},
    ).json()
    found, missing = inline["data"]
    assert all(
        isinstance(e, str) for kind in ("email", "phone") for e in found["data"]["contact"][kind]
    )
    assert missing == {
        "identifier": {"id": "p_999999"},
        "status": "success",
        "data": {"contact": {"email": [], "phone": []}},
    }
    assert set(inline["meta"]["cost"]) == {"estimated", "actual"}  # DOC for the legacy envelope
    # a replayed 202 carries no guessed `estimatedCost`
    body = {"identities": [{"platform": "linkedin", "username": person.linkedin_slug}]}
    key = {"Idempotency-Key": "legacy-documented-1"}
    first = legacy.post("/api/people/enrich", headers=key, json=body)
    again = legacy.post("/api/people/enrich", headers=key, json=body)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["meta"] == {"requestId": again.headers["x-request-id"]}


def run_thehog_mix(sandbox: SandboxServer, client: httpx.Client) -> int:
    """Sync and batch contact lookups, found, not found and unresolved; the credits they cost."""
    person = hog.fully_known(sandbox)
    fields = ["contact.email", "contact.phone"]
    client.post(
        "/api/enrichments",
        json={"identifier": {"linkedin_url": person.linkedin_url}, "fields": fields},
    )
    identifiers = [{"email": p.work_email} for p in sandbox.state.world.people[:10]]
    identifiers.append({"github_username": "no-such-user-0000"})  # free in both shapes
    accepted = client.post(
        "/api/enrichments", json={"identifiers": identifiers, "fields": fields}
    ).json()
    hog.wait_done(client, accepted["pollUrl"])
    return spent(sandbox, "thehog")


def test_thehog_contact_credits_do_not_depend_on_the_shape(
    documented: SandboxServer, thehog_http: httpx.Client
) -> None:
    as_documented = run_thehog_mix(documented, thehog_http)
    documented.reset()  # forgets charges and runtime settings: back to the rich shape
    assert run_thehog_mix(documented, thehog_http) == as_documented > 0


def test_thehog_rich_shape_is_unchanged(sandbox: SandboxServer, thehog_http: httpx.Client) -> None:
    person = hog.fully_known(sandbox)
    response = thehog_http.post(
        "/api/enrichments",
        json={"identifier": {"linkedin_url": person.linkedin_url}, "fields": ["contact.email"]},
    )
    assert response.json() == {
        "data": {
            "contact": {"email": [{"value": person.work_email, "type": "work", "verified": True}]}
        },
        "meta": {
            "requestId": response.headers["x-request-id"],
            "cost": {"estimated": 1, "actual": 1},
        },
    }
    nobody = thehog_http.post(
        "/api/enrichments",
        json={
            "identifier": {"linkedin_url": "https://www.linkedin.com/in/no-such-person-0000"},
            "fields": ["contact.email"],
        },
    )
    assert nobody.status_code == 422
