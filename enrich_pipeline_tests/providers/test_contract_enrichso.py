"""Contract tests, enrich.so (providers.md section 2): every DOC example body, copied verbatim, read by
our parsers; every expected value written by hand from providers.md section 4 (4.1 record, 4.2
person key, 4.3 email status, 4.4 phones/LinkedIn, 4.5 cost), never taken from our code or the
sandbox.

Examples covered: 2.3 batch status, 2.4 validation single / batch submit / batch results, 2.4
quick-reference validation shape (CONFLICT, fields as described), 2.5 finder single found / not
found (as described) / batch results, 2.6 reverse lookup single, 2.7 phone single / bulk results,
2.9 finder per-result + completion callbacks and phone per-result callback, 2.10 problem+json
bodies for every documented status and both legacy error shapes, 2.1 the 429 body of the
rate-limit page (CONFLICT).
"""

from __future__ import annotations

from typing import Any

import pytest

from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
)
from enrich_pipeline.providers.enrichso import PROVIDER, flatten, parse_webhook
from enrich_pipeline.providers.enrichso.api import parse_enrichso_error
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    ProviderError,
)
from enrich_pipeline_tests.providers.contract_helpers import (
    Contains,
    assert_record,
    classify,
    doc,
    keeps,
    nd_key,
    response,
)

LINA_EMAIL = "lina.okafor@northwind-labs.io"
LINA_EMAIL_KEY = f"em:{LINA_EMAIL}"  # 4.2 rule 2
LINA_LINKEDIN_KEY = "li:/in/lina-okafor"  # 4.2 rule 1
TOMAS_ND_KEY = nd_key("Tomas", "Rieger", "harbor-ops.com")  # 4.2 rule 3


# ------------------------------------------------------------------- bodies about no one person

BATCH_STATUS = doc("""
{"success": true,
 "data": {"batchId": "6f1c2a9e4b7d3c0012ab34cd", "status": "processing",
          "totalItems": 4, "processedItems": 3, "progress": 75},
 "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34ce"}}
""")

VALIDATION_BATCH_SUBMIT = doc("""
{
  "success": true,
  "data": {"batchId": "6f1c2a9e4b7d3c0012ab34cd", "status": "queued",
           "itemCount": 2, "originalCount": 3, "duplicatesRemoved": 1},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34cc", "creditsReserved": 2,
           "creditsPerItem": 1, "estimatedCredits": 2}
}
""")

FINDER_COMPLETED_WEBHOOK = doc("""
{"event": "finder.completed", "timestamp": "2026-03-02T10:21:30.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3600", "status": "completed", "total_items": 2,
          "successful": 1, "failed": 1, "completed_at": "2026-03-02T10:21:30.000Z",
          "found": 1, "not_found": 1}}
""")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BATCH_STATUS, id="2.3 batch status"),
        pytest.param(VALIDATION_BATCH_SUBMIT, id="2.4 batch submit"),
        pytest.param(FINDER_COMPLETED_WEBHOOK, id="2.9 finder.completed"),
    ],
)
def test_2_3_2_4_2_9_job_bodies_report_no_result_for_anyone(body: dict[str, Any]) -> None:
    """2.3 status, 2.4 submit and 2.9 completion bodies name no person and carry no answer (the
    completion is a tally; credits are settled by the results fetch only, 2.9/2.11): no record may
    claim a result or a cost for anyone."""
    records = flatten(body)
    assert all(r.record_status is RecordStatus.PENDING for r in records), records
    assert all(r.email is None and r.cost_credits in (None, 0) for r in records), records


# ----------------------------------------------------------------------------- 2.4 validation

VALIDATION_SINGLE = doc("""
{
  "success": true,
  "data": {
    "email": "lina.okafor@northwind-labs.io",
    "result": "valid",
    "message": "Mailbox exists and accepts mail",
    "isCatchAll": false,
    "isFederated": false,
    "hasSEG": false,
    "provider": "GOOGLE",
    "confidence": "high"
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3400", "creditsUsed": 1,
           "creditsRemaining": 48211, "processingTimeMs": 412}
}
""")

VALIDATION_RESULTS = doc("""
{
  "success": true,
  "data": {
    "batchId": "6f1c2a9e4b7d3c0012ab34cd",
    "status": "completed",
    "totalItems": 2,
    "processedCount": 2,
    "results": [
      {"email": "lina.okafor@northwind-labs.io", "result": "valid",
       "message": "Mailbox exists and accepts mail", "isCatchAll": false,
       "provider": "GOOGLE", "confidence": "high"},
      {"email": "ops@harbor-ops.com", "result": "risky",
       "message": "Domain accepts all addresses; delivery not guaranteed", "isCatchAll": true,
       "provider": "SMTP", "confidence": "low"}
    ]
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34d0", "creditsUsed": 1, "creditsRefunded": 1,
           "creditsRemaining": 48210, "totalItems": 2, "processedItems": 2}
}
""")

# 2.4 CONFLICT: the quick reference's `data` shape `{email, status, subStatus, freeEmail,
# disposable, catchAll}` with `status: "valid"` and `subStatus: ""` (no full example published).
VALIDATION_QUICK_REFERENCE = doc("""
{"success": true,
 "data": {"email": "lina.okafor@northwind-labs.io", "status": "valid", "subStatus": "",
          "freeEmail": false, "disposable": false, "catchAll": false}}
""")


def test_2_4_single_validation_valid_high_is_deliverable_and_cost_is_reported() -> None:
    """2.4 single example: 4.3 `valid` + confidence `high` -> deliverable; 4.5 `meta.creditsUsed`
    (1) -> reported; 4.2 the validated address is the person key."""
    (record,) = flatten(VALIDATION_SINGLE)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_EMAIL_KEY,
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence="high",
        phones=(),
        linkedin=None,
        cost_credits=1,
        cost_basis=CostBasis.REPORTED,
    )
    assert keeps(record.raw, VALIDATION_SINGLE) or keeps(record.raw, VALIDATION_SINGLE["data"])


def test_2_4_validation_results_page_risky_row_is_risky_and_refunded() -> None:
    """2.4 results example: row 1 `valid`/`high` -> deliverable; row 2 `risky` -> risky (4.3) and
    refunded (2.2 "not charged when result is risky"). 4.5: the settled `creditsUsed` (1) is
    apportioned over the charged rows -> 1 and 0, both reported. 4.1 provider_ref carries the
    batchId."""
    lina, ops = flatten(VALIDATION_RESULTS)
    assert_record(
        lina,
        provider=PROVIDER,
        person_key=LINA_EMAIL_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab34cd"),
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence="high",
        cost_credits=1,
        cost_basis=CostBasis.REPORTED,
    )
    assert_record(
        ops,
        provider=PROVIDER,
        person_key="em:ops@harbor-ops.com",
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab34cd"),
        record_status=RecordStatus.FOUND,
        email="ops@harbor-ops.com",
        email_status=EmailStatus.RISKY,
        email_confidence="low",
        cost_credits=0,
        cost_basis=CostBasis.REPORTED,
    )
    rows = VALIDATION_RESULTS["data"]["results"]
    assert keeps(lina.raw, rows[0]) and keeps(ops.raw, rows[1])


def test_2_4_quick_reference_validation_shape_valid_is_deliverable() -> None:
    """2.4 CONFLICT shape (quick reference): 4.3 legacy `status: valid` -> deliverable."""
    (record,) = flatten(VALIDATION_QUICK_REFERENCE)
    assert_record(
        record,
        person_key=LINA_EMAIL_KEY,
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
    )


# --------------------------------------------------------------------------------- 2.5 finder

FINDER_SINGLE = doc("""
{
  "success": true,
  "data": {"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io",
           "found": true, "email": "lina.okafor@northwind-labs.io", "confidence": "high",
           "isCatchAll": false, "provider": "GOOGLE", "message": "Email found (high confidence)"},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3501", "creditsUsed": 10,
           "creditsRemaining": 48200, "processingTimeMs": 880}
}
""")

# 2.5 "Not found -> found: false, only the echo fields + message, meta.creditsUsed: 0" (DOC prose;
# the echo and message values are those of the batch example's miss).
FINDER_SINGLE_NOT_FOUND = doc("""
{"success": true,
 "data": {"firstName": "Tomas", "lastName": "Rieger", "domain": "harbor-ops.com", "found": false,
          "message": "No professional email found"},
 "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3502", "creditsUsed": 0}}
""")

FINDER_RESULTS = doc("""
{
  "success": true,
  "data": {"batchId": "6f1c2a9e4b7d3c0012ab3600", "status": "completed", "totalItems": 2,
           "processedCount": 2,
           "results": [
             {"firstName": "Lina", "lastName": "Okafor", "domain": "northwind-labs.io", "found": true,
              "email": "lina.okafor@northwind-labs.io", "confidence": "high", "isCatchAll": false,
              "provider": "GOOGLE", "message": "Email found (high confidence)"},
             {"firstName": "Tomas", "lastName": "Rieger", "domain": "harbor-ops.com", "found": false,
              "message": "No professional email found"}
           ]},
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3605", "creditsUsed": 10, "creditsRefunded": 10,
           "creditsRemaining": 48190, "totalItems": 2, "processedItems": 2}
}
""")


def test_2_5_single_finder_found_high_is_deliverable_and_cost_is_reported() -> None:
    """2.5 single example: 4.3 finder `found: true`, `confidence: high` -> deliverable; 4.5
    `meta.creditsUsed` 10 -> reported; 4.2 the found address is the person key."""
    (record,) = flatten(FINDER_SINGLE)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_EMAIL_KEY,
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence="high",
        phones=(),
        linkedin=None,
        cost_credits=10,
        cost_basis=CostBasis.REPORTED,
    )


def test_2_5_single_finder_not_found_is_not_found_and_free() -> None:
    """2.5 not found: 4.3 `found: false` -> email null, not_found; 4.5 `meta.creditsUsed` 0 ->
    reported 0; 4.2 rule 3: name + domain key."""
    (record,) = flatten(FINDER_SINGLE_NOT_FOUND)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=TOMAS_ND_KEY,
        record_status=RecordStatus.NOT_FOUND,
        email=None,
        email_status=None,
        cost_credits=0,
        cost_basis=CostBasis.REPORTED,
    )


def test_2_5_finder_results_page_found_row_pays_the_settlement_missing_row_is_free() -> None:
    """2.5 results example: 4.3 found/high -> deliverable, `found: false` -> not_found without an
    email; 4.5 settled `creditsUsed` 10 apportioned per charged (found) row -> 10 and 0."""
    lina, tomas = flatten(FINDER_RESULTS)
    assert_record(
        lina,
        person_key=LINA_EMAIL_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3600"),
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence="high",
        cost_credits=10,
        cost_basis=CostBasis.REPORTED,
    )
    assert_record(
        tomas,
        person_key=TOMAS_ND_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3600"),
        record_status=RecordStatus.NOT_FOUND,
        email=None,
        email_status=None,
        cost_credits=0,
        cost_basis=CostBasis.REPORTED,
    )


# ------------------------------------------------------------------------- 2.6 reverse lookup

REVERSE_SINGLE = doc("""
{
  "success": true,
  "data": {
    "id": "ACoAAE1xQk9bLm2",
    "displayName": "Lina Okafor",
    "firstName": "Lina",
    "lastName": "Okafor",
    "headline": "Head of Revenue Operations at Northwind Labs",
    "companyName": "Northwind Labs",
    "location": "Oakland, California",
    "profileUrl": "https://www.linkedin.com/in/lina-okafor",
    "isPublic": true,
    "skills": ["Salesforce", "SQL", "Forecasting"],
    "locale": {"country": "US", "language": "en"},
    "positions": {"positionsCount": 1, "positionHistory": [
      {"title": "Head of Revenue Operations", "companyName": "Northwind Labs",
       "startEndDate": {"start": {"month": 4, "year": 2023}, "end": null}}]},
    "schools": {"educationsCount": 0, "educationHistory": []},
    "creditsConsumed": 10
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3700", "creditsUsed": 10,
           "creditsRemaining": 48180, "processingTimeMs": 1930}
}
""")

# 4.4, enrich.so `ReverseLookupResult` column, written out field by field.
REVERSE_PROFILE = LinkedinProfile(
    url="https://www.linkedin.com/in/lina-okafor",  # profileUrl
    provider_profile_id="ACoAAE1xQk9bLm2",  # id
    first_name="Lina",
    last_name="Okafor",
    full_name="Lina Okafor",  # displayName
    headline="Head of Revenue Operations at Northwind Labs",
    title="Head of Revenue Operations",  # positionHistory[0].title (end = null)
    company_name="Northwind Labs",
    company_domain=None,  # 4.4: "—"
    location="Oakland, California",
    summary=None,
    skills=("Salesforce", "SQL", "Forecasting"),
    positions=(
        Position(
            title="Head of Revenue Operations",
            company_name="Northwind Labs",
            company_domain=None,
            start_year=2023,
            start_month=4,
            end_year=None,
            end_month=None,
            is_current=True,  # `end: null` = current (2.6)
            description=None,
        ),
    ),
    education=(),  # schools.educationHistory is empty
    photo_url=None,  # no photoUrl in the example
)


def test_2_6_reverse_lookup_maps_the_profile_per_4_4() -> None:
    """2.6 single example: FOUND with the 4.4 profile; 4.5 `meta.creditsUsed` 10 -> reported; 4.2
    rule 1: the output LinkedIn URL is the person key."""
    (record,) = flatten(REVERSE_SINGLE)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_LINKEDIN_KEY,
        record_status=RecordStatus.FOUND,
        linkedin=REVERSE_PROFILE,
        phones=(),
        cost_credits=10,
        cost_basis=CostBasis.REPORTED,
    )


# ------------------------------------------------------------------------------ 2.7 phones

PHONES_SINGLE = doc("""
{"success": true,
 "data": {"found": true, "phones": ["+14155550142"]},
 "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3800", "creditsUsed": 500,
          "creditsRemaining": 47680, "processingTimeMs": 1210}}
""")

PHONES_RESULTS = doc("""
{
  "success": true,
  "data": {
    "batchId": "6f1c2a9e4b7d3c0012ab3900", "status": "completed",
    "totalItems": 2, "processedItems": 2, "successful": 1, "failed": 1,
    "results": [
      {"email": "lina.okafor@northwind-labs.io", "phones": ["+14155550142"]},
      {"linkedin": "https://www.linkedin.com/in/tomas-rieger", "phones": [],
       "error": "No phone numbers found for this profile"}
    ],
    "page": 1, "limit": 100
  },
  "meta": {"requestId": "6f1c2a9e4b7d3c0012ab3907", "creditsUsed": 500, "creditsRefunded": 500,
           "creditsRemaining": 47180, "totalItems": 2, "processedItems": 2}
}
""")

LINA_PHONE = Phone(number="+14155550142", type=None, source_rank=0)  # 4.4: string, no type


def test_2_7_single_phone_lookup_strings_become_e164_phones_cost_reported() -> None:
    """2.7 single example: `phones[]` of strings (4.4) -> one phone, type unknown; 4.5
    `meta.creditsUsed` 500 -> reported."""
    (record,) = flatten(PHONES_SINGLE)
    assert_record(
        record,
        provider=PROVIDER,
        record_status=RecordStatus.FOUND,
        email=None,
        phones=(LINA_PHONE,),
        linkedin=None,
        cost_credits=500,
        cost_basis=CostBasis.REPORTED,
    )


def test_2_7_phone_bulk_results_settlement_charges_the_row_with_a_phone() -> None:
    """2.7 results example: 4.5 settled `creditsUsed` 500 apportioned per charged row (>= 1
    phone) -> 500 and 0; the empty row is not_found (2.11: refunded). 4.2 keys from the echoed
    input: email for row 1, LinkedIn URL for row 2."""
    lina, tomas = flatten(PHONES_RESULTS)
    assert_record(
        lina,
        person_key=LINA_EMAIL_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3900"),
        record_status=RecordStatus.FOUND,
        phones=(LINA_PHONE,),
        cost_credits=500,
        cost_basis=CostBasis.REPORTED,
    )
    assert_record(
        tomas,
        person_key="li:/in/tomas-rieger",
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3900"),
        record_status=RecordStatus.NOT_FOUND,
        phones=(),
        cost_credits=0,
        cost_basis=CostBasis.REPORTED,
    )


# ---------------------------------------------------------------------------- 2.9 callbacks

FINDER_RESULT_WEBHOOK = doc("""
{"event": "webhook:finder_lookup.completed", "timestamp": "2026-03-02T10:21:07.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3600", "result_id": "lina.okafor@northwind-labs.io",
          "result": {"email": "lina.okafor@northwind-labs.io", "result": "found",
                     "confidence": "high", "is_catch_all": false, "domain": "northwind-labs.io",
                     "provider": "GOOGLE", "message": "Email found (high confidence)"}}}
""")

PHONE_RESULT_WEBHOOK = doc("""
{"event": "webhook:phone_result.completed", "timestamp": "2026-03-02T10:30:02.000Z",
 "data": {"job_id": "6f1c2a9e4b7d3c0012ab3900", "result_id": "lina.okafor@northwind-labs.io",
          "type": "success", "phones": ["+14155550142"], "message": "Phone numbers found"}}
""")

READERS = [pytest.param(flatten, id="flatten"), pytest.param(parse_webhook, id="parse_webhook")]


@pytest.mark.parametrize("reader", READERS)
def test_2_9_finder_result_callback(reader: Any) -> None:
    """2.9 finder per-result example: `result: found`, `confidence: high` -> deliverable (4.3);
    4.1 correlation = webhook `result_id`, provider_ref carries the job id; 4.5: callbacks do not
    settle (2.9), so the cost comes from the 2.2 price table (10 per found email)."""
    (record,) = reader(FINDER_RESULT_WEBHOOK)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_EMAIL_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3600"),
        request_correlation=LINA_EMAIL,
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence="high",
        cost_credits=10,
        cost_basis=CostBasis.TABLE,
    )
    assert keeps(record.raw, FINDER_RESULT_WEBHOOK)


@pytest.mark.parametrize("reader", READERS)
def test_2_9_phone_result_callback(reader: Any) -> None:
    """2.9 phone per-result example: `type: success` with one phone string (4.4); correlation =
    `result_id`; table price 500 (2.2: per item with >= 1 phone; callbacks do not settle)."""
    (record,) = reader(PHONE_RESULT_WEBHOOK)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_EMAIL_KEY,
        provider_ref=Contains("6f1c2a9e4b7d3c0012ab3900"),
        request_correlation=LINA_EMAIL,
        record_status=RecordStatus.FOUND,
        phones=(LINA_PHONE,),
        cost_credits=500,
        cost_basis=CostBasis.TABLE,
    )


def test_2_9_completion_callback_via_parse_webhook_has_no_person_record() -> None:
    """2.9 `finder.completed` example: a tally, not an answer for anyone."""
    assert parse_webhook(FINDER_COMPLETED_WEBHOOK) == []


# ------------------------------------------------------------------------------ 2.10 errors

PROBLEM = "application/problem+json"
JSON = "application/json"
INSTANCE = "/requests/3f9a1c2e-7b4d-4e8a-9c61-2d5f0a8b7e13"


def problem(slug: str, title: str, status: int, detail: str | None) -> str:
    """A 2.10 body: `type`, `title`, `status` required; `detail`, `instance` optional."""
    fields = [
        f'"type": "https://dev.enrich.so/errors/{slug}"',
        f'"title": "{title}"',
        f'"status": {status}',
    ]
    if detail is not None:
        fields.append(f'"detail": "{detail}"')
    fields.append(f'"instance": "{INSTANCE}"')
    return "{" + ", ".join(fields) + "}"


# (status, slug, title, documented detail or None) — the 2.10 table, row by row.
TABLE: list[tuple[int, str, str, str | None]] = [
    (400, "validation-error", "Validation Error", "body/email Invalid email"),
    (401, "unauthorized", "Unauthorized", None),
    (
        402,
        "insufficient-credits",
        "Insufficient Credits",
        "Not enough credits. Required: 10, available: 3",
    ),
    (403, "forbidden", "Forbidden", None),
    (404, "not-found", "Not Found", "No batch found with that ID"),
    (409, "conflict", "Conflict", None),
    (429, "rate-limit-exceeded", "Too Many Requests", None),
    (500, "internal-error", "Internal Server Error", None),
    (502, "upstream-failure", "Upstream Failure", None),
    (503, "service-unavailable", "Service Unavailable", None),
    (504, "timeout", "Timeout", None),
]
REFUSED_TYPE: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: CreditsExhaustedError,
    403: AuthenticationError,
    404: BadRequestError,
    409: BadRequestError,
}


@pytest.mark.parametrize(
    ("status", "slug", "title", "detail"),
    [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in TABLE],
)
def test_2_10_problem_details_message_and_code(
    status: int, slug: str, title: str, detail: str | None
) -> None:
    """2.10 client rule: message from `detail` -> `message` -> `title`; the `type` slug is
    enrich.so's error code. Served as application/problem+json."""
    parsed = parse_enrichso_error(response(status, PROBLEM, problem(slug, title, status, detail)))
    assert parsed.code == slug
    assert (detail or title) in parsed.message


@pytest.mark.parametrize(
    ("status", "slug", "title", "detail"),
    [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in TABLE if row[0] in REFUSED_TYPE],
)
def test_2_10_problem_details_refusals_become_typed_errors(
    status: int, slug: str, title: str, detail: str | None
) -> None:
    """2.10: 400/404/409 -> bad request, 401/403 -> authentication, 402 -> credits exhausted
    (nothing charged); each keeps the slug as its code and the documented message."""
    error = classify(
        PROVIDER, parse_enrichso_error, status, PROBLEM, problem(slug, title, status, detail)
    )
    assert type(error) is REFUSED_TYPE[status]
    assert (error.provider, error.status, error.code) == (PROVIDER, status, slug)
    assert (detail or title) in error.message


LEGACY_402 = '{"error": "Payment Required", "message": "...", "statusCode": 402}'
LEGACY_BATCH_402 = """{"error": "...", "message": "Insufficient credits for batch operation", "detail": {"required": 50000,
"itemCount": 500, "creditCostPerItem": 100}}"""


def test_2_10_legacy_402_body_is_credits_exhausted() -> None:
    """2.10 CONFLICT legacy `{"error", "message", "statusCode": 402}` -> credits exhausted."""
    error = classify(PROVIDER, parse_enrichso_error, 402, JSON, LEGACY_402)
    assert type(error) is CreditsExhaustedError
    assert error.status == 402


def test_2_10_legacy_batch_402_body_keeps_its_message_and_numbers() -> None:
    """2.10 CONFLICT legacy batch 402: `detail` is an object here, so the message is `message`;
    the required credits (50000) must still reach the operator."""
    error = classify(PROVIDER, parse_enrichso_error, 402, JSON, LEGACY_BATCH_402)
    assert type(error) is CreditsExhaustedError
    assert "Insufficient credits for batch operation" in error.message
    assert "50000" in error.message


def test_2_1_rate_limit_page_429_body_message_is_read() -> None:
    """2.1 CONFLICT: the rate-limit page's 429 body. 429 is handled in the transport's retry loop
    (Retry-After); the body's message is what the parser contributes."""
    body = '{"statusCode": 429, "error": "Too Many Requests", "message": "…", "retryAfter": 45}'
    parsed = parse_enrichso_error(response(429, JSON, body))
    assert parsed.message == "…"


def test_2_10_error_body_given_to_flatten_is_one_failed_record() -> None:
    """2.10 402 body kept as a payload: one FAILED record that says why and charges nothing."""
    body = doc(problem("insufficient-credits", "Insufficient Credits", 402, TABLE[2][3]))
    (record,) = flatten(body)
    assert_record(
        record,
        provider=PROVIDER,
        record_status=RecordStatus.FAILED,
        reason=Contains("Not enough credits. Required: 10, available: 3"),
        email=None,
    )
    assert record.cost_credits in (None, 0)
    assert record.raw == body
