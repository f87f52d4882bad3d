"""Contract tests, The Hog (providers.md section 3): every DOC example body, copied verbatim, read by
our parsers; every expected value written by hand from providers.md section 4 (4.1 record, 4.2
person key, 4.3 email status, 4.4 phones, 4.5 cost), never taken from our code or the sandbox.

Examples covered: 3.2 sync 200 (with and without the caller's request; plus the 3.5 `meta.cost`
envelope and the "empty array = not found" rule on the same body), 3.2 batch 202, 3.3 completed
`partial_success` poll, 3.4 legacy 202, 3.6 error envelope (the example, and one envelope per row
of the 3.6 table that has a documented message).

Target semantics (providers.md 4.5 says `unknown` without `meta.cost.actual`; the agreed change):
The Hog publishes no prices, so without `meta.cost.actual` the cost is our own table
(thehog.CREDIT_PRICES, per found field) recorded as CostBasis.ESTIMATED; with it, `reported`.
"""

from __future__ import annotations

import copy
import json

import pytest

from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    Phone,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    ProviderError,
)
from enrich_pipeline.providers.thehog import CREDIT_PRICES, PROVIDER, flatten
from enrich_pipeline.providers.thehog.dialect import parse_hog_error
from enrich_pipeline_tests.providers.contract_helpers import (
    Contains,
    JsonOf,
    assert_record,
    classify,
    doc,
    keeps,
    response,
)

LINA_URL = "https://www.linkedin.com/in/lina-okafor"
LINA_EMAIL = "lina.okafor@northwind-labs.io"
BATCH_OP = "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D"
EMAIL_PRICE = CREDIT_PRICES[WantedField.EMAIL]  # our table: The Hog publishes none (3.5)
PHONE_PRICE = CREDIT_PRICES[WantedField.PHONE]


# ------------------------------------------------------------------------------ 3.2 sync 200

SYNC_200 = doc("""
{
  "data": {
    "contact": {
      "email": [{"value": "lina.okafor@northwind-labs.io", "type": "work", "verified": true}],
      "phone": [{"value": "+14155550142", "type": "mobile", "verified": true}]
    }
  },
  "meta": {"requestId": "0b6f3e0a-6c1d-4f8e-9d55-3e2a1c7b9f10"}
}
""")

LINA_MOBILE = Phone(number="+14155550142", type="mobile", source_rank=0)  # 4.4: E.164, type kept


def test_3_2_sync_example_is_found_deliverable_with_a_mobile_and_an_estimated_cost() -> None:
    """3.2 sync example. 4.3: an element with `verified: true` -> deliverable. 4.4: phone E.164,
    type `mobile` kept. 4.2: the answer names no LinkedIn URL, its email is the key. 4.5 (target):
    no `meta.cost` -> our table (email + phone found) as ESTIMATED."""
    (record,) = flatten(SYNC_200)
    assert_record(
        record,
        provider=PROVIDER,
        person_key=f"em:{LINA_EMAIL}",
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        email_confidence=None,
        phones=(LINA_MOBILE,),
        linkedin=None,
        cost_credits=EMAIL_PRICE + PHONE_PRICE,
        cost_basis=CostBasis.ESTIMATED,
    )
    assert record.raw == SYNC_200


def test_3_2_sync_example_with_the_request_takes_its_person_key_and_correlation() -> None:
    """3.2 request example (identifier `linkedin_url`, fields email + phone): 4.2 rule 1, the input
    LinkedIn URL is the person key; 4.1 the caller's correlation is kept."""
    request = EnrichmentRequest(
        person_key="li:/in/lina-okafor",
        correlation="C-1001",
        linkedin_url=LINA_URL,
        fields=frozenset({WantedField.EMAIL, WantedField.PHONE}),
    )
    (record,) = flatten(SYNC_200, requests=[request])
    assert_record(
        record,
        person_key="li:/in/lina-okafor",
        request_correlation="C-1001",
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        phones=(LINA_MOBILE,),
    )


def test_3_5_sync_example_with_meta_cost_actual_is_reported() -> None:
    """3.5: `meta.cost = {"estimated", "actual"}`, the balance is charged `actual` -> 4.5
    `reported` with that value (not the estimate, not our table)."""
    body = copy.deepcopy(SYNC_200)
    body["meta"]["cost"] = {"estimated": 9, "actual": 6}
    (record,) = flatten(body)
    assert_record(
        record,
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        cost_credits=6,
        cost_basis=CostBasis.REPORTED,
    )


def test_3_2_sync_empty_email_array_is_not_found() -> None:
    """3.2 "An empty array means requested but not found" on the example's envelope: not_found,
    no email; 4.5 (target) nothing found -> 0 from our table, ESTIMATED."""
    body = doc("""
    {"data": {"contact": {"email": []}},
     "meta": {"requestId": "0b6f3e0a-6c1d-4f8e-9d55-3e2a1c7b9f10"}}
    """)
    (record,) = flatten(body)
    assert_record(
        record,
        record_status=RecordStatus.NOT_FOUND,
        email=None,
        email_status=None,
        phones=(),
        cost_credits=0,
        cost_basis=CostBasis.ESTIMATED,
    )


# ------------------------------------------------------------------------------ 202 accepted

BATCH_202 = doc("""
{
  "id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "operationId": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "status": "queued",
  "pollUrl": "https://developer.thehog.ai/api/operations/op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "meta": {"requestId": "9a3d1f52-7b44-4e0c-8c2f-61e5b0d2a7c4"}
}
""")

LEGACY_202 = doc("""
{"id": "op_01JD7R0A1B2C3D4E5F6G7H8J9K", "operationId": "op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "status": "queued", "pollUrl": "/api/operations/op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "meta": {"requestId": "3c9f2b7e-0d41-4a8e-b6c2-7f1a9e5d3b20"}}
""")


@pytest.mark.parametrize(
    ("body", "operation"),
    [
        pytest.param(BATCH_202, BATCH_OP, id="3.2 batch 202"),
        pytest.param(LEGACY_202, "op_01JD7R0A1B2C3D4E5F6G7H8J9K", id="3.4 legacy 202"),
    ],
)
def test_3_2_3_4_accepted_operation_is_pending(body: dict[str, object], operation: str) -> None:
    """3.2 / 3.4 202 examples: queued -> PENDING under the `op_` id (4.1), nothing known or
    charged yet."""
    records = flatten(body)
    assert records
    for record in records:
        assert_record(
            record,
            provider=PROVIDER,
            provider_ref=operation,
            record_status=RecordStatus.PENDING,
            email=None,
            phones=(),
            cost_credits=None,
        )


# ------------------------------------------------------------------------------- 3.3 poll

PARTIAL_SUCCESS = doc("""
{
  "id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "status": "partial_success",
  "progress": 100,
  "result": {
    "items": [
      {"identifier": {"linkedin_url": "https://www.linkedin.com/in/lina-okafor"},
       "status": "success",
       "data": {"contact": {"email": [{"value": "lina.okafor@northwind-labs.io", "type": "work", "verified": true}]}}},
      {"identifier": {"email": "tomas.rieger@harbor-ops.com"},
       "status": "success",
       "data": {"contact": {"email": []}}},
      {"identifier": {"github_username": "no-such-user-0000"},
       "status": "failed",
       "error": {"message": "Could not resolve this identity"}}
    ]
  },
  "error": null
}
""")


@pytest.fixture(scope="module")
def partial_success_records() -> list:
    records = flatten(PARTIAL_SUCCESS)
    assert len(records) == 3, records
    return records


def test_3_3_partial_success_item_1_found(partial_success_records: list) -> None:
    """3.3 item 1: a verified email -> found, deliverable (4.3); 4.1 provider_ref the `op_` id
    (+ item index), correlation the echoed identifier; 4.2 rule 1 from the echoed LinkedIn URL;
    4.5 (target) our table for one email, ESTIMATED."""
    record = partial_success_records[0]
    assert_record(
        record,
        provider=PROVIDER,
        person_key="li:/in/lina-okafor",
        provider_ref=Contains(BATCH_OP),
        request_correlation=JsonOf({"linkedin_url": LINA_URL}),
        record_status=RecordStatus.FOUND,
        email=LINA_EMAIL,
        email_status=EmailStatus.DELIVERABLE,
        phones=(),
        cost_credits=EMAIL_PRICE,
        cost_basis=CostBasis.ESTIMATED,
    )
    assert keeps(record.raw, PARTIAL_SUCCESS["result"]["items"][0])


def test_3_3_partial_success_item_2_empty_array_is_not_found(
    partial_success_records: list,
) -> None:
    """3.3 item 2: `email: []` = requested but not found (3.2) -> not_found, no email; 4.2 rule 2
    from the echoed email; 4.5 (target) nothing found -> 0, ESTIMATED."""
    record = partial_success_records[1]
    assert_record(
        record,
        provider=PROVIDER,
        person_key="em:tomas.rieger@harbor-ops.com",
        provider_ref=Contains(BATCH_OP),
        request_correlation=JsonOf({"email": "tomas.rieger@harbor-ops.com"}),
        record_status=RecordStatus.NOT_FOUND,
        email=None,
        email_status=None,
        phones=(),
        cost_credits=0,
        cost_basis=CostBasis.ESTIMATED,
    )
    assert keeps(record.raw, PARTIAL_SUCCESS["result"]["items"][1])


def test_3_3_partial_success_item_3_unresolved_identity_is_not_found(
    partial_success_records: list,
) -> None:
    """3.3 item 3: `status: "failed"` whose documented message is "Could not resolve this
    identity": The Hog does not know this person, which is a clear not found (the next provider
    may try), not a failure to retry forever; the message is kept as the reason; a GitHub handle
    gives no 4.2 person key; the identifier is the correlation."""
    record = partial_success_records[2]
    assert_record(
        record,
        provider=PROVIDER,
        person_key=None,
        provider_ref=Contains(BATCH_OP),
        request_correlation=JsonOf({"github_username": "no-such-user-0000"}),
        record_status=RecordStatus.NOT_FOUND,
        reason=Contains("Could not resolve this identity"),
        email=None,
        phones=(),
    )
    assert keeps(record.raw, PARTIAL_SUCCESS["result"]["items"][2])


# ---------------------------------------------------------------------------------- 3.6 errors

JSON = "application/json"  # 3.6: "RFC 7807-style", but NOT application/problem+json

ENVELOPE_400 = """
{
  "statusCode": 400,
  "error": "Bad Request",
  "message": "Validation failed",
  "path": "/api/enrichments",
  "requestId": "7d2a1c4e-5f60-4b8a-9e13-2c4f6a8b0d91",
  "timestamp": "2026-03-02T10:40:11.000Z",
  "errors": [{"property": "body.fields", "message": "fields must be an array",
              "constraints": {"isArray": "fields must be an array"}}]
}
"""


def envelope(status: int, error: str, message: str) -> str:
    """A 3.6 envelope with its required fields (`statusCode`, `error`, `message`, `path`,
    `timestamp`) and the optional `requestId`."""
    return json.dumps(
        {
            "statusCode": status,
            "error": error,
            "message": message,
            "path": "/api/enrichments",
            "requestId": "7d2a1c4e-5f60-4b8a-9e13-2c4f6a8b0d91",
            "timestamp": "2026-03-02T10:40:11.000Z",
        }
    )


def test_3_6_validation_error_example_is_a_bad_request_with_its_details() -> None:
    """3.6 example (400): bad request, no retry; the message and the `errors[]` detail (which
    field, what is wrong) must both reach the operator."""
    error = classify(PROVIDER, parse_hog_error, 400, JSON, ENVELOPE_400)
    assert type(error) is BadRequestError
    assert (error.provider, error.status) == (PROVIDER, 400)
    assert "Validation failed" in error.message
    assert "fields must be an array" in error.message


# (status, `error`, documented `message`, typed error). 403 and 422 have no documented message:
# their `message` repeats `error` (the field is required).
REFUSALS: list[tuple[int, str, str, type[ProviderError]]] = [
    (401, "Unauthorized", "Authentication is required.", AuthenticationError),
    (402, "Payment Required", "Insufficient credits.", CreditsExhaustedError),
    (403, "Forbidden", "Forbidden", AuthenticationError),
    (404, "Not Found", "Resource not found.", BadRequestError),
    (422, "Unprocessable Entity", "Unprocessable Entity", BadRequestError),
]


@pytest.mark.parametrize(
    ("status", "error_name", "message", "error_type"),
    [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in REFUSALS],
)
def test_3_6_table_refusals_become_typed_errors(
    status: int, error_name: str, message: str, error_type: type[ProviderError]
) -> None:
    """3.6 table: 401/403 -> authentication, 402 -> credits exhausted (nothing deducted), 404/422
    -> bad request; the envelope's `message` is kept."""
    error = classify(PROVIDER, parse_hog_error, status, JSON, envelope(status, error_name, message))
    assert type(error) is error_type
    assert (error.provider, error.status) == (PROVIDER, status)
    assert message in error.message


def test_3_6_rate_limit_envelope_message_is_read() -> None:
    """3.6 429 row. 429 is handled in the transport's retry loop (Retry-After); the envelope's
    message is what the parser contributes."""
    body = envelope(429, "Too Many Requests", "Rate limit exceeded. Please slow down and retry.")
    parsed = parse_hog_error(response(429, JSON, body))
    assert parsed.message == "Rate limit exceeded. Please slow down and retry."


def test_3_6_error_envelope_given_to_flatten_is_one_failed_record() -> None:
    """3.6 example kept as a payload: one FAILED record saying why, nothing found."""
    body = doc(ENVELOPE_400)
    (record,) = flatten(body)
    assert_record(
        record,
        provider=PROVIDER,
        record_status=RecordStatus.FAILED,
        reason=Contains("Validation failed"),
        email=None,
        phones=(),
    )
    assert record.raw == body
