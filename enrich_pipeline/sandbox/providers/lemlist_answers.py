"""What lemlist answers: input rules, person lookup, per-workflow findings and their wire shapes.

Every answer comes from `world.knowledge("lemlist", person)` (what lemlist knows, right or wrong) and
the Person record (profile data); nothing is invented here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from enrich_pipeline.sandbox.providers.lemlist_records import (
    INPUT_FIELDS,
    PRICE,
    RESULT_KEY,
    Absent,
    Enrichment,
    Finding,
    Workflow,
)
from enrich_pipeline.sandbox.world import Company, Person, Position, World

# ------------------------------------------------------------------------------- input rules


def missing_input(workflow: Workflow, inputs: Mapping[str, str]) -> str | None:
    """The bulk error code when `inputs` cannot feed `workflow` (providers.md 1.2 / 1.5), else None."""
    has = {name for name in INPUT_FIELDS if inputs.get(name)}
    named = {"firstName", "lastName"} <= has
    if workflow == "find_email":
        full_identity = named and {"companyName", "companyDomain"} <= has
        return None if "linkedinUrl" in has or full_identity else "MISSING_INPUTS"
    if workflow == "find_phone":
        return None if "linkedinUrl" in has else "MISSING_LINKEDIN_URL"
    if workflow == "verify":
        return None if "email" in has else "MISSING_EMAIL"
    company = bool(has & {"companyName", "companyDomain"})
    return None if has & {"linkedinUrl", "email"} or (named and company) else "MISSING_INPUTS"


def first_missing_input(workflows: Iterable[Workflow], inputs: Mapping[str, str]) -> str | None:
    return next((code for w in workflows if (code := missing_input(w, inputs))), None)


def is_webhook_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def bare_domain(value: str) -> str:
    """'https://www.Fake.com/x' -> 'fake.com' (lemlist's own docs show companyDomain as a URL)."""
    text = value.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or text
    return host.removeprefix("www.")


def resolve_person(world: World, inputs: Mapping[str, str]) -> Person | None:
    """LinkedIn URL first, then email, then name at a company: the first that resolves."""
    if (url := inputs.get("linkedinUrl")) and (person := world.find_by_linkedin(url)):
        return person
    if (email := inputs.get("email")) and (person := world.find_by_email(email)):
        return person
    first, last = inputs.get("firstName"), inputs.get("lastName")
    domain, company = inputs.get("companyDomain"), inputs.get("companyName")
    if first and last and (domain or company):
        return world.find_by_name(
            first, last, domain=bare_domain(domain) if domain else None, company_name=company
        )
    return None


# ---------------------------------------------------------------------------------- findings


def find(world: World, enrichment: Enrichment) -> dict[Workflow, Finding]:
    """Each requested workflow's answer with the credits it would cost (providers.md 1.9)."""
    return {w: _finding(world, w, enrichment) for w in enrichment.workflows}


def _finding(world: World, workflow: Workflow, enrichment: Enrichment) -> Finding:
    person = enrichment.person
    if workflow == "verify":
        email = enrichment.inputs["email"]
        return Finding(
            True, {"email": email, "status": world.email_verdict(email)}, PRICE["verify"]
        )
    knowledge = world.knowledge("lemlist", person) if person is not None else None
    if workflow == "find_email":
        if knowledge is None or knowledge.email is None:
            return Finding.nothing()
        status = knowledge.email_status or "unknown"
        credits = PRICE["find_email"] if status in ("deliverable", "risky") else 0
        return Finding(True, {"email": knowledge.email, "status": status}, credits)
    if workflow == "find_phone":
        if knowledge is None or not knowledge.phones:
            return Finding.nothing()
        return Finding(True, {"phone": knowledge.phones[0].number}, PRICE["find_phone"])
    # linkedin_enrichment is charged per enrichment, found or not (providers.md 1.9 / 4.5).
    if person is None or knowledge is None or not knowledge.profile:
        return Finding(False, credits=PRICE["linkedin_enrichment"])
    return Finding(True, linkedin_profile(world, person), PRICE["linkedin_enrichment"])


# ------------------------------------------------------------------------------------ profile


def linkedin_profile(world: World, person: Person) -> dict[str, Any]:
    """The LinkedIn profile object of providers.md 1.8, from the Person record."""
    company = person.company
    return {
        "linkedinUrl": person.linkedin_url,
        "linkedinMemberId": person.linkedin_member_id,
        "linkedinClassicId": person.profile_id,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "picture": person.photo_url,
        "locationName": person.location,
        "tagline": person.headline,
        "industry": company.industry,
        "summary": person.summary,
        "languages": ", ".join(person.languages),
        "skills": ", ".join(person.skills),
        "occupation": person.title,
        "companyName": company.name,
        "companyLinkedinUrl": _company_url(company),
        "companyDomain": company.domain,
        "companyId": company.company_id,
        "companyWebsite": f"https://{company.domain}",
        "companyDescription": _company_description(company),
        "companyFoundedOn": company.founded_year,
        "companyEmployeesOnLinkedin": _employees(company),
        "companyIndustry": company.industry,
        "companyLogo": _company_logo(company),
        "companyType": "Privately Held",
        "companyHeadQuarter": f"{company.city}, {company.country}",
        "companySize": company.size,
        "positionGroups": _position_groups(world, person.positions),
    }


def _company_url(company: Company) -> str:
    return f"https://www.linkedin.com/company/{company.linkedin_slug}"


def _company_logo(company: Company) -> str:
    return f"https://media.sandbox.test/logos/{company.linkedin_slug}.png"


def _company_description(company: Company) -> str:
    return f"{company.name}: {company.industry}, founded {company.founded_year}, {company.city}."


def _employees(company: Company) -> int:
    """A head count inside the company's LinkedIn size band, stable per company."""
    low, _, high = company.size.rstrip("+").partition("-")
    floor = int(low or 1)
    span = int(high) - floor + 1 if high else floor
    return floor + company.company_id * 7919 % max(span, 1)


def _company_object(world: World, position: Position) -> dict[str, Any]:
    known = _companies_by_domain(world).get(position.company_domain or "")
    if known is None:
        body: dict[str, Any] = {"name": position.company_name}
        if position.company_domain:
            body["domain"] = position.company_domain
        return body
    return {
        "id": known.company_id,
        "name": known.name,
        "linkedinUrl": _company_url(known),
        "logo": _company_logo(known),
        "domain": known.domain,
        "website": f"https://{known.domain}",
        "industry": known.industry,
        "description": _company_description(known),
        "employeesOnLinkedin": _employees(known),
        "foundedOn": known.founded_year,
        "headQuarter": f"{known.city}, {known.country}",
        "size": known.size,
        "type": "Privately Held",
    }


_DOMAIN_INDEX: WeakKeyDictionary[World, dict[str, Company]] = WeakKeyDictionary()


def _companies_by_domain(world: World) -> dict[str, Company]:
    index = _DOMAIN_INDEX.get(world)
    if index is None:
        index = _DOMAIN_INDEX[world] = {c.domain: c for c in world.companies}
    return index


def _date(position: Position) -> dict[str, Any]:
    end: dict[str, int] = {}
    if position.end_year is not None:
        end = {"month": position.end_month or 1, "year": position.end_year}
    return {"start": {"month": position.start_month, "year": position.start_year}, "end": end}


def _position_groups(world: World, positions: tuple[Position, ...]) -> list[dict[str, Any]]:
    """Consecutive roles at one company form a group, newest first, as LinkedIn shows them."""
    runs: list[list[Position]] = []
    for position in positions:
        if runs and runs[-1][0].company_name == position.company_name:
            runs[-1].append(position)
        else:
            runs.append([position])
    return [_group(world, run) for run in runs]


def _group(world: World, run: list[Position]) -> dict[str, Any]:
    newest, oldest = run[0], run[-1]
    start = {"month": oldest.start_month, "year": oldest.start_year}
    return {
        "company": _company_object(world, newest),
        "date": {"start": start, "end": _date(newest)["end"]},
        "profilePositions": [
            {
                "title": p.title,
                "description": p.description,
                "companyName": p.company_name,
                "date": _date(p),
            }
            for p in run
        ],
    }


# ------------------------------------------------------------------------------- wire shapes
# Two shapes (config.shape, fixed per enrichment at submit): "rich" fills what providers.md 1.6 /
# 1.7 leave open with the sandbox's guesses; "documented" sends only what is DOC there.

# The identity inputs GET /enrich/{id} is documented to echo (1.6); `email` is only presumed.
DOCUMENTED_ECHO = ("firstName", "lastName", "linkedinUrl", "companyName", "companyDomain")


def input_echo(enrichment: Enrichment) -> dict[str, str]:
    names = DOCUMENTED_ECHO if enrichment.documented else INPUT_FIELDS
    return {name: enrichment.inputs[name] for name in names if name in enrichment.inputs}


def result_data(enrichment: Enrichment) -> dict[str, Any]:
    """`data` of a done GET /enrich/{id}: every requested type, `notFound` on each (1.6 ASSUMPTION)."""
    assert enrichment.outcome is not None
    if enrichment.documented:
        return _documented_result(enrichment.outcome.findings)
    data: dict[str, Any] = {}
    for workflow, finding in enrichment.outcome.findings.items():
        if finding.found:
            shown = _result_found(workflow, finding.payload)
        else:
            shown = _result_not_found(workflow, enrichment.inputs)
        data[RESULT_KEY[workflow]] = shown
    return data


def _result_found(workflow: Workflow, payload: dict[str, Any]) -> dict[str, Any]:
    if workflow == "find_email":
        return {"email": payload["email"], "notFound": False, "status": payload["status"]}
    if workflow == "find_phone":
        return {"phone": payload["phone"], "notFound": False}
    return {**payload, "notFound": False}


def _result_not_found(workflow: Workflow, inputs: Mapping[str, str]) -> dict[str, Any]:
    if workflow == "find_email":
        return {"email": None, "notFound": True}
    if workflow == "find_phone":
        return {"phone": None, "notFound": True}
    if workflow == "verify":
        return {"email": inputs.get("email"), "status": None, "notFound": True}
    return {"notFound": True}


def _documented_result(findings: Mapping[Workflow, Finding]) -> dict[str, Any]:
    """The poll naming of 1.6 with documented fields only. A failed or unpaid type is not found
    like any other: 1.6 documents no failed state (its ASSUMPTION is done + `notFound`)."""
    data: dict[str, Any] = {}
    for workflow, finding in findings.items():
        if finding.found:
            data[RESULT_KEY[workflow]] = _documented_found(workflow, finding.payload)
        else:
            data[RESULT_KEY[workflow]] = _documented_not_found(workflow)
    return data


def _documented_found(workflow: Workflow, payload: dict[str, Any]) -> dict[str, Any]:
    if workflow == "find_email":  # 1.6's only example: no deliverability status in a poll
        return {"email": payload["email"], "notFound": False}
    if workflow == "find_phone":
        return {"phone": payload["phone"], "notFound": False}
    # linkedin: the 1.8 profile object as is; verify: {email, status} (status values DOC, 1.8)
    return dict(payload)


def _documented_not_found(workflow: Workflow) -> dict[str, Any]:
    if workflow == "find_email":  # 1.6 / 4.3
        return {"email": None, "notFound": True}
    if workflow == "find_phone":  # the email form, for a phone
        return {"phone": None, "notFound": True}
    return {"notFound": True}  # nothing documented to put beside the flag


def webhook_item(enrichment: Enrichment) -> dict[str, Any]:
    """One element of a webhook's `data` array (providers.md 1.7), keyed by workflow name.

    Rich: a not-found type carries `{"notFound": true}`; documented: it is omitted (1.7 c allows
    both, and omitting adds nothing undocumented). Found types are the 1.7 payloads in both."""
    assert enrichment.outcome is not None
    outcome = enrichment.outcome
    item: dict[str, Any] = {"id": enrichment.enrichment_id}
    if not isinstance(enrichment.metadata, Absent):
        item["metadata"] = enrichment.metadata
    if enrichment.documented:
        item["data"] = {w: f.payload for w, f in outcome.findings.items() if f.found}
    else:
        item["data"] = {
            w: (f.payload if f.found else {"notFound": True}) for w, f in outcome.findings.items()
        }
    if outcome.error is not None:
        item["error"] = outcome.error
    return item
