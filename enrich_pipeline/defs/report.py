"""provider_report: the day's coverage and cost per provider and field, from what the ledger holds
as paid for the day (so a re-run changes nothing) and the day's attempts (cache hits)."""

import dagster as dg
import pyarrow as pa

from enrich_pipeline.defs.contacts import day_attempts
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore
from enrich_pipeline.settings import Settings
from enrich_pipeline.warehouse.report import (
    REPORT_COLUMNS,
    REPORT_SCHEMA,
    credit_totals,
    provider_figures,
    provider_report,
    report_bar_chart,
    report_markdown,
    report_vega_lite,
)

DESCRIPTION = """\
Per day, provider and field (email, phone, linkedin; 'all' = the provider's requests as a whole):
what the day paid for, read from the ledger whichever run of the day sent it, so re-running a day
changes no figure. attempted = people sent a request for the field ('all': requests sent);
found = attempted people a paid answer of the day returned the field to ('all': requests that
returned at least one field), so found <= attempted and find_rate = found / attempted is in
[0, 1]; cache_hits = people answered free from an answer bought on another day (not the day's own
purchases re-read by a re-run); credits = the day's recorded credits split over the fields paid
for ('all': the provider's total); cost_basis = reported | table | estimated; marginal = people
only this provider answered among the day's answers; chosen = contacts rows showing its value.
Metadata: one number per figure and provider (e.g. credits_lemlist, email_find_rate_lemlist)."""


def report_column_schema() -> dg.TableSchema:
    """REPORT_SCHEMA with REPORT_COLUMNS' description of every column."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f.name, type=str(f.type), description=REPORT_COLUMNS[f.name])
            for f in REPORT_SCHEMA
        ]
    )


def report_metadata(report: pa.Table, providers: tuple[str, ...]) -> dict[str, object]:
    """Plottable numbers (one key per figure and provider, empty values left out), the row count
    and column schema, and the report as markdown and charts."""
    metadata: dict[str, object] = {
        "dagster/row_count": dg.MetadataValue.int(report.num_rows),
        "dagster/column_schema": report_column_schema(),
        **credit_totals(report),
    }
    for provider in providers:
        for name, value in provider_figures(report, provider, contribution=True).items():
            if value is not None:
                metadata[f"{name}_{provider}"] = value
    metadata |= {
        "report": dg.MetadataValue.md(report_markdown(report)),
        "chart": dg.MetadataValue.md(report_bar_chart(report)),
        "chart_vega_lite": dg.MetadataValue.json(report_vega_lite(report)),
    }
    return metadata


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
        owners=["team:data-engineering"],
        description=DESCRIPTION,
    )
    def _provider_report(
        context: dg.AssetExecutionContext, store: PipelineStore
    ) -> dg.MaterializeResult:
        day = context.partition_key
        warehouse = store.warehouse()
        ledger = store.ledger()
        try:
            report = provider_report(
                ledger.iter_sent_requests(day),
                day_attempts(store, providers, day),
                warehouse.read_partition("contacts", day),
                day=day,
                provider_order=providers,
            )
        finally:
            ledger.close()
        warehouse.write_partition("provider_report", day, report)
        warehouse.refresh_views()
        return dg.MaterializeResult(metadata=report_metadata(report, providers))

    return _provider_report
