"""The cross-provider model (providers.md section 4): what we ask for and what every provider's answer
becomes, whichever wire format it came in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field

ProviderName = str  # "lemlist" | "enrichso" | "thehog"
PROVIDERS: tuple[str, ...] = ("lemlist", "enrichso", "thehog")


class WantedField(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LINKEDIN = "linkedin"
    EMAIL_VERIFICATION = "email_verification"


class RecordStatus(StrEnum):
    PENDING = "pending"
    FOUND = "found"
    NOT_FOUND = "not_found"
    FAILED = "failed"


class EmailStatus(StrEnum):
    DELIVERABLE = "deliverable"
    RISKY = "risky"
    UNDELIVERABLE = "undeliverable"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Lower is better (providers.md 4.3): deliverable > risky > unknown > undeliverable."""
        return _EMAIL_RANK[self]


_EMAIL_RANK = {
    EmailStatus.DELIVERABLE: 0,
    EmailStatus.RISKY: 1,
    EmailStatus.UNKNOWN: 2,
    EmailStatus.UNDELIVERABLE: 3,
}


class CostBasis(StrEnum):
    REPORTED = "reported"  # read from the provider's response
    TABLE = "table"  # computed from the provider's documented price table
    # computed from a price table the provider does NOT publish (The Hog, providers.md 3.5/4.5):
    # our guess, shown apart from reported and table costs; budgets count it at worst case
    ESTIMATED = "estimated"
    UNKNOWN = "unknown"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnrichmentRequest(_Model):
    """Who to enrich and what we want to learn about them."""

    person_key: str
    correlation: str | None = None  # the caller's own id (CRM id, prospect row ...)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    linkedin_url: str | None = None
    job_title: str | None = None
    fields: frozenset[WantedField] = frozenset({WantedField.EMAIL})


class Phone(_Model):
    number: str  # E.164
    type: str | None = None  # mobile / direct / office / ...; None when the provider does not say
    source_rank: int = 0  # position in the provider's list (0 = first)


class Position(_Model):
    title: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    start_year: int | None = None
    start_month: int | None = None
    end_year: int | None = None
    end_month: int | None = None
    is_current: bool = False
    description: str | None = None


class Education(_Model):
    school_name: str | None = None
    degree_name: str | None = None
    start_year: int | None = None
    end_year: int | None = None


class LinkedinProfile(_Model):
    url: str | None = None
    provider_profile_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    headline: str | None = None
    title: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    location: str | None = None
    summary: str | None = None
    skills: tuple[str, ...] = ()
    positions: tuple[Position, ...] = ()
    education: tuple[Education, ...] = ()
    photo_url: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class EnrichmentResult(_Model):
    """One row per (person, provider, attempt) — the flattened record of providers.md 4.1."""

    person_key: str | None
    provider: ProviderName
    provider_ref: str | None = None
    request_correlation: str | None = None
    record_status: RecordStatus
    reason: str | None = None  # why failed / not found, in words
    email: str | None = None
    email_status: EmailStatus | None = None
    email_confidence: str | None = None
    phones: tuple[Phone, ...] = ()
    linkedin: LinkedinProfile | None = None
    cost_credits: int | None = None
    cost_basis: CostBasis = CostBasis.UNKNOWN
    fetched_at: datetime = Field(default_factory=utc_now)
    raw: dict[str, Any] = Field(default_factory=dict)


@lru_cache(maxsize=65536)  # pure; phonenumbers' parse is the slow part of reading a phone
def to_e164(number: str | None, default_region: str | None = None) -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    if not number or not isinstance(number, str):
        return None
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def dedupe_phones(phones: list[Phone]) -> tuple[Phone, ...]:
    """Keep the first occurrence of each number; a later duplicate may contribute a missing type."""
    by_number: dict[str, Phone] = {}
    for phone in phones:
        seen = by_number.get(phone.number)
        if seen is None:
            by_number[phone.number] = phone
        elif seen.type is None and phone.type is not None:
            by_number[phone.number] = seen.model_copy(update={"type": phone.type})
    return tuple(by_number.values())


class Submission(_Model):
    """One person handed to a provider: the provider's reference, or why it was refused.

    `provider_ref` is what a later poll needs (lemlist `enr_…`; enrich.so `<product>:<batchId>`;
    The Hog `op_…`). `error` is set when the provider refused this item (a per-item bulk error or a
    request the provider cannot serve, e.g. lemlist MISSING_LINKEDIN_URL); nothing was charged then.
    """

    person_key: str
    provider: ProviderName
    provider_ref: str | None = None
    correlation: str | None = None
    error: str | None = None
    submitted_at: datetime = Field(default_factory=utc_now)
    raw: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def refused(
        cls,
        request: EnrichmentRequest,
        provider: ProviderName,
        reason: str,
        raw: dict[str, Any] | None = None,
    ) -> Submission:
        """A person the provider cannot serve from what is known: refused before any call, so
        nothing was charged."""
        return cls(
            person_key=request.person_key,
            provider=provider,
            correlation=request.correlation,
            error=reason,
            raw=raw or {},
        )


class Outcome(StrEnum):
    """How one provider attempt ended. Each is recorded differently; only NOT_FOUND moves a person
    on to the next provider by default (a failure, a pending job or an unknown submit may still be
    answered, and then both providers would be paid)."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    PENDING = "pending"  # the job is still running (also: a poll that timed out)
    UNKNOWN = "unknown"  # the submit may have been accepted; reconcile, do not repeat
    REFUSED = "refused"  # the provider refused it (or could not serve it); nothing was charged
    SKIPPED_BUDGET = "skipped_budget"
    SKIPPED_SUPPRESSED = "skipped_suppressed"
    # Not sent: the provider failed (outage, 402, auth) before taking them. They wait for this
    # provider and are sent again next run; passing them down the waterfall is an explicit setting.
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Attempt:
    """One provider attempt for one person, as a partition reports it."""

    result: EnrichmentResult
    fields: frozenset[WantedField]
    outcome: Outcome
    from_cache: bool = False
