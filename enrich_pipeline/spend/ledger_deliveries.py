"""Webhook deliveries in the ledger: stored as received before the receiver answers 2xx, read
back by the runner to adopt jobs whose submit answer was lost. A mixin of `Ledger`: it shares the
ledger's one connection and its transactions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime


class Deliveries:
    _db: sqlite3.Connection
    _lock: threading.RLock
    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def record_delivery(self, provider: str, body: object) -> int:
        """A webhook delivery, stored as received before the receiver answers 2xx."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO webhook_deliveries (provider, received_at, body_json) "
                "VALUES (?, ?, ?)",
                (provider, datetime.now(UTC).isoformat(), json.dumps(body, ensure_ascii=False)),
            )
        return int(cursor.lastrowid or 0)

    def deliveries(self, provider: str, *, since: str) -> list[object]:
        """Webhook bodies of `provider` received at or after `since` (ISO time), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body_json FROM webhook_deliveries WHERE provider = ? AND received_at >= ? "
                "ORDER BY id",
                (provider, since),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]
