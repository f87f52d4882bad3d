"""The sensor that turns new prospect files into day runs, and the daily schedule.

The sensor's rule is checked against a real Dagster instance holding real materialisations: days
enriched by enrich_job itself (the real definitions, against the live sandbox)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from enrich_pipeline.definitions import build_definitions, defs
from enrich_pipeline.defs import automation
from enrich_pipeline.defs import prospects as prospects_defs
from enrich_pipeline.defs.automation import CONTENT_TAG, new_file_requests, new_prospect_files
from enrich_pipeline.ingest.fingerprint import FINGERPRINT_KEY, day_fingerprint
from enrich_pipeline.providers.lemlist.client import LemlistClient
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.prospects import make_prospects, write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import settings
from enrich_pipeline_tests.pipeline_helpers import KEY_VARIABLES, SPEED

DAY = "2026-11-04"
VALID = {"2026-11-03", "2026-11-04", "2026-11-05"}
RUN_KEY_TAG = "dagster/run_key"  # what the daemon puts on a run it launches for a request


def _write(path: Path, text: str = "first_name,last_name\nAda,Lovelace\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _touch_later(path: Path) -> None:
    """A new modification time even on a file system with a coarse clock."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _days(result: dg.SensorResult) -> list[str | None]:
    return [request.partition_key for request in result.run_requests or []]


# ------------------------------------------------------------ the sensor, nothing enriched yet


_EMPTY: list[dg.DagsterInstance] = []


def _instance() -> dg.DagsterInstance:
    """One empty instance for the tests that run nothing (making one costs a quarter second)."""
    if not _EMPTY:
        _EMPTY.append(dg.DagsterInstance.ephemeral())
    return _EMPTY[0]


@pytest.fixture
def raw_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ENRICH_RAW_DIR at an empty tmp folder; `settings()` is cached, so cleared around the test."""
    folder = tmp_path / "raw"
    folder.mkdir()
    monkeypatch.setenv("ENRICH_RAW_DIR", str(folder))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


def _tick(cursor: str | None, instance: dg.DagsterInstance | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor, instance=instance or _instance(), definitions=defs
    )
    result = new_prospect_files(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_a_new_day_folder_is_requested_under_one_key_per_content(raw_dir: Path) -> None:
    assert settings().raw_dir == raw_dir
    empty = _tick(None)
    assert _days(empty) == []

    leads = _write(raw_dir / DAY / "leads.csv")
    first = _tick(empty.cursor)
    assert _days(first) == [DAY]
    [request] = first.run_requests or []
    assert request.run_key == f"{DAY}:{day_fingerprint(raw_dir / DAY)}"
    assert request.tags[CONTENT_TAG] == day_fingerprint(raw_dir / DAY)

    # Nothing ran it yet: still due, under the same key, which Dagster drops as a repeat.
    repeat = _tick(first.cursor)
    assert [r.run_key for r in repeat.run_requests or []] == [request.run_key]

    leads.write_text(leads.read_text() + "Grace,Hopper\n")
    _touch_later(leads)
    changed = _tick(first.cursor)
    assert _days(changed) == [DAY]
    [again] = changed.run_requests or []
    assert again.run_key != request.run_key, "a new run key, or Dagster would drop it as a repeat"


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
    assert json.loads(result.cursor or "")["days"] == {}, "skipped days are not remembered"


def test_the_sensor_requests_resolve_against_the_job(raw_dir: Path) -> None:
    """Evaluated as the daemon does: the request names a partition of enrich_job."""
    _write(raw_dir / DAY / "leads.csv")
    sensor = defs.get_sensor_def("new_prospect_files")
    context = dg.build_sensor_context(instance=_instance(), definitions=defs)
    data = sensor.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests or []] == [DAY]
    assert data.cursor and DAY in json.loads(data.cursor)["days"]


def test_the_sensor_schedule_and_job_say_what_they_do() -> None:
    sensor = defs.get_sensor_def("new_prospect_files")
    schedule = defs.get_schedule_def("enrich_daily")
    job = defs.resolve_job_def("enrich_job")
    assert sensor.description and "touch" in sensor.description
    assert schedule.description and "06:00 UTC" in schedule.description
    assert job.description and "One day end to end" in job.description


def test_no_folder_or_an_empty_folder_requests_nothing(tmp_path: Path) -> None:
    for folder in (tmp_path / "missing", tmp_path):
        requests, cursor, skipped, notes = new_file_requests(folder, None, VALID, _instance())
        assert (requests, skipped, notes) == ([], [], [])
        assert json.loads(cursor)["days"] == {}


def test_every_new_day_is_requested_with_a_stable_run_key(tmp_path: Path) -> None:
    _write(tmp_path / "2026-11-03" / "a.csv")
    _write(tmp_path / "2026-11-04" / "b.CSV")  # suffixes in any case
    _write(tmp_path / "2026-11-04" / "c.parquet", "x")
    requests, cursor, skipped, _ = new_file_requests(tmp_path, None, VALID, _instance())
    assert [r.partition_key for r in requests] == ["2026-11-03", "2026-11-04"]
    assert skipped == []
    assert sorted(json.loads(cursor)["days"]) == ["2026-11-03", "2026-11-04"]
    again = new_file_requests(tmp_path, None, VALID, _instance()).requests
    assert [r.run_key for r in again] == [r.run_key for r in requests], "deterministic keys"


def test_a_new_file_in_a_known_day_requests_that_day_under_a_new_key(tmp_path: Path) -> None:
    _write(tmp_path / "2026-11-03" / "a.csv")
    first, cursor, _, _ = new_file_requests(tmp_path, None, VALID, _instance())
    _write(tmp_path / "2026-11-03" / "late.csv")
    second = new_file_requests(tmp_path, cursor, VALID, _instance()).requests
    assert [r.partition_key for r in second] == ["2026-11-03"]
    assert second[0].run_key != first[0].run_key


def test_a_day_ahead_of_the_partitions_is_requested_once_its_day_exists(tmp_path: Path) -> None:
    """Files for tomorrow (a user ahead of UTC) are skipped today, not forgotten."""
    _write(tmp_path / "2026-11-06" / "early.csv")
    requests, cursor, skipped, _ = new_file_requests(tmp_path, None, VALID, _instance())
    assert requests == [] and skipped == ["2026-11-06"]
    later, _, skipped, _ = new_file_requests(tmp_path, cursor, VALID | {"2026-11-06"}, _instance())
    assert [r.partition_key for r in later] == ["2026-11-06"] and skipped == []


def test_a_removed_day_leaves_the_cursor(tmp_path: Path) -> None:
    leads = _write(tmp_path / "2026-11-03" / "a.csv")
    _, cursor, _, _ = new_file_requests(tmp_path, None, VALID, _instance())
    leads.unlink()
    requests, emptied, _, _ = new_file_requests(tmp_path, cursor, VALID, _instance())
    assert requests == [] and json.loads(emptied)["days"] == {}


# ------------------------------------------------------ the sensor against days enriched for real

EARLY = "2026-11-03"  # EARLY and DAY: enriched once for the module, by enrich_job
PEOPLE = 4  # per day: every provider is asked, and a run stays around three seconds
# enrich_job up to the day's product: provider_report (a second each run) plays no part in the rule
UP_TO_CONTACTS = [
    dg.AssetKey(name)
    for name in (
        "raw_prospects",
        "prospects",
        "prospect_rejects",
        "lemlist_enrichment",
        "thehog_enrichment",
        "enrichso_enrichment",
        "contacts",
        "positions",
        "contact_channels",
    )
]


@dataclass
class Installation:
    """Prospect files in `raw_dir` (ENRICH_RAW_DIR), a Dagster instance with the runs so far, and
    enrich_job of the real definitions built for this env, against the live sandbox."""

    raw_dir: Path
    instance: dg.DagsterInstance
    world: Any
    job: Any = None

    def write(self, day: str, seed: int) -> None:
        rows = make_prospects(self.world, PEOPLE, seed=seed)
        write_prospect_file(rows, self.raw_dir / day / "prospects.csv", style="snake")

    def run(
        self, day: str, request: dg.RunRequest | None = None, *, raise_on_error: bool = True
    ) -> dg.ExecuteInProcessResult:
        """enrich_job for one day; for a request, with its tags and run key, as the daemon runs it."""
        tags: dict[str, str] = {}
        if request is not None:
            assert request.partition_key == day and request.run_key
            tags = {**request.tags, RUN_KEY_TAG: request.run_key}
        return self.job.execute_in_process(
            partition_key=day,
            instance=self.instance,
            asset_selection=UP_TO_CONTACTS,
            tags=tags,
            raise_on_error=raise_on_error,
        )

    def tick(self, cursor: str | None) -> dg.SensorResult:
        return _tick(cursor, self.instance)


def _point_at(patch: pytest.MonkeyPatch, raw_dir: Path) -> Any:
    """ENRICH_RAW_DIR at `raw_dir`; enrich_job of definitions built for that env."""
    patch.setenv("ENRICH_RAW_DIR", str(raw_dir))
    settings.cache_clear()
    return build_definitions().resolve_job_def("enrich_job")


@pytest.fixture(scope="module")
def enriched_base(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    """EARLY and DAY written and enriched (once for the module: a run takes seconds)."""
    root = tmp_path_factory.mktemp("enriched")
    sandbox_server.reset()
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.ephemeral() as instance:
        for name in KEY_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("ENRICH_SANDBOX_URL", sandbox_server.url)
        patch.setenv("ENRICH_SANDBOX_SPEED", SPEED)
        patch.setenv("ENRICH_WAREHOUSE_DIR", str(root / "wh"))
        patch.setenv("ENRICH_STATE_DIR", str(root / "state"))
        forget_sandbox_endpoint()
        base = Installation(root / "raw", instance, sandbox_server.state.world)
        base.job = _point_at(patch, base.raw_dir)
        for seed, day in enumerate((EARLY, DAY), 1):
            base.write(day, seed)
            base.run(day)
        yield base
    settings.cache_clear()
    forget_sandbox_endpoint()


@pytest.fixture
def enriched(
    enriched_base: Installation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Installation]:
    """The enriched installation with this test's own copy of the day folders (same content), so
    a test may change files; runs go to the module's instance, each test on days of its own."""
    raw_dir = tmp_path / "raw"
    shutil.copytree(enriched_base.raw_dir, raw_dir)
    job = _point_at(monkeypatch, raw_dir)
    yield Installation(raw_dir, enriched_base.instance, enriched_base.world, job)
    settings.cache_clear()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The days the sensor hashes, in order."""
    days: list[str] = []

    def counting(folder: Path) -> str:
        days.append(folder.name)
        return day_fingerprint(folder)

    monkeypatch.setattr(automation, "day_fingerprint", counting)
    return days


def _materialised(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        event.materialization.asset_key.to_user_string(): {
            name: value.value for name, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def test_enriched_days_are_not_requested_again_after_a_touch_or_in_a_fresh_clone(
    enriched: Installation, hashed: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = enriched.tick(None)
    assert _days(first) == [], "the first tick after the days were enriched"
    assert hashed == [EARLY, DAY]

    hashed.clear()
    assert _days(enriched.tick(first.cursor)) == [] and hashed == [], "nothing hashed again"

    for path in (enriched.raw_dir / DAY).iterdir():
        _touch_later(path)
    touched = enriched.tick(first.cursor)
    assert _days(touched) == [] and hashed == [DAY], "a touch: hashed once, same content"
    hashed.clear()
    assert _days(enriched.tick(touched.cursor)) == [] and hashed == []

    # A fresh clone: the same files elsewhere with new modification times, and no cursor.
    clone = tmp_path / "clone"
    shutil.copytree(enriched.raw_dir, clone, copy_function=shutil.copyfile)
    for path in clone.glob("*/*"):
        _touch_later(path)
    _point_at(monkeypatch, clone)
    assert _days(enriched.tick(None)) == [] and hashed == [EARLY, DAY]
    # The cursor of the sensor before this change (day -> stat line) counts as no cursor.
    assert _days(enriched.tick(json.dumps({EARLY: "a.csv:1:2", DAY: "b.csv:3:4"}))) == []


def test_a_changed_file_requests_exactly_its_day(enriched: Installation) -> None:
    cursor = enriched.tick(None).cursor
    before = day_fingerprint(enriched.raw_dir / DAY)
    leads = enriched.raw_dir / DAY / "prospects.csv"
    leads.write_text(leads.read_text().replace("\n", "\r\n"))  # other bytes, same people
    changed = enriched.tick(cursor)
    assert _days(changed) == [DAY]
    [request] = changed.run_requests or []
    content = day_fingerprint(enriched.raw_dir / DAY)
    assert content != before
    assert request.run_key == f"{DAY}:{content}" and request.tags[CONTENT_TAG] == content
    again = enriched.tick(changed.cursor)
    assert [r.run_key for r in again.run_requests or []] == [request.run_key], "Dagster drops it"


def test_a_day_never_materialised_is_requested(enriched: Installation) -> None:
    new_day = "2026-11-06"
    enriched.write(new_day, seed=41)
    assert _days(enriched.tick(None)) == [new_day]


def _fails_in_lemlist(self: Any, submissions: Any, **kw: Any) -> Any:
    raise dg.Failure("lemlist went away", allow_retries=False)


def test_a_day_whose_last_run_failed_before_contacts_is_requested_again(
    enriched: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = "2026-11-07"  # this test's own day in the module's instance
    enriched.write(day, seed=50)
    first = enriched.tick(None)
    [request] = first.run_requests or []
    assert request.partition_key == day

    with monkeypatch.context() as patch:
        patch.setattr(LemlistClient, "collect", _fails_in_lemlist)
        failed = enriched.run(day, request, raise_on_error=False)
    assert [e.step_key for e in failed.all_events if e.is_step_failure] == ["lemlist_enrichment"]
    read = _materialised(failed)
    assert read["raw_prospects"][FINGERPRINT_KEY] == request.tags[CONTENT_TAG]
    assert "contacts" not in read, "it read these files, then failed before contacts"

    retry = enriched.tick(first.cursor)
    assert _days(retry) == [day]
    [again] = retry.run_requests or []
    assert again.run_key and again.run_key.startswith(f"{request.run_key}:after-")
    assert [r.run_key for r in enriched.tick(retry.cursor).run_requests or []] == [again.run_key]


def _unreadable(*args: Any, **kw: Any) -> Any:
    raise OSError("the disk went away")


def test_a_day_whose_runs_keep_failing_is_held_back_until_its_files_change(
    enriched: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = "2026-11-08"  # this test's own day in the module's instance
    enriched.write(day, seed=60)
    cursor = enriched.tick(None).cursor
    keys = []
    with monkeypatch.context() as patch:  # fails in raw_prospects: nothing is materialised
        patch.setattr(prospects_defs, "read_raw_day", _unreadable)
        for _ in range(automation.MAX_FAILED_RUNS):
            [request] = enriched.tick(cursor).run_requests or []
            keys.append(request.run_key)
            assert not enriched.run(day, request, raise_on_error=False).success
    assert len(set(keys)) == automation.MAX_FAILED_RUNS, "each retry under a key of its own"
    held = enriched.tick(cursor)
    assert _days(held) == []
    assert _days(enriched.tick(held.cursor)) == []
    enriched.write(day, seed=61)
    assert _days(enriched.tick(held.cursor)) == [day], "new files: tried again"


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
