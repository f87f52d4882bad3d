"""enrich.so client against what a live server may do that providers.md leaves open.

1. A results page capped below the `limit` asked (the sandbox's `enrichso_page_cap`): every paid
   answer must still be read — no row on an unread page may turn into NOT_FOUND — and a normal
   server must cost no extra request (paging.py).
2. A duplicate batch submit answered 409 (providers.md 2.1 ASSUMPTION for the contact batches):
   linked to the batch the 409 names; without a name, the people are of unknown outcome — never
   refused, never sent again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.cli.reconcile import describe
from enrich_pipeline.model import (
    EnrichmentRequest,
    Outcome,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.enrichso.api import conflict_batch_id
from enrich_pipeline.providers.enrichso.batches import BatchView, batch_records
from enrich_pipeline.providers.enrichso.correlate import Wanted
from enrich_pipeline.providers.enrichso.paging import RESULTS_LIMIT, read_pages
from enrich_pipeline.providers.errors import SubmitOutcomeUnknownError
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline_tests.providers.test_enrichso_client import (
    ALL,
    P,
    by_product,
    check_finder,
    check_phones,
    check_reverse,
    check_validation,
    credits_net,
    knows,
    make_client,
    request_for,
    requests_on,
)

CAP = 10
PEOPLE = 60
RESULTS = {
    "validation": "GET /email-validation/batch/{batchId}/results",
    "finder": "GET /email-finder/batch/{batchId}/results",
    "reverse": "GET /reverse-lookup/bulk-lookup/{batchId}/results",
    "phones": "GET /reverse-lookup/phones/bulk/{jobId}/results",
}
SUBMITS = {
    "validation": "POST /email-validation/batch",
    "finder": "POST /email-finder/batch",
    "reverse": "POST /reverse-lookup/bulk-lookup",
    "phones": "POST /reverse-lookup/phones/bulk",
}
DAY = "2026-11-02"
SETTINGS = RunSettings(batch_max=500, poll_interval_s=0.01, poll_timeout_s=20)


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[EnrichsoClient]:
    with make_client(sandbox) as made:
        yield made


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite")
    yield ledger
    ledger.close()


def answered(sandbox: SandboxServer, route: str) -> dict[str, int]:
    """Requests on `route` by status, without the 429s of a sandbox slower than the client."""
    return {k: v for k, v in requests_on(sandbox, route).items() if k != "429"}


def results_requests(sandbox: SandboxServer) -> dict[str, int]:
    return {
        product: sum(requests_on(sandbox, route).values()) for product, route in RESULTS.items()
    }


def check_all(sandbox: SandboxServer, people: list[Any], records: dict[Any, Any]) -> None:
    world = sandbox.state.world
    for person in people:
        k = knows(world, person)
        check_validation(world, person, records["validation", person.person_id])
        check_finder(world, person, records["finder", person.person_id])
        check_reverse(person, k, records["reverse", person.person_id])
        check_phones(k, records["phones", person.person_id])


# ------------------------------------------------------------------------------- 1. paging


def test_a_capped_results_page_loses_no_paid_answer(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    """Every product's batch holds more rows than the cap; the client asks for its default limit
    (1000) and still reads every row, in the fewest requests the cap allows."""
    sandbox.admin("POST", "config", json={"enrichso_page_cap": CAP})
    world = sandbox.state.world
    people = list(world.people[:PEOPLE])
    records = client.collect(client.submit([request_for(p) for p in people]))
    mine = by_product(records)
    assert len(mine) == 4 * PEOPLE, "one record per person and product, nothing left over"
    check_all(sandbox, people, mine)
    # Rows per product: one per item, but reverse lookup omits emails without a profile.
    rows = {p: PEOPLE for p in RESULTS} | {"reverse": sum(knows(world, p).profile for p in people)}
    assert min(rows.values()) > CAP
    assert results_requests(sandbox) == {p: math.ceil(n / CAP) for p, n in rows.items()}
    assert sum(r.cost_credits or 0 for r in records) == credits_net(sandbox)


def test_a_normal_server_costs_no_extra_results_request(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    people = list(sandbox.state.world.people[:PEOPLE])
    records = client.collect(client.submit([request_for(p) for p in people]))
    check_all(sandbox, people, by_product(records))
    assert results_requests(sandbox) == {p: 1 for p in RESULTS}  # as before: one page each


def test_the_capped_limit_is_echoed_only_where_the_product_echoes_it(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    sandbox.admin("POST", "config", json={"enrichso_page_cap": CAP})
    people = list(sandbox.state.world.people[:PEOPLE])
    records = client.collect(client.submit([request_for(p) for p in people]))
    for product, route in RESULTS.items():
        ref = next(r.provider_ref for r in records if r.raw["batch"]["product"] == product)
        path = route.split(" ", 1)[1].split("{")[0] + ref.split(":", 1)[1] + "/results"
        with make_client(sandbox) as other:
            _, body = other.transport.request_json(
                "GET", path, params={"limit": RESULTS_LIMIT}, idempotent=True
            )
        data = body["data"]
        assert len(data["results"]) == CAP
        echoes = product in ("reverse", "phones")  # providers.md 2.3: they echo page and limit
        assert ("limit" in data) is echoes and data.get("limit", CAP) == CAP


def pages_of(rows: list[Any], size: int, **data: Any) -> Any:
    """A fetch serving `rows` `size` a page whatever limit is asked, with `data` beside them."""
    calls: list[int] = []

    def fetch(page: int, limit: int) -> Any:
        calls.append(page)
        window = rows[(page - 1) * size : page * size]
        return {"data": {**data, "results": window}, "meta": {"creditsUsed": 0}}

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_without_counts_or_echo_one_probe_tells_a_cap_from_a_last_page() -> None:
    """The worst case the counts normally rule out: nothing says how many rows there are."""
    rows = [{"email": f"p{i}@x.io", "result": "valid"} for i in range(95)]
    capped = pages_of(rows, 40)
    read = read_pages(capped, "validation", None, "results")
    assert read.rows == rows and capped.calls == [1, 2, 3] and read.short is None
    whole = pages_of(rows[:30], RESULTS_LIMIT)
    read = read_pages(whole, "validation", None, "results")
    assert read.rows == rows[:30] and whole.calls == [1, 2]  # one request more than before


def test_counts_decide_and_a_short_read_is_reported() -> None:
    rows = [{"email": f"p{i}@x.io", "result": "valid"} for i in range(25)]
    exact = pages_of(rows, 10, processedCount=25, totalItems=25)
    assert read_pages(exact, "validation", None, "r").pages == 3 and exact.calls == [1, 2, 3]
    # Reverse lookup: `successful` rows, not `processedItems` (misses are omitted).
    rev = pages_of(rows[:12], 5, processedItems=40, successful=12, limit=5)
    read = read_pages(rev, "reverse", 40, "r")
    assert len(read.rows) == 12 and rev.calls == [1, 2, 3] and read.short is None
    # The counts promise more than the server gives: read to an empty page, and say so.
    dry = pages_of(rows[:7], 5, processedCount=9)
    read = read_pages(dry, "finder", None, "r")
    assert len(read.rows) == 7 and dry.calls == [1, 2, 3] and "the counts say 9" in str(read.short)
    # A server ignoring `page` repeats itself: stop at once.
    stuck = pages_of(rows, 10, processedCount=25)
    stuck_fetch = stuck

    def same(page: int, limit: int) -> Any:
        return stuck_fetch(1, limit)

    read = read_pages(same, "validation", None, "r")
    assert len(read.rows) == 10 and "repeats" in str(read.short)


def test_a_short_read_never_says_no_profile() -> None:
    """Reverse lookup omits emails without a profile: an email missing from a read that fell
    short of its counts may be on an unread page — FAILED, never NOT_FOUND."""
    wanted = [Wanted(keys=("email:a@x.io",), person_key="em:a@x.io", email="a@x.io")]
    meta = {"creditsUsed": 0}
    whole = BatchView("reverse", "a" * 24, "completed", [], meta, complete=True)
    short = BatchView("reverse", "a" * 24, "completed", [], {**meta, "incomplete": "x"}, True)
    assert [r.record_status for r in batch_records(whole, wanted)] == [RecordStatus.NOT_FOUND]
    assert [r.record_status for r in batch_records(short, wanted)] == [RecordStatus.FAILED]


# --------------------------------------------------------------------- 2. 409 on submit


def submit_elsewhere(sandbox: SandboxServer, requests: list[EnrichmentRequest]) -> list[str]:
    """The same batches, submitted by another process whose answers were lost to us."""
    with make_client(sandbox) as other:
        refs = {s.provider_ref for s in other.submit(requests) if s.provider_ref}
    return sorted(refs)


def test_a_duplicate_submit_is_linked_to_the_batch_the_409_names(
    sandbox: SandboxServer, client: EnrichsoClient
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.2})  # the first batches run for 1.2 s
    world = sandbox.state.world
    people = list(world.people[:20])
    requests = [request_for(p) for p in people]
    first = submit_elsewhere(sandbox, requests)
    reserved = credits_net(sandbox)  # so far: the first batches' reservations
    submissions = client.submit(requests)
    assert all(s.error is None for s in submissions)
    assert sorted({s.provider_ref for s in submissions if s.provider_ref}) == first
    assert all(answered(sandbox, route) == {"200": 1, "409": 1} for route in SUBMITS.values())
    assert credits_net(sandbox) == reserved, "no second reservation"
    linked = submissions[0].raw["submit"]
    assert linked["conflict"]["status"] == 409 and "batchId" in linked["conflict"]
    records = client.collect(submissions)
    check_all(sandbox, people, by_product(records))
    assert sum(r.cost_credits or 0 for r in records) == credits_net(sandbox)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": 409, "batchId": "b" * 24}, "b" * 24),
        ({"status": 409, "existingBatchId": "c" * 24}, "c" * 24),
        ({"status": 409, "data": {"batchId": "d" * 24}}, "d" * 24),
        ({"status": 409, "detail": f"Duplicate of batch {'e' * 24}"}, "e" * 24),
        ({"status": 409, "detail": "Duplicate batch submission detected"}, None),
        ({"status": 409, "detail": f"{'a' * 24} or {'f' * 24}?"}, None),  # which one: unknown
        ({"status": 409, "batchId": "../../wallets/balance"}, None),  # not an id
        ("Conflict", None),
    ],
)
def test_the_batch_a_409_names_is_read_from_any_plausible_place(body: Any, expected: Any) -> None:
    assert conflict_batch_id(body) == expected


def test_a_409_naming_no_batch_leaves_the_people_unknown_not_refused_nor_resent(
    sandbox: SandboxServer, client: EnrichsoClient, ledger: Ledger
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.2, "shape": "documented"})
    people = list(sandbox.state.world.people[:5])
    requests = [request_for(p, {WantedField.EMAIL_VERIFICATION}) for p in people]
    submit_elsewhere(sandbox, requests)
    with pytest.raises(SubmitOutcomeUnknownError, match="names no batch") as caught:
        client.submit(requests)
    assert caught.value.status == 409
    assert caught.value.accepted_submissions == []  # type: ignore[attr-defined]

    run = run_provider(P, client, ledger, DAY, requests, SETTINGS)
    assert run.count(Outcome.UNKNOWN) == len(people) and run.count(Outcome.REFUSED) == 0
    unsettled = ledger.unsettled(provider=P, day=DAY)
    assert Counter(a.state for a in unsettled) == {"unknown": len(people)}
    assert any("names no batch" in line for line in describe(unsettled, show=5))  # reconcile
    again = run_provider(P, client, ledger, DAY, requests, SETTINGS)
    assert again.new_submissions == 0 and again.count(Outcome.UNKNOWN) == len(people)
    # One accepted submit (elsewhere), two 409s (our client, the first run); never a third.
    assert answered(sandbox, SUBMITS["validation"]) == {"200": 1, "409": 2}


def test_a_run_links_a_duplicate_and_records_what_it_cost(
    sandbox: SandboxServer, client: EnrichsoClient, ledger: Ledger
) -> None:
    sandbox.admin("POST", "config", json={"speed": 0.2})
    world = sandbox.state.world
    people = list(world.people[:8])
    requests = [request_for(p, ALL) for p in people]
    submit_elsewhere(sandbox, requests)
    run = run_provider(P, client, ledger, DAY, requests, SETTINGS)
    assert run.count(Outcome.UNKNOWN) == 0 and run.count(Outcome.PENDING) == 0
    check_all(sandbox, people, by_product(a.result for a in run.attempts))
    assert run.credits_spent == credits_net(sandbox)
    assert all(answered(sandbox, r) == {"200": 1, "409": 1} for r in SUBMITS.values())
