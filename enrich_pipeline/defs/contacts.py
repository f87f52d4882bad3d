"""contacts, positions and contact_channels: the day's best answers, rebuilt from the attempts."""

import dagster as dg
import pyarrow as pa

from enrich_pipeline.defs.enrichment import attempts_table_name
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore, markdown_table
from enrich_pipeline.settings import Settings
from enrich_pipeline.warehouse.checks import CHECK_NAMES, contact_checks
from enrich_pipeline.warehouse.flatten import build_channels, build_contacts, build_positions


def day_attempts(store: PipelineStore, providers: tuple[str, ...], day: str) -> pa.Table | None:
    tables = [
        t
        for p in providers
        if (t := store.warehouse().read_partition(attempts_table_name(p), day)) is not None
    ]
    return pa.concat_tables(tables, promote_options="default") if tables else None


def build_contacts_asset(settings: Settings) -> dg.AssetsDefinition:
    providers = settings.provider_order
    upstream = [dg.AssetKey("prospects"), *[dg.AssetKey(f"{p}_enrichment") for p in providers]]

    @dg.multi_asset(
        name="contacts_tables",
        partitions_def=DAILY,
        backfill_policy=ONE_DAY_PER_RUN,
        group_name="contacts",
        pool="warehouse_views",
        check_specs=[
            dg.AssetCheckSpec(
                name, asset="contacts", description=f"contacts: {name.replace('_', ' ')}"
            )
            for name in CHECK_NAMES
        ],
        specs=[
            dg.AssetSpec(
                "contacts",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                description=(
                    "One row per person: best email and status, phones (E.164), LinkedIn fields, and "
                    "the provider behind each field."
                ),
            ),
            dg.AssetSpec(
                "positions",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                description="One row per LinkedIn position of the chosen profile.",
            ),
            dg.AssetSpec(
                "contact_channels",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                description="Every email and phone candidate with provider and status.",
            ),
        ],
    )
    def contacts_tables(context: dg.AssetExecutionContext, store: PipelineStore):  # type: ignore[no-untyped-def]
        day = context.partition_key
        warehouse = store.warehouse()
        people = warehouse.read_partition("prospects", day)
        if people is None:
            raise dg.Failure(f"no prospects for {day}: materialise `prospects` for this day first")
        attempts = day_attempts(store, providers, day)
        contacts = build_contacts(people, attempts, provider_order=providers)
        positions = build_positions(attempts, provider_order=providers)
        channels = build_channels(attempts, provider_order=providers)
        for name, table in (
            ("contacts", contacts),
            ("positions", positions),
            ("contact_channels", channels),
        ):
            warehouse.write_partition(name, day, table)
        warehouse.refresh_views()
        rows = contacts.num_rows
        found = {
            field: contacts.column(f"found_{field}").to_pylist().count(True)
            for field in ("email", "phone", "linkedin")
        }
        credits = sum(v or 0 for v in contacts.column("credits_spent").to_pylist())
        yield dg.MaterializeResult(
            asset_key="contacts",
            metadata={
                "rows": rows,
                **{f"{f}_found": n for f, n in found.items()},
                "found_rate": dg.MetadataValue.json(
                    {f: round(n / rows, 3) if rows else None for f, n in found.items()}
                ),
                "credits_spent": credits,
                "preview": dg.MetadataValue.md(
                    markdown_table(
                        contacts.slice(0, 5).to_pylist(),
                        ["person_key", "email", "email_status", "email_provider", "phone", "title"],
                    )
                ),
            },
        )
        for check in contact_checks(contacts, people, settings.found_rate_floor):
            yield dg.AssetCheckResult(
                asset_key="contacts",
                check_name=check.name,
                passed=check.passed,
                severity=dg.AssetCheckSeverity(check.severity),
                description=check.description,
                metadata=check.metadata,
            )
        yield dg.MaterializeResult(asset_key="positions", metadata={"rows": positions.num_rows})
        yield dg.MaterializeResult(
            asset_key="contact_channels", metadata={"rows": channels.num_rows}
        )

    return contacts_tables
