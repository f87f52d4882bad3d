"""enrich.so's documented surface (providers.md 2.1, 2.2, 2.10): base URL, plans and their rate
limits, batch maxima, endpoint paths, which product serves which wanted field and what it costs,
how an error body is read, and which batch a duplicate-submit 409 names.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from enrich_pipeline.model import WantedField
from enrich_pipeline.providers.enrichso.parse import PRICE, pick, text
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.transport import ErrorDetail, parse_error

DEFAULT_BASE_URL = "https://dev.enrich.so/api/v3"  # `dev.` is production (providers.md 2.1)

# providers.md 2.1, per organisation: burst rps, sustained rpm, single-lookup ("enrichment") rpm,
# bulk-submit rps and rpm. Enterprise has the global limits only.
PLANS: dict[str, tuple[int, int, int | None, int | None, int | None]] = {
    "free": (5, 60, 10, 1, 2),
    "growth": (25, 300, 100, 3, 10),
    "scale": (50, 1000, 500, 5, 20),
    "pro": (100, 5000, 2000, 10, 50),
    "enterprise": (200, 10000, None, None, None),
}
DEFAULT_PLAN = "growth"


def plan_rate_limits(plan: str = DEFAULT_PLAN, speed: float = 1.0) -> dict[str, list[RateLimit]]:
    """The documented limits of a plan as pacing buckets: "global" applies to every call,
    "enrichment" to single lookups, "bulk" to batch submits (a submit is one request)."""
    if plan not in PLANS:
        raise ValueError(f"unknown enrich.so plan {plan!r}; one of {', '.join(PLANS)}")
    burst, sustained, single, bulk_rps, bulk_rpm = PLANS[plan]
    limits = {
        "global": [RateLimit(burst, 1.0 * speed, "global"), RateLimit(sustained, 60.0 * speed)]
    }
    if single is not None:
        limits["enrichment"] = [RateLimit(single, 60.0 * speed, "enrichment")]
    if bulk_rps is not None and bulk_rpm is not None:
        limits["bulk"] = [
            RateLimit(bulk_rps, 1.0 * speed, "bulk"),
            RateLimit(bulk_rpm, 60.0 * speed, "bulk"),
        ]
    return limits


DEFAULT_RATE_LIMITS = plan_rate_limits()
# Documented maxima per submit (providers.md 2.1); phones counts emails + LinkedIn URLs together.
BATCH_MAX = {"validation": 500_000, "finder": 500_000, "reverse": 100_000, "phones": 500_000}

SUBMIT_PATHS = {
    "validation": "/email-validation/batch",
    "finder": "/email-finder/batch",
    "reverse": "/reverse-lookup/bulk-lookup",
    "phones": "/reverse-lookup/phones/bulk",
}
SINGLE_PATHS = {
    "validation": "/email-validation",
    "finder": "/email-finder",
    "reverse": "/reverse-lookup/lookup",
    "phones": "/reverse-lookup/phones",
}
PRODUCT_OF_FIELD = {
    WantedField.EMAIL_VERIFICATION: "validation",
    WantedField.EMAIL: "finder",
    WantedField.LINKEDIN: "reverse",
    WantedField.PHONE: "phones",
}
# Credits per wanted field when it is found (providers.md 2.2): the price of the product asked.
CREDIT_PRICES: dict[WantedField, int] = {f: PRICE[p] for f, p in PRODUCT_OF_FIELD.items()}


def parse_enrichso_error(response: httpx.Response) -> ErrorDetail:
    """problem+json or either legacy body (providers.md 2.10); 402 numbers added to the message
    when the body carries them (`detail{required, itemCount, …}` or `required`/`shortfall`)."""
    detail = parse_error(response)
    try:
        body = response.json()
    except ValueError:
        return detail
    if not isinstance(body, dict):
        return detail
    numbers = body.get("detail") if isinstance(body.get("detail"), dict) else body
    facts = [
        f"{name} {numbers[name]}"
        for name in ("required", "itemCount", "creditCostPerItem", "currentBalance", "shortfall")
        if isinstance(numbers.get(name), int)
    ]
    if facts and not all(f.split()[-1] in detail.message for f in facts):
        return ErrorDetail(f"{detail.message} ({', '.join(facts)})", detail.code)
    return detail


# A batch id as enrich.so writes them: 24 lowercase hex characters (providers.md 2.2); a named
# field is taken when it is at least a plausible id (it goes into a URL path).
BATCH_ID = re.compile(r"\b[a-f0-9]{24}\b")
PLAUSIBLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def conflict_batch_id(body: Any) -> str | None:
    """The batch a 409 "Duplicate batch submission detected" says is already there, or None.

    UNDOCUMENTED: providers.md 2.1 / 2.10 give the 409 (for the IP-to-company batch; ASSUMPTION for
    the contact batches) but no field naming the existing batch. Tolerated, in this order: a
    problem extension `batchId` / `existingBatchId` (or snake_case / job spellings), the same in a
    `data` object, or exactly one 24-hex id inside `detail`."""
    if not isinstance(body, dict):
        return None
    names = ("batchId", "existingBatchId", "batch_id", "existing_batch_id", "jobId", "job_id")
    for where in (body, body.get("data"), body.get("detail")):
        if isinstance(where, dict):
            found = text(pick(where, *names))
            if found and PLAUSIBLE_ID.match(found):
                return found
    detail = body.get("detail")
    ids = set(BATCH_ID.findall(detail)) if isinstance(detail, str) else set()
    return ids.pop() if len(ids) == 1 else None
