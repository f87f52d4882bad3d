"""The Hog `flatten()` (providers.md 3, 4): every documented example payload -> the expected records,
the tolerated variants (element shapes, profile spellings, result locations) and unexpected shapes
-> FAILED with the raw payload kept."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    Phone,
    Position,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.providers.thehog import flatten
from enrich_pipeline.providers.thehog import payloads as thehog

OP = "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D"
LEGACY_OP = "op_01JD7R0A1B2C3D4E5F6G7H8J9K"
LINA_URL = "https://www.linkedin.com/in/lina-okafor"

# ------------------------------------------------------------- the examples of providers.md 3, verbatim

EXAMPLE_SYNC_200 = json.loads("""
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
EXAMPLE_BATCH_202 = json.loads("""
{
  "id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "operationId": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "status": "queued",
  "pollUrl": "https://developer.thehog.ai/api/operations/op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
  "meta": {"requestId": "9a3d1f52-7b44-4e0c-8c2f-61e5b0d2a7c4"}
}
""")
EXAMPLE_COMPLETED_POLL = json.loads("""
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
EXAMPLE_LEGACY_202 = json.loads("""
{"id": "op_01JD7R0A1B2C3D4E5F6G7H8J9K", "operationId": "op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "status": "queued", "pollUrl": "/api/operations/op_01JD7R0A1B2C3D4E5F6G7H8J9K",
 "meta": {"requestId": "3c9f2b7e-0d41-4a8e-b6c2-7f1a9e5d3b20"}}
""")
EXAMPLE_ESTIMATE = json.loads("""
{"data": {"estimatedCredits": 5, "likelySyncOrAsync": "sync", "expectedLatencyRange": "2\u20138s",
          "providersLikelyUsed": ["a"], "withinPlanLimits": true},
 "meta": {"requestId": "3c9f2b7e-0d41-4a8e-b6c2-7f1a9e5d3b20"}}
""")
EXAMPLE_ERROR = json.loads("""
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
""")

LINA = EnrichmentRequest(
    person_key="li:/in/lina-okafor",
    correlation="crm-1",
    linkedin_url="linkedin.com/in/Lina-Okafor/",
    fields=frozenset({WantedField.EMAIL, WantedField.PHONE}),
)
TOMAS = EnrichmentRequest(
    person_key="em:tomas.rieger@harbor-ops.com",
    correlation="crm-2",
    email="Tomas.Rieger@Harbor-Ops.com",
    fields=frozenset({WantedField.EMAIL}),
)


# ---------------------------------------------------------------------------------- sync 200


def test_sync_example_without_requests() -> None:
    [record] = flatten(EXAMPLE_SYNC_200)
    assert record.provider == "thehog"
    assert record.record_status is RecordStatus.FOUND
    assert record.email == "lina.okafor@northwind-labs.io"
    assert record.email_status is EmailStatus.DELIVERABLE
    assert record.phones == (Phone(number="+14155550142", type="mobile", source_rank=0),)
    assert record.linkedin is None
    # No identifier is echoed in a sync answer: the key comes from what it shows (4.2).
    assert record.person_key == "em:lina.okafor@northwind-labs.io"
    assert record.provider_ref is None
    # no meta.cost in this example: priced from the table (email 1 + phone 5, pricing.PRICES)
    assert (record.cost_credits, record.cost_basis) == (6, CostBasis.ESTIMATED)
    assert record.raw == EXAMPLE_SYNC_200


def test_sync_example_with_its_request_and_reported_cost() -> None:
    body = {**EXAMPLE_SYNC_200, "meta": {"requestId": "r", "cost": {"estimated": 6, "actual": 6}}}
    [record] = flatten(body, requests=[LINA])
    assert record.person_key == "li:/in/lina-okafor"
    assert record.request_correlation == "crm-1"
    assert (record.cost_credits, record.cost_basis) == (6, CostBasis.REPORTED)


def test_sync_body_among_several_requests_is_matched_by_what_it_shows() -> None:
    [record] = flatten(
        EXAMPLE_SYNC_200,
        requests=[TOMAS, LINA.model_copy(update={"email": "lina.okafor@northwind-labs.io"})],
    )
    assert record.person_key == "li:/in/lina-okafor"


# -------------------------------------------------------------------------------- 202 bodies


def test_batch_202_example_is_pending_for_every_request() -> None:
    records = flatten(EXAMPLE_BATCH_202, requests=[LINA, TOMAS])
    assert [r.record_status for r in records] == [RecordStatus.PENDING] * 2
    assert [r.person_key for r in records] == [LINA.person_key, TOMAS.person_key]
    assert {r.provider_ref for r in records} == {OP}
    assert records[0].raw == EXAMPLE_BATCH_202


def test_legacy_202_example_is_pending() -> None:
    [record] = flatten(EXAMPLE_LEGACY_202)
    assert record.record_status is RecordStatus.PENDING
    assert record.provider_ref == LEGACY_OP
    assert record.person_key is None
    assert "/api/operations/" in (record.reason or "")


# ------------------------------------------------------------------------------ operations


def test_completed_poll_example_item_by_item() -> None:
    lina, tomas, ghost = flatten(EXAMPLE_COMPLETED_POLL)
    assert lina.record_status is RecordStatus.FOUND
    assert lina.person_key == "li:/in/lina-okafor"
    assert lina.email == "lina.okafor@northwind-labs.io"
    assert lina.email_status is EmailStatus.DELIVERABLE
    assert lina.provider_ref == OP
    assert lina.request_correlation == json.dumps({"linkedin_url": LINA_URL}, separators=(",", ":"))
    assert lina.raw["item"] == EXAMPLE_COMPLETED_POLL["result"]["items"][0]
    assert lina.raw["operation"]["status"] == "partial_success"

    assert tomas.record_status is RecordStatus.NOT_FOUND
    assert tomas.person_key == "em:tomas.rieger@harbor-ops.com"
    assert tomas.email is None and tomas.email_status is None
    assert tomas.raw["item"] == EXAMPLE_COMPLETED_POLL["result"]["items"][1]

    # "Could not resolve this identity": The Hog does not know this person, a clear not found
    assert ghost.record_status is RecordStatus.NOT_FOUND
    assert ghost.reason == "Could not resolve this identity"
    assert ghost.person_key is None
    assert ghost.request_correlation == '{"github_username":"no-such-user-0000"}'
    assert ghost.raw["item"] == EXAMPLE_COMPLETED_POLL["result"]["items"][2]


def test_completed_poll_example_with_requests() -> None:
    lina, tomas, ghost = flatten(EXAMPLE_COMPLETED_POLL, requests=[TOMAS, LINA])
    assert (lina.person_key, lina.request_correlation) == (LINA.person_key, "crm-1")
    assert (tomas.person_key, tomas.request_correlation) == (TOMAS.person_key, "crm-2")
    assert tomas.reason == "The Hog found nothing for contact.email"
    assert ghost.person_key is None


@pytest.mark.parametrize("status", ["queued", "processing"])
def test_running_operation_is_pending(status: str) -> None:
    body = {"id": OP, "status": status, "progress": 40, "result": None, "error": None}
    [record] = flatten(body)
    assert record.record_status is RecordStatus.PENDING
    assert record.provider_ref == OP
    assert record.raw["operation"] == body


def test_undocumented_running_status_is_pending_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    thehog._reported_statuses.discard("running")
    body = {"id": OP, "status": "running", "progress": 10, "result": None, "error": None}
    with caplog.at_level(logging.WARNING, logger="enrich_pipeline.providers"):
        first = flatten(body)
        second = flatten(body)
    assert [r.record_status for r in first + second] == [RecordStatus.PENDING] * 2
    warnings = [r for r in caplog.records if "'running'" in r.getMessage()]
    assert len(warnings) == 1


def test_failed_operation_keeps_the_error_message() -> None:
    body = {
        "id": OP,
        "status": "failed",
        "progress": 100,
        "result": None,
        "error": {
            "message": "The enrichment job failed. Please retry.",
            "code": "enrichment_failed",
        },
    }
    [record] = flatten(body, requests=[LINA])
    assert record.record_status is RecordStatus.FAILED
    assert record.reason == "The enrichment job failed. Please retry. (enrichment_failed)"
    assert record.person_key == LINA.person_key
    assert record.provider_ref == OP


def test_a_single_person_operation_that_cannot_resolve_the_identity_is_not_found() -> None:
    body = {
        "id": OP,
        "status": "failed",
        "progress": 100,
        "result": None,
        "error": {"message": "Could not resolve this identity", "code": "identity_not_resolved"},
    }
    [record] = flatten(body, requests=[LINA])
    # The Hog answered that it does not know this person: a clear "not found" that the next
    # provider may try, not a failure holding the person back (as for a batch item).
    assert record.record_status is RecordStatus.NOT_FOUND
    assert record.reason == "Could not resolve this identity (identity_not_resolved)"
    assert (record.person_key, record.provider_ref) == (LINA.person_key, OP)


def test_cancelled_operation_without_error_object() -> None:
    [record] = flatten(
        {"id": OP, "status": "cancelled", "progress": 30, "result": None, "error": None}
    )
    assert record.record_status is RecordStatus.FAILED
    assert record.reason == "operation cancelled"


def test_failed_batch_still_reads_its_items() -> None:
    body = {
        "id": OP,
        "status": "failed",
        "progress": 100,
        "result": {"items": [EXAMPLE_COMPLETED_POLL["result"]["items"][2]]},
        "error": {"message": "No identifier could be resolved", "code": "all_items_failed"},
    }
    [record] = flatten(body)
    assert record.record_status is RecordStatus.NOT_FOUND  # the item says who was not known
    assert record.reason == "Could not resolve this identity"


def test_single_person_operation_result_is_the_data_object() -> None:
    body = {
        "id": OP,
        "status": "succeeded",
        "progress": 100,
        "result": EXAMPLE_SYNC_200["data"],
        "error": None,
    }
    [record] = flatten(body, requests=[LINA])
    assert record.record_status is RecordStatus.FOUND
    assert record.person_key == LINA.person_key
    assert record.email == "lina.okafor@northwind-labs.io"
    assert record.phones[0].number == "+14155550142"
    assert record.raw["operation"] == body


def test_result_as_a_list_and_items_at_the_top_level() -> None:
    items = EXAMPLE_COMPLETED_POLL["result"]["items"]
    as_list = {
        "id": OP,
        "status": "partial_success",
        "progress": 100,
        "result": items,
        "error": None,
    }
    top_level = {"id": OP, "status": "partial_success", "items": items}
    for body in (as_list, top_level):
        records = flatten(body)
        assert [r.record_status for r in records] == [
            RecordStatus.FOUND,
            RecordStatus.NOT_FOUND,
            RecordStatus.NOT_FOUND,
        ]


def test_bare_list_of_operations() -> None:
    """`GET /api/operations`: newest first, any statuses."""
    queued = {"id": "op_A", "status": "queued", "progress": 0, "result": None, "error": None}
    single = {
        "id": "op_B",
        "status": "succeeded",
        "progress": 100,
        "result": EXAMPLE_SYNC_200["data"],
        "error": None,
    }
    records = flatten([queued, single, EXAMPLE_COMPLETED_POLL], requests=[LINA, TOMAS])
    assert [(r.provider_ref, r.record_status) for r in records] == [
        ("op_A", RecordStatus.PENDING),
        ("op_B", RecordStatus.FOUND),
        (OP, RecordStatus.FOUND),
        (OP, RecordStatus.NOT_FOUND),
        (OP, RecordStatus.NOT_FOUND),
    ]
    # A queued operation in a list does not say whose it is: one anonymous pending record.
    assert records[0].person_key is None
    assert records[1].person_key == "em:lina.okafor@northwind-labs.io"
    assert records[2].person_key == LINA.person_key
    assert records[3].request_correlation == "crm-2"
    assert flatten([]) == []


# ------------------------------------------------------------------------------ legacy inline


def test_legacy_inline_200_body() -> None:
    """`POST /api/people/enrich` with asyncPreferred=false: one entry per input, cost for the call."""
    body = {
        "data": [
            {
                "identifier": {"platform": "linkedin", "username": "lina-okafor"},
                "status": "success",
                "data": {
                    "contact": {
                        "email": [
                            {
                                "value": "Lina.Okafor@Northwind-Labs.io",
                                "type": "work",
                                "verified": True,
                            }
                        ],
                        "phone": ["+1 415-555-0142"],
                    }
                },
            },
            {
                "identifier": {"id": "p_404"},
                "status": "failed",
                "error": {"message": "Could not resolve this identity"},
            },
        ],
        "meta": {"requestId": "r1", "projectId": "prj_1", "cost": {"estimated": 16, "actual": 7}},
    }
    lina, missing = flatten(body, requests=[LINA])
    assert lina.record_status is RecordStatus.FOUND
    assert (lina.person_key, lina.request_correlation) == (LINA.person_key, "crm-1")
    assert lina.email == "lina.okafor@northwind-labs.io"
    assert lina.phones == (Phone(number="+14155550142", type=None),)
    # The call's cost covers two people, not one person's: this person is priced from the table.
    assert (lina.cost_credits, lina.cost_basis) == (6, CostBasis.ESTIMATED)
    assert lina.raw["meta"]["cost"] == {"estimated": 16, "actual": 7}
    assert missing.record_status is RecordStatus.NOT_FOUND  # "Could not resolve this identity"
    assert missing.request_correlation == '{"id":"p_404"}'


def test_legacy_inline_single_entry_reports_its_cost() -> None:
    body = {
        "data": [{"contact": {"email": ["tomas.rieger@harbor-ops.com"], "phone": []}}],
        "meta": {"requestId": "r2", "cost": {"estimated": 8, "actual": 3}},
    }
    [record] = flatten(body, requests=[TOMAS])
    assert record.person_key == TOMAS.person_key
    assert record.email == "tomas.rieger@harbor-ops.com"
    assert record.email_status is EmailStatus.DELIVERABLE
    assert (record.cost_credits, record.cost_basis) == (3, CostBasis.REPORTED)


# --------------------------------------------------------------------- element shapes (4.3/4.4)


def _sync(contact: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"data": {"contact": contact, **data}, "meta": {"requestId": "r"}}


@pytest.mark.parametrize(
    ("element", "status"),
    [
        ("a@x.io", EmailStatus.DELIVERABLE),
        ({"value": "a@x.io"}, EmailStatus.DELIVERABLE),
        ({"email": "a@x.io", "verified": True}, EmailStatus.DELIVERABLE),
        ({"address": "a@x.io", "verified": False}, EmailStatus.UNDELIVERABLE),
        ({"value": "a@x.io", "verified": "invalid"}, EmailStatus.UNDELIVERABLE),
        ({"value": "a@x.io", "status": "invalid"}, EmailStatus.UNDELIVERABLE),
        ({"value": "a@x.io", "status": "catch_all"}, EmailStatus.RISKY),
        ({"value": "a@x.io", "status": "catch-all", "verified": False}, EmailStatus.RISKY),
        ({"value": "a@x.io", "verified": False, "status": "risky"}, EmailStatus.RISKY),
        (
            {"value": "a@x.io", "verified": False, "status": "undeliverable"},
            EmailStatus.UNDELIVERABLE,
        ),
        ({"value": "a@x.io", "verified": False, "status": "unknown"}, EmailStatus.UNKNOWN),
        ({"value": "a@x.io", "status": "something-new"}, EmailStatus.UNKNOWN),
        ({"value": "a@x.io", "verified": True, "catch_all": True}, EmailStatus.RISKY),
    ],
)
def test_email_element_status(element: Any, status: EmailStatus) -> None:
    [record] = flatten(_sync({"email": [element]}))
    assert record.email == "a@x.io"
    assert record.email_status is status
    assert record.record_status is RecordStatus.FOUND


def test_best_email_by_status_rank_then_order() -> None:
    emails = [
        {"value": "old@x.io", "verified": False},
        {"value": "maybe@x.io", "status": "risky", "confidence": "medium"},
        {"value": "first@x.io", "status": "catch_all"},
        {"value": "Good@X.io", "verified": True, "confidence": "high"},
    ]
    [record] = flatten(_sync({"email": emails}))
    assert (record.email, record.email_status, record.email_confidence) == (
        "good@x.io",
        EmailStatus.DELIVERABLE,
        "high",
    )
    [record] = flatten(_sync({"email": emails[:3]}))
    assert (record.email, record.email_status) == ("maybe@x.io", EmailStatus.RISKY)


def test_phone_elements_to_e164_with_types_deduped() -> None:
    phones = [
        {"number": "+44 20 7946 0958"},
        "+1 (415) 555-0142",
        {"value": "+14155550142", "type": "Mobile"},
        {"phone": "not a number", "type": "direct"},
        {"value": "+33 6 12 34 56 78", "type": "mobile"},
    ]
    [record] = flatten(_sync({"phone": phones}))
    assert record.phones == (
        Phone(number="+442079460958", type=None, source_rank=0),
        Phone(number="+14155550142", type="mobile", source_rank=1),
        Phone(number="+33612345678", type="mobile", source_rank=3),
    )
    assert "contact.phone[3] is not a valid phone number" in (record.reason or "")


def test_empty_arrays_and_null_profile_are_not_found() -> None:
    body = _sync({"email": [], "phone": []}, profile=None)
    [record] = flatten(body)
    assert record.record_status is RecordStatus.NOT_FOUND
    assert record.reason == "The Hog found nothing for contact.email, contact.phone, profile"
    assert record.person_key is None


def test_one_field_found_is_found() -> None:
    [record] = flatten(_sync({"email": [], "phone": ["+14155550142"]}), requests=[LINA])
    assert record.record_status is RecordStatus.FOUND
    assert record.email is None and record.email_status is None
    assert [p.number for p in record.phones] == ["+14155550142"]


# ----------------------------------------------------------------------------------- profile

SNAKE_PROFILE = {
    "name": "Lina Okafor",
    "first_name": "Lina",
    "last_name": "Okafor",
    "headline": "Head of Data at Northwind Labs",
    "title": "Head of Data",
    "company": "Northwind Labs",
    "company_domain": "northwind-labs.io",
    "location": "Lagos, Nigeria",
    "linkedin_url": "https://www.linkedin.com/in/lina-okafor",
    "summary": "Builds data teams.",
    "skills": ["SQL", "Python"],
    "positions": [
        {"title": "Head of Data", "company": "Northwind Labs", "company_domain": "northwind-labs.io",
         "start": "2022-03", "end": None, "description": "Data platform."},
        {"title": "Analyst", "company": "Harbor Ops", "company_domain": None,
         "start": "2018-01", "end": "2022-02", "description": None},
    ],
    "education": [{"school": "University of Lagos", "degree": "BSc Statistics", "start_year": 2012, "end_year": 2016}],
    "photo_url": "https://media.example/lina.jpg",
}  # fmt: skip


def _check_lina_profile(record: Any) -> None:
    profile = record.linkedin
    assert record.record_status is RecordStatus.FOUND
    assert profile.url == LINA_URL
    assert (profile.first_name, profile.last_name, profile.full_name) == (
        "Lina",
        "Okafor",
        "Lina Okafor",
    )
    assert profile.headline == "Head of Data at Northwind Labs"
    assert (profile.title, profile.company_name, profile.company_domain) == (
        "Head of Data",
        "Northwind Labs",
        "northwind-labs.io",
    )
    assert profile.location == "Lagos, Nigeria"
    assert profile.summary == "Builds data teams."
    assert profile.skills == ("SQL", "Python")
    assert profile.positions == (
        Position(title="Head of Data", company_name="Northwind Labs", company_domain="northwind-labs.io",
                 start_year=2022, start_month=3, is_current=True, description="Data platform."),
        Position(title="Analyst", company_name="Harbor Ops", start_year=2018, start_month=1,
                 end_year=2022, end_month=2, is_current=False),
    )  # fmt: skip
    [school] = profile.education
    assert (school.school_name, school.degree_name, school.start_year, school.end_year) == (
        "University of Lagos",
        "BSc Statistics",
        2012,
        2016,
    )
    assert profile.photo_url == "https://media.example/lina.jpg"
    assert record.person_key == "li:/in/lina-okafor"


def test_profile_snake_case() -> None:
    op = {
        "id": OP,
        "status": "succeeded",
        "progress": 100,
        "result": {"profile": SNAKE_PROFILE},
        "error": None,
    }
    [record] = flatten(op)
    _check_lina_profile(record)


def test_profile_camel_case_and_objects() -> None:
    camel = {
        "fullName": "Lina Okafor",
        "firstName": "Lina",
        "lastName": "Okafor",
        "headline": "Head of Data at Northwind Labs",
        "company": {"name": "Northwind Labs", "domain": "https://www.northwind-labs.io"},
        "location": {"city": "Lagos", "country": "Nigeria"},
        "linkedinUrl": "linkedin.com/in/Lina-Okafor/",
        "about": "Builds data teams.",
        "skills": [{"name": "SQL"}, {"name": "Python"}],
        "experience": [
            {"title": "Head of Data", "companyName": "Northwind Labs", "companyDomain": "northwind-labs.io",
             "startDate": {"year": 2022, "month": 3}, "isCurrent": True, "description": "Data platform."},
            {"title": "Analyst", "company": "Harbor Ops", "startYear": 2018, "startMonth": 1,
             "endYear": 2022, "endMonth": 2},
        ],
        "education": [{"schoolName": "University of Lagos", "degreeName": "BSc Statistics",
                       "startYear": 2012, "endYear": 2016}],
        "photoUrl": "https://media.example/lina.jpg",
    }  # fmt: skip
    [record] = flatten({"data": {"profile": camel}, "meta": {}})
    _check_lina_profile(record)  # title comes from the current position


# ------------------------------------------------------------------------------- unexpected


@pytest.mark.parametrize(
    "payload",
    [
        42,
        "not json at all",
        None,
        {"foo": "bar"},
        EXAMPLE_ESTIMATE,  # an estimate is not an enrichment result
        {"id": OP, "status": "succeeded", "progress": 100, "result": "done", "error": None},
        {"data": {"contact": {"email": 17}}, "meta": {}},
        {
            "data": {"contact": {"mail": ["a@x.io"]}},
            "meta": {},
        },  # renamed field: no silent not_found
        {"data": "yes", "meta": {}},
    ],
)
def test_unexpected_shapes_fail_with_raw_kept(payload: Any) -> None:
    [record] = flatten(payload)
    assert record.record_status is RecordStatus.FAILED
    assert record.reason
    # The payload is kept whole: as the record's raw, or under the key naming what it is.
    assert payload in (record.raw, record.raw.get("payload"), record.raw.get("operation"))


def test_error_envelope_example_is_failed() -> None:
    [record] = flatten(EXAMPLE_ERROR, requests=[LINA])
    assert record.record_status is RecordStatus.FAILED
    assert record.reason == "HTTP 400: Validation failed"
    assert record.person_key == LINA.person_key
    assert record.raw == EXAMPLE_ERROR


def test_odd_elements_of_a_list_do_not_lose_the_others() -> None:
    records = flatten(
        [EXAMPLE_COMPLETED_POLL, 7, {"weird": True}, {"id": "op_Q", "status": "queued"}]
    )
    assert [r.record_status for r in records] == [
        RecordStatus.FOUND,
        RecordStatus.NOT_FOUND,
        RecordStatus.NOT_FOUND,
        RecordStatus.FAILED,
        RecordStatus.FAILED,
        RecordStatus.PENDING,
    ]
    assert records[3].raw == {"payload": 7}
    assert records[4].raw == {"weird": True}


def test_item_that_is_not_an_object() -> None:
    body = {
        "id": OP,
        "status": "succeeded",
        "progress": 100,
        "result": {"items": ["huh"]},
        "error": None,
    }
    [record] = flatten(body)
    assert record.record_status is RecordStatus.FAILED
    assert record.raw["item"] == "huh"


def test_requested_field_missing_from_the_answer_is_not_silently_not_found() -> None:
    wants_profile = LINA.model_copy(update={"fields": frozenset({WantedField.LINKEDIN})})
    [record] = flatten(_sync({"email": []}), requests=[wants_profile])
    assert record.record_status is RecordStatus.FAILED
    assert "none of the requested fields" in (record.reason or "")
