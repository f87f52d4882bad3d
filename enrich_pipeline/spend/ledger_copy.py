"""Moving a ledger (`enrich-pipeline ledger copy`): every row of every table from one ledger into
another, ids kept, typically a SQLite file into Postgres when runs start to spread over machines.

Both ends are first brought to the latest schema (an old file upgrades as any run would upgrade
it). The copy is one write transaction on the target, so it lands whole or not at all, and no run
writes to the target meanwhile. It only fills an empty ledger: a target that already holds exactly
the source's rows (same tables, counts and ids: an earlier copy) is reported as copied, anything
else is refused — merging two ledgers could pair a result with the wrong submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enrich_pipeline.spend.ledger_schema import TABLES, migrate
from enrich_pipeline.spend.ledger_sql import LedgerDb, connect, is_postgres_url

BATCH_ROWS = 1000


class LedgerCopyError(RuntimeError):
    """The copy cannot be made as asked (the message says what to do)."""


@dataclass(frozen=True)
class CopyReport:
    source: str  # where, as ledger_sql shows it (never a password)
    target: str
    rows: dict[str, int]  # table -> rows copied (or found already copied)
    already_copied: bool


def _shape(db: LedgerDb, table: str) -> tuple[int, Any, Any]:
    """Rows, lowest and highest id (key, for ledger_meta): what tells an earlier copy apart."""
    key = "key" if table == "ledger_meta" else "id"
    count, low, high = db.execute(
        f"SELECT COUNT(*), MIN({key}), MAX({key}) FROM {table}"
    ).fetchone()
    return int(count), low, high


def _copy_table(source: LedgerDb, target: LedgerDb, table: str) -> int:
    columns = sorted(source.columns(table) & target.columns(table))
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    order = "key" if table == "ledger_meta" else "id"
    copied = 0
    rows = source.execute(f"SELECT {names} FROM {table} ORDER BY {order}")
    while batch := rows.fetchmany(BATCH_ROWS):  # streamed: raw payloads can weigh gigabytes
        target.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
        copied += len(batch)
    if "id" in columns:
        target.ids_taken(table)
    return copied


def copy_ledger(source: Path | str, target: Path | str) -> CopyReport:
    if not is_postgres_url(source) and not Path(source).exists():
        raise LedgerCopyError(
            f"no ledger at {source}: nothing to copy. Pass --from with the ledger file (by default "
            "ENRICH_STATE_DIR/ledger.sqlite)"
        )
    if str(source) == str(target):
        raise LedgerCopyError("the source and the target are the same ledger")
    src = connect(source)
    try:
        migrate(src)
        dst = connect(target)
        try:
            migrate(dst)
            return _copy(src, dst)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: LedgerDb, dst: LedgerDb) -> CopyReport:
    with dst.transaction(), src.transaction():  # neither side changes while it is copied
        found = {table: _shape(dst, table) for table in TABLES}
        if any(count for count, _, _ in found.values()):
            wanted = {table: _shape(src, table) for table in TABLES}
            if found == wanted:
                rows = {table: count for table, (count, _, _) in found.items()}
                return CopyReport(src.where, dst.where, rows, already_copied=True)
            held = sum(count for count, _, _ in found.values())
            raise LedgerCopyError(
                f"the target ledger {dst.where} already holds {held} rows that are not a copy of "
                f"{src.where} (or the source changed since it was copied); nothing was copied. "
                "Copy into an empty database, or drop the target's tables first if it holds "
                "nothing you need"
            )
        rows = {table: _copy_table(src, dst, table) for table in TABLES}
    return CopyReport(src.where, dst.where, rows, already_copied=False)
