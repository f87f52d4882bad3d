"""Shared pieces of the asset layer: the daily partitions and the storage resource."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
from pydantic import Field

from enrich_pipeline.mode import Mode
from enrich_pipeline.settings import settings
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.warehouse.storage import Warehouse

# One partition per day folder data/raw/prospects/YYYY-MM-DD/, up to yesterday: a day is enriched
# once it is over (today's folder may still be filling), by the schedule or the sensor.
DAILY = dg.DailyPartitionsDefinition(start_date=settings().first_day)
# backfill_policy is marked beta in Dagster 1.13; we rely on it knowingly, once, here.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
# Backfills against rate-limited APIs: one run per partition, throttled by the provider pools, so a
# failed day retries alone and no run holds a key for hours (Dagster's advice for limited sources).
ONE_DAY_PER_RUN = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)


class PipelineStore(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where the pipeline keeps things: raw files, the Parquet warehouse and the ledger."""

    raw_dir: str = Field(description="Folder of day folders YYYY-MM-DD/ with prospect files.")
    warehouse_dir: str = Field(description="Parquet warehouse and enrich.duckdb.")
    state_dir: str = Field(description="The ledger (SQLite) lives here, unless ledger_url is set.")
    ledger_url: str | None = Field(
        default=None,
        description="ENRICH_LEDGER_URL: a postgresql:// URL puts the ledger in Postgres (an EnvVar, "
        "so its password never shows in the UI).",
    )
    mode: str = Field(
        default="sandbox",
        description="sandbox | live (ENRICH_MODE): the ledger and warehouse refuse the other's.",
    )

    @classmethod
    def from_settings(cls) -> PipelineStore:
        s = settings()
        return cls(
            raw_dir=str(s.raw_dir),
            warehouse_dir=str(s.warehouse_dir),
            state_dir=str(s.state_dir),
            ledger_url=dg.EnvVar("ENRICH_LEDGER_URL") if s.ledger_url else None,
            mode=s.mode.value,
        )

    def day_dir(self, day: str) -> Path:
        return Path(self.raw_dir) / day

    def warehouse(self) -> Warehouse:
        return Warehouse(Path(self.warehouse_dir), mode=Mode(self.mode))

    def ledger(self) -> Ledger:
        return Ledger(self.ledger_url or Path(self.state_dir) / "ledger.sqlite", Mode(self.mode))
