"""What we send lemlist for a request (providers.md 1.2): the identity inputs, the workflows those
inputs can feed (and why the others cannot), and the refusal (no call) of a person it cannot serve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enrich_pipeline.identity import canonical_linkedin_url, normalise_email, registrable_domain
from enrich_pipeline.model import EnrichmentRequest, Submission, WantedField
from enrich_pipeline.providers.lemlist.dialect import PROVIDER, WORKFLOW_OF, WORKFLOWS

_INPUT_FIELDS = ("linkedinUrl", "email", "firstName", "lastName", "companyName", "companyDomain")


def request_inputs(request: EnrichmentRequest) -> dict[str, str]:
    """lemlist identity inputs of a request (bulk `input` / single-call query parameters)."""
    values = {
        "linkedinUrl": _linkedin_input(request.linkedin_url),
        "email": normalise_email(request.email),
        "firstName": _text(request.first_name),
        "lastName": _text(request.last_name),
        "companyName": _text(request.company_name),
        "companyDomain": _domain_input(request.company_domain),
    }
    return {name: value for name, value in values.items() if value}


def _text(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _linkedin_input(url: str | None) -> str | None:
    # The canonical /in/ URL when it is one; anything else (a Sales Navigator URL, say) as given.
    return canonical_linkedin_url(url) or _text(url)


def _domain_input(value: str | None) -> str | None:
    # lemlist wants a bare domain (`northwind-labs.io`), not a URL or an email address.
    return registrable_domain(value) or _text(value)


def missing_input(workflow: str, inputs: Mapping[str, str]) -> str | None:
    """Why `inputs` cannot feed `workflow` (providers.md 1.2), or None when they can."""
    has = {name for name in _INPUT_FIELDS if inputs.get(name)}
    named = {"firstName", "lastName"} <= has
    if workflow == "find_email":
        if "linkedinUrl" in has or (named and {"companyName", "companyDomain"} <= has):
            return None
        return "find_email needs linkedinUrl, or firstName+lastName+companyName+companyDomain"
    if workflow == "find_phone":
        return None if "linkedinUrl" in has else "find_phone needs linkedinUrl"
    if workflow == "verify":
        return None if "email" in has else "verify needs email"
    if has & {"linkedinUrl", "email"} or (named and has & {"companyName", "companyDomain"}):
        return None
    return (
        "linkedin_enrichment needs linkedinUrl, or email, or firstName+lastName+"
        "(companyName or companyDomain)"
    )


def plan_workflows(
    fields: Iterable[WantedField], inputs: Mapping[str, str]
) -> tuple[tuple[str, ...], list[str]]:
    """(workflows that can run, why the others cannot), in lemlist's canonical order."""
    wanted = {WORKFLOW_OF[f] for f in fields if f in WORKFLOW_OF}
    runnable: list[str] = []
    reasons: list[str] = []
    for workflow in WORKFLOWS:
        if workflow not in wanted:
            continue
        why = missing_input(workflow, inputs)
        if why is None:
            runnable.append(workflow)
        else:
            reasons.append(why)
    return tuple(runnable), reasons


def _refusal(request: EnrichmentRequest, reasons: list[str], raw: dict[str, Any]) -> Submission:
    """A person lemlist cannot serve from what is known: refused here, no call, nothing charged."""
    error = "MISSING_INPUTS: " + ("; ".join(reasons) or "no lemlist enrichment was requested")
    return Submission.refused(request, PROVIDER, error, raw)
