"""Everything one running sandbox holds: world, wallets, limiter, faults, counters and provider stores."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from enrich_pipeline.sandbox.config import JobDelays, SandboxConfig
from enrich_pipeline.sandbox.counters import Counters
from enrich_pipeline.sandbox.faults import JOB_FAULTS, FaultBook
from enrich_pipeline.sandbox.jobs import Fate, JobTimer
from enrich_pipeline.sandbox.ratelimit import RateLimiter
from enrich_pipeline.sandbox.wallet import Wallet
from enrich_pipeline.sandbox.webhooks import WebhookDispatcher
from enrich_pipeline.sandbox.world import PROVIDERS, World

StoreFactory = Callable[["SandboxState"], Any]


def key_label(secret: str) -> str:
    """A stable, non-reversible label for a credential, for counters and logs."""
    return "key_" + hashlib.sha256(secret.encode()).hexdigest()[:8]


class SandboxState:
    def __init__(self, config: SandboxConfig, store_factories: dict[str, StoreFactory]) -> None:
        self.config = config
        self.initial_config = config
        self.world = World.build(config.seed, config.people, config.companies)
        self._store_factories = store_factories
        self.counters = Counters()
        self.faults = FaultBook(config.seed)
        self.limiter = RateLimiter(config.speed)
        self.webhooks = WebhookDispatcher(self.counters, self.faults, config.speed, config.seed)
        self.wallets: dict[str, Wallet] = {}
        self.stores: dict[str, Any] = {}
        self._fresh()

    def _fresh(self) -> None:
        balances = {
            "lemlist": self.config.lemlist_credits,
            "enrichso": self.config.enrichso_credits,
            "thehog": self.config.thehog_credits,
        }
        self.wallets = {p: Wallet(p, balances[p], self.counters) for p in PROVIDERS}
        self.stores = {name: factory(self) for name, factory in self._store_factories.items()}

    def reset(self) -> None:
        """Forget every job, charge, fault, count and runtime setting; the world itself is unchanged."""
        self.webhooks.cancel_all()
        self.config = self.initial_config
        self.counters = Counters()
        self.faults.reset()
        self.limiter = RateLimiter(self.config.speed)
        self.webhooks = WebhookDispatcher(
            self.counters, self.faults, self.config.speed, self.config.seed
        )
        self._fresh()

    def set_speed(self, speed: float) -> None:
        self.config = self.config.model_copy(update={"speed": speed})
        self.limiter.speed = speed
        self.webhooks.speed = speed

    def store(self, provider: str) -> Any:
        return self.stores[provider]

    def delays(self, provider: str) -> JobDelays:
        return getattr(self.config, f"{provider}_delays")  # type: ignore[no-any-return]

    def start_job(self, provider: str) -> JobTimer:
        """A timer for a new async job, honouring job_stuck / job_fail faults."""
        delays = self.delays(provider)
        fault = self.faults.take(provider, JOB_FAULTS)
        fate: Fate = "ok"
        if fault is not None:
            fate = "stuck" if fault.kind == "job_stuck" else "fail"
        return JobTimer.start(
            self.config.scaled(delays.queued_s), self.config.scaled(delays.processing_s), fate
        )
