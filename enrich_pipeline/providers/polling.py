"""Waiting for provider jobs: a bounded loop that reports progress and never turns a timeout into an
answer. A job still unfinished at the deadline stays `pending` — it is not "not found", so the
waterfall does not pay the next provider for a person this one may still answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from enrich_pipeline.model import EnrichmentResult

log = logging.getLogger("enrich_pipeline.providers")


@dataclass(frozen=True)
class PollProgress:
    provider: str
    done: int
    total: int
    elapsed_s: float
    # Credits of the answers received so far in this wait (as the provider reported or priced them;
    # they reach the ledger as soon as the wait ends). None when the caller cannot price answers.
    credits: int | None = None
    # Waiting on webhooks: how many of `done` came by delivery (the rest were polled). None when
    # the wait polls only.
    delivered: int | None = None
    # Collected window by window (spend.runner): (this window, windows in all); done and total
    # count the jobs of the windows started so far.
    window: tuple[int, int] | None = None


ProgressCallback = Callable[[PollProgress], None]
T = TypeVar("T")


def answers_cost(_ref: str, answers: Sequence[EnrichmentResult]) -> int:
    """`cost_of` for a poll whose value is the job's records: the credits they carry."""
    return sum(answer.cost_credits or 0 for answer in answers)


def log_progress(progress: PollProgress) -> None:
    log.info(
        "%s: %d/%d jobs finished after %.1fs",
        progress.provider,
        progress.done,
        progress.total,
        progress.elapsed_s,
    )


def poll_until_done(
    provider: str,
    refs: Iterable[str],
    poll_once: Callable[[str], T | None],
    *,
    interval_s: float,
    timeout_s: float,
    on_progress: ProgressCallback | None = log_progress,
    progress_every_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    cost_of: Callable[[str, T], int] | None = None,
) -> tuple[dict[str, T], list[str]]:
    """Poll each ref until `poll_once` returns a terminal value (not None) or `timeout_s` passes.

    `cost_of(ref, value)` prices a finished ref once, for the progress reports' running credits.
    Returns (finished results by ref, refs still pending at the deadline).
    """
    pending = list(dict.fromkeys(refs))
    total = len(pending)
    finished: dict[str, T] = {}
    started = time.monotonic()
    last_report = started
    credits: int | None = 0 if cost_of is not None else None
    while pending:
        still: list[str] = []
        for ref in pending:
            result = poll_once(ref)
            if result is None:
                still.append(ref)
            else:
                finished[ref] = result
                if cost_of is not None and credits is not None:
                    credits += cost_of(ref, result)
        pending = still
        now = time.monotonic()
        if on_progress is not None and (not pending or now - last_report >= progress_every_s):
            on_progress(PollProgress(provider, len(finished), total, now - started, credits))
            last_report = now
        if not pending or now - started >= timeout_s:
            break
        sleep(min(interval_s, max(timeout_s - (now - started), 0.0)))
    return finished, pending


def wait_for_deliveries(
    provider: str,
    refs: Iterable[str],
    delivered: Callable[[], dict[str, T]],
    poll_once: Callable[[str], T | None],
    *,
    grace_s: float,
    timeout_s: float,
    check_every_s: float,
    on_progress: ProgressCallback | None = log_progress,
    progress_every_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    cost_of: Callable[[str, T], int] | None = None,
) -> tuple[dict[str, T], list[str]]:
    """Webhook first, polling for stragglers: take each ref's answer from `delivered()` (the answers
    delivered since the last call), checked every `check_every_s`. Once no delivery has come for
    `grace_s`, the refs still unanswered are polled in the order given (submission order), and the
    round stops at the first one still running: jobs finish roughly in the order they were sent, so
    the later ones are most likely running too — their deliveries are not late, the jobs are. So a
    lost delivery costs one poll, and slow jobs cost one poll per grace period, not one per job.

    The first answer of a ref wins (a later delivery or poll of it is ignored). Returns (finished
    results by ref, refs still unanswered at `timeout_s`) like `poll_until_done`.
    """
    pending = list(dict.fromkeys(refs))
    total = len(pending)
    finished: dict[str, T] = {}
    started = time.monotonic()
    quiet_since = last_report = started
    credits: int | None = 0 if cost_of is not None else None
    by_delivery = 0  # answers taken from deliveries
    warned = False

    def take(ref: str, value: T) -> None:
        nonlocal credits
        if ref in finished:
            return
        finished[ref] = value
        if cost_of is not None and credits is not None:
            credits += cost_of(ref, value)

    while True:
        news = {ref: value for ref, value in delivered().items() if ref not in finished}
        for ref, value in news.items():
            take(ref, value)
        by_delivery += len(news)
        now = time.monotonic()
        if news:
            quiet_since = now
        pending = [ref for ref in pending if ref not in finished]
        over = not pending or now - started >= timeout_s
        if on_progress is not None and (over or now - last_report >= progress_every_s):
            elapsed = now - started
            done = len(finished)
            on_progress(PollProgress(provider, done, total, elapsed, credits, by_delivery))
            last_report = now
        if over:
            break
        if now - quiet_since >= grace_s:
            polled = 0
            for ref in pending:
                if time.monotonic() - started >= timeout_s:
                    break
                polled += 1
                value = poll_once(ref)
                if value is None:
                    break  # still running: so are (most likely) the ones sent after it
                take(ref, value)
                if by_delivery == 0 and not warned:
                    # A job is done and not one delivery ever came: the receiver is most likely
                    # not running or not reachable at ENRICH_WEBHOOK_URL. Nothing is lost.
                    log.warning(
                        "%s: a job finished but no webhook delivery has arrived at all: is "
                        "`enrich-pipeline webhooks` running and reachable at ENRICH_WEBHOOK_URL? "
                        "Answers are polled instead, after %.0fs without deliveries each time",
                        provider,
                        grace_s,
                    )
                    warned = True
            log.info(
                "%s: no delivery for %.1fs; %d of %d unanswered jobs polled",
                provider,
                grace_s,
                polled,
                len(pending),
            )
            quiet_since = time.monotonic()
            continue
        wait = min(check_every_s, grace_s - (now - quiet_since), timeout_s - (now - started))
        sleep(max(wait, 0.0))
    return finished, [ref for ref in pending if ref not in finished]
