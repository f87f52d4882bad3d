"""Credit prices per provider and field, and the cost estimates budgets are enforced with.

Worst case = every requested field is found and charged; a budget that admits a request only when
its worst case fits can never be crossed. Expected = worst case times the find-rate this provider has
shown in the ledger (what a forecast should say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from enrich_pipeline.model import EnrichmentRequest, WantedField
from enrich_pipeline.providers import enrichso, lemlist, thehog

# Credits charged per field when it is found (providers.md 1.9, 2.2, 4.5), as each provider module
# declares them beside its client: spend depends on providers, never the reverse. The Hog's row is
# an ASSUMPTION (providers.md 3.5 UNKNOWN), see `thehog.CREDIT_PRICES`.
PRICES: Mapping[str, Mapping[WantedField, int]] = {
    lemlist.PROVIDER: lemlist.CREDIT_PRICES,
    enrichso.PROVIDER: enrichso.CREDIT_PRICES,
    thehog.PROVIDER: thehog.CREDIT_PRICES,
}


def price(
    provider: str, field: WantedField, prices: Mapping[str, Mapping[WantedField, int]] = PRICES
) -> int:
    return prices.get(provider, {}).get(field, 0)


def worst_case(provider: str, request: EnrichmentRequest) -> int:
    return sum(price(provider, f) for f in request.fields)


@dataclass(frozen=True)
class Estimate:
    provider: str
    field: WantedField
    people: int
    worst_case: int
    expected: int
    find_rate: float | None  # observed in the ledger; None: no history, expected = worst case


def estimate(
    provider: str,
    requests: Iterable[EnrichmentRequest],
    find_rates: Mapping[WantedField, float],
) -> list[Estimate]:
    """Per wanted field: people to send, worst-case and expected credits."""
    counts: dict[WantedField, int] = {}
    for request in requests:
        for field in request.fields:
            counts[field] = counts.get(field, 0) + 1
    rows = []
    for field in sorted(counts, key=lambda f: f.value):
        worst = counts[field] * price(provider, field)
        rate = find_rates.get(field)
        expected = round(worst * rate) if rate is not None else worst
        rows.append(Estimate(provider, field, counts[field], worst, expected, rate))
    return rows


def fit_to_budget(
    provider: str, requests: list[EnrichmentRequest], budget: int | None
) -> tuple[list[EnrichmentRequest], list[EnrichmentRequest]]:
    """(requests whose worst case fits the budget, in order; the rest)."""
    if budget is None:
        return requests, []
    admitted: list[EnrichmentRequest] = []
    left: list[EnrichmentRequest] = []
    remaining = budget
    for request in requests:
        cost = worst_case(provider, request)
        if cost <= remaining:
            admitted.append(request)
            remaining -= cost
        else:
            left.append(request)
    return admitted, left
