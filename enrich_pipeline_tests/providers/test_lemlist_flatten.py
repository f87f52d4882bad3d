"""lemlist flatten(): every example payload of providers.md section 1 written out, with the records
it must become (emails, statuses, E.164 phones, LinkedIn fields, costs), plus the shapes the doc
marks CONFLICT/ASSUMPTION and payloads in no known shape (FAILED, raw kept). No HTTP here."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.providers.errors import AuthenticationError
from enrich_pipeline.providers.lemlist import flatten, parse_webhook

LINA_INPUT = {
    "firstName": "Lina",
    "lastName": "Okafor",
    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
    "companyName": "Northwind Labs",
    "companyDomain": "northwind-labs.io",
}
LINA_KEY = "li:/in/lina-okafor"

# providers.md 1.6 — GET /enrich/{id}, in progress (HTTP 202)
POLL_IN_PROGRESS = {
    "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
    "enrichmentStatus": "in-progress",
    "input": LINA_INPUT,
    "data": {},
}
# providers.md 1.6 — GET /enrich/{id}, done (HTTP 200)
POLL_DONE = {
    "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
    "enrichmentStatus": "done",
    "input": LINA_INPUT,
    "data": {"email": {"email": "lina.okafor@northwind-labs.io", "notFound": False}},
}
# providers.md 1.6 — GET /enrich/{id}, unknown id (HTTP 404)
POLL_NOT_FOUND = {
    "enrichmentId": "enr_Q3vT8kLmN2pXw7RzA",
    "enrichmentStatus": "not-found",
    "error": "Enrichment not found",
    "data": {},
}
# providers.md 1.3 — POST /enrich answer
SINGLE_SUBMIT = {"id": "enr_Q3vT8kLmN2pXw7RzA"}
# providers.md 1.5 — POST /v2/enrichments/bulk answer
BULK_SUBMIT = [
    {"id": "enr_Q3vT8kLmN2pXw7RzA", "metadata": {"crm_id": "C-1001"}},
    {"id": "enr_b8YtR1cVn5KqW3zLp", "metadata": "C-1002"},
    {"error": "MISSING_INPUTS", "metadata": "C-1003"},
]
# providers.md 1.7 — enrichmentDone callback body
WEBHOOK_DONE: dict[str, Any] = {
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
                            "company": {
                                "id": 81234567,
                                "name": "Northwind Labs",
                                "domain": "northwind-labs.io",
                            },
                            "date": {"start": {"month": 4, "year": 2023}, "end": {}},
                            "profilePositions": [
                                {
                                    "title": "Head of Revenue Operations",
                                    "companyName": "Northwind Labs",
                                    "date": {"start": {"month": 4, "year": 2023}, "end": {}},
                                }
                            ],
                        }
                    ],
                },
            },
        }
    ],
}
LINA_PROFILE = LinkedinProfile(
    url="https://www.linkedin.com/in/lina-okafor",
    provider_profile_id="512340987",
    first_name="Lina",
    last_name="Okafor",
    full_name="Lina Okafor",
    headline="Head of Revenue Operations",
    title="Head of Revenue Operations",
    company_name="Northwind Labs",
    company_domain="northwind-labs.io",
    location="Oakland, California, United States",
    skills=("Salesforce", "SQL", "Forecasting"),
    positions=(
        Position(
            title="Head of Revenue Operations",
            company_name="Northwind Labs",
            company_domain="northwind-labs.io",
            start_year=2023,
            start_month=4,
            is_current=True,
        ),
    ),
)
# providers.md 1.7 ASSUMPTION (d): enrichmentError = same envelope, `data[i].error`
WEBHOOK_ERROR = {
    "type": "enrichmentError",
    "data": [{"id": "enr_b8YtR1cVn5KqW3zLp", "metadata": "C-1002", "error": "Enrichment failed"}],
}


# ------------------------------------------------------------------ documented examples


def test_poll_in_progress_is_pending_with_its_ref() -> None:
    (record,) = flatten(POLL_IN_PROGRESS)
    assert record.record_status is RecordStatus.PENDING
    assert (record.provider, record.provider_ref) == ("lemlist", "enr_Q3vT8kLmN2pXw7RzA")
    assert record.person_key == LINA_KEY  # from the input echo (providers.md 4.2)
    assert (record.email, record.cost_credits, record.cost_basis) == (None, None, CostBasis.UNKNOWN)
    assert record.raw == POLL_IN_PROGRESS


def test_poll_done_example_is_found_unverified_and_charged() -> None:
    (record,) = flatten(POLL_DONE)
    assert record.record_status is RecordStatus.FOUND
    assert record.email == "lina.okafor@northwind-labs.io"
    # The documented example carries no status: unverified (4.3 unknown), but it was found, so
    # the table's 5 credits are counted (a budget must not under-count what lemlist charged).
    assert record.email_status is EmailStatus.UNKNOWN
    assert (record.cost_credits, record.cost_basis) == (5, CostBasis.TABLE)
    assert (record.person_key, record.provider_ref) == (LINA_KEY, "enr_Q3vT8kLmN2pXw7RzA")
    assert record.raw == POLL_DONE


def test_poll_not_found_is_failed_not_not_found() -> None:
    (record,) = flatten(POLL_NOT_FOUND)
    assert record.record_status is RecordStatus.FAILED  # an unknown enrichment is not an answer
    assert record.reason == "enrichment not found"
    assert record.provider_ref == "enr_Q3vT8kLmN2pXw7RzA"
    assert record.raw == POLL_NOT_FOUND


def test_single_submit_answer_is_pending() -> None:
    (record,) = flatten(SINGLE_SUBMIT)
    assert (record.record_status, record.provider_ref) == (
        RecordStatus.PENDING,
        "enr_Q3vT8kLmN2pXw7RzA",
    )


def test_bulk_submit_answer_is_pending_per_id_and_failed_per_error() -> None:
    records = flatten(BULK_SUBMIT)
    assert [r.record_status for r in records] == [
        RecordStatus.PENDING,
        RecordStatus.PENDING,
        RecordStatus.FAILED,
    ]
    assert [r.provider_ref for r in records] == [
        "enr_Q3vT8kLmN2pXw7RzA",
        "enr_b8YtR1cVn5KqW3zLp",
        None,
    ]
    assert [r.request_correlation for r in records] == ['{"crm_id":"C-1001"}', "C-1002", "C-1003"]
    assert records[2].reason == "MISSING_INPUTS"
    assert (records[2].cost_credits, records[2].cost_basis) == (0, CostBasis.TABLE)
    assert [r.raw for r in records] == BULK_SUBMIT


def test_bulk_submit_answer_correlates_to_requests_by_metadata() -> None:
    requests = [
        EnrichmentRequest(person_key=LINA_KEY, correlation="C-1001"),
        EnrichmentRequest(person_key="em:marc.devlin@harbor-ops.com", correlation="C-1002"),
        EnrichmentRequest(person_key="nd:ana", correlation="C-1003", first_name="Ana"),
    ]
    records = flatten(BULK_SUBMIT, requests=requests)
    assert [r.person_key for r in records] == [r.person_key for r in requests]
    assert [r.request_correlation for r in records] == ["C-1001", "C-1002", "C-1003"]


def test_webhook_done_example_maps_every_field() -> None:
    (record,) = flatten(WEBHOOK_DONE)
    assert record.record_status is RecordStatus.FOUND
    assert record.provider_ref == "enr_Q3vT8kLmN2pXw7RzA"
    assert record.person_key == LINA_KEY  # from the profile URL: the metadata is not ours
    assert record.request_correlation == '{"crm_id":"C-1001"}'
    assert (record.email, record.email_status) == (
        "lina.okafor@northwind-labs.io",
        EmailStatus.DELIVERABLE,
    )
    assert record.email_confidence is None
    assert record.phones == (Phone(number="+14155550142", type=None, source_rank=0),)
    assert record.linkedin == LINA_PROFILE
    assert (record.cost_credits, record.cost_basis) == (5 + 20 + 1, CostBasis.TABLE)
    assert record.raw == WEBHOOK_DONE  # one item: its own webhook body is the whole body


def test_webhook_error_example_is_failed_with_the_reason() -> None:
    (record,) = flatten(WEBHOOK_ERROR)
    assert record.record_status is RecordStatus.FAILED
    assert (record.reason, record.provider_ref) == ("Enrichment failed", "enr_b8YtR1cVn5KqW3zLp")
    assert (record.request_correlation, record.cost_credits) == ("C-1002", 0)


def test_lead_409_body_is_a_failed_record() -> None:
    body = {
        "error": "Enrichment skipped: contact already has the requested data or was recently enriched",
        "code": "ALREADY_ENRICHED",
    }
    (record,) = flatten(body)
    assert record.record_status is RecordStatus.FAILED
    assert record.raw == body


# ----------------------------------------------------------------- lists and correlation


def test_a_list_of_bodies_and_a_webhook_with_many_items() -> None:
    batch = copy.deepcopy(WEBHOOK_DONE)
    second = {"id": "enr_2", "metadata": "em:marc@harbor-ops.com", "data": {"verify": {}}}
    batch["data"].append(second)
    records = flatten([POLL_IN_PROGRESS, batch, WEBHOOK_ERROR])

    assert [r.record_status for r in records] == [
        RecordStatus.PENDING,
        RecordStatus.FOUND,
        RecordStatus.NOT_FOUND,
        RecordStatus.FAILED,
    ]
    # each record keeps a webhook body of its own, holding only its item
    assert records[2].raw == {"type": "enrichmentDone", "data": [second]}
    assert records[2].person_key == "em:marc@harbor-ops.com"  # our metadata is the person_key
    assert records[2].cost_credits == 1  # a verification costs its credit whatever the verdict


def test_webhook_metadata_finds_our_request() -> None:
    request = EnrichmentRequest(
        person_key="nd:abc",
        correlation="row-7",
        first_name="Lina",
        last_name="Okafor",
        company_name="Northwind Labs",
        company_domain="northwind-labs.io",
        fields=frozenset({WantedField.EMAIL, WantedField.LINKEDIN}),
    )
    body = {
        "type": "enrichmentDone",
        "data": [{"id": "enr_x", "metadata": "nd:abc", "data": {"find_email": {"notFound": True}}}],
    }
    (record,) = flatten(body, requests=[request])
    assert (record.person_key, record.request_correlation) == ("nd:abc", "row-7")
    # linkedin_enrichment was requested but omitted: not found, and still charged its 1 credit
    assert (record.record_status, record.cost_credits) == (RecordStatus.NOT_FOUND, 1)
    assert record.reason == "lemlist found nothing for find_email, linkedin_enrichment"


def test_poll_body_correlates_by_its_input_echo() -> None:
    request = EnrichmentRequest(
        person_key=LINA_KEY, correlation="C-1", linkedin_url="linkedin.com/in/Lina-Okafor/"
    )
    (record,) = flatten(POLL_DONE, requests=[request])
    assert (record.person_key, record.request_correlation) == (LINA_KEY, "C-1")


# ------------------------------------------------------- both naming schemes, statuses, values


@pytest.mark.parametrize(
    "data",
    [
        {  # GET /enrich/{id} naming (providers.md 1.6 ASSUMPTION)
            "email": {"email": "Ana.Ruiz@Acme.io", "notFound": False, "status": "risky"},
            "phone": {"phone": "+1 (415) 555-0143", "notFound": False},
            "linkedin": {"linkedinUrl": "https://linkedin.com/in/ana-ruiz/", "firstName": "Ana"},
            "verify": {"email": "ana.ruiz@acme.io", "status": "risky", "notFound": False},
        },
        {  # webhook naming (providers.md 1.7)
            "find_email": {"email": "ana.ruiz@acme.io", "status": "risky"},
            "find_phone": {"phone": "+14155550143"},
            "linkedin_enrichment": {"linkedinUrl": "https://www.linkedin.com/in/ana-ruiz"},
            "verifyEmail": {"email": "ana.ruiz@acme.io", "status": "risky"},
        },
    ],
)
def test_both_naming_schemes_read_the_same(data: dict[str, Any]) -> None:
    body = {"enrichmentId": "enr_a", "enrichmentStatus": "done", "input": {}, "data": data}
    (record,) = flatten(body)
    assert record.record_status is RecordStatus.FOUND
    assert (record.email, record.email_status) == ("ana.ruiz@acme.io", EmailStatus.RISKY)
    assert [p.number for p in record.phones] == ["+14155550143"]
    assert record.linkedin is not None
    assert record.linkedin.url == "https://www.linkedin.com/in/ana-ruiz"
    assert record.person_key == "li:/in/ana-ruiz"
    assert record.cost_credits == 5 + 20 + 1 + 1


@pytest.mark.parametrize(
    ("status", "normalised", "cost"),
    [
        ("deliverable", EmailStatus.DELIVERABLE, 5),
        ("risky", EmailStatus.RISKY, 5),
        ("undeliverable", EmailStatus.UNDELIVERABLE, 0),
        ("unknown", EmailStatus.UNKNOWN, 0),
        ("Deliverable", EmailStatus.DELIVERABLE, 5),
        # unrecognised -> unknown (4.3), but charged: it may be a synonym of risky
        ("catch-all", EmailStatus.UNKNOWN, 5),
        # no status at all (the documented poll shape, 1.6): unverified, yet found and charged
        (None, EmailStatus.UNKNOWN, 5),
    ],
)
def test_email_status_and_the_find_email_price(
    status: str | None, normalised: EmailStatus, cost: int
) -> None:
    found = {"email": "a@b.io", "status": status}
    (record,) = flatten(
        {"type": "enrichmentDone", "data": [{"id": "e", "data": {"find_email": found}}]}
    )
    assert (record.email_status, record.cost_credits) == (normalised, cost)


def test_a_verification_of_the_found_address_sets_its_status() -> None:
    data = {
        "find_email": {"email": "a@b.io", "status": "deliverable"},
        "verify": {"email": "A@B.io", "status": "undeliverable"},
    }
    (record,) = flatten({"type": "enrichmentDone", "data": [{"id": "e", "data": data}]})
    assert (record.email, record.email_status) == ("a@b.io", EmailStatus.UNDELIVERABLE)


@pytest.mark.parametrize(
    "data",
    [
        {"find_email": {"notFound": True}, "find_phone": {"notFound": True}},
        {"email": {"email": None, "notFound": True}, "phone": {"phone": None, "notFound": True}},
        {},
        {"find_email": None, "find_phone": {}},
    ],
)
def test_not_found_shapes(data: dict[str, Any]) -> None:
    (record,) = flatten({"type": "enrichmentDone", "data": [{"id": "e", "data": data}]})
    assert record.record_status is RecordStatus.NOT_FOUND
    assert (record.email, record.phones, record.cost_credits) == (None, (), 0)


def test_phones_are_e164_deduped_and_unreadable_ones_noted() -> None:
    data = {"find_phone": {"phone": ["+44 20 7946 0958", "+442079460958", "12"]}}
    (record,) = flatten({"type": "enrichmentDone", "data": [{"id": "e", "data": data}]})
    assert record.phones == (Phone(number="+442079460958", source_rank=0),)
    assert record.reason is not None and "'12' is not a valid number" in record.reason
    assert record.cost_credits == 20


def test_positions_groups_roles_dates_and_the_current_one() -> None:
    profile = {
        "linkedinUrl": "https://www.linkedin.com/in/sam-lee",
        "linkedinClassicId": "ACoAAB12",
        "firstName": "Sam",
        "picture": "https://media.example.test/sam.jpg",
        "summary": "Builds teams.",
        "skills": "Go,  Rust ,",
        "positionGroups": [
            {
                "company": {"name": "Acme", "website": "https://www.acme.co.uk/about"},
                "date": {"start": {"month": 1, "year": 2020}, "end": {}},
                "profilePositions": [
                    {
                        "title": "CTO",
                        "description": "All of it.",
                        "date": {"start": {"month": 6, "year": 2022}, "end": {}},
                    },
                    {
                        "title": "Engineer",
                        "companyName": "Acme Ltd",
                        "date": {
                            "start": {"month": 1, "year": 2020},
                            "end": {"month": 5, "year": 2022},
                        },
                    },
                ],
            },
            {
                "company": {"name": "Old Co"},
                "date": {"start": {"year": 2015}, "end": {"year": 2019}},
            },
        ],
    }
    body = {
        "type": "enrichmentDone",
        "data": [{"id": "e", "data": {"linkedin_enrichment": profile}}],
    }
    (record,) = flatten(body)
    assert record.linkedin == LinkedinProfile(
        url="https://www.linkedin.com/in/sam-lee",
        provider_profile_id="ACoAAB12",
        first_name="Sam",
        full_name="Sam",
        summary="Builds teams.",
        skills=("Go", "Rust"),
        photo_url="https://media.example.test/sam.jpg",
        positions=(
            Position(
                title="CTO",
                company_name="Acme",
                company_domain="acme.co.uk",
                start_year=2022,
                start_month=6,
                is_current=True,
                description="All of it.",
            ),
            Position(
                title="Engineer",
                company_name="Acme Ltd",
                company_domain="acme.co.uk",
                start_year=2020,
                start_month=1,
                end_year=2022,
                end_month=5,
            ),
            Position(company_name="Old Co", start_year=2015, end_year=2019),
        ),
    )
    assert record.person_key == "li:/in/sam-lee"


def test_an_error_keeps_the_values_that_were_paid_for() -> None:
    # The sandbox's out-of-credits shape: done, an `error`, and what could be paid still there.
    body = {
        "enrichmentId": "enr_c",
        "enrichmentStatus": "done",
        "input": {"linkedinUrl": "https://www.linkedin.com/in/x"},
        "data": {
            "email": {"email": "x@y.io", "notFound": False, "status": "deliverable"},
            "phone": {"phone": None, "notFound": True},
            "linkedin": {"notFound": True},
        },
        "error": "Insufficient credits",
    }
    (record,) = flatten(body)
    assert (record.record_status, record.reason) == (RecordStatus.FAILED, "Insufficient credits")
    assert (record.email, record.cost_credits) == ("x@y.io", 5)


def test_the_generic_enrich_object_reports_its_cost() -> None:
    body = {"_id": "enr_g", "status": "completed", "email": "g@h.io", "credits": 5}
    (record,) = flatten(body)
    assert (record.record_status, record.email) == (RecordStatus.FOUND, "g@h.io")
    assert (record.cost_credits, record.cost_basis) == (5, CostBasis.REPORTED)
    (pending,) = flatten({"_id": "enr_g", "status": "pending"})
    assert pending.record_status is RecordStatus.PENDING


# --------------------------------------------------------------------- unexpected shapes


@pytest.mark.parametrize(
    "payload",
    [
        "hello",
        42,
        None,
        {"credits": 940, "details": {"remaining": {"total": 940}}},  # a /team/credits body
        {"type": "emailsSent", "data": {}},  # another team-hook event
        {"enrichmentId": "enr_z", "enrichmentStatus": "exploded", "data": {}},
        {"enrichmentId": "enr_z", "enrichmentStatus": "done", "data": ["not", "an", "object"]},
    ],
)
def test_unexpected_shapes_are_one_failed_record_keeping_the_payload(payload: Any) -> None:
    (record,) = flatten(payload)
    assert record.record_status is RecordStatus.FAILED
    assert record.reason is not None and record.reason.startswith("unexpected lemlist payload")
    assert record.raw == (payload if isinstance(payload, dict) else {"payload": payload})


def test_a_renamed_field_is_failed_not_silently_not_found() -> None:
    # Schema drift: `find_email` renamed, `email.address` instead of `email.email`.
    for data in ({"emailFinder": {"email": "a@b.io"}}, {"email": {"address": "a@b.io"}}):
        body = {"enrichmentId": "enr_d", "enrichmentStatus": "done", "data": data}
        (record,) = flatten(body)
        assert record.record_status is RecordStatus.FAILED
        assert record.reason is not None and record.reason.startswith("unreadable result")
        assert record.raw == body


def test_one_bad_element_does_not_lose_the_others() -> None:
    records = flatten(
        [POLL_DONE, "garbage", {"type": "enrichmentDone", "data": [7]}, SINGLE_SUBMIT]
    )
    assert [r.record_status for r in records] == [
        RecordStatus.FOUND,
        RecordStatus.FAILED,
        RecordStatus.FAILED,
        RecordStatus.PENDING,
    ]
    assert records[1].raw == {"payload": "garbage"}


# -------------------------------------------------------------------------- parse_webhook


def test_parse_webhook_reads_json_text_and_checks_the_shared_secret() -> None:
    signed = {**WEBHOOK_DONE, "secret": "s3cret"}
    (record,) = parse_webhook(json.dumps(signed), secret="s3cret")
    assert record.email == "lina.okafor@northwind-labs.io"
    assert "secret" not in json.dumps(record.raw)  # never stored with the payload
    with pytest.raises(AuthenticationError):
        parse_webhook(signed, secret="other")
    with pytest.raises(AuthenticationError):
        parse_webhook(WEBHOOK_DONE, secret="s3cret")
    (garbled,) = parse_webhook(b"{not json")
    assert garbled.record_status is RecordStatus.FAILED
