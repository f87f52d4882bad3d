"""A batch's results → records, and any enrich.so payload → records (`flatten_payload`).

`BatchView` is a batch's answers (one results page, or every page merged by the client);
`batch_records` parses its rows, prices them (costs.py), matches them to the requests
(correlate.py) and gives every request its record: its row's, or one saying why there is none.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from enrich_pipeline.model import CostBasis, EnrichmentResult, RecordStatus, utc_now
from enrich_pipeline.providers.enrichso.correlate import Wanted, correlate
from enrich_pipeline.providers.enrichso.costs import (
    Cost,
    _credits,
    apportion,
    error_record,
    single_record,
)
from enrich_pipeline.providers.enrichso.parse import (
    PROVIDER,
    Parsed,
    failed,
    parse_row,
    pick,
    row_product,
    text,
)
from enrich_pipeline.providers.enrichso.webhooks import webhook_parsed

# Terminal batch statuses. The doc names only completed/failed; the synonyms are tolerated in case
# the quick-reference dialect spells them differently (ASSUMPTION).
DONE_STATUSES = frozenset({"completed", "complete", "done", "finished", "succeeded", "success"})
FAILED_STATUSES = frozenset({"failed", "error", "errored", "cancelled", "canceled"})


@dataclass
class BatchView:
    """A batch's answers as read from one results page, or from all pages merged by the client."""

    product: str | None
    batch_id: str | None
    status: str | None
    rows: list[Any]
    meta: dict[str, Any]
    complete: bool  # the rows are every answer the batch has (all pages)
    fetched_at: datetime = field(default_factory=utc_now)

    @property
    def ref(self) -> str | None:
        if self.product and self.batch_id:
            return f"{self.product}:{self.batch_id}"
        return self.batch_id

    @property
    def terminal(self) -> bool:
        return (self.status or "").lower() in DONE_STATUSES | FAILED_STATUSES

    @property
    def failed(self) -> bool:
        return (self.status or "").lower() in FAILED_STATUSES

    def describe(self) -> dict[str, Any]:
        return {"product": self.product, "batchId": self.batch_id, "status": self.status}


def batch_id_of(data: Mapping[str, Any]) -> str | None:
    return text(pick(data, "batchId", "batch_id", "jobId", "job_id"))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def batch_view(body: Mapping[str, Any], product: str | None = None) -> BatchView:
    """One results page: `data.results[]`, `page`, `limit`, `processedCount` / `processedItems`."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    rows = data.get("results") if isinstance(data.get("results"), list) else []
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    if product is None:
        product = next(
            (row_product(r) for r in rows if isinstance(r, dict) and row_product(r)), None
        )
    status = text(data.get("status"))
    page, limit = _int(data.get("page"), 1), _int(data.get("limit"), 100)  # documented defaults
    total = pick(data, "processedCount", "processedItems", "totalItems")
    whole = len(rows) < limit or (isinstance(total, int) and len(rows) >= total)
    terminal = (status or "").lower() in DONE_STATUSES | FAILED_STATUSES
    return BatchView(
        product, batch_id_of(data), status, rows, meta, terminal and page <= 1 and whole
    )


def _attach(
    record: EnrichmentResult, view: BatchView, row: Any, wanted: Wanted | None, cost: Cost
) -> EnrichmentResult:
    raw: dict[str, Any] = {"result": row, "batch": view.describe(), "meta": view.meta}
    update: dict[str, Any] = {
        "provider_ref": view.ref,
        "cost_credits": cost[0],
        "cost_basis": cost[1],
        "fetched_at": view.fetched_at,
    }
    if wanted is not None:
        if wanted.raw:
            raw["submission"] = wanted.raw
        update["person_key"] = wanted.person_key or record.person_key
        update["request_correlation"] = wanted.correlation
    update["raw"] = raw
    return record.model_copy(update=update)


def _missing(
    view: BatchView, wanted: Wanted, ambiguous: bool, settled: bool
) -> EnrichmentResult | None:
    """The record of a request its batch gave no row for."""
    if view.failed:
        error = text(view.meta.get("error"))
        status = RecordStatus.FAILED
        reason = error or f"enrich.so batch {view.batch_id} {view.status}"
    elif not view.terminal:
        status, reason = RecordStatus.PENDING, f"enrich.so batch {view.batch_id} is {view.status}"
    elif not view.complete:
        return None  # another page may hold it
    elif view.product == "reverse" and ambiguous:
        status = RecordStatus.FAILED
        reason = (
            "reverse-lookup rows do not echo their email, and a profile row no request could be"
            " matched to may be this one's"
        )
    elif view.product == "reverse" and view.meta.get("incomplete"):
        # Omitted rows mean "no profile" only when every row was read (paging.py).
        status = RecordStatus.FAILED
        reason = f"results read short ({view.meta['incomplete']}): this email's row may be unread"
    elif view.product == "reverse":
        status, reason = RecordStatus.NOT_FOUND, "no profile found (omitted from the bulk results)"
    else:
        status, reason = RecordStatus.FAILED, "no row for this input in the batch results"
    pending = status is RecordStatus.PENDING
    return EnrichmentResult(
        person_key=wanted.person_key,
        provider=PROVIDER,
        provider_ref=view.ref,
        request_correlation=wanted.correlation,
        record_status=status,
        reason=reason,
        cost_credits=None if pending else 0,
        cost_basis=CostBasis.UNKNOWN
        if pending
        else CostBasis.REPORTED
        if settled
        else CostBasis.TABLE,
        fetched_at=view.fetched_at,
        raw={"batch": view.describe(), "meta": view.meta, "submission": wanted.raw},
    )


@dataclass(frozen=True)
class Emit:
    """Which records batch_records produces beyond one per matched request."""

    missing: bool = True  # requests without a row (NOT_FOUND / FAILED / PENDING)
    keyed_leftovers: bool = False  # rows of inputs nobody asked about here
    unkeyed_leftovers: bool = True  # rows that could not be attributed (paid: never dropped)


def batch_records(
    view: BatchView,
    wanted: Sequence[Wanted],
    emit: Emit = Emit(),
    all_known: bool = False,
    report: Container[int] | None = None,
    eliminate: bool | None = None,
) -> list[EnrichmentResult]:
    """Records for the `report`ed wanted items (default all), correlated against all of them, and
    the leftover rows `emit` asks for. A row asked for twice (deduped on submit) is billed to the
    first asker only."""
    parsed = [parse_row(view.product, row) for row in view.rows]
    used = _credits(view.meta) if view.terminal else None
    costs = apportion(view.product, [p.charged for p in parsed], used, view.complete)
    found = correlate(parsed, wanted, all_known, eliminate)
    out: list[EnrichmentResult] = []
    billed: set[int] = set()
    for wi, w in enumerate(wanted):
        index = found.matches.get(wi)
        if report is not None and wi not in report:
            billed.update([index] if index is not None else [])
            continue
        if index is None:
            gap = (
                _missing(view, w, wi in found.ambiguous, used is not None) if emit.missing else None
            )
            out.extend([gap] if gap else [])
            continue
        cost = costs[index] if index not in billed else (0, costs[index][1])  # deduped: billed once
        billed.add(index)
        out.append(_attach(parsed[index].record, view, view.rows[index], w, cost))
    for index in found.leftovers:
        keyed = parsed[index].key is not None
        if (emit.keyed_leftovers if keyed else emit.unkeyed_leftovers) and index not in billed:
            out.append(_attach(parsed[index].record, view, view.rows[index], None, costs[index]))
    return out


# -------------------------------------------------------------------------------------- flatten


def _with_requests(parsed: list[Parsed], wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    """Single answers and callbacks: the matching request's person_key and correlation win."""
    if not wanted:
        return [p.record for p in parsed]
    found = correlate(parsed, wanted, all_known=True, eliminate=False)
    owner = {row: wanted[wi] for wi, row in sorted(found.matches.items(), reverse=True)}
    out = []
    for i, p in enumerate(parsed):
        w = owner.get(i)
        if w is None:
            out.append(p.record)
            continue
        update = {"person_key": w.person_key or p.record.person_key}
        if w.correlation is not None:
            update["request_correlation"] = w.correlation
        out.append(p.record.model_copy(update=update))
    return out


def _flatten_object(payload: dict[str, Any], wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    if "event" in payload:
        return _with_requests(webhook_parsed(payload), wanted)
    problem = error_record(payload)
    if problem is not None:
        return [problem]
    data = payload.get("data")
    if not isinstance(data, dict):
        keys = ", ".join(sorted(payload)[:12])
        return [failed(f"unrecognised enrich.so payload: no `data` object (keys: {keys})", payload)]
    if isinstance(data.get("results"), list):
        emit = Emit(missing=False, keyed_leftovers=True, unkeyed_leftovers=True)
        # The requests are taken for the batch's: plausible matches count, no elimination.
        return batch_records(batch_view(payload), wanted, emit, all_known=True, eliminate=False)
    if batch_id_of(data) is not None:
        return []  # a submit or status body: says how far a batch is, nothing about anyone
    product = row_product(data)
    if product is None:
        keys = ", ".join(sorted(data)[:12])
        return [failed(f"unrecognised enrich.so `data` (keys: {keys})", payload)]
    record = single_record(product, payload)
    return _with_requests([Parsed(product, parse_row(product, data).key, record)], wanted)


def flatten_payload(payload: Any, wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    if isinstance(payload, list):  # e.g. a dump of webhook deliveries
        return [r for item in payload for r in flatten_payload(item, wanted)]
    if not isinstance(payload, dict):
        return [failed(f"expected a JSON object, got {type(payload).__name__}", payload)]
    try:
        return _flatten_object(payload, wanted)
    except Exception as exc:  # totality: one bad payload must not cost the others
        return [failed(f"could not read enrich.so payload: {type(exc).__name__}: {exc}", payload)]
