"""What an enrich.so answer cost (providers.md 2.2, 2.11, 4.5), and the one-record bodies whose
receipt comes with them: a single lookup's `{success, data, meta}` and an error body.

A batch's `creditsUsed` is spread over its charged rows (`apportion`); a single lookup's
`meta.creditsUsed` is its own receipt (`single_cost`); without either, the price table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enrich_pipeline.model import CostBasis, EnrichmentResult
from enrich_pipeline.providers.enrichso.parse import (
    PRICE,
    Parsed,
    failed,
    parse_row,
    pick,
    text,
)

Cost = tuple[int | None, CostBasis]


def _credits(meta: Mapping[str, Any], name: str = "creditsUsed") -> int | None:
    value = meta.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def apportion(
    product: str | None, charged: Sequence[bool], used: int | None, complete: bool
) -> list[Cost]:
    """Per-row credits: the settled `creditsUsed` spread over the charged rows (0 for refunded
    ones) when the rows are the whole batch; else the price table (providers.md 4.5)."""
    if used is None or not complete:
        price = PRICE.get(product or "", 0)
        return [(price if c else 0, CostBasis.TABLE) for c in charged]
    payers = [i for i, c in enumerate(charged) if c] or list(range(len(charged)))
    share, extra = divmod(used, len(payers)) if payers else (0, 0)
    costs: list[Cost] = [(0, CostBasis.REPORTED)] * len(charged)
    for n, i in enumerate(payers):
        costs[i] = (share + (1 if n < extra else 0), CostBasis.REPORTED)
    return costs


def single_cost(product: str, parsed: Parsed, meta: Mapping[str, Any]) -> Cost:
    """A single lookup's receipt is `meta.creditsUsed` (0 when nothing was found or refunded)."""
    used = _credits(meta)
    if used is not None:
        return used, CostBasis.REPORTED
    return (PRICE[product] if parsed.charged else 0), CostBasis.TABLE


def single_record(product: str, body: Any) -> EnrichmentResult:
    """A synchronous lookup's `{success, data, meta}` → one record."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return error_record(body) or failed(f"{product} response without a `data` object", body)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    parsed = parse_row(product, data, body)
    cost, basis = single_cost(product, parsed, meta)
    request_id = text(meta.get("requestId"))
    ref = f"{product}:request:{request_id}" if request_id else None
    return parsed.record.model_copy(
        update={"cost_credits": cost, "cost_basis": basis, "provider_ref": ref}
    )


def error_record(body: Any) -> EnrichmentResult | None:
    """A problem+json (or legacy `{error, message, statusCode}`) body as a FAILED record."""
    if not isinstance(body, dict):
        return None
    status = pick(body, "status", "statusCode")
    if body.get("success") is False or (isinstance(status, int) and status >= 400):
        detail = body.get("detail")
        message = next(
            (
                v
                for v in (detail, body.get("message"), body.get("error"), body.get("title"))
                if isinstance(v, str) and v
            ),
            "error",
        )
        return failed(f"enrich.so error{f' {status}' if status else ''}: {message}", body)
    return None
