"""The contact warehouse: one Parquet file per table and day, and a DuckDB file holding only views.

Layout (hive partitioning, the partition column is `date`)::

    <root>/<table>/date=YYYY-MM-DD/part-0.parquet
    <root>/enrich.duckdb        views over the files, nothing else
    <root>/.views.lock          serialises view refreshes across processes

Views: one per table folder (named like it), `contacts_latest` (newest day's row per person), and
`enrichment_attempts` over `enrichment_attempts/` plus every `attempts_<provider>/` (VIEW_SOURCES).
A standard table without files gets a typed empty view when its schema is known, else no view
yet (logged).

Why it is safe with parallel backfill runs and open user shells:
* a partition is written to a hidden temp file in its own folder and renamed over
  `part-0.parquet` (same file system, so atomic): a reader sees the old file or the new one, and
  a crash leaves at most a `.tmp` file that no view reads;
* nobody ever opens `enrich.duckdb` for writing. `refresh_views` builds the views in a fresh temp
  DuckDB file under an exclusive `flock` and renames it over `enrich.duckdb`, so DuckDB's
  single-writer lock is never contended and a reader holding the old file keeps its old catalog;
* the views hold globs that DuckDB expands at query time, so a partition written after the last
  refresh is still visible (refresh anyway after writing: a table's first file turns its empty
  placeholder view into a real one).

View paths are absolute: DuckDB resolves a relative path in `read_parquet` against the process's
working directory, not the database file's folder, so relative paths would break for a user
opening the file from elsewhere. Moving the warehouse therefore needs one `refresh_views()`.

Within ONE process DuckDB shares a database instance per path while any connection to it is open:
close old connections to see refreshed views there (other processes see them on their next
connect).
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from uuid import uuid4

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from enrich_pipeline.mode import Mode
from enrich_pipeline.warehouse.flatten import TABLE_SCHEMAS
from enrich_pipeline.warehouse.report import REPORT_SCHEMA

log = logging.getLogger(__name__)

VIEWS_FILE = "enrich.duckdb"
LOCK_FILE = ".views.lock"
PART_FILE = "part-0.parquet"
# An unfinished write (a step killed while it appended windows) leaves `.part-0.parquet.<hex>.tmp`
# beside the partition, holding people's data: the next write of that partition removes any such
# file untouched for this long (a live writer appends at least every window), `forget` all of them.
STALE_WRITE_S = 3600.0
PARTITION_COLUMN = "date"
PARQUET_COMPRESSION = "zstd"
MODE_FILE = ".mode"  # sandbox | live: the world this folder's rows come from
ORIGIN_COLUMN = "origin"  # on every row: sandbox | live, with the API host where known


class WarehouseModeError(RuntimeError):
    """A live run writing into a sandbox-made warehouse, or the reverse."""


# Tables that always get a view (typed and empty until they have files, when their schema is known).
STANDARD_TABLES: tuple[str, ...] = (
    "prospects",
    "prospect_rejects",
    "enrichment_attempts",
    "contacts",
    "positions",
    "contact_channels",
    "provider_report",
)

# A view may read several table folders: the pipeline keeps one attempts table per provider
# (`attempts_lemlist`, ...) because their assets write the same day independently.
VIEW_SOURCES: dict[str, tuple[str, ...]] = {
    "enrichment_attempts": ("enrichment_attempts", "attempts_*"),
}

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

# Newest row per person across days; built on the `contacts` view.
_CONTACTS_LATEST = """
CREATE VIEW contacts_latest AS
SELECT * FROM contacts
QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY "date" DESC) = 1
"""


class Warehouse:
    """Partitioned Parquet tables under `root` (usually `data/warehouse`) and their DuckDB views.

    `schemas` adds or overrides the Arrow schemas used for typed empty views of tables that have
    no file yet (the flatten tables are known already; pass e.g. the prospects schemas).
    """

    def __init__(
        self,
        root: Path | str,
        schemas: Mapping[str, pa.Schema] | None = None,
        mode: Mode | None = None,
    ) -> None:
        """`mode`: the world this warehouse's rows come from. The first write stamps the folder
        (MODE_FILE) and every row (ORIGIN_COLUMN); writing in the other mode is refused
        (WarehouseModeError). None: read, erase and rewrite whatever it holds."""
        self.root = Path(root)
        self.mode = mode
        self._mode_checked = False  # the folder's stamp is read once per Warehouse, not per write
        self.schemas: dict[str, pa.Schema] = {
            **TABLE_SCHEMAS,
            "provider_report": REPORT_SCHEMA,
            **(schemas or {}),
        }

    @property
    def views_path(self) -> Path:
        return self.root / VIEWS_FILE

    # ----------------------------------------------------------------------------- partitions

    def partition_path(self, table: str, day: str) -> Path:
        return (
            self.root
            / _checked_table(table)
            / f"{PARTITION_COLUMN}={_checked_day(day)}"
            / PART_FILE
        )

    def write_partition(
        self, table: str, day: str, data: pa.Table, *, origin: str | None = None
    ) -> Path:
        """Writes (or replaces) one day of a table atomically; returns the `part-0.parquet` path.

        A `date` column in `data` is dropped: the folder name is the partition value, and DuckDB
        would silently prefer it anyway. Every row gets ORIGIN_COLUMN: `origin` (e.g.
        `live:api.lemlist.com` for a provider's attempts) or the warehouse's mode.
        """
        target = self.partition_path(table, day)
        self._stamp_mode()
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_unfinished(target.parent, STALE_WRITE_S)
        if PARTITION_COLUMN in data.column_names:
            data = data.drop_columns([PARTITION_COLUMN])
        data = _with_origin(data, origin or (self.mode.value if self.mode else None))
        temp = target.with_name(f".{PART_FILE}.{uuid4().hex}.tmp")
        try:
            pq.write_table(data, temp, compression=PARQUET_COMPRESSION)
            _fsync_file(temp)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)  # only still there when the write failed
        _fsync_dir(target.parent)
        return target

    @contextlib.contextmanager
    def partition_writer(
        self, table: str, day: str, schema: pa.Schema, *, origin: str | None = None
    ) -> Iterator[Callable[[pa.Table], None]]:
        """`write_partition` a piece at a time: yields a function that appends a table (of
        `schema`) to the day's file. The file replaces the old one, atomically, only when the block
        ends without an error; until then readers see the previous file (or none)."""
        target = self.partition_path(table, day)
        self._stamp_mode()
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_unfinished(target.parent, STALE_WRITE_S)
        stamp = origin or (self.mode.value if self.mode else None)
        if PARTITION_COLUMN in schema.names:
            schema = schema.remove(schema.get_field_index(PARTITION_COLUMN))
        schema = _with_origin(schema.empty_table(), stamp).schema
        temp = target.with_name(f".{PART_FILE}.{uuid4().hex}.tmp")
        try:
            with pq.ParquetWriter(temp, schema, compression=PARQUET_COMPRESSION) as writer:

                def append(data: pa.Table) -> None:
                    if PARTITION_COLUMN in data.column_names:
                        data = data.drop_columns([PARTITION_COLUMN])
                    writer.write_table(_with_origin(data, stamp).cast(schema))

                yield append
            _fsync_file(temp)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)  # only still there when the write failed
        _fsync_dir(target.parent)

    def sweep_unfinished(self, older_than_s: float = 0.0) -> int:
        """Remove unfinished partition writes (temp files) of every table untouched for
        `older_than_s` seconds; returns how many. `forget` removes them all: a write in progress
        then fails at its end and is run again from the ledger."""
        return sum(
            _sweep_unfinished(folder, older_than_s)
            for folder in self.root.glob("*/date=*")
            if folder.is_dir()
        )

    def read_partition(
        self,
        table: str,
        day: str,
        *,
        with_origin: bool = False,
        columns: Sequence[str] | None = None,
        without: Sequence[str] = (),
    ) -> pa.Table | None:
        """One day's file as written (no `date` column; no origin stamp unless `with_origin`, for
        a rewrite that must keep it: SQL sees it, the pipeline's own code does not need it), or
        None when that day has none. `columns`: only these; `without`: all but these (large ones a
        reader does not need are then not read at all)."""
        path = self.partition_path(table, day)
        try:
            data = _read_file(path, columns, without)
        except FileNotFoundError:
            return None
        return data if with_origin else _without_origin(data)

    def _stamp_mode(self) -> None:
        """The folder's mode, written by its first write; a write in the other mode is refused."""
        if self.mode is None or self._mode_checked:
            return
        marker = self.root / MODE_FILE
        made = marker.read_text().strip() if marker.exists() else None
        if made is None:
            self.root.mkdir(parents=True, exist_ok=True)
            has_tables = any(p.is_dir() for p in self.root.iterdir())
            made = Mode.SANDBOX.value if has_tables else self.mode.value  # older: sandbox-made
            marker.write_text(made + "\n")
        if made != self.mode.value:
            raise WarehouseModeError(
                f"{self.root} holds {made} rows and this is a {self.mode.value} run: point "
                f"ENRICH_WAREHOUSE_DIR at a {self.mode.value} folder, or unset it for the default "
                "(data/warehouse for sandbox, data/live/warehouse for live)"
            )
        self._mode_checked = True

    def read_table(self, table: str, days: Sequence[str] | None = None) -> pa.Table | None:
        """All (or the given) days of a table with the hive `date` column (date32), columns unified
        by name across days (a column missing on some day is null there); None when nothing."""
        written = self.days(table)
        chosen = written if days is None else [day for day in days if day in written]
        parts = []
        for day in chosen:
            part = _read_file(self.partition_path(table, day))
            stamp = pa.array([date.fromisoformat(day)] * part.num_rows, pa.date32())
            parts.append(part.append_column(PARTITION_COLUMN, stamp))
        if not parts:
            return None
        table = pa.concat_tables(parts, promote_options="permissive")
        columns = [name for name in table.column_names if name != PARTITION_COLUMN]
        return table.select([*columns, PARTITION_COLUMN])  # `date` last, as in the views

    def days(self, table: str) -> list[str]:
        """Days with a written partition, oldest first."""
        folder = self.root / _checked_table(table)
        if not folder.is_dir():
            return []
        found = []
        for entry in folder.iterdir():
            match = _PARTITION_DIR.match(entry.name)
            if match and (entry / PART_FILE).is_file():
                found.append(match.group(1))
        return sorted(found)

    def delete_partition(self, table: str, day: str) -> None:
        """Removes one day of a table (its file first, so a reader never sees a half folder)."""
        path = self.partition_path(table, day)
        path.unlink(missing_ok=True)
        if path.parent.is_dir():
            shutil.rmtree(path.parent)

    def tables(self) -> list[str]:
        """The standard tables plus any other table folder holding partitions."""
        return [*STANDARD_TABLES, *(t for t in self._written_tables() if t not in STANDARD_TABLES)]

    def _written_tables(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and _TABLE_NAME.match(entry.name) and self.days(entry.name)
        )

    def view_sources(self, view: str) -> list[str]:
        """The written tables a view reads: itself, or those its VIEW_SOURCES patterns match."""
        patterns = VIEW_SOURCES.get(view, (view,))
        written = self._written_tables()
        return [t for t in written if any(fnmatch.fnmatchcase(t, p) for p in patterns)]

    # ---------------------------------------------------------------------------------- views

    def refresh_views(self) -> Path:
        """(Re)creates `enrich.duckdb` with one view per table plus `contacts_latest`.

        Safe to call from many processes at once: refreshes take turns under an exclusive
        `flock`, each builds a temp DuckDB file and renames it over the old one.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(self.root / LOCK_FILE):
            temp = self.root / f".{VIEWS_FILE}.{uuid4().hex}.tmp"
            try:
                with duckdb.connect(str(temp)) as con:
                    for statement in self._view_statements(con):
                        con.execute(statement)
                os.replace(temp, self.views_path)
            finally:
                temp.unlink(missing_ok=True)
                Path(f"{temp}.wal").unlink(missing_ok=True)
            _fsync_dir(self.root)
        return self.views_path

    def _view_statements(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        statements = []
        for table in self.tables():
            if sources := self.view_sources(table):
                folders = [self.root.resolve() / source for source in sources]
                statements.append(_parquet_view(table, folders))
            elif table in self.schemas:
                statements.append(_empty_view(con, table, self.schemas[table]))
            else:
                log.info("no view for %s yet: no files and no known schema", table)
                continue
            if table == "contacts":
                statements.append(_CONTACTS_LATEST)
        return statements


def connect_readonly(root: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse views (never blocks or is blocked by a refresh)."""
    path = Path(root) / VIEWS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run Warehouse(root).refresh_views()")
    return duckdb.connect(str(path), read_only=True)


# ------------------------------------------------------------------------------------ helpers


def _read_file(
    path: Path, columns: Sequence[str] | None = None, without: Sequence[str] = ()
) -> pa.Table:
    """A partition file read through one open handle. A writer replaces the file atomically
    (`os.replace`), but `pq.read_table(path)` opens the path more than once (footer, then pages):
    a replace in between paired one file's footer with the other's bytes ("Couldn't deserialize
    thrift"), seen with two runs of one day. One handle reads one file, old or new, whole."""
    with path.open("rb") as handle:
        parquet = pq.ParquetFile(handle)
        if without:
            columns = [n for n in columns or parquet.schema_arrow.names if n not in without]
        return parquet.read(columns=None if columns is None else list(columns))


def _sweep_unfinished(folder: Path, older_than_s: float) -> int:
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for temp in folder.glob(f".{PART_FILE}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):  # its writer finished or removed it meanwhile
            if temp.stat().st_mtime <= cutoff:
                temp.unlink()
                removed += 1
    return removed


def _with_origin(data: pa.Table, origin: str | None) -> pa.Table:
    if origin is None or ORIGIN_COLUMN in data.column_names:
        return data
    return data.append_column(ORIGIN_COLUMN, pa.array([origin] * data.num_rows, pa.string()))


def _without_origin(data: pa.Table) -> pa.Table:
    return data.drop_columns([ORIGIN_COLUMN]) if ORIGIN_COLUMN in data.column_names else data


def _parquet_view(table: str, folders: Sequence[Path]) -> str:
    patterns = ", ".join(_sql_string(f"{f}/{PARTITION_COLUMN}=*/*.parquet") for f in folders)
    return (
        f'CREATE VIEW "{table}" AS SELECT * FROM read_parquet([{patterns}], '
        f"hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{'{PARTITION_COLUMN}': DATE}})"
    )


def _empty_view(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> str:
    """A view with the table's columns and types and no rows, for a table without files yet."""
    relation = con.from_arrow(schema.empty_table())
    columns = [
        f'CAST(NULL AS {duck_type}) AS "{name}"'
        for name, duck_type in zip(relation.columns, relation.types, strict=True)
        if name != PARTITION_COLUMN
    ]
    columns.append(f'CAST(NULL AS DATE) AS "{PARTITION_COLUMN}"')
    return f'CREATE VIEW "{table}" AS SELECT {", ".join(columns)} WHERE false'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _checked_table(table: str) -> str:
    if not _TABLE_NAME.match(table):
        raise ValueError(f"table name {table!r} must be lower-case letters, digits and _")
    return table


def _checked_day(day: str) -> str:
    """YYYY-MM-DD and a real date (this string becomes a folder name)."""
    try:
        valid = date.fromisoformat(day).isoformat() == day
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"day {day!r} must be a date written YYYY-MM-DD")
    return day


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    """Makes a rename durable (the directory entry), so a power cut cannot undo a finished write."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
