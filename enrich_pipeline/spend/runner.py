"""One provider, one day partition: cache, resume, submit (ledger first), collect, record.

Plain Python so it can be tested and driven without Dagster; the enrichment assets are a thin shell
around `run_provider`. The order of operations is what makes a killed run safe to resume:

1. intents left by a run that died in the paid-submit window become `unknown` (reconciled, never
   resubmitted blind);
2. answers this provider gave within the freshness TTL are reused (no request at all);
3. attempts already accepted for this day are polled again, never resubmitted;
4. submit calls whose outcome is unknown are replayed byte for byte where the provider makes that
   safe (The Hog: the same body carries the same Idempotency-Key, so the provider returns the job
   it already has); elsewhere they are reported, not repeated (`enrich-pipeline reconcile`);
   a person whose attempt of *another* day is still open or unknown is treated the same way: that
   attempt is replayed or collected with this day's, never paid for again (prospect lists overlap
   from day to day);
5. new people are written to the ledger as intents *before* each HTTP call and completed with the
   provider's reference right after; a person another run holds is left to that run;
6. every answer, raw payload included, is written to the ledger before anything else is built.

A provider that fails (outage, 402, auth) keeps its people: they end `deferred`, which holds them
back from the next provider (only *not found* moves a person on), and are sent again next run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from enrich_pipeline.providers.redaction import redact
from enrich_pipeline.spend.interrupts import finish_recording
from enrich_pipeline.spend.ledger import Cached, Ledger
from enrich_pipeline.spend.ledger_claims import HeldAttempt, Intent
from enrich_pipeline.spend.pricing import fit_to_budget, price, worst_case

log = logging.getLogger("enrich_pipeline.spend.runner")

# Providers that charge only for what they find and report no lack of credits on submit (lemlist,
# providers.md 1.9: no 402; an unpaid enrichment ends as enrichmentError or as "not found"). Their
# unpaid answers are checked against the balance: with too little left, they are not answers.
BALANCE_CHECKED = frozenset({"lemlist"})

# Idempotency-Key (providers.md 3.1): resending the same body returns the existing operation, with
# no new job and no extra credits. lemlist and enrich.so document no such key (1.1, 2.1).
IDEMPOTENT_SUBMITS = frozenset({"thehog"})

ATTEMPTS_PER_SINK_CALL = 2_000  # people left without an answer are handed on this many at a time
DELIVERY_PAGE = 2_000  # stored webhook deliveries read at a time


class EnrichmentClient(Protocol):
    def submit(self, requests: Sequence[EnrichmentRequest], **kw: Any) -> list[Submission]: ...

    def collect(self, submissions: Sequence[Submission], **kw: Any) -> list[EnrichmentResult]: ...


@dataclass(frozen=True)
class RunSettings:
    ttl: timedelta = timedelta(days=30)
    retry_failed_after: timedelta = timedelta(0)
    batch_max: int = 100
    poll_interval_s: float | None = None  # None: the client's default for its provider
    poll_timeout_s: float | None = None
    # Where this provider's webhooks go (the receiver's URL for it), or None: no webhooks. A lost
    # submit answer can then still be adopted from the delivery (see _adopt_delivered), and a client
    # that reads deliveries (lemlist) takes its answers from them, polling only stragglers.
    webhook_url: str | None = None
    # Seconds without a delivery before the unanswered jobs are polled; None: the client's default.
    webhook_grace_s: float | None = None
    # The API host the client talks to: recorded with the mode as each ledger row's origin.
    host: str | None = None
    # People collected at a time (whole submit calls): what a step holds is bounded by this.
    collect_window: int = 2_000


AttemptSink = Callable[[Sequence[Attempt]], None]


@dataclass(frozen=True)
class Window:
    """A collected window: the answers by person (in the ledger already, without payloads), what
    the ledger says each of its people was asked, and the day its attempts belong to (another day's
    when its calls hold people of this one)."""

    answers: dict[str, list[EnrichmentResult]]
    asked: list[EnrichmentRequest]
    day: str


@dataclass
class ProviderRun:
    """What one provider step did. Its attempts are kept in `attempts`, or, with a `sink`, handed
    to it as they are made (a window of people at a time) and not kept: what the step holds is then
    bounded by the window, not by the day. The counters hold either way."""

    provider: str
    day: str
    attempts: list[Attempt] = field(default_factory=list)
    sink: AttemptSink | None = field(default=None, repr=False)
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    spent: int = 0  # credits of this run's own answers (not of those reused from the ledger)
    new_submissions: int = 0
    cache_hits: int = 0
    resumed: int = 0
    stopped: str | None = None  # why submitting stopped early (budget, credits, unknown outcome)
    over_budget: set[str] = field(default_factory=set)
    orphans: int = 0  # intents of a dead run turned unknown at the start of this one
    replayed: int = 0  # people of unknown submits replayed with the same idempotency key
    adopted: int = 0  # people of unknown submits whose job a webhook delivery named
    # Jobs collected from webhook deliveries rather than polled; None when results were polled only
    by_webhook: int | None = None

    def add(self, attempts: Sequence[Attempt]) -> None:
        """Count attempts and keep them (or pass them to the sink). One person's attempts always
        come in one call, so a sink sees each person whole."""
        for attempt in attempts:
            self.outcomes[attempt.outcome] += 1
            if not attempt.from_cache:
                self.spent += attempt.result.cost_credits or 0
        if self.sink is None:
            self.attempts.extend(attempts)
        elif attempts:
            self.sink(attempts)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes[outcome]

    @property
    def credits_spent(self) -> int:
        return self.spent


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
        reason=redact(reason),  # may quote a provider's error: stored in the warehouse
    )


def _redacted(submissions: Sequence[Submission]) -> list[Submission]:
    """Submissions whose refusal text (a provider's words, stored in the ledger) is redacted."""
    return [
        s.model_copy(update={"error": redact(s.error)})
        if s.error and redact(s.error) != s.error
        else s
        for s in submissions
    ]


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
    sink: AttemptSink | None = None,
) -> ProviderRun:
    """`budget_credits`: new submissions are admitted, in order, while their worst-case cost fits;
    the rest are recorded as skipped_budget (None: no limit). `sink`: where the attempts go as they
    are made, a window at a time (None: kept in the returned run's `attempts`)."""
    run = ProviderRun(provider, day, sink=sink)
    held = _settle(run, client, ledger, requests)
    # Another run may take (and even finish) some of these people between this plan and our
    # claims: record_intents leaves out anyone claimed since this moment (see Ledger.record_intents).
    planned_at = datetime.now(UTC)
    plan = _plan(run, ledger, requests, settings, held)
    fresh, over_budget = fit_to_budget(provider, plan.fresh, budget_credits)
    run.over_budget = {r.person_key for r in over_budget}
    if over_budget:
        run.stopped = (
            f"{budget_reason}: {len(over_budget)} people left out, "
            f"{sum(worst_case(provider, r) for r in over_budget)} credits worst case did not fit "
            f"the {budget_credits} left"
        )
    _submit(run, client, ledger, fresh, settings, planned_at)
    made: set[str] = set()  # people whose attempts are made

    def answered(window: Window) -> None:
        """A collected window: its people's answers are in the ledger; make their attempts."""
        if provider in BALANCE_CHECKED:
            _defer_unserved(run, client, ledger, window)
        batch: list[Attempt] = []
        # what another day's attempt asked of the people it holds (their answers are to that)
        sent = {r.person_key: r for r in window.asked if r.person_key in plan.held}
        for key, answers in window.answers.items():
            if key in plan.wanted and key not in made:
                made.add(key)
                batch += plan.attempts_of(key, answers, sent.get(key))
        run.add(batch)

    _collect(run, client, ledger, settings, on_progress, answered, plan.other_days())
    _finish(run, ledger, plan, made, settings)
    return run


def _settle(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    requests: Sequence[EnrichmentRequest],
) -> dict[str, HeldAttempt]:
    """Before planning, what earlier runs left unsettled: intents of a dead run become unknown;
    unknown submits are adopted from webhook deliveries, or replayed where that is safe; people
    held by another day's attempt are settled likewise (see _settle_other_days), and returned."""
    run.orphans = ledger.release_orphans(run.provider, run.day)
    if run.orphans:
        log.warning(
            "%s %s: %d submits were cut off by a crash before their answer was recorded; they are "
            "reconciled, not resubmitted",
            run.provider,
            run.day,
            run.orphans,
        )
    _adopt_delivered(run, client, ledger, run.day)
    if run.provider in IDEMPOTENT_SUBMITS:
        _replay_unknown(run, client, ledger, run.day)
    return _settle_other_days(run, client, ledger, [r.person_key for r in requests])


@dataclass(frozen=True)
class _Plan:
    """What a provider step decided before submitting, and how its attempts are made from it."""

    provider: str
    wanted: dict[str, EnrichmentRequest]  # the day's people, as the waterfall asks them
    cached: dict[str, Cached]  # answers this provider gave within the TTL (reused, free)
    rest: dict[str, EnrichmentRequest]  # of those, what is left to ask
    full: set[str]  # answered in full from the ledger: not asked at all
    held: dict[str, HeldAttempt]  # held by an active attempt of another day
    fresh: list[EnrichmentRequest]  # to submit (before the budget)

    def asked(self, key: str) -> EnrichmentRequest:
        """What this step asks (or would ask) of a person: what the ledger did not answer."""
        return self.rest.get(key, self.wanted[key])

    def attempts_of(
        self, key: str, answers: Sequence[EnrichmentResult], sent: EnrichmentRequest | None = None
    ) -> list[Attempt]:
        """A person's reused answers (if any), then what they answered in this run. `sent`: the
        request another day's attempt sent, whose answers these are: they answer only the fields
        it asked; the rest wait (deferred) for the next run."""
        request = self.wanted[key]
        attempts: list[Attempt] = []
        if key in self.cached:
            fields = request.fields if key in self.full else self.cached[key].covered
            attempts += [Attempt(r, fields, outcome_of(r), True) for r in self.cached[key].results]
            if key in self.full:
                return attempts
            request = self.rest[key]  # what was left to ask
        fields = request.fields if sent is None else request.fields & sent.fields
        attempts += [Attempt(r, fields, outcome_of(r)) for r in answers]
        if sent is not None and request.fields - sent.fields:
            left = request.fields - sent.fields
            why = (
                f"not submitted: this person's request of {self.held[key].day} (answered now) "
                f"asked for less; {', '.join(sorted(f.value for f in left))} is asked on the "
                "next run"
            )
            attempts.append(
                Attempt(_placeholder(self.provider, request, why), left, Outcome.DEFERRED)
            )
        return attempts

    def other_days(self) -> dict[str, set[str]]:
        """Submit calls of other days (by day) whose open jobs hold people of this day."""
        calls: dict[str, set[str]] = {}
        for attempt in self.held.values():
            if attempt.state == "submitted":
                calls.setdefault(attempt.day, set()).add(attempt.chunk)
        return calls


def _plan(
    run: ProviderRun,
    ledger: Ledger,
    requests: Sequence[EnrichmentRequest],
    settings: RunSettings,
    held: dict[str, HeldAttempt],
) -> _Plan:
    """Who is sent: not those the ledger answered in full (the others only for the rest), nor
    those with an open, unknown or refused attempt of the day, nor those held by another day."""
    provider, day = run.provider, run.day
    cached = ledger.fresh_answers(
        provider, requests, ttl=settings.ttl, retry_failed_after=settings.retry_failed_after
    )
    # Fields already answered are never asked again: a person is sent only for the rest.
    rest = {
        r.person_key: r.model_copy(update={"fields": r.fields - cached[r.person_key].covered})
        for r in requests
        if r.person_key in cached
    }
    full = {key for key, request in rest.items() if not request.fields}
    run.cache_hits = len(full)
    open_before = {o.request.person_key for o in ledger.open_submissions(provider, day)}
    run.resumed = len(open_before & {r.person_key for r in requests})
    not_again = (
        open_before
        | ledger.people_in_state(provider, day, "unknown").keys()
        | ledger.people_in_state(provider, day, "refused").keys()  # the provider said no today
        | held.keys()
        | full
    )
    fresh = [rest.get(r.person_key, r) for r in requests if r.person_key not in not_again]
    wanted = {r.person_key: r for r in requests}
    return _Plan(provider, wanted, cached, rest, full, held, fresh)


def _finish(
    run: ProviderRun, ledger: Ledger, plan: _Plan, made: set[str], settings: RunSettings
) -> None:
    """The attempts of the people no collected window answered: reused answers, answers another
    run of the day stored meanwhile, or a placeholder saying why nothing came (see _left_over)."""
    provider, day = run.provider, run.day
    waiting = [key for key in plan.wanted if key not in made]
    unknown = ledger.people_in_state(provider, day, "unknown")  # including this run's lost submits
    refused = ledger.people_in_state(provider, day, "refused")
    call_failed = ledger.people_in_state(provider, day, "call_failed") if run.stopped else {}
    elsewhere = ledger.held_elsewhere(provider, day, waiting)
    # still held by another day's attempt (one this run collected may have been settled, or taken
    # back as unserved: those are deferred like this day's own)
    held = ledger.held_on_other_days(provider, day, [k for k in waiting if k in plan.held])
    # People whose attempt another run of the day completed while this one collected (their rows
    # were open when the windows were planned): their answers are in the ledger, not deferred.
    late = ledger.fresh_answers(
        provider,
        [plan.wanted[key] for key in waiting if key not in plan.cached],
        ttl=settings.ttl,
        retry_failed_after=settings.retry_failed_after,
    )

    def why_not(key: str) -> tuple[str, Outcome]:
        """Why a person this step asked for got no answer, and what that means for the waterfall."""
        if key in unknown:
            return f"submit outcome unknown, not resubmitted: {unknown[key]}", Outcome.UNKNOWN
        if key in held:
            return _held_reason(held[key])
        if key in run.over_budget:
            return f"skipped: {run.stopped}", Outcome.SKIPPED_BUDGET
        if key in refused:
            return f"refused: {refused[key]}", Outcome.REFUSED
        if key in elsewhere:
            return (
                "another run is submitting this person now; its answer will be used",
                Outcome.PENDING,
            )
        # Not sent: the provider stopped taking submissions this run (outage, credits, a refused
        # call). Deferred, not skipped: they wait for this provider, and are sent next run.
        why = call_failed.get(key) or run.stopped or "not submitted"
        return f"not submitted: {why}", Outcome.DEFERRED

    batch: list[Attempt] = []
    for key in waiting:
        if key in late:
            found = late[key]
            batch += [Attempt(r, found.covered, outcome_of(r), True) for r in found.results]
            continue
        batch += plan.attempts_of(key, [])
        if key not in plan.full:
            batch.append(_left_over(provider, plan.asked(key), *why_not(key)))
        if len(batch) >= ATTEMPTS_PER_SINK_CALL:
            run.add(batch)
            batch = []
    run.add(batch)


def _left_over(provider: str, request: EnrichmentRequest, reason: str, outcome: Outcome) -> Attempt:
    """A person this run did not answer, and why (`outcome` says what it means for the waterfall)."""
    return Attempt(_placeholder(provider, request, reason), request.fields, outcome)


def _adopt_delivered(run: ProviderRun, client: EnrichmentClient, ledger: Ledger, day: str) -> None:
    """Unknown submits whose jobs announced themselves by webhook (lemlist echoes the metadata we
    sent, our person_key, with the enrichment id; enrich.so's callbacks name the batch and its
    items): adopt those jobs instead of paying again. The adopted people are then polled like any
    accepted submit."""
    adopt = getattr(client, "adopt", None)
    unknown, since = ledger.unknown_attempts(run.provider, day)
    if adopt is None or not unknown or since is None:
        return
    deliveries = ledger.deliveries(run.provider, since=since)
    if not deliveries:
        return
    known = ledger.known_refs(run.provider, since=since)
    submissions: list[Submission] = adopt(
        [i.request for i in unknown], deliveries, known_refs=known
    )
    adopted = {s.person_key for s in submissions if s.provider_ref}
    taken = ledger.take_back(i for i in unknown if i.request.person_key in adopted)
    ledger.record_submitted(taken, [s for s in submissions if s.provider_ref])
    run.adopted += len(taken)
    if taken:
        log.warning(
            "%s %s: %d submits of unknown outcome adopted from webhook deliveries (not paid again)",
            run.provider,
            day,
            len(taken),
        )


def _replay_unknown(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    day: str,
    only: Collection[str] | None = None,
) -> None:
    """Resend each unknown submit call of `day` exactly as it was (same people, same order, so the
    same body and Idempotency-Key): the provider answers with the operation it already has, or runs
    it now if the first call never arrived. Either way it is paid for once. `only`: just the calls
    holding one of these people."""
    replayed = 0
    for chunk in ledger.unknown_chunks(run.provider, day):
        if only is not None and not any(i.request.person_key in only for i in chunk.intents):
            continue
        if not ledger.reclaim(chunk):
            continue  # another run is replaying it
        requests = [intent.request for intent in chunk.intents]
        with finish_recording():
            try:
                submissions = client.submit(requests, attempt=chunk.chunk)
            except ProviderError as exc:
                _record_failed_chunk(run, ledger, chunk.intents, exc, replay=True)
                if isinstance(exc, AuthenticationError):
                    raise
                return
            ledger.record_submitted(chunk.intents, _redacted(submissions))
        replayed += len(chunk.intents)
    run.replayed += replayed
    if replayed:
        log.warning(
            "%s %s: %d people of unknown submits replayed with the same idempotency key",
            run.provider,
            day,
            replayed,
        )


def _settle_other_days(
    run: ProviderRun, client: EnrichmentClient, ledger: Ledger, people: Sequence[str]
) -> dict[str, HeldAttempt]:
    """This day's people whose attempt at this provider on another day is still active: they are
    not sent again (that attempt's job may run, and would be paid twice). Their attempts are first
    settled as that day's own run would (intents of a dead run made unknown, unknown submits adopted
    from webhook deliveries or replayed under their key); their open jobs are then collected with
    this day's (`_collect`), so their answers serve this day too. Returns who is still held."""
    held = ledger.held_on_other_days(run.provider, run.day, people)
    if not held:
        return held
    for day in sorted({attempt.day for attempt in held.values()}):
        run.orphans += ledger.release_orphans(run.provider, day)
        _adopt_delivered(run, client, ledger, day)
        if run.provider in IDEMPOTENT_SUBMITS:
            _replay_unknown(run, client, ledger, day, only=held.keys())
    held = ledger.held_on_other_days(run.provider, run.day, people)
    if held:
        log.info(
            "%s %s: %d people wait on their attempt of another day (%s), not sent again",
            run.provider,
            run.day,
            len(held),
            ", ".join(sorted({attempt.day for attempt in held.values()})),
        )
    return held


def _held_reason(held: HeldAttempt) -> tuple[str, Outcome]:
    """A person not sent because their attempt of another day is still active, nor answered by it
    in this run: unknown (reconcile it) when that submit's outcome is unknown, else pending."""
    if held.state == "unknown":
        return (
            f"submit of {held.day} of unknown outcome holds this person, not resubmitted "
            f"(enrich-pipeline reconcile --day {held.day}): {held.reason}",
            Outcome.UNKNOWN,
        )
    return (
        f"waiting on this person's request of {held.day} ({held.state}): its answer will be used",
        Outcome.PENDING,
    )


def _defer_unserved(
    run: ProviderRun, client: EnrichmentClient, ledger: Ledger, window: Window
) -> None:
    """Out of credits, loudly: when the balance cannot pay for what was asked, this window's empty
    answers (failed or not found) are taken back — the people are `deferred`, not cached, and asked
    again after a top-up (free when they really are not found: nothing is charged then). Priced by
    what the ledger says each was asked (an earlier run's plan may differ from this one's)."""
    results = window.answers
    unserved = {
        key
        for key, answers in results.items()
        if answers
        and all(a.record_status in (RecordStatus.FAILED, RecordStatus.NOT_FOUND) for a in answers)
    }
    remaining = getattr(client, "credits_remaining", None)
    if not unserved or remaining is None:
        return
    balance = remaining()
    asked = [r for r in window.asked if r.person_key in unserved]
    needed = max((price(run.provider, f) for r in asked for f in r.fields), default=0)
    if balance is None or balance >= needed:
        return
    reason = (
        f"{run.provider} is out of credits (balance {balance}, one answer costs up to {needed}): "
        "not served; top up and run again"
    )
    ledger.defer_unserved(run.provider, window.day, unserved, reason)
    for key in unserved:
        results.pop(key, None)
    run.stopped = f"{reason} ({len(unserved)} people wait for it)"
    log.warning("%s %s: %s", run.provider, run.day, run.stopped)


def _submit(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    fresh: Sequence[EnrichmentRequest],
    settings: RunSettings,
    planned_at: datetime,
) -> None:
    for start in range(0, len(fresh), settings.batch_max):
        with finish_recording():
            intents = ledger.record_intents(
                run.provider,
                run.day,
                fresh[start : start + settings.batch_max],
                host=settings.host,
                planned_at=planned_at,
            )
            if not intents:
                continue  # every one of them is held by another run
            try:
                options: dict[str, Any] = {}
                if settings.webhook_url:
                    options["webhook_url"] = settings.webhook_url
                if run.provider in IDEMPOTENT_SUBMITS:
                    options["attempt"] = intents[0].chunk  # a replay of it reuses the key
                submissions = client.submit([i.request for i in intents], **options)
            except ProviderError as exc:
                _record_failed_chunk(run, ledger, intents, exc)
                if isinstance(exc, AuthenticationError):
                    raise
                return
            ledger.record_submitted(intents, _redacted(submissions))
        run.new_submissions += sum(1 for s in submissions if not s.error)


def _record_failed_chunk(
    run: ProviderRun,
    ledger: Ledger,
    intents: Sequence[Intent],
    exc: ProviderError,
    *,
    replay: bool = False,
) -> None:
    accepted: list[Submission] = list(getattr(exc, "accepted_submissions", []) or [])
    ledger.record_submitted(intents, _redacted(accepted))  # paid for: they will be polled
    run.new_submissions += len(accepted)
    done = {s.person_key for s in accepted}
    rest = [i for i in intents if i.request.person_key not in done]
    why = redact(str(exc))  # already redacted when made (errors.py); stored, so once more
    if isinstance(exc, SubmitOutcomeUnknownError) or replay:
        # A replay that fails stays unknown whatever the error: its first call may still have
        # been accepted, and only the same body may ever be sent for it.
        ledger.mark(rest, "unknown", why)
        run.stopped = "a submit's outcome is unknown; stopped submitting to avoid paying twice"
    elif isinstance(exc, CreditsExhaustedError):
        ledger.mark(rest, "call_failed", why)
        run.stopped = "credits exhausted (402): top up to enrich the rest"
    else:
        ledger.mark(rest, "call_failed", why)
        run.stopped = f"{type(exc).__name__}: {redact(exc.message)}"
    log.warning("%s %s: %s", run.provider, run.day, run.stopped)


# Deliveries are stamped by the receiver's clock, submissions by the runner's: on two machines
# these may disagree, so deliveries are read from a little before the oldest open submission.
CLOCK_SKEW_MARGIN = timedelta(minutes=10)


class _DeliveryRouter:
    """The day's stored webhook deliveries, each read from the ledger once and routed to the collect
    window holding the job it names (`refs_of(body)`: the job references a body answers, [] when
    none, None when it cannot tell: such a body is offered to every window). Deliveries were written
    before the provider got its 2xx, so a run killed before collecting finds them here on its re-run:
    no delivery is lost. Read from a little before the day's oldest open submission (CLOCK_SKEW_MARGIN).
    """

    def __init__(
        self,
        ledger: Ledger,
        provider: str,
        days: Sequence[str],
        refs_of: Callable[[object], Sequence[str] | None],
    ) -> None:
        self.ledger, self.provider, self.refs_of = ledger, provider, refs_of
        opened = [at for day in days if (at := ledger.open_since(provider, day)) is not None]
        oldest = min(opened, default=None)
        self.since = ""
        if oldest is not None:
            self.since = (datetime.fromisoformat(oldest) - CLOCK_SKEW_MARGIN).isoformat()
        self.last_id = 0
        self.routed: dict[str, list[int]] = {}  # job reference -> ids of deliveries naming it
        self.everywhere: list[int] = []

    def reader(self, refs: set[str]) -> Callable[[], list[object]]:
        """For a window's jobs (`refs`): returns, on each call, the deliveries for them not returned
        before — first those read while earlier windows were collected, then new ones."""
        backlog = sorted(
            {i for ref in refs for i in self.routed.get(ref, ())} | set(self.everywhere)
        )

        def read() -> list[object]:
            nonlocal backlog
            bodies = [body for _, body in self.ledger.deliveries_by_id(self.provider, backlog)]
            backlog = []
            # A page at a time: a re-run may find a whole day of deliveries stored; only this
            # window's are kept, the others are indexed and dropped.
            while rows := self.ledger.deliveries_after(
                self.provider, self.last_id, since=self.since, limit=DELIVERY_PAGE
            ):
                self.last_id = rows[-1][0]
                for delivery_id, body in rows:
                    names = self.refs_of(body)
                    if names is None:
                        self.everywhere.append(delivery_id)
                        bodies.append(body)
                        continue
                    for ref in names:
                        self.routed.setdefault(ref, []).append(delivery_id)
                    if any(ref in refs for ref in names):
                        bodies.append(body)
            return bodies

        return read


def _collect(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    settings: RunSettings,
    on_progress: Callable[[PollProgress], None] | None,
    on_window: Callable[[Window], None],
    other_days: dict[str, set[str]] | None = None,
) -> None:
    """Collect every open attempt of the day — by polling, or (webhook URL set, a client that reads
    deliveries) from the stored webhook deliveries first, polling only stragglers. Either way the
    same records are stored, and answers go to the ledger before anything else.

    The day is collected a window of whole submit calls at a time (`collect_window` people): each
    window's answers are written to the ledger and handed to `on_window` (by person) before the
    next is read, so a day of 100,000 people never holds 100,000 answers and their payloads. Every
    job was submitted before the first window is collected, so the provider works on all of them
    meanwhile: a later window's jobs are mostly finished when their turn comes.

    `other_days`: submit calls of other days (by day) holding people of this one: collected after
    this day's, as windows of their own (answers go to their own day's rows)."""
    windows = [
        (run.day, w) for w in ledger.open_windows(run.provider, run.day, settings.collect_window)
    ]
    for day, calls in sorted((other_days or {}).items()):
        windows += [
            (day, w)
            for w in ledger.open_windows(run.provider, day, settings.collect_window, sorted(calls))
        ]
    progress = _WindowedProgress(run, on_progress, len(windows))
    router = None
    if settings.webhook_url and getattr(client, "takes_deliveries", False):
        refs_of = getattr(client, "delivery_refs", lambda body: None)
        days = [run.day, *sorted(other_days or {})]
        router = _DeliveryRouter(ledger, run.provider, days, refs_of)
    timed_out = False
    for number, (day, chunks) in enumerate(windows, start=1):
        progress.start(number)
        # Once a window ended with jobs still unfinished (an outage, a stuck provider), the later
        # windows are looked at once each instead of waiting their own full timeout: a day of 50
        # windows must not wait 50 timeouts. What is unfinished stays pending for the next run.
        window = _collect_window(
            run, client, ledger, settings, day, chunks, progress, router, once=timed_out
        )
        timed_out = timed_out or any(
            r.record_status is RecordStatus.PENDING for rs in window.answers.values() for r in rs
        )
        on_window(window)


class _WindowedProgress:
    """One progress report over all windows: a window's reports offset by the windows before."""

    def __init__(
        self, run: ProviderRun, report: Callable[[PollProgress], None] | None, windows: int
    ) -> None:
        self.run, self.report, self.windows = run, report, windows
        self.last = self.before = PollProgress(run.provider, 0, 0, 0.0)
        self.window = 0

    def start(self, window: int) -> None:
        self.window, self.before = window, self.last

    def __call__(self, p: PollProgress) -> None:
        prior = self.before
        self.last = PollProgress(
            p.provider,
            prior.done + p.done,
            prior.total + p.total,
            prior.elapsed_s + p.elapsed_s,
            None if p.credits is None else (prior.credits or 0) + p.credits,
            None if p.delivered is None else (prior.delivered or 0) + p.delivered,
            window=(self.window, self.windows) if self.windows > 1 else None,
        )
        if self.last.delivered is not None:
            self.run.by_webhook = self.last.delivered  # the last report holds the total
        if self.report is not None:
            self.report(self.last)


def _collect_window(
    run: ProviderRun,
    client: EnrichmentClient,
    ledger: Ledger,
    settings: RunSettings,
    day: str,
    chunks: Sequence[str],
    progress: Callable[[PollProgress], None],
    router: _DeliveryRouter | None = None,
    *,
    once: bool = False,
) -> Window:
    """One window's answers, by person, once they are in the ledger (raw payloads included there;
    the returned records carry none: they are what the attempts are made of)."""
    open_now = ledger.open_submissions(run.provider, day, chunks)
    submissions = [s for o in open_now for s in o.submissions]
    if not submissions:
        return Window({}, [], day)
    kwargs: dict[str, Any] = {"on_progress": progress}
    if settings.poll_interval_s is not None:
        kwargs["interval_s"] = settings.poll_interval_s
    if settings.poll_timeout_s is not None:
        kwargs["timeout_s"] = settings.poll_timeout_s
    if once:
        kwargs["timeout_s"] = 0.0  # one look at each job (and at the deliveries), no waiting
    if router is not None:
        kwargs["deliveries"] = router.reader(
            {s.provider_ref for s in submissions if s.provider_ref}
        )
        if settings.webhook_grace_s is not None:
            kwargs["grace_s"] = settings.webhook_grace_s
    by_person: dict[str, list[EnrichmentResult]] = {}
    anonymous: list[EnrichmentResult] = []
    for result in client.collect(submissions, **kwargs):
        if result.person_key is None:
            anonymous.append(result)
        else:
            by_person.setdefault(result.person_key, []).append(result)
    ledger.record_results_of(
        [(attempt.id, by_person.get(attempt.request.person_key, [])) for attempt in open_now]
    )
    asked = {o.request.person_key for o in open_now}
    stray = [
        r
        for key, results in by_person.items()
        if key not in asked
        for r in results
        if r.record_status is not RecordStatus.PENDING
    ] + [r for r in anonymous if r.record_status is not RecordStatus.PENDING]
    if stray:
        ledger.record_unattributed(run.provider, day, stray)
        log.warning(
            "%s %s: %d paid answers matched nobody sent; kept in the ledger",
            run.provider,
            day,
            len(stray),
        )
    # The payloads are in the ledger now: what is kept for the attempts is the normalised record.
    answers = {
        key: [r.model_copy(update={"raw": {}}) if r.raw else r for r in results]
        for key, results in by_person.items()
    }
    return Window(answers, [o.request for o in open_now], day)
