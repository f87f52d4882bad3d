"""Webhook deliveries in the ledger: stored as received before the receiver answers 2xx, read
back by the runner as answers (webhook-first collection, `deliveries_after`) and to adopt jobs
whose submit answer was lost. A mixin of `Ledger`: it shares the ledger's one connection and its
transactions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from enrich_pipeline.spend.ledger_sql import LedgerDb


class Deliveries:
    _db: LedgerDb
    _lock: threading.RLock
    _tx: Callable[[], AbstractContextManager[LedgerDb]]

    def record_delivery(self, provider: str, body: object) -> int:
        """A webhook delivery, stored as received before the receiver answers 2xx."""
        with self._tx() as db:
            [(delivery_id,)] = db.execute(
                "INSERT INTO webhook_deliveries (provider, received_at, body_json) "
                "VALUES (?, ?, ?) RETURNING id",
                (provider, datetime.now(UTC).isoformat(), json.dumps(body, ensure_ascii=False)),
            ).fetchall()
        return int(delivery_id)

    def deliveries(self, provider: str, *, since: str) -> list[object]:
        """Webhook bodies of `provider` received at or after `since` (ISO time), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body_json FROM webhook_deliveries WHERE provider = ? AND received_at >= ? "
                "ORDER BY id",
                (provider, since),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def deliveries_after(
        self, provider: str, after_id: int, *, since: str = "", limit: int | None = None
    ) -> list[tuple[int, object]]:
        """(id, body) of `provider`'s deliveries stored after delivery `after_id` and received at
        or after `since` (ISO time), oldest first, at most `limit`: read repeatedly with the last
        id seen, each delivery is read once."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body_json FROM webhook_deliveries "
                "WHERE provider = ? AND received_at >= ? AND id > ? ORDER BY id"
                + ("" if limit is None else f" LIMIT {int(limit)}"),
                (provider, since, after_id),
            ).fetchall()
        return [(int(row_id), json.loads(body)) for row_id, body in rows]

    def open_since(self, provider: str, day: str) -> str | None:
        """When the oldest still-open (submitted, unanswered) attempt of `day` was written (ISO)."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(created_at) FROM submissions "
                "WHERE provider = ? AND day = ? AND state = 'submitted'",
                (provider, day),
            ).fetchone()
        return row[0] if row and row[0] else None

    def deliveries_by_id(self, provider: str, ids: Sequence[int]) -> list[tuple[int, object]]:
        """(id, body) of these deliveries of `provider`, oldest first (a window's backlog)."""
        out: list[tuple[int, object]] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, body_json FROM webhook_deliveries WHERE provider = ? "
                    f"AND id IN ({', '.join('?' for _ in part)})",
                    (provider, *part),
                ).fetchall()
            out += [(int(row_id), json.loads(body)) for row_id, body in rows]
        return sorted(out, key=lambda row: row[0])
