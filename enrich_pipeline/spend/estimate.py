"""What a run would cost, before anything is spent: per provider and field, people to send, cache
hits, worst-case and expected credits (from the find-rates this ledger has seen)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from enrich_pipeline.model import Outcome, WantedField
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.pricing import price
from enrich_pipeline.spend.waterfall import Known, answered_fields, plan_requests


@dataclass(frozen=True)
class Line:
    provider: str
    field: WantedField
    people: int  # would be sent if every earlier provider found nothing (the worst case)
    cache_hits: int  # answered by this provider within the TTL: no request
    worst_case: int
    expected: int
    find_rate: float | None


def find_rates(ledger: Ledger, provider: str) -> dict[WantedField, float]:
    """Per field: the share of this provider's answered attempts that completed it."""
    asked: dict[WantedField, int] = {}
    got: dict[WantedField, int] = {}
    for stored in ledger.results(provider=provider):
        if stored.result.record_status.value not in (Outcome.FOUND, Outcome.NOT_FOUND):
            continue
        done = answered_fields(stored.result, stored.fields)
        for field in stored.fields:
            asked[field] = asked.get(field, 0) + 1
            got[field] = got.get(field, 0) + (field in done)
    return {f: got[f] / n for f, n in asked.items() if n}


def estimate_run(
    people: Sequence[Known],
    providers: Sequence[str],
    wanted: frozenset[WantedField],
    ledger: Ledger,
    ttl: timedelta,
) -> list[Line]:
    lines: list[Line] = []
    reach: dict[WantedField, float] = dict.fromkeys(wanted, 1.0)  # share still open
    for number, provider in enumerate(providers):
        requests = plan_requests(provider, people, wanted, providers[number + 1 :])
        cached = ledger.fresh_answers(provider, requests, ttl=ttl)
        rates = find_rates(ledger, provider)
        for field in sorted({f for r in requests for f in r.fields}, key=lambda f: f.value):
            sent = [r for r in requests if field in r.fields]
            hits = sum(
                1 for r in sent if r.person_key in cached and field in cached[r.person_key].covered
            )
            worst = (len(sent) - hits) * price(provider, field)
            rate = rates.get(field)
            share = reach.get(field, 1.0)
            expected = worst if rate is None else round(worst * share * rate)
            lines.append(Line(provider, field, len(sent), hits, worst, expected, rate))
            if rate is not None and field in reach:
                reach[field] = share * (1 - rate)
    return lines


def render(lines: Iterable[Line]) -> str:
    rows = [("provider", "field", "people", "cache hits", "worst case", "expected", "find-rate")]
    for line in lines:
        rate = "no history" if line.find_rate is None else f"{line.find_rate:.0%}"
        rows.append(
            (
                line.provider,
                line.field.value,
                str(line.people),
                str(line.cache_hits),
                str(line.worst_case),
                str(line.expected),
                rate,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
