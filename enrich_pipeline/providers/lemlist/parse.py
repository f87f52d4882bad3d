"""One finished lemlist enrichment's `data` (providers.md 1.6-1.8, 4.3-4.5): each workflow's answer
under either naming scheme, read into `_Findings` (what was found, not found or unreadable, and what
it cost), and the LinkedIn profile object (`linkedin_profile`, providers.md 4.4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrich_pipeline.identity import canonical_linkedin_url, normalise_email, registrable_domain
from enrich_pipeline.model import EmailStatus, LinkedinProfile, Phone, Position, to_e164
from enrich_pipeline.providers.lemlist.dialect import PRICE, WORKFLOWS
from enrich_pipeline.providers.lemlist.values import _dict, _int, _str

# CONFLICT 1.6: the poll endpoint keys results `email`/`phone`/`linkedin`/`verify`, webhooks key them
# by workflow name. Both schemes (and the single-call flag names) are read, first hit wins.
DATA_KEYS: dict[str, tuple[str, ...]] = {
    "find_email": ("find_email", "email", "findEmail"),
    "find_phone": ("find_phone", "phone", "findPhone"),
    "linkedin_enrichment": ("linkedin_enrichment", "linkedin", "linkedinEnrichment"),
    "verify": ("verify", "verifyEmail", "verify_email"),
}
_KNOWN_DATA_KEYS = frozenset(k for keys in DATA_KEYS.values() for k in keys)
_UNCHARGED_EMAIL_VERDICTS = frozenset({EmailStatus.UNDELIVERABLE.value, EmailStatus.UNKNOWN.value})


@dataclass
class _Findings:
    """What one finished enrichment's `data` says, workflow by workflow."""

    email: str | None = None
    email_status: EmailStatus | None = None
    phones: list[Phone] = field(default_factory=list)
    linkedin: LinkedinProfile | None = None
    verify_email: str | None = None
    verify_status: EmailStatus | None = None
    cost: int = 0
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # present, but in no shape we know
    notes: list[str] = field(default_factory=list)


def email_status(value: Any) -> EmailStatus:
    """providers.md 4.3: lemlist's four statuses map as they are; missing/unrecognised -> unknown."""
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return EmailStatus(text)
    except ValueError:
        return EmailStatus.UNKNOWN


def _workflow_value(data: Mapping[str, Any], workflow: str) -> tuple[bool, Any]:
    """(present, value) of a workflow's entry under either naming scheme."""
    for key in DATA_KEYS[workflow]:
        if key in data:
            return True, data[key]
    return False, None


def _is_empty(value: Any) -> bool:
    """lemlist's "nothing": null, {}, or an object with notFound: true (providers.md 1.6 / 1.7)."""
    if value is None or value == {}:
        return True
    return isinstance(value, dict) and value.get("notFound") is True


def read_data(
    data: Mapping[str, Any], *, workflows: Sequence[str] = (), failed: bool = False
) -> _Findings:
    """Read a finished enrichment's `data`. `workflows` (when known) are the ones requested: an
    omitted linkedin/verify still cost its credit unless the enrichment failed."""
    findings = _Findings()
    for workflow in WORKFLOWS:
        present, value = _workflow_value(data, workflow)
        if not present:
            if workflow in workflows:
                findings.not_found.append(workflow)  # omitted = not found (1.7 ASSUMPTION c)
                if not failed and workflow in ("linkedin_enrichment", "verify"):
                    findings.cost += PRICE[workflow]
            continue
        reader = _READERS[workflow]
        reader(value, findings, failed)
    unknown = sorted(k for k in data if k not in _KNOWN_DATA_KEYS)
    if unknown:
        findings.unreadable.append(f"unknown data keys {unknown}")
    return findings


def _read_email(value: Any, findings: _Findings, failed: bool) -> None:
    if isinstance(value, str):  # tolerate a bare address
        value = {"email": value}
    if _is_empty(value):
        findings.not_found.append("find_email")
        return
    if not isinstance(value, dict) or not {"email", "notFound", "status"} & set(value):
        findings.unreadable.append(f"find_email {_peek(value)}")
        return
    address = normalise_email(_str(value.get("email")))
    if address is None:
        if value.get("email") is None:  # {"email": null}: lemlist's other way of saying nothing
            findings.not_found.append("find_email")
        else:
            findings.unreadable.append(f"find_email {_peek(value)}")
        return
    findings.email = address
    findings.email_status = email_status(value.get("status"))
    findings.found.append("find_email")
    # The price table charges 5 when lemlist found an email and verified it deliverable or risky.
    # The only documented poll answer (1.6) carries no status at all: an address with no status is
    # *unverified* (UNKNOWN, for the policy to verify cheaply), but it was found, and lemlist only
    # returns what it verified, so it is charged. Only an explicit `undeliverable` or `unknown`
    # verdict (webhook shape, 1.7) reads as uncharged; an unrecognised word (e.g. "catch-all", a
    # risky synonym) is charged: a budget must never under-count.
    said = value.get("status")
    uncharged = isinstance(said, str) and said.strip().lower() in _UNCHARGED_EMAIL_VERDICTS
    if not uncharged:
        findings.cost += PRICE["find_email"]


def _read_phone(value: Any, findings: _Findings, failed: bool) -> None:
    if isinstance(value, str | list):  # tolerate a bare number or a list of numbers
        value = {"phone": value}
    if _is_empty(value):
        findings.not_found.append("find_phone")
        return
    if not isinstance(value, dict) or not {"phone", "phones", "notFound"} & set(value):
        findings.unreadable.append(f"find_phone {_peek(value)}")
        return
    given = value.get("phone", value.get("phones"))
    candidates = [c for c in (given if isinstance(given, list) else [given]) if c]
    if not candidates:
        findings.not_found.append("find_phone")
        return
    findings.cost += PRICE["find_phone"]  # a number came back: charged, even if we cannot read it
    phones: list[Phone] = []
    for rank, candidate in enumerate(candidates):
        number, kind = candidate, None
        if isinstance(candidate, dict):  # tolerate {number, type}
            number, kind = candidate.get("number") or candidate.get("phone"), candidate.get("type")
        e164 = to_e164(_str(number))
        if e164 is None:
            findings.notes.append(f"phone {number!r} is not a valid number")
        else:
            phones.append(Phone(number=e164, type=_str(kind), source_rank=rank))
    if phones:
        findings.phones.extend(phones)
        findings.found.append("find_phone")
    else:
        findings.unreadable.append("find_phone: no valid number")


def _peek(value: Any) -> str:
    """A short description of an unreadable value, for the record's reason."""
    if isinstance(value, dict):
        return f"keys {sorted(value)[:10]}"
    return repr(value)[:80]


def _read_linkedin(value: Any, findings: _Findings, failed: bool) -> None:
    charged = not failed
    if _is_empty(value) or not isinstance(value, dict):
        if value is not None and not isinstance(value, dict):
            findings.unreadable.append(f"linkedin_enrichment {_peek(value)}")
        else:
            findings.not_found.append("linkedin_enrichment")
    else:
        profile = linkedin_profile(value)
        if profile is None:
            findings.unreadable.append(f"linkedin_enrichment {_peek(value)}")
        else:
            findings.linkedin = profile
            findings.found.append("linkedin_enrichment")
            charged = True
    if charged:  # per enrichment, found or not (providers.md 1.9 / 4.5)
        findings.cost += PRICE["linkedin_enrichment"]


def _read_verify(value: Any, findings: _Findings, failed: bool) -> None:
    body = _dict(value)
    status = body.get("status") or body.get("result")
    if _is_empty(value) or status is None:
        if value is not None and not isinstance(value, dict):
            findings.unreadable.append(f"verify {_peek(value)}")
        else:
            findings.not_found.append("verify")
        if not failed:
            findings.cost += PRICE["verify"]  # per verification, whatever the verdict
        return
    findings.verify_email = normalise_email(_str(body.get("email")))
    findings.verify_status = email_status(status)
    findings.found.append("verify")
    findings.cost += PRICE["verify"]


_READERS: dict[str, Callable[[Any, _Findings, bool], None]] = {
    "find_email": _read_email,
    "find_phone": _read_phone,
    "linkedin_enrichment": _read_linkedin,
    "verify": _read_verify,
}


# ------------------------------------------------------------------------------- LinkedIn


def linkedin_profile(body: Mapping[str, Any]) -> LinkedinProfile | None:
    """providers.md 4.4, lemlist column; None when the object holds no profile field we know."""
    first, last = _str(body.get("firstName")), _str(body.get("lastName"))
    url = _str(body.get("linkedinUrl"))
    profile = LinkedinProfile(
        url=canonical_linkedin_url(url) or url,
        provider_profile_id=_str(body.get("linkedinMemberId"))
        or _str(body.get("linkedinClassicId")),
        first_name=first,
        last_name=last,
        full_name=" ".join(n for n in (first, last) if n) or None,
        headline=_str(body.get("tagline")),
        title=_str(body.get("occupation")),
        company_name=_str(body.get("companyName")),
        company_domain=_domain_of(body.get("companyDomain"), body.get("companyWebsite")),
        location=_str(body.get("locationName")),
        summary=_str(body.get("summary")),
        skills=_split_list(body.get("skills")),
        positions=_positions(body.get("positionGroups")),
        photo_url=_str(body.get("picture")),
    )
    return None if profile == LinkedinProfile() else profile


def _split_list(value: Any) -> tuple[str, ...]:
    """lemlist sends skills as one comma-separated string; tolerate a list too."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(text for item in items if (text := _str(item)))


def _domain_of(*values: Any) -> str | None:
    for value in values:
        text = _str(value)
        if text:
            return registrable_domain(text) or text.lower()
    return None


def _positions(groups: Any) -> tuple[Position, ...]:
    """positionGroups[].profilePositions[] (+ the group's company) -> positions, newest first."""
    positions: list[Position] = []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        company = _dict(group.get("company"))
        roles = [r for r in group.get("profilePositions") or [] if isinstance(r, dict)]
        for role in roles or [{}]:  # a group without roles still says where they worked
            date = _dict(role.get("date")) or _dict(group.get("date"))
            start, end = _dict(date.get("start")), date.get("end")
            end_year = _int(_dict(end).get("year"))
            positions.append(
                Position(
                    title=_str(role.get("title")),
                    company_name=_str(role.get("companyName")) or _str(company.get("name")),
                    company_domain=_domain_of(company.get("domain"), company.get("website")),
                    start_year=_int(start.get("year")),
                    start_month=_int(start.get("month")),
                    end_year=end_year,
                    end_month=_int(_dict(end).get("month")),
                    # An empty `end` ({}) is lemlist's "current role" (providers.md 1.8).
                    is_current=bool(date) and end_year is None,
                    description=_str(role.get("description")),
                )
            )
    return tuple(positions)
