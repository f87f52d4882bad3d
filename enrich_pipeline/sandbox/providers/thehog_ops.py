"""The Hog's operations (async enrichment jobs) and idempotency records: the emulator's store.

An operation's progress is a pure function of its JobTimer; its credits are charged once, when it
completes (3.5: the balance is charged `actual`), either by a timer callback on the event loop or by
the first poll that sees it finished, whichever comes first.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from enrich_pipeline.sandbox.clock import now
from enrich_pipeline.sandbox.jobs import JobTimer
from enrich_pipeline.sandbox.providers.thehog_data import UNRESOLVED, ItemOutcome
from enrich_pipeline.sandbox.wallet import Wallet

OperationStatus = Literal[
    "queued", "processing", "succeeded", "failed", "partial_success", "cancelled"
]
OPERATION_STATUSES: tuple[OperationStatus, ...] = (
    "queued",
    "processing",
    "succeeded",
    "failed",
    "partial_success",
    "cancelled",
)
JOB_FAILED = {"message": "The enrichment job failed. Please retry.", "code": "enrichment_failed"}
ALL_FAILED = {"message": "No identifier could be resolved", "code": "all_items_failed"}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
IDEMPOTENCY_TTL_S = 24 * 3600.0  # ASSUMPTION (3.1): first request wins for 24 h (scaled by speed)


def operation_id() -> str:
    """`op_` + 26 Crockford base-32 characters: 48-bit millisecond time + 80 random bits (a ULID)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = [CROCKFORD[(value >> (5 * i)) & 31] for i in range(26)]
    return "op_" + "".join(reversed(chars))


@dataclass
class Operation:
    id: str
    org: str  # the credential label: operations of another organization are 404
    single: bool  # one identifier: `result` is the sync `data` object, not `{"items": [...]}`
    items: list[ItemOutcome]
    timer: JobTimer
    wallet: Wallet  # captured at submit, so a charge after a sandbox reset hits the old wallet
    estimated: int
    poll_url: str
    sequence: int  # creation order, for "newest first"
    charged: int = 0
    settled: bool = False
    # config.shape "documented" at submit (its items were built in that shape too): `error` is
    # then only `{message}`, the one key documented for an error object (3.3).
    documented: bool = False

    @property
    def actual(self) -> int:
        return sum(item.credits for item in self.items)

    def status(self) -> OperationStatus:
        phase = self.timer.phase()
        if phase in ("queued", "processing"):
            return phase
        if phase == "failed":
            return "failed"
        resolved = sum(item.data is not None for item in self.items)
        if resolved == len(self.items):
            return "succeeded"
        # ASSUMPTION (3.3): one failed item among successes makes the whole `partial_success`.
        return "failed" if resolved == 0 else "partial_success"

    def settle(self) -> None:
        """Charge `actual` once the job has finished well; a failed job costs nothing.
        If the balance dropped below `actual` after the submit-time estimate check (another
        operation settled first, or the balance was set by hand), the rest of the balance is
        taken: the work was done and the estimate had been covered when it was accepted."""
        if self.settled or self.timer.phase() not in ("done", "failed"):
            return
        self.settled = True
        if self.timer.phase() == "failed":
            return
        amount = min(self.actual, max(self.wallet.balance, 0))
        if self.wallet.charge(amount, self.org, f"enrichment {self.id}", operationId=self.id):
            self.charged = amount

    def settle_when_due(self) -> None:
        """Timer callback: settle, or look again when the job should be over (stuck jobs never are)."""
        self.settle()
        if not self.settled and self.timer.fate != "stuck":
            delay = max(self.timer.seconds_until_done(), 0.001)
            asyncio.get_running_loop().call_later(delay, self.settle_when_due)

    def dto(self) -> dict[str, Any]:
        """OperationResponseDto (providers.md 3.3); observing a finished job settles it."""
        self.settle()
        status = self.status()
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        if self.timer.phase() == "failed":
            error = dict(JOB_FAILED)
        elif status not in ("queued", "processing"):
            result, error = self._outcome(status)
        if error is not None and self.documented:
            error = {"message": error["message"]}  # the `code` is the sandbox's guess
        return {
            "id": self.id,
            "status": status,
            "progress": round(self.timer.progress()),
            "result": result,
            "error": error,
        }

    def _outcome(
        self, status: OperationStatus
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if self.single:
            data = self.items[0].data
            return (copy.deepcopy(data), None) if data is not None else (None, dict(UNRESOLVED))
        result = {"items": [item.as_item() for item in self.items]}
        # ASSUMPTION: a batch in which nothing resolved is `failed`, still listing each item's error.
        return result, dict(ALL_FAILED) if status == "failed" else None


@dataclass
class StoredResponse:
    """What an Idempotency-Key replays: the first accepted answer, minus its request id."""

    status_code: int
    body: dict[str, Any]
    stored_at: float
    replay_meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class HogStore:
    operations: dict[str, Operation] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)
    _sequence: itertools.count = field(default_factory=itertools.count)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def add(self, operation: Operation) -> None:
        self.operations[operation.id] = operation
        delay = operation.timer.seconds_until_done()
        if operation.timer.fate != "stuck":
            asyncio.get_running_loop().call_later(delay, operation.settle_when_due)

    def find(self, org: str, op_id: str) -> Operation | None:
        operation = self.operations.get(op_id)
        return operation if operation is not None and operation.org == org else None

    def newest_first(self, org: str) -> list[Operation]:
        mine = [op for op in self.operations.values() if op.org == org]
        return sorted(mine, key=lambda op: op.sequence, reverse=True)

    def recall(self, org: str, key: str, ttl_s: float) -> StoredResponse | None:
        stored = self.idempotency.get((org, key))
        if stored is None or now() - stored.stored_at > ttl_s:
            return None
        return stored

    def remember(self, org: str, key: str, stored: StoredResponse) -> None:
        self.idempotency[(org, key)] = stored
