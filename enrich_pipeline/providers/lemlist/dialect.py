"""lemlist's dialect (providers.md 1.1, 1.2, 1.9, 4.5): the API's constants (base URL, rate limit,
bulk size), its workflows and their query flags, their prices, and stable codes for its code-less
error messages."""

from __future__ import annotations

import httpx

from enrich_pipeline.model import WantedField
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.transport import ErrorDetail, parse_error

PROVIDER = "lemlist"
DEFAULT_BASE_URL = "https://api.lemlist.com/api"
# 20 requests per 2 seconds per API key, across all routes, polls included (providers.md 1.1).
DEFAULT_RATE_LIMITS: dict[str, list[RateLimit]] = {"global": [RateLimit(20, 2.0)]}
BATCH_MAX = 500  # POST /v2/enrichments/bulk, error TOO_MANY_ENRICHMENTS_REQUESTED beyond

# Wanted fields -> lemlist workflow (bulk type name), in lemlist's canonical order.
WORKFLOW_OF: dict[WantedField, str] = {
    WantedField.EMAIL: "find_email",
    WantedField.PHONE: "find_phone",
    WantedField.LINKEDIN: "linkedin_enrichment",
    WantedField.EMAIL_VERIFICATION: "verify",
}
WORKFLOWS: tuple[str, ...] = ("find_email", "find_phone", "linkedin_enrichment", "verify")
# Query flag of each workflow on the single-item endpoints (providers.md 1.2).
FLAG_OF: dict[str, str] = {
    "find_email": "findEmail",
    "find_phone": "findPhone",
    "linkedin_enrichment": "linkedinEnrichment",
    "verify": "verifyEmail",
}
# providers.md 1.9 / 4.5, computed (lemlist reports no cost): find_email 5 only when the email is
# deliverable/risky, find_phone 20 only when found, verify 1, linkedin_enrichment 1 (current price).
PRICE: dict[str, int] = {"find_email": 5, "find_phone": 20, "linkedin_enrichment": 1, "verify": 1}
# Credits per wanted field when it is found: what budgets and estimates price lemlist with.
CREDIT_PRICES: dict[WantedField, int] = {field: PRICE[wf] for field, wf in WORKFLOW_OF.items()}


# ----------------------------------------------------------------------------- error codes

# lemlist answers most 400s as text/plain (CONFLICT 1.3: an older spec sends the same text as JSON
# {"error": "..."}). Both reach us as a message; give the documented ones a stable code.
_MESSAGE_CODES: dict[str, str] = {
    "bad team": "BAD_TEAM",
    "bad request": "BAD_REQUEST",
    "bad params": "BAD_PARAMS",
    "invalid leadid": "INVALID_LEAD_ID",
    "lead not found": "LEAD_NOT_FOUND",
    "contact not found for this lead": "CONTACT_NOT_FOUND",
}
ENRICHMENT_RUNNING = "ENRICHMENT_RUNNING"  # our code for the 409 documented without one (1.4)


def parse_lemlist_error(response: httpx.Response) -> ErrorDetail:
    """The shared parser, plus codes for lemlist's code-less messages (text/plain or JSON alike)."""
    detail = parse_error(response)
    if detail.code is not None:
        return detail
    text = detail.message.strip().lower().rstrip(".")
    code = _MESSAGE_CODES.get(text)
    if code is None and text.startswith("no enrichment requested"):
        code = "NO_ENRICHMENT_REQUESTED"
    elif code is None and "webhook" in text:
        code = "INVALID_WEBHOOK_URL"
    elif code is None and response.status_code == 409:
        # "lead is already being enriched": wait for the running one, do NOT retry with force.
        code = ENRICHMENT_RUNNING
    return ErrorDetail(detail.message, code)
