"""enrich.so in the sandbox's "documented" shape (config.shape): only what providers.md marks DOC,
where "rich" (the default, unchanged) fills the gaps with guesses.

* a finder miss's per-result callback carries an opaque `result_id`, not `first|last|domain`;
* a reverse lookup that finds no profile answers `data` with the echoed email only (no `found`);
* a phone lookup that finds nothing answers `{"phones": []}` (no `found`);
* a duplicate batch submit's 409 does not name the running batch.

And the client against it: the single lookups still read right, and a finder-miss callback that
cannot be correlated answers nobody — those people are answered by the results fetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from enrich_pipeline.model import RecordStatus, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient, flatten
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.conftest import TEST_CONFIG
from enrich_pipeline_tests.providers.test_enrichso_client import (
    by_product,
    check_finder,
    finder_expectation,
    make_client,
    request_for,
)
from enrich_pipeline_tests.sandbox.enrichso_helpers import (
    HEX24,
    assert_problem,
    reachable,
    without_profile,
)
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

FINDER = "/email-finder/batch"
FINDER_HIT = "webhook:finder_lookup.completed"


@pytest.fixture
def documented(sandbox: SandboxServer) -> SandboxServer:
    sandbox.admin("POST", "config", json={"shape": "documented"})
    return sandbox


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[EnrichsoClient]:
    with make_client(sandbox) as made:
        yield made


def finder_callbacks(
    http: httpx.Client, receiver: WebhookReceiver, leads: list[dict[str, str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The per-result callbacks of a hit and a miss (in whatever order they came)."""
    response = http.post(FINDER, json={"leads": leads, "webhookUrl": receiver.url})
    assert response.status_code == 200, response.text
    bodies = [d["body"] for d in receiver.wait_for(len(leads) + 1)]
    items = {b["data"]["result"]["result"]: b["data"] for b in bodies if b["event"] == FINDER_HIT}
    return items["found"], items["not_found"]


def hit_and_miss(sandbox: SandboxServer) -> list[dict[str, str]]:
    lina = reachable(sandbox.state.world)
    domain = lina.company.domain
    return [
        {"firstName": lina.first_name, "lastName": lina.last_name, "domain": domain},
        {"firstName": "Nobody", "lastName": "Atall", "domain": domain},
    ]


# ------------------------------------------------------------------------------- the shapes


def test_a_finder_miss_callback_carries_an_opaque_id(
    documented: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    hit, miss = finder_callbacks(enrichso_http, webhook_receiver, hit_and_miss(documented))
    assert hit["result"]["result"] == "found" and hit["result_id"] == hit["result"]["email"]
    assert miss["result"]["result"] == "not_found"
    assert HEX24.match(miss["result_id"]), "nothing can be read from it"
    assert miss["result_id"] != hit["job_id"]


def test_a_finder_miss_callback_in_rich_shape_is_unchanged(
    sandbox: SandboxServer, enrichso_http: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _, miss = finder_callbacks(enrichso_http, webhook_receiver, hit_and_miss(sandbox))
    lead = hit_and_miss(sandbox)[1]
    assert miss["result_id"] == f"{lead['firstName']}|{lead['lastName']}|{lead['domain']}"


@pytest.mark.parametrize("shape", ["rich", "documented"])
def test_single_lookup_misses_carry_found_only_in_rich_shape(
    sandbox: SandboxServer, enrichso_http: httpx.Client, shape: str
) -> None:
    sandbox.admin("POST", "config", json={"shape": shape})
    world = sandbox.state.world
    nobody, lina = without_profile(world), reachable(world)
    reverse = enrichso_http.post("/reverse-lookup/lookup", json={"email": nobody.work_email})
    phones = enrichso_http.get("/reverse-lookup/phones", params={"email": nobody.work_email})
    found = enrichso_http.get("/reverse-lookup/phones", params={"email": lina.work_email})
    numbers = [p.number for p in world.knowledge("enrichso", lina).phones]
    if shape == "documented":  # the per-endpoint specs (providers.md 2.6, 2.7)
        assert reverse.json()["data"] == {"email": nobody.work_email}
        assert phones.json()["data"] == {"phones": []}
        assert found.json()["data"] == {"phones": numbers}
    else:
        assert reverse.json()["data"] == {"found": False, "email": nobody.work_email}
        assert phones.json()["data"] == {"found": False, "phones": []}
        assert found.json()["data"] == {"found": True, "phones": numbers}
    assert reverse.json()["meta"]["creditsUsed"] == phones.json()["meta"]["creditsUsed"] == 0


@pytest.mark.parametrize("shape", ["rich", "documented"])
def test_a_duplicate_batch_409_names_the_running_batch_only_in_rich_shape(
    sandbox: SandboxServer, enrichso_http: httpx.Client, shape: str
) -> None:
    sandbox.admin("POST", "config", json={"shape": shape, "speed": 1})  # the first keeps running
    emails = [p.work_email for p in sandbox.state.world.people[:3]]
    first = enrichso_http.post("/email-validation/batch", json={"emails": emails}).json()
    again = enrichso_http.post("/email-validation/batch", json={"emails": emails})
    problem = assert_problem(again, 409, "conflict")
    assert problem["detail"] == "Duplicate batch submission detected"
    if shape == "documented":
        assert "batchId" not in problem
    else:
        assert problem["batchId"] == first["data"]["batchId"]
    assert sandbox.state.wallets["enrichso"].balance == TEST_CONFIG.enrichso_credits - 3


# ---------------------------------------------------------------------- the client copes


def test_the_client_reads_documented_single_lookups(
    documented: SandboxServer, client: EnrichsoClient
) -> None:
    world = documented.state.world
    nobody, lina = without_profile(world), reachable(world)
    miss = client.reverse_lookup(nobody.work_email)
    assert miss.record_status is RecordStatus.NOT_FOUND and miss.cost_credits == 0
    hit = client.reverse_lookup(lina.work_email)
    assert hit.record_status is RecordStatus.FOUND and hit.cost_credits == 10
    assert hit.linkedin and hit.linkedin.url == lina.linkedin_url
    none = client.find_phones(email=nobody.work_email)
    assert none.record_status is RecordStatus.NOT_FOUND and none.cost_credits == 0
    phones = client.find_phones(email=lina.work_email)
    assert phones.record_status is RecordStatus.FOUND and phones.cost_credits == 500
    assert [p.number for p in phones.phones] == [
        p.number for p in world.knowledge("enrichso", lina).phones
    ]


@pytest.fixture
def roomy_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A receiver whose listen backlog takes a batch's burst of callbacks (one per item, all at
    once): http.server's default of 5 refuses most of them."""
    monkeypatch.setattr(ThreadingHTTPServer, "request_queue_size", 1024)
    with WebhookReceiver() as receiver:
        yield receiver


def test_an_uncorrelatable_finder_miss_callback_answers_nobody(
    documented: SandboxServer, client: EnrichsoClient, roomy_receiver: WebhookReceiver
) -> None:
    webhook_receiver = roomy_receiver
    world = documented.state.world
    people = list(world.people[:30])
    misses = {p.person_id for p in people if finder_expectation(world, p)[0] is None}
    assert 0 < len(misses) < len(people), "the world must give both hits and misses"
    requests = [request_for(p, {WantedField.EMAIL}) for p in people]
    submissions = client.submit(requests, webhook_url=webhook_receiver.url)
    (ref,) = {s.provider_ref for s in submissions}
    # The results fetch answers everyone, the misses included.
    records = by_product(client.collect(submissions))
    for person in people:
        check_finder(world, person, records["finder", person.person_id])

    bodies = [d["body"] for d in webhook_receiver.wait_for(len(people) + 1)]
    keys = {r.person_key: r.correlation for r in requests}
    hooked = flatten(bodies, requests=requests)
    assert len(hooked) == len(people)  # one per item callback; the completion carries nobody
    for record in hooked:
        if record.record_status is RecordStatus.NOT_FOUND:
            assert record.person_key is None, "a miss callback names nobody"
        else:
            assert record.record_status is RecordStatus.FOUND and record.email
            assert keys.get(record.person_key) not in misses  # never a miss made FOUND

    # Adoption goes by the completion tally, never by the opaque ids: a known batch is not
    # adopted, nor one whose tally does not count exactly the planned items.
    assert client.adopt(requests, bodies, known_refs={ref}) == []
    assert client.adopt(requests[:-1], bodies) == []
    adopted = client.adopt(requests, bodies)
    assert {s.provider_ref for s in adopted} == {ref} and len(adopted) == len(people)
