"""The sensor that turns new prospect files into day runs, and the daily schedule."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from enrich_pipeline.definitions import defs
from enrich_pipeline.defs.automation import new_file_requests, new_prospect_files
from enrich_pipeline.settings import settings

DAY = "2026-11-04"
VALID = {"2026-11-03", "2026-11-04", "2026-11-05"}


def _write(path: Path, text: str = "first_name,last_name\nAda,Lovelace\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _touch_later(path: Path) -> None:
    """A new modification time even on a file system with a coarse clock."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# ----------------------------------------------------------------------------- the sensor


@pytest.fixture
def raw_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ENRICH_RAW_DIR at an empty tmp folder; `settings()` is cached, so cleared around the test."""
    folder = tmp_path / "raw"
    folder.mkdir()
    monkeypatch.setenv("ENRICH_RAW_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


def _tick(cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, instance=dg.DagsterInstance.ephemeral(), definitions=defs
    )
    result = new_prospect_files(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _days(result: dg.SensorResult) -> list[str | None]:
    return [request.partition_key for request in result.run_requests or []]


def test_a_new_day_folder_requests_its_day_once_and_again_when_a_file_changes(
    raw_dir: Path,
) -> None:
    assert settings().raw_dir == raw_dir
    empty = _tick(None)
    assert _days(empty) == []

    leads = _write(raw_dir / DAY / "leads.csv")
    first = _tick(empty.cursor)
    assert _days(first) == [DAY]
    [request] = first.run_requests or []
    assert request.run_key and request.run_key.startswith(f"{DAY}:")

    assert _days(_tick(first.cursor)) == [], "the same files again: nothing to do"

    leads.write_text(leads.read_text() + "Grace,Hopper\n")
    _touch_later(leads)
    changed = _tick(first.cursor)
    assert _days(changed) == [DAY]
    [again] = changed.run_requests or []
    assert again.run_key != request.run_key, "a new run key, or Dagster would drop it as a repeat"

    _write(raw_dir / "2026-11-05" / "more.parquet", "not really parquet")
    both = _tick(changed.cursor)
    assert _days(both) == ["2026-11-05"], "only the day whose files changed"


def test_folders_that_are_no_day_partition_are_ignored(raw_dir: Path) -> None:
    _write(raw_dir / "2020-01-01" / "old.csv")  # before the first partition
    _write(raw_dir / "2999-01-01" / "far.csv")  # not a partition yet
    _write(raw_dir / "exports" / "leads.csv")  # not a date
    _write(raw_dir / "2026-11-4" / "leads.csv")  # not YYYY-MM-DD
    _write(raw_dir / DAY / "README.txt")  # a day, but no prospect file in it
    _write(raw_dir / "2026-11-05.csv")  # a file, not a folder
    result = _tick(None)
    assert _days(result) == []
    assert _days(_tick(result.cursor)) == []


def test_the_sensor_requests_resolve_against_the_job(raw_dir: Path) -> None:
    """Evaluated as the daemon does: the request names a partition of enrich_job."""
    _write(raw_dir / DAY / "leads.csv")
    sensor = defs.get_sensor_def("new_prospect_files")
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), definitions=defs)
    data = sensor.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests or []] == [DAY]
    assert data.cursor and DAY in json.loads(data.cursor)


# ---------------------------------------------------------------------- new_file_requests


def test_no_folder_or_an_empty_folder_requests_nothing(tmp_path: Path) -> None:
    assert new_file_requests(tmp_path / "missing", None, VALID) == ([], "{}", [])
    assert new_file_requests(tmp_path, json.dumps({}), VALID) == ([], "{}", [])


def test_every_new_day_is_requested_once_with_a_stable_run_key(tmp_path: Path) -> None:
    _write(tmp_path / "2026-11-03" / "a.csv")
    _write(tmp_path / "2026-11-04" / "b.CSV")  # suffixes in any case
    _write(tmp_path / "2026-11-04" / "c.parquet", "x")
    requests, cursor, skipped = new_file_requests(tmp_path, None, VALID)
    assert [r.partition_key for r in requests] == ["2026-11-03", "2026-11-04"]
    assert skipped == []
    assert sorted(json.loads(cursor)) == ["2026-11-03", "2026-11-04"]
    again, _, _ = new_file_requests(tmp_path, None, VALID)
    assert [r.run_key for r in again] == [r.run_key for r in requests], "deterministic keys"
    assert new_file_requests(tmp_path, cursor, VALID)[0] == []


def test_a_new_file_in_a_known_day_requests_that_day_again(tmp_path: Path) -> None:
    _write(tmp_path / "2026-11-03" / "a.csv")
    first, cursor, _ = new_file_requests(tmp_path, None, VALID)
    _write(tmp_path / "2026-11-03" / "late.csv")
    second, _, _ = new_file_requests(tmp_path, cursor, VALID)
    assert [r.partition_key for r in second] == ["2026-11-03"]
    assert second[0].run_key != first[0].run_key


def test_a_day_ahead_of_the_partitions_is_requested_once_its_day_exists(tmp_path: Path) -> None:
    """Files for tomorrow (a user ahead of UTC) are skipped today, not forgotten."""
    _write(tmp_path / "2026-11-06" / "early.csv")
    requests, cursor, skipped = new_file_requests(tmp_path, None, VALID)
    assert requests == [] and skipped == ["2026-11-06"]
    later, _, skipped = new_file_requests(tmp_path, cursor, VALID | {"2026-11-06"})
    assert [r.partition_key for r in later] == ["2026-11-06"] and skipped == []


def test_a_removed_day_leaves_the_cursor_and_counts_as_new_when_it_comes_back(
    tmp_path: Path,
) -> None:
    leads = _write(tmp_path / "2026-11-03" / "a.csv")
    _, cursor, _ = new_file_requests(tmp_path, None, VALID)
    leads.unlink()
    requests, emptied, _ = new_file_requests(tmp_path, cursor, VALID)
    assert requests == [] and json.loads(emptied) == {}
    _write(tmp_path / "2026-11-03" / "a.csv")
    back, _, _ = new_file_requests(tmp_path, emptied, VALID)
    assert [r.partition_key for r in back] == ["2026-11-03"]


# ----------------------------------------------------------------------------- the schedule


def _schedule_tick(when: datetime) -> list[str | None]:
    schedule = defs.get_schedule_def("enrich_daily")
    context = dg.build_schedule_context(
        instance=dg.DagsterInstance.ephemeral(),
        scheduled_execution_time=when,
        repository_def=defs.get_repository_def(),
    )
    data = schedule.evaluate_tick(context)
    return [request.partition_key for request in data.run_requests or []]


def test_the_daily_schedule_runs_the_previous_complete_day_at_six() -> None:
    schedule = defs.get_schedule_def("enrich_daily")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.job_name == "enrich_job"
    assert _schedule_tick(datetime(2026, 11, 10, 6, 0, tzinfo=UTC)) == ["2026-11-09"]
    assert _schedule_tick(datetime(2027, 1, 1, 6, 0, tzinfo=UTC)) == ["2026-12-31"]


def test_the_daily_schedule_skips_the_day_before_the_first_partition() -> None:
    first_day = settings().first_day
    assert _schedule_tick(datetime.fromisoformat(f"{first_day}T06:00:00+00:00")) == []
