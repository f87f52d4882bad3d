"""What The Hog answers about one person, and what it costs: world knowledge → wire `data` objects.

Every value comes from `world.knowledge("thehog", person)` (emails, phones, whether the profile is
known) and from the Person record (profile and signal details); nothing is made up here.

Element shape of `data.contact.email[]` / `.phone[]` (UNKNOWN in providers.md 3.2; ASSUMPTION):
`{"value", "type", "verified"}`. A deliverable email is `verified: true` and has exactly the
documented keys. Anything less carries `verified: false` plus a `status` flag saying why —
`"risky"` (catch-all domain: the mailbox cannot be confirmed), `"undeliverable"` (it bounces) or
`"unknown"` — so a client that only reads `verified` stays safe and one that reads `status` can tell
catch-all from bounce (providers.md 4.3). An empty array means "requested but not found".
That is the rich shape; the documented one (`documented` below) sends plain strings.

Prices (per-field prices UNKNOWN in 3.5; the sandbox's table, per batch item): contact.email 1
when an email is found, contact.phone 5 when at least one phone is found, profile 2 when the
profile is returned, signals 3 when at least one signal is returned; nothing for not-found fields
or unresolved identities. The estimate checked at submit is the worst case: every requested field
found for every identifier. Legacy /api/people/enrich is charged per provider attempt of its
waterfall (DOC: lower caps are cheaper): 1 credit per email attempt, 5 per phone attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from enrich_pipeline.sandbox.world import Knowledge, Person, World

FIELD_PRICES = {"contact.email": 1, "contact.phone": 5, "profile": 2, "signals": 3}
LEGACY_EMAIL_ATTEMPT_PRICE = 1
LEGACY_PHONE_ATTEMPT_PRICE = 5
EMAIL_WATERFALL = ("hog-email-primary", "hog-email-fallback")
PHONE_WATERFALL = ("hog-phone-primary", "hog-phone-secondary", "hog-phone-fallback")
DEFAULT_SINCE_DAYS = 90
UNRESOLVED = {"message": "Could not resolve this identity", "code": "identity_not_resolved"}

Data = dict[str, Any]


@dataclass(frozen=True)
class ItemOutcome:
    """One identifier of a submission: who it is, what The Hog returns for it and what it costs."""

    identifier: dict[str, Any]  # as the client sent it (echoed per item)
    person_id: str | None  # None: the identity did not resolve
    data: Data | None  # the sync-shaped `data` object; None when unresolved
    credits: int

    def as_item(self) -> Data:
        """A `result.items[]` entry (providers.md 3.3)."""
        if self.data is None:
            return {"identifier": self.identifier, "status": "failed", "error": dict(UNRESOLVED)}
        return {"identifier": self.identifier, "status": "success", "data": self.data}


def resolve(world: World, identifier: dict[str, str]) -> Person | None:
    """A current-API PersonIdentifier (already validated: exactly one key) → the world's person."""
    key, value = next(iter(identifier.items()))
    if key == "linkedin_url":
        return world.find_by_linkedin(value)
    if key == "email":
        return world.find_by_email(value)
    if key == "x_handle":
        return world.find_by_handle("x", value.lstrip("@"))
    return world.find_by_handle("github", value)


def resolve_legacy(world: World, entry: dict[str, Any]) -> Person | None:
    """A legacy `people[]` ({"id"}) or `identities[]` ({"platform", "username"}) entry."""
    if "id" in entry:
        return world.person(entry["id"])
    platform, handle = entry["platform"], entry["username"].strip()
    if platform == "linkedin":
        return world.find_by_linkedin(handle)
    return world.find_by_handle("github" if platform == "github" else "x", handle.lstrip("@"))


# ------------------------------------------------------------------------------------- contacts


def email_elements(world: World, person: Person, knowledge: Knowledge) -> list[Data]:
    if knowledge.email is None:
        return []
    kind = "personal" if knowledge.email == person.personal_email else "work"
    status = knowledge.email_status or world.email_verdict(knowledge.email)
    element: Data = {"value": knowledge.email, "type": kind, "verified": status == "deliverable"}
    if status != "deliverable":
        element["status"] = status
    return [element]


def phone_elements(knowledge: Knowledge) -> list[Data]:
    # The docs call them verified phones (3.2); a stale number is still reported as verified.
    return [{"value": p.number, "type": p.type, "verified": True} for p in knowledge.phones]


# -------------------------------------------------------------------------------------- profile


def _month(year: int | None, month: int | None) -> str | None:
    return None if year is None else f"{year:04d}-{month or 1:02d}"


def profile_object(person: Person) -> Data:
    """ASSUMPTION (3.2 leaves `data.profile` UNKNOWN): a flat object of the LinkedIn profile."""
    return {
        "name": f"{person.first_name} {person.last_name}",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "headline": person.headline,
        "title": person.title,
        "company": person.company.name,
        "company_domain": person.company.domain,
        "location": person.location,
        "linkedin_url": person.linkedin_url,
        "summary": person.summary,
        "skills": list(person.skills),
        "positions": [
            {
                "title": p.title,
                "company": p.company_name,
                "company_domain": p.company_domain,
                "start": _month(p.start_year, p.start_month),
                "end": _month(p.end_year, p.end_month),
                "description": p.description,
            }
            for p in person.positions
        ],
        "education": [
            {
                "school": e.school_name,
                "degree": e.degree_name,
                "start_year": e.start_year,
                "end_year": e.end_year,
            }
            for e in person.education
        ],
        "photo_url": person.photo_url,
    }


# -------------------------------------------------------------------------------------- signals


def _signal_candidates(person: Person) -> list[Data]:
    """Signals read off the person's public record, newest first (ASSUMPTION: 3.2 leaves the
    `signals` payload UNKNOWN; these are synthetic but deterministic)."""
    found: list[Data] = []
    if person.positions:
        current = person.positions[0]
        date = _month(current.start_year, current.start_month)
        found.append(
            {
                "platform": "linkedin",
                "type": "role",
                "title": f"{current.title} at {current.company_name}",
                "url": person.linkedin_url,
                "date": date,
            }
        )
        if len(person.positions) > 1:
            previous = person.positions[1]
            found.append(
                {
                    "platform": "linkedin",
                    "type": "job_change",
                    "title": f"Moved from {previous.company_name} to {current.company_name}",
                    "url": person.linkedin_url,
                    "date": date,
                }
            )
    found += [
        {
            "platform": "linkedin",
            "type": "post",
            "title": f"Posted about {skill}",
            "url": person.linkedin_url,
            "date": None,
        }
        for skill in person.skills[:2]
    ]
    if person.github_username:
        found.append(
            {
                "platform": "github",
                "type": "activity",
                "title": f"Public repositories by {person.github_username}",
                "url": f"https://github.com/{person.github_username}",
                "date": None,
            }
        )
    if person.x_handle:
        found.append(
            {
                "platform": "x",
                "type": "post",
                "title": f"Posts by @{person.x_handle}",
                "url": f"https://x.com/{person.x_handle}",
                "date": None,
            }
        )
    return found


def _capped(items: Iterable[Data], max_posts: dict[str, Any]) -> list[Data]:
    kept: list[Data] = []
    per_platform: dict[str, int] = {}
    for item in items:
        cap = max_posts.get(item["platform"])
        seen = per_platform.get(item["platform"], 0)
        if isinstance(cap, int | float) and not isinstance(cap, bool) and seen >= cap:
            continue
        per_platform[item["platform"]] = seen + 1
        kept.append(item)
    return kept


def signals_object(person: Person, config: dict[str, Any]) -> Data:
    platforms = set(config.get("platforms") or ())
    items = [s for s in _signal_candidates(person) if not platforms or s["platform"] in platforms]
    items = _capped(items, config.get("max_posts") or {})
    words = " ".join([person.title, person.headline, *person.skills]).lower()
    intents = [i for i in config.get("intent_signals") or () if i.lower() in words]
    return {
        "since_days": config.get("since_days") or DEFAULT_SINCE_DAYS,
        "platforms": sorted({s["platform"] for s in items}),
        "items": items,
        "intent_signals": intents,
    }


# ------------------------------------------------------------------------------ one identifier


def enrich(
    world: World,
    identifier: dict[str, Any],
    person: Person | None,
    fields: tuple[str, ...],
    signals_config: dict[str, Any],
) -> ItemOutcome:
    """The `data` object for the requested fields, and its price (see the module docstring)."""
    if person is None:
        return ItemOutcome(identifier, None, None, 0)
    knowledge = world.knowledge("thehog", person)
    data: Data = {}
    credits = 0
    if any(f.startswith("contact.") for f in fields):
        contact: Data = {}
        if "contact.email" in fields:
            contact["email"] = email_elements(world, person, knowledge)
            credits += FIELD_PRICES["contact.email"] if contact["email"] else 0
        if "contact.phone" in fields:
            contact["phone"] = phone_elements(knowledge)
            credits += FIELD_PRICES["contact.phone"] if contact["phone"] else 0
        data["contact"] = contact
    if "profile" in fields:
        data["profile"] = profile_object(person) if knowledge.profile else None
        credits += FIELD_PRICES["profile"] if knowledge.profile else 0
    if "signals" in fields:
        data["signals"] = signals_object(person, signals_config)
        credits += FIELD_PRICES["signals"] if data["signals"]["items"] else 0
    return ItemOutcome(identifier, person.person_id, data, credits)


# ------------------------------------------------------------------------- documented shape


def documented(
    outcome: ItemOutcome, fields: tuple[str, ...], signals_config: dict[str, Any]
) -> ItemOutcome:
    """`outcome` cut down to what providers.md 3.2 / 3.3 document (config.shape "documented").

    Contact elements become plain strings: their shape is UNKNOWN and a string is the least a
    client must accept; the risky/undeliverable flags go with it. `profile` (shape UNKNOWN) is left
    out, so it is not found and, like any not-found field, not charged. An identity that does not
    resolve is answered like a person with nothing known (empty arrays): the "could not resolve"
    answers (sync 422, failed item) are the sandbox's guesses.
    """
    if outcome.data is None:
        return replace(outcome, data=_nothing_found(fields, signals_config))
    data = dict(outcome.data)
    credits = outcome.credits
    if "contact" in data:
        data["contact"] = {
            kind: [element["value"] for element in elements]
            for kind, elements in data["contact"].items()
        }
    if data.pop("profile", None) is not None:
        credits -= FIELD_PRICES["profile"]
    return replace(outcome, data=data, credits=credits)


def _nothing_found(fields: tuple[str, ...], signals_config: dict[str, Any]) -> Data:
    """The `data` of a person about whom nothing is known, in `enrich`'s key order."""
    data: Data = {}
    contact = {kind: [] for kind in ("email", "phone") if f"contact.{kind}" in fields}
    if contact:
        data["contact"] = contact
    if "signals" in fields:
        data["signals"] = {
            "since_days": signals_config.get("since_days") or DEFAULT_SINCE_DAYS,
            "platforms": [],
            "items": [],
            "intent_signals": [],
        }
    return data


def estimate_credits(fields: tuple[str, ...], identifiers: int) -> int:
    """Worst case: every requested field found for every identifier."""
    return identifiers * sum(FIELD_PRICES[f] for f in fields)


# ------------------------------------------------------------------------------ legacy waterfall


def found_on_attempt(person: Person, what: str, depth: int) -> int:
    """Which attempt of the provider waterfall finds what The Hog knows (1-based, stable per person)."""
    digest = hashlib.sha256(f"thehog:{what}:{person.person_id}".encode()).digest()
    return 1 + digest[0] % depth


def legacy_enrich(
    world: World,
    entry: dict[str, Any],
    person: Person | None,
    max_email_attempts: int,
    max_phone_attempts: int,
) -> ItemOutcome:
    """The waterfall stops at its first hit; each attempt made is charged, found or not (DOC 3.5).
    A hit that the default depth would reach on a later attempt is missed under a lower cap."""
    if person is None:
        return ItemOutcome(entry, None, None, 0)
    knowledge = world.knowledge("thehog", person)
    emails = email_elements(world, person, knowledge)
    phones = phone_elements(knowledge)
    email_hit = found_on_attempt(person, "email", len(EMAIL_WATERFALL)) if emails else None
    phone_hit = found_on_attempt(person, "phone", len(PHONE_WATERFALL)) if phones else None
    if email_hit is None or email_hit > max_email_attempts:
        emails, email_tries = [], max_email_attempts
    else:
        email_tries = email_hit
    if phone_hit is None or phone_hit > max_phone_attempts:
        phones, phone_tries = [], max_phone_attempts
    else:
        phone_tries = phone_hit
    credits = email_tries * LEGACY_EMAIL_ATTEMPT_PRICE + phone_tries * LEGACY_PHONE_ATTEMPT_PRICE
    return ItemOutcome(
        entry, person.person_id, {"contact": {"email": emails, "phone": phones}}, credits
    )


def legacy_estimate(inputs: int, max_email_attempts: int, max_phone_attempts: int) -> int:
    per_person = (
        max_email_attempts * LEGACY_EMAIL_ATTEMPT_PRICE
        + max_phone_attempts * LEGACY_PHONE_ATTEMPT_PRICE
    )
    return inputs * per_person


def providers_likely_used(max_email_attempts: int, max_phone_attempts: int) -> list[str]:
    return [*EMAIL_WATERFALL[:max_email_attempts], *PHONE_WATERFALL[:max_phone_attempts]]
