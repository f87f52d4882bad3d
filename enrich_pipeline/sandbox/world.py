"""A seeded, deterministic synthetic world of people and companies, with ground truth.

CONTRACT (stub written by the lead; the world helper fills in the bodies, keeping every public name
and signature below unchanged because the provider emulators are written against them).

How it is made: `World.build(seed, people, companies)` draws everything from one
`random.Random(seed)` (no `hash()`, no set order, no clock; "today" is REFERENCE_YEAR/MONTH), so
the same arguments give a byte-identical `truth()`; built worlds are cached per arguments and
must be treated as read-only. Names come from several cultures (accents, particles, hyphens,
a few Chinese/Japanese/Cyrillic names with romanisations); companies, schools and free-mail
domains are invented. Phones are varied from phonenumbers' example numbers and checked valid.

What each provider knows (`knowledge`) is drawn lazily from `random.Random(f"{seed}:{provider}:
{person_id}")` at the rates in PROVIDER_RATES; DARK_RATE of the people are known to nobody;
STALE_ANSWER_RATE of returned emails are stale addresses and WRONG_PHONE_RATE of phone answers
carry a valid number that belongs to nobody (see `wrong_phone_numbers`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import threading
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

try:  # private but long-stable helper of phonenumbers; see _number_type
    from phonenumbers.phonenumberutil import _number_type_helper as _type_helper
except ImportError:  # pragma: no cover
    _type_helper = None

from enrich_pipeline.sandbox import _world_data as D
from enrich_pipeline.sandbox._text import (
    ascii_name,
    email_token,
    fold_name,
    is_valid_email_syntax,
    linkedin_slug,
    normalise_domain,
    normalise_email,
    normalise_handle,
    slug_token,
)

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


# ---------------------------------------------------------------------------------------------
# Tunables. Provider rates are the share of people (who have the datum at all) that a provider
# can answer for; they are divided by (1 - DARK_RATE) because the dark people are known to nobody.
# ---------------------------------------------------------------------------------------------

REFERENCE_YEAR, REFERENCE_MONTH = 2026, 10  # "today" of the world: no clock is ever read
DARK_RATE = 0.08  # people known to no provider at all
CATCH_ALL_RATE = 0.12
STALE_PEOPLE_RATE = 0.30  # people with 1-2 addresses at a former employer (they bounce)
PERSONAL_EMAIL_RATE = 0.40
GITHUB_RATE = 0.25
X_RATE = 0.25
STALE_ANSWER_RATE = 0.03  # share of a provider's returned emails that are a stale address
WRONG_PHONE_RATE = 0.01  # share of a provider's phone answers that carry a wrong number

PROVIDER_RATES: dict[str, tuple[float, float, float]] = {
    #            email  phone  profile
    "lemlist": (0.70, 0.30, 0.60),
    "enrichso": (0.50, 0.25, 0.80),
    "thehog": (0.45, 0.65, 0.45),
}

EMAIL_PATTERNS: tuple[tuple[str, int], ...] = (
    ("first.last", 40),
    ("flast", 20),
    ("first", 10),
    ("first_last", 10),
    ("firstlast", 10),
    ("first.l", 10),
)
PHONE_COUNT_WEIGHTS = (15, 45, 28, 12)  # 0, 1, 2, 3 phones
POSITION_COUNT_WEIGHTS = (20, 30, 25, 15, 10)  # 1..5 positions
EDUCATION_COUNT_WEIGHTS = (15, 45, 30, 10)  # 0..3 schools
_PN_TYPE = {"mobile": PhoneNumberType.MOBILE, "direct": PhoneNumberType.FIXED_LINE,
            "office": PhoneNumberType.FIXED_LINE}  # fmt: skip
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NON_LATIN = frozenset({"chinese", "japanese", "russian"})
_POSITION_BLURBS = (
    "", "", "Owned the quarterly plan and the numbers behind it.",
    "Built the team from 2 to 9 people.", "Led the migration to a new CRM.",
    "Responsible for EMEA.", "Launched two products from zero to first revenue.",
    "Cut reporting time in half with better data pipelines.", "Managed key accounts in DACH.",
    "Hired and onboarded new joiners; ran the weekly pipeline review.",
)  # fmt: skip


def local_part(pattern: str, first: str, last: str) -> str:
    """Local part of a work address for an email pattern; tokens from `email_token`."""
    f, last_ = first or "x", last or "x"
    if pattern == "first.last":
        return f"{f}.{last_}"
    if pattern == "flast":
        return f"{f[0]}{last_}"
    if pattern == "first":
        return f
    if pattern == "first_last":
        return f"{f}_{last_}"
    if pattern == "firstlast":
        return f"{f}{last_}"
    if pattern == "first.l":
        return f"{f}.{last_[0]}"
    raise ValueError(f"unknown email pattern {pattern!r}")


def _number_type(region: str, code: int, national: int) -> int:
    """phonenumbers' type of a number known to belong to `region`; UNKNOWN when invalid.

    Checking against the region's own metadata skips `region_code_for_number`, which tries every
    region sharing the country code (+1 has two dozen) and dominated the build time. Falls back
    to the public API if the helper ever disappears; `is_valid_number` is asserted in the tests.
    """
    if _type_helper is not None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None:
            return _type_helper(str(national), metadata)
    number = phonenumbers.PhoneNumber(country_code=code, national_number=national)
    if phonenumbers.region_code_for_number(number) != region:
        return PhoneNumberType.UNKNOWN
    return phonenumbers.number_type(number)


@cache
def _phone_base(region: str, phone_type: str) -> tuple[int, int, int]:
    """(country code, national number prefix, number of free trailing digits) for a region/type."""
    example = phonenumbers.example_number_for_type(region, _PN_TYPE[phone_type])
    if example is None:  # pragma: no cover - every region we use has examples
        raise ValueError(f"no example number for {region}/{phone_type}")
    national = str(example.national_number)
    free = min(6, len(national) - 3)
    return example.country_code, int(national[:-free]) if len(national) > free else 0, free


def _draw_phone(rng: random.Random, region: str, phone_type: str, used: set[str]) -> str:
    """A fresh E.164 number of the region and type, valid per phonenumbers and not in `used`."""
    code, prefix, free = _phone_base(region, phone_type)
    wanted = _PN_TYPE[phone_type]
    for _ in range(200):
        national = prefix * 10**free + rng.randrange(10**free)
        e164 = f"+{code}{national}"
        if e164 in used:
            continue
        if _number_type(region, code, national) not in (
            wanted,
            PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            continue
        used.add(e164)
        return e164
    raise RuntimeError(f"phone space exhausted for {region}/{phone_type}")  # pragma: no cover


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast, deterministic)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: tuple | list, weights: tuple | list) -> None:
        self._items = tuple(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random):
        return self._items[bisect_left(self._cum, rng.random() * self._total + 1e-12)]


_POSITION_COUNT = _Picker(range(1, 6), POSITION_COUNT_WEIGHTS)
_PHONE_COUNT = _Picker(range(4), PHONE_COUNT_WEIGHTS)
_EDUCATION_COUNT = _Picker(range(4), EDUCATION_COUNT_WEIGHTS)


class _Builder:
    """Generates the world. Every random draw comes from one random.Random(seed)."""

    def __init__(self, seed: int, n_people: int, n_companies: int) -> None:
        if n_people < 0 or n_companies < 1:
            raise ValueError("need people >= 0 and companies >= 1")
        self.rng = random.Random(seed)
        self.n_people = n_people
        self.n_companies = n_companies
        self.countries = tuple(D.COUNTRIES)
        self.country_picker = _Picker(
            self.countries, [int(D.COUNTRIES[c]["weight"]) for c in self.countries]
        )
        self.size_picker = _Picker(range(len(D.SIZE_BANDS)), D.SIZE_BAND_WEIGHTS)
        self.pattern_picker = _Picker(*zip(*EMAIL_PATTERNS, strict=True))
        self.dept_picker = _Picker(tuple(D.DEPARTMENTS), tuple(D.DEPARTMENT_WEIGHTS.values()))
        cultures = tuple(D.CULTURES)
        # Any-culture draw: non-Latin scripts are rare (about 4 % of people overall).
        self.any_culture = _Picker(cultures, [3 if c in _NON_LATIN else 20 for c in cultures])
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        self.used_slugs: set[str] = set()
        self.used_handles: dict[str, set[str]] = {"github": set(), "x": set()}
        self.used_names: set[tuple[str, str, int]] = set()
        self.used_member_ids: set[int] = set()
        self.used_profile_ids: set[str] = set()
        self.patterns: dict[int, str] = {}
        self.by_domain: dict[str, Company] = {}

    # -- companies -------------------------------------------------------------------------

    def companies(self) -> tuple[Company, ...]:
        rng = self.rng
        names: set[str] = set()
        domains: set[str] = set()
        out = []
        for company_id in range(1, self.n_companies + 1):
            country = self.country_picker(rng)
            info = D.COUNTRIES[country]
            base = ""
            for attempt in range(40):
                words = [rng.choice(D.COMPANY_FIRST), rng.choice(D.COMPANY_SECOND)]
                if attempt >= 10:
                    words.append(rng.choice(D.COMPANY_THIRD))
                base = " ".join(words)
                if fold_name(base) not in names:
                    break
            else:
                base = f"{base} {company_id}"
            names.add(fold_name(base))
            legal = rng.choice(D.LEGAL_SUFFIX[country])
            label = slug_token(base)
            if rng.random() < 0.4:
                label = label.replace("-", "")
            tlds: tuple[str, ...] = info["tlds"]  # type: ignore[assignment]
            tld = rng.choice(tlds)
            domain = f"{label}{tld}"
            if domain in domains:
                for alt in (*tlds, ".com", ".io", ".net", ".co"):
                    domain = f"{label}{alt}"
                    if domain not in domains:
                        break
                else:
                    domain = f"{label}-{company_id}{tld}"
            domains.add(domain)
            band = self.size_picker(rng)
            founded_floor = 2020 - 5 * band
            self.patterns[company_id] = self.pattern_picker(rng)
            out.append(
                Company(
                    company_id=company_id,
                    name=f"{base} {legal}".strip(),
                    domain=domain,
                    catch_all=rng.random() < CATCH_ALL_RATE,
                    country=country,
                    city=rng.choice(info["cities"]),  # type: ignore[arg-type]
                    industry=rng.choice(D.INDUSTRIES),
                    size=D.SIZE_BANDS[band][0],
                    founded_year=rng.randint(
                        max(1950, founded_floor - 30), min(2024, founded_floor + 6)
                    ),
                    linkedin_slug=slug_token(base),
                )
            )
        self.by_domain = {c.domain: c for c in out}
        return tuple(out)

    # -- people ----------------------------------------------------------------------------

    def people(self, companies: tuple[Company, ...]) -> tuple[list[Person], set[str]]:
        rng = self.rng
        employer = _Picker(companies, [D.SIZE_BANDS[_band(c)][1] for c in companies])
        plain = tuple(c for c in companies if not c.catch_all) or companies
        people: list[Person] = []
        dark: set[str] = set()
        for index in range(1, self.n_people + 1):
            person_id = f"p_{index:06d}"
            company = employer(rng)
            if rng.random() < DARK_RATE:
                dark.add(person_id)
            people.append(self.person(person_id, company, companies, plain))
        return people, dark

    def name(self, company: Company) -> tuple[str, str, str, str, str]:
        """(first, last, first_ascii, last_ascii, culture), unique per company."""
        rng = self.rng
        local: tuple[str, ...] = D.COUNTRIES[company.country]["cultures"]  # type: ignore[assignment]
        for _ in range(30):
            culture = rng.choice(local) if rng.random() < 0.65 else self.any_culture(rng)
            pools = D.CULTURES[culture]
            female = rng.random() < 0.5
            first, first_ascii = rng.choice(pools["female" if female else "male"])
            lasts = pools.get("last") or pools["last_female" if female else "last_male"]
            last, last_ascii = rng.choice(lasts)
            key = (fold_name(first), fold_name(last), company.company_id)
            if key not in self.used_names:
                self.used_names.add(key)
                return (first, last, first_ascii or ascii_name(first),
                        last_ascii or ascii_name(last), culture)  # fmt: skip
        raise RuntimeError("could not draw a unique name")  # pragma: no cover

    def unique_email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        counter = 2
        while email in self.used_emails:
            email = f"{local}{counter}@{domain}"
            counter += 1
        self.used_emails.add(email)
        return email

    def person(
        self,
        person_id: str,
        company: Company,
        companies: tuple[Company, ...],
        plain: tuple[Company, ...],
    ) -> Person:
        rng = self.rng
        first, last, first_ascii, last_ascii, culture = self.name(company)
        ftok, ltok = email_token(first_ascii), email_token(last_ascii)
        country = company.country if rng.random() < 0.85 else self.country_picker(rng)
        info = D.COUNTRIES[country]
        city = (
            company.city
            if country == company.country and rng.random() < 0.8
            else rng.choice(
                info["cities"]  # type: ignore[arg-type]
            )
        )
        department = self.dept_picker(rng)
        titles, dept_skills = D.DEPARTMENTS[department]
        wants_stale = rng.random() < STALE_PEOPLE_RATE
        positions = self.positions(company, companies, plain, titles, wants_stale)
        stale = self.stale_emails(positions, ftok, ltok) if wants_stale else ()
        work_email = self.unique_email(
            local_part(self.patterns[company.company_id], ftok, ltok), company.domain
        )
        title = positions[0].title
        skill_count = rng.randint(3, 10)
        skills = rng.sample(dept_skills, min(skill_count, len(dept_skills)))
        languages = self.languages(info, culture)
        headline = self.headline(title, company, skills)
        previous = positions[1].company_name if len(positions) > 1 else "a startup"
        years = max(1, REFERENCE_YEAR - positions[-1].start_year)
        summary = self.summary(department, company, previous, city, skills, years)
        return Person(
            person_id=person_id,
            first_name=first,
            last_name=last,
            company=company,
            title=title,
            headline=headline,
            location=f"{city}, {info['name']}",
            summary=summary,
            skills=tuple(skills),
            languages=languages,
            linkedin_slug=self.slug(first_ascii, last_ascii),
            linkedin_member_id=self.member_id(),
            profile_id=self.profile_id(),
            work_email=work_email,
            stale_emails=stale,
            personal_email=self.personal_email(ftok, ltok)
            if rng.random() < PERSONAL_EMAIL_RATE
            else None,
            phones=self.phones(country),
            positions=positions,
            education=self.education(positions[-1].start_year),
            photo_url=f"https://media.sandbox.test/photos/{person_id}.jpg",
            github_username=self.github(ftok, ltok) if rng.random() < GITHUB_RATE else None,
            x_handle=self.x_handle(ftok, ltok) if rng.random() < X_RATE else None,
        )

    def positions(
        self,
        company: Company,
        companies: tuple[Company, ...],
        plain: tuple[Company, ...],
        titles: tuple[str, ...],
        wants_stale: bool,
    ) -> tuple[Position, ...]:
        rng = self.rng
        count = _POSITION_COUNT(rng)
        if wants_stale and count == 1:
            count = 2
        level = rng.randrange(len(titles))
        cursor = REFERENCE_YEAR * 12 + REFERENCE_MONTH - 1  # months since year 0
        start = cursor - rng.randint(2, 72)
        out = [_position(titles[level], company, start, None, rng)]
        for index in range(1, count):
            end = start - rng.randint(0, 4)
            start = end - rng.randint(6, 60)
            if start < 1988 * 12:
                break
            level = max(0, level - rng.choice((0, 1, 1, 2)))
            title = titles[level]
            roll = rng.random()
            if index == 1 and wants_stale:
                former: Company | None = _other(rng, plain, company)
            elif roll < 0.05:
                former = company
            elif roll < 0.15:
                former = None
            else:
                former = _other(rng, companies, company)
            if former is None:
                employer = rng.choice(D.NON_COMPANY_EMPLOYERS)
                out.append(Position(title=title, company_name=employer, company_domain=None,
                                    start_year=start // 12, start_month=start % 12 + 1,
                                    end_year=end // 12, end_month=end % 12 + 1,
                                    description=rng.choice(_POSITION_BLURBS)))  # fmt: skip
            else:
                out.append(_position(title, former, start, end, rng))
        return tuple(out)

    def stale_emails(
        self, positions: tuple[Position, ...], ftok: str, ltok: str
    ) -> tuple[str, ...]:
        """1 or 2 addresses at former non-catch-all employers (`positions` puts one at index 1
        for the people drawn to have stale addresses)."""
        current = positions[0].company_domain
        candidates: list[Company] = []
        for position in positions[1:3]:
            former = self.by_domain.get(position.company_domain or "")
            eligible = former and not former.catch_all and former.domain != current
            if eligible and former not in candidates:
                candidates.append(former)
        keep = (
            candidates[:2] if len(candidates) > 1 and self.rng.random() < 0.25 else candidates[:1]
        )
        return tuple(
            self.unique_email(local_part(self.patterns[c.company_id], ftok, ltok), c.domain)
            for c in keep
        )

    def languages(self, info: dict[str, object], culture: str) -> tuple[str, ...]:
        rng = self.rng
        spoken: tuple[str, ...] = info["languages"]  # type: ignore[assignment]
        out = list(spoken[: rng.randint(1, len(spoken))])
        if "English" not in out and rng.random() < 0.8:
            out.append("English")
        extra = {"german": "German", "french": "French", "iberian": "Spanish", "slavic": "Polish",
                 "chinese": "Mandarin", "japanese": "Japanese", "russian": "Russian",
                 "arabic_latin": "Arabic", "south_asian": "Hindi"}.get(culture)  # fmt: skip
        if extra and extra not in out and rng.random() < 0.6:
            out.append(extra)
        return tuple(out)

    def headline(self, title: str, company: Company, skills: list[str]) -> str:
        rng = self.rng
        short = company.name.split(" ")[0] + " " + company.name.split(" ")[1]
        choice = rng.randrange(5)
        if choice == 0:
            return f"{title} at {company.name}"
        if choice == 1:
            return f"{title} @ {short}"
        if choice == 2 and len(skills) >= 2:
            return f"{title} | {skills[0]} & {skills[1]}"
        if choice == 3:
            return title
        return f"{title} at {short}"

    def summary(self, department: str, company: Company, previous: str, city: str,
                skills: list[str], years: int) -> str:  # fmt: skip
        rng = self.rng
        fields = {
            "industry": company.industry.lower(),
            "years": years,
            "dept_word": D.DEPT_WORDS[department],
            "company": company.name,
            "previous": previous,
            "skill1": skills[0],
            "skill2": skills[-1],
            "city": city,
        }
        parts = (rng.choice(D.SUMMARY_OPENERS), rng.choice(D.SUMMARY_CLOSERS))
        text = " ".join(p.format(**fields) for p in parts if p)
        return text.replace("..", ".")  # a company name ending in "Ltda." ends a sentence

    def slug(self, first_ascii: str, last_ascii: str) -> str:
        rng = self.rng
        base = slug_token(f"{first_ascii} {last_ascii}") or "member"
        slug = base
        if slug in self.used_slugs or rng.random() < 0.35:
            slug = f"{base}-{rng.getrandbits(24):06x}"
            while slug in self.used_slugs:
                slug = f"{base}-{rng.getrandbits(24):06x}"
        self.used_slugs.add(slug)
        return slug

    def member_id(self) -> int:
        value = self.rng.randrange(10**8, 10**9)
        while value in self.used_member_ids:
            value = self.rng.randrange(10**8, 10**9)
        self.used_member_ids.add(value)
        return value

    def profile_id(self) -> str:
        while True:
            bits = self.rng.getrandbits(60)
            chars = []
            for _ in range(10):
                bits, digit = divmod(bits, 62)
                chars.append(_ALNUM[digit])
            value = "ACoAA" + "".join(chars)
            if value not in self.used_profile_ids:
                self.used_profile_ids.add(value)
                return value

    def personal_email(self, ftok: str, ltok: str) -> str:
        rng = self.rng
        domain = rng.choice(D.FREE_MAIL_DOMAINS)
        style = rng.randrange(4)
        f, last_ = ftok.replace("-", "") or "x", ltok.replace("-", "") or "x"
        if style == 0:
            local = f"{f}.{last_}{rng.randint(1, 99)}"
        elif style == 1:
            local = f"{f}{last_}"
        elif style == 2:
            local = f"{f[0]}{last_}{rng.randint(1970, 2005)}"
        else:
            local = f"{last_}.{f}"
        return self.unique_email(local, domain)

    def phones(self, country: str) -> tuple[Phone, ...]:
        rng = self.rng
        count = _PHONE_COUNT(rng)
        out = []
        types = ["mobile", "direct", "office"]
        for index in range(count):
            if index == 0:
                roll = rng.random()
                phone_type = "mobile" if roll < 0.7 else ("direct" if roll < 0.9 else "office")
            else:
                phone_type = rng.choice(types)
            if phone_type in types and index < 2:
                types.remove(phone_type)
            region = country if rng.random() < 0.85 else self.country_picker(rng)
            number = _draw_phone(rng, region, phone_type, self.used_phones)
            out.append(Phone(number=number, type=phone_type, country=region))  # type: ignore[arg-type]
        return tuple(out)

    def orphans(self) -> dict[str, tuple[str, ...]]:
        """Valid numbers owned by nobody: the wrong answers providers sometimes give."""
        per_country = max(3, self.n_people // 400)
        return {
            country: tuple(
                _draw_phone(self.rng, country, "mobile", self.used_phones)
                for _ in range(per_country)
            )
            for country in self.countries
        }

    def education(self, career_start: int) -> tuple[Education, ...]:
        rng = self.rng
        count = _EDUCATION_COUNT(rng)
        out = []
        end = career_start - rng.randint(0, 2)
        for _ in range(count):
            length = rng.choice((1, 2, 3, 4))
            school = rng.choice(D.SCHOOL_PATTERNS).format(w=rng.choice(D.SCHOOL_WORDS))
            out.append(Education(school_name=school, degree_name=rng.choice(D.DEGREES),
                                 start_year=end - length, end_year=end))  # fmt: skip
            end = end - length - rng.randint(0, 2)
        return tuple(out)

    def github(self, ftok: str, ltok: str) -> str | None:
        rng = self.rng
        f, last_ = ftok.replace("-", ""), ltok.replace("-", "")
        options = (f"{f}{last_}", f"{f}-{last_}", f"{f[:1]}{last_}", f"{last_}-dev",
                   f"{f}{last_}{rng.randint(1, 999)}")  # fmt: skip
        return self._handle("github", options, 39)

    def x_handle(self, ftok: str, ltok: str) -> str | None:
        rng = self.rng
        f, last_ = ftok.replace("-", ""), ltok.replace("-", "")
        options = (f"{f}_{last_}", f"{f}{last_}", f"{f[:1]}{last_}", f"{f}{rng.randint(10, 9999)}",
                   f"the{f}{last_}")  # fmt: skip
        return self._handle("x", options, 15)

    def _handle(self, platform: str, options: tuple[str, ...], limit: int) -> str | None:
        rng = self.rng
        used = self.used_handles[platform]
        start = rng.randrange(len(options))
        for offset in range(len(options) + 5):
            handle = options[(start + offset) % len(options)][:limit]
            if offset >= len(options):
                handle = f"{handle[: limit - 4]}{rng.randint(1000, 9999)}"
            if handle and handle.lower() not in used:
                used.add(handle.lower())
                return handle
        return None  # pragma: no cover


def _band(company: Company) -> int:
    return next(i for i, (band, _) in enumerate(D.SIZE_BANDS) if band == company.size)


def _other(rng: random.Random, pool: tuple[Company, ...], current: Company) -> Company:
    if len(pool) == 1 and pool[0] == current:
        return current
    while True:
        choice = pool[rng.randrange(len(pool))]
        if choice is not current:
            return choice


def _position(title: str, company: Company, start: int, end: int | None,
              rng: random.Random) -> Position:  # fmt: skip
    return Position(
        title=title,
        company_name=company.name,
        company_domain=company.domain,
        start_year=start // 12,
        start_month=start % 12 + 1,
        end_year=None if end is None else end // 12,
        end_month=None if end is None else end % 12 + 1,
        description=rng.choice(_POSITION_BLURBS),
    )


_NOBODY = Knowledge(email=None, email_status=None, phones=(), profile=False)


class World:
    """Build with World.build(seed, people, companies); same arguments -> identical world.

    A built world is shared (cached per arguments) and must be treated as read-only.
    """

    seed: int
    people: tuple[Person, ...]
    companies: tuple[Company, ...]

    def __init__(
        self,
        seed: int,
        companies: tuple[Company, ...],
        people: tuple[Person, ...],
        *,
        dark: frozenset[str],
        orphans: dict[str, tuple[str, ...]],
        patterns: dict[int, str],
    ) -> None:
        self.seed = seed
        self.companies = companies
        self.people = people
        self._dark = dark
        self._orphans = orphans
        self._patterns = patterns
        self._knowledge: dict[tuple[str, str], Knowledge] = {}
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._index()

    @classmethod
    def build(cls, seed: int = 42, people: int = 5000, companies: int = 800) -> World:
        return _build_cached(int(seed), int(people), int(companies))

    # -- indexes ---------------------------------------------------------------------------

    def _index(self) -> None:
        self._by_id = {p.person_id: p for p in self.people}
        self._by_slug = {p.linkedin_slug: p for p in self.people}
        self._by_member_id = {p.linkedin_member_id: p for p in self.people}
        self._by_profile_id = {p.profile_id.lower(): p for p in self.people}
        self._company_by_domain = {c.domain: c for c in self.companies}
        self._company_by_id = {c.company_id: c for c in self.companies}
        self._company_by_name: dict[str, Company] = {}
        for c in self.companies:
            self._company_by_name.setdefault(fold_name(c.name), c)
        for c in self.companies:  # also without the legal suffix ("Northwind Labs GmbH")
            self._company_by_name.setdefault(fold_name(_without_legal(c)), c)
        self._email_kind: dict[str, tuple[Person, str]] = {}
        self._by_phone: dict[str, Person] = {}
        self._by_name: dict[tuple[str, str, int], Person] = {}
        self._by_name_anywhere: dict[tuple[str, str], list[Person]] = {}
        self._by_github: dict[str, Person] = {}
        self._by_x: dict[str, Person] = {}
        for p in self.people:
            self._email_kind[p.work_email] = (p, "work")
            for e in p.stale_emails:
                self._email_kind[e] = (p, "stale")
            if p.personal_email:
                self._email_kind[p.personal_email] = (p, "personal")
            for ph in p.phones:
                self._by_phone[ph.number] = p
            for key in _name_keys(p.first_name, p.last_name):
                self._by_name.setdefault((*key, p.company.company_id), p)
                bucket = self._by_name_anywhere.setdefault(key, [])
                if p not in bucket:
                    bucket.append(p)
            if p.github_username:
                self._by_github[p.github_username.lower()] = p
            if p.x_handle:
                self._by_x[p.x_handle.lower()] = p
        self._free_mail = frozenset(D.FREE_MAIL_DOMAINS)

    # -- lookups ---------------------------------------------------------------------------

    def person(self, person_id: str) -> Person | None:
        return self._by_id.get(person_id)

    def find_by_linkedin(self, url_or_slug: str) -> Person | None:
        """Tolerant: any URL variant (scheme, www./country subdomain, query, trailing slash,
        percent-escapes, case) or a bare slug."""
        slug = linkedin_slug(url_or_slug or "")
        return self._by_slug.get(slug) if slug else None

    def find_by_email(self, email: str) -> Person | None:
        """Case-insensitive; matches work, stale and personal addresses."""
        hit = self._email_kind.get(normalise_email(email or ""))
        return hit[0] if hit else None

    def find_by_name(
        self,
        first_name: str,
        last_name: str,
        *,
        domain: str | None = None,
        company_name: str | None = None,
    ) -> Person | None:
        """Case- and accent-insensitive name match at the given company (domain or name).

        Without any company, a name that is unique in the whole world still matches.
        """
        key = (fold_name(first_name or ""), fold_name(last_name or ""))
        if not key[0] or not key[1]:
            return None
        companies = []
        if domain:
            found = self.company_by_domain(domain)
            if found:
                companies.append(found)
        if company_name:
            found = self.company_by_name(company_name)
            if found and found not in companies:
                companies.append(found)
        if not companies:
            if domain or company_name:
                return None
            matches = self._by_name_anywhere.get(key, [])
            return matches[0] if len(matches) == 1 else None
        for company in companies:
            hit = self._by_name.get((*key, company.company_id))
            if hit:
                return hit
        return None

    def find_by_handle(self, platform: Literal["github", "x"], handle: str) -> Person | None:
        index = {"github": self._by_github, "x": self._by_x, "twitter": self._by_x}.get(platform)
        if index is None:
            raise ValueError(f"unknown platform {platform!r}")
        return index.get(normalise_handle(handle or ""))

    # Extra lookups (not part of the original contract) used by emulators and tests.

    def find_by_phone(self, number: str) -> Person | None:
        return self._by_phone.get(number.strip())

    def find_by_profile_id(self, profile_id: str) -> Person | None:
        return self._by_profile_id.get(profile_id.strip().lower())

    def find_by_member_id(self, member_id: int) -> Person | None:
        return self._by_member_id.get(int(member_id))

    def company(self, company_id: int) -> Company | None:
        return self._company_by_id.get(company_id)

    def company_by_domain(self, domain: str) -> Company | None:
        """Registrable domain, `www.` host, URL or email address; sub-domains fall back."""
        host = normalise_domain(domain or "")
        while host:
            found = self._company_by_domain.get(host)
            if found or host.count(".") < 2:
                return found
            host = host.split(".", 1)[1]
        return None

    def company_by_name(self, name: str) -> Company | None:
        """Case-, accent- and punctuation-insensitive; the legal suffix may be left out."""
        return self._company_by_name.get(fold_name(name or ""))

    def email_pattern(self, company: Company) -> str:
        """The company's work address pattern: first.last, flast, first, first_last, ..."""
        return self._patterns[company.company_id]

    def email_kind(self, email: str) -> Literal["work", "stale", "personal"] | None:
        hit = self._email_kind.get(normalise_email(email or ""))
        return hit[1] if hit else None  # type: ignore[return-value]

    def is_dark(self, person: Person) -> bool:
        """Known to no provider at all."""
        return person.person_id in self._dark

    def wrong_phone_numbers(self) -> frozenset[str]:
        """Every number a provider may hand out as a wrong answer (owned by nobody)."""
        return frozenset(n for numbers in self._orphans.values() for n in numbers)

    # -- provider knowledge ----------------------------------------------------------------

    def knowledge(self, provider: ProviderName, person: Person) -> Knowledge:
        """Deterministic (depends only on seed, provider and person)."""
        if provider not in PROVIDER_RATES:
            raise ValueError(f"unknown provider {provider!r}")
        cache_key = (provider, person.person_id)
        known = self._knowledge.get(cache_key)
        if known is None:
            known = self._compute_knowledge(provider, person)
            with self._lock:
                self._knowledge[cache_key] = known
        return known

    def _compute_knowledge(self, provider: str, person: Person) -> Knowledge:
        if person.person_id in self._dark:
            return _NOBODY
        rng = random.Random(f"{self.seed}:{provider}:{person.person_id}")
        scale = 1.0 - DARK_RATE
        email_rate, phone_rate, profile_rate = (r / scale for r in PROVIDER_RATES[provider])
        # Draw every variate up front so that each decision uses its own stream position.
        draws = [rng.random() for _ in range(8)]
        email: str | None = None
        status: EmailVerdict | None = None
        if draws[0] < email_rate:
            stale_share = STALE_ANSWER_RATE / STALE_PEOPLE_RATE
            if person.stale_emails and draws[1] < stale_share:
                email = person.stale_emails[int(draws[2] * len(person.stale_emails))]
                status = "deliverable" if draws[3] < 0.5 else "undeliverable"
            else:
                email = person.work_email
                status = _reported_status(person.work_email_status, draws[3])
        phones: tuple[Phone, ...] = ()
        if person.phones and draws[4] < phone_rate:
            phones = _provider_phones(provider, person.phones, rng)
            if draws[5] < WRONG_PHONE_RATE:
                phones = (self._wrong_phone(phones[0], draws[6]), *phones[1:])
        return Knowledge(email=email, email_status=status, phones=phones,
                         profile=draws[7] < profile_rate)  # fmt: skip

    def _wrong_phone(self, phone: Phone, draw: float) -> Phone:
        pool = self._orphans.get(phone.country) or next(iter(self._orphans.values()))
        number = pool[int(draw * len(pool))]
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
        return Phone(number=number, type=phone.type, country=region)

    # -- verdicts --------------------------------------------------------------------------

    def email_verdict(self, email: str) -> EmailVerdict:
        """Ground-truth deliverability of any address."""
        address = normalise_email(email or "")
        if not is_valid_email_syntax(address):
            return "undeliverable"
        hit = self._email_kind.get(address)
        if hit is not None:
            person, kind = hit
            if kind == "work":
                return person.work_email_status
            return "undeliverable" if kind == "stale" else "deliverable"
        domain = address.rsplit("@", 1)[1]
        company = self._company_by_domain.get(domain)
        if company is not None:
            return "risky" if company.catch_all else "undeliverable"
        if domain in self._free_mail:
            return "undeliverable"  # the free-mail provider answers: no such mailbox
        return "unknown"

    # -- ground truth ----------------------------------------------------------------------

    def truth(self) -> dict[str, object]:
        """JSON-serialisable ground truth: companies, people, and each provider's knowledge.

        `knowledge` lists, per provider, only the people it knows anything about.
        """
        companies = [
            {**_company_dict(c), "email_pattern": self._patterns[c.company_id]}
            for c in self.companies
        ]
        people = [_person_dict(p) for p in self.people]
        knowledge: dict[str, dict[str, object]] = {}
        for provider in PROVIDERS:
            known: dict[str, object] = {}
            for p in self.people:
                k = self.knowledge(provider, p)
                if k.knows_anything:
                    known[p.person_id] = {
                        "email": k.email,
                        "email_status": k.email_status,
                        "phones": [_phone_dict(ph) for ph in k.phones],
                        "profile": k.profile,
                    }
            knowledge[provider] = known
        return {"seed": self.seed, "companies": companies, "people": people,
                "knowledge": knowledge}  # fmt: skip

    def truth_json(self) -> str:
        """The canonical JSON text that `fingerprint` hashes."""
        return json.dumps(self.truth(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 hex of the canonical JSON of truth()."""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(self.truth_json().encode("utf-8")).hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        return (
            f"World(seed={self.seed}, people={len(self.people)}, companies={len(self.companies)})"
        )


def _reported_status(true_status: EmailVerdict, draw: float) -> EmailVerdict:
    """A provider's status for a right answer: the truth, with a little noise."""
    if true_status == "deliverable":
        return "unknown" if draw < 0.05 else "deliverable"
    if draw < 0.04:
        return "unknown"
    return "deliverable" if draw < 0.10 else "risky"  # some miss the catch-all


def _provider_phones(
    provider: str, phones: tuple[Phone, ...], rng: random.Random
) -> tuple[Phone, ...]:
    """Which of a person's phones a provider has: lemlist one (mobile first), enrich.so up to
    two, The Hog most of them."""
    if provider == "lemlist":
        mobiles = [p for p in phones if p.type == "mobile"]
        return (mobiles[0] if mobiles else phones[0],)
    if provider == "enrichso":
        return phones[: 1 + (rng.random() < 0.5)]
    kept = tuple(p for p in phones if rng.random() < 0.8)
    return kept or phones[:1]


def _name_keys(first: str, last: str) -> list[tuple[str, str]]:
    keys = [(fold_name(first), fold_name(last))]
    ascii_key = (fold_name(_romanised(first)), fold_name(_romanised(last)))
    if ascii_key != keys[0] and all(ascii_key):
        keys.append(ascii_key)
    return keys


_ROMAN = {display: roman for pools in D.CULTURES.values() for pool in pools.values()
          for display, roman in pool if roman}  # fmt: skip


def _romanised(name: str) -> str:
    return _ROMAN.get(name, name)


def romanised_name(name: str) -> str:
    """ASCII form of a displayed name (CJK via the romanisation list, others by folding)."""
    return ascii_name(_romanised(name))


def _without_legal(company: Company) -> str:
    for suffix in D.LEGAL_SUFFIX.get(company.country, ()):
        if suffix and company.name.endswith(" " + suffix):
            return company.name[: -len(suffix) - 1]
    return company.name


def company_base_name(company: Company) -> str:
    """The company name without its legal suffix ("Northwind Labs GmbH" → "Northwind Labs")."""
    return _without_legal(company)


def _company_dict(c: Company) -> dict[str, object]:
    return {
        "company_id": c.company_id, "name": c.name, "domain": c.domain, "catch_all": c.catch_all,
        "country": c.country, "city": c.city, "industry": c.industry, "size": c.size,
        "founded_year": c.founded_year, "linkedin_slug": c.linkedin_slug,
    }  # fmt: skip


def _phone_dict(p: Phone) -> dict[str, object]:
    return {"number": p.number, "type": p.type, "country": p.country}


def _person_dict(p: Person) -> dict[str, object]:
    return {
        "person_id": p.person_id, "first_name": p.first_name, "last_name": p.last_name,
        "company_id": p.company.company_id, "title": p.title, "headline": p.headline,
        "location": p.location, "summary": p.summary, "skills": list(p.skills),
        "languages": list(p.languages), "linkedin_slug": p.linkedin_slug,
        "linkedin_url": p.linkedin_url, "linkedin_member_id": p.linkedin_member_id,
        "profile_id": p.profile_id, "work_email": p.work_email,
        "work_email_status": p.work_email_status, "stale_emails": list(p.stale_emails),
        "personal_email": p.personal_email, "phones": [_phone_dict(ph) for ph in p.phones],
        "positions": [
            {"title": q.title, "company_name": q.company_name, "company_domain": q.company_domain,
             "start_year": q.start_year, "start_month": q.start_month, "end_year": q.end_year,
             "end_month": q.end_month, "description": q.description}
            for q in p.positions
        ],
        "education": [
            {"school_name": e.school_name, "degree_name": e.degree_name,
             "start_year": e.start_year, "end_year": e.end_year}
            for e in p.education
        ],
        "photo_url": p.photo_url, "github_username": p.github_username, "x_handle": p.x_handle,
    }  # fmt: skip


@lru_cache(maxsize=8)
def _build_cached(seed: int, people: int, companies: int) -> World:
    builder = _Builder(seed, people, companies)
    # The build allocates ~100k long-lived objects; pausing the cyclic GC saves ~20 %.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        company_list = builder.companies()
        person_list, dark = builder.people(company_list)
        orphans = builder.orphans()
        return World(seed, company_list, tuple(person_list), dark=frozenset(dark),
                     orphans=orphans, patterns=dict(builder.patterns))  # fmt: skip
    finally:
        if gc_was_enabled:
            gc.enable()
