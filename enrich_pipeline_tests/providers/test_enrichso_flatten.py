"""enrich.so flatten(): every example payload of providers.md section 2 (written out here, both
documented shapes where the doc lists two), webhooks, and shapes nobody documented."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from enrich_pipeline.model import (
    CostBasis,
    Education,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.providers.enrichso import flatten, parse_webhook
from enrich_pipeline.providers.enrichso.costs import apportion
from enrich_pipeline.providers.enrichso.parse import (
    finder_status,
    legacy_validation_status,
    validation_status,
)

LINA = "lina.okafor@northwind-labs.io"
LINA_KEY = f"em:{LINA}"
LINA_URL = "https://www.linkedin.com/in/lina-okafor"


def one(payload: Any, **kw: Any) -> EnrichmentResult:
    records = flatten(payload, **kw)
    assert len(records) == 1, records
    return records[0]


# ---------------------------------------------------------------------------- 2.3 batch status


STATUS = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab34cd",
        "status": "processing",
        "totalItems": 4,
        "processedItems": 3,
        "progress": 75,
    },
    "meta": {"requestId": "6f1c2a9e4b7d3c0012ab34ce"},
}


def test_status_and_submit_bodies_name_nobody() -> None:
    assert flatten(STATUS) == []
    assert flatten(VALIDATION_SUBMIT) == []
    request = EnrichmentRequest(person_key=LINA_KEY, email=LINA)
    assert flatten(STATUS, requests=[request]) == []


# ------------------------------------------------------------------------- 2.4 email validation

VALIDATION_SINGLE = {
    "success": True,
    "data": {
        "email": LINA,
        "result": "valid",
        "message": "Mailbox exists and accepts mail",
        "isCatchAll": False,
        "isFederated": False,
        "hasSEG": False,
        "provider": "GOOGLE",
        "confidence": "high",
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3400",
        "creditsUsed": 1,
        "creditsRemaining": 48211,
        "processingTimeMs": 412,
    },
}
VALIDATION_SUBMIT = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab34cd",
        "status": "queued",
        "itemCount": 2,
        "originalCount": 3,
        "duplicatesRemoved": 1,
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab34cc",
        "creditsReserved": 2,
        "creditsPerItem": 1,
        "estimatedCredits": 2,
    },
}
VALIDATION_RESULTS = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab34cd",
        "status": "completed",
        "totalItems": 2,
        "processedCount": 2,
        "results": [
            {
                "email": LINA,
                "result": "valid",
                "message": "Mailbox exists and accepts mail",
                "isCatchAll": False,
                "provider": "GOOGLE",
                "confidence": "high",
            },
            {
                "email": "ops@harbor-ops.com",
                "result": "risky",
                "message": "Domain accepts all addresses; delivery not guaranteed",
                "isCatchAll": True,
                "provider": "SMTP",
                "confidence": "low",
            },
        ],
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab34d0",
        "creditsUsed": 1,
        "creditsRefunded": 1,
        "creditsRemaining": 48210,
        "totalItems": 2,
        "processedItems": 2,
    },
}


def test_validation_single() -> None:
    record = one(VALIDATION_SINGLE)
    assert record.person_key == LINA_KEY and record.provider == "enrichso"
    assert record.record_status is RecordStatus.FOUND
    assert (record.email, record.email_status, record.email_confidence) == (
        LINA,
        EmailStatus.DELIVERABLE,
        "high",
    )
    assert (record.cost_credits, record.cost_basis) == (1, CostBasis.REPORTED)
    assert record.provider_ref == "validation:request:6f1c2a9e4b7d3c0012ab3400"
    assert record.raw == VALIDATION_SINGLE


def test_validation_single_quick_reference_shape() -> None:
    legacy = {
        "success": True,
        "data": {
            "email": LINA,
            "status": "valid",
            "subStatus": "",
            "freeEmail": False,
            "disposable": False,
            "catchAll": False,
        },
        "meta": {"requestId": "r1", "creditsUsed": 1},
    }
    record = one(legacy)
    assert (record.record_status, record.email_status) == (
        RecordStatus.FOUND,
        EmailStatus.DELIVERABLE,
    )
    catch_all = copy.deepcopy(legacy)
    catch_all["data"].update(catchAll=True)
    assert one(catch_all).email_status is EmailStatus.RISKY
    unknown = copy.deepcopy(legacy)
    unknown["data"].update(status="unknown")
    assert one(unknown).email_status is EmailStatus.UNKNOWN
    assert one(unknown).record_status is RecordStatus.NOT_FOUND


def test_validation_batch_results_settle_per_row() -> None:
    lina, ops = flatten(VALIDATION_RESULTS)
    assert (lina.email, lina.email_status, lina.record_status) == (
        LINA,
        EmailStatus.DELIVERABLE,
        RecordStatus.FOUND,
    )
    assert (ops.email, ops.email_status, ops.email_confidence) == (
        "ops@harbor-ops.com",
        EmailStatus.RISKY,
        "low",
    )
    # creditsUsed 1 spread over the one charged row; the risky row was refunded.
    assert [(r.cost_credits, r.cost_basis) for r in (lina, ops)] == [
        (1, CostBasis.REPORTED),
        (0, CostBasis.REPORTED),
    ]
    assert lina.provider_ref == ops.provider_ref == "validation:6f1c2a9e4b7d3c0012ab34cd"
    assert lina.raw["result"] == VALIDATION_RESULTS["data"]["results"][0]  # its own row
    assert lina.raw["meta"]["creditsRefunded"] == 1


@pytest.mark.parametrize(
    ("result", "confidence", "status"),
    [
        ("valid", "definitive", EmailStatus.DELIVERABLE),
        ("valid", "high", EmailStatus.DELIVERABLE),
        ("valid", "medium", EmailStatus.DELIVERABLE),
        ("valid", "low", EmailStatus.RISKY),
        ("valid", "temporary", EmailStatus.RISKY),
        ("valid", "none", EmailStatus.RISKY),
        ("risky", "low", EmailStatus.RISKY),
        ("invalid", "definitive", EmailStatus.UNDELIVERABLE),
        ("accept_all", "high", None),  # undocumented: not silently "unknown"
    ],
)
def test_validation_status_table(result: str, confidence: str, status: EmailStatus | None) -> None:
    assert validation_status(result, confidence) is status


def test_status_tables_of_4_3() -> None:
    assert legacy_validation_status("valid", False) is EmailStatus.DELIVERABLE
    assert legacy_validation_status("invalid", None) is EmailStatus.UNDELIVERABLE
    assert legacy_validation_status("risky", None) is EmailStatus.RISKY
    assert legacy_validation_status("something", None) is EmailStatus.UNKNOWN
    assert finder_status("high", True) is EmailStatus.RISKY  # catch-all wins
    assert finder_status("high", False) is EmailStatus.DELIVERABLE
    assert finder_status("medium", False) is EmailStatus.RISKY
    assert finder_status("low", None) is EmailStatus.RISKY
    assert finder_status(None, None) is EmailStatus.UNKNOWN


def test_an_undocumented_verdict_fails_loudly_and_keeps_its_row() -> None:
    drifted = copy.deepcopy(VALIDATION_RESULTS)
    drifted["data"]["results"][0]["result"] = "deliverable"  # a renamed value
    bad, ops = flatten(drifted)
    assert bad.record_status is RecordStatus.FAILED and "deliverable" in (bad.reason or "")
    assert bad.raw["result"]["result"] == "deliverable"
    assert ops.email_status is EmailStatus.RISKY


# ----------------------------------------------------------------------------- 2.5 email finder

FINDER_SINGLE = {
    "success": True,
    "data": {
        "firstName": "Lina",
        "lastName": "Okafor",
        "domain": "northwind-labs.io",
        "found": True,
        "email": LINA,
        "confidence": "high",
        "isCatchAll": False,
        "provider": "GOOGLE",
        "message": "Email found (high confidence)",
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3501",
        "creditsUsed": 10,
        "creditsRemaining": 48200,
        "processingTimeMs": 880,
    },
}
FINDER_RESULTS = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab3600",
        "status": "completed",
        "totalItems": 2,
        "processedCount": 2,
        "results": [
            {
                "firstName": "Lina",
                "lastName": "Okafor",
                "domain": "northwind-labs.io",
                "found": True,
                "email": LINA,
                "confidence": "high",
                "isCatchAll": False,
                "provider": "GOOGLE",
                "message": "Email found (high confidence)",
            },
            {
                "firstName": "Tomas",
                "lastName": "Rieger",
                "domain": "harbor-ops.com",
                "found": False,
                "message": "No professional email found",
            },
        ],
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3605",
        "creditsUsed": 10,
        "creditsRefunded": 10,
        "creditsRemaining": 48190,
        "totalItems": 2,
        "processedItems": 2,
    },
}


def test_finder_single() -> None:
    record = one(FINDER_SINGLE)
    assert record.record_status is RecordStatus.FOUND and record.person_key == LINA_KEY
    assert (record.email, record.email_status, record.email_confidence) == (
        LINA,
        EmailStatus.DELIVERABLE,
        "high",
    )
    assert (record.cost_credits, record.cost_basis) == (10, CostBasis.REPORTED)


def test_finder_single_thin_quick_reference_shape() -> None:
    thin = {
        "success": True,
        "data": {
            "email": LINA,
            "confidence": "medium",
            "firstName": "Lina",
            "lastName": "Okafor",
            "domain": "northwind-labs.io",
        },
    }
    record = one(thin)  # no `found`: found because an email is there; no meta: the price table
    assert (record.record_status, record.email_status) == (RecordStatus.FOUND, EmailStatus.RISKY)
    assert (record.cost_credits, record.cost_basis) == (10, CostBasis.TABLE)


def test_finder_batch_results() -> None:
    lina, tomas = flatten(FINDER_RESULTS)
    assert (lina.email, lina.cost_credits) == (LINA, 10)
    assert tomas.record_status is RecordStatus.NOT_FOUND and tomas.email is None
    assert tomas.reason == "No professional email found" and tomas.cost_credits == 0
    # Not found: keyed by name + domain (providers.md 4.2, rule 3).
    assert tomas.person_key is not None and tomas.person_key.startswith("nd:")


def test_finder_results_take_the_requests_keys() -> None:
    lina = EnrichmentRequest(
        person_key=LINA_KEY,
        correlation="C-1001",
        first_name="LINA",
        last_name="okafor",
        company_domain="https://www.northwind-labs.io/about",
        fields={WantedField.EMAIL},
    )
    first, second = flatten(FINDER_RESULTS, requests=[lina])
    assert (first.person_key, first.request_correlation) == (LINA_KEY, "C-1001")
    assert second.request_correlation is None
    assert (second.person_key or "").startswith("nd:")


# --------------------------------------------------------------------------- 2.6 reverse lookup

REVERSE_SINGLE = {
    "success": True,
    "data": {
        "id": "ACoAAE1xQk9bLm2",
        "displayName": "Lina Okafor",
        "firstName": "Lina",
        "lastName": "Okafor",
        "headline": "Head of Revenue Operations at Northwind Labs",
        "companyName": "Northwind Labs",
        "location": "Oakland, California",
        "profileUrl": LINA_URL,
        "isPublic": True,
        "skills": ["Salesforce", "SQL", "Forecasting"],
        "locale": {"country": "US", "language": "en"},
        "positions": {
            "positionsCount": 1,
            "positionHistory": [
                {
                    "title": "Head of Revenue Operations",
                    "companyName": "Northwind Labs",
                    "startEndDate": {"start": {"month": 4, "year": 2023}, "end": None},
                }
            ],
        },
        "schools": {"educationsCount": 0, "educationHistory": []},
        "creditsConsumed": 10,
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3700",
        "creditsUsed": 10,
        "creditsRemaining": 48180,
        "processingTimeMs": 1930,
    },
}
LINA_PROFILE = LinkedinProfile(
    url=LINA_URL,
    provider_profile_id="ACoAAE1xQk9bLm2",
    first_name="Lina",
    last_name="Okafor",
    full_name="Lina Okafor",
    headline="Head of Revenue Operations at Northwind Labs",
    title="Head of Revenue Operations",
    company_name="Northwind Labs",
    location="Oakland, California",
    skills=("Salesforce", "SQL", "Forecasting"),
    positions=(
        Position(
            title="Head of Revenue Operations",
            company_name="Northwind Labs",
            start_year=2023,
            start_month=4,
            is_current=True,
        ),
    ),
)


def test_reverse_lookup_single() -> None:
    record = one(REVERSE_SINGLE)
    assert record.record_status is RecordStatus.FOUND
    assert record.linkedin == LINA_PROFILE
    assert record.person_key == "li:/in/lina-okafor"  # the profile URL wins (4.2)
    assert (record.cost_credits, record.cost_basis) == (10, CostBasis.REPORTED)


def test_reverse_lookup_not_found_both_shapes() -> None:
    with_flag = {
        "success": True,
        "data": {"found": False, "email": "ghost@harbor-ops.com"},
        "meta": {"requestId": "r", "creditsUsed": 0},
    }
    record = one(with_flag)
    assert record.record_status is RecordStatus.NOT_FOUND and record.linkedin is None
    assert record.person_key == "em:ghost@harbor-ops.com" and record.cost_credits == 0
    # Per-endpoint shape: no `found`; found iff profileUrl or id.
    bare = {"success": True, "data": {"displayName": None}, "meta": {"creditsUsed": 0}}
    assert one(bare).record_status is RecordStatus.NOT_FOUND


def test_reverse_lookup_quick_reference_flat_shape() -> None:
    flat = {
        "success": True,
        "data": {
            "found": True,
            "email": LINA,
            "linkedinUrl": "linkedin.com/in/Lina-Okafor/",
            "firstName": "Lina",
            "lastName": "Okafor",
            "title": "Head of Revenue Operations",
            "company": "Northwind Labs",
        },
        "meta": {"creditsUsed": 10},
    }
    record = one(flat)
    assert record.linkedin == LinkedinProfile(
        url=LINA_URL,
        first_name="Lina",
        last_name="Okafor",
        full_name="Lina Okafor",
        title="Head of Revenue Operations",
        company_name="Northwind Labs",
    )


def test_reverse_bulk_results_match_requests_on_the_profile() -> None:
    results = {
        "success": True,
        "data": {
            "batchId": "665d2f8b9c5b2a0015d0bc10",
            "status": "completed",
            "totalItems": 2,
            "processedItems": 2,
            "successful": 1,
            "failed": 1,
            "page": 1,
            "limit": 100,
            "results": [{**REVERSE_SINGLE["data"], "schools": SCHOOLS}],
        },
        "meta": {"creditsUsed": 10, "creditsRefunded": 10, "totalItems": 2, "processedItems": 2},
    }
    lina = EnrichmentRequest(
        person_key=LINA_KEY,
        correlation="C-1",
        email=LINA,
        first_name="Lina",
        last_name="Okafor",
        company_name="Northwind Labs",
        fields={WantedField.LINKEDIN},
    )
    (record,) = flatten(results, requests=[lina])
    assert (record.person_key, record.request_correlation) == (LINA_KEY, "C-1")
    assert record.provider_ref == "reverse:665d2f8b9c5b2a0015d0bc10" and record.cost_credits == 10
    assert record.linkedin is not None
    assert record.linkedin.education == (
        Education(
            school_name="Mills College", degree_name="BA Economics", start_year=2011, end_year=2015
        ),
    )
    (alone,) = flatten(results)  # no request: keyed by the profile
    assert alone.person_key == "li:/in/lina-okafor" and alone.request_correlation is None


SCHOOLS = {
    "educationsCount": 1,
    "educationHistory": [
        {
            "degreeName": "BA Economics",
            "schoolName": "Mills College",
            "startEndDate": {"start": {"year": 2011}, "end": {"year": 2015}},
        }
    ],
}


# ------------------------------------------------------------------------------ 2.7 phone finder

PHONES_SINGLE = {
    "success": True,
    "data": {"found": True, "phones": ["+14155550142"]},
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3800",
        "creditsUsed": 500,
        "creditsRemaining": 47680,
        "processingTimeMs": 1210,
    },
}
PHONES_RESULTS = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab3900",
        "status": "completed",
        "totalItems": 2,
        "processedItems": 2,
        "successful": 1,
        "failed": 1,
        "results": [
            {"email": LINA, "phones": ["+14155550142"]},
            {
                "linkedin": "https://www.linkedin.com/in/tomas-rieger",
                "phones": [],
                "error": "No phone numbers found for this profile",
            },
        ],
        "page": 1,
        "limit": 100,
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3907",
        "creditsUsed": 500,
        "creditsRefunded": 500,
        "creditsRemaining": 47180,
        "totalItems": 2,
        "processedItems": 2,
    },
}


def test_phones_single_strings() -> None:
    record = one(PHONES_SINGLE)
    assert record.record_status is RecordStatus.FOUND
    assert record.phones == (Phone(number="+14155550142"),)
    assert (record.cost_credits, record.cost_basis) == (500, CostBasis.REPORTED)


def test_phones_single_objects_quick_reference() -> None:
    legacy = {
        "success": True,
        "data": {
            "found": True,
            "phones": [
                {"number": "+1 (415) 555-0142", "type": "Mobile"},
                {"number": "+14155550142", "type": "mobile"},  # the same number again
                {"number": "+44 20 7946 0958", "type": None},
                {"number": "not a number", "type": "office"},
            ],
        },
        "meta": {"creditsUsed": 500},
    }
    record = one(legacy)
    assert record.phones == (
        Phone(number="+14155550142", type="mobile", source_rank=0),
        Phone(number="+442079460958", type=None, source_rank=2),
    )


def test_phones_bulk_results() -> None:
    lina, tomas = flatten(PHONES_RESULTS)
    assert lina.phones == (Phone(number="+14155550142"),) and lina.person_key == LINA_KEY
    assert (lina.cost_credits, lina.cost_basis) == (500, CostBasis.REPORTED)
    assert tomas.record_status is RecordStatus.NOT_FOUND
    assert tomas.reason == "No phone numbers found for this profile"
    assert tomas.person_key == "li:/in/tomas-rieger" and tomas.cost_credits == 0


def test_phone_numbers_nobody_can_read_are_a_failure_not_a_miss() -> None:
    odd = copy.deepcopy(PHONES_SINGLE)
    odd["data"]["phones"] = ["12"]
    record = one(odd)
    assert record.record_status is RecordStatus.FAILED and "'12'" in (record.reason or "")


# ------------------------------------------------------------------------------ 2.9 webhooks

FINDER_HOOK = {
    "event": "webhook:finder_lookup.completed",
    "timestamp": "2026-03-02T10:21:07.000Z",
    "data": {
        "job_id": "6f1c2a9e4b7d3c0012ab3600",
        "result_id": LINA,
        "result": {
            "email": LINA,
            "result": "found",
            "confidence": "high",
            "is_catch_all": False,
            "domain": "northwind-labs.io",
            "provider": "GOOGLE",
            "message": "Email found (high confidence)",
        },
    },
}
FINDER_DONE = {
    "event": "finder.completed",
    "timestamp": "2026-03-02T10:21:30.000Z",
    "data": {
        "job_id": "6f1c2a9e4b7d3c0012ab3600",
        "status": "completed",
        "total_items": 2,
        "successful": 1,
        "failed": 1,
        "completed_at": "2026-03-02T10:21:30.000Z",
        "found": 1,
        "not_found": 1,
    },
}
PHONE_HOOK = {
    "event": "webhook:phone_result.completed",
    "timestamp": "2026-03-02T10:30:02.000Z",
    "data": {
        "job_id": "6f1c2a9e4b7d3c0012ab3900",
        "result_id": LINA,
        "type": "success",
        "phones": ["+14155550142"],
        "message": "Phone numbers found",
    },
}


def test_finder_callback() -> None:
    record = one(FINDER_HOOK)
    assert record.record_status is RecordStatus.FOUND
    assert (record.email, record.email_status) == (LINA, EmailStatus.DELIVERABLE)
    assert record.provider_ref == "finder:6f1c2a9e4b7d3c0012ab3600"
    assert record.request_correlation == LINA  # the callback's result_id
    assert (record.cost_credits, record.cost_basis) == (10, CostBasis.TABLE)  # never settled
    assert record.raw == FINDER_HOOK


def test_finder_callback_takes_the_requests_key_by_name_and_domain() -> None:
    lina = EnrichmentRequest(
        person_key="nd:lina",
        correlation="C-7",
        first_name="Lina",
        last_name="Okafor",
        company_domain="northwind-labs.io",
        fields={WantedField.EMAIL},
    )
    other = lina.model_copy(
        update={"person_key": "nd:lena", "first_name": "Lena", "correlation": "C-8"}
    )
    assert one(FINDER_HOOK, requests=[other, lina]).person_key == "nd:lina"
    assert one(FINDER_HOOK, requests=[other, lina]).request_correlation == "C-7"


def test_completion_callbacks_carry_nobody() -> None:
    completions = [
        FINDER_DONE,
        {"event": "validation.completed", "data": {"job_id": "x", "status": "completed"}},
        {"event": "webhook:phone_completion.completed", "data": {"job_id": "x"}},
        {"event": "webhook:email_completion.completed", "data": {"job_id": "x"}},
    ]
    for body in completions:
        assert parse_webhook(body) == [] and flatten(body) == []


def test_phone_callbacks() -> None:
    record = one(PHONE_HOOK)
    assert record.phones == (Phone(number="+14155550142"),) and record.person_key == LINA_KEY
    assert record.provider_ref == "phones:6f1c2a9e4b7d3c0012ab3900" and record.cost_credits == 500
    by_url = copy.deepcopy(PHONE_HOOK)
    by_url["data"].update(result_id=LINA_URL, type="no_match", phones=[], message="No match")
    missing = one(by_url)
    assert (
        missing.record_status is RecordStatus.NOT_FOUND
        and missing.person_key == "li:/in/lina-okafor"
    )
    assert missing.cost_credits == 0
    errored = copy.deepcopy(PHONE_HOOK)
    errored["data"].update(type="error", phones=None, error="upstream timeout")
    failed = one(errored)
    assert failed.record_status is RecordStatus.FAILED and failed.reason == "upstream timeout"


def test_validation_callback() -> None:
    body = {
        "event": "webhook:email_lookup.completed",
        "timestamp": "2026-03-02T10:20:00.000Z",
        "data": {
            "job_id": "6f1c2a9e4b7d3c0012ab34cd",
            "result_id": "ops@harbor-ops.com",
            "result": {
                "email": "ops@harbor-ops.com",
                "result": "risky",
                "message": "Domain accepts all addresses; delivery not guaranteed",
                "provider": "SMTP",
                "confidence": "low",
                "is_catch_all": True,
                "domain": "harbor-ops.com",
            },
        },
    }
    record = one(body)
    assert (record.email, record.email_status) == ("ops@harbor-ops.com", EmailStatus.RISKY)
    assert (record.cost_credits, record.provider_ref) == (0, "validation:6f1c2a9e4b7d3c0012ab34cd")


def test_reverse_lookup_callbacks() -> None:
    found = {
        "event": "webhook:email_result.completed",
        "timestamp": "2026-03-02T10:40:00.000Z",
        "data": {
            "job_id": "665d2f8b9c5b2a0015d0bc10",
            "result_id": LINA,
            "type": "success",
            "result": REVERSE_SINGLE["data"],
            "message": "Person found",
        },
    }
    record = one(found)
    assert record.linkedin == LINA_PROFILE and record.request_correlation == LINA
    assert record.provider_ref == "reverse:665d2f8b9c5b2a0015d0bc10" and record.cost_credits == 10
    request = EnrichmentRequest(person_key=LINA_KEY, correlation="C-1", email=LINA.upper())
    assert one(found, requests=[request]).person_key == LINA_KEY  # matched on result_id
    nothing = copy.deepcopy(found)
    nothing["data"].update(type="no_match", message="No information found")
    del nothing["data"]["result"]
    missing = one(nothing)
    assert missing.record_status is RecordStatus.NOT_FOUND and missing.person_key == LINA_KEY
    assert missing.reason == "No information found"
    broken = copy.deepcopy(nothing)
    broken["data"].update(type="error", error="lookup failed")
    assert one(broken).record_status is RecordStatus.FAILED


# ------------------------------------------------------------------------------- 2.10 errors


@pytest.mark.parametrize(
    "body",
    [
        {
            "type": "https://dev.enrich.so/errors/insufficient-credits",
            "title": "Insufficient Credits",
            "status": 402,
            "detail": "Not enough credits. Required: 10, available: 3",
            "instance": "/requests/3fa85f64-5717-4562-b3fc-2c963f66afa6",
        },
        {"error": "Payment Required", "message": "Not enough credits", "statusCode": 402},
        {"success": False, "error": "Bad Request", "message": "body/email Invalid email"},
    ],
)
def test_error_bodies_are_one_failed_record(body: dict[str, Any]) -> None:
    record = one(body)
    assert record.record_status is RecordStatus.FAILED and record.raw == body
    assert "credits" in (record.reason or "") or "Invalid email" in (record.reason or "")


# -------------------------------------------------------------------------- unexpected shapes


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ("just text", "expected a JSON object"),
        (42, "expected a JSON object"),
        ({"hello": "world"}, "no `data` object"),
        ({"success": True, "data": ["a"]}, "no `data` object"),
        ({"success": True, "data": {"weird": 1}}, "unrecognised enrich.so `data`"),
        ({"event": "webhook:mystery.completed", "data": {}}, "unrecognised enrich.so webhook"),
        (
            {"success": True, "data": {"organizationId": "x", "balance": 5}},
            "unrecognised enrich.so `data`",
        ),
    ],
)
def test_unexpected_shapes_fail_with_the_payload_kept(payload: Any, why: str) -> None:
    record = one(payload)
    assert record.record_status is RecordStatus.FAILED and why in (record.reason or "")
    assert record.raw == (payload if isinstance(payload, dict) else {"payload": payload})


def test_one_bad_row_does_not_cost_the_others() -> None:
    page = copy.deepcopy(PHONES_RESULTS)
    page["data"]["results"].insert(1, "garbage")
    page["data"]["results"].insert(2, {"surprise": True})
    page["data"]["results"].append({"email": LINA, "phones": "not-a-list", "found": 3})
    records = flatten(page)
    assert [r.record_status for r in records] == [
        RecordStatus.FOUND,
        RecordStatus.FAILED,
        RecordStatus.FAILED,
        RecordStatus.NOT_FOUND,
        RecordStatus.NOT_FOUND,
    ]
    assert records[1].raw["result"] == "garbage"
    assert records[2].raw["result"] == {"surprise": True}


def test_a_list_of_payloads_is_flattened_in_order() -> None:
    records = flatten([FINDER_HOOK, FINDER_DONE, PHONE_HOOK, "junk"])
    assert [r.provider_ref for r in records] == [
        "finder:6f1c2a9e4b7d3c0012ab3600",
        "phones:6f1c2a9e4b7d3c0012ab3900",
        None,
    ]
    assert records[-1].record_status is RecordStatus.FAILED


def test_a_partial_page_uses_the_price_table() -> None:
    """Page 2 of a batch: the settled creditsUsed covers rows on other pages too."""
    page = copy.deepcopy(PHONES_RESULTS)
    page["data"].update(page=2)
    lina, tomas = flatten(page)
    assert (lina.cost_credits, lina.cost_basis) == (500, CostBasis.TABLE)
    assert (tomas.cost_credits, tomas.cost_basis) == (0, CostBasis.TABLE)


def test_apportion_spreads_the_receipt_over_charged_rows() -> None:
    assert apportion("finder", [True, False, True], 20, True) == [
        (10, CostBasis.REPORTED),
        (0, CostBasis.REPORTED),
        (10, CostBasis.REPORTED),
    ]
    # Odd totals keep their sum; a receipt with no charged row to pin it on is spread evenly.
    assert [c for c, _ in apportion("finder", [True, True, True], 25, True)] == [9, 8, 8]
    assert [c for c, _ in apportion("validation", [False, False], 1, True)] == [1, 0]
    assert apportion("phones", [True, False], None, True) == [
        (500, CostBasis.TABLE),
        (0, CostBasis.TABLE),
    ]
