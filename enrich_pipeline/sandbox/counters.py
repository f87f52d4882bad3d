"""What clients did to the sandbox, so tests can prove it: requests, credits, submissions, webhooks."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()  # (provider, route id, status)
        self.credits_charged: Counter[tuple[str, str]] = Counter()  # (provider, key label)
        self.credits_refunded: Counter[tuple[str, str]] = Counter()
        self.submissions: Counter[tuple[str, str]] = Counter()  # (provider, person id or "unknown")
        self.webhooks: Counter[tuple[str, str, str]] = Counter()  # (provider, event, outcome)

    def request(self, provider: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(provider, route, status)] += 1

    def charge(self, provider: str, key: str, credits: int) -> None:
        with self._lock:
            self.credits_charged[(provider, key)] += credits

    def refund(self, provider: str, key: str, credits: int) -> None:
        with self._lock:
            self.credits_refunded[(provider, key)] += credits

    def submitted(self, provider: str, person_id: str | None) -> None:
        with self._lock:
            self.submissions[(provider, person_id or "unknown")] += 1

    def webhook(self, provider: str, event: str, outcome: str) -> None:
        with self._lock:
            self.webhooks[(provider, event, outcome)] += 1

    def snapshot(self) -> dict[str, Any]:
        """JSON view: nested dicts keyed provider -> route -> status, and net credits per provider."""
        with self._lock:
            requests: dict[str, dict[str, dict[str, int]]] = {}
            for (provider, route, status), n in sorted(self.requests.items()):
                requests.setdefault(provider, {}).setdefault(route, {})[str(status)] = n
            charged: dict[str, dict[str, int]] = {}
            for (provider, key), n in sorted(self.credits_charged.items()):
                charged.setdefault(provider, {})[key] = n
            refunded: dict[str, dict[str, int]] = {}
            for (provider, key), n in sorted(self.credits_refunded.items()):
                refunded.setdefault(provider, {})[key] = n
            net = {
                p: sum(charged.get(p, {}).values()) - sum(refunded.get(p, {}).values())
                for p in sorted(set(charged) | set(refunded))
            }
            submissions: dict[str, dict[str, int]] = {}
            for (provider, person), n in sorted(self.submissions.items()):
                submissions.setdefault(provider, {})[person] = n
            webhooks: dict[str, dict[str, dict[str, int]]] = {}
            for (provider, event, outcome), n in sorted(self.webhooks.items()):
                webhooks.setdefault(provider, {}).setdefault(event, {})[outcome] = n
            totals = Counter[str]()
            for (provider, _, _), n in self.requests.items():
                totals[provider] += n
            return {
                "requests": requests,
                "requests_total": dict(sorted(totals.items())),
                "credits_charged": charged,
                "credits_refunded": refunded,
                "credits_net": net,
                "submissions": submissions,
                "webhooks": webhooks,
            }
