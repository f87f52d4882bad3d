"""What enrich.so answers about an email, a lead or a profile, computed from the synthetic world.

Validation reads the world's ground-truth verdict (an SMTP check); finder, reverse lookup and phones
read `world.knowledge("enrichso", person)` — what this provider knows, right or wrong — and the
Person record for profile data. Nothing here touches HTTP; the handlers shape the envelopes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from enrich_pipeline.sandbox._world_data import COUNTRIES, FREE_MAIL_DOMAINS
from enrich_pipeline.sandbox.world import Company, EmailVerdict, Person, Position, World

PROVIDER = "enrichso"
ValidationResult = Literal["valid", "invalid", "risky"]

# Languages of the world as LinkedIn locale codes (ISO 639-1).
LANGUAGE_CODES = {
    "Arabic": "ar", "Catalan": "ca", "Dutch": "nl", "English": "en", "French": "fr",
    "German": "de", "Hindi": "hi", "Igbo": "ig", "Japanese": "ja", "Mandarin": "zh",
    "Polish": "pl", "Portuguese": "pt", "Russian": "ru", "Spanish": "es", "Swedish": "sv",
    "Tamil": "ta", "Yoruba": "yo",
}  # fmt: skip
SEG_PROVIDERS = ("Proofpoint", "Mimecast", "Barracuda")
COUNTRY_CODES = {str(info["name"]): code for code, info in COUNTRIES.items()}


def _country_name(code: str) -> str:
    return str(COUNTRIES.get(code, {}).get("name", code))


def _domain_draw(domain: str, salt: str) -> float:
    """A stable number in [0, 1) per domain: mail hosting is a property of the domain, not a person."""
    digest = hashlib.sha256(f"{salt}:{domain.lower()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def mail_provider(domain: str) -> str:
    draw = _domain_draw(domain, "mx")
    return "GOOGLE" if draw < 0.45 else "MICROSOFT" if draw < 0.8 else "SMTP"


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


def _catch_all(world: World, domain: str) -> bool:
    company: Company | None = world.company_by_domain(domain)
    return bool(company and company.catch_all)


# ------------------------------------------------------------------------------ email validation


@dataclass(frozen=True, slots=True)
class Validation:
    email: str
    person_id: str | None
    verdict: EmailVerdict
    result: ValidationResult
    confidence: str
    message: str
    catch_all: bool
    provider: str
    free_email: bool

    @property
    def charged(self) -> bool:
        return self.result != "risky"  # risky answers are not billed (providers.md 2.2)


def validate_email(world: World, address: str) -> Validation:
    domain = _domain_of(address)
    verdict = world.email_verdict(address)
    provider = mail_provider(domain)
    person = world.find_by_email(address)
    # Google and Microsoft answer mailbox probes through their APIs: those verdicts are definitive.
    sure = "definitive" if provider != "SMTP" else "high"
    catch_all = _catch_all(world, domain) and verdict != "undeliverable"
    result: ValidationResult
    if verdict == "deliverable":
        result, confidence, message = "valid", sure, "Mailbox exists and accepts mail"
    elif verdict == "undeliverable":
        result, confidence, message = "invalid", sure, "Mailbox does not exist"
    elif catch_all:
        result, confidence = "risky", "low"
        message = "Domain accepts all addresses; delivery not guaranteed"
    elif verdict == "risky":
        result, confidence, message = "risky", "medium", "Mailbox could not be confirmed"
    else:  # unknown domain: the mail server never gave a verdict
        result, confidence, message = "risky", "none", "Mail server gave no definitive answer"
    return Validation(
        email=address,
        person_id=person.person_id if person else None,
        verdict=verdict,
        result=result,
        confidence=confidence,
        message=message,
        catch_all=catch_all,
        provider=provider,
        free_email=domain in FREE_MAIL_DOMAINS,
    )


def validation_data(v: Validation) -> dict[str, Any]:
    """The per-endpoint OpenAPI shape of POST /email-validation (providers.md 2.4)."""
    domain = _domain_of(v.email)
    seg = _domain_draw(domain, "seg") < 0.2
    data: dict[str, Any] = {
        "email": v.email,
        "result": v.result,
        "message": v.message,
        "isCatchAll": v.catch_all,
        "isFederated": v.provider == "MICROSOFT" and _domain_draw(domain, "sso") < 0.3,
        "hasSEG": seg,
        "provider": v.provider,
        "confidence": v.confidence,
    }
    if seg:
        data["segProvider"] = SEG_PROVIDERS[int(_domain_draw(domain, "segp") * len(SEG_PROVIDERS))]
    return data


def validation_legacy(v: Validation) -> dict[str, Any]:
    """The quick-reference shape (providers.md 2.4 CONFLICT); status/subStatus values ASSUMPTION."""
    status = {"deliverable": "valid", "undeliverable": "invalid", "risky": "risky"}.get(
        v.verdict, "unknown"
    )
    sub_status = {"invalid": "mailbox_not_found", "risky": "catch_all" if v.catch_all else ""}
    return {
        "email": v.email,
        "status": status,
        "subStatus": sub_status.get(status, ""),
        "freeEmail": v.free_email,
        "disposable": False,  # the world has no disposable-mail domains
        "catchAll": v.catch_all,
    }


def validation_row(v: Validation) -> dict[str, Any]:
    """A row of the batch results (providers.md 2.4 example)."""
    return {
        "email": v.email,
        "result": v.result,
        "message": v.message,
        "isCatchAll": v.catch_all,
        "provider": v.provider,
        "confidence": v.confidence,
    }


def validation_hook(v: Validation) -> dict[str, Any]:
    """Per-result webhook data (snake_case, providers.md 2.9), without job_id."""
    return {
        "result_id": v.email,
        "result": {
            "email": v.email,
            "result": v.result,
            "message": v.message,
            "provider": v.provider,
            "confidence": v.confidence,
            "is_catch_all": v.catch_all,
            "domain": _domain_of(v.email),
        },
    }


# ---------------------------------------------------------------------------------- email finder


@dataclass(frozen=True, slots=True)
class Lead:
    first_name: str
    last_name: str
    domain: str

    @property
    def dedupe_key(self) -> str:
        """Batches drop duplicate leads by name + domain, case-insensitively (providers.md 2.1)."""
        return f"{self.first_name.lower()}|{self.last_name.lower()}|{self.domain.lower()}"


@dataclass(frozen=True, slots=True)
class Finding:
    lead: Lead
    person_id: str | None
    email: str | None  # None = not found
    confidence: str
    catch_all: bool
    provider: str

    @property
    def found(self) -> bool:
        return self.email is not None


def find_email(world: World, lead: Lead) -> Finding:
    person = world.find_by_name(lead.first_name, lead.last_name, domain=lead.domain)
    knows = world.knowledge(PROVIDER, person) if person else None
    status = knows.email_status if knows else None
    # An address the provider itself knows to bounce is not offered as a finding.
    address = knows.email if knows and status != "undeliverable" else None
    domain = _domain_of(address) if address else lead.domain.lower()
    catch_all = address is not None and _catch_all(world, domain)
    if status == "deliverable" and not catch_all:
        confidence = "high"
    elif status == "risky" and not catch_all:
        confidence = "medium"
    else:  # catch-all domain, or a status the provider could not establish
        confidence = "low"
    return Finding(
        lead=lead,
        person_id=person.person_id if person else None,
        email=address,
        confidence=confidence,
        catch_all=catch_all,
        provider=mail_provider(domain),
    )


def finder_data(f: Finding) -> dict[str, Any]:
    """EmailFinderResult (providers.md 2.5): echo fields, then the finding or `found: false`."""
    data: dict[str, Any] = {
        "firstName": f.lead.first_name,
        "lastName": f.lead.last_name,
        "domain": f.lead.domain,
        "found": f.found,
    }
    if not f.found:
        data["message"] = "No professional email found"
        return data
    data.update(
        email=f.email,
        confidence=f.confidence,
        isCatchAll=f.catch_all,
        provider=f.provider,
        message=f"Email found ({f.confidence} confidence)",
    )
    return data


def finder_hook(f: Finding) -> dict[str, Any]:
    """Per-result webhook data. result_id is the found email (doc example); for a miss the doc is
    silent — ASSUMPTION: the lead as `firstName|lastName|domain` (the "documented" shape sends an
    opaque id instead: enrichso_products.documented_row)."""
    data = finder_data(f)
    result: dict[str, Any] = {
        "email": f.email,
        "result": "found" if f.found else "not_found",
        "message": data["message"],
        "domain": f.lead.domain.lower(),
    }
    if f.found:
        result.update(confidence=f.confidence, is_catch_all=f.catch_all, provider=f.provider)
    lead_key = f"{f.lead.first_name}|{f.lead.last_name}|{f.lead.domain}"
    return {"result_id": f.email or lead_key, "result": result}


# -------------------------------------------------------------------------------- reverse lookup


def profile_owner(world: World, address: str) -> tuple[Person | None, bool]:
    """(person behind the email, whether enrich.so can return their profile)."""
    person = world.find_by_email(address)
    return person, bool(person and world.knowledge(PROVIDER, person).profile)


def _span(
    start_year: int, start_month: int | None, end_year: int | None, end_month: int | None
) -> dict[str, Any]:
    start: dict[str, Any] = (
        {"year": start_year} if start_month is None else {"month": start_month, "year": start_year}
    )
    if end_year is None:
        return {"start": start, "end": None}  # null end = current role
    end: dict[str, Any] = (
        {"year": end_year} if end_month is None else {"month": end_month, "year": end_year}
    )
    return {"start": start, "end": end}


def _position(position: Position, current: Company) -> dict[str, Any]:
    row: dict[str, Any] = {"title": position.title, "companyName": position.company_name}
    if position.company_name == current.name:  # the world knows where the current employer is
        row["companyLocation"] = f"{current.city}, {_country_name(current.country)}"
    row["description"] = position.description
    row["startEndDate"] = _span(
        position.start_year, position.start_month, position.end_year, position.end_month
    )
    return row


def profile_data(person: Person) -> dict[str, Any]:
    """ReverseLookupResult (providers.md 2.6), from the Person record. Fields the world does not
    model (connection counts, company logos) are left out, as the doc's own example leaves them."""
    company = person.company
    positions = [_position(p, company) for p in person.positions]
    schools = [
        {
            "degreeName": e.degree_name,
            "schoolName": e.school_name,
            "startEndDate": _span(e.start_year, None, e.end_year, None),
        }
        for e in person.education
    ]
    language = LANGUAGE_CODES.get(person.languages[0], "en") if person.languages else "en"
    # The locale is where the person lives ("Fukuoka, Japan"), not where the employer is based.
    country = COUNTRY_CODES.get(person.location.rsplit(", ", 1)[-1], company.country)
    return {
        "id": person.profile_id,
        "displayName": f"{person.first_name} {person.last_name}",
        "firstName": person.first_name,
        "lastName": person.last_name,
        "headline": person.headline,
        "summary": person.summary,
        "companyName": company.name,
        "location": person.location,
        "photoUrl": person.photo_url,
        "profileUrl": person.linkedin_url,
        "isPublic": True,
        "skills": list(person.skills),
        "locale": {"country": country, "language": language},
        "positions": {"positionsCount": len(positions), "positionHistory": positions},
        "schools": {"educationsCount": len(schools), "educationHistory": schools},
        "creditsConsumed": 10,
    }


# ------------------------------------------------------------------------------------ phone finder


def phone_owner(world: World, email: str | None, linkedin: str | None) -> Person | None:
    """The profile URL wins when both are given (it names one person unambiguously)."""
    person = world.find_by_linkedin(linkedin) if linkedin else None
    if person is None and email:
        person = world.find_by_email(email)
    return person


def known_phones(world: World, person: Person | None) -> list[tuple[str, str]]:
    """(E.164 number, type) pairs enrich.so knows for the person."""
    if person is None:
        return []
    return [(p.number, p.type) for p in world.knowledge(PROVIDER, person).phones]
