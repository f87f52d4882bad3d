"""EnrichmentResult records of The Hog answers: a finished person (`data_record`, priced from the
table when the answer reports no cost), a batch item, a refused or still pending submission, and the
FAILED record that keeps a payload in no shape we know."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from enrich_pipeline.identity import person_key
from enrich_pipeline.model import (
    CostBasis,
    EnrichmentResult,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.providers.thehog.correlate import _Context, _Correlator
from enrich_pipeline.providers.thehog.dialect import (
    CREDIT_PRICES,
    PROVIDER,
    RUNNING_STATUSES,
    _error_message,
)
from enrich_pipeline.providers.thehog.parse import _Findings, read_data
from enrich_pipeline.providers.thehog.values import _str


def _record(ctx: _Context, raw: Any, **fields: Any) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=ctx.person_key,
        provider=PROVIDER,
        provider_ref=ctx.provider_ref,
        request_correlation=ctx.correlation,
        raw=raw if isinstance(raw, dict) else {"payload": raw},
        **fields,
    )


def _failed(ctx: _Context, reason: str, raw: Any) -> EnrichmentResult:
    return _record(ctx, raw, record_status=RecordStatus.FAILED, reason=reason)


def unexpected_result(payload: Any, what: str, ctx: _Context | None = None) -> EnrichmentResult:
    """A payload in no shape we know: one FAILED record keeping it (schema drift must show)."""
    return _failed(ctx or _Context(), f"unexpected The Hog payload: {what}", payload)


def refused_result(submission: Submission) -> EnrichmentResult:
    """A submission refused (by us for missing inputs, or by The Hog): failed, nothing charged."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.FAILED,
        reason=submission.error or "submission has no operation id",
        # Refused before any call: certainly free. Refused by The Hog (422): not documented.
        cost_credits=None if "http_status" in submission.raw else 0,
        cost_basis=CostBasis.UNKNOWN if "http_status" in submission.raw else CostBasis.TABLE,
        raw=submission.raw,
    )


def pending_result(
    submission: Submission, status: str | None = None, last_error: str | None = None
) -> EnrichmentResult:
    """Still running when we stopped waiting: pending, to be polled again (never not_found)."""
    reason = f"operation still {status or 'running'} when we stopped waiting"
    if status and status not in RUNNING_STATUSES:
        reason += f" ({status!r} is not a documented status)"
    if last_error:
        reason += f"; last poll failed: {last_error}"
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
        raw=submission.raw,
    )


# ----------------------------------------------------------------------------------------- people


def data_record(
    ctx: _Context,
    data: Any,
    raw: Any,
    *,
    error: str | None = None,
    cost: int | None = None,
) -> EnrichmentResult:
    """A finished person (`data` of a sync body, a batch item or a single-person operation).

    An `error` makes it FAILED, but whatever values did come back are kept: they may have been paid.
    """
    if data is not None and not isinstance(data, dict):
        return unexpected_result(raw, f"`data` is a {type(data).__name__}, not an object", ctx)
    input_url = (ctx.sent or {}).get("linkedin_url")
    findings = read_data(data or {}, ctx.fields, input_url)
    if ctx.person_key is None:
        url = findings.linkedin.url if findings.linkedin else None
        ctx = replace(ctx, person_key=person_key(linkedin_url=url, email=findings.email))
    status, reason = _judge(findings, error, data)
    notes = findings.notes + (findings.unreadable if status is RecordStatus.FOUND else [])
    if findings.missing and status is not RecordStatus.FAILED:
        notes.append(f"absent from the answer: {', '.join(findings.missing)}")
    if notes:
        reason = "; ".join([*([reason] if reason else []), *notes])
    return _record(
        ctx,
        raw,
        record_status=status,
        reason=reason,
        email=findings.email,
        email_status=findings.email_status,
        email_confidence=findings.email_confidence,
        phones=tuple(findings.phones),
        linkedin=findings.linkedin,
        cost_credits=cost if cost is not None else _table_cost(findings),
        cost_basis=CostBasis.REPORTED if cost is not None else CostBasis.ESTIMATED,
    )


def _table_cost(findings: _Findings) -> int:
    """An answer without `meta.cost.actual` (3.5): price what came back with our price table
    (CREDIT_PRICES, an ASSUMPTION: The Hog publishes no per-field prices), recorded as ESTIMATED."""
    return (
        (CREDIT_PRICES[WantedField.EMAIL] if findings.email else 0)
        + (CREDIT_PRICES[WantedField.PHONE] if findings.phones else 0)
        + (CREDIT_PRICES[WantedField.LINKEDIN] if findings.linkedin else 0)
    )


def _judge(findings: _Findings, error: str | None, data: Any) -> tuple[RecordStatus, str | None]:
    if error is not None:
        return RecordStatus.FAILED, error
    if findings.found:
        return RecordStatus.FOUND, None
    if findings.unreadable:
        # Present but unreadable is not "nothing": a renamed field must not pass as not found.
        return RecordStatus.FAILED, "unreadable answer: " + "; ".join(findings.unreadable)
    if not findings.not_found:
        keys = sorted(data) if isinstance(data, dict) else []
        return (
            RecordStatus.FAILED,
            f"the answer carries none of the requested fields (keys: {keys})",
        )
    return RecordStatus.NOT_FOUND, "The Hog found nothing for " + ", ".join(findings.not_found)


# ------------------------------------------------------------------------------------ batch items


def _item_records(
    items: list[Any],
    correlator: _Correlator,
    *,
    provider_ref: str | None,
    context: Mapping[str, Any],
    job_error: str | None = None,
) -> list[EnrichmentResult]:
    """One record per item `{identifier, status, data | error}`, matched to its request by the
    echoed identifier; `context` (the operation minus its result, the submit body) joins each raw."""
    records = []
    for position, item in enumerate(items):
        raw = {**context, "item_index": position, "item": item}
        if not isinstance(item, dict):
            ctx = correlator.match(None, position) or _Context(provider_ref=provider_ref)
            records.append(unexpected_result(raw, f"item {position} is not an object", ctx))
            continue
        identifier = item.get("identifier")
        ctx = correlator.match(identifier, position) or _Context.of_echo(identifier, provider_ref)
        ctx = replace(ctx, provider_ref=provider_ref or ctx.provider_ref)
        records.append(_item_record(item, ctx, raw, job_error))
    return records


def _item_record(
    item: dict[str, Any], ctx: _Context, raw: dict[str, Any], job_error: str | None
) -> EnrichmentResult:
    status = (_str(item.get("status")) or "").lower()
    data, error = item.get("data"), item.get("error")
    if status in ("success", "succeeded", "ok") or (not status and data is not None and not error):
        return data_record(ctx, data, raw)
    if status in ("failed", "failure", "error") or error:
        message = _error_message(error) or job_error or f"item {status or 'failed'}"
        if _identity_unknown(error, message):
            # The Hog answered: it does not know this person. That is a clear "not found" (the next
            # provider may try), not a failure to hold the person back for.
            return _record(ctx, raw, record_status=RecordStatus.NOT_FOUND, reason=message)
        return data_record(ctx, data, raw, error=message)
    return unexpected_result(raw, f"item status {item.get('status')!r}", ctx)


def _identity_unknown(error: Any, message: str) -> bool:
    code = error.get("code") if isinstance(error, dict) else None
    return code == "identity_not_resolved" or "could not resolve" in message.lower()
