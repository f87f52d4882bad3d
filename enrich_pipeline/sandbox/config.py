"""Sandbox settings: one pydantic model, read from keyword arguments, CLI flags or SANDBOX_* env vars."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

EnrichsoPlan = Literal["free", "growth", "scale", "pro", "enterprise"]


class JobDelays(BaseModel):
    """Seconds an async job spends queued, then processing, before it is done (at speed 1)."""

    queued_s: float = 1.0
    processing_s: float = 4.0


class SandboxConfig(BaseModel):
    seed: int = 42
    people: int = Field(5000, ge=1)
    companies: int = Field(800, ge=1)
    # Multiplies every delay and every rate-limit window: 0.01 makes a 2 s window 20 ms and a 5 s job
    # 50 ms, so tests run fast while the default stays realistic.
    speed: float = Field(1.0, gt=0)

    lemlist_api_key: str = "sandbox"
    enrichso_api_key: str = "sk_sandbox"
    thehog_access_key: str = "ak_sandbox"
    thehog_secret_key: str = "sk_sandbox"
    thehog_legacy_api_key: str = "hog_sandbox"

    enrichso_plan: EnrichsoPlan = "growth"

    lemlist_credits: int = 100_000
    enrichso_credits: int = 5_000_000
    thehog_credits: int = 100_000
    # lemlist documents no 402 (providers.md 1.9): when credits run out the submit still answers 200
    # and the enrichment ends as enrichmentError ("error") or as not found ("not_found").
    lemlist_out_of_credits: Literal["error", "not_found"] = "error"
    # enrich.so documents two response shapes (providers.md 2.4 / 2.7); "legacy" emits the quick-reference one.
    enrichso_shape: Literal["endpoint", "legacy"] = "endpoint"
    # "rich": today's answers, which fill what providers.md leaves open (ASSUMPTION / UNKNOWN) with
    # the guesses the clients were written for. "documented": every answer carries only what
    # providers.md marks DOC, in the documented shape (e.g. a lemlist poll's email without a
    # status), so the clients are tested against what a live API is known to send, not our guesses.
    shape: Literal["rich", "documented"] = "rich"
    # Rows per enrich.so results page whatever `limit` asks (SANDBOX_ENRICHSO_PAGE_CAP), as a live
    # server might cap them; None: `limit` is served as documented (1-1000, providers.md 2.3).
    enrichso_page_cap: int | None = Field(None, ge=1)

    lemlist_delays: JobDelays = JobDelays(queued_s=0.5, processing_s=3.0)
    enrichso_delays: JobDelays = JobDelays(queued_s=1.0, processing_s=5.0)
    thehog_delays: JobDelays = JobDelays(queued_s=0.5, processing_s=3.0)
    # Seconds before a single enrich.so / The Hog sync lookup answers (at speed 1).
    sync_latency_s: float = 0.0

    def scaled(self, seconds: float) -> float:
        return seconds * self.speed

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> SandboxConfig:
        """SANDBOX_SEED, SANDBOX_PEOPLE, SANDBOX_SPEED, SANDBOX_ENRICHSO_PLAN, ... (field name upper-cased)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            raw = env.get(f"SANDBOX_{name.upper()}")
            if raw is not None and field.annotation is not JobDelays:
                values[name] = raw  # pydantic coerces "0.01" / "123" / plan names
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
