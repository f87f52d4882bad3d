"""Asset checks on contacts, as pure functions (the contacts asset reports them to Dagster)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from email_validator import EmailNotValidError, validate_email

from enrich_pipeline.model import to_e164


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str  # "ERROR" | "WARN"
    description: str
    metadata: dict[str, object]


def _examples(values: list[object], limit: int = 5) -> list[str]:
    return [str(v) for v in values[:limit]]


def person_key_unique(contacts: pa.Table) -> CheckOutcome:
    keys = contacts.column("person_key").to_pylist()
    seen: set[str] = set()
    duplicates = sorted({k for k in keys if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
    return CheckOutcome(
        "person_key_unique",
        not duplicates,
        "ERROR",
        "every person appears once in contacts",
        {"duplicates": len(duplicates), "examples": _examples(duplicates)},
    )


def emails_valid(contacts: pa.Table) -> CheckOutcome:
    bad = []
    for email in contacts.column("email").to_pylist():
        if email is None:
            continue
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            bad.append(email)
    return CheckOutcome(
        "emails_valid",
        not bad,
        "ERROR",
        "every email in contacts is syntactically valid",
        {"invalid": len(bad), "examples": _examples(bad)},
    )


def phones_e164(contacts: pa.Table) -> CheckOutcome:
    bad = []
    for phones in contacts.column("phones").to_pylist():
        for number in phones or []:
            if to_e164(number) != number:
                bad.append(number)
    return CheckOutcome(
        "phones_e164",
        not bad,
        "ERROR",
        "every phone is a valid number in E.164 form",
        {"invalid": len(bad), "examples": _examples(bad)},
    )


def traceable_to_prospects(contacts: pa.Table, prospects: pa.Table) -> CheckOutcome:
    known = set(prospects.column("person_key").to_pylist())
    orphans = [k for k in contacts.column("person_key").to_pylist() if k not in known]
    return CheckOutcome(
        "traceable_to_prospects",
        not orphans,
        "ERROR",
        "every contact comes from a prospect row",
        {"orphans": len(orphans), "examples": _examples(orphans)},
    )


def found_rate_floor(contacts: pa.Table, floor: float) -> CheckOutcome:
    rows = contacts.num_rows
    rates = {
        f: (contacts.column(f"found_{f}").to_pylist().count(True) / rows if rows else 0.0)
        for f in ("email", "phone", "linkedin")
    }
    low = {f: round(r, 3) for f, r in rates.items() if r < floor}
    return CheckOutcome(
        "found_rate_floor",
        not low,
        "WARN",
        f"each field is found for at least {floor:.0%} of people",
        {"floor": floor, "rates": {f: round(r, 3) for f, r in rates.items()}, "below": low},
    )


def contact_checks(contacts: pa.Table, prospects: pa.Table, floor: float) -> list[CheckOutcome]:
    return [
        person_key_unique(contacts),
        emails_valid(contacts),
        phones_e164(contacts),
        traceable_to_prospects(contacts, prospects),
        found_rate_floor(contacts, floor),
    ]


CHECK_NAMES = (
    "person_key_unique",
    "emails_valid",
    "phones_e164",
    "traceable_to_prospects",
    "found_rate_floor",
)
