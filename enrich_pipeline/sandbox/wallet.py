"""A provider's credit balance with its transaction history (enrich.so shows it; the others keep it)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from enrich_pipeline.sandbox.clock import iso_now
from enrich_pipeline.sandbox.counters import Counters

TransactionType = Literal["deduction", "topup", "adjustment", "refund"]


@dataclass
class Wallet:
    provider: str
    balance: int
    counters: Counters
    transactions: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def can_cover(self, credits: int) -> bool:
        return self.balance >= credits

    def charge(self, credits: int, key: str, description: str, **metadata: Any) -> bool:
        """Deduct `credits` if the balance covers them; False (nothing deducted) otherwise."""
        if credits <= 0:
            return True
        with self._lock:
            if self.balance < credits:
                return False
            self.balance -= credits
            self._record("deduction", -credits, description, metadata)
        self.counters.charge(self.provider, key, credits)
        return True

    def refund(self, credits: int, key: str, description: str, **metadata: Any) -> None:
        if credits <= 0:
            return
        with self._lock:
            self.balance += credits
            self._record("refund", credits, description, metadata)
        self.counters.refund(self.provider, key, credits)

    def set_balance(self, balance: int) -> None:
        with self._lock:
            delta = balance - self.balance
            self.balance = balance
            self._record("adjustment", delta, "sandbox balance set", {})

    def _record(
        self, kind: TransactionType, amount: int, description: str, metadata: dict[str, Any]
    ) -> None:
        tx: dict[str, Any] = {
            "id": f"{next(self._ids):024x}",
            "type": kind,
            "amount": amount,
            "balanceAfter": self.balance,
            "description": description,
            "createdAt": iso_now(),
        }
        if metadata:
            tx["metadata"] = metadata
        self.transactions.append(tx)
