"""The job, the daily schedule, and the sensor that turns new or changed prospect files into runs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import dagster as dg

from enrich_pipeline.defs.store import DAILY
from enrich_pipeline.ingest.fingerprint import FINGERPRINT_KEY, day_fingerprint, day_stat_lines
from enrich_pipeline.settings import settings

enrich_job = dg.define_asset_job(
    "enrich_job",
    selection=dg.AssetSelection.all(),
    description=(
        "One day end to end (one daily partition per run): reads the day folder's CSV/Parquet files "
        "(raw_prospects, prospects, prospect_rejects), asks the providers in ENRICH_PROVIDER_ORDER "
        "for what is still missing, then builds contacts, positions, contact_channels and "
        "provider_report. Answers already in the ledger are reused, not paid again."
    ),
)


# At 06:00 UTC, the newest partition: yesterday's day folder, complete by then (the partitions end
# at yesterday; a folder dated today is requested by the sensor once its day is a partition).
daily_schedule = dg.build_schedule_from_partitioned_job(
    enrich_job,
    hour_of_day=6,
    minute_of_hour=0,
    name="enrich_daily",
    description=(
        "Every day at 06:00 UTC, runs enrich_job for yesterday's partition (the newest complete "
        "day folder), whether or not its files changed."
    ),
)


# ------------------------------------------------------------------------------------ the sensor

RAW_ASSET = dg.AssetKey("raw_prospects")  # records the content fingerprint it read
DAY_DONE_ASSET = dg.AssetKey("contacts")  # the day's product: once it is built, the day is done
CONTENT_TAG = "enrich/source_fingerprint"  # on the sensor's runs: the content they were asked for
PARTITION_TAG = "dagster/partition"  # Dagster's tag on every run of a partition
MAX_FAILED_RUNS = 3  # failed sensor runs of one day's content before the sensor stops trying
CURSOR_VERSION = 2

Verdict = Literal["done", "running", "due", "held"]


@dataclass(frozen=True)
class SeenDay:
    """What the cursor keeps per day: its stat line, the content fingerprint hashed for it, and
    `settled` ("done" or "held") once the instance need not be asked again for this content."""

    stat: str
    fingerprint: str
    settled: Verdict | None = None


@dataclass(frozen=True)
class DayCheck:
    verdict: Verdict
    run_key: str | None = None  # when due
    note: str = ""  # when held: why, for the tick's log


class Evaluation(NamedTuple):
    requests: list[dg.RunRequest]
    cursor: str
    skipped: list[str]  # day folders outside the partitions
    notes: list[str]  # days newly held back, and why


def _read_cursor(cursor: str | None) -> dict[str, SeenDay]:
    """The cursor's days; an older or unreadable cursor counts as empty (every day is hashed and
    checked once more, which requests nothing for a day already done)."""
    try:
        data = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get("version") != CURSOR_VERSION:
        return {}
    return {day: SeenDay(**entry) for day, entry in data.get("days", {}).items()}


def _write_cursor(days: dict[str, SeenDay]) -> str:
    entries = {day: asdict(seen) for day, seen in sorted(days.items())}
    return json.dumps({"version": CURSOR_VERSION, "days": entries}, sort_keys=True)


def _latest(
    instance: dg.DagsterInstance, key: dg.AssetKey, day: str, after: int | None = None
) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day], after_storage_id=after),
        limit=1,
    ).records
    return records[0] if records else None


def _recorded_fingerprint(record: dg.EventLogRecord) -> str | None:
    materialization = record.asset_materialization
    value = materialization.metadata.get(FINGERPRINT_KEY) if materialization else None
    return str(value.value) if value is not None else None


def check_day(instance: dg.DagsterInstance, day: str, fingerprint: str) -> DayCheck:
    """Whether the day's current content still needs a run; the rule of `new_prospect_files`."""
    latest = _latest(instance, RAW_ASSET, day)
    if latest is not None and _recorded_fingerprint(latest) == fingerprint:
        if _latest(instance, DAY_DONE_ASSET, day, after=latest.storage_id) is not None:
            return DayCheck("done")
        run = instance.get_run_by_id(latest.run_id)
        if run is not None and not run.is_finished:
            return DayCheck("running")  # it read these files and is on its way to contacts
    # Not done: a run for this content that is queued or running will get there (or fail).
    runs = instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: day, CONTENT_TAG: fingerprint}))
    if any(not run.is_finished for run in runs):
        return DayCheck("running")
    canceled = [run.run_id for run in runs if run.status == dg.DagsterRunStatus.CANCELED]
    if canceled:
        return DayCheck(
            "held",
            note=f"{day}: run {canceled[0]} for these files was canceled; not requested again "
            "until the files change (materialise the day by hand to run it)",
        )
    failed = [run.run_id for run in runs if run.status == dg.DagsterRunStatus.FAILURE]
    if len(failed) >= MAX_FAILED_RUNS:
        return DayCheck(
            "held",
            note=f"{day}: {len(failed)} runs for these files failed (last {failed[0]}); not "
            "requested again until the files change (fix, then materialise the day by hand)",
        )
    # One run key per content and earlier run: Dagster drops a repeat of the same key, so a day is
    # requested once per content, and once more after each run that ended without contacts.
    run_key = f"{day}:{fingerprint}" + (f":after-{runs[0].run_id[:8]}" if runs else "")
    return DayCheck("due", run_key=run_key)


def new_file_requests(
    raw_dir: Path, cursor: str | None, valid_days: set[str], instance: dg.DagsterInstance
) -> Evaluation:
    """Run requests for the days whose current content has not been enriched (see the sensor)."""
    seen = _read_cursor(cursor)
    now: dict[str, SeenDay] = {}
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    notes: list[str] = []
    for day, stat in day_stat_lines(raw_dir).items():
        if day not in valid_days:
            # Not remembered, not hashed: a folder dated ahead of today's partition is looked at
            # once its day becomes a partition.
            skipped.append(day)
            continue
        entry = seen.get(day)
        if entry is None or entry.stat != stat:
            try:
                fingerprint = day_fingerprint(raw_dir / day)
            except OSError:  # a file went away while being read: look again at the next tick
                continue
            if not fingerprint:
                continue
            settled = entry.settled if entry and entry.fingerprint == fingerprint else None
            entry = SeenDay(stat, fingerprint, settled)  # a touch keeps a settled day settled
        if entry.settled is None:
            check = check_day(instance, day, entry.fingerprint)
            if check.verdict == "due":
                requests.append(
                    dg.RunRequest(
                        partition_key=day,
                        run_key=check.run_key,
                        tags={CONTENT_TAG: entry.fingerprint},
                    )
                )
            elif check.verdict in ("done", "held"):
                entry = replace(entry, settled=check.verdict)
                if check.note:
                    notes.append(check.note)
        now[day] = entry
    return Evaluation(requests, _write_cursor(now), skipped, notes)


@dg.sensor(
    job=enrich_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every 30 s: runs enrich_job for a day folder (ENRICH_RAW_DIR/YYYY-MM-DD) whose CSV/Parquet "
        "content differs from what the day's last raw_prospects read, or whose last run stopped "
        f"before contacts (up to {MAX_FAILED_RUNS} failed runs per content). Unchanged files are "
        "never run again: a touch, a copy or a fresh clone requests nothing. Folders dated outside "
        "the partitions are skipped with a warning until their day is a partition."
    ),
)
def new_prospect_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Requests a day's partition when its files' content has not been enriched yet.

    The rule, per day folder that is a partition and holds prospect files:

    * its content fingerprint (`day_fingerprint`: file names and bytes) is compared with the
      `source_fingerprint` of the latest raw_prospects materialisation of that partition;
    * the day is *done*, and never requested, when they are equal and `contacts` of that partition
      was materialised after that raw_prospects materialisation: a run read these very files and
      got to the day's product. (provider_report and the asset checks come after contacts and do
      not count: a run that failed only there built the day's contacts from these files, and a
      rerun would read the same files again.)
    * it is left alone while the run that read these files, or a run this sensor requested for
      this content, is queued or running;
    * otherwise it is requested: no materialisation yet, other content, or the last run that read
      these files ended without contacts (failed, or a selection that stopped early). The run key
      names day, content and the latest earlier run for that content, so a repeat of one request is
      dropped by Dagster and a retry after a failed run is not. After MAX_FAILED_RUNS failed runs,
      or one canceled run, for the same content the day is held back, with a warning, until its
      files change.

    Hashing is paid once per change: the cursor keeps each day's stat line (name:size:mtime of each
    file) with the fingerprint hashed for it, and a day is re-hashed only when that line changes.
    A day found done or held is not looked up again until its content changes.
    """
    valid = set(DAILY.get_partition_keys())
    evaluation = new_file_requests(settings().raw_dir, context.cursor, valid, context.instance)
    if evaluation.skipped:
        context.log.warning(
            "day folders outside the partitions, ignored: %s", ", ".join(evaluation.skipped)
        )
    for note in evaluation.notes:
        context.log.warning(note)
    return dg.SensorResult(run_requests=evaluation.requests, cursor=evaluation.cursor)
