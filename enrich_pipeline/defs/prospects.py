"""raw_prospects, prospects and prospect_rejects: one day's files, read and cleaned."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from enrich_pipeline.defs.metadata import (
    OWNERS,
    figures,
    markdown_table,
    preview,
    table_metadata,
)
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore
from enrich_pipeline.ingest.fingerprint import FINGERPRINT_KEY, day_fingerprint
from enrich_pipeline.ingest.prospects import (
    REJECT_COLUMNS,
    FileSummary,
    merge_with_earlier,
    normalise,
    problems_as_rejects,
    read_raw_day,
)
from enrich_pipeline.settings import settings

REJECTS_SCHEMA = pa.schema(
    [(c, pa.int64() if c == "source_row" else pa.string()) for c in REJECT_COLUMNS]
)


def rejects_table(frame: pd.DataFrame) -> pa.Table:
    """Typed even when empty, so every day's file has the same columns."""
    frame = frame.reindex(columns=list(REJECT_COLUMNS))
    frame = frame.astype({c: "object" for c in REJECT_COLUMNS if c != "source_row"})
    frame["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce").astype("Int64")
    return pa.Table.from_pandas(frame, schema=REJECTS_SCHEMA, preserve_index=False)


def _preview(frame: pd.DataFrame, columns: list[str]) -> dg.MetadataValue:
    shown = [c for c in columns if c in frame.columns]
    rows = frame[shown].head(5).to_dict("records")
    return preview(rows, shown, full=settings().full_previews)


def reason_kind(reason: str) -> str:
    """A reject reason without its particulars (the text before the first colon), so that rejects
    can be counted per reason; the particulars never carry a person's data into metadata."""
    return reason.split(":", 1)[0].strip()


def rejects_by_reason(rejects: pd.DataFrame) -> dg.MetadataValue:
    """A markdown table: severity, reason, count, most frequent first."""
    if not len(rejects):
        return dg.MetadataValue.md("_no rejects_")
    kinds = rejects.assign(reason=rejects["reason"].astype(str).map(reason_kind))
    counts = kinds.groupby(["severity", "reason"], sort=False).size().sort_values(ascending=False)
    rows = [
        {"severity": severity, "reason": reason, "count": int(count)}
        for (severity, reason), count in counts.items()
    ]
    return dg.MetadataValue.md(
        markdown_table(rows, ["severity", "reason", "count"], limit=len(rows))
    )


def file_figures(files: list[FileSummary]) -> dict[str, object]:
    """What became of each file of the day: counts, a markdown table, one plottable int per file."""
    rows = [
        {
            "file": f.source_file,
            "rows": f.rows,
            "problems": f.problems,
            "encoding": f.encoding or "",
            "status": f.status,
        }
        for f in files
    ]
    read = [f for f in files if f.status != "not read"]
    return {
        "files_read": len(read),
        "empty_files": sum(f.status == "empty" for f in files),
        "unreadable_files": sum(f.status in ("unreadable", "not read") for f in files),
        "rows_per_file": dg.MetadataValue.md(
            markdown_table(rows, ["file", "rows", "problems", "encoding", "status"], len(rows))
        ),
        **{f"rows/{f.source_file.rsplit('/', 1)[-1]}": f.rows for f in read},
    }


@dg.asset(
    partitions_def=DAILY,
    backfill_policy=ONE_DAY_PER_RUN,
    group_name="prospects",
    kinds={"python", "parquet"},
    owners=OWNERS,
    description="Every CSV/Parquet file of the day, read as is, with source file and row number.",
)
def raw_prospects(context: dg.AssetExecutionContext, store: PipelineStore) -> dg.MaterializeResult:
    day = context.partition_key
    raw = read_raw_day(store.day_dir(day), day=day)
    warehouse = store.warehouse()
    table = pa.Table.from_pandas(raw.frame, preserve_index=False)
    warehouse.write_partition("raw_prospects", day, table)
    problems = problems_as_rejects(raw.problems)
    warehouse.write_partition("raw_problems", day, rejects_table(problems))
    files = [f.source_file for f in raw.files if f.status != "not read"]
    context.log.info(
        "%s: %d rows from %d files, %d problems",
        day,
        len(raw.frame),
        len(files),
        len(raw.problems),
    )
    for summary in raw.files:
        if summary.status == "empty":
            context.log.warning(
                f"{day}: {summary.source_file} has no data rows (a header only, or nothing):"
                " 0 people read from it"
            )
    unreadable = int((problems["severity"] == "unreadable").sum())
    return dg.MaterializeResult(
        metadata={
            **table_metadata(table),
            **figures(
                {
                    "files": dg.MetadataValue.text(", ".join(files)) if files else None,
                    "unreadable_rows": unreadable,  # rows and files
                    "fields_dropped_on_read": len(problems) - unreadable,
                    **file_figures(raw.files),
                    "problems_by_reason": rejects_by_reason(problems) if len(problems) else None,
                }
            ),
            # what the sensor compares: a day whose files still hash to this is not run again
            FINGERPRINT_KEY: day_fingerprint(store.day_dir(day)),
        }
    )


@dg.multi_asset(
    partitions_def=DAILY,
    backfill_policy=ONE_DAY_PER_RUN,
    group_name="prospects",
    # subsettable, like contacts_tables: any selection backfills from the UI (issue 14)
    can_subset=True,
    specs=[
        dg.AssetSpec(
            "prospects",
            deps=[raw_prospects],
            kinds={"python", "parquet"},
            owners=OWNERS,
            skippable=True,
            description=(
                "Normalised people of the day: names, emails, registrable domains, canonical LinkedIn "
                "URLs, person_key, duplicates merged."
            ),
        ),
        dg.AssetSpec(
            "prospect_rejects",
            deps=[raw_prospects],
            kinds={"parquet"},
            owners=OWNERS,
            skippable=True,
            description=(
                "Every raw row (or field) that could not be used, with file, row, field and reason."
            ),
        ),
    ],
)
def prospects(context: dg.AssetExecutionContext, store: PipelineStore):  # type: ignore[no-untyped-def]
    day = context.partition_key
    warehouse = store.warehouse()
    raw = warehouse.read_partition("raw_prospects", day)
    problems = warehouse.read_partition("raw_problems", day)
    frame = raw.to_pandas() if raw is not None else pd.DataFrame()
    result = normalise(frame, day=day)
    earlier = set()
    for earlier_day in warehouse.days("prospects"):
        if earlier_day < day:
            table = warehouse.read_partition("prospects", earlier_day)
            if table is not None:
                earlier.update(table.column("person_key").to_pylist())
    people = merge_with_earlier(result.prospects, earlier)
    rejects = result.rejects
    if problems is not None and problems.num_rows:
        rejects = pd.concat([problems.to_pandas(), rejects], ignore_index=True)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if "prospects" in selected:
        table = pa.Table.from_pandas(people, preserve_index=False)
        warehouse.write_partition("prospects", day, table)
        yield dg.MaterializeResult(
            asset_key="prospects",
            metadata={
                **table_metadata(table),
                **figures(
                    {
                        "raw_rows": len(frame),
                        "duplicates_merged": int(people["duplicates"].sum()) if len(people) else 0,
                        "seen_on_earlier_days": int(people["seen_before"].sum())
                        if len(people)
                        else 0,
                    }
                ),
                "preview": _preview(
                    people, ["person_key", "first_name", "last_name", "company_domain"]
                ),
            },
        )
    if "prospect_rejects" in selected:
        table = rejects_table(rejects)
        warehouse.write_partition("prospect_rejects", day, table)
        rejected = int((rejects["severity"] != "field_dropped").sum()) if len(rejects) else 0
        yield dg.MaterializeResult(
            asset_key="prospect_rejects",
            metadata={
                **table_metadata(table),
                "rejected_rows": rejected,
                "field_dropped": int((rejects["severity"] == "field_dropped").sum())
                if len(rejects)
                else 0,
                "rejects_by_reason": rejects_by_reason(rejects),
                "preview": _preview(rejects, ["source_file", "source_row", "field", "reason"]),
            },
        )
