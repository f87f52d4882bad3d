"""`flatten()` turns any The Hog payload we may hold (sync 200 body, 202 submit body, operation body,
a list of operations, a legacy `/api/people/enrich` inline body) into EnrichmentResult records and
never raises on an odd shape: such a payload becomes one FAILED record that keeps it.

The readers of each shape live here too, for the client's polls: an operation body (3.3; any status,
an undocumented one is logged once and treated as running) and a synchronous answer (3.2, 3.4).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from enrich_pipeline.model import CostBasis, EnrichmentRequest, EnrichmentResult, RecordStatus
from enrich_pipeline.providers.thehog.correlate import _Context, _Correlator
from enrich_pipeline.providers.thehog.dialect import (
    ENDED_BADLY_STATUSES,
    RUNNING_STATUSES,
    SUCCEEDED_STATUSES,
    _error_message,
    _operation_id,
)
from enrich_pipeline.providers.thehog.records import (
    _failed,
    _identity_unknown,
    _item_record,
    _item_records,
    _record,
    data_record,
    unexpected_result,
)
from enrich_pipeline.providers.thehog.values import _dict, _int, _str

log = logging.getLogger("enrich_pipeline.providers")


_reported_statuses: set[str] = set()
_reported_lock = threading.Lock()


# ------------------------------------------------------------------------------------- operations


def _note_unknown_status(status: str) -> None:
    with _reported_lock:
        if status in _reported_statuses:
            return
        _reported_statuses.add(status)
    log.warning(
        "thehog: operation status %r is not documented (queued/processing/succeeded/"
        "partial_success/failed/cancelled); treating it as still running",
        status,
    )


def _operation_records(
    body: Any, correlator: _Correlator, *, batch: bool | None, submit: Any = None
) -> tuple[str, list[EnrichmentResult]]:
    """An OperationResponseDto (3.3) -> ("running", pending records) or ("done", records).

    `batch` says whether the operation was submitted with several identifiers (None: unknown,
    judged from the shape). Every context the operation should answer for gets a record.
    """
    if not isinstance(body, dict):
        what = f"operation body is a {type(body).__name__}"
        return "done", [unexpected_result(body, what, c) for c in correlator.contexts or [None]]
    op_id = _operation_id(body)
    status = (_str(body.get("status")) or "").lower()
    summary = {k: v for k, v in body.items() if k != "result"}
    context: dict[str, Any] = {"operation": summary}
    if submit is not None:
        context["submit"] = submit
    if status not in SUCCEEDED_STATUSES | ENDED_BADLY_STATUSES:
        if status not in RUNNING_STATUSES:
            _note_unknown_status(status or repr(body.get("status")))
        return "running", _pending_records(
            correlator, op_id, {**context, "operation": body}, status
        )
    job_error = _error_message(body.get("error"))
    if status in ENDED_BADLY_STATUSES:
        job_error = job_error or f"operation {status}"
    items = _items_of(body)
    if items is not None:
        records = _item_records(
            items, correlator, provider_ref=op_id, context=context, job_error=job_error
        )
        return "done", records + _missing_items(correlator, op_id, context, job_error)
    return "done", _single_result(body, correlator, op_id, context, job_error, batch)


def _pending_records(
    correlator: _Correlator, op_id: str | None, raw: dict[str, Any], status: str
) -> list[EnrichmentResult]:
    reason = f"operation {status or 'in an unknown state'}"
    return [
        _record(
            replace(c, provider_ref=op_id or c.provider_ref),
            raw,
            record_status=RecordStatus.PENDING,
            reason=reason,
        )
        for c in correlator.answering()
    ]


def _missing_items(
    correlator: _Correlator, op_id: str | None, context: dict[str, Any], job_error: str | None
) -> list[EnrichmentResult]:
    """Requests the operation's items do not mention: failed, never silently dropped."""
    reason = job_error or "the operation's result has no item for this identifier"
    return [
        _failed(replace(c, provider_ref=op_id or c.provider_ref), reason, context)
        for c in correlator.unmatched()
        if c.index is not None  # only the client's own batch members are known to be missing
    ]


def _single_result(
    body: dict[str, Any],
    correlator: _Correlator,
    op_id: str | None,
    context: dict[str, Any],
    job_error: str | None,
    batch: bool | None,
) -> list[EnrichmentResult]:
    """No items: a single-person operation, whose `result` is the sync `data` object (ASSUMPTION)."""
    result = body.get("result")
    contexts = correlator.contexts
    if batch:
        what = "batch operation without result items"
        if job_error:
            return [_failed(replace(c, provider_ref=op_id), job_error, body) for c in contexts]
        return [unexpected_result(body, what, replace(c, provider_ref=op_id)) for c in contexts]
    ctx = correlator.by_data(result) or _Context()
    ctx = replace(ctx, provider_ref=op_id or ctx.provider_ref)
    raw = {**context, "operation": body}
    if job_error is not None and _identity_unknown(body.get("error"), job_error):
        # As for a batch item: The Hog does not know this person, a clear "not found".
        return [_record(ctx, raw, record_status=RecordStatus.NOT_FOUND, reason=job_error)]
    if job_error is not None:
        return [
            data_record(ctx, result if isinstance(result, dict) else None, raw, error=job_error)
        ]
    if not isinstance(result, dict):
        return [
            unexpected_result(raw, f"operation {body.get('status')} with result {result!r}", ctx)
        ]
    return [data_record(ctx, result, raw)]


def _items_of(body: Mapping[str, Any]) -> list[Any] | None:
    """Batch items: `result.items` (ASSUMPTION 3.3), `result` as a list, or `items` at the top."""
    result = body.get("result")
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        return result["items"]  # type: ignore[no-any-return]
    if isinstance(result, list):
        return result
    if isinstance(body.get("items"), list):
        return body["items"]  # type: ignore[no-any-return]
    return None


# ---------------------------------------------------------------------------- synchronous answers


def _submit_body_records(
    body: Any, correlator: _Correlator, *, batch: bool
) -> list[EnrichmentResult]:
    """A sync 200 body `{"data": {...}, "meta": {...}}` (3.2) kept in Submission.raw."""
    if not isinstance(body, dict) or "data" not in body:
        what = "a synchronous answer without `data`"
        return [unexpected_result(body, what, c) for c in correlator.contexts or [None]]
    return _sync_records(body, correlator, batch=batch)


def _sync_records(
    body: dict[str, Any], correlator: _Correlator, *, batch: bool | None
) -> list[EnrichmentResult]:
    data = body["data"]
    items = _items_of(data) if isinstance(data, dict) else None
    if isinstance(data, list) or items is not None:
        # A list in `data`: the legacy inline answer (3.4), one entry per input.
        return _legacy_inline_records(body, items if items is not None else data, correlator)
    if batch:
        return [
            unexpected_result(body, "one `data` object for several people", c)
            for c in correlator.contexts
        ]
    ctx = correlator.by_data(data) or _Context()
    return [data_record(ctx, data, body, cost=_cost(body))]


def _legacy_inline_records(
    body: dict[str, Any], entries: list[Any], correlator: _Correlator
) -> list[EnrichmentResult]:
    """`POST /api/people/enrich` inline 200 (3.4): `data` lists one enriched contact per input; the
    contact's shape is UNKNOWN, so entries are read as items (`{identifier, status, data}`, what the
    sandbox sends) or as bare `data` objects. The cost covers the whole call: it is only a person's
    own cost when there is one person."""
    meta = body.get("meta")
    cost = _cost(body) if len(entries) == 1 else None
    records = []
    for position, entry in enumerate(entries):
        raw = {"item_index": position, "item": entry, "meta": meta}
        if isinstance(entry, dict) and ("identifier" in entry or "status" in entry):
            ctx = correlator.match(entry.get("identifier"), None)
            ctx = ctx or _Context.of_echo(entry.get("identifier"), None)
            record = _item_record(entry, ctx, raw, None)
        elif isinstance(entry, dict):
            ctx = correlator.by_data(entry) if len(entries) == 1 else None
            record = data_record(ctx or _Context(), entry, raw)
        else:
            record = unexpected_result(raw, f"data[{position}] is not an object")
        if cost is not None and record.record_status is not RecordStatus.FAILED:
            record = record.model_copy(
                update={"cost_credits": cost, "cost_basis": CostBasis.REPORTED}
            )
        records.append(record)
    return records


def _cost(body: Mapping[str, Any]) -> int | None:
    """`meta.cost.actual` (3.5): what the balance was charged, when the envelope says."""
    return _int(_dict(_dict(body.get("meta")).get("cost")).get("actual"))


# ---------------------------------------------------------------------------------------- flatten


def flatten(payload: Any, *, requests: Sequence[EnrichmentRequest] = ()) -> list[EnrichmentResult]:
    """Any The Hog payload as received -> records (total: never raises on an odd shape).

    Accepted: a sync 200 body, a 202 submit body (-> PENDING), an operation body of any status, a
    bare list of operations (`GET /api/operations`), a legacy `/api/people/enrich` inline 200 body,
    and an error envelope (-> FAILED). `requests` (optional) puts the caller's person_key and
    correlation on the records, matched by the echoed identifier.
    """
    contexts = [_Context.of_request(r) for r in requests]
    try:
        return _flatten(payload, contexts)
    except Exception as exc:  # a bug must not lose the payload: keep it, say why
        return [unexpected_result(payload, f"{type(exc).__name__}: {exc}")]


def _flatten(payload: Any, contexts: list[_Context]) -> list[EnrichmentResult]:
    if isinstance(payload, list):
        records: list[EnrichmentResult] = []
        for position, element in enumerate(payload):
            try:
                records.extend(_flatten_object(element, contexts, exclusive=False))
            except Exception as exc:
                what = f"element {position}: {type(exc).__name__}: {exc}"
                records.append(unexpected_result(element, what))
        return records
    return _flatten_object(payload, contexts)


def _flatten_object(
    payload: Any, contexts: list[_Context], *, exclusive: bool = True
) -> list[EnrichmentResult]:
    correlator = _Correlator(contexts, exclusive=exclusive)
    if not isinstance(payload, dict):
        return [unexpected_result(payload, f"a {type(payload).__name__}, not an object")]
    if "result" in payload or "progress" in payload:
        return _operation_records(payload, correlator, batch=None)[1]
    if "pollUrl" in payload or "operationId" in payload:
        return _accepted_records(payload, correlator)
    if "data" in payload:
        return _sync_records(payload, correlator, batch=None)
    if "statusCode" in payload and "message" in payload:
        reason = f"HTTP {payload.get('statusCode')}: {_error_message(payload)}"
        return [_failed(c, reason, payload) for c in correlator.answering()]
    if isinstance(payload.get("items"), list):
        return _item_records(payload["items"], correlator, provider_ref=None, context={})
    if "id" in payload and "status" in payload:
        return _operation_records(payload, correlator, batch=None)[1]
    return [unexpected_result(payload, f"no known shape (keys: {sorted(payload)[:10]})")]


def _accepted_records(body: dict[str, Any], correlator: _Correlator) -> list[EnrichmentResult]:
    """A 202 submit body: the people in it are pending until the operation is polled."""
    op_id = _operation_id(body)
    reason = f"operation {_str(body.get('status')) or 'queued'}; poll {body.get('pollUrl')}"
    return [
        _record(
            replace(c, provider_ref=op_id), body, record_status=RecordStatus.PENDING, reason=reason
        )
        for c in correlator.answering()
    ]
