"""Contract tests, lemlist (providers.md section 1): every DOC example body, copied verbatim, read by
our parsers; every expected value written by hand from providers.md section 4 (4.1 record, 4.2
person key, 4.3 email status, 4.4 phones/LinkedIn, 4.5 cost), never taken from our code or the
sandbox.

Examples covered: 1.3 submit 200 + 400/401 bodies (text/plain and the older JSON variant), 1.4
submit 200 + 400/404/409/500 bodies, 1.5 bulk response (per-item error) + whole-request error
codes, 1.6 in-progress / done / not-found poll bodies, 1.7 enrichmentDone webhook, 1.10 error
summary (400 `Bad params`, 403, 405).

Target semantics asserted where section 4 leaves room (agreed for the parsers being rewritten):
the 1.6 done body (`email` without `status`) is FOUND, email_status `unknown` (no verdict given),
charged 5 from the price table (cost follows what was found).
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
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
)
from enrich_pipeline.providers.lemlist import PROVIDER, flatten, parse_lemlist_error, parse_webhook
from enrich_pipeline_tests.providers.contract_helpers import (
    Contains,
    JsonOf,
    assert_record,
    classify,
    doc,
    keeps,
    response,
)

ENRICHMENT_ID = "enr_Q3vT8kLmN2pXw7RzA"
LINA_KEY = "li:/in/lina-okafor"  # 4.2 rule 1 for https://www.linkedin.com/in/lina-okafor


# ----------------------------------------------------------------------- 1.3 / 1.4 submit 200

SUBMIT_200 = doc("""
{"id": "enr_Q3vT8kLmN2pXw7RzA"}
""")


def test_1_3_submit_response_is_a_pending_record_for_its_enrichment_id() -> None:
    """1.3 / 1.4 example response: the enrichment runs asynchronously (1.1), so nothing is known
    yet: PENDING, referenced by the `enr_` id (4.1 provider_ref), nothing charged yet."""
    (record,) = flatten(SUBMIT_200)
    assert_record(
        record,
        provider=PROVIDER,
        provider_ref=ENRICHMENT_ID,
        record_status=RecordStatus.PENDING,
        email=None,
        email_status=None,
        phones=(),
        linkedin=None,
        cost_credits=None,
    )
    assert record.raw == SUBMIT_200


# --------------------------------------------------------------------------------- 1.5 bulk

BULK_RESPONSE = doc("""
[
  {"id": "enr_Q3vT8kLmN2pXw7RzA", "metadata": {"crm_id": "C-1001"}},
  {"id": "enr_b8YtR1cVn5KqW3zLp", "metadata": "C-1002"},
  {"error": "MISSING_INPUTS", "metadata": "C-1003"}
]
""")


def test_1_5_bulk_response_gives_one_record_per_element_in_order() -> None:
    """1.5 example response (HTTP 200, partial success): accepted elements are PENDING under their
    `enr_` id, the refused one is FAILED with its code and nothing charged (no enrichment was
    created, 1.9 charges found results only); `metadata` is the correlation (4.1, 4.2)."""
    records = flatten(BULK_RESPONSE)
    assert len(records) == 3
    accepted_object, accepted_string, refused = records
    assert_record(
        accepted_object,
        provider_ref=ENRICHMENT_ID,
        request_correlation=JsonOf({"crm_id": "C-1001"}),
        record_status=RecordStatus.PENDING,
        cost_credits=None,
    )
    assert_record(
        accepted_string,
        provider_ref="enr_b8YtR1cVn5KqW3zLp",
        request_correlation="C-1002",
        record_status=RecordStatus.PENDING,
        cost_credits=None,
    )
    assert_record(
        refused,
        provider_ref=None,
        request_correlation="C-1003",
        record_status=RecordStatus.FAILED,
        reason=Contains("MISSING_INPUTS"),
        email=None,
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
    )
    for record, element in zip(records, BULK_RESPONSE, strict=True):
        assert record.provider == PROVIDER
        assert keeps(record.raw, element)


# ----------------------------------------------------------------------------------- 1.6 poll

POLL_IN_PROGRESS = doc("""
{
  "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
  "enrichmentStatus": "in-progress",
  "input": {
    "firstName": "Lina",
    "lastName": "Okafor",
    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
    "companyName": "Northwind Labs",
    "companyDomain": "northwind-labs.io"
  },
  "data": {}
}
""")

POLL_DONE = doc("""
{
  "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
  "enrichmentStatus": "done",
  "input": {
    "firstName": "Lina",
    "lastName": "Okafor",
    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
    "companyName": "Northwind Labs",
    "companyDomain": "northwind-labs.io"
  },
  "data": {
    "email": {"email": "lina.okafor@northwind-labs.io", "notFound": false}
  }
}
""")

# 1.6 table, HTTP 404 row: `{enrichmentId, enrichmentStatus: "not-found", error: "Enrichment not
# found", data: {}}` — the keys and values as documented, the id from the section's example.
POLL_NOT_FOUND = doc("""
{"enrichmentId": "enr_Q3vT8kLmN2pXw7RzA", "enrichmentStatus": "not-found",
 "error": "Enrichment not found", "data": {}}
""")


def test_1_6_in_progress_poll_is_pending() -> None:
    """1.6 in-progress example (HTTP 202): PENDING; the person is known from the input echo (4.2
    rule 1: LinkedIn URL), no result and no cost yet."""
    (record,) = flatten(POLL_IN_PROGRESS)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_KEY,
        provider_ref=ENRICHMENT_ID,
        record_status=RecordStatus.PENDING,
        email=None,
        email_status=None,
        phones=(),
        linkedin=None,
        cost_credits=None,
    )
    assert record.raw == POLL_IN_PROGRESS


def test_1_6_done_poll_email_without_status_is_found_unverified_and_charged_from_the_table() -> (
    None
):
    """1.6 done example: `data.email = {"email", "notFound": false}` and no `status`.

    4.1/4.3: FOUND, address lower-cased, email_status `unknown` (no verdict was given: missing ->
    unknown), no confidence (lemlist has none, 1.8). 4.5: lemlist reports no cost -> `table`;
    target semantics: 5 credits, the cost follows what was found.
    """
    (record,) = flatten(POLL_DONE)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_KEY,
        provider_ref=ENRICHMENT_ID,
        request_correlation=None,
        record_status=RecordStatus.FOUND,
        email="lina.okafor@northwind-labs.io",
        email_status=EmailStatus.UNKNOWN,
        email_confidence=None,
        phones=(),
        linkedin=None,
        cost_credits=5,
        cost_basis=CostBasis.TABLE,
    )
    assert record.raw == POLL_DONE


def test_1_6_not_found_poll_is_a_failed_enrichment_id_without_email() -> None:
    """1.6 HTTP 404 body: the *enrichment id* is unknown to lemlist — not "the person was not
    found" (that is `notFound: true` inside a done result, 4.3). No email, nothing charged."""
    (record,) = flatten(POLL_NOT_FOUND)
    assert_record(
        record,
        provider=PROVIDER,
        provider_ref=ENRICHMENT_ID,
        record_status=RecordStatus.FAILED,
        reason=Contains("not found"),
        email=None,
        email_status=None,
        phones=(),
        linkedin=None,
    )
    assert record.cost_credits in (None, 0)
    assert record.raw == POLL_NOT_FOUND


# -------------------------------------------------------------------------------- 1.7 webhook

WEBHOOK_DONE = doc("""
{
  "type": "enrichmentDone",
  "data": [
    {
      "id": "enr_Q3vT8kLmN2pXw7RzA",
      "metadata": {"crm_id": "C-1001"},
      "data": {
        "find_email": {"email": "lina.okafor@northwind-labs.io", "status": "deliverable"},
        "find_phone": {"phone": "+14155550142"},
        "linkedin_enrichment": {
          "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
          "linkedinMemberId": 512340987,
          "firstName": "Lina",
          "lastName": "Okafor",
          "tagline": "Head of Revenue Operations",
          "occupation": "Head of Revenue Operations",
          "locationName": "Oakland, California, United States",
          "industry": "Software Development",
          "skills": "Salesforce, SQL, Forecasting",
          "languages": "English, Yoruba",
          "companyName": "Northwind Labs",
          "companyDomain": "northwind-labs.io",
          "companyLinkedinUrl": "https://www.linkedin.com/company/northwind-labs",
          "companySize": "51-200",
          "positionGroups": [
            {
              "company": {"id": 81234567, "name": "Northwind Labs", "domain": "northwind-labs.io"},
              "date": {"start": {"month": 4, "year": 2023}, "end": {}},
              "profilePositions": [
                {"title": "Head of Revenue Operations", "companyName": "Northwind Labs",
                 "date": {"start": {"month": 4, "year": 2023}, "end": {}}}
              ]
            }
          ]
        }
      }
    }
  ]
}
""")

# 4.4, lemlist column, written out field by field for the 1.7 profile.
WEBHOOK_PROFILE = LinkedinProfile(
    url="https://www.linkedin.com/in/lina-okafor",  # linkedinUrl
    provider_profile_id="512340987",  # linkedinMemberId
    first_name="Lina",
    last_name="Okafor",
    full_name="Lina Okafor",  # first + last
    headline="Head of Revenue Operations",  # tagline
    title="Head of Revenue Operations",  # occupation
    company_name="Northwind Labs",
    company_domain="northwind-labs.io",
    location="Oakland, California, United States",  # locationName
    summary=None,
    skills=("Salesforce", "SQL", "Forecasting"),  # split on ","
    positions=(
        # positionGroups[].profilePositions[] + the group's company; empty `end` = current (1.8)
        Position(
            title="Head of Revenue Operations",
            company_name="Northwind Labs",
            company_domain="northwind-labs.io",
            start_year=2023,
            start_month=4,
            end_year=None,
            end_month=None,
            is_current=True,
            description=None,
        ),
    ),
    education=(),  # lemlist has none (4.4: "—")
    photo_url=None,  # no `picture` in the example
)


@pytest.mark.parametrize("reader", [flatten, parse_webhook], ids=["flatten", "parse_webhook"])
def test_1_7_enrichment_done_webhook(reader: Any) -> None:
    """1.7 enrichmentDone example: one record for the one enrichment in `data[]`.

    4.3: find_email `deliverable` stays deliverable. 4.4: find_phone is one E.164 string (no type),
    the profile maps per the lemlist column. 4.5 table: find_email 5 (deliverable) + find_phone 20
    (found) + linkedin_enrichment 1 = 26. 4.1: provider_ref the `enr_` id, correlation the echoed
    metadata; 4.2: person key from the output LinkedIn URL (no input echo in a webhook).
    """
    (record,) = reader(WEBHOOK_DONE)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=LINA_KEY,
        provider_ref=ENRICHMENT_ID,
        request_correlation=JsonOf({"crm_id": "C-1001"}),
        record_status=RecordStatus.FOUND,
        email="lina.okafor@northwind-labs.io",
        email_status=EmailStatus.DELIVERABLE,
        email_confidence=None,
        phones=(Phone(number="+14155550142", type=None, source_rank=0),),
        linkedin=WEBHOOK_PROFILE,
        cost_credits=26,
        cost_basis=CostBasis.TABLE,
    )
    assert keeps(record.raw, WEBHOOK_DONE["data"][0])


# ----------------------------------------------------------------------- error bodies (1.3-1.10)

NO_ENRICHMENT = (
    "No enrichment requested (findEmail, findPhone, linkedinEnrichment or verifyEmail required)"
)
TEXT = "text/plain"
JSON = "application/json"

# (section, HTTP status, Content-Type, body as documented, error type, provider code or None when
# the provider sends none, message the error must carry).
REFUSALS: list[tuple[str, int, str | None, str, type[ProviderError], str | None, str]] = [
    ("1.3 400 Bad team", 400, TEXT, "Bad team", BadRequestError, None, "Bad team"),
    ("1.3 400 Bad request", 400, TEXT, "Bad request", BadRequestError, None, "Bad request"),
    ("1.3 400 no enrichment", 400, TEXT, NO_ENRICHMENT, BadRequestError, None, NO_ENRICHMENT),
    (
        "1.3 400 Bad team, older JSON spec (CONFLICT)",
        400,
        JSON,
        '{"error": "Bad team"}',
        BadRequestError,
        None,
        "Bad team",
    ),
    (
        "1.3 400 no enrichment, older JSON spec (CONFLICT)",
        400,
        JSON,
        '{"error": "' + NO_ENRICHMENT + '"}',
        BadRequestError,
        None,
        NO_ENRICHMENT,
    ),
    (
        "1.3 401",
        401,
        TEXT,
        "The authentication you supplied is incorrect",
        AuthenticationError,
        None,
        "The authentication you supplied is incorrect",
    ),
    ("1.4 400 Bad team", 400, TEXT, "Bad team", BadRequestError, None, "Bad team"),
    (
        "1.4 400 Invalid leadId, older JSON spec (CONFLICT)",
        400,
        JSON,
        '{"error": "Invalid leadId"}',
        BadRequestError,
        None,
        "Invalid leadId",
    ),
    (
        "1.4 404 LEAD_NOT_FOUND",
        404,
        JSON,
        '{"error": "Lead not found", "code": "LEAD_NOT_FOUND"}',
        BadRequestError,
        "LEAD_NOT_FOUND",
        "Lead not found",
    ),
    (
        "1.4 404 CONTACT_NOT_FOUND",
        404,
        JSON,
        '{"error": "Contact not found for this lead", "code": "CONTACT_NOT_FOUND"}',
        BadRequestError,
        "CONTACT_NOT_FOUND",
        "Contact not found for this lead",
    ),
    (
        "1.4 409 ALREADY_ENRICHED (example body)",
        409,
        JSON,
        """{
  "error": "Enrichment skipped: contact already has the requested data or was recently enriched",
  "code": "ALREADY_ENRICHED"
}""",
        BadRequestError,
        "ALREADY_ENRICHED",
        "Enrichment skipped: contact already has the requested data or was recently enriched",
    ),
    *[
        (f"1.5 400 {code}", 400, JSON, f'{{"error": "{code}"}}', BadRequestError, code, code)
        for code in (
            "WRONG_BODY_FORMAT",
            "NO_ENRICHMENTS_REQUESTED",
            "TOO_MANY_ENRICHMENTS_REQUESTED",
            "WRONG_INPUT_FORMAT",
        )
    ],
    ("1.10 400 Bad params", 400, TEXT, "Bad params", BadRequestError, None, "Bad params"),
    ("1.10 403 user blocked (no body documented)", 403, None, "", AuthenticationError, None, ""),
    ("1.10 405 empty", 405, None, "", BadRequestError, None, ""),
]


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error_type", "code", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_1_3_to_1_10_documented_refusals_become_typed_errors(
    status: int,
    content_type: str | None,
    body: str,
    error_type: type[ProviderError],
    code: str | None,
    message: str,
) -> None:
    """1.3, 1.4, 1.5, 1.10: each documented refusal -> its typed error, with lemlist's own code
    when it sends one (JSON `code`, or the bulk `{"error": "<CODE>"}`), and lemlist's message.
    1.10 client rule: text/plain keeps the raw text as the message."""
    error = classify(PROVIDER, parse_lemlist_error, status, content_type, body)
    assert type(error) is error_type
    assert (error.provider, error.status) == (PROVIDER, status)
    assert message in error.message
    if code is not None:
        assert error.code == code


def test_1_4_already_running_409_has_no_code_and_must_not_read_as_already_enriched() -> None:
    """1.4: `{"error": "lead is already being enriched"}` (no `code`) means wait, do NOT force —
    it must never be confused with ALREADY_ENRICHED (retry with force=true)."""
    body = '{"error": "lead is already being enriched"}'
    error = classify(PROVIDER, parse_lemlist_error, 409, JSON, body)
    assert type(error) is BadRequestError
    assert error.status == 409
    assert "lead is already being enriched" in error.message
    assert error.code != "ALREADY_ENRICHED"


def test_1_4_server_error_body_message_is_read() -> None:
    """1.4 500 `{"error": "Failed to enrich lead"}` (1.10: JSON or text). 5xx are classified in
    the transport's retry loop; the body's message is what the parser contributes."""
    detail = parse_lemlist_error(response(500, JSON, '{"error": "Failed to enrich lead"}'))
    assert detail.message == "Failed to enrich lead"
