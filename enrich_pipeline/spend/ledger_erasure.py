"""What erasure (`warehouse/erasure.py`) needs of the ledger: find the rows that mention a person,
delete or redact them in one transaction with an audit row, and compact the file so no deleted byte
survives. A mixin of `Ledger`: it shares the ledger's one connection and its transactions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from enrich_pipeline.spend.ledger_sql import LedgerDb

# The free-text columns of each table that may hold a person's data (erasure searches and rewrites
# them). The `erasures` audit table records who asked and when, never whom it was about.
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "submissions": ("request_json", "submissions_json", "error"),
    "results": ("result_json",),
    "webhook_deliveries": ("body_json",),
}


@dataclass(frozen=True)
class LedgerRow:
    """One submissions or results row as erasure sees it: its person and its free-text columns."""

    table: str
    id: int
    person_key: str
    texts: dict[str, str | None]


@dataclass(frozen=True)
class Erasure:
    """One row of the `erasures` audit table: who asked, when, and how much was removed (warehouse
    tables rewritten; rows removed from the warehouse and the ledger; payloads redacted in place).
    `ledger_rows_removed` and `compacted` are known only to the call that erased (else None)."""

    id: int
    requested_by: str
    requested_at: str
    tables_rewritten: int
    rows_removed: int
    payloads_redacted: int
    ledger_rows_removed: int | None = None
    compacted: bool | None = None


class ErasureRecords:
    _db: LedgerDb
    _lock: threading.RLock
    _tx: Callable[[], AbstractContextManager[LedgerDb]]

    def rows_mentioning(
        self, person_keys: Sequence[str], needles: Sequence[str]
    ) -> list[LedgerRow]:
        """Rows of `person_keys`, plus rows whose text columns contain any of `needles`
        (lower-case; compared with the lower-cased text)."""
        found: list[LedgerRow] = []
        with self._lock:
            for table, columns in TEXT_COLUMNS.items():
                clauses, params = [], []
                for start in range(0, len(person_keys), 500):
                    chunk = list(person_keys[start : start + 500])
                    clauses.append(f"person_key IN ({','.join('?' * len(chunk))})")
                    params += chunk
                for needle in needles:
                    for column in columns:
                        clauses.append(self._db.contains(f"lower(coalesce({column}, ''))"))
                        params.append(needle)
                if not clauses:
                    continue
                rows = self._db.execute(
                    f"SELECT id, person_key, {', '.join(columns)} FROM {table} "
                    f"WHERE {' OR '.join(clauses)} ORDER BY id",
                    params,
                ).fetchall()
                found += [
                    LedgerRow(table, row[0], row[1], dict(zip(columns, row[2:], strict=True)))
                    for row in rows
                ]
        return found

    def erase(
        self,
        *,
        person_keys: Sequence[str],
        rewrites: Sequence[tuple[str, int, dict[str, str | None]]],
        requested_by: str,
        tables_rewritten: int,
        rows_removed: int,
        payloads_redacted: int,
    ) -> Erasure:
        """In one transaction: delete every submission and result of `person_keys`, apply the
        redacted texts `rewrites` (table, id, column -> text) and append the audit row (the counts
        passed in are the warehouse's; the ledger's rows and rewrites are added). Deleted content is
        overwritten (SQLite: secure_delete), then compacted (SQLite: VACUUM, WAL truncated;
        Postgres: VACUUM FULL of the tables) so no byte of it stays in free pages or old row
        versions (Postgres's own WAL files recycle on the server's schedule)."""
        requested_at = datetime.now(UTC).isoformat()
        with self._lock, self._db.erasing():
            with self._tx() as db:
                removed = 0
                for start in range(0, len(person_keys), 500):
                    chunk = list(person_keys[start : start + 500])
                    marks = ",".join("?" * len(chunk))
                    removed += db.execute(
                        f"DELETE FROM results WHERE person_key IN ({marks}) OR submission_id "
                        f"IN (SELECT id FROM submissions WHERE person_key IN ({marks}))",
                        chunk + chunk,
                    ).rowcount
                    removed += db.execute(
                        f"DELETE FROM submissions WHERE person_key IN ({marks})", chunk
                    ).rowcount
                for table, row_id, texts in rewrites:
                    assert set(texts) <= set(TEXT_COLUMNS[table])
                    sets = ", ".join(f"{column} = ?" for column in texts)
                    db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*texts.values(), row_id])
                [(erasure_id,)] = db.execute(
                    "INSERT INTO erasures (requested_by, requested_at, tables_rewritten, "
                    "rows_removed, payloads_redacted) VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (
                        requested_by,
                        requested_at,
                        tables_rewritten,
                        rows_removed + removed,
                        payloads_redacted + len(rewrites),
                    ),
                ).fetchall()
            compacted = self._db.compact(tuple(TEXT_COLUMNS))
        return Erasure(
            int(erasure_id),
            requested_by,
            requested_at,
            tables_rewritten,
            rows_removed + removed,
            payloads_redacted + len(rewrites),
            removed,
            compacted,
        )

    def erasures(self) -> list[Erasure]:
        """The audit trail, oldest first (who asked and when; never whom it was about)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, requested_by, requested_at, tables_rewritten, rows_removed, "
                "payloads_redacted FROM erasures ORDER BY id"
            ).fetchall()
        return [Erasure(*row) for row in rows]
