"""Which batches a lost enrich.so submit made, from the webhooks it left (providers.md 2.9).

enrich.so documents no idempotency key and no way to list batches; its callbacks are the only
trace of a batch whose submit answer was lost. Each per-result callback names its batch (`job_id`)
and item (`result_id`: the email or profile URL; for the finder, the found email), and a completion
callback counts the batch's items. The planning here is the client's own, so the items re-planned
for the same requests are the items that were sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from enrich_pipeline.model import EnrichmentRequest, Submission
from enrich_pipeline.providers.enrichso.items import _Item, _products, plan_item
from enrich_pipeline.providers.enrichso.parse import (
    PRODUCTS,
    PROVIDER,
    email_key,
    linkedin_key,
    text,
)
from enrich_pipeline.providers.enrichso.webhooks import COMPLETION_EVENTS, ITEM_EVENTS

Items = dict[str, dict[str, _Item]]


def plan_items(
    requests: Sequence[EnrichmentRequest],
) -> tuple[list[Submission], dict[str, dict[str, _Item]]]:
    """Refusals (inputs a product cannot use) and, per product, the deduplicated batch items the
    requests make. The same requests always make the same items (submit and adopt agree)."""
    refused: list[Submission] = []
    items: dict[str, dict[str, _Item]] = {p: {} for p in PRODUCTS}
    for request in requests:
        for product in _products(request):
            plan = plan_item(product, request)
            if isinstance(plan, str):
                refused.append(Submission.refused(request, PROVIDER, plan))
                continue
            key, payload = plan
            items[product].setdefault(key, _Item(product, key, payload)).requests.append(request)
    return refused, items


def lost_batches(
    items: Items, deliveries: Sequence[Any], known_refs: Collection[str]
) -> dict[str, str]:
    """product -> batch id, for each product whose planned items a batch unknown to the caller
    answered: every result id it reported is a planned item, or — the finder, whose result id is
    the found email — its completion tally counts exactly the planned items. ASSUMPTION: the
    callbacks' documented shapes; a delivery that names no batch proves nothing."""
    jobs: dict[tuple[str, str], tuple[set[str], int | None]] = {}
    for body in deliveries:
        body = body if isinstance(body, dict) else {}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        event = str(body.get("event"))
        product = ITEM_EVENTS.get(event) or COMPLETION_EVENTS.get(event)
        job_id = text(data.get("job_id"))
        if product is None or job_id is None or f"{product}:{job_id}" in known_refs:
            continue
        ids, total = jobs.get((product, job_id), (set(), None))
        if event in ITEM_EVENTS and (result_id := text(data.get("result_id"))):
            ids.add(_result_key(product, result_id))
        if isinstance(data.get("total_items"), int):
            total = data["total_items"]
        jobs[(product, job_id)] = (ids, total)
    batches: dict[str, str] = {}
    for (product, job_id), (ids, total) in jobs.items():
        planned = items[product]
        by_items = product != "finder" and bool(ids) and ids <= planned.keys()
        by_tally = product == "finder" and total == len(planned) > 0
        if product not in batches and (by_items or by_tally):
            batches[product] = job_id
    return batches


def products_needed(items: Items) -> dict[str, set[str]]:
    """person_key -> the products their attempt needed a batch of."""
    needs: dict[str, set[str]] = {}
    for product, planned in items.items():
        for item in planned.values():
            for request in item.requests:
                needs.setdefault(request.person_key, set()).add(product)
    return needs


def _result_key(product: str, result_id: str) -> str:
    """The item key a callback's result_id names: the email, or the profile URL (phones)."""
    if product == "phones" and "linkedin" in result_id.lower():
        return linkedin_key(result_id) or result_id
    return email_key(result_id) or result_id
