"""The four enrich.so batch products: how a submit body is read and how each item is answered.

The batch engine (enrichso_batches.py) is product-agnostic: it dedupes on each item's key, reserves
`credits_per_item` per unique item, and reads every answer as a `Row`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from enrich_pipeline.sandbox.providers import enrichso_answers as answers
from enrich_pipeline.sandbox.providers.enrichso_wire import (
    bad_request,
    email,
    linkedin_url,
    object_id,
    string_list,
    text,
)
from enrich_pipeline.sandbox.world import World

# (dedupe key, item) in submission order, duplicates included.
Keyed = list[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class Row:
    """One batch item's answer in every form the API shows it."""

    person_id: str | None
    charged: bool  # a successful item: billed at settlement (validation: not risky; others: found)
    outcome: str  # completion-callback tally: valid / invalid / risky, found / not_found
    result: dict[str, Any] | None  # the REST results[] row; None = omitted from results
    hook: dict[str, Any]  # per-result webhook `data`, without job_id


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    label: str  # for wallet transaction descriptions
    credits_per_item: int
    item_event: str
    completion_event: str
    tallies: tuple[str, ...]  # outcome counters in the completion callback
    reports_success: bool  # completion callback carries successful / failed (validation, finder)
    paged_results: bool  # results use processedItems and echo page/limit/successful/failed
    submit_message: str | None
    parse: Callable[[dict[str, Any]], Keyed]
    answer: Callable[[World, Any], Row]


# ------------------------------------------------------------------------------------ validation


def _emails(body: dict[str, Any], max_items: int) -> Keyed:
    values = string_list(body, "emails", max_items)
    checked = [email(value, f"body/emails/{i}") for i, value in enumerate(values)]
    return [(address.lower(), address) for address in checked]  # case-insensitive dedupe


def _validation_row(world: World, address: str) -> Row:
    v = answers.validate_email(world, address)
    return Row(
        v.person_id, v.charged, v.result, answers.validation_row(v), answers.validation_hook(v)
    )


VALIDATION = Product(
    name="validation",
    label="Email validation",
    credits_per_item=1,
    item_event="webhook:email_lookup.completed",
    completion_event="validation.completed",
    tallies=("valid", "invalid", "risky"),
    reports_success=True,
    paged_results=False,
    submit_message=None,
    parse=lambda body: _emails(body, 500_000),
    answer=_validation_row,
)

# ---------------------------------------------------------------------------------------- finder


def _leads(body: dict[str, Any]) -> Keyed:
    values = string_list(body, "leads", 500_000)
    keyed: Keyed = []
    for i, value in enumerate(values):
        path = f"body/leads/{i}"
        if not isinstance(value, dict):
            raise bad_request(f"{path} must be object")
        for field in ("firstName", "lastName", "domain"):
            if value.get(field) is None:
                raise bad_request(f"{path} must have required property '{field}'")
        lead = answers.Lead(
            text(value["firstName"], f"{path}/firstName", 100),
            text(value["lastName"], f"{path}/lastName", 100),
            text(value["domain"], f"{path}/domain", 253),
        )
        keyed.append((lead.dedupe_key, lead))
    return keyed


def _finder_row(world: World, lead: answers.Lead) -> Row:
    f = answers.find_email(world, lead)
    outcome = "found" if f.found else "not_found"
    return Row(f.person_id, f.found, outcome, answers.finder_data(f), answers.finder_hook(f))


FINDER = Product(
    name="finder",
    label="Email finder",
    credits_per_item=10,
    item_event="webhook:finder_lookup.completed",
    completion_event="finder.completed",
    tallies=("found", "not_found"),
    reports_success=True,
    paged_results=False,
    submit_message=None,
    parse=_leads,
    answer=_finder_row,
)


def documented_row(product: Product, row: Row) -> Row:
    """A row as the "documented" shape sends it. A finder callback's result_id is the found email
    (the doc's example); for a miss the doc is silent (UNKNOWN), so nothing readable: an opaque
    24-hex id, as a result record's own id might be, instead of rich's `first|last|domain`."""
    if product is FINDER and not row.charged:
        return replace(row, hook={**row.hook, "result_id": object_id()})
    return row


# -------------------------------------------------------------------------------- reverse lookup


def _reverse_row(world: World, address: str) -> Row:
    person, has_profile = answers.profile_owner(world, address)
    person_id = person.person_id if person else None
    hook: dict[str, Any] = {"result_id": address}
    if person is None or not has_profile:
        hook.update(type="no_match", message="No information found")
        return Row(person_id, False, "not_found", None, hook)  # misses are omitted from results
    profile = answers.profile_data(person)
    hook.update(type="success", result=profile, message="Person found")
    return Row(person_id, True, "found", profile, hook)


REVERSE_LOOKUP = Product(
    name="reverse-lookup",
    label="Reverse email lookup",
    credits_per_item=10,
    item_event="webhook:email_result.completed",
    completion_event="webhook:email_completion.completed",
    tallies=("found", "not_found"),
    reports_success=False,
    paged_results=True,
    submit_message="bulk lookup job created",
    parse=lambda body: _emails(body, 100_000),
    answer=_reverse_row,
)

# ---------------------------------------------------------------------------------------- phones

NO_PHONES = "No phone numbers found for this profile"


def _phone_items(body: dict[str, Any]) -> Keyed:
    emails = string_list(body, "emails", 500_000, optional=True)
    linkedins = string_list(body, "linkedins", 500_000, optional=True)
    if not emails and not linkedins:
        raise bad_request("body must have at least one item in 'emails' or 'linkedins'")
    if len(emails) + len(linkedins) > 500_000:
        raise bad_request("body must NOT have more than 500000 items in 'emails' and 'linkedins'")
    keyed: Keyed = []
    for i, value in enumerate(emails):
        address = email(value, f"body/emails/{i}")
        keyed.append((f"email:{address.lower()}", ("email", address)))
    for i, value in enumerate(linkedins):
        url = linkedin_url(value, f"body/linkedins/{i}")
        keyed.append((f"linkedin:{url}", ("linkedin", url)))  # profile URLs dedupe as-is
    return keyed


def _phone_row(world: World, item: tuple[str, str]) -> Row:
    kind, value = item
    person = answers.phone_owner(
        world, value if kind == "email" else None, value if kind == "linkedin" else None
    )
    numbers = [number for number, _ in answers.known_phones(world, person)]
    person_id = person.person_id if person else None
    result: dict[str, Any] = {kind: value, "phones": numbers}
    hook: dict[str, Any] = {"result_id": value}
    if not numbers:
        result["error"] = NO_PHONES
        hook.update(type="no_match", message="No phone numbers found")
        return Row(person_id, False, "not_found", result, hook)
    hook.update(type="success", phones=numbers, message="Phone numbers found")
    return Row(person_id, True, "found", result, hook)


PHONES = Product(
    name="phones",
    label="Phone finder",
    credits_per_item=500,  # CONFLICT 10 vs 500: examples and the reference say 500 (providers.md 2.2)
    item_event="webhook:phone_result.completed",
    completion_event="webhook:phone_completion.completed",
    tallies=("found", "not_found"),
    reports_success=False,
    paged_results=True,
    submit_message="bulk phone lookup job created",
    parse=_phone_items,
    answer=_phone_row,
)
