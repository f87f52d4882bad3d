"""enrich.so (Enrich API v3) emulator, mounted under /enrichso/api/v3 (providers.md section 2).

Single lookups answer synchronously and bill at once (`meta.creditsUsed` is the receipt); the four
batch products live in enrichso_batches.py. Errors are RFC 9457 problem+json (dialects.problem).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from enrich_pipeline.sandbox.clock import iso_now
from enrich_pipeline.sandbox.dialects import ENRICHSO
from enrich_pipeline.sandbox.providers import enrichso_answers as answers
from enrich_pipeline.sandbox.providers.enrichso_batches import (
    EnrichsoStore,
    results_handler,
    status_handler,
    submit_handler,
)
from enrich_pipeline.sandbox.providers.enrichso_products import (
    FINDER,
    PHONES,
    REVERSE_LOOKUP,
    VALIDATION,
    Product,
)
from enrich_pipeline.sandbox.providers.enrichso_wire import (
    PROVIDER,
    bad_request,
    charge,
    elapsed_ms,
    email,
    int_query,
    linkedin_url,
    object_body,
    ok,
    problems,
    require_credits,
    required,
    sync_latency,
    text,
    wallet,
)
from enrich_pipeline.sandbox.routing import Call, endpoint
from enrich_pipeline.sandbox.state import SandboxState

TRANSACTION_TYPES = ("deduction", "topup", "adjustment", "refund")


def new_store(state: SandboxState) -> EnrichsoStore:
    # One organisation per sandbox: its id is stable for a seed, like a real account's.
    org = hashlib.sha256(f"enrichso-org:{state.config.seed}".encode()).hexdigest()[:24]
    return EnrichsoStore(organization_id=org)


def _legacy_shape(call: Call) -> bool:
    return call.state.config.enrichso_shape == "legacy"


def _per_endpoint_only(call: Call) -> bool:
    """The "documented" shape in the per-endpoint dialect: no `found` where that spec has none
    (reverse lookup, phones: providers.md 2.6, 2.7). The quick reference ("legacy") shows one."""
    return call.state.config.shape == "documented" and not _legacy_shape(call)


def _receipt(call: Call, used: int, started: float) -> dict[str, Any]:
    return {
        "creditsUsed": used,
        "creditsRemaining": wallet(call).balance,
        "processingTimeMs": elapsed_ms(started),
    }


# -------------------------------------------------------------------------------- single lookups


@problems
async def validate_email(call: Call) -> Response:
    started = time.perf_counter()
    address = email(required(await object_body(call), "email"), "body/email")
    require_credits(call, 1)
    await sync_latency(call)
    verdict = answers.validate_email(call.world, address)
    used = 1 if verdict.charged else 0  # risky answers are free
    charge(call, used, "Email validation", email=address)
    call.state.counters.submitted(PROVIDER, verdict.person_id)
    if _legacy_shape(call):
        data = answers.validation_legacy(verdict)
    else:
        data = answers.validation_data(verdict)
    return ok(data, **_receipt(call, used, started))


@problems
async def find_email(call: Call) -> Response:
    started = time.perf_counter()
    body = await object_body(call)
    lead = answers.Lead(
        text(required(body, "firstName"), "body/firstName", 100),
        text(required(body, "lastName"), "body/lastName", 100),
        text(required(body, "domain"), "body/domain", 253),
    )
    require_credits(call, FINDER.credits_per_item)
    await sync_latency(call)
    finding = answers.find_email(call.world, lead)
    used = FINDER.credits_per_item if finding.found else 0
    charge(call, used, "Email finder", domain=lead.domain)
    call.state.counters.submitted(PROVIDER, finding.person_id)
    return ok(answers.finder_data(finding), **_receipt(call, used, started))


@problems
async def reverse_lookup(call: Call) -> Response:
    started = time.perf_counter()
    address = email(required(await object_body(call), "email"), "body/email")
    price = REVERSE_LOOKUP.credits_per_item
    # Charged up front and refunded when nothing is found (DOC: "refunded when no profile").
    charge(call, price, "Reverse email lookup", email=address)
    await sync_latency(call)
    person, has_profile = answers.profile_owner(call.world, address)
    call.state.counters.submitted(PROVIDER, person.person_id if person else None)
    if person is None or not has_profile:
        wallet(call).refund(price, call.key, "Reverse email lookup refund (no profile)")
        # Not found: ASSUMPTION (providers.md 2.6) 200 with found: false and nothing billed; the
        # per-endpoint spec has no `found`: no profile fields, only the echoed email.
        missing = (
            {"email": address} if _per_endpoint_only(call) else {"found": False, "email": address}
        )
        return ok(missing, **_receipt(call, 0, started))
    return ok(answers.profile_data(person), **_receipt(call, price, started))


@problems
async def find_phones(call: Call) -> Response:
    started = time.perf_counter()
    query = call.query
    given_email = query.get("email") or None
    given_linkedin = query.get("linkedin") or None
    if given_email is None and given_linkedin is None:
        raise bad_request("querystring must have at least one of 'email' or 'linkedin'")
    if given_email is not None:
        email(given_email, "querystring/email")
    if given_linkedin is not None:
        linkedin_url(given_linkedin, "querystring/linkedin")
    require_credits(call, PHONES.credits_per_item)
    await sync_latency(call)
    person = answers.phone_owner(call.world, given_email, given_linkedin)
    phones = answers.known_phones(call.world, person)
    used = PHONES.credits_per_item if phones else 0
    charge(call, used, "Phone finder")
    call.state.counters.submitted(PROVIDER, person.person_id if person else None)
    if _legacy_shape(call):  # quick-reference form (providers.md 2.7 CONFLICT)
        listed: list[Any] = [{"number": number, "type": kind} for number, kind in phones]
    else:
        listed = [number for number, _ in phones]
    data: dict[str, Any] = {"phones": listed}  # per-endpoint spec: `phones` only
    if not _per_endpoint_only(call):
        data = {"found": bool(phones), **data}  # quick reference / emulator default
    return ok(data, **_receipt(call, used, started))


# ----------------------------------------------------------------------------------------- wallet


@problems
async def balance(call: Call) -> Response:
    store: EnrichsoStore = call.store
    data = {
        "organizationId": store.organization_id,
        "balance": wallet(call).balance,
        "currency": "credits",
        "asOf": iso_now(),
    }
    return ok(data)


@problems
async def transactions(call: Call) -> Response:
    page = int_query(call, "page", 1, 1, None)
    limit = int_query(call, "limit", 20, 1, 100)  # CONFLICT 20 vs 50: the reference's 20
    kind = call.query.get("type")
    if kind is not None and kind not in TRANSACTION_TYPES:
        raise bad_request(
            "querystring/type must be equal to one of the allowed values: "
            + ", ".join(TRANSACTION_TYPES)
        )
    store: EnrichsoStore = call.store
    rows = [t for t in reversed(wallet(call).transactions) if kind is None or t["type"] == kind]
    window = rows[(page - 1) * limit : page * limit]
    data = {
        "transactions": [{**t, "organizationId": store.organization_id} for t in window],
        "pagination": {
            "page": page,
            "limit": limit,
            "total": len(rows),
            "totalPages": math.ceil(len(rows) / limit),
        },
    }
    return ok(data)


# ----------------------------------------------------------------------------------------- routes


def _batch_routes(base: str, product: Product, param: str = "batchId") -> list[BaseRoute]:
    return [
        endpoint(ENRICHSO, "POST", base, submit_handler(product)),
        endpoint(ENRICHSO, "GET", f"{base}/{{{param}}}", status_handler(product, param)),
        endpoint(ENRICHSO, "GET", f"{base}/{{{param}}}/results", results_handler(product, param)),
    ]


ROUTES: list[BaseRoute] = [
    endpoint(ENRICHSO, "POST", "/email-validation", validate_email),
    *_batch_routes("/email-validation/batch", VALIDATION),
    endpoint(ENRICHSO, "POST", "/email-finder", find_email),
    *_batch_routes("/email-finder/batch", FINDER),
    endpoint(ENRICHSO, "POST", "/reverse-lookup/lookup", reverse_lookup),
    *_batch_routes("/reverse-lookup/bulk-lookup", REVERSE_LOOKUP),
    endpoint(ENRICHSO, "GET", "/reverse-lookup/phones", find_phones),
    *_batch_routes("/reverse-lookup/phones/bulk", PHONES, param="jobId"),
    endpoint(ENRICHSO, "GET", "/wallets/balance", balance),
    endpoint(ENRICHSO, "GET", "/wallets/transactions", transactions),
]
