"""`flatten()` turns any lemlist payload we may hold (poll body, webhook body, bulk submit response,
or a list of those) into EnrichmentResult records, and never raises on an odd shape: such a payload
becomes one FAILED record that keeps it, so the other records are not lost. `parse_webhook()` does
the same for a webhook delivery, checking a team hook's shared secret and never keeping it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from enrich_pipeline.model import CostBasis, EnrichmentRequest, EnrichmentResult, RecordStatus
from enrich_pipeline.providers.errors import AuthenticationError
from enrich_pipeline.providers.lemlist.correlate import _Correlator
from enrich_pipeline.providers.lemlist.dialect import PROVIDER
from enrich_pipeline.providers.lemlist.parse import _workflow_value
from enrich_pipeline.providers.lemlist.records import (
    _base,
    finished_result,
    poll_result,
    unexpected_result,
)
from enrich_pipeline.providers.lemlist.values import _dict, _str


def flatten(payload: Any, *, requests: Sequence[EnrichmentRequest] = ()) -> list[EnrichmentResult]:
    """Any lemlist payload -> records. Accepts a `GET /enrich/{id}` body, an `enrichmentDone` /
    `enrichmentError` webhook body, a bulk (or single) submit response, and lists of these.

    Total: a shape we do not know becomes one FAILED record keeping it, never an exception.
    """
    correlator = _Correlator(requests)
    try:
        return _flatten(payload, correlator)
    except Exception as exc:  # a bug here must not lose the payload: keep it, say what happened
        return [unexpected_result(payload, f"could not read it ({type(exc).__name__}: {exc})")]


def _flatten(payload: Any, correlator: _Correlator) -> list[EnrichmentResult]:
    if isinstance(payload, list):
        return [record for element in payload for record in _flatten(element, correlator)]
    if not isinstance(payload, dict):
        return [unexpected_result(payload, f"a JSON {type(payload).__name__}")]
    if "enrichmentStatus" in payload:
        ctx = correlator.context(None, _dict(payload.get("input")))
        return [poll_result(payload, ctx)]
    if isinstance(payload.get("type"), str) and "data" in payload:
        return _webhook_records(payload, correlator)
    if "data" in payload and "id" in payload:  # a bare webhook item
        return _webhook_records({"type": "enrichmentDone", "data": [payload]}, correlator)
    if "_id" in payload and "status" in payload:
        return [poll_result(payload, correlator.context(None, payload))]
    if isinstance(payload.get("id"), str) or "error" in payload:
        return [_submit_record(payload, correlator)]
    return [unexpected_result(payload, f"an object with keys {sorted(payload)[:12]}")]


def _submit_record(element: dict[str, Any], correlator: _Correlator) -> EnrichmentResult:
    """A submit answer element: `{"id", "metadata"}` -> PENDING; `{"error", "metadata"}` -> FAILED."""
    ctx = correlator.context(element.get("metadata"))
    ref = _str(element.get("id"))
    if ref is not None:
        ctx = replace(ctx, provider_ref=ref)
        return _base(ctx, element, record_status=RecordStatus.PENDING, reason="submitted")
    return _base(
        ctx,
        element,
        record_status=RecordStatus.FAILED,
        reason=str(element.get("error")),
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
    )


def _webhook_records(body: dict[str, Any], correlator: _Correlator) -> list[EnrichmentResult]:
    event = body["type"]
    if event not in ("enrichmentDone", "enrichmentError"):
        return [unexpected_result(_without_secret(body), f"not an enrichment event ({event!r})")]
    items = body["data"] if isinstance(body["data"], list) else [body["data"]]
    records: list[EnrichmentResult] = []
    for item in items:
        raw = {"type": event, "data": [item]}  # each record keeps a webhook body of its own
        if not isinstance(item, dict):
            records.append(unexpected_result(raw, f"webhook item is {type(item).__name__}"))
            continue
        # No input echo in a webhook: the profile's URL is the identity we can match on.
        found = _dict(item.get("data"))
        _, profile = _workflow_value(found, "linkedin_enrichment")
        echo = {"linkedinUrl": url} if (url := _str(_dict(profile).get("linkedinUrl"))) else {}
        ctx = correlator.context(item.get("metadata"), echo)
        ctx = replace(ctx, provider_ref=_str(item.get("id")))
        error = _str(item.get("error"))
        if error is None and event == "enrichmentError":
            error = "enrichment failed (enrichmentError)"
        records.append(finished_result(ctx, item.get("data"), raw, error=error))
    return records


def _without_secret(body: dict[str, Any]) -> dict[str, Any]:
    """Team hooks echo their shared secret in the body: never keep it in a stored payload."""
    return {k: v for k, v in body.items() if k != "secret"}


def parse_webhook(
    body: Any,
    *,
    requests: Sequence[EnrichmentRequest] = (),
    secret: str | None = None,
) -> list[EnrichmentResult]:
    """A webhook delivery (JSON text or parsed) -> records, one per enrichment in `data[]`.

    With `secret` (a team hook's shared secret, echoed in the body — lemlist signs nothing), a
    delivery without the same secret raises AuthenticationError. The secret is never kept in `raw`.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return [unexpected_result({"text": str(body)[:1000]}, "webhook body is not JSON")]
    if secret is not None and (not isinstance(body, dict) or body.get("secret") != secret):
        raise AuthenticationError(
            PROVIDER,
            "webhook delivery without the expected shared secret",
            hint="check the team hook's secret; ignore deliveries that do not carry it",
        )
    if isinstance(body, dict):
        body = _without_secret(body)
    return flatten(body, requests=requests)
