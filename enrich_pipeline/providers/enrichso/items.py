"""Requests → enrich.so batch items: which product a request needs, the input each product is
asked with (deduplicated by input key), the submit bodies, the item a field-scoped 400 names, and
what a Submission keeps of its request to match result rows later (`_person`, `_wanted`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrich_pipeline.identity import (
    canonical_linkedin_url,
    linkedin_slug,
    normalise_email,
    registrable_domain,
)
from enrich_pipeline.model import EnrichmentRequest, Submission
from enrich_pipeline.providers.enrichso.api import PRODUCT_OF_FIELD, SUBMIT_PATHS
from enrich_pipeline.providers.enrichso.correlate import Wanted
from enrich_pipeline.providers.enrichso.parse import (
    PRODUCTS,
    email_domain,
    email_key,
    lead_key,
    linkedin_key,
)

# The provider's own syntax check, mirrored so one bad address does not get a whole batch refused.
EMAIL_SYNTAX = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)
CULPRIT = re.compile(r"body/(emails|leads|linkedins)/(\d+)")


@dataclass
class _Item:
    """One unique input of a batch product and every request that asked for it."""

    product: str
    key: str
    payload: Any  # email | lead dict | ("email" | "linkedin", value) for phones
    requests: list[EnrichmentRequest] = field(default_factory=list)


def _valid_email(email: str | None) -> str | None:
    address = normalise_email(email)
    return address if address and len(address) <= 254 and EMAIL_SYNTAX.match(address) else None


def plan_item(product: str, request: EnrichmentRequest) -> tuple[str, Any] | str:
    """(input key, payload) of a request for one product, or why enrich.so cannot serve it."""
    email = _valid_email(request.email)
    if product in ("validation", "reverse"):
        if email is None:
            what = "email verification" if product == "validation" else "LinkedIn (reverse lookup)"
            return f"enrich.so {what} needs a valid email"
        return email_key(email) or "", email
    if product == "phones":
        url = canonical_linkedin_url(request.linkedin_url)
        if url is not None and len(url) <= 500:  # the URL names one person unambiguously
            return linkedin_key(url) or "", ("linkedin", url)
        if email is None:
            return "enrich.so phone lookup needs a LinkedIn URL or a valid email"
        return email_key(email) or "", ("email", email)
    first, last = (request.first_name or "").strip(), (request.last_name or "").strip()
    domain = registrable_domain(request.company_domain)
    if not (first and last and domain) or len(first) > 100 or len(last) > 100:
        return "enrich.so email finder needs first_name, last_name and company_domain"
    return lead_key(first, last, domain) or "", {
        "firstName": first,
        "lastName": last,
        "domain": domain,
    }


def _products(request: EnrichmentRequest) -> list[str]:
    wanted = {PRODUCT_OF_FIELD[f] for f in request.fields}
    return [p for p in PRODUCTS if p in wanted]


def _chunks(items: list[_Item], size: int) -> Iterator[list[_Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _body(product: str, chunk: Sequence[_Item], webhook_url: str | None) -> dict[str, Any]:
    body: dict[str, Any]
    if product == "finder":
        body = {"leads": [item.payload for item in chunk]}
    elif product == "phones":
        body = {
            kind: [item.payload[1] for item in chunk if item.payload[0] == name]
            for kind, name in (("emails", "email"), ("linkedins", "linkedin"))
        }
        body = {k: v for k, v in body.items() if v}
    else:
        body = {"emails": [item.payload for item in chunk]}
    if webhook_url:
        body["webhookUrl"] = webhook_url
    return body


def _culprit(product: str, chunk: Sequence[_Item], message: str) -> int | None:
    """Index in `chunk` of the item a field-scoped 400 names (`body/emails/3 Invalid email`)."""
    match = CULPRIT.search(message)
    if match is None:
        return None
    listed, position = match.group(1), int(match.group(2))
    if product == "phones":
        name = "email" if listed == "emails" else "linkedin"
        indexes = [i for i, item in enumerate(chunk) if item.payload[0] == name]
    else:
        indexes = list(range(len(chunk)))
    return indexes[position] if position < len(indexes) else None


def _person(request: EnrichmentRequest) -> dict[str, Any]:
    """What the request knows about the person, kept with the submission to match rows later."""
    return {
        "email": normalise_email(request.email),
        "first_name": request.first_name,
        "last_name": request.last_name,
        "company_name": request.company_name,
        "domain": registrable_domain(request.company_domain) or email_domain(request.email),
        "linkedin_slug": linkedin_slug(request.linkedin_url),
    }


def _wanted(submission: Submission) -> Wanted:
    raw, person = submission.raw, submission.raw.get("person") or {}
    return Wanted(
        keys=(str(raw.get("key")),),
        person_key=submission.person_key,
        correlation=submission.correlation,
        email=person.get("email"),
        first_name=person.get("first_name"),
        last_name=person.get("last_name"),
        company_name=person.get("company_name"),
        domain=person.get("domain"),
        linkedin_slug=person.get("linkedin_slug"),
        raw=raw,
    )


def _identity(submission: Submission) -> tuple[str, str | None, str]:
    return submission.person_key, submission.correlation, str(submission.raw.get("key"))


def split_ref(ref: str) -> tuple[str, str]:
    product, _, batch_id = ref.partition(":")
    if product not in SUBMIT_PATHS or not batch_id:
        raise ValueError(f"not an enrich.so batch reference: {ref!r} (want '<product>:<batchId>')")
    return product, batch_id
