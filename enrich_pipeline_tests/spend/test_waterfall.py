"""Who goes to which provider: the waterfall policy as pure functions."""

from __future__ import annotations

from enrich_pipeline.model import (
    Attempt,
    EmailStatus,
    EnrichmentResult,
    LinkedinProfile,
    Outcome,
    Phone,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.spend.waterfall import Known, fold_attempts, plan_requests

E, P, L, V = (
    WantedField.EMAIL,
    WantedField.PHONE,
    WantedField.LINKEDIN,
    WantedField.EMAIL_VERIFICATION,
)
ALL = frozenset({E, P, L})
LINA = Known(
    person_key="li:/in/lina-okafor",
    first_name="Lina",
    last_name="Okafor",
    company_name="Northwind Labs",
    company_domain="northwind-labs.io",
    linkedin_url="https://www.linkedin.com/in/lina-okafor",
)


def found(provider: str, fields: frozenset[WantedField], **values: object) -> Attempt:
    result = EnrichmentResult(
        person_key=LINA.person_key, provider=provider, record_status=RecordStatus.FOUND, **values
    )
    return Attempt(result, fields, Outcome.FOUND)


def ended(provider: str, fields: frozenset[WantedField], outcome: Outcome) -> Attempt:
    status = {
        Outcome.NOT_FOUND: RecordStatus.NOT_FOUND,
        Outcome.FAILED: RecordStatus.FAILED,
    }.get(outcome, RecordStatus.PENDING)
    result = EnrichmentResult(
        person_key=LINA.person_key, provider=provider, record_status=status, reason="x"
    )
    return Attempt(result, fields, outcome)


def fields_for(provider: str, known: Known, wanted: frozenset[WantedField] = ALL) -> set[str]:
    requests = plan_requests(provider, [known], wanted)
    return {f.value for f in requests[0].fields} if requests else set()


def test_each_provider_is_asked_only_for_what_it_can_produce_from_known_inputs() -> None:
    assert fields_for("lemlist", LINA) == {"email", "phone", "linkedin"}
    assert fields_for("enrichso", LINA) == {"email", "phone"}  # reverse lookup needs an email
    by_name_only = Known(
        person_key="nd:x", first_name="Lina", last_name="Okafor", company_domain="n.io"
    )
    assert fields_for("lemlist", by_name_only) == {"linkedin"}  # finder needs the company name too
    assert fields_for("enrichso", by_name_only) == {"email"}
    assert fields_for("thehog", by_name_only) == set()


def test_a_deliverable_email_is_done_but_a_risky_one_keeps_the_person_in_the_waterfall() -> None:
    [risky] = fold_attempts(
        [LINA], [found("lemlist", ALL, email="lina@n.io", email_status=EmailStatus.RISKY)]
    )
    assert E not in risky.answered and "email" in fields_for("thehog", risky)
    [good] = fold_attempts(
        [LINA], [found("lemlist", ALL, email="lina@n.io", email_status=EmailStatus.DELIVERABLE)]
    )
    assert E in good.answered and "email" not in fields_for("thehog", good)


def test_an_email_found_upstream_feeds_the_next_providers_lookups() -> None:
    [known] = fold_attempts(
        [replace_url(LINA)],
        [found("lemlist", ALL, email="lina@n.io", email_status=EmailStatus.DELIVERABLE)],
    )
    assert known.email == "lina@n.io"
    request = plan_requests("enrichso", [known], ALL)[0]
    assert request.email == "lina@n.io" and L in request.fields  # reverse lookup is now possible


def replace_url(known: Known) -> Known:
    from dataclasses import replace

    return replace(known, linkedin_url=None)


def test_an_unverified_email_is_verified_where_that_is_cheaper_than_finding() -> None:
    from dataclasses import replace

    held = replace(LINA, email="lina@n.io")
    assert fields_for("lemlist", held) == {
        "email_verification",
        "phone",
        "linkedin",
    }  # 1 < 5 credits
    [verified] = fold_attempts(
        [held],
        [found("lemlist", frozenset({V}), email="lina@n.io", email_status=EmailStatus.DELIVERABLE)],
    )
    assert E in verified.answered and verified.email_status is EmailStatus.DELIVERABLE
    [bounced] = fold_attempts(
        [held],
        [
            found(
                "lemlist", frozenset({V}), email="lina@n.io", email_status=EmailStatus.UNDELIVERABLE
            )
        ],
    )
    assert E not in bounced.answered and "email" in fields_for("thehog", bounced)


def test_a_verification_held_back_holds_the_email_back_too() -> None:
    from dataclasses import replace

    held = replace(LINA, email="lina@n.io")
    for outcome in (Outcome.FAILED, Outcome.PENDING, Outcome.UNKNOWN, Outcome.DEFERRED):
        [waiting] = fold_attempts([held], [ended("lemlist", frozenset({V, P, L}), outcome)])
        assert "email" not in fields_for("thehog", waiting), outcome
        assert E in waiting.blocked and V in waiting.blocked


def test_only_not_found_moves_a_person_on() -> None:
    for outcome in (Outcome.FAILED, Outcome.PENDING, Outcome.UNKNOWN):
        [held] = fold_attempts([LINA], [ended("lemlist", ALL, outcome)])
        assert fields_for("thehog", held) == set(), outcome
        assert set(held.blocked) == set(ALL)
    for outcome in (Outcome.NOT_FOUND, Outcome.REFUSED, Outcome.SKIPPED_BUDGET):
        [moved] = fold_attempts([LINA], [ended("lemlist", ALL, outcome)])
        assert fields_for("thehog", moved) == {"email", "phone", "linkedin"}, outcome


def test_found_fields_close_and_the_rest_stay_open() -> None:
    phone = Phone(number="+14155550142", type="mobile")
    profile = LinkedinProfile(url=LINA.linkedin_url, first_name="Lina")
    [known] = fold_attempts([LINA], [found("lemlist", ALL, phones=(phone,), linkedin=profile)])
    assert known.answered == {P, L}
    assert fields_for("thehog", known) == {"email"}


def test_a_found_email_without_a_verdict_goes_to_the_cheapest_verification_not_a_finder() -> None:
    # lemlist's documented poll answer: an address, no status (providers.md 1.6) -> unknown.
    lemlist = found(
        "lemlist",
        ALL,
        email="lina.okafor@northwind-labs.io",
        email_status=EmailStatus.UNKNOWN,  # as the lemlist parser reads it
    )
    (after,) = fold_attempts([LINA], [lemlist])
    assert after.email_status is EmailStatus.UNKNOWN and E not in after.answered
    # The Hog would be paid to find an email again; enrich.so verifies it for 1 credit: The Hog is
    # not asked for the email (only what else it can add), enrich.so is asked to verify it.
    (hog,) = plan_requests("thehog", [after], ALL, later=("enrichso",))
    assert E not in hog.fields
    (enrichso,) = plan_requests("enrichso", [after], ALL)
    assert V in enrichso.fields and E not in enrichso.fields
    # With nobody after it that verifies, The Hog is still the way to a verified email.
    (alone,) = plan_requests("thehog", [after], ALL, later=())
    assert E in alone.fields


def test_an_email_from_the_file_may_still_go_to_a_finder() -> None:
    # No provider has judged it (status None): it may be stale, so the finder is not skipped.
    from_file = Known(
        person_key=LINA.person_key, email="lina@old-employer.test", linkedin_url=LINA.linkedin_url
    )
    (hog,) = plan_requests("thehog", [from_file], ALL, later=("enrichso",))
    assert E in hog.fields
