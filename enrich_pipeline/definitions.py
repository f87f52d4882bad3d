"""The one Definitions object: assets, checks, resources, jobs, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from enrich_pipeline.defs.automation import daily_schedule, enrich_job, new_prospect_files
from enrich_pipeline.defs.contacts import build_contacts_asset
from enrich_pipeline.defs.enrichment import build_enrichment_assets
from enrich_pipeline.defs.prospects import prospects, raw_prospects
from enrich_pipeline.defs.report import build_provider_report_asset
from enrich_pipeline.defs.resources import provider_resources
from enrich_pipeline.defs.store import PipelineStore
from enrich_pipeline.settings import Settings, settings


def build_definitions(config: Settings | None = None) -> dg.Definitions:
    config = config or settings()
    return dg.Definitions(
        assets=[
            raw_prospects,
            prospects,
            *build_enrichment_assets(config),
            build_contacts_asset(config),
            build_provider_report_asset(config),
        ],
        resources={"store": PipelineStore.from_settings(), **provider_resources()},
        jobs=[enrich_job],
        schedules=[daily_schedule],
        sensors=[new_prospect_files],
        # One process per run, steps in order: a day's steps form a chain (prospects, the waterfall,
        # contacts), so a process per step bought no parallelism and cost seconds of start-up each:
        # 8-10x the day's work in all (benchmarks/run_overhead.py). Pools still hold: the in-process
        # executor claims their slots (test_executor_pools.py).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
