"""A seeded, deterministic synthetic world of people and companies, with ground truth.

CONTRACT (stub written by the lead; the world helper fills in the bodies, keeping every public name
and signature below unchanged because the provider emulators are written against them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EmailVerdict = Literal["deliverable", "risky", "undeliverable", "unknown"]
ProviderName = Literal["lemlist", "enrichso", "thehog"]
PhoneType = Literal["mobile", "direct", "office"]
PROVIDERS: tuple[ProviderName, ...] = ("lemlist", "enrichso", "thehog")


@dataclass(frozen=True, slots=True)
class Company:
    company_id: int
    name: str
    domain: str  # registrable domain, lower case, e.g. "northwind-labs.io"
    catch_all: bool  # the mail server accepts every address: verdicts are "risky"
    country: str  # ISO 3166 alpha-2
    city: str
    industry: str
    size: str  # LinkedIn size band, e.g. "51-200"
    founded_year: int
    linkedin_slug: str  # https://www.linkedin.com/company/<slug>


@dataclass(frozen=True, slots=True)
class Position:
    title: str
    company_name: str
    company_domain: str | None
    start_year: int
    start_month: int
    end_year: int | None  # None = current role
    end_month: int | None
    description: str


@dataclass(frozen=True, slots=True)
class Education:
    school_name: str
    degree_name: str
    start_year: int
    end_year: int


@dataclass(frozen=True, slots=True)
class Phone:
    number: str  # E.164, valid for phonenumbers
    type: PhoneType
    country: str  # ISO 3166 alpha-2


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str  # "p_000001" ...
    first_name: str  # as displayed: accents, particles, hyphens, some non-Latin scripts
    last_name: str
    company: Company
    title: str
    headline: str
    location: str
    summary: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    linkedin_slug: str  # lower-case, ascii/percent-safe slug; profile URL below
    linkedin_member_id: int
    profile_id: str  # enrich.so style profile id, e.g. "ACoAAE1xQk9bLm2"
    work_email: str  # lower case, at company.domain
    stale_emails: tuple[str, ...]  # addresses at former employers: they bounce (undeliverable)
    personal_email: str | None
    phones: tuple[Phone, ...]
    positions: tuple[Position, ...]  # newest first; positions[0] is the current role
    education: tuple[Education, ...]
    photo_url: str
    github_username: str | None
    x_handle: str | None

    @property
    def linkedin_url(self) -> str:
        return f"https://www.linkedin.com/in/{self.linkedin_slug}"

    @property
    def work_email_status(self) -> EmailVerdict:
        return "risky" if self.company.catch_all else "deliverable"


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What one provider knows about one person (a provider's answer, right or wrong)."""

    email: str | None  # usually the work email; sometimes a stale address (a wrong answer)
    email_status: EmailVerdict | None  # the status this provider reports for `email`
    phones: tuple[Phone, ...]  # may be empty; rarely a wrong (stale) number
    profile: bool  # can return the LinkedIn profile

    @property
    def knows_anything(self) -> bool:
        return self.email is not None or bool(self.phones) or self.profile


class World:
    """Build with World.build(seed, people, companies); same arguments -> identical world."""

    seed: int
    people: tuple[Person, ...]
    companies: tuple[Company, ...]

    @classmethod
    def build(cls, seed: int = 42, people: int = 5000, companies: int = 800) -> World:
        raise NotImplementedError

    def person(self, person_id: str) -> Person | None:
        raise NotImplementedError

    def find_by_linkedin(self, url_or_slug: str) -> Person | None:
        """Tolerant: any URL variant (scheme, www./country subdomain, query, trailing slash,
        percent-escapes, case) or a bare slug."""
        raise NotImplementedError

    def find_by_email(self, email: str) -> Person | None:
        """Case-insensitive; matches work, stale and personal addresses."""
        raise NotImplementedError

    def find_by_name(
        self,
        first_name: str,
        last_name: str,
        *,
        domain: str | None = None,
        company_name: str | None = None,
    ) -> Person | None:
        """Case- and accent-insensitive name match at the given company (domain or name)."""
        raise NotImplementedError

    def find_by_handle(self, platform: Literal["github", "x"], handle: str) -> Person | None:
        raise NotImplementedError

    def knowledge(self, provider: ProviderName, person: Person) -> Knowledge:
        """Deterministic (depends only on seed, provider and person)."""
        raise NotImplementedError

    def email_verdict(self, email: str) -> EmailVerdict:
        """Ground-truth deliverability of any address."""
        raise NotImplementedError

    def truth(self) -> dict[str, object]:
        """JSON-serialisable ground truth: companies, people, and each provider's knowledge."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """sha256 hex of the canonical JSON of truth()."""
        raise NotImplementedError
