"""contacts, positions and contact_channels: the day's best answers, rebuilt from the attempts."""

import warnings

import dagster as dg
import pyarrow as pa

from enrich_pipeline.defs.enrichment import HEAVY, attempts_table_name
from enrich_pipeline.defs.metadata import OWNERS, figures, preview, table_metadata
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore
from enrich_pipeline.settings import Settings
from enrich_pipeline.warehouse.checks import BLOCKING_CHECKS, CHECK_DESCRIPTIONS, contact_checks
from enrich_pipeline.warehouse.flatten import build_channels, build_contacts, build_positions

# Partitioned check specs are a preview in Dagster 1.13; used knowingly so that each check result
# belongs to its day in the UI, like the materialisation it checks.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def.*")

CONTACT_TABLES = ("contacts", "positions", "contact_channels")
FIELDS = ("email", "phone", "linkedin")


def day_attempts(store: PipelineStore, providers: tuple[str, ...], day: str) -> pa.Table | None:
    tables = [
        t
        for p in providers
        if (t := store.warehouse().read_partition(attempts_table_name(p), day, without=HEAVY))
        is not None
    ]
    return pa.concat_tables(tables, promote_options="default") if tables else None


def contacts_figures(contacts: pa.Table) -> dict[str, object]:
    """people; <field>_found: people with the field from any provider, cached answers included;
    <field>_coverage = <field>_found / people (a share of the day's people, not a provider's
    find-rate: that one is in provider_report)."""
    people = contacts.num_rows
    found = {f: contacts.column(f"found_{f}").to_pylist().count(True) for f in FIELDS}
    return {
        "people": people,
        **{f"{f}_found": n for f, n in found.items()},
        **{f"{f}_coverage": round(n / people, 3) if people else None for f, n in found.items()},
        "credits_spent": sum(v or 0 for v in contacts.column("credits_spent").to_pylist()),
    }


def build_contacts_asset(settings: Settings) -> dg.AssetsDefinition:
    providers = settings.provider_order
    upstream = [dg.AssetKey("prospects"), *[dg.AssetKey(f"{p}_enrichment") for p in providers]]

    # Subsettable: a backfill or launch of any selection (the asset graph's "Materialize all", the
    # Catalog's "Materialize selected") builds exactly the selected tables. A non-subsettable
    # multi-asset makes Dagster require equal partition subsets for all three keys, a comparison
    # that fails for equal subsets under some hash seeds (issue 14).
    @dg.multi_asset(
        name="contacts_tables",
        partitions_def=DAILY,
        backfill_policy=ONE_DAY_PER_RUN,
        group_name="contacts",
        pool="warehouse_views",
        can_subset=True,
        check_specs=[
            dg.AssetCheckSpec(
                name,
                asset="contacts",
                description=description,
                blocking=name in BLOCKING_CHECKS,
                partitions_def=DAILY,
            )
            for name, description in CHECK_DESCRIPTIONS.items()
        ],
        specs=[
            dg.AssetSpec(
                "contacts",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                owners=OWNERS,
                skippable=True,
                description=(
                    "One row per person of the day: best email and status, phones (E.164), LinkedIn "
                    "fields, and the provider behind each field. Query `contacts_latest` in "
                    "DuckDB for one row per person across days."
                ),
            ),
            dg.AssetSpec(
                "positions",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                owners=OWNERS,
                skippable=True,
                description="One row per LinkedIn position of the chosen profile.",
            ),
            dg.AssetSpec(
                "contact_channels",
                deps=upstream,
                kinds={"parquet", "duckdb"},
                owners=OWNERS,
                skippable=True,
                description="Every email and phone candidate with provider and status.",
            ),
        ],
    )
    def contacts_tables(context: dg.AssetExecutionContext, store: PipelineStore):  # type: ignore[no-untyped-def]
        day = context.partition_key
        selected = {key.to_user_string() for key in context.selected_asset_keys}
        warehouse = store.warehouse()
        people = warehouse.read_partition("prospects", day)
        if people is None:
            raise dg.Failure(f"no prospects for {day}: materialise `prospects` for this day first")
        attempts = day_attempts(store, providers, day)
        builders = {
            "contacts": lambda: build_contacts(people, attempts, provider_order=providers),
            "positions": lambda: build_positions(attempts, provider_order=providers),
            "contact_channels": lambda: build_channels(attempts, provider_order=providers),
        }
        tables = {name: builders[name]() for name in CONTACT_TABLES if name in selected}
        for name, table in tables.items():
            warehouse.write_partition(name, day, table)
        warehouse.refresh_views()
        full = settings.full_previews
        if (contacts := tables.get("contacts")) is not None:
            yield dg.MaterializeResult(
                asset_key="contacts",
                metadata={
                    **table_metadata(contacts),
                    **figures(contacts_figures(contacts)),
                    "preview": preview(
                        contacts.slice(0, 5).to_pylist(),
                        ["person_key", "email", "email_status", "email_provider", "phone", "title"],
                        full=full,
                    ),
                },
            )
            checks = {key.name for key in context.selected_asset_check_keys}
            for check in contact_checks(contacts, people, settings.found_rate_floor, examples=full):
                if check.name not in checks:
                    continue
                yield dg.AssetCheckResult(
                    asset_key="contacts",
                    check_name=check.name,
                    passed=check.passed,
                    severity=dg.AssetCheckSeverity(check.severity),
                    description=check.description,
                    metadata=check.metadata,
                )
        for name in ("positions", "contact_channels"):
            if (table := tables.get(name)) is not None:
                yield dg.MaterializeResult(asset_key=name, metadata=table_metadata(table))

    return contacts_tables
