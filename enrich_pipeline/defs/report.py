"""provider_report: the day's coverage and cost per provider and field, built from the attempts."""

import dagster as dg

from enrich_pipeline.defs.contacts import day_attempts
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore
from enrich_pipeline.settings import Settings
from enrich_pipeline.warehouse.report import (
    provider_report,
    report_bar_chart,
    report_markdown,
    report_totals,
    report_vega_lite,
)


def build_provider_report_asset(settings: Settings) -> dg.AssetsDefinition:
    providers = settings.provider_order
    upstream = [dg.AssetKey("contacts"), *[dg.AssetKey(f"{p}_enrichment") for p in providers]]

    @dg.asset(
        name="provider_report",
        partitions_def=DAILY,
        backfill_policy=ONE_DAY_PER_RUN,
        group_name="contacts",
        deps=upstream,
        pool="warehouse_views",  # it refreshes the views: one writer at a time
        kinds={"parquet", "duckdb"},
        description=(
            "Per day, provider and field: attempted, found, find-rate, verified share, credits, "
            "credits per found field and marginal contribution (answers only this provider gave); "
            "plus one 'all' row per provider with its requests and total credits."
        ),
    )
    def _provider_report(
        context: dg.AssetExecutionContext, store: PipelineStore
    ) -> dg.MaterializeResult:
        day = context.partition_key
        warehouse = store.warehouse()
        report = provider_report(
            day_attempts(store, providers, day),
            warehouse.read_partition("contacts", day),
            day=day,
            provider_order=providers,
        )
        warehouse.write_partition("provider_report", day, report)
        warehouse.refresh_views()
        totals = report_totals(report)
        return dg.MaterializeResult(
            metadata={
                "rows": report.num_rows,
                "credits_spent": totals["credits"],
                "credits_by_provider": dg.MetadataValue.json(totals["credits_by_provider"]),
                "credits_estimated_by_provider": dg.MetadataValue.json(
                    totals["credits_estimated_by_provider"]
                ),
                "requests_by_provider": dg.MetadataValue.json(totals["requests_by_provider"]),
                "found_by_field": dg.MetadataValue.json(totals["found_by_field"]),
                "marginal_by_field": dg.MetadataValue.json(totals["marginal_by_field"]),
                "report": dg.MetadataValue.md(report_markdown(report)),
                "chart": dg.MetadataValue.md(report_bar_chart(report)),
                "chart_vega_lite": dg.MetadataValue.json(report_vega_lite(report)),
            }
        )

    return _provider_report
