"""EnrichmentResult records of lemlist answers: a finished enrichment (`finished_result`, priced
from the table: lemlist reports no cost), a `GET /enrich/{id}` body (`poll_result`), a refused or
still pending submission, and the FAILED record that keeps a payload in no shape we know."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from enrich_pipeline.model import (
    CostBasis,
    EnrichmentResult,
    RecordStatus,
    Submission,
    dedupe_phones,
)
from enrich_pipeline.providers.lemlist.correlate import _Context, _payload_person_key
from enrich_pipeline.providers.lemlist.dialect import PROVIDER
from enrich_pipeline.providers.lemlist.parse import read_data
from enrich_pipeline.providers.lemlist.values import _dict, _is_int, _str


def _base(ctx: _Context, raw: Any, **fields: Any) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=ctx.person_key,
        provider=PROVIDER,
        provider_ref=ctx.provider_ref,
        request_correlation=ctx.correlation,
        raw=raw if isinstance(raw, dict) else {"payload": raw},
        **fields,
    )


def unexpected_result(payload: Any, what: str, ctx: _Context | None = None) -> EnrichmentResult:
    """A payload in no shape we know: one FAILED record keeping it (schema drift must show)."""
    return _base(
        ctx or _Context(),
        payload,
        record_status=RecordStatus.FAILED,
        reason=f"unexpected lemlist payload: {what}",
    )


def refused_result(submission: Submission) -> EnrichmentResult:
    """A submission lemlist (or we, for missing inputs) refused: failed, nothing charged."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.FAILED,
        reason=submission.error or "submission has no enrichment id",
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
        raw=submission.raw,
    )


def pending_result(submission: Submission, last_error: str | None = None) -> EnrichmentResult:
    """Still running when we stopped waiting: pending, to be polled again (never not_found)."""
    reason = "enrichment still in progress"
    if last_error:
        reason += f" (last poll failed: {last_error})"
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
        raw=submission.raw,
    )


def finished_result(
    ctx: _Context,
    data: Any,
    raw: Any,
    *,
    error: str | None,
    echo: Mapping[str, Any] | None = None,
) -> EnrichmentResult:
    """A finished enrichment (poll body or webhook item) -> its record.

    An `error` makes it FAILED, but whatever values did come back are kept: they may have been paid.
    """
    if data is not None and not isinstance(data, dict):
        return unexpected_result(raw, f"`data` is {type(data).__name__}, not an object", ctx)
    findings = read_data(data or {}, workflows=ctx.workflows, failed=error is not None)
    email, status = findings.email, findings.email_status
    if findings.verify_status is not None and (email is None or email == findings.verify_email):
        # A dedicated verification of the same address is the fresher verdict.
        email, status = email or findings.verify_email, findings.verify_status
    linkedin = findings.linkedin
    if ctx.person_key is None:
        ctx = replace(ctx, person_key=_payload_person_key(echo or {}, linkedin, email))
    if error is not None:
        record_status, reason = RecordStatus.FAILED, str(error)
    elif findings.found:
        record_status, reason = RecordStatus.FOUND, None
    elif findings.unreadable:
        # Present but unreadable is not "nothing": a renamed field must not pass as not found.
        record_status, reason = RecordStatus.FAILED, "unreadable result: "
        reason += "; ".join(findings.unreadable)
    else:
        record_status = RecordStatus.NOT_FOUND
        reason = "lemlist found nothing" + (
            f" for {', '.join(findings.not_found)}" if findings.not_found else ""
        )
    notes = findings.notes + (findings.unreadable if record_status is RecordStatus.FOUND else [])
    if notes:
        reason = "; ".join([*([reason] if reason else []), *notes])
    return _base(
        ctx,
        raw,
        record_status=record_status,
        reason=reason,
        email=email,
        email_status=status if email else None,
        phones=dedupe_phones(findings.phones),
        linkedin=linkedin,
        cost_credits=findings.cost,
        cost_basis=CostBasis.TABLE,
    )


def poll_result(body: Any, ctx: _Context) -> EnrichmentResult:
    """`GET /enrich/{id}` body -> PENDING (in-progress), a finished record, or FAILED."""
    if not isinstance(body, dict):
        return unexpected_result(body, f"poll body is {type(body).__name__}", ctx)
    ref = _str(body.get("enrichmentId")) or _str(body.get("_id")) or ctx.provider_ref
    echo = _dict(body.get("input"))
    ctx = replace(ctx, provider_ref=ref)
    if ctx.person_key is None and echo:
        ctx = replace(ctx, person_key=_payload_person_key(echo, None, None))
    status = _str(body.get("enrichmentStatus"))
    status = status.lower() if status else None
    if status in ("in-progress", "in_progress", "pending", "queued", "running"):
        return _base(ctx, body, record_status=RecordStatus.PENDING, reason="enrichment in progress")
    if status in ("not-found", "not_found"):
        return _base(ctx, body, record_status=RecordStatus.FAILED, reason="enrichment not found")
    if status in ("done", "completed", "finished", "failed", "error"):
        error = _str(body.get("error"))
        if status in ("failed", "error") and error is None:
            error = f"enrichment {status}"
        return finished_result(ctx, body.get("data"), body, error=error, echo=echo)
    if status is None and "status" in body and ("_id" in body or "credits" in body):
        return _generic_enrich(body, ctx)
    return unexpected_result(
        body, f"unknown enrichmentStatus {body.get('enrichmentStatus')!r}", ctx
    )


def _generic_enrich(body: dict[str, Any], ctx: _Context) -> EnrichmentResult:
    """The OpenAPI components' generic `Enrich` object (providers.md 1.6, non-authoritative):
    `status` pending|completed|failed, top-level `email`/`phone`, `credits` consumed."""
    status = (_str(body.get("status")) or "").lower()
    if status == "pending":
        return _base(ctx, body, record_status=RecordStatus.PENDING, reason="enrichment pending")
    data = {k: body[k] for k in ("email", "phone") if body.get(k)}
    error = "enrichment failed" if status == "failed" else None
    if status not in ("completed", "failed"):
        return unexpected_result(body, f"unknown status {body.get('status')!r}", ctx)
    result = finished_result(ctx, data, body, error=error, echo=body)
    credits = body.get("credits")
    if _is_int(credits):  # this shape reports what it cost
        result = result.model_copy(
            update={"cost_credits": credits, "cost_basis": CostBasis.REPORTED}
        )
    return result
