"""Campaign leads for POST /leads/{leadId}/enrich: seeding and the skip rules of providers.md 1.4."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

from enrich_pipeline.sandbox.providers.lemlist_records import (
    IdSource,
    Lead,
    LeadKind,
    Outcome,
    Workflow,
)
from enrich_pipeline.sandbox.world import Knowledge, Person, World

Wanted = Callable[[Person, Knowledge], bool]


def _anyone(person: Person, knowledge: Knowledge) -> bool:
    return True


# One slot per seeded lead: the path it exists to exercise, and which person fits it. The first
# three fresh leads are chosen so that found, email-not-found and phone-not-found all occur.
LEAD_PLAN: tuple[tuple[LeadKind, Wanted], ...] = (
    (
        "fresh",
        lambda p, k: k.email_status == "deliverable" and bool(k.phones) and k.profile,
    ),
    ("fresh", lambda p, k: k.email is None),
    ("fresh", lambda p, k: not k.phones),
    ("has_email", _anyone),
    ("verified_email", _anyone),
    ("has_phone", lambda p, k: bool(p.phones)),
    ("linkedin_done", _anyone),
    ("no_contact", _anyone),
    ("broken", _anyone),
    *(("fresh", _anyone) for _ in range(11)),
)


def seed_leads(world: World, seed: int) -> dict[str, Lead]:
    """~20 leads drawn deterministically from the world's people (same seed, same leads)."""
    order = list(world.people)
    random.Random(f"lemlist:lead-people:{seed}").shuffle(order)
    ids = IdSource(seed, "lea")
    used: set[str] = set()
    leads: dict[str, Lead] = {}
    for kind, wanted in LEAD_PLAN:
        person = _pick(world, order, used, wanted)
        if person is None:
            continue
        used.add(person.person_id)
        lead = _lead(world, ids.next(), kind, person)
        leads[lead.lead_id] = lead
    return leads


def _pick(world: World, order: list[Person], used: set[str], wanted: Wanted) -> Person | None:
    fallback = None
    for person in order:
        if person.person_id in used:
            continue
        if wanted(person, world.knowledge("lemlist", person)):
            return person
        fallback = fallback or person
    return fallback  # a world without such a person still gets a lead for the slot


def _lead(world: World, lead_id: str, kind: LeadKind, person: Person) -> Lead:
    inputs = {
        "firstName": person.first_name,
        "lastName": person.last_name,
        "linkedinUrl": person.linkedin_url,
        "companyName": person.company.name,
        "companyDomain": person.company.domain,
    }
    lead = Lead(lead_id, kind, person, inputs, has_contact=kind != "no_contact")
    if kind in ("has_email", "verified_email"):
        lead.inputs["email"] = person.work_email
    if kind == "verified_email":
        lead.email_status = world.email_verdict(person.work_email)
    if kind == "has_phone" and person.phones:
        lead.phone = person.phones[0].number
    if kind == "linkedin_done":
        lead.linkedin_enriched_for = person.linkedin_url
    return lead


# ------------------------------------------------------------------------------- skip rules

Skip = Literal["has_data", "not_found"]


def skip_reason(lead: Lead, workflow: Workflow) -> Skip | None:
    """Why a workflow would be skipped for this lead: it already has the data, or a previous run
    with identical inputs came back empty (providers.md 1.4)."""
    if lead.not_found.get(workflow) == lead.signature():
        return "not_found"
    has_data = {
        "find_email": "email" in lead.inputs,
        "find_phone": lead.phone is not None,
        "linkedin_enrichment": lead.linkedin_enriched_for == lead.inputs.get("linkedinUrl"),
        "verify": lead.email_status is not None,
    }[workflow]
    return "has_data" if has_data else None


def runnable(lead: Lead, requested: tuple[Workflow, ...], force: bool) -> tuple[Workflow, ...]:
    """The requested workflows that run: `force` lifts 'has the data', never 'not found before'.

    ASSUMPTION: skipping is per workflow; the call is refused (409) only when nothing is left.
    """
    return tuple(
        w
        for w in requested
        if (why := skip_reason(lead, w)) is None or (why == "has_data" and force)
    )


def record_outcome(lead: Lead, enrichment_id: str, outcome: Outcome) -> None:
    """What a finished enrichment writes back to the lead's contact."""
    if lead.running == enrichment_id:
        lead.running = None
    for workflow, finding in outcome.findings.items():
        if finding.found:
            _store_found(lead, workflow, finding.payload)
        elif workflow in ("find_email", "find_phone") and outcome.genuinely_not_found(workflow):
            lead.not_found[workflow] = lead.signature()


def _store_found(lead: Lead, workflow: Workflow, payload: dict[str, object]) -> None:
    if workflow == "find_email":
        lead.inputs["email"] = str(payload["email"])
        lead.email_status = str(payload["status"])
    elif workflow == "find_phone":
        lead.phone = str(payload["phone"])
    elif workflow == "linkedin_enrichment":
        lead.linkedin_enriched_for = lead.inputs.get("linkedinUrl")
    else:
        lead.email_status = str(payload["status"])
