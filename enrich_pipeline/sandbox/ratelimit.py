"""Sliding-window rate limiting, as the providers enforce it (per key, per organisation, per bucket)."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

from enrich_pipeline.sandbox.clock import now


@dataclass(frozen=True, slots=True)
class RateRule:
    """`limit` requests per `window_s` seconds (documented value, before the speed factor)."""

    bucket: str
    limit: int
    window_s: float


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: float  # seconds until the window has room again (scaled)
    retry_after_s: float  # seconds a refused caller must wait (scaled); 0 when allowed
    window_s: float  # the scaled window of the binding rule


class RateLimiter:
    """Keeps one deque of request times per (scope, bucket); a refused request is not recorded."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, scope: str, rules: list[RateRule]) -> RateDecision | None:
        if not rules:
            return None
        t = now()
        with self._lock:
            decisions: list[tuple[RateDecision, deque[float]]] = []
            for rule in rules:
                window = rule.window_s * self.speed
                hits = self._hits.setdefault((scope, rule.bucket), deque())
                while hits and hits[0] <= t - window:
                    hits.popleft()
                used = len(hits)
                reset = (hits[0] + window - t) if hits else window
                if used >= rule.limit:
                    wait = max(hits[0] + window - t, 0.0)
                    refused = RateDecision(False, rule.limit, 0, reset, wait, window)
                    return refused
                decisions.append(
                    (
                        RateDecision(True, rule.limit, rule.limit - used - 1, reset, 0.0, window),
                        hits,
                    )
                )
            for _, hits in decisions:
                hits.append(t)
            # Report the tightest rule, as a provider reports its binding limit.
            return min((d for d, _ in decisions), key=lambda d: d.remaining / max(d.limit, 1))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def retry_after_header(seconds: float, speed: float) -> str:
    """Whole seconds at real speed (as providers send); at a test speed < 1 a decimal, so fast tests
    are not forced to wait a whole second (a documented sandbox deviation)."""
    if speed >= 1:
        return str(max(1, math.ceil(seconds)))
    return f"{max(seconds, 0.001):.3f}"
