"""Credit budgets: per run, per day partition and per provider (per day), read from the ledger.

A provider asset may spend only what is left under every limit that applies, minus the worst case of
jobs it already has in flight (accepted but not yet answered, so not yet in the ledger's credits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.pricing import worst_case


@dataclass(frozen=True)
class Budget:
    per_run: int | None = None
    per_day: int | None = None
    per_provider: Mapping[str, int] = field(default_factory=dict)  # per provider and day

    @property
    def unlimited(self) -> bool:
        return self.per_run is None and self.per_day is None and not self.per_provider


@dataclass(frozen=True)
class Allowance:
    credits: int | None  # None: no limit applies
    binding: str  # which limit decides, in words (for metadata and log lines)


def allowance(
    budget: Budget,
    provider: str,
    ledger: Ledger,
    day: str,
    run_started: datetime | None,
    *,
    override: int | None = None,
) -> Allowance:
    """Credits this provider may still commit for `day` in this run."""
    limits: list[tuple[int, str]] = []
    if override is not None:
        spent = ledger.credits_committed(day=day, provider=provider, since=run_started)
        limits.append((override - spent, f"run config max_credits={override}"))
    if budget.per_run is not None and run_started is not None:
        spent = ledger.credits_committed(since=run_started)
        limits.append((budget.per_run - spent, f"per-run budget {budget.per_run}"))
    if budget.per_day is not None:
        spent = ledger.credits_committed(day=day)
        limits.append((budget.per_day - spent, f"per-day budget {budget.per_day}"))
    if provider in budget.per_provider:
        cap = budget.per_provider[provider]
        spent = ledger.credits_committed(day=day, provider=provider)
        limits.append((cap - spent, f"{provider} budget {cap} per day"))
    if not limits:
        return Allowance(None, "no budget set")
    in_flight = sum(worst_case(provider, o.request) for o in ledger.open_submissions(provider, day))
    credits, binding = min(limits)
    return Allowance(max(credits - in_flight, 0), binding)
