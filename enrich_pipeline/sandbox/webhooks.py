"""Outgoing webhook deliveries, scheduled on the server's event loop when a job finishes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from enrich_pipeline.sandbox.counters import Counters
from enrich_pipeline.sandbox.faults import WEBHOOK_FAULTS, FaultBook

log = logging.getLogger(__name__)

Body = dict[str, Any] | Callable[[], dict[str, Any] | None]
MAX_IN_FLIGHT = 32  # deliveries sent at once (the rest wait their turn)


class WebhookDispatcher:
    """One POST per delivery, no retries (none are documented by any of the three providers).

    Faults: webhook_duplicate sends a delivery twice, webhook_out_of_order adds a random delay so
    deliveries overtake each other, webhook_drop never sends it.
    """

    def __init__(self, counters: Counters, faults: FaultBook, speed: float, seed: int) -> None:
        self.counters = counters
        self.faults = faults
        self.speed = speed
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random(f"webhooks:{seed}")
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    def send(
        self,
        provider: str,
        url: str,
        body: Body,
        *,
        event: str,
        delay_s: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Schedule a delivery `delay_s` (already scaled) from now. Must be called on the loop."""
        fault = self.faults.take(provider, WEBHOOK_FAULTS)
        kind = fault.kind if fault else None
        if kind == "webhook_drop":
            self.counters.webhook(provider, event, "dropped")
            return
        copies = 2 if kind == "webhook_duplicate" else 1
        for _ in range(copies):
            extra = (
                self._rng.uniform(0, 0.5) * self.speed * 10 if kind == "webhook_out_of_order" else 0
            )
            task = asyncio.get_running_loop().create_task(
                self._deliver(provider, url, body, event, delay_s + extra, headers or {})
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self,
        provider: str,
        url: str,
        body: Body,
        event: str,
        delay_s: float,
        headers: dict[str, str],
    ) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        payload = body() if callable(body) else body
        if payload is None:
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        if self._slots is None:
            self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        try:
            # A burst (hundreds of enrichments finishing together) queues here, not in httpx's
            # pool: there each of hundreds of waiters costs every release a scan, and the waits
            # counted against the 5 s timeout, so a 500-delivery burst lost half its deliveries
            # at a receiver that takes 300 a second. The timeout is the receiver's answer only.
            async with self._slots:
                response = await self._client.post(url, json=payload, headers=headers)
            outcome = f"http_{response.status_code}"
        except httpx.HTTPError as exc:
            log.info("sandbox webhook to %s failed: %s", url, type(exc).__name__)
            outcome = "unreachable"
        self.counters.webhook(provider, event, outcome)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
