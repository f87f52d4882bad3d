"""Reading one sync-shaped `data` object (providers.md 3.2, 4.3) into `_Findings`, field by field:
the contact arrays (emails with their verification status, phones) and the profile (positions,
education). The element and profile shapes are partly UNKNOWN, so the usual spellings are all read
and what fits none of them is reported as unreadable, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrich_pipeline.identity import canonical_linkedin_url, normalise_email, registrable_domain
from enrich_pipeline.model import (
    Education,
    EmailStatus,
    LinkedinProfile,
    Phone,
    Position,
    dedupe_phones,
    to_e164,
)
from enrich_pipeline.providers.thehog.dialect import FIELD_ORDER
from enrich_pipeline.providers.thehog.values import _dict, _first, _int, _str

# Element keys that may carry the address / number of a contact array element (3.2 ASSUMPTION).
VALUE_KEYS = ("value", "email", "address", "number", "phone")


@dataclass
class _Findings:
    """What one `data` object says, field by field."""

    email: str | None = None
    email_status: EmailStatus | None = None
    email_confidence: str | None = None
    phones: list[Phone] = field(default_factory=list)
    linkedin: LinkedinProfile | None = None
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # requested, absent from the answer
    unreadable: list[str] = field(default_factory=list)  # present, but in no shape we know
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------- contact arrays


_STATUS_WORDS: dict[str, EmailStatus] = {
    "deliverable": EmailStatus.DELIVERABLE,
    "valid": EmailStatus.DELIVERABLE,
    "verified": EmailStatus.DELIVERABLE,
    "true": EmailStatus.DELIVERABLE,
    "risky": EmailStatus.RISKY,
    "catch_all": EmailStatus.RISKY,
    "catchall": EmailStatus.RISKY,
    "accept_all": EmailStatus.RISKY,
    "undeliverable": EmailStatus.UNDELIVERABLE,
    "invalid": EmailStatus.UNDELIVERABLE,
    "bounced": EmailStatus.UNDELIVERABLE,
    "false": EmailStatus.UNDELIVERABLE,
    "unknown": EmailStatus.UNKNOWN,
}


def _status_word(value: str) -> EmailStatus:
    return _STATUS_WORDS.get(value.strip().lower().replace("-", "_"), EmailStatus.UNKNOWN)


def email_status(element: Any) -> EmailStatus:
    """providers.md 4.3 for The Hog: the docs call every element verified, so an element without
    flags (or a bare string) is deliverable. A status word is the most specific flag and wins
    (`risky`/`catch_all` -> risky, `invalid`/`undeliverable` -> undeliverable, `unknown` stays
    unknown even beside `verified: false`); then a catch-all flag; then `verified` true/false."""
    if not isinstance(element, dict):
        return EmailStatus.DELIVERABLE
    word = _first(element, "status", "verification_status", "verificationStatus")
    if isinstance(word, str) and word.strip():
        return _status_word(word)
    if _first(element, "catch_all", "catchAll", "is_catch_all", "isCatchAll") is True:
        return EmailStatus.RISKY
    verified = element.get("verified")
    if isinstance(verified, bool):
        return EmailStatus.DELIVERABLE if verified else EmailStatus.UNDELIVERABLE
    if isinstance(verified, str) and verified.strip():
        return _status_word(verified)
    return EmailStatus.DELIVERABLE


def element_value(element: Any) -> str | None:
    """The address / number of an element: a string, or the first present of VALUE_KEYS."""
    if isinstance(element, str):
        return element.strip() or None
    if isinstance(element, dict):
        return next((v for k in VALUE_KEYS if (v := _str(element.get(k)))), None)
    return None


def _as_list(value: Any) -> list[Any] | None:
    """A contact field as a list: arrays as they are, one bare element tolerated, null as empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str | dict):
        return [value]
    return None


def _read_emails(value: Any, findings: _Findings) -> None:
    elements = _as_list(value)
    if elements is None:
        findings.unreadable.append(f"contact.email is a {type(value).__name__}")
        return
    candidates: list[tuple[int, int, str, EmailStatus, str | None]] = []
    for order, element in enumerate(elements):
        address = normalise_email(element_value(element))
        if address is None or "@" not in address:
            findings.notes.append(f"contact.email[{order}] carries no address")
            continue
        status = email_status(element)
        confidence = _first(_dict(element), "confidence", "score")
        text = str(confidence) if isinstance(confidence, str | int | float) else None
        candidates.append((status.rank, order, address, status, text))
    if not candidates:
        (findings.unreadable if elements else findings.not_found).append("contact.email")
        return
    _, _, findings.email, findings.email_status, findings.email_confidence = min(candidates)
    findings.found.append("contact.email")


def _read_phones(value: Any, findings: _Findings) -> None:
    elements = _as_list(value)
    if elements is None:
        findings.unreadable.append(f"contact.phone is a {type(value).__name__}")
        return
    for order, element in enumerate(elements):
        number = to_e164(element_value(element))
        if number is None:
            findings.notes.append(f"contact.phone[{order}] is not a valid phone number")
            continue
        kind = _str(_dict(element).get("type"))
        findings.phones.append(Phone(number=number, type=kind.lower() if kind else None))
    if findings.phones:
        ranked = [p.model_copy(update={"source_rank": i}) for i, p in enumerate(findings.phones)]
        findings.phones = list(dedupe_phones(ranked))
        findings.found.append("contact.phone")
    else:
        (findings.unreadable if elements else findings.not_found).append("contact.phone")


# ---------------------------------------------------------------------------------------- profile


def _year_month(value: Any) -> tuple[int | None, int | None]:
    """`"2021-03"`, `"2021-03-01"`, `"2021"`, `2021` or `{"year", "month"}` -> (year, month)."""
    if isinstance(value, dict):
        return _int(value.get("year")), _int(value.get("month"))
    if (year := _int(value)) is not None:
        return year, None
    text = _str(value)
    if text is None:
        return None, None
    parts = text.split("-")
    year = _int(parts[0]) if parts[0].isdigit() and len(parts[0]) == 4 else None
    month = _int(parts[1]) if year is not None and len(parts) > 1 else None
    return year, month if month is not None and 1 <= month <= 12 else None


def _company(value: Any) -> tuple[str | None, str | None]:
    """A company given as a name or as an object {name, domain|website}."""
    if isinstance(value, dict):
        name = _str(_first(value, "name", "company_name", "companyName"))
        return name, _domain(_first(value, "domain", "website", "company_domain"))
    return _str(value), None


def _domain(value: Any) -> str | None:
    text = _str(value)
    return registrable_domain(text) or text if text else None


def _names(value: Any, *keys: str) -> tuple[str, ...]:
    """Skills and the like: strings, objects with a name, or one comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    names = (_str(v) if isinstance(v, str) else _str(_first(_dict(v), *keys)) for v in value)
    return tuple(n for n in names if n)


def _position(entry: dict[str, Any]) -> Position:
    company_name, company_domain = _company(_first(entry, "company", "company_name", "companyName"))
    start_year, start_month = _year_month(_first(entry, "start", "start_date", "startDate"))
    end_year, end_month = _year_month(_first(entry, "end", "end_date", "endDate"))
    start_year = start_year or _int(_first(entry, "start_year", "startYear"))
    start_month = start_month or _int(_first(entry, "start_month", "startMonth"))
    end_year = end_year or _int(_first(entry, "end_year", "endYear"))
    end_month = end_month or _int(_first(entry, "end_month", "endMonth"))
    current = _first(entry, "is_current", "isCurrent", "current")
    return Position(
        title=_str(_first(entry, "title", "position", "role")),
        company_name=company_name,
        company_domain=_domain(_first(entry, "company_domain", "companyDomain")) or company_domain,
        start_year=start_year,
        start_month=start_month,
        end_year=end_year,
        end_month=end_month,
        # No end date on a dated role is a current role.
        is_current=current if isinstance(current, bool) else end_year is None and bool(start_year),
        description=_str(entry.get("description")),
    )


def _education(entry: dict[str, Any]) -> Education:
    start_year, _ = _year_month(_first(entry, "start_year", "startYear", "start"))
    end_year, _ = _year_month(_first(entry, "end_year", "endYear", "end"))
    school = _first(entry, "school", "school_name", "schoolName")
    return Education(
        school_name=_str(_first(_dict(school), "name"))
        if isinstance(school, dict)
        else _str(school),
        degree_name=_str(_first(entry, "degree", "degree_name", "degreeName")),
        start_year=start_year,
        end_year=end_year,
    )


def linkedin_profile(
    profile: Mapping[str, Any], input_url: str | None = None
) -> LinkedinProfile | None:
    """`data.profile` -> LinkedinProfile. The shape is UNKNOWN (3.2); ASSUMPTION a flat object with
    name, first_name, last_name, headline, title, company, company_domain, location, linkedin_url,
    summary, skills, positions, education, photo_url — camelCase spellings read as well."""
    first = _str(_first(profile, "first_name", "firstName"))
    last = _str(_first(profile, "last_name", "lastName"))
    full = _str(_first(profile, "name", "full_name", "fullName", "display_name", "displayName"))
    company_name, company_domain = _company(
        _first(profile, "company", "company_name", "companyName")
    )
    entries = _first(profile, "positions", "experience", "experiences") or []
    positions = tuple(_position(p) for p in entries if isinstance(p, dict))
    schools = _first(profile, "education", "educations") or []
    # The current role stands in for a missing top-level title / company.
    current = next((p for p in positions if p.is_current), Position())
    url = _str(_first(profile, "linkedin_url", "linkedinUrl", "profile_url", "profileUrl", "url"))
    location = _first(profile, "location", "location_name", "locationName")
    if isinstance(location, dict):
        location = ", ".join(
            v for v in (_str(location.get(k)) for k in ("city", "region", "country")) if v
        ) or _str(location.get("name"))
    result = LinkedinProfile(
        url=canonical_linkedin_url(url) or url or canonical_linkedin_url(input_url),
        provider_profile_id=_str(_first(profile, "id", "profile_id", "profileId")),
        first_name=first,
        last_name=last,
        full_name=full or (" ".join(n for n in (first, last) if n) or None),
        headline=_str(profile.get("headline")),
        title=_str(_first(profile, "title", "job_title", "jobTitle")) or current.title,
        company_name=company_name or current.company_name,
        company_domain=_domain(_first(profile, "company_domain", "companyDomain"))
        or company_domain
        or current.company_domain,
        location=_str(location),
        summary=_str(_first(profile, "summary", "about")),
        skills=_names(profile.get("skills"), "name", "skill"),
        positions=positions,
        education=tuple(_education(e) for e in schools if isinstance(e, dict)),
        photo_url=_str(_first(profile, "photo_url", "photoUrl", "picture", "avatar_url")),
    )
    empty = result.model_dump(exclude={"url"}) == LinkedinProfile().model_dump(exclude={"url"})
    return None if empty else result


def _read_profile(value: Any, findings: _Findings, input_url: str | None) -> None:
    if value is None or value == {}:
        findings.not_found.append("profile")
    elif not isinstance(value, dict):
        findings.unreadable.append(f"profile is a {type(value).__name__}")
    elif (profile := linkedin_profile(value, input_url)) is None:
        findings.unreadable.append(f"profile has none of the expected keys ({sorted(value)[:8]})")
    else:
        findings.linkedin = profile
        findings.found.append("profile")


# ------------------------------------------------------------------------------------------- data


def read_data(data: Mapping[str, Any], fields: Sequence[str], input_url: str | None) -> _Findings:
    """One sync-shaped `data` object (3.2) -> findings for the requested fields (or, when the request
    is unknown, for whatever the answer carries)."""
    findings = _Findings()
    # `data.contact.email`; tolerated: contact fields at the top level of `data`, plural keys.
    contact = data.get("contact") if isinstance(data.get("contact"), dict) else data
    readers: dict[str, tuple[Mapping[str, Any], tuple[str, ...]]] = {
        "contact.email": (contact, ("email", "emails")),
        "contact.phone": (contact, ("phone", "phones")),
        "profile": (data, ("profile", "linkedin")),
    }
    for name in fields or FIELD_ORDER:
        where, keys = readers.get(name, ({}, ()))
        key = next((k for k in keys if k in where), None)
        if key is None:
            if fields:
                findings.missing.append(name)
            continue
        if name == "contact.email":
            _read_emails(where[key], findings)
        elif name == "contact.phone":
            _read_phones(where[key], findings)
        else:
            _read_profile(where[key], findings, input_url)
    return findings
