"""enrich.so batch jobs (providers.md 2.3, 2.9, 2.11): submit → status → results, with credits
reserved at submit and settled exactly once, on the first results fetch after a terminal status.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from enrich_pipeline.sandbox.clock import iso_now
from enrich_pipeline.sandbox.jobs import JobTimer
from enrich_pipeline.sandbox.providers.enrichso_products import (
    Keyed,
    Product,
    Row,
    documented_row,
)
from enrich_pipeline.sandbox.providers.enrichso_wire import (
    OBJECT_ID,
    PROVIDER,
    ApiError,
    bad_request,
    charge,
    int_query,
    object_body,
    object_id,
    ok,
    problems,
    wallet,
    webhook_url,
)
from enrich_pipeline.sandbox.routing import Call, Handler

STATUS_OF_PHASE = {
    "queued": "queued",
    "processing": "processing",
    "done": "completed",
    "failed": "failed",
}
TERMINAL = ("completed", "failed")
# Webhooks are scheduled for the moment the job finishes; the event loop may wake a hair early, and
# a delivery evaluated before the timer says "done" would be skipped as if the job were stuck.
DELIVERY_MARGIN_S = 0.002


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A batch as one response shows it: status, progress and rows read at a single instant."""

    status: str
    progress: float
    processed: int
    delivered: list[Row]  # answers available so far

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def successful(self) -> int:
        return sum(row.charged for row in self.delivered)


@dataclass
class Batch:
    batch_id: str
    product: Product
    key: str  # credential label of the submitter: settlement refunds go back to it
    rows: list[Row]
    timer: JobTimer
    reserved: int
    settlement: tuple[int, int] | None = None  # (creditsUsed, creditsRefunded), set once

    def snapshot(self) -> Snapshot:
        status = STATUS_OF_PHASE[self.timer.phase()]
        total = len(self.rows)
        if status in TERMINAL:
            progress, processed = 100.0, total
        else:  # the timer may have moved on since phase(): stay below 100 while not terminal
            progress = min(self.timer.progress(), 99.0)
            processed = min(total, int(total * progress / 100))
        # ASSUMPTION: a failed batch delivers no answers (and is refunded in full).
        delivered = [] if status == "failed" else self.rows[:processed]
        return Snapshot(status, progress, processed, delivered)


@dataclass
class EnrichsoStore:
    organization_id: str
    batches: dict[str, Batch] = field(default_factory=dict)
    # (product, unique item keys) -> latest batch id, to refuse resubmitting a running batch.
    latest: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)


def _store(call: Call) -> EnrichsoStore:
    return call.store  # type: ignore[no-any-return]


def _documented(call: Call) -> bool:
    return call.state.config.shape == "documented"


def _dedupe(keyed: Keyed) -> Keyed:
    seen: dict[str, Any] = {}
    for key, item in keyed:
        seen.setdefault(key, item)  # the first spelling wins
    return list(seen.items())


# ---------------------------------------------------------------------------------------- submit


def submit_handler(product: Product) -> Handler:
    @problems
    async def submit(call: Call) -> Response:
        body = await object_body(call)
        keyed = product.parse(body)
        hook_url = webhook_url(body)
        unique = _dedupe(keyed)
        store = _store(call)
        fingerprint = (product.name, tuple(key for key, _ in unique))
        running = store.batches.get(store.latest.get(fingerprint, ""))
        if running is not None and not running.snapshot().terminal:
            # 409 is documented for the IP-to-company batch only; ASSUMPTION (providers.md 2.1):
            # the contact batches refuse an identical resubmission while the first still runs.
            # Naming the running batch is undocumented too: "rich" adds it as a problem
            # extension, "documented" sends the bare problem.
            named = {"batchId": running.batch_id} if not _documented(call) else {}
            raise ApiError(409, "Duplicate batch submission detected", **named)
        batch_id = object_id()
        reserve = len(unique) * product.credits_per_item
        charge(call, reserve, f"{product.label} batch reservation", batchId=batch_id)
        rows = [product.answer(call.world, item) for _, item in unique]
        if _documented(call):
            rows = [documented_row(product, row) for row in rows]
        batch = Batch(batch_id, product, call.key, rows, call.state.start_job(PROVIDER), reserve)
        store.batches[batch_id] = batch
        store.latest[fingerprint] = batch_id
        for row in rows:
            call.state.counters.submitted(PROVIDER, row.person_id)
        if hook_url:
            _schedule_webhooks(call, batch, hook_url)
        data: dict[str, Any] = {
            "batchId": batch_id,
            "status": batch.snapshot().status,
            "itemCount": len(unique),
            "originalCount": len(keyed),
            "duplicatesRemoved": len(keyed) - len(unique),
        }
        if product.submit_message:
            data["message"] = product.submit_message
        return ok(
            data,
            creditsReserved=reserve,
            creditsPerItem=product.credits_per_item,
            estimatedCredits=reserve,
        )

    return submit


# ------------------------------------------------------------------------------ status / results


def _find(call: Call, product: Product, param: str) -> Batch:
    batch_id = call.request.path_params[param]
    if param == "jobId" and not OBJECT_ID.match(batch_id):
        raise bad_request(f'params/jobId must match pattern "{OBJECT_ID.pattern}"')
    batch = _store(call).batches.get(batch_id)
    if batch is None or batch.product is not product:
        raise ApiError(404, "No batch found with that ID")
    return batch


def _percent(progress: float) -> float | int:
    value = round(progress, 1)
    return int(value) if value.is_integer() else value  # 75, or 33.3 (providers.md 2.3)


def status_handler(product: Product, param: str) -> Handler:
    @problems
    async def status(call: Call) -> Response:
        batch = _find(call, product, param)
        now = batch.snapshot()
        data = {
            "batchId": batch.batch_id,
            "status": now.status,
            "totalItems": len(batch.rows),
            "processedItems": now.processed,
            "progress": _percent(now.progress),
        }
        return ok(data)

    return status


def _settle(call: Call, batch: Batch, final: Snapshot) -> tuple[int, int]:
    """Charge the successful items, refund the rest of the reservation; once per batch."""
    if batch.settlement is None:
        used = final.successful * batch.product.credits_per_item
        refunded = batch.reserved - used
        wallet(call).refund(
            refunded,
            batch.key,
            f"{batch.product.label} batch settlement refund",
            batchId=batch.batch_id,
        )
        batch.settlement = (used, refunded)
    return batch.settlement


def results_handler(product: Product, param: str) -> Handler:
    @problems
    async def results(call: Call) -> Response:
        page = int_query(call, "page", 1, 1, None)
        limit = int_query(call, "limit", 100, 1, 1000)
        cap = call.state.config.enrichso_page_cap  # a server serving fewer rows than asked
        limit = min(limit, cap) if cap else limit
        batch = _find(call, product, param)
        now = batch.snapshot()
        listed = [row.result for row in now.delivered if row.result is not None]
        window = listed[(page - 1) * limit : page * limit]
        data: dict[str, Any] = {
            "batchId": batch.batch_id,
            "status": now.status,
            "totalItems": len(batch.rows),
        }
        if product.paged_results:
            data.update(
                processedItems=now.processed,
                successful=now.successful,
                failed=now.processed - now.successful,
                results=window,
                page=page,
                limit=limit,
            )
        else:
            data.update(processedCount=now.processed, results=window)
        meta: dict[str, Any] = {}
        if now.terminal:
            used, refunded = _settle(call, batch, now)
            meta.update(
                creditsUsed=used, creditsRefunded=refunded, creditsRemaining=wallet(call).balance
            )
        # Before a terminal status: UNKNOWN upstream; ASSUMPTION (2.3) partial results, no settlement.
        meta.update(totalItems=len(batch.rows), processedItems=now.processed)
        return ok(data, **meta)

    return results


# -------------------------------------------------------------------------------------- webhooks


def _item_event(batch: Batch, row: Row) -> dict[str, Any] | None:
    if batch.snapshot().status != "completed":  # stuck: nothing yet; failed: no item results
        return None
    return {
        "event": batch.product.item_event,
        "timestamp": iso_now(),
        "data": {"job_id": batch.batch_id, **row.hook},
    }


def _completion_event(batch: Batch) -> dict[str, Any] | None:
    final = batch.snapshot()
    if not final.terminal:
        return None
    product = batch.product
    tally = Counter(row.outcome for row in final.delivered)
    now = iso_now()
    # The doc only shows status "completed"; ASSUMPTION (2.9): a failed batch reports "failed".
    data: dict[str, Any] = {
        "job_id": batch.batch_id,
        "status": final.status,
        "total_items": len(batch.rows),
    }
    if product.reports_success:
        data.update(successful=final.successful, failed=len(batch.rows) - final.successful)
    data["completed_at"] = now
    data.update({name: tally[name] for name in product.tallies})
    return {"event": product.completion_event, "timestamp": now, "data": data}


def _schedule_webhooks(call: Call, batch: Batch, url: str) -> None:
    """One POST per item plus one completion POST, when the job finishes (they never settle)."""
    delay = batch.timer.seconds_until_done() + DELIVERY_MARGIN_S
    hooks, product = call.state.webhooks, batch.product
    for row in batch.rows:
        body = functools.partial(_item_event, batch, row)
        hooks.send(PROVIDER, url, body, event=product.item_event, delay_s=delay)
    completion = functools.partial(_completion_event, batch)
    hooks.send(PROVIDER, url, completion, event=product.completion_event, delay_s=delay)
