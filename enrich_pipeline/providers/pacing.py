"""Client-side pacing: never send faster than the provider's documented limit.

The providers (and the sandbox) count requests in sliding windows, so the client mirrors that: a
sliding-window log per (provider, credential, bucket), shared by every client in the process that uses
the same key. A token bucket refilled at limit/window would allow a full burst right after a full
window and so cross a sliding limit; the log cannot. A small safety margin absorbs the jitter between
our send time and the server's arrival time.

That log is per process. When a state folder is known (the ledger's), the transport paces through
shared_pacing.py instead: the same log kept in `<state dir>/pacing.sqlite`, which every process and
re-run using that folder respects. `RequestPacing` is what the transport sees of either.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from enrich_pipeline.providers.shared_pacing import (
    Reservation,
    SharedPacer,
    SharedRule,
    shared_pacer_at,
)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `limit` requests per `window_s` seconds in `bucket` (routes pick their buckets)."""

    limit: int
    window_s: float
    bucket: str = "global"


_acquire_lock = threading.Lock()  # one lock for every pacer: a multi-bucket stamp is atomic


class SlidingWindowPacer:
    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        margin: float = 0.03,
        margin_s: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.window_s = window_s * (1 + margin) + margin_s
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._clock = clock
        self._sleep = sleep

    def wait_needed(self, now: float) -> float:
        """Seconds until one more request fits (0: it fits now). Caller holds `_acquire_lock`."""
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()
        full = self._sent[0] + self.window_s - now if len(self._sent) >= self.limit else 0.0
        return max(self._blocked_until - now, full, 0.0)

    def acquire(self) -> float:
        """Block until one more request fits in the window; returns the seconds waited."""
        return acquire_all([self])

    def hold(self, seconds: float) -> None:
        """After a 429, make every caller of this pacer wait `seconds` (the Retry-After)."""
        with _acquire_lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)


def acquire_all(pacers: list[SlidingWindowPacer]) -> float:
    """Wait until every pacer has room, then stamp them all at once; returns the seconds waited.

    Stamping one pacer and then waiting on the next would leave the first with a stale timestamp,
    and a burst right after the wait could cross its window.
    """
    if not pacers:
        return 0.0
    clock, sleep = pacers[0]._clock, pacers[0]._sleep
    waited = 0.0
    while True:
        with _acquire_lock:
            now = clock()
            wait = max(p.wait_needed(now) for p in pacers)
            if wait <= 0:
                for pacer in pacers:
                    pacer._sent.append(now)
                return waited
        sleep(wait)
        waited += wait


_registry: dict[str, SlidingWindowPacer] = {}
_registry_lock = threading.Lock()
# providers.md 2.1: enrich.so counts per organisation, every key of a team shares the limits.
ORG_SCOPED = frozenset({"enrichso"})


def credential_fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def pacing_scope(provider: str, secret: str) -> str:
    """Who a provider counts requests for: the key (as a short hash, never the key itself), or the
    organisation for enrich.so (the provider name: one organisation per state folder)."""
    if provider in ORG_SCOPED:
        return f"{provider}:org"
    return f"{provider}:{credential_fingerprint(secret)}"


def rule_scope(provider: str, secret: str, rate: RateLimit) -> str:
    return f"{pacing_scope(provider, secret)}:{rate.bucket}:{rate.limit}/{rate.window_s:g}"


def shared_pacer(provider: str, secret: str, rate: RateLimit) -> SlidingWindowPacer:
    """The process-wide pacer for this provider, key and bucket (created on first use)."""
    key = rule_scope(provider, secret, rate)
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None:
            pacer = _registry[key] = SlidingWindowPacer(rate.limit, rate.window_s)
        return pacer


class RequestPacing:
    """One logical request's pacing: `acquire` before each send (returns the seconds waited),
    `settle` once its answer or error is back, `hold` after a 429 (Retry-After seconds)."""

    def acquire(self) -> float:
        raise NotImplementedError

    def settle(self) -> None:
        raise NotImplementedError

    def hold(self, seconds: float) -> None:
        raise NotImplementedError


class InProcessPacing(RequestPacing):
    """The per-process sliding-window pacers (no state folder known)."""

    def __init__(self, pacers: list[SlidingWindowPacer]) -> None:
        self.pacers = pacers

    def acquire(self) -> float:
        return acquire_all(self.pacers)

    def settle(self) -> None:
        pass  # stamped at the send

    def hold(self, seconds: float) -> None:
        for pacer in self.pacers:
            pacer.hold(seconds)


class SharedPacing(RequestPacing):
    """The log in `<state dir>/pacing.sqlite`, shared by every process using that folder."""

    def __init__(self, pacer: SharedPacer, rules: list[SharedRule]) -> None:
        self.pacer = pacer
        self.rules = rules
        self._reservation: Reservation | None = None

    def acquire(self) -> float:
        self._reservation = self.pacer.acquire(self.rules)
        return self._reservation.waited_s

    def settle(self) -> None:
        if self._reservation is not None:
            self.pacer.settle(self._reservation)
            self._reservation = None

    def hold(self, seconds: float) -> None:
        self.pacer.hold([rule.scope for rule in self.rules], seconds)


def request_pacing(
    provider: str, secret: str, limits: list[RateLimit], state_dir: Path | None
) -> RequestPacing:
    """Shared pacing when a state folder is known (and its file opens), else in process."""
    if state_dir is not None and (pacer := shared_pacer_at(state_dir)) is not None:
        rules = [SharedRule(rule_scope(provider, secret, r), r.limit, r.window_s) for r in limits]
        return SharedPacing(pacer, rules)
    return InProcessPacing([shared_pacer(provider, secret, r) for r in limits])
