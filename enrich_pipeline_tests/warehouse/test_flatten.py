"""flatten: hand-built enrichment records with their expected contacts, positions and channels
written out (best-of rules of providers.md 4.3). No I/O, no sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from enrich_pipeline.model import (
    CostBasis,
    Education,
    EmailStatus,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
)
from enrich_pipeline.warehouse import flatten
from enrich_pipeline.warehouse.flatten import (
    ATTEMPTS_SCHEMA,
    CHANNELS_SCHEMA,
    CONTACTS_SCHEMA,
    POSITIONS_SCHEMA,
    attempts_table,
    build_channels,
    build_contacts,
    build_positions,
)

DAY = "2024-05-01"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FOUND, NOT_FOUND = RecordStatus.FOUND, RecordStatus.NOT_FOUND
PENDING, FAILED = RecordStatus.PENDING, RecordStatus.FAILED
DELIVERABLE, RISKY = EmailStatus.DELIVERABLE, EmailStatus.RISKY
UNKNOWN, UNDELIVERABLE = EmailStatus.UNKNOWN, EmailStatus.UNDELIVERABLE


def result(
    person_key: str | None,
    provider: str,
    status: RecordStatus = FOUND,
    *,
    minutes: int = 0,
    **fields: Any,
) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=person_key,
        provider=provider,
        record_status=status,
        fetched_at=T0 + timedelta(minutes=minutes),
        **fields,
    )


def prospects(*keys: str) -> pa.Table:
    return pa.table({"person_key": list(keys), "first_name": [k.upper() for k in keys]})


def contacts_by_key(
    results: list[EnrichmentResult], keys: list[str] | None = None, **options: Any
) -> dict[str, dict[str, Any]]:
    attempts = attempts_table(results, day=DAY)
    people = keys or sorted({r.person_key for r in results if r.person_key})
    table = build_contacts(prospects(*people), attempts, **options)
    assert table.schema == CONTACTS_SCHEMA
    return {row["person_key"]: row for row in table.to_pylist()}


def email_of(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    return row["email"], row["email_status"], row["email_provider"]


# ----------------------------------------------------------------------------- attempts table


def test_attempts_table_has_one_typed_row_per_result() -> None:
    profile = LinkedinProfile(
        url="https://www.linkedin.com/in/lina-okafor",
        headline="CTO at Northwind",
        skills=("Go", "SQL"),
        positions=(
            Position(title="CTO", company_name="Northwind", start_year=2021, is_current=True),
        ),
        education=(Education(school_name="TU Delft", end_year=2012),),
    )
    results = [
        result(
            "li:/in/lina-okafor",
            "lemlist",
            provider_ref="enr_1",
            request_correlation="C-1",
            email="lina@northwind.io",
            email_status=DELIVERABLE,
            email_confidence="high",
            phones=(Phone(number="+14155550100", type="mobile"),),
            linkedin=profile,
            cost_credits=6,
            cost_basis=CostBasis.TABLE,
        ),
        EnrichmentResult(
            person_key="em:bo@acme.io",
            provider="thehog",
            provider_ref="op_9",
            record_status=FAILED,
            reason="job failed",
            fetched_at=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        ),
        EnrichmentResult(
            person_key=None,
            provider="enrichso",
            record_status=NOT_FOUND,
            fetched_at=datetime(2024, 5, 1, 9, 30),  # naive: taken as UTC
        ),
    ]
    table = attempts_table(results, day=DAY, cache_hits={"op_9"})
    assert table.schema == ATTEMPTS_SCHEMA
    rows = table.to_pylist()
    assert len(rows) == 3
    lina = rows[0]
    assert lina["record_status"] == "found"
    assert lina["email_status"] == "deliverable"
    assert lina["cost_basis"] == "table"
    assert lina["phones"] == [{"number": "+14155550100", "type": "mobile", "source_rank": 0}]
    assert lina["linkedin"]["headline"] == "CTO at Northwind"
    assert lina["linkedin"]["skills"] == ["Go", "SQL"]
    assert lina["linkedin"]["positions"][0]["title"] == "CTO"
    assert lina["linkedin"]["positions"][0]["is_current"] is True
    assert lina["linkedin"]["education"] == [
        {"school_name": "TU Delft", "degree_name": None, "start_year": None, "end_year": 2012}
    ]
    assert lina["fetched_at"] == T0
    assert (lina["day"], lina["from_cache"]) == (DAY, False)
    assert rows[1]["fetched_at"] == T0  # 14:00+02:00 is 12:00 UTC
    assert (rows[1]["from_cache"], rows[1]["reason"], rows[1]["linkedin"]) == (
        True,
        "job failed",
        None,
    )
    assert rows[2]["fetched_at"] == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert rows[2]["phones"] == []


def test_cache_hits_match_person_keys() -> None:
    table = attempts_table(
        [result("em:a@x.io", "lemlist"), result("em:b@x.io", "lemlist")],
        day=DAY,
        cache_hits={"em:b@x.io"},
    )
    assert table.column("from_cache").to_pylist() == [False, True]


# ----------------------------------------------------------------------------------- emails


def test_deliverable_beats_risky_from_an_earlier_provider() -> None:
    rows = contacts_by_key(
        [
            result("p1", "lemlist", email="p1@risky.io", email_status=RISKY),
            result("p1", "thehog", email="p1@good.io", email_status=DELIVERABLE),
        ]
    )
    assert email_of(rows["p1"]) == ("p1@good.io", "deliverable", "thehog")


def test_same_status_goes_to_provider_order_then_newest() -> None:
    results = [
        result("p1", "thehog", email="hog@x.io", email_status=DELIVERABLE, minutes=9),
        result("p1", "enrichso", email="so@x.io", email_status=DELIVERABLE),
        result("p2", "enrichso", email="old@x.io", email_status=RISKY, minutes=0),
        result("p2", "enrichso", email="new@x.io", email_status=RISKY, minutes=5),
    ]
    rows = contacts_by_key(results)
    assert email_of(rows["p1"]) == ("so@x.io", "deliverable", "enrichso")
    assert email_of(rows["p2"]) == ("new@x.io", "risky", "enrichso")
    reordered = contacts_by_key(results, provider_order=("thehog", "enrichso", "lemlist"))
    assert email_of(reordered["p1"]) == ("hog@x.io", "deliverable", "thehog")


def test_undeliverable_is_reported_only_when_nothing_better_exists() -> None:
    rows = contacts_by_key(
        [
            result("p1", "lemlist", email="bounce@x.io", email_status=UNDELIVERABLE),
            result("p1", "enrichso", email="maybe@x.io", email_status=UNKNOWN),
            result("p2", "lemlist", email="only@x.io", email_status=UNDELIVERABLE),
            result("p3", "thehog", email="Mixed@X.io"),  # no status given: unknown, lower-cased
        ]
    )
    assert email_of(rows["p1"]) == ("maybe@x.io", "unknown", "enrichso")
    assert email_of(rows["p2"]) == ("only@x.io", "undeliverable", "lemlist")
    assert rows["p2"]["found_email"] is True
    assert email_of(rows["p3"]) == ("mixed@x.io", "unknown", "thehog")


def test_pending_and_failed_never_win_anything() -> None:
    profile = LinkedinProfile(url="https://www.linkedin.com/in/ghost", headline="Ghost")
    ghost_fields: dict[str, Any] = {
        "email": "ghost@x.io",
        "email_status": DELIVERABLE,
        "phones": (Phone(number="+14155550199"),),
        "linkedin": profile,
    }
    rows = contacts_by_key(
        [
            result("p1", "lemlist", FAILED, **ghost_fields),
            result("p1", "enrichso", PENDING, **ghost_fields),
            result("p1", "thehog", email="real@x.io", email_status=RISKY),
            result("p2", "lemlist", PENDING, **ghost_fields),
            result("p2", "thehog", FAILED, reason="503", **ghost_fields),
        ]
    )
    assert email_of(rows["p1"]) == ("real@x.io", "risky", "thehog")
    assert (rows["p1"]["phone"], rows["p1"]["linkedin_provider"]) == (None, None)
    p2 = rows["p2"]
    assert (p2["email"], p2["phone"], p2["phones"], p2["headline"]) == (None, None, [], None)
    assert (p2["found_email"], p2["found_phone"], p2["found_linkedin"]) == (False, False, False)
    assert p2["providers_tried"] == ["lemlist", "thehog"]


def test_not_found_rows_contribute_and_count_as_tried() -> None:
    rows = contacts_by_key(
        [
            result("p1", "lemlist", NOT_FOUND, reason="notFound", cost_credits=0),
            result("p1", "enrichso", NOT_FOUND, email="guess@x.io", email_status=UNKNOWN),
        ]
    )
    assert email_of(rows["p1"]) == ("guess@x.io", "unknown", "enrichso")
    assert rows["p1"]["providers_tried"] == ["lemlist", "enrichso"]


# ----------------------------------------------------------------------------------- phones


def test_phones_dedupe_in_e164_across_providers() -> None:
    rows = contacts_by_key(
        [
            result("p1", "lemlist", phones=(Phone(number="+14155550100"),)),
            result(
                "p1",
                "enrichso",
                phones=(
                    Phone(number="+1 415-555-0100", type="mobile", source_rank=0),
                    Phone(number="+442071234567", type="office", source_rank=1),
                ),
            ),
            result(
                "p2",
                "thehog",
                phones=(
                    Phone(number="+33142685300", type="office", source_rank=1),
                    Phone(number="+33612345678", type="mobile", source_rank=0),
                ),
            ),
        ]
    )
    p1 = rows["p1"]
    assert (p1["phone"], p1["phone_type"], p1["phone_provider"]) == (
        "+14155550100",
        "mobile",  # lemlist gave no type; enrich.so's copy of the same number did
        "lemlist",
    )
    assert p1["phones"] == ["+14155550100", "+442071234567"]
    p2 = rows["p2"]
    assert (p2["phone"], p2["phone_type"], p2["phone_provider"]) == (
        "+33612345678",
        "mobile",
        "thehog",
    )
    assert p2["phones"] == ["+33612345678", "+33142685300"]


# ------------------------------------------------------------------------- contacts as a whole


def test_every_prospect_is_a_contact_with_identity_and_totals() -> None:
    people = pa.table(
        {
            "person_key": ["p1", "p2", "p1", None, "p3"],
            "first_name": ["Lina", "Bo", "Lina (dup)", "Nobody", "Cy"],
            "company_domain": ["northwind.io", "acme.io", "northwind.io", None, "c.io"],
            "crm_id": [1001, 1002, 1003, 1004, None],
            "email": ["lina@northwind.io", None, None, None, None],  # not an identity column
        }
    )
    attempts = attempts_table(
        [
            result(
                "p1", "thehog", email="lina@northwind.io", email_status=DELIVERABLE, cost_credits=3
            ),
            result("p1", "lemlist", NOT_FOUND, cost_credits=0),
            result("p1", "lemlist", FAILED, cost_credits=2),  # charged, then failed
            result("p1", "enrichso", PENDING, cost_credits=10),  # reserved, not spent
            result("p1", "acme-data", email="l@x.io", email_status=DELIVERABLE),  # unlisted: last
            result("zz", "lemlist", email="stranger@x.io"),  # not a prospect: no contact row
        ],
        day=DAY,
    )
    table = build_contacts(people, attempts)
    rows = table.to_pylist()
    assert [r["person_key"] for r in rows] == ["p1", "p2", "p3"]  # prospect order, first copy
    p1, p2, p3 = rows
    assert (p1["first_name"], p1["company_domain"], p1["crm_id"]) == (
        "Lina",
        "northwind.io",
        "1001",
    )
    assert (p1["last_name"], p1["job_title"], p1["linkedin_url"]) == (None, None, None)
    assert email_of(p1) == ("lina@northwind.io", "deliverable", "thehog")
    assert p1["providers_tried"] == ["lemlist", "enrichso", "thehog", "acme-data"]
    assert p1["credits_spent"] == 5
    assert all(r["day"] == DAY for r in rows)
    for nobody in (p2, p3):
        assert (nobody["email"], nobody["phone"], nobody["providers_tried"]) == (None, None, [])
        assert (nobody["found_email"], nobody["credits_spent"], nobody["skills"]) == (
            False,
            0,
            None,
        )
    assert (
        build_contacts(people, attempts, day="2024-06-01").column("day").to_pylist()
        == ["2024-06-01"] * 3
    )


def test_linkedin_fields_come_from_the_first_provider_in_order_with_a_profile() -> None:
    enrichso_profile = LinkedinProfile(
        url="https://www.linkedin.com/in/lina-okafor",
        headline="Building data tools",
        title="CTO",
        company_name="Northwind Labs",
        location="Lagos, Nigeria",
        summary="Data person.",
        skills=("Python", "DuckDB"),
        photo_url="https://img.example/lina.jpg",
    )
    rows = contacts_by_key(
        [
            result("p1", "thehog", linkedin=LinkedinProfile(headline="stale")),
            result("p1", "enrichso", linkedin=enrichso_profile),
            result("p1", "lemlist", NOT_FOUND),
        ]
    )
    p1 = rows["p1"]
    assert p1["linkedin_url_found"] == "https://www.linkedin.com/in/lina-okafor"
    assert (p1["headline"], p1["title"], p1["current_company"]) == (
        "Building data tools",
        "CTO",
        "Northwind Labs",
    )
    assert (p1["location"], p1["summary"], p1["photo_url"]) == (
        "Lagos, Nigeria",
        "Data person.",
        "https://img.example/lina.jpg",
    )
    assert (p1["skills"], p1["linkedin_provider"], p1["found_linkedin"]) == (
        ["Python", "DuckDB"],
        "enrichso",
        True,
    )


# -------------------------------------------------------------------------------- positions


def test_positions_come_from_the_chosen_profile_only() -> None:
    lemlist_profile = LinkedinProfile(
        positions=(
            Position(title="CTO", company_name="Northwind Labs", company_domain="northwind.io",
                     start_year=2021, start_month=3, is_current=True),
            Position(title="Engineer", company_name="Acme", start_year=2016, end_year=2021,
                     end_month=2),
        )
    )  # fmt: skip
    hog_profile = LinkedinProfile(
        positions=(Position(title="Intern"), Position(title="Other"), Position(title="Third"))
    )
    attempts = attempts_table(
        [
            result("p1", "thehog", linkedin=hog_profile),
            result("p1", "lemlist", linkedin=lemlist_profile),
            result("p2", "lemlist", linkedin=LinkedinProfile(headline="no positions")),
        ],
        day=DAY,
    )
    table = build_positions(attempts)
    assert table.schema == POSITIONS_SCHEMA
    assert table.to_pylist() == [
        {"person_key": "p1", "provider": "lemlist", "position_index": 0, "title": "CTO",
         "company_name": "Northwind Labs", "company_domain": "northwind.io", "start_year": 2021,
         "start_month": 3, "end_year": None, "end_month": None, "is_current": True, "day": DAY},
        {"person_key": "p1", "provider": "lemlist", "position_index": 1, "title": "Engineer",
         "company_name": "Acme", "company_domain": None, "start_year": 2016, "start_month": None,
         "end_year": 2021, "end_month": 2, "is_current": False, "day": DAY},
    ]  # fmt: skip
    hog_first = build_positions(attempts, provider_order=("thehog", "lemlist"))
    assert hog_first.column("title").to_pylist() == ["Intern", "Other", "Third"]
    assert hog_first.column("position_index").to_pylist() == [0, 1, 2]


# --------------------------------------------------------------------------------- channels


def test_channels_list_every_candidate_and_is_best_matches_contacts() -> None:
    results = [
        result("p1", "lemlist", provider_ref="enr_1", email="P1@risky.io", email_status=RISKY,
               phones=(Phone(number="+14155550100"),)),
        result("p1", "enrichso", provider_ref="so:b1", email="p1@good.io", email_status=DELIVERABLE,
               phones=(Phone(number="+14155550100", type="mobile"),
                       Phone(number="+442071234567", source_rank=1))),
        result("p1", "thehog", FAILED, email="ghost@x.io", email_status=DELIVERABLE),
        result("p2", "thehog", provider_ref="op_7", email="p2@x.io", email_status=UNDELIVERABLE),
    ]  # fmt: skip
    attempts = attempts_table(results, day=DAY)
    channels = build_channels(attempts)
    assert channels.schema == CHANNELS_SCHEMA
    got = [
        (r["person_key"], r["channel"], r["value"], r["status"], r["phone_type"], r["provider"],
         r["provider_ref"], r["is_best"])
        for r in channels.to_pylist()
    ]  # fmt: skip
    assert got == [
        ("p1", "email", "p1@good.io", "deliverable", None, "enrichso", "so:b1", True),
        ("p1", "email", "p1@risky.io", "risky", None, "lemlist", "enr_1", False),
        ("p1", "phone", "+14155550100", None, None, "lemlist", "enr_1", True),
        ("p1", "phone", "+14155550100", None, "mobile", "enrichso", "so:b1", False),
        ("p1", "phone", "+442071234567", None, None, "enrichso", "so:b1", False),
        ("p2", "email", "p2@x.io", "undeliverable", None, "thehog", "op_7", True),
    ]
    contacts = build_contacts(prospects("p1", "p2"), attempts).to_pylist()
    best = {(r["person_key"], r["channel"]): r for r in channels.to_pylist() if r["is_best"]}
    for contact in contacts:
        email = best.get((contact["person_key"], "email"))
        assert (email["value"], email["provider"]) == (contact["email"], contact["email_provider"])
        phone = best.get((contact["person_key"], "phone"))
        if phone is None:
            assert contact["phone"] is None
        else:
            assert (phone["value"], phone["provider"]) == (
                contact["phone"],
                contact["phone_provider"],
            )


# ------------------------------------------------------------------------------ empty inputs


def test_empty_inputs_give_typed_empty_tables() -> None:
    attempts = attempts_table([], day=DAY)
    assert attempts.schema == ATTEMPTS_SCHEMA
    assert attempts.num_rows == 0
    no_people = pa.table({"person_key": pa.array([], pa.string())})
    for table, schema in (
        (build_contacts(no_people, attempts), CONTACTS_SCHEMA),
        (build_positions(attempts), POSITIONS_SCHEMA),
        (build_channels(attempts), CHANNELS_SCHEMA),
    ):
        assert table.schema == schema
        assert table.num_rows == 0


def test_no_attempts_table_at_all_is_a_day_without_attempts() -> None:
    contacts = build_contacts(prospects("p1"), None, day=DAY)
    assert contacts.schema == CONTACTS_SCHEMA
    assert contacts.select(["person_key", "email", "found_email", "day"]).to_pylist() == [
        {"person_key": "p1", "email": None, "found_email": False, "day": DAY}
    ]
    assert build_positions(None).schema == POSITIONS_SCHEMA
    assert build_channels(None).num_rows == 0


def test_prospects_without_any_attempt_still_get_contacts() -> None:
    rows = build_contacts(prospects("p1", "p2"), attempts_table([], day=DAY)).to_pylist()
    assert [(r["person_key"], r["first_name"], r["email"]) for r in rows] == [
        ("p1", "P1", None),
        ("p2", "P2", None),
    ]
    assert rows[0]["day"] is None  # neither a day argument nor any attempt says which day


def test_prospects_need_a_person_key() -> None:
    with pytest.raises(ValueError, match="person_key"):
        build_contacts(pa.table({"first_name": ["x"]}), attempts_table([], day=DAY))


def test_contacts_built_a_few_people_at_a_time_are_the_rows_of_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large day is built in passes of CONTACTS_PER_PASS people (memory bounded by the pass):
    same rows, same prospect order, duplicates and people without attempts included."""
    keys = [f"p{i:02d}" for i in range(23)]
    order = [*keys[5:], "p03", *keys[:5], "p07"]  # not sorted; two people appear twice
    people = pa.table({"person_key": order, "first_name": [k.upper() for k in order]})
    statuses = [EmailStatus.DELIVERABLE, EmailStatus.RISKY, EmailStatus.UNKNOWN]
    results = [
        result(k, provider, email=f"{k}@{provider}.test", email_status=statuses[i % 3])
        for i, k in enumerate(keys)
        for provider in ("lemlist", "thehog")[: 1 + i % 2]
        if i % 4  # every fourth person has no attempt at all
    ] + [
        result(k, "enrichso", phones=(Phone(number=f"+1415555{i:04d}"),), cost_credits=i)
        for i, k in enumerate(keys)
        if i % 3 == 0
    ]
    attempts = attempts_table(results, day=DAY)
    whole = build_contacts(people, attempts)
    monkeypatch.setattr(flatten, "CONTACTS_PER_PASS", 4)
    assert build_contacts(people, attempts).equals(whole)
    assert whole.column("person_key").to_pylist() == list(dict.fromkeys(order))
    assert whole.column("day").to_pylist() == [DAY] * 23  # the attempts' newest, in every pass
