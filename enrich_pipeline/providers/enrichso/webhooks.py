"""enrich.so webhook callbacks → records (providers.md 2.9). No HTTP here.

A per-result callback (`ITEM_EVENTS`) carries one answer in snake_case; a completion event is a
tally for the whole batch and says nothing about any one person. Callbacks never settle, so their
records are priced from the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from enrich_pipeline.identity import linkedin_slug
from enrich_pipeline.model import CostBasis, EnrichmentResult
from enrich_pipeline.providers.enrichso.parse import (
    PRICE,
    Parsed,
    failed,
    finder_row,
    phones_row,
    pick,
    reverse_row,
    text,
    validation_row,
)

ITEM_EVENTS = {
    "webhook:email_lookup.completed": "validation",
    "webhook:finder_lookup.completed": "finder",
    "webhook:phone_result.completed": "phones",
    "webhook:email_result.completed": "reverse",
}
COMPLETION_EVENTS = {
    "validation.completed": "validation",
    "finder.completed": "finder",
    "webhook:phone_completion.completed": "phones",
    "webhook:email_completion.completed": "reverse",
}


def _lead_from_result_id(result_id: str | None) -> dict[str, str] | None:
    """Finder misses have no email to use as result_id, and the doc is silent on what they carry
    (UNKNOWN). The rich sandbox sends `first|last|domain` (ASSUMPTION); anything else, e.g. an
    opaque id, yields no lead: the record then shows no input, email or name, matches no request
    (correlate.py: nothing to compare) and names nobody — the results fetch answers the person."""
    parts = (result_id or "").split("|")
    if len(parts) == 3 and all(p.strip() for p in parts):
        return {"firstName": parts[0], "lastName": parts[1], "domain": parts[2]}
    return None


def webhook_item(product: str, data: Mapping[str, Any], body: Any) -> Parsed:
    """A per-result callback's `data` (snake_case, providers.md 2.9) → Parsed."""
    result_id = text(pick(data, "result_id", "resultId"))
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    kind = text(data.get("type"))
    message = text(pick(data, "error", "message"))
    if product == "validation":
        return validation_row({"email": result_id, **result}, body)
    if product == "finder":
        lead = _lead_from_result_id(result_id) or {}
        return finder_row({**lead, **result}, body)
    if product == "phones":
        where = "linkedin" if linkedin_slug(result_id) else "email"
        row = {where: result_id, "phones": data.get("phones") or [], "message": message}
        return phones_row(row, body, error=kind == "error")
    if kind == "error":
        return reverse_row({}, body, email=result_id, error=message or "reverse lookup error")
    if kind == "no_match" or not result:
        return reverse_row({"found": False, "message": message}, body, email=result_id)
    return reverse_row(result, body, email=result_id)


def webhook_parsed(body: Any) -> list[Parsed]:
    if not isinstance(body, dict):
        return [Parsed(None, None, failed("webhook body is not a JSON object", body))]
    event = text(body.get("event")) or ""
    data = body.get("data")
    if event in COMPLETION_EVENTS:
        return []  # a tally for the whole batch: nothing about any one person
    product = ITEM_EVENTS.get(event)
    if product is None or not isinstance(data, dict):
        reason = f"unrecognised enrich.so webhook event {event!r}"
        return [Parsed(None, None, failed(reason, body))]
    try:
        parsed = webhook_item(product, data, body)
    except (TypeError, ValueError, AttributeError) as exc:
        return [Parsed(product, None, failed(f"unreadable {event} callback: {exc}", body))]
    job_id = text(pick(data, "job_id", "jobId", "batchId"))
    price = PRICE[product] if parsed.charged else 0
    # Webhooks never settle (2.9): the price table says what settlement will charge.
    record = parsed.record.model_copy(
        update={
            "provider_ref": f"{product}:{job_id}" if job_id else None,
            "request_correlation": text(pick(data, "result_id", "resultId")),
            "cost_credits": price,
            "cost_basis": CostBasis.TABLE,
        }
    )
    return [Parsed(product, parsed.key, record, parsed.charged)]


def parse_webhook(body: Any) -> list[EnrichmentResult]:
    """Any enrich.so callback → records; completion events → []; unknown ones → one FAILED."""
    return [p.record for p in webhook_parsed(body)]


def completed_batches(bodies: Iterable[Any]) -> Iterator[str]:
    """The batch references (`<product>:<job_id>`) that completion callbacks among `bodies` report
    over, whatever their status (a failed batch's callback, if it sends one, is an ASSUMPTION: the
    results fetch says how it ended). Per-item callbacks and unreadable bodies are skipped."""
    for body in bodies:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            continue
        product = COMPLETION_EVENTS.get(text(body.get("event")) or "")
        job_id = text(pick(body["data"], "job_id", "jobId", "batchId", "id"))
        if product is not None and job_id:
            yield f"{product}:{job_id}"
