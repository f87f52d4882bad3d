"""Configuration read once: environment variables (ENRICH_*), with sensible defaults.

Every setting is listed in the README's table. Provider keys are NOT here: they are read by the
provider resources through Dagster's EnvVar only.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from enrich_pipeline.mode import Mode, resolve_mode
from enrich_pipeline.model import PROVIDERS, WantedField
from enrich_pipeline.spend.budgets import Budget

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The default waterfall: cheapest first for every field we price (pricing.PRICES). enrich.so's phone
# finder costs 500 credits a phone against The Hog's 5, so enrich.so goes last; measured on 10,000
# prospects (benchmarks/waterfall_vs_fanout.py) this order spends 0.33 of a fan-out's credits for the
# same find-rates, where lemlist -> enrichso -> thehog spends 0.90.
DEFAULT_PROVIDER_ORDER: tuple[str, ...] = ("lemlist", "thehog", "enrichso")
ENRICHSO_PLANS = ("free", "growth", "scale", "pro", "enterprise")


def default_dirs(mode: Mode) -> dict[str, Path]:
    """Warehouse and state folders per mode: a live run never opens what a sandbox run made.
    Sandbox keeps the short paths `make run` prints; live gets its own tree under data/live/."""
    base = PROJECT_ROOT / "data" / ("live" if mode is Mode.LIVE else "")
    return {"warehouse_dir": base / "warehouse", "state_dir": base / "state"}


class Settings(BaseModel):
    mode: Mode = Mode.SANDBOX  # ENRICH_MODE; see mode.py
    raw_dir: Path = PROJECT_ROOT / "data" / "raw" / "prospects"
    warehouse_dir: Path = PROJECT_ROOT / "data" / "warehouse"
    state_dir: Path = PROJECT_ROOT / "data" / "state"
    provider_order: tuple[str, ...] = DEFAULT_PROVIDER_ORDER
    wanted_fields: frozenset[WantedField] = frozenset(
        {WantedField.EMAIL, WantedField.PHONE, WantedField.LINKEDIN}
    )
    ttl_days: float = Field(30.0, ge=0)
    # An unpaid failed job (the provider's job failed or was cancelled; nothing charged) is asked
    # again once older than this: by default on the very next run. A paid failure never is.
    retry_failed_after_hours: float = Field(0.0, ge=0)
    poll_timeout_s: float | None = Field(None, gt=0)
    found_rate_floor: float = Field(0.3, ge=0, le=1)
    first_day: str = "2026-11-02"
    budget_per_run: int | None = Field(None, ge=0)
    budget_per_day: int | None = Field(None, ge=0)
    budget_per_provider: dict[str, int] = Field(default_factory=dict)  # per provider and day
    suppression_file: Path = PROJECT_ROOT / "data" / "suppression.csv"
    # People a failed provider never took wait for it (False), or move on to the next (True).
    failover: bool = False
    # Public base URL of the webhook receiver (`enrich-pipeline webhooks`); providers POST to
    # <url>/<provider>. None: no webhooks.
    webhook_url: str | None = None
    # ENRICH_WEBHOOK_GRACE_S: with webhooks, seconds without any delivery before the jobs still
    # unanswered are polled, oldest first, up to the first still running (a lost delivery costs
    # this much wait, then one poll). Unset: 30 s, scaled by the sandbox speed in sandbox mode like
    # every provider delay.
    webhook_grace_s: float | None = Field(None, gt=0)
    # The enrich.so plan of the live key (its rate limits, providers.md 2.1): a free-plan key paced
    # as growth would meet 429s.
    enrichso_plan: str = "growth"
    # Dagster's event log cannot be erased by `forget`: previews there mask personal values unless
    # this is set (ENRICH_FULL_PREVIEWS=true), e.g. on a machine holding no real people.
    full_previews: bool = False
    # ENRICH_LEDGER_URL: a postgresql:// URL puts the ledger in that database (runs on several
    # machines share it); unset, it is the SQLite file state_dir/ledger.sqlite. May hold a password:
    # kept out of repr, and shown only as ledger_sql.redact_url() writes it.
    ledger_url: str | None = Field(None, repr=False)

    @field_validator("provider_order")
    @classmethod
    def _known_providers(cls, order: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in order if p not in PROVIDERS]
        if unknown or not order or len(set(order)) != len(order):
            raise ValueError(
                f"ENRICH_PROVIDER_ORDER must list distinct providers from {', '.join(PROVIDERS)}; "
                f"got {', '.join(order) or 'nothing'}"
            )
        return order

    @field_validator("enrichso_plan")
    @classmethod
    def _known_plan(cls, plan: str) -> str:
        if plan not in ENRICHSO_PLANS:
            raise ValueError(
                f"ENRICHSO_PLAN must be one of {', '.join(ENRICHSO_PLANS)}; got {plan}"
            )
        return plan

    @property
    def ttl(self) -> timedelta:
        return timedelta(days=self.ttl_days)

    @property
    def retry_failed_after(self) -> timedelta:
        return timedelta(hours=self.retry_failed_after_hours)

    @property
    def budget(self) -> Budget:
        return Budget(self.budget_per_run, self.budget_per_day, self.budget_per_provider)

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def ledger_location(self) -> Path | str:
        """What Ledger() opens: the Postgres URL when set, else the SQLite file."""
        return self.ledger_url or self.ledger_path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        order = DEFAULT_PROVIDER_ORDER
        if raw := env.get("ENRICH_PROVIDER_ORDER"):
            order = tuple(p.strip() for p in raw.split(",") if p.strip())
            values["provider_order"] = order
        mode = resolve_mode(order, env)
        values["mode"] = mode
        values.update(default_dirs(mode))
        for name in ("raw_dir", "warehouse_dir", "state_dir"):
            if raw := env.get(f"ENRICH_{name.upper()}"):
                values[name] = Path(raw)
        if raw := env.get("ENRICHSO_PLAN"):
            values["enrichso_plan"] = raw.strip().lower()
        if raw := env.get("ENRICH_FIELDS"):
            try:
                values["wanted_fields"] = frozenset(
                    WantedField(f.strip()) for f in raw.split(",") if f.strip()
                )
            except ValueError as exc:
                choices = ", ".join(f.value for f in WantedField)
                raise ValueError(f"ENRICH_FIELDS: {exc}; choose from {choices}") from None
        for name in (
            "ttl_days",
            "retry_failed_after_hours",
            "poll_timeout_s",
            "found_rate_floor",
            "webhook_grace_s",
        ):
            if raw := env.get(f"ENRICH_{name.upper()}"):
                values[name] = raw
        if raw := env.get("ENRICH_FIRST_DAY"):
            values["first_day"] = raw
        if raw := env.get("ENRICH_WEBHOOK_URL", "").strip():
            values["webhook_url"] = raw
        if raw := env.get("ENRICH_LEDGER_URL", "").strip():
            if raw.split(":", 1)[0].lower() not in ("postgresql", "postgres"):
                # checked here, not by a validator: pydantic's error would echo the URL (password)
                raise ValueError(
                    "ENRICH_LEDGER_URL must be a postgresql://user:password@host:port/database "
                    "URL; unset it to keep the ledger in SQLite under ENRICH_STATE_DIR"
                )
            values["ledger_url"] = raw
        if raw := env.get("ENRICH_FULL_PREVIEWS"):
            values["full_previews"] = raw  # pydantic reads true/false, 1/0, yes/no, on/off
        if raw := env.get("ENRICH_FAILOVER"):
            values["failover"] = raw  # pydantic reads true/false, 1/0, yes/no, on/off
        for name in ("budget_per_run", "budget_per_day"):
            if raw := env.get(f"ENRICH_{name.upper()}"):
                values[name] = raw
        values["budget_per_provider"] = {
            p: int(raw) for p in PROVIDERS if (raw := env.get(f"ENRICH_BUDGET_{p.upper()}"))
        }
        if raw := env.get("ENRICH_SUPPRESSION_FILE"):
            values["suppression_file"] = Path(raw)
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
