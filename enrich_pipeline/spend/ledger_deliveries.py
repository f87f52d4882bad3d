"""Webhook deliveries in the ledger: stored as received before the receiver answers 2xx, read
back by the runner to adopt jobs whose submit answer was lost. A mixin of `Ledger`: it shares the
ledger's one connection and its transactions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
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
