"""warehouse: atomic Parquet partitions, read back, DuckDB views through read-only connections,
refreshes under an open reader, and three processes writing and refreshing at the same time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from enrich_pipeline.model import EmailStatus, EnrichmentResult, RecordStatus
from enrich_pipeline.warehouse import storage as warehouse_module
from enrich_pipeline.warehouse.flatten import CONTACTS_SCHEMA, attempts_table, build_contacts
from enrich_pipeline.warehouse.storage import Warehouse, connect_readonly

REPO = Path(__file__).resolve().parents[2]
DAY1, DAY2, DAY3 = "2024-05-01", "2024-05-02", "2024-05-03"


def contacts_for(day: str, emails: dict[str, str]) -> pa.Table:
    """A real contacts partition: one prospect per key, the email found by lemlist."""
    people = pa.table({"person_key": list(emails), "first_name": ["x"] * len(emails)})
    attempts = attempts_table(
        [
            EnrichmentResult(
                person_key=key,
                provider="lemlist",
                record_status=RecordStatus.FOUND,
                email=email,
                email_status=EmailStatus.DELIVERABLE,
            )
            for key, email in emails.items()
        ],
        day=day,
    )
    return build_contacts(people, attempts, day=day)


def scalar(con: Any, sql: str) -> Any:
    (row,) = con.execute(sql).fetchall()
    return row[0]


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# ------------------------------------------------------------------------------- partitions


def test_write_partition_lays_out_hive_folders_and_reads_back(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    data = contacts_for(DAY1, {"p1": "a@x.io", "p2": "b@x.io"})
    path = store.write_partition("contacts", DAY1, data)
    assert path == tmp_path / "contacts" / "date=2024-05-01" / "part-0.parquet"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert store.read_partition("contacts", DAY1) == data
    assert store.read_partition("contacts", DAY2) is None
    assert store.days("contacts") == [DAY1]


def test_rewrites_leave_only_part_0_and_replace_it(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    for email in ("a@x.io", "b@x.io", "c@x.io"):
        path = store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": email}))
    assert files_in(path.parent) == ["part-0.parquet"]
    assert store.read_partition("contacts", DAY1).column("email").to_pylist() == ["c@x.io"]


def failing_write(table: pa.Table, where: Any, **kwargs: Any) -> None:
    """Stands in for pq.write_table and dies half-way: some bytes on disk, then an error."""
    Path(where).write_bytes(b"PAR1 half a file")
    raise OSError("disk gone mid-write")


def test_crash_mid_write_leaves_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Warehouse(tmp_path)
    monkeypatch.setattr(warehouse_module.pq, "write_table", failing_write)
    with pytest.raises(OSError, match="mid-write"):
        store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    assert files_in(tmp_path / "contacts" / "date=2024-05-01") == []
    assert store.days("contacts") == []


def test_crash_mid_rewrite_keeps_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Warehouse(tmp_path)
    old = contacts_for(DAY1, {"p1": "old@x.io"})
    path = store.write_partition("contacts", DAY1, old)
    monkeypatch.setattr(warehouse_module.pq, "write_table", failing_write)
    with pytest.raises(OSError):
        store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "new@x.io"}))
    assert files_in(path.parent) == ["part-0.parquet"]
    assert store.read_partition("contacts", DAY1) == old


def _rewrite_forever(root: str, stop: Any) -> None:
    """Another run of the day: rewrites the partition, a short and a long version in turn."""
    store, turn = Warehouse(Path(root)), 0
    while not stop.is_set():
        rows = 10 if turn % 2 else 20_000
        store.write_partition("contacts", "2026-11-03", pa.table({"n": list(range(rows))}))
        turn += 1


def test_a_partition_read_while_another_process_rewrites_it_is_one_whole_version(
    tmp_path: Path,
) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("contacts", "2026-11-03", pa.table({"n": list(range(10))}))
    processes = multiprocessing.get_context("spawn")
    stop = processes.Event()
    writer = processes.Process(target=_rewrite_forever, args=(str(tmp_path), stop))
    writer.start()
    path = store.partition_path("contacts", "2026-11-03")
    try:
        first = path.stat().st_ino
        deadline = time.monotonic() + 30
        while path.stat().st_ino == first:  # the writer has started rewriting
            assert time.monotonic() < deadline, "the writer never rewrote the partition"
            time.sleep(0.01)
        seen: set[int] = set()
        for _ in range(300):  # read by path (opened twice) this tore about 1 read in 5
            seen.add(store.read_partition("contacts", "2026-11-03", without=["x"]).num_rows)
            seen.add(store.read_table("contacts").num_rows)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert seen == {10, 20_000}  # both versions read, each whole


def test_read_table_adds_the_date_column_and_unifies_columns(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("prospects", DAY2, pa.table({"person_key": ["b"], "crm_id": ["C-2"]}))
    store.write_partition("prospects", DAY1, pa.table({"person_key": ["a"], "date": ["junk"]}))
    assert store.days("prospects") == [DAY1, DAY2]
    table = store.read_table("prospects")
    assert table.column_names == ["person_key", "crm_id", "date"]
    assert table.schema.field("date").type == pa.date32()
    assert table.to_pylist() == [
        {"person_key": "a", "crm_id": None, "date": date(2024, 5, 1)},
        {"person_key": "b", "crm_id": "C-2", "date": date(2024, 5, 2)},
    ]
    assert store.read_table("prospects", days=[DAY2, DAY3]).column("person_key").to_pylist() == [
        "b"
    ]
    assert store.read_table("prospects", days=[DAY3]) is None
    assert store.read_table("contacts") is None


def test_delete_partition(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    store.write_partition("contacts", DAY2, contacts_for(DAY2, {"p1": "b@x.io"}))
    store.delete_partition("contacts", DAY1)
    store.delete_partition("contacts", DAY3)  # nothing there: no error
    assert store.days("contacts") == [DAY2]
    assert not (tmp_path / "contacts" / "date=2024-05-01").exists()


@pytest.mark.parametrize("table, day", [("contacts", "2024-5-1"), ("contacts", "../x"),
                                        ("contacts", "2024-02-30"), ("../etc", DAY1),
                                        ("Contacts", DAY1)])  # fmt: skip
def test_table_names_and_days_are_checked(tmp_path: Path, table: str, day: str) -> None:
    with pytest.raises(ValueError):
        Warehouse(tmp_path).write_partition(table, day, pa.table({"x": [1]}))


# ------------------------------------------------------------------------------------ views


def test_views_are_queryable_with_expected_counts(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io", "p2": "b@x.io"}))
    store.write_partition("contacts", DAY2, contacts_for(DAY2, {"p3": "c@x.io"}))
    store.write_partition("prospects", DAY1, pa.table({"person_key": ["p1", "p2"]}))
    assert store.refresh_views() == tmp_path / "enrich.duckdb"
    with connect_readonly(tmp_path) as con:
        assert scalar(con, "SELECT count(*) FROM contacts") == 3
        assert scalar(con, "SELECT count(*) FROM prospects") == 2
        by_day = con.sql("SELECT date, count(*) FROM contacts GROUP BY date ORDER BY date")
        assert by_day.fetchall() == [(date(2024, 5, 1), 2), (date(2024, 5, 2), 1)]
        # no files yet, schema known: typed and empty, so queries over them work
        for table in ("positions", "contact_channels", "enrichment_attempts"):
            assert scalar(con, f"SELECT count(*) FROM {table}") == 0
        columns = [row[0] for row in con.sql("DESCRIBE enrichment_attempts").fetchall()]
        assert columns[-3:] == ["day", "from_cache", "date"]
        # no files and no schema known: no view yet
        names = {row[0] for row in con.sql("SELECT view_name FROM duckdb_views()").fetchall()}
        assert "prospect_rejects" not in names
        assert scalar(con, "SELECT count(*) FROM duckdb_tables()") == 0  # views only
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".views.lock", "contacts", "enrich.duckdb", "prospects"
    ]  # fmt: skip


def test_enrichment_attempts_view_reads_every_provider_attempts_table(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    lemlist = attempts_for("lemlist", ["p1", "p2"])
    thehog = attempts_for("thehog", ["p1"]).append_column("outcome", pa.array(["found"]))
    store.write_partition("attempts_lemlist", DAY1, lemlist)
    store.write_partition("attempts_thehog", DAY1, thehog)
    store.write_partition("attempts_lemlist", DAY2, attempts_for("lemlist", ["p3"]))
    store.refresh_views()
    with connect_readonly(tmp_path) as con:
        rows = con.sql(
            "SELECT provider, date, count(*), count(outcome) FROM enrichment_attempts "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert rows == [
            ("lemlist", date(2024, 5, 1), 2, 0),
            ("lemlist", date(2024, 5, 2), 1, 0),
            ("thehog", date(2024, 5, 1), 1, 1),
        ]
        assert scalar(con, "SELECT count(*) FROM attempts_thehog") == 1  # a view per provider too


def attempts_for(provider: str, keys: list[str]) -> pa.Table:
    found = [
        EnrichmentResult(person_key=key, provider=provider, record_status=RecordStatus.FOUND)
        for key in keys
    ]
    return attempts_table(found, day=DAY1)


def test_empty_warehouse_views_have_the_contacts_schema(tmp_path: Path) -> None:
    Warehouse(tmp_path).refresh_views()
    with connect_readonly(tmp_path) as con:
        assert scalar(con, "SELECT count(*) FROM contacts_latest") == 0
        columns = [row[0] for row in con.sql("DESCRIBE contacts").fetchall()]
    assert columns == [*CONTACTS_SCHEMA.names, "date"]


def test_contacts_latest_picks_the_newest_day(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "old@x.io", "p2": "b@x.io"}))
    store.write_partition("contacts", DAY3, contacts_for(DAY3, {"p1": "new@x.io"}))
    store.write_partition("contacts", DAY2, contacts_for(DAY2, {"p1": "mid@x.io"}))
    store.refresh_views()
    with connect_readonly(tmp_path) as con:
        rows = con.sql("SELECT person_key, email, date FROM contacts_latest ORDER BY 1").fetchall()
    assert rows == [("p1", "new@x.io", date(2024, 5, 3)), ("p2", "b@x.io", date(2024, 5, 1))]


def test_views_work_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Warehouse(tmp_path / "warehouse")
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    store.refresh_views()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with connect_readonly(tmp_path / "warehouse") as con:
        assert scalar(con, "SELECT count(*) FROM contacts") == 1


def test_refresh_while_a_reader_holds_the_file_open(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    store.refresh_views()
    reader = connect_readonly(tmp_path)
    try:
        assert scalar(reader, "SELECT count(*) FROM contacts") == 1
        store.write_partition("positions", DAY1, pa.table({"person_key": ["p1"], "title": ["CTO"]}))
        store.refresh_views()  # no lock error although the reader has the file open
        # the open reader keeps a consistent (old) catalog and still sees new files via the glob
        store.write_partition("contacts", DAY2, contacts_for(DAY2, {"p2": "b@x.io"}))
        assert scalar(reader, "SELECT count(*) FROM contacts") == 2
        # another process opening the file now gets the new catalog
        assert read_in_other_process(tmp_path, "SELECT title FROM positions") == "CTO"
    finally:
        reader.close()
    with connect_readonly(tmp_path) as con:  # same process, once the old connection is closed
        assert scalar(con, "SELECT title FROM positions") == "CTO"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))] == []


def read_in_other_process(root: Path, sql: str) -> str:
    code = (
        "import sys; from enrich_pipeline.warehouse.storage import connect_readonly; "
        "print(connect_readonly(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(root), sql],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_refreshes_take_turns_under_the_lock(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    with warehouse_module._exclusive_lock(tmp_path / ".views.lock"):
        refresh = threading.Thread(target=store.refresh_views)
        refresh.start()
        refresh.join(timeout=0.3)
        assert refresh.is_alive()  # waiting for the lock held here
        assert not (tmp_path / "enrich.duckdb").exists()
    refresh.join(timeout=30)
    assert not refresh.is_alive()
    assert (tmp_path / "enrich.duckdb").exists()


# ----------------------------------------------------------------- three processes at once

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pyarrow as pa
    from enrich_pipeline.warehouse.flatten import attempts_table, build_contacts
    from enrich_pipeline.model import EnrichmentResult
    from enrich_pipeline.warehouse.storage import Warehouse

    root, day, start = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    store = Warehouse(root)
    keys = [f"{day}-{i}" for i in range(50)]
    found = [
        EnrichmentResult(person_key=key, provider="lemlist", record_status="found",
                         email=f"{key}@x.io", email_status="deliverable")
        for key in keys
    ]
    attempts = attempts_table(found, day=day)
    contacts = build_contacts(pa.table({"person_key": keys}), attempts, day=day)
    while not start.exists():  # all three begin together
        time.sleep(0.005)
    for _ in range(8):  # write + refresh repeatedly to overlap with the others
        store.write_partition("contacts", day, contacts)
        store.write_partition("enrichment_attempts", day, attempts)
        store.refresh_views()
    print("ok", day)
    """
)


def test_three_processes_write_and_refresh_at_once(tmp_path: Path) -> None:
    start = tmp_path / "start"
    root = tmp_path / "warehouse"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), day, str(start)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in (DAY1, DAY2, DAY3)
    ]
    start.touch()
    outputs = [run.communicate(timeout=90) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert out.startswith("ok")
    with connect_readonly(root) as con:
        by_day = con.sql("SELECT date, count(*) FROM contacts GROUP BY 1 ORDER BY 1").fetchall()
        assert by_day == [(date(2024, 5, 1), 50), (date(2024, 5, 2), 50), (date(2024, 5, 3), 50)]
        assert scalar(con, "SELECT count(*) FROM enrichment_attempts") == 150
        assert scalar(con, "SELECT count(*) FROM contacts_latest") == 150
    leftovers = [p for p in root.rglob("*") if p.name.endswith((".tmp", ".wal"))]
    assert leftovers == []


def test_a_partition_written_in_pieces_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    store = Warehouse(tmp_path)
    first = contacts_for(DAY1, {"p1": "a@x.io"})
    store.write_partition("contacts", DAY1, first)
    with (
        pytest.raises(RuntimeError),
        store.partition_writer("contacts", DAY1, CONTACTS_SCHEMA) as append,
    ):
        append(contacts_for(DAY1, {"p2": "b@x.io"}))
        raise RuntimeError("the step died between two windows")
    assert store.read_partition("contacts", DAY1) == first  # the previous file, untouched
    assert files_in(tmp_path / "contacts" / "date=2024-05-01") == ["part-0.parquet"]
    with store.partition_writer("contacts", DAY1, CONTACTS_SCHEMA) as append:
        append(contacts_for(DAY1, {"p2": "b@x.io"}))
        append(contacts_for(DAY1, {"p3": "c@x.io"}))
    assert store.read_partition("contacts", DAY1).column("person_key").to_pylist() == ["p2", "p3"]


def test_unfinished_writes_of_killed_steps_are_swept(tmp_path: Path) -> None:
    """A step killed mid-write leaves its temp file (people's data) beside the partition: the next
    write removes it once it is stale, `forget` (sweep_unfinished) whatever its age."""
    store = Warehouse(tmp_path)
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    folder = tmp_path / "contacts" / "date=2024-05-01"
    killed = folder / ".part-0.parquet.killed.tmp"
    killed.write_bytes(b"people")
    os.utime(killed, (0, 0))  # untouched for decades
    live = folder / ".part-0.parquet.live.tmp"  # a step appending right now
    live.write_bytes(b"people")
    store.write_partition("contacts", DAY1, contacts_for(DAY1, {"p1": "a@x.io"}))
    assert not killed.exists() and live.exists()
    assert store.sweep_unfinished() == 1 and not live.exists()
