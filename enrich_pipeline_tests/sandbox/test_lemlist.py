"""The lemlist emulator over HTTP: endpoints, lifecycle, credits, leads, hooks (providers.md 1.x).

Fault injection, auth, rate limits and the documented example shapes live in test_lemlist_wire.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from enrich_pipeline.sandbox.config import JobDelays
from enrich_pipeline.sandbox.providers.lemlist_records import Lead
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person
from enrich_pipeline_tests.conftest import SSL_CONTEXT
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

ENRICHMENT_ID = re.compile(r"enr_[A-Za-z0-9]{17}")
NO_ENRICHMENT = (
    "No enrichment requested (findEmail, findPhone, linkedinEnrichment or verifyEmail required)"
)
SKIPPED = "Enrichment skipped: contact already has the requested data or was recently enriched"
INITIAL_CREDITS = 100_000


# ------------------------------------------------------------------------------- helpers


class RetryOn429(httpx.BaseTransport):
    """Waits out 429s as a client does: at test speed the 2 s window is 20 ms, so a polling loop
    meets the limit often, and the test is about something else."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(100):
            response = self.inner.handle_request(request)
            if response.status_code != 429:
                return response
            response.read()
            response.close()
            time.sleep(float(response.headers.get("Retry-After", "0.01")))
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(name="lemlist")
def lemlist_client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """Like `lemlist_http`, but 429s are waited out (use `lemlist_http` to observe them)."""
    with httpx.Client(
        base_url=sandbox.base_url("lemlist"),
        auth=("", sandbox.config.lemlist_api_key),
        timeout=10,
        transport=RetryOn429(httpx.HTTPTransport(verify=SSL_CONTEXT)),
    ) as client:
        yield client


def person_where(sandbox: SandboxServer, wanted: Callable[[Knowledge], bool]) -> Person:
    """The first world person whose lemlist knowledge fits (the world is seeded: stable)."""
    world = sandbox.state.world
    return next(p for p in world.people if wanted(world.knowledge("lemlist", p)))


def knowledge(sandbox: SandboxServer, person: Person) -> Knowledge:
    return sandbox.state.world.knowledge("lemlist", person)


def fully_known(k: Knowledge) -> bool:
    return k.email_status == "deliverable" and bool(k.phones) and k.profile


def unknown(k: Knowledge) -> bool:
    return k.email is None and not k.phones and not k.profile


def wait_result(client: httpx.Client, enrichment_id: str, timeout_s: float = 5.0) -> httpx.Response:
    """Poll GET /enrich/{id} until 200, honouring 429 Retry-After (20 req / 2 s covers polling)."""
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/enrich/{enrichment_id}")
        if response.status_code == 200:
            return response
        if response.status_code == 429:
            time.sleep(float(response.headers["Retry-After"]))
        else:
            assert response.status_code == 202, response.text
        assert time.monotonic() < deadline, f"{enrichment_id} still {response.status_code}"


def submit(client: httpx.Client, *flags: str, **inputs: str) -> str:
    params = {flag: "true" for flag in flags} | inputs
    response = client.post("/enrich", params=params)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def slow_jobs(sandbox: SandboxServer, processing_s: float = 30.0) -> None:
    """Longer lemlist jobs (0.3 s at test speed) for tests that must act while one runs."""
    state = sandbox.state
    delays = JobDelays(queued_s=0.5, processing_s=processing_s)
    state.config = state.config.model_copy(update={"lemlist_delays": delays})


def balance(client: httpx.Client) -> int:
    return int(client.get("/team/credits").json()["credits"])


def leads(sandbox: SandboxServer, kind: str) -> list[Lead]:
    return [lead for lead in sandbox.state.store("lemlist").leads.values() if lead.kind == kind]


def lead_where(sandbox: SandboxServer, wanted: Callable[[Knowledge], bool]) -> Lead:
    return next(lead for lead in leads(sandbox, "fresh") if wanted(knowledge(sandbox, lead.person)))


def enrich_lead(client: httpx.Client, lead_id: str, *flags: str, **extra: str) -> httpx.Response:
    params = {flag: "true" for flag in flags} | extra
    return client.post(f"/leads/{lead_id}/enrich", params=params)


# --------------------------------------------------------------------------- POST /enrich


def test_enrich_answers_an_id_and_polling_goes_in_progress_then_done(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    slow_jobs(sandbox)
    person = person_where(sandbox, fully_known)
    enrichment_id = submit(lemlist, "findEmail", linkedinUrl=person.linkedin_url)
    assert ENRICHMENT_ID.fullmatch(enrichment_id)
    first = lemlist.get(f"/enrich/{enrichment_id}")
    assert first.status_code == 202
    assert first.json() == {
        "enrichmentId": enrichment_id,
        "enrichmentStatus": "in-progress",
        "input": {"linkedinUrl": person.linkedin_url},
        "data": {},
    }
    done = wait_result(lemlist, enrichment_id).json()
    assert done["enrichmentStatus"] == "done"
    k = knowledge(sandbox, person)
    assert done["data"] == {"email": {"email": k.email, "notFound": False, "status": "deliverable"}}


def test_every_type_answers_from_lemlist_knowledge_and_the_person(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    person = person_where(sandbox, fully_known)
    k = knowledge(sandbox, person)
    flags = ("findEmail", "findPhone", "linkedinEnrichment", "verifyEmail")
    enrichment_id = submit(
        lemlist, *flags, linkedinUrl=person.linkedin_url, email=person.work_email
    )
    data = wait_result(lemlist, enrichment_id).json()["data"]
    assert set(data) == {"email", "phone", "linkedin", "verify"}
    assert data["email"] == {"email": k.email, "notFound": False, "status": k.email_status}
    assert data["phone"] == {"phone": k.phones[0].number, "notFound": False}
    verdict = sandbox.state.world.email_verdict(person.work_email)
    assert data["verify"] == {"email": person.work_email, "status": verdict, "notFound": False}
    profile = data["linkedin"]
    assert profile["notFound"] is False
    assert profile["linkedinUrl"] == person.linkedin_url
    assert profile["linkedinMemberId"] == person.linkedin_member_id
    assert (profile["firstName"], profile["lastName"]) == (person.first_name, person.last_name)
    assert profile["skills"] == ", ".join(person.skills)
    assert profile["languages"] == ", ".join(person.languages)
    assert profile["occupation"] == person.title and profile["picture"] == person.photo_url
    assert profile["companyDomain"] == person.company.domain
    current = profile["positionGroups"][0]
    assert current["company"]["id"] == person.company.company_id
    assert current["date"]["end"] == {}
    titles = [p["title"] for g in profile["positionGroups"] for p in g["profilePositions"]]
    assert titles == [p.title for p in person.positions]
    assert sandbox.counters()["submissions"]["lemlist"] == {person.person_id: 1}


def test_a_person_lemlist_does_not_know_comes_back_not_found_and_free(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    person = person_where(sandbox, unknown)
    enrichment_id = submit(lemlist, "findEmail", "findPhone", linkedinUrl=person.linkedin_url)
    done = wait_result(lemlist, enrichment_id).json()
    assert done["data"] == {
        "email": {"email": None, "notFound": True},
        "phone": {"phone": None, "notFound": True},
    }
    assert "error" not in done
    assert balance(lemlist) == INITIAL_CREDITS
    assert sandbox.counters()["credits_charged"] == {}


def test_person_found_by_name_and_company_with_a_url_shaped_domain(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    person = person_where(sandbox, lambda k: k.email is not None)
    enrichment_id = submit(
        lemlist,
        "findEmail",
        firstName=person.first_name,
        lastName=person.last_name,
        companyName=person.company.name,
        companyDomain=f"https://www.{person.company.domain}/",
    )
    done = wait_result(lemlist, enrichment_id).json()
    assert done["data"]["email"]["email"] == knowledge(sandbox, person).email
    assert done["input"]["firstName"] == person.first_name
    assert sandbox.counters()["submissions"]["lemlist"] == {person.person_id: 1}


def test_enrich_400s_are_plain_text_with_the_documented_bodies(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    cases = [
        ({"email": "a@b.com"}, NO_ENRICHMENT),
        ({"findEmail": "false", "email": "a@b.com"}, NO_ENRICHMENT),
        ({"findPhone": "true", "email": "a@b.com"}, "Bad request"),  # phone needs linkedinUrl
        ({"verifyEmail": "true", "firstName": "Ana"}, "Bad request"),
        ({"findEmail": "true", "firstName": "Ana", "lastName": "Lee"}, "Bad request"),
        (
            {"verifyEmail": "true", "email": "a@b.com", "webhookUrl": "not a url"},
            "Invalid webhookUrl: expected an absolute http(s) URL",
        ),
    ]
    for params, body in cases:
        response = lemlist.post("/enrich", params=params)
        assert response.status_code == 400, params
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == body
    assert not sandbox.counters()["submissions"]


def test_unknown_enrichment_id_is_a_json_not_found(lemlist: httpx.Client) -> None:
    response = lemlist.get("/enrich/enr_nope")
    assert response.status_code == 404
    assert response.json() == {
        "enrichmentId": "enr_nope",
        "enrichmentStatus": "not-found",
        "error": "Enrichment not found",
        "data": {},
    }


def test_enrichment_ids_are_a_deterministic_sequence(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    def three() -> list[str]:
        return [submit(lemlist, "verifyEmail", email="x@y.com") for _ in range(3)]

    first = three()
    sandbox.reset()
    assert three() == first and len(set(first)) == 3


# ------------------------------------------------------------------------------- credits


def test_credits_follow_the_price_table_and_the_counters_agree(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    deliverable = person_where(sandbox, lambda k: k.email_status == "deliverable")
    risky = person_where(sandbox, lambda k: k.email_status == "risky")
    bad = person_where(sandbox, lambda k: k.email_status == "undeliverable")
    with_phone = person_where(sandbox, lambda k: bool(k.phones))
    nothing = person_where(sandbox, unknown)
    cases: list[tuple[list[str], Person, dict[str, str], int]] = [
        (["find_email"], deliverable, {"linkedinUrl": deliverable.linkedin_url}, 5),
        (["find_email"], risky, {"linkedinUrl": risky.linkedin_url}, 5),
        (["find_email"], bad, {"linkedinUrl": bad.linkedin_url}, 0),  # found, not verified
        (["find_email", "find_phone"], nothing, {"linkedinUrl": nothing.linkedin_url}, 0),
        (["find_phone"], with_phone, {"linkedinUrl": with_phone.linkedin_url}, 20),
        (["verify"], deliverable, {"email": "nobody@nowhere.invalid"}, 1),
        (["linkedin_enrichment"], nothing, {"linkedinUrl": nothing.linkedin_url}, 1),
    ]
    body = [{"input": i, "enrichmentRequests": w} for w, _, i, _ in cases]
    answers = lemlist.post("/v2/enrichments/bulk", json=body).json()
    for answer in answers:
        wait_result(lemlist, answer["id"])
    expected = sum(credits for *_, credits in cases)
    assert expected == 32
    assert balance(lemlist) == INITIAL_CREDITS - expected
    counters = sandbox.counters()
    assert counters["credits_net"] == {"lemlist": expected}
    assert sum(counters["submissions"]["lemlist"].values()) == len(cases)


def test_polling_does_not_cost_credits(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    enrichment_id = submit(lemlist, "verifyEmail", email="someone@example.com")
    wait_result(lemlist, enrichment_id)
    for _ in range(3):
        assert lemlist.get(f"/enrich/{enrichment_id}").status_code in (200, 429)
    assert balance(lemlist) == INITIAL_CREDITS - 1


def test_out_of_credits_ends_as_enrichment_error_by_default(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 3})
    person = person_where(sandbox, lambda k: k.email_status == "deliverable")
    enrichment_id = submit(
        lemlist,
        "findEmail",
        "verifyEmail",
        linkedinUrl=person.linkedin_url,
        email=person.work_email,
        webhookUrl=webhook_receiver.url,
    )
    done = wait_result(lemlist, enrichment_id).json()
    assert done["enrichmentStatus"] == "done"
    assert done["error"] == "Insufficient credits"
    assert done["data"]["email"] == {"email": None, "notFound": True}  # 5 could not be paid
    assert done["data"]["verify"]["notFound"] is False  # 1 could
    assert balance(lemlist) == 2
    (delivery,) = webhook_receiver.wait_for(1)
    body = delivery["body"]
    assert body["type"] == "enrichmentError"
    assert body["data"][0]["id"] == enrichment_id
    assert body["data"][0]["error"] == "Insufficient credits"
    assert body["data"][0]["data"]["find_email"] == {"notFound": True}


def test_out_of_credits_can_end_as_plain_not_found(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    sandbox.admin("POST", "config", json={"lemlist_out_of_credits": "not_found"})
    sandbox.admin("POST", "credits", json={"provider": "lemlist", "balance": 0})
    person = person_where(sandbox, lambda k: k.email_status == "deliverable")
    enrichment_id = submit(
        lemlist, "findEmail", linkedinUrl=person.linkedin_url, webhookUrl=webhook_receiver.url
    )
    done = wait_result(lemlist, enrichment_id).json()
    assert done["data"] == {"email": {"email": None, "notFound": True}} and "error" not in done
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery["body"]["type"] == "enrichmentDone"
    assert delivery["body"]["data"][0]["data"] == {"find_email": {"notFound": True}}
    assert balance(lemlist) == 0


# ---------------------------------------------------------------------------------- bulk


def test_bulk_whole_request_errors_are_json_codes(lemlist: httpx.Client) -> None:
    item = {"input": {"email": "a@b.com"}, "enrichmentRequests": ["verify"]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"json": {"not": "an array"}}, "WRONG_BODY_FORMAT"),
        (
            {"content": b"[{oops", "headers": {"content-type": "application/json"}},
            "WRONG_BODY_FORMAT",
        ),
        ({"json": []}, "NO_ENRICHMENTS_REQUESTED"),
        ({"json": [item] * 501}, "TOO_MANY_ENRICHMENTS_REQUESTED"),
    ]
    for kwargs, code in cases:
        response = lemlist.post("/v2/enrichments/bulk", **kwargs)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": code}


def test_bulk_accepts_exactly_500(sandbox: SandboxServer, lemlist: httpx.Client) -> None:
    item = {"input": {"email": "a@b.com"}, "enrichmentRequests": ["verify"]}
    answers = lemlist.post("/v2/enrichments/bulk", json=[item] * 500).json()
    assert len(answers) == 500 and all(ENRICHMENT_ID.fullmatch(a["id"]) for a in answers)
    assert len({a["id"] for a in answers}) == 500
    assert sandbox.counters()["submissions"]["lemlist"] == {"unknown": 500}


def test_bulk_per_item_codes_keep_order_length_and_metadata(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    person = person_where(sandbox, fully_known)
    email, url = {"email": person.work_email}, {"linkedinUrl": person.linkedin_url}
    items: list[tuple[Any, str | None]] = [
        ({"input": email, "enrichmentRequests": ["verify"], "metadata": "ok"}, None),
        ("not an object", "WRONG_INPUT_FORMAT"),
        (
            {"input": email, "enrichmentRequests": ["verify"], "metadata": 42},
            "WRONG_METADATA_FORMAT",
        ),
        (
            {"input": email, "enrichmentRequests": "verify", "metadata": "m3"},
            "WRONG_ENRICHMENT_REQUEST_FORMAT",
        ),
        ({"input": email, "enrichmentRequests": [], "metadata": "m4"}, "NO_WORKFLOW_REQUESTED"),
        (
            {"input": email, "enrichmentRequests": ["find_fax"], "metadata": {"k": 5}},
            "UNAUTHORIZED_WORKFLOW_REQUESTED",
        ),
        (
            {"input": {"colour": "blue"}, "enrichmentRequests": ["verify"], "metadata": "m6"},
            "WRONG_INPUT_FORMAT",
        ),
        ({"input": "x", "enrichmentRequests": ["verify"]}, "WRONG_INPUT_FORMAT"),
        (
            {"input": {"firstName": "Ana"}, "enrichmentRequests": ["find_email"], "metadata": "m8"},
            "MISSING_INPUTS",
        ),
        ({"input": url, "enrichmentRequests": ["verify"], "metadata": "m9"}, "MISSING_EMAIL"),
        (
            {"input": email, "enrichmentRequests": ["find_phone"], "metadata": "m10"},
            "MISSING_LINKEDIN_URL",
        ),
        ({"input": url, "enrichmentRequests": ["find_phone"], "metadata": None}, None),
    ]
    response = lemlist.post("/v2/enrichments/bulk", json=[i for i, _ in items])
    assert response.status_code == 200
    answers = response.json()
    assert len(answers) == len(items)
    for (item, code), answer in zip(items, answers, strict=True):
        if isinstance(item, dict) and "metadata" in item:
            assert answer["metadata"] == item["metadata"]
        else:
            assert "metadata" not in answer
        if code is None:
            assert ENRICHMENT_ID.fullmatch(answer["id"]) and "error" not in answer
        else:
            assert answer["error"] == code and "id" not in answer
    assert sandbox.counters()["submissions"]["lemlist"] == {person.person_id: 2}


def test_bulk_metadata_comes_back_in_each_webhook(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    people = [p for p in sandbox.state.world.people[:3]]
    body = [
        {
            "input": {"linkedinUrl": p.linkedin_url},
            "enrichmentRequests": ["find_email"],
            "metadata": {"crm_id": p.person_id},
        }
        for p in people
    ]
    response = lemlist.post(
        "/v2/enrichments/bulk", params={"webhookUrl": webhook_receiver.url}, json=body
    )
    ids = {a["id"]: a["metadata"] for a in response.json()}
    deliveries = webhook_receiver.wait_for(3)
    seen = {}
    for delivery in deliveries:
        (item,) = delivery["body"]["data"]  # one POST per finished enrichment
        seen[item["id"]] = item["metadata"]
    assert seen == ids


# ---------------------------------------------------------------------------------- leads


def test_leads_are_seeded_deterministically(sandbox: SandboxServer) -> None:
    seeded = sandbox.state.store("lemlist").leads
    assert 18 <= len(seeded) <= 22
    assert all(re.fullmatch(r"lea_[A-Za-z0-9]{17}", lead_id) for lead_id in seeded)
    before = {lead_id: lead.person.person_id for lead_id, lead in seeded.items()}
    sandbox.reset()
    after = sandbox.state.store("lemlist").leads
    assert {lead_id: lead.person.person_id for lead_id, lead in after.items()} == before


def test_lead_enrich_runs_once_then_skips_until_forced(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    slow_jobs(sandbox)
    lead = lead_where(sandbox, fully_known)
    started = enrich_lead(lemlist, lead.lead_id, "findEmail")
    assert started.status_code == 200 and ENRICHMENT_ID.fullmatch(started.json()["id"])
    running = enrich_lead(lemlist, lead.lead_id, "findEmail", force="true")
    assert running.status_code == 409
    assert running.json() == {"error": "lead is already being enriched"}  # no code: wait
    done = wait_result(lemlist, started.json()["id"]).json()
    assert done["data"]["email"]["email"] == knowledge(sandbox, lead.person).email
    again = enrich_lead(lemlist, lead.lead_id, "findEmail")
    assert again.status_code == 409
    assert again.json() == {"error": SKIPPED, "code": "ALREADY_ENRICHED"}
    forced = enrich_lead(lemlist, lead.lead_id, "findEmail", force="true")
    assert forced.status_code == 200
    assert sandbox.counters()["submissions"]["lemlist"] == {lead.person.person_id: 2}


def test_lead_not_found_before_blocks_a_rerun_even_when_forced(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    lead = lead_where(sandbox, lambda k: k.email is None)
    first = enrich_lead(lemlist, lead.lead_id, "findEmail")
    assert wait_result(lemlist, first.json()["id"]).json()["data"]["email"]["notFound"]
    for extra in ({}, {"force": "true"}):
        blocked = enrich_lead(lemlist, lead.lead_id, "findEmail", **extra)
        assert blocked.status_code == 409
        assert blocked.json()["code"] == "ALREADY_ENRICHED"
    # Other types are not blocked by the email not-found.
    assert enrich_lead(lemlist, lead.lead_id, "linkedinEnrichment").status_code == 200


def test_lead_that_already_has_data_is_skipped_per_type(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    skipped = [
        ("has_email", "findEmail"),
        ("verified_email", "verifyEmail"),
        ("has_phone", "findPhone"),
        ("linkedin_done", "linkedinEnrichment"),
    ]
    for kind, flag in skipped:
        (lead,) = leads(sandbox, kind)
        response = enrich_lead(lemlist, lead.lead_id, flag)
        assert response.status_code == 409, kind
        assert response.json() == {"error": SKIPPED, "code": "ALREADY_ENRICHED"}
    (lead,) = leads(sandbox, "has_email")
    # Only the skipped type is dropped: the phone still runs; force re-runs the email.
    both = enrich_lead(lemlist, lead.lead_id, "findEmail", "findPhone")
    assert both.status_code == 200
    assert set(wait_result(lemlist, both.json()["id"]).json()["data"]) == {"phone"}
    (phone_lead,) = leads(sandbox, "has_phone")
    assert enrich_lead(lemlist, phone_lead.lead_id, "findPhone", force="true").status_code == 200


def test_lead_errors_have_the_documented_status_and_format(
    sandbox: SandboxServer, lemlist: httpx.Client
) -> None:
    bad_id = enrich_lead(lemlist, "not-a-lead", "findEmail")
    assert bad_id.status_code == 400 and bad_id.text == "Bad team"
    assert bad_id.headers["content-type"].startswith("text/plain")
    missing = enrich_lead(lemlist, "lea_" + "A" * 17, "findEmail")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Lead not found", "code": "LEAD_NOT_FOUND"}
    (no_contact,) = leads(sandbox, "no_contact")
    contactless = enrich_lead(lemlist, no_contact.lead_id, "findEmail")
    assert contactless.status_code == 404
    assert contactless.json() == {
        "error": "Contact not found for this lead",
        "code": "CONTACT_NOT_FOUND",
    }
    (broken,) = leads(sandbox, "broken")
    failed = enrich_lead(lemlist, broken.lead_id, "findEmail")
    assert failed.status_code == 500 and failed.json() == {"error": "Failed to enrich lead"}
    lead = leads(sandbox, "fresh")[0]
    nothing = enrich_lead(lemlist, lead.lead_id)
    assert nothing.status_code == 400 and nothing.text == NO_ENRICHMENT
    no_email = enrich_lead(lemlist, lead.lead_id, "verifyEmail")
    assert no_email.status_code == 400 and no_email.text == "Bad request"
    assert not sandbox.counters()["submissions"]


# ---------------------------------------------------------------------------------- hooks


def test_team_hooks_can_be_added_listed_read_and_deleted(lemlist: httpx.Client) -> None:
    added = lemlist.post(
        "/hooks",
        json={"targetUrl": "https://hooks.example.test/l", "type": "enrichmentDone", "secret": "s"},
    )
    assert added.status_code == 200
    hook = added.json()
    assert re.fullmatch(r"hoo_[A-Za-z0-9]{17}", hook["_id"])
    assert hook["targetUrl"] == "https://hooks.example.test/l" and hook["type"] == "enrichmentDone"
    assert hook["createdAt"].endswith("Z") and "secret" not in hook
    assert lemlist.get("/hooks").json() == [hook]
    assert lemlist.get(f"/hooks/{hook['_id']}").json() == hook
    assert lemlist.delete(f"/hooks/{hook['_id']}").json() == hook
    gone = lemlist.delete(f"/hooks/{hook['_id']}")
    assert gone.status_code == 404 and gone.json() == {"error": "Hook not found"}
    assert lemlist.get("/hooks").json() == []
    for body in (
        {"type": "enrichmentDone"},
        {"targetUrl": "ftp://x"},
        {"targetUrl": "https://x.test", "type": "nope"},
    ):
        assert lemlist.post("/hooks", json=body).status_code == 400
    assert lemlist.post("/hooks", content=b"nope").text == "Bad request"


def test_team_hooks_get_their_event_with_the_secret_in_the_body(
    sandbox: SandboxServer, lemlist: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    for path, event, secret in (
        ("/done", "enrichmentDone", "s3cret"),
        ("/error", "enrichmentError", None),
    ):
        body: dict[str, Any] = {"targetUrl": webhook_receiver.url + path, "type": event}
        if secret:
            body["secret"] = secret
        assert lemlist.post("/hooks", json=body).status_code == 200
    person = person_where(sandbox, fully_known)
    ok_id = submit(lemlist, "findEmail", linkedinUrl=person.linkedin_url)
    sandbox.admin("POST", "faults", json={"provider": "lemlist", "kind": "job_fail", "count": 1})
    failed_id = submit(lemlist, "findEmail", linkedinUrl=person.linkedin_url)
    deliveries = {d["path"]: d["body"] for d in webhook_receiver.wait_for(2)}
    assert set(deliveries) == {"/done", "/error"}
    done = deliveries["/done"]
    assert done["type"] == "enrichmentDone" and done["secret"] == "s3cret"
    assert done["data"][0]["id"] == ok_id
    assert done["data"][0]["data"]["find_email"]["email"] == knowledge(sandbox, person).email
    error = deliveries["/error"]
    assert error["type"] == "enrichmentError" and "secret" not in error
    assert error["data"][0]["id"] == failed_id and error["data"][0]["error"] == "Enrichment failed"
    sandbox.settle_webhooks()  # counted once the receiver's answer is back
    counted = sandbox.counters()["webhooks"]["lemlist"]
    assert counted == {"enrichmentDone": {"http_200": 1}, "enrichmentError": {"http_200": 1}}


@pytest.mark.parametrize("path", ["/enrich", "/v2/enrichments/bulk", "/leads/lea_x/enrich"])
def test_wrong_method_is_an_empty_405(lemlist: httpx.Client, path: str) -> None:
    response = lemlist.get(path)
    assert response.status_code == 405 and response.content == b""
    assert response.headers["allow"] == "POST"


def test_wrong_method_on_read_routes_is_an_empty_405(lemlist: httpx.Client) -> None:
    for method, path in (("POST", "/team/credits"), ("POST", "/enrich/enr_x"), ("PUT", "/hooks")):
        response = lemlist.request(method, path)
        assert response.status_code == 405 and response.content == b"", (method, path)
