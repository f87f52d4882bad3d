"""Asset checks on contacts, as pure functions (the contacts asset reports them to Dagster)."""

from __future__ import annotations

from dataclasses import dataclass, replace

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
        {
            "floor": float(floor),
            **{f"{f}_coverage": round(r, 3) for f, r in rates.items()},
            **({"below": ", ".join(sorted(low))} if low else {}),
        },
    )


def contact_checks(
    contacts: pa.Table, prospects: pa.Table, floor: float, *, examples: bool = False
) -> list[CheckOutcome]:
    """Every check on a day's contacts. Offending values (`examples`) are personal data: kept only
    when asked for (ENRICH_FULL_PREVIEWS), else the counts alone say what is wrong."""
    outcomes = [
        person_key_unique(contacts),
        emails_valid(contacts),
        phones_e164(contacts),
        traceable_to_prospects(contacts, prospects),
        found_rate_floor(contacts, floor),
    ]
    if examples:
        return outcomes
    return [
        replace(o, metadata={k: v for k, v in o.metadata.items() if k != "examples"})
        for o in outcomes
    ]


# What each check guards, as the Dagster UI shows it. ERROR checks block the day's provider_report
# when they fail: a report over a broken contacts table would mislead.
CHECK_DESCRIPTIONS: dict[str, str] = {
    "person_key_unique": "ERROR, blocking: each person has exactly one contacts row for the day "
    "(duplicates would double-count people and credits).",
    "emails_valid": "ERROR, blocking: every chosen email is a syntactically valid address "
    "(email-validator, no DNS lookups).",
    "phones_e164": "ERROR, blocking: every phone is a valid number written in E.164 form "
    "(+<country><number>, checked with phonenumbers).",
    "traceable_to_prospects": "ERROR, blocking: every contact comes from a row of the day's "
    "prospects (nothing enriched that nobody asked for).",
    "found_rate_floor": "WARN: coverage (share of the day's people with the field, from any "
    "provider) is at least ENRICH_FOUND_RATE_FLOOR for email, phone and LinkedIn.",
}
CHECK_NAMES: tuple[str, ...] = tuple(CHECK_DESCRIPTIONS)
BLOCKING_CHECKS = frozenset(
    {"person_key_unique", "emails_valid", "phones_e164", "traceable_to_prospects"}
)
