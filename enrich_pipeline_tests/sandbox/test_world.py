"""The synthetic world: determinism, realism, lookups, provider knowledge and ground truth."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

import phonenumbers
import pytest

from enrich_pipeline.sandbox.world import (
    PROVIDERS,
    Company,
    Knowledge,
    Person,
    World,
    _build_cached,
)

_fresh_build = _build_cached.__wrapped__  # bypasses the lru_cache


@pytest.fixture(scope="module")
def small() -> World:
    return World.build(7, 500, 80)


@pytest.fixture(scope="module")
def medium() -> World:
    """Large enough for rate assertions to be stable."""
    return World.build(11, 3000, 400)


@pytest.fixture(scope="module")
def default() -> World:
    return World.build()


# -- determinism and size ------------------------------------------------------------------


def test_same_arguments_same_world(small: World) -> None:
    again = _fresh_build(7, 500, 80)
    assert again is not small
    assert again.truth_json() == small.truth_json()
    assert again.fingerprint() == small.fingerprint()
    assert World.build(7, 500, 80) is small  # cached


def test_different_seed_different_world(small: World) -> None:
    other = World.build(8, 500, 80)
    assert other.fingerprint() != small.fingerprint()


def test_fingerprint_is_sha256_of_canonical_truth(small: World) -> None:
    canonical = json.dumps(small.truth(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert small.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()


def test_default_world_has_its_sizes() -> None:
    # (how fast it builds is a benchmark's question, never a timed assert: pipeline_scale.py)
    world = _fresh_build(42, 5000, 800)
    assert len(world.people) == 5000 and len(world.companies) == 800


def test_sizes_and_ids(small: World) -> None:
    assert len(small.people) == 500
    assert len(small.companies) == 80
    assert small.people[0].person_id == "p_000001"
    assert small.people[-1].person_id == "p_000500"
    assert small.person("p_000042") is small.people[41]
    assert small.person("p_999999") is None
    assert len({c.company_id for c in small.companies}) == 80


def test_people_are_complete(small: World) -> None:
    for p in small.people:
        assert 1 <= len(p.positions) <= 5
        current = p.positions[0]
        assert current.end_year is None and current.end_month is None
        assert current.company_name == p.company.name
        assert current.company_domain == p.company.domain
        assert current.title == p.title
        starts = [(q.start_year, q.start_month) for q in p.positions]
        assert starts == sorted(starts, reverse=True), "newest first"
        for q in p.positions[1:]:
            assert q.end_year is not None
            assert (q.start_year, q.start_month) <= (q.end_year, q.end_month)
        assert 0 <= len(p.education) <= 3
        assert 3 <= len(p.skills) <= 10
        assert p.headline and p.location and p.languages
        assert p.photo_url == f"https://media.sandbox.test/photos/{p.person_id}.jpg"
        assert p.linkedin_url == f"https://www.linkedin.com/in/{p.linkedin_slug}"
        assert p.work_email.endswith("@" + p.company.domain)
        assert p.work_email_status == ("risky" if p.company.catch_all else "deliverable")
        assert p.profile_id.startswith("ACoAA") and len(p.profile_id) == 15
        assert 0 <= len(p.phones) <= 3


def test_every_phone_is_valid_e164_and_unique(default: World) -> None:
    numbers = [ph.number for p in default.people for ph in p.phones]
    assert len(numbers) == len(set(numbers))
    countries = set()
    for p in default.people:
        for ph in p.phones:
            parsed = phonenumbers.parse(ph.number)
            assert phonenumbers.is_valid_number(parsed), ph
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == (
                ph.number
            )
            assert phonenumbers.region_code_for_number(parsed) == ph.country
            assert ph.type in ("mobile", "direct", "office")
            countries.add(ph.country)
    assert {"US", "GB", "DE", "FR", "ES", "BR", "IN", "JP", "AU", "CA"} <= countries


def test_identifiers_are_unique_and_well_formed(default: World) -> None:
    people = default.people
    slugs = [p.linkedin_slug for p in people]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs)
    assert any(re.search(r"-[0-9a-f]{6}$", s) for s in slugs)
    emails = [e for p in people for e in (p.work_email, *p.stale_emails, p.personal_email) if e]
    assert len(set(emails)) == len(emails)
    assert all(e.isascii() and e == e.lower() for e in emails)
    for attr in ("linkedin_member_id", "profile_id"):
        values = [getattr(p, attr) for p in people]
        assert len(set(values)) == len(values)
    for attr in ("github_username", "x_handle"):
        values = [getattr(p, attr).lower() for p in people if getattr(p, attr)]
        assert len(set(values)) == len(values)
        assert 0.18 < len(values) / len(people) < 0.32
    company_slugs = [c.linkedin_slug for c in default.companies]
    assert len(set(company_slugs)) == len(company_slugs)
    domains = [c.domain for c in default.companies]
    assert len(set(domains)) == len(domains)
    assert len({c.name.lower() for c in default.companies}) == len(default.companies)


def test_names_are_varied(default: World) -> None:
    names = [f"{p.first_name} {p.last_name}" for p in default.people]
    joined = "\n".join(names)
    assert not joined.isascii()
    for needle in ("é", "ö", "ł", "ř", "ø"):
        assert needle in joined.lower()
    assert any(
        p.last_name.lower().startswith(("van ", "de ", "von ", "dos ")) for p in default.people
    )
    assert "'" in joined  # O'Brien, D'Arcy
    assert any("-" in p.first_name for p in default.people)
    assert any("-" in p.last_name for p in default.people)
    scripts = {"cjk": r"[\u4e00-\u9fff]", "cyrillic": r"[\u0400-\u04ff]"}
    for pattern in scripts.values():
        assert re.search(pattern, joined)
    # non-Latin names still get ASCII emails and slugs
    for p in default.people:
        if not (p.first_name + p.last_name).isascii():
            assert p.work_email.isascii() and p.linkedin_slug.isascii()


def test_company_mix(default: World) -> None:
    companies = default.companies
    catch_all = sum(c.catch_all for c in companies) / len(companies)
    assert 0.08 < catch_all < 0.16
    tlds = {c.domain.split(".", 1)[1] for c in companies}
    assert {"com", "io", "de", "co.uk", "fr"} <= tlds
    patterns = {default.email_pattern(c) for c in companies}
    assert {"first.last", "flast", "first", "first_last"} <= patterns


def test_email_mix(default: World) -> None:
    people = default.people
    stale = sum(bool(p.stale_emails) for p in people) / len(people)
    personal = sum(p.personal_email is not None for p in people) / len(people)
    assert 0.25 < stale < 0.35
    assert 0.35 < personal < 0.45
    for p in people:
        assert len(p.stale_emails) <= 2
        for e in p.stale_emails:
            domain = e.split("@")[1]
            assert domain != p.company.domain
            assert domain in {q.company_domain for q in p.positions[1:]}
        if p.personal_email:
            assert p.personal_email.split("@")[1] not in {c.domain for c in default.companies}
            assert "gmail" not in p.personal_email


# -- lookups -------------------------------------------------------------------------------


def _with_suffixed_slug(world: World) -> Person:
    return next(p for p in world.people if re.search(r"-[0-9a-f]{6}$", p.linkedin_slug))


@pytest.mark.parametrize(
    "template",
    [
        "https://www.linkedin.com/in/{slug}",
        "https://www.linkedin.com/in/{slug}/",
        "http://linkedin.com/in/{slug}",
        "linkedin.com/in/{slug}",
        "www.linkedin.com/in/{slug}/?trk=public_profile",
        "https://uk.linkedin.com/in/{slug}",
        "https://de.linkedin.com/in/{slug}/details/experience/",
        "HTTPS://WWW.LINKEDIN.COM/IN/{SLUG}/",
        "https://www.linkedin.com/in/{slug}#about",
        "https://www.linkedin.com/in/{escaped}",
        "  https://www.linkedin.com/in/{slug}?originalSubdomain=fr  ",
        "{slug}",
        "{SLUG}",
        "/in/{slug}/",
    ],
)
def test_find_by_linkedin_url_variants(small: World, template: str) -> None:
    person = _with_suffixed_slug(small)
    slug = person.linkedin_slug
    escaped = "".join(f"%{ord(c):02X}" if c == "-" else c for c in slug)
    url = template.format(slug=slug, SLUG=slug.upper(), escaped=escaped)
    assert small.find_by_linkedin(url) is person


@pytest.mark.parametrize(
    "url", ["", "https://www.linkedin.com/company/northwind", "https://example.com/in/x", "nobody"]
)
def test_find_by_linkedin_misses(small: World, url: str) -> None:
    assert small.find_by_linkedin(url) is None


def test_find_by_email_any_kind_any_case(default: World) -> None:
    p = next(p for p in default.people if p.stale_emails and p.personal_email)
    assert default.find_by_email(p.work_email.upper()) is p
    assert default.find_by_email(f"  {p.stale_emails[0].title()} ") is p
    assert default.find_by_email(p.personal_email or "") is p
    assert default.find_by_email(f"mailto:{p.work_email}") is p
    assert default.email_kind(p.stale_emails[0]) == "stale"
    assert default.find_by_email("nobody@nowhere.example") is None


def test_find_by_name_accent_and_case_insensitive(default: World) -> None:
    p = next(p for p in default.people if any(ch in p.first_name for ch in "éöüłøáçñ"))
    decomposed = unicodedata.normalize("NFKD", p.first_name.replace("ł", "l").replace("ø", "o"))
    plain_first = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    assert plain_first.isascii() and plain_first != p.first_name
    company = p.company
    assert default.find_by_name(p.first_name, p.last_name, domain=company.domain) is p
    assert default.find_by_name(plain_first, p.last_name.lower(), domain=company.domain) is p
    for form in (f"https://www.{company.domain}/about", f"WWW.{company.domain.upper()}",
                 f"{company.domain}/", f"http://{company.domain}"):  # fmt: skip
        assert default.find_by_name(p.first_name, p.last_name, domain=form) is p, form
    assert default.find_by_name(p.first_name, p.last_name, company_name=company.name.upper()) is p
    base = " ".join(company.name.split()[:2])
    assert default.find_by_name(p.first_name, p.last_name, company_name=base) is p
    other = next(c for c in default.companies if c is not company)
    assert default.find_by_name(p.first_name, p.last_name, domain=other.domain) is None
    assert default.find_by_name(p.first_name, p.last_name, domain="unknown-domain.example") is None


def test_find_by_name_particles_and_non_latin(default: World) -> None:
    from enrich_pipeline.sandbox.world import romanised_name

    particle = next(p for p in default.people if p.last_name.startswith(("van ", "de ", "von ")))
    squashed = particle.last_name.replace(" ", "").upper()
    assert default.find_by_name(particle.first_name, squashed, domain=particle.company.domain) is (
        particle
    )
    cjk = next(p for p in default.people if re.search(r"[\u4e00-\u9fff]", p.last_name))
    assert default.find_by_name(cjk.first_name, cjk.last_name, domain=cjk.company.domain) is cjk
    first, last = romanised_name(cjk.first_name), romanised_name(cjk.last_name)
    assert first.isascii() and last.isascii()
    assert default.find_by_name(first, last, domain=cjk.company.domain) is cjk
    cyr = next(p for p in default.people if re.search(r"[\u0400-\u04ff]", p.last_name))
    assert default.find_by_name(romanised_name(cyr.first_name), romanised_name(cyr.last_name),
                                company_name=cyr.company.name) is cyr  # fmt: skip


def test_find_by_handle(default: World) -> None:
    gh = next(p for p in default.people if p.github_username)
    x = next(p for p in default.people if p.x_handle)
    assert default.find_by_handle("github", gh.github_username or "") is gh
    assert default.find_by_handle("github", f"https://github.com/{gh.github_username}/") is gh
    assert default.find_by_handle("x", f"@{(x.x_handle or '').upper()}") is x
    assert default.find_by_handle("x", f"https://x.com/{x.x_handle}") is x
    assert default.find_by_handle("github", "no-such-user-0000") is None
    with pytest.raises(ValueError):
        default.find_by_handle("myspace", "x")  # type: ignore[arg-type]


# -- provider knowledge --------------------------------------------------------------------

BANDS = {
    # provider: (email, phone among people with a phone, profile)
    "lemlist": ((0.62, 0.78), (0.22, 0.38), (0.52, 0.68)),
    "enrichso": ((0.42, 0.58), (0.18, 0.33), (0.73, 0.87)),
    "thehog": ((0.37, 0.53), (0.57, 0.73), (0.37, 0.53)),
}


def _rates(world: World, provider: str) -> tuple[float, float, float]:
    people = world.people
    with_phone = [p for p in people if p.phones]
    known = [world.knowledge(provider, p) for p in people]  # type: ignore[arg-type]
    email = sum(k.email is not None for k in known) / len(people)
    phone = sum(bool(world.knowledge(provider, p).phones) for p in with_phone) / len(with_phone)  # type: ignore[arg-type]
    profile = sum(k.profile for k in known) / len(people)
    return email, phone, profile


@pytest.mark.parametrize("provider", PROVIDERS)
def test_knowledge_rates_per_provider(medium: World, provider: str) -> None:
    rates = _rates(medium, provider)
    for field, rate, (low, high) in zip(("email", "phone", "profile"), rates, BANDS[provider],
                                        strict=True):  # fmt: skip
        assert low <= rate <= high, f"{provider} {field} {rate:.3f} not in [{low}, {high}]"


def test_providers_have_different_strengths(medium: World) -> None:
    rates = {p: _rates(medium, p) for p in PROVIDERS}
    assert max(rates, key=lambda p: rates[p][0]) == "lemlist"
    assert max(rates, key=lambda p: rates[p][1]) == "thehog"
    assert max(rates, key=lambda p: rates[p][2]) == "enrichso"


def test_some_people_are_known_to_nobody(medium: World) -> None:
    dark = [
        p
        for p in medium.people
        if not any(medium.knowledge(v, p).knows_anything for v in PROVIDERS)
    ]
    assert 0.05 < len(dark) / len(medium.people) < 0.11
    assert {p.person_id for p in medium.people if medium.is_dark(p)} <= {p.person_id for p in dark}
    # coverage overlaps: many people are known to several providers
    multi = sum(
        sum(medium.knowledge(v, p).email is not None for v in PROVIDERS) >= 2 for p in medium.people
    )
    assert multi / len(medium.people) > 0.3


def test_wrong_answers_exist_but_are_rare(medium: World) -> None:
    owners = medium.wrong_phone_numbers()
    total_wrong_phones = 0
    for provider in PROVIDERS:
        answers = [medium.knowledge(provider, p) for p in medium.people]
        emails = [(k, p) for k, p in zip(answers, medium.people, strict=True) if k.email]
        stale = [(k, p) for k, p in emails if k.email in p.stale_emails]
        assert all(k.email in (p.work_email, *p.stale_emails) for k, p in emails)
        assert 0.01 < len(stale) / len(emails) < 0.06, provider
        assert {k.email_status for k, _ in stale} == {"deliverable", "undeliverable"}
        phone_answers = [(k, p) for k, p in zip(answers, medium.people, strict=True) if k.phones]
        wrong = 0
        for k, p in phone_answers:
            for ph in k.phones:
                if ph not in p.phones:
                    wrong += 1
                    assert ph.number in owners
                    assert medium.find_by_phone(ph.number) is None  # belongs to nobody
                    assert phonenumbers.is_valid_number(phonenumbers.parse(ph.number))
        assert wrong / len(phone_answers) < 0.03, provider
        total_wrong_phones += wrong
    assert total_wrong_phones > 0


def test_reported_status_of_right_answers(medium: World) -> None:
    statuses: dict[str, set[str]] = {"deliverable": set(), "risky": set()}
    unknown = total = 0
    for provider in PROVIDERS:
        for p in medium.people:
            k = medium.knowledge(provider, p)
            if k.email == p.work_email:
                statuses[p.work_email_status].add(k.email_status or "")
                total += 1
                unknown += k.email_status == "unknown"
    assert statuses["deliverable"] == {"deliverable", "unknown"}
    assert "risky" in statuses["risky"] and "undeliverable" not in statuses["risky"]
    assert 0.02 < unknown / total < 0.08


def test_knowledge_is_deterministic_and_order_independent(small: World) -> None:
    other = _fresh_build(7, 500, 80)
    for p, q in zip(reversed(small.people), reversed(other.people), strict=True):
        for provider in reversed(PROVIDERS):
            assert other.knowledge(provider, q) == small.knowledge(provider, p)
    assert isinstance(small.knowledge("lemlist", small.people[0]), Knowledge)
    with pytest.raises(ValueError):
        small.knowledge("nobody", small.people[0])  # type: ignore[arg-type]


def test_dark_person_knows_nothing(small: World) -> None:
    dark = next(p for p in small.people if small.is_dark(p))
    for provider in PROVIDERS:
        assert not small.knowledge(provider, dark).knows_anything


# -- email verdicts ------------------------------------------------------------------------


def _company(world: World, catch_all: bool) -> Company:
    return next(c for c in world.companies if c.catch_all is catch_all)


def test_email_verdict(default: World) -> None:
    plain_person = next(p for p in default.people if not p.company.catch_all and p.stale_emails)
    catch_person = next(p for p in default.people if p.company.catch_all)
    personal = next(p for p in default.people if p.personal_email)
    plain, catch = _company(default, False), _company(default, True)
    cases = {
        plain_person.work_email: "deliverable",
        plain_person.work_email.upper(): "deliverable",
        catch_person.work_email: "risky",
        plain_person.stale_emails[0]: "undeliverable",
        personal.personal_email or "": "deliverable",
        f"zz.nobody.here@{plain.domain}": "undeliverable",
        f"zz.nobody.here@{catch.domain}": "risky",
        "john.doe@": "undeliverable",
        "no-at-sign.example": "undeliverable",
        "two@@ats.example": "undeliverable",
        "john..doe@example.com": "undeliverable",
        "": "undeliverable",
        "someone@unknown-domain-xyz.example": "unknown",
        "nobody.at.all@mailbox-example.net": "undeliverable",
    }
    for email, expected in cases.items():
        assert default.email_verdict(email) == expected, email


# -- ground truth --------------------------------------------------------------------------


def test_truth_round_trips_through_json(small: World) -> None:
    truth = small.truth()
    assert json.loads(json.dumps(truth)) == truth
    assert truth["seed"] == 7
    assert set(truth["knowledge"]) == set(PROVIDERS)  # type: ignore[arg-type]
    person = truth["people"][0]  # type: ignore[index]
    expected_keys = {
        "person_id", "first_name", "last_name", "company_id", "title", "headline", "location",
        "summary", "skills", "languages", "linkedin_slug", "linkedin_url", "linkedin_member_id",
        "profile_id", "work_email", "work_email_status", "stale_emails", "personal_email",
        "phones", "positions", "education", "photo_url", "github_username", "x_handle",
    }  # fmt: skip
    assert set(person) == expected_keys
    company = truth["companies"][0]  # type: ignore[index]
    assert {"company_id", "name", "domain", "catch_all", "email_pattern"} <= set(company)
    known = truth["knowledge"]["thehog"]  # type: ignore[index]
    some = next(iter(known.values()))
    assert set(some) == {"email", "email_status", "phones", "profile"}
    assert len(known) < len(small.people)
