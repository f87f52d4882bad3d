"""One provider, one day partition: cache, resume, submit (ledger first), collect, record.

Plain Python so it can be tested and driven without Dagster; the enrichment assets are a thin shell
around `run_provider`. The order of operations is what makes a killed run safe to resume:

1. answers this provider gave within the freshness TTL are reused (no request at all);
2. attempts already accepted for this day are polled again, never resubmitted;
3. attempts whose submit outcome is unknown are reported, not repeated (a blind retry could pay
   twice); The Hog is the exception because its submits carry an idempotency key;
4. new people are written to the ledger as intents *before* each HTTP call and completed with the
   provider's reference right after;
5. every answer, raw payload included, is written to the ledger before anything else is built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from enrich_pipeline.model import (
    Attempt,
    EnrichmentRequest,
    EnrichmentResult,
    Outcome,
    RecordStatus,
    Submission,
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    CreditsExhaustedError,
    ProviderError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.polling import PollProgress
from enrich_pipeline.spend.ledger import Intent, Ledger
from enrich_pipeline.spend.pricing import fit_to_budget, worst_case

log = logging.getLogger("enrich_pipeline.spend.runner")

IDEMPOTENT_SUBMITS = frozenset({"thehog"})  # Idempotency-Key: resubmitting returns the same job


class EnrichmentClient(Protocol):
    def submit(self, requests: Sequence[EnrichmentRequest]) -> list[Submission]: ...

    def collect(self, submissions: Sequence[Submission], **kw: Any) -> list[EnrichmentResult]: ...


@dataclass(frozen=True)
class RunSettings:
    ttl: timedelta = timedelta(days=30)
    retry_failed_after: timedelta = timedelta(hours=24)
    batch_max: int = 100
    poll_interval_s: float | None = None  # None: the client's default for its provider
    poll_timeout_s: float | None = None


@dataclass
class ProviderRun:
    provider: str
    day: str
    attempts: list[Attempt] = field(default_factory=list)
    new_submissions: int = 0
    cache_hits: int = 0
    resumed: int = 0
    stopped: str | None = None  # why submitting stopped early (budget, credits, unknown outcome)
    over_budget: set[str] = field(default_factory=set)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for a in self.attempts if a.outcome is outcome)

    @property
    def credits_spent(self) -> int:
        return sum(a.result.cost_credits or 0 for a in self.attempts if not a.from_cache)


def outcome_of(result: EnrichmentResult) -> Outcome:
    return {
        RecordStatus.FOUND: Outcome.FOUND,
        RecordStatus.NOT_FOUND: Outcome.NOT_FOUND,
        RecordStatus.FAILED: Outcome.FAILED,
        RecordStatus.PENDING: Outcome.PENDING,
    }[result.record_status]


def _placeholder(provider: str, request: EnrichmentRequest, reason: str) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=request.person_key,
        provider=provider,
        request_correlation=request.correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
    )


def run_provider(
    provider: str,
    client: EnrichmentClient,
    ledger: Ledger,
    day: str,
    requests: Sequence[EnrichmentRequest],
    settings: RunSettings,
    *,
    on_progress: Callable[[PollProgress], None] | None = None,
    budget_credits: int | None = None,
    budget_reason: str = "budget",
) -> ProviderRun:
    """`budget_credits`: new submissions are admitted, in order, while their worst-case cost fits;
    the rest are recorded as skipped_budget (None: no limit)."""
    run = ProviderRun(provider, day)
    cached = ledger.fresh_answers(
        provider, requests, ttl=settings.ttl, retry_failed_after=settings.retry_failed_after
    )
    run.cache_hits = len(cached)
    open_before = {o.request.person_key for o in ledger.open_submissions(provider, day)}
    unknown = ledger.people_in_state(provider, day, "unknown")
    if provider in IDEMPOTENT_SUBMITS:
        unknown = {}  # resubmitting returns the job the lost answer belonged to
    run.resumed = len(open_before & {r.person_key for r in requests})
    refused_before = ledger.people_in_state(
        provider, day, "refused"
    )  # the provider said no to this person today
    fresh = [
        r
        for r in requests
        if r.person_key not in cached
        and r.person_key not in open_before
        and r.person_key not in unknown
        and r.person_key not in refused_before
    ]
    fresh, over_budget = fit_to_budget(provider, fresh, budget_credits)
    run.over_budget = {r.person_key for r in over_budget}
    if over_budget:
        run.stopped = (
            f"{budget_reason}: {len(over_budget)} people left out, "
            f"{sum(worst_case(provider, r) for r in over_budget)} credits worst case did not fit "
            f"the {budget_credits} left"
        )
    _submit(run, client, ledger, fresh, settings)
    results = _collect(run, client, ledger, settings, on_progress)
    unknown = ledger.people_in_state(provider, day, "unknown")  # including this run's lost submits
    refused = ledger.people_in_state(provider, day, "refused")
    call_failed = ledger.people_in_state(provider, day, "call_failed") if run.stopped else {}

    for request in requests:
        key = request.person_key
        if key in cached:
            for result in cached[key]:
                run.attempts.append(Attempt(result, request.fields, outcome_of(result), True))
        elif key in results:
            for result in results[key]:
                run.attempts.append(Attempt(result, request.fields, outcome_of(result)))
        elif key in unknown:
            reason = f"submit outcome unknown, not resubmitted: {unknown[key]}"
            run.attempts.append(
                Attempt(_placeholder(provider, request, reason), request.fields, Outcome.UNKNOWN)
            )
        elif key in run.over_budget:
            attempt = _placeholder(provider, request, f"skipped: {run.stopped}")
            run.attempts.append(Attempt(attempt, request.fields, Outcome.SKIPPED_BUDGET))
        elif key in refused:
            attempt = _placeholder(provider, request, f"refused: {refused[key]}")
            run.attempts.append(Attempt(attempt, request.fields, Outcome.REFUSED))
        else:
            # Not sent: the provider stopped taking submissions this run (credits, a refused call).
            why = call_failed.get(key) or run.stopped or "not submitted"
            attempt = _placeholder(provider, request, f"not submitted: {why}")
            run.attempts.append(Attempt(attempt, request.fields, Outcome.SKIPPED_BUDGET))
    return run


def _submit(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    fresh: Sequence[EnrichmentRequest],
    settings: RunSettings,
) -> None:
    for start in range(0, len(fresh), settings.batch_max):
        chunk = list(fresh[start : start + settings.batch_max])
        intents = ledger.record_intents(run.provider, run.day, chunk)
        try:
            submissions = client.submit(chunk)
        except ProviderError as exc:
            _record_failed_chunk(run, ledger, intents, exc)
            if isinstance(exc, AuthenticationError):
                raise
            return
        ledger.record_submitted(intents, submissions)
        run.new_submissions += sum(1 for s in submissions if not s.error)


def _record_failed_chunk(
    run: ProviderRun, ledger: Ledger, intents: Sequence[Intent], exc: ProviderError
) -> None:
    accepted: list[Submission] = list(getattr(exc, "accepted_submissions", []) or [])
    ledger.record_submitted(intents, accepted)  # paid for: they will be polled
    run.new_submissions += len(accepted)
    done = {s.person_key for s in accepted}
    rest = [i for i in intents if i.request.person_key not in done]
    if isinstance(exc, SubmitOutcomeUnknownError):
        ledger.mark(rest, "unknown", str(exc))
        run.stopped = "a submit's outcome is unknown; stopped submitting to avoid paying twice"
    elif isinstance(exc, CreditsExhaustedError):
        ledger.mark(rest, "call_failed", str(exc))
        run.stopped = "credits exhausted (402): top up to enrich the rest"
    else:
        ledger.mark(rest, "call_failed", str(exc))
        run.stopped = f"{type(exc).__name__}: {exc.message}"
    log.warning("%s %s: %s", run.provider, run.day, run.stopped)


def _collect(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    settings: RunSettings,
    on_progress: Callable[[PollProgress], None] | None,
) -> dict[str, list[EnrichmentResult]]:
    """Poll every open attempt of the day; answers go to the ledger before anything else."""
    open_now = ledger.open_submissions(run.provider, run.day)
    submissions = [s for o in open_now for s in o.submissions]
    if not submissions:
        return {}
    kwargs: dict[str, Any] = {"on_progress": on_progress}
    if settings.poll_interval_s is not None:
        kwargs["interval_s"] = settings.poll_interval_s
    if settings.poll_timeout_s is not None:
        kwargs["timeout_s"] = settings.poll_timeout_s
    by_person: dict[str, list[EnrichmentResult]] = {}
    anonymous: list[EnrichmentResult] = []
    for result in client.collect(submissions, **kwargs):
        if result.person_key is None:
            anonymous.append(result)
        else:
            by_person.setdefault(result.person_key, []).append(result)
    for attempt in open_now:
        mine = by_person.get(attempt.request.person_key, [])
        ledger.record_results(attempt.id, mine)
    asked = {o.request.person_key for o in open_now}
    stray = [
        r
        for key, results in by_person.items()
        if key not in asked
        for r in results
        if r.record_status is not RecordStatus.PENDING
    ] + [r for r in anonymous if r.record_status is not RecordStatus.PENDING]
    if stray:
        ledger.record_unattributed(run.provider, run.day, stray)
        log.warning(
            "%s %s: %d paid answers matched nobody sent; kept in the ledger",
            run.provider,
            run.day,
            len(stray),
        )
    return by_person
