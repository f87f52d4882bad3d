"""Fault injection: rules that make the next requests (or jobs, or webhooks) of a provider misbehave."""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from typing import Literal

from pydantic import BaseModel, Field

from enrich_pipeline.sandbox.world import ProviderName

RequestFault = Literal[
    "rate_limit",  # 429 in the provider's format, with Retry-After
    "error_500",
    "error_502",
    "error_503",
    "slow",  # answer normally after delay_s
    "timeout",  # hold the request delay_s (default 30 s) so the client times out (or hangs up)
    "drop",  # close the connection without an answer
    "malformed",  # 200 with a truncated JSON body
]
JobFault = Literal["job_stuck", "job_fail"]
WebhookFault = Literal["webhook_duplicate", "webhook_out_of_order", "webhook_drop"]
FaultKind = Literal[RequestFault, JobFault, WebhookFault]

REQUEST_FAULTS: frozenset[str] = frozenset(RequestFault.__args__)  # type: ignore[attr-defined]
JOB_FAULTS: frozenset[str] = frozenset(JobFault.__args__)  # type: ignore[attr-defined]
WEBHOOK_FAULTS: frozenset[str] = frozenset(WebhookFault.__args__)  # type: ignore[attr-defined]


class FaultRule(BaseModel):
    provider: ProviderName | Literal["*"]
    kind: FaultKind
    # fnmatch pattern on the route id, e.g. "POST /v2/enrichments/bulk" or "GET /enrich/*"
    route: str = "*"
    count: int | None = Field(None, ge=1)  # apply to the next N matches; None = until cleared
    probability: float = Field(1.0, ge=0, le=1)
    delay_s: float | None = None  # slow / timeout hold time (not scaled); timeout default 30
    after: bool = False  # drop/timeout after the request was processed (the submit did happen)
    retry_after_s: float | None = None  # rate_limit: Retry-After to announce (scaled); default 1
    id: int = 0


class FaultBook:
    """Thread-safe list of active rules; seeded so a probabilistic storm is reproducible."""

    def __init__(self, seed: int) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rng = random.Random(f"faults:{seed}")
        self.seed = seed

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            stored = rule.model_copy(update={"id": next(self._ids)})
            self._rules.append(stored)
            return stored

    def clear(self, provider: str | None = None) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if provider not in (None, r.provider)]

    def active(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, provider: str, kinds: frozenset[str], route: str = "*") -> FaultRule | None:
        """The first matching rule of the given kinds, consuming one of its `count`."""
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or rule.provider not in ("*", provider):
                    continue
                if route != "*" and not fnmatch.fnmatchcase(route, rule.route):
                    continue
                if rule.probability < 1 and self._rng.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    remaining = rule.count - 1
                    if remaining <= 0:
                        self._rules.remove(rule)
                    else:
                        self._rules[self._rules.index(rule)] = rule.model_copy(
                            update={"count": remaining}
                        )
                return rule
            return None

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(f"faults:{self.seed}")
