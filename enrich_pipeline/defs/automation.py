"""Schedules, sensors and the job: new files request their day; a daily run takes the newest day."""

import hashlib
import json
import re
from pathlib import Path

import dagster as dg

from enrich_pipeline.defs.store import DAILY
from enrich_pipeline.settings import settings

DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PROSPECT_SUFFIXES = (".csv", ".parquet")

enrich_job = dg.define_asset_job(
    "enrich_job",
    selection=dg.AssetSelection.all(),
    description="Every asset of one day: prospects, the provider waterfall, contacts.",
)


# At 06:00 UTC, the newest partition: yesterday's day folder, complete by then (the partitions end
# at yesterday; a folder dated today is requested by the sensor once its day is a partition).
daily_schedule = dg.build_schedule_from_partitioned_job(
    enrich_job, hour_of_day=6, minute_of_hour=0, name="enrich_daily"
)


def day_fingerprints(raw_dir: Path) -> dict[str, str]:
    """day -> a fingerprint of its prospect files (names, sizes, modification times)."""
    days: dict[str, str] = {}
    if not raw_dir.is_dir():
        return days
    for folder in sorted(raw_dir.iterdir()):
        if not (folder.is_dir() and DAY_FOLDER.match(folder.name)):
            continue
        files = sorted(
            f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}"
            for f in folder.iterdir()
            if f.suffix.lower() in PROSPECT_SUFFIXES and f.is_file()
        )
        if files:
            days[folder.name] = "|".join(files)
    return days


def new_file_requests(
    raw_dir: Path, cursor: str | None, valid_days: set[str]
) -> tuple[list[dg.RunRequest], str, list[str]]:
    """Run requests for days whose files changed since the cursor; (requests, new cursor, skipped)."""
    seen: dict[str, str] = json.loads(cursor) if cursor else {}
    now = day_fingerprints(raw_dir)
    requests, skipped = [], []
    for day, fingerprint in now.items():
        if seen.get(day) == fingerprint:
            continue
        if day not in valid_days:
            skipped.append(day)
            continue
        requests.append(
            dg.RunRequest(
                partition_key=day,
                run_key=f"{day}:{hashlib.sha1(fingerprint.encode()).hexdigest()[:12]}",
            )
        )
    # Skipped days stay out of the cursor: a folder dated ahead of today's partition is requested
    # once its day becomes a partition, instead of being remembered as seen.
    remembered = {day: fp for day, fp in now.items() if day not in skipped}
    return requests, json.dumps(remembered, sort_keys=True), skipped


@dg.sensor(
    job=enrich_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED
)
def new_prospect_files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Requests the day partition of any day folder whose prospect files are new or changed."""
    valid = set(DAILY.get_partition_keys())
    requests, cursor, skipped = new_file_requests(settings().raw_dir, context.cursor, valid)
    if skipped:
        context.log.warning("day folders outside the partitions, ignored: %s", ", ".join(skipped))
    return dg.SensorResult(run_requests=requests, cursor=cursor)
