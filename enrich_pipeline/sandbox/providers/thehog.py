"""The Hog emulator (providers.md 3): the current enrichment API and the legacy people API.

Current (`X-Access-Key` + `X-Secret-Key`): POST /api/enrichments, GET /api/enrichments/{id},
GET /api/operations (list), GET /api/health (free, no auth).
Legacy (`Authorization: Bearer`): POST /api/people/enrich, POST /api/people/enrich/estimate.
Both: GET /api/operations/{operation_id} — the polling bucket (300/min) on top of the global
600/min (dialects.py).

`pollUrl` CONFLICT (3.2): the docs show both an absolute and a relative URL and clients must
`urljoin(base, pollUrl)`. The sandbox exercises both: the current endpoint answers with an absolute
URL built from the request's own base URL (`http://host:port/thehog/api/operations/op_…`), the
legacy endpoint with the relative `/api/operations/op_…` of its documented example (3.4).

Data and prices: thehog_data.py. Validation: thehog_validation.py. Operations: thehog_ops.py.
config.shape "documented" cuts every answer down to what providers.md 3 marks DOC
(thehog_data.documented, `_current_meta`); "rich" (the default) is the sandbox's fuller guess.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from enrich_pipeline.sandbox.clock import iso_now, now
from enrich_pipeline.sandbox.dialects import THEHOG, THEHOG_POLL_ROUTE, hog_error, request_id
from enrich_pipeline.sandbox.providers.thehog_data import (
    ItemOutcome,
    documented,
    enrich,
    estimate_credits,
    legacy_enrich,
    legacy_estimate,
    providers_likely_used,
    resolve,
    resolve_legacy,
)
from enrich_pipeline.sandbox.providers.thehog_ops import (
    IDEMPOTENCY_TTL_S,
    OPERATION_STATUSES,
    HogStore,
    Operation,
    StoredResponse,
    operation_id,
)
from enrich_pipeline.sandbox.providers.thehog_validation import (
    NOT_JSON,
    EnrichmentRequest,
    LegacyRequest,
    Violation,
    parse_enrichment,
    parse_legacy,
    violation,
)
from enrich_pipeline.sandbox.routing import Call, endpoint
from enrich_pipeline.sandbox.state import SandboxState

PROVIDER = "thehog"
# ASSUMPTION (3.4 "small batches only"): asyncPreferred=false is answered inline up to this many
# inputs; a larger batch gets 202 + operation anyway (clients must handle both codes).
LEGACY_INLINE_MAX = 10
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 20, 100


def new_store(state: SandboxState) -> HogStore:
    return HogStore()


def _store(call: Call) -> HogStore:
    return call.store  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------ envelopes


def _documented(call: Call) -> bool:
    """config.shape "documented": answers carry only what providers.md 3 marks DOC."""
    return call.state.config.shape == "documented"


def _meta(call: Call, project_id: str | None = None) -> dict[str, Any]:
    """`meta.requestId` equals the X-Request-Id header; `projectId` echoes X-Project-Id (3.5)."""
    meta: dict[str, Any] = {"requestId": request_id(call.request)}
    project = project_id or call.request.headers.get("x-project-id")
    if project:
        meta["projectId"] = project
    return meta


def _current_meta(call: Call, cost: dict[str, int] | None = None) -> dict[str, Any]:
    """`meta` of a /api/enrichments answer. Documented: only `requestId` is guaranteed there (3.5);
    `cost` is a third-party mention and X-Project-Id on the current API an ASSUMPTION (3.1)."""
    if _documented(call):
        return {"requestId": request_id(call.request)}
    meta = _meta(call)
    if cost is not None:
        meta["cost"] = cost
    return meta


def _json(call: Call, body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(
        body, status_code=status, headers={"X-Request-Id": request_id(call.request)}
    )


def _invalid(call: Call, problems: list[Violation]) -> Response:
    return hog_error(call.request, 400, "Validation failed", problems)


def _poll_url(request: Request, op_id: str, *, absolute: bool) -> str:
    path = f"/api/operations/{op_id}"
    if not absolute:
        return path
    # root_path is the mount prefix (/thehog): the absolute URL is the client's own base URL + path.
    return str(request.url.replace(path=request.scope.get("root_path", "") + path, query=""))


# ---------------------------------------------------------------------------------- idempotency


def _replayed(call: Call) -> Response | None:
    """Same Idempotency-Key in the same organization → the first answer again: same operation,
    no new job, no charge, no new submission (3.1). Only the request id is new."""
    key = call.request.headers.get("idempotency-key")
    if not key:
        return None
    ttl = call.state.config.scaled(IDEMPOTENCY_TTL_S)
    stored = _store(call).recall(call.key, key, ttl)
    if stored is None:
        return None
    body = copy.deepcopy(stored.body)
    body["meta"] = {
        **body.get("meta", {}),
        **stored.replay_meta,
        "requestId": request_id(call.request),
    }
    response = _json(call, body, stored.status_code)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember(call: Call, status: int, body: dict[str, Any], **replay_meta: Any) -> None:
    key = call.request.headers.get("idempotency-key")
    if key:
        stored = StoredResponse(status, copy.deepcopy(body), now(), replay_meta)
        _store(call).remember(call.key, key, stored)


# ----------------------------------------------------------------------------------- submission


def _count_submissions(call: Call, items: list[ItemOutcome]) -> None:
    for item in items:
        call.state.counters.submitted(PROVIDER, item.person_id)


def _start_operation(
    call: Call, items: list[ItemOutcome], *, single: bool, estimated: int, absolute: bool
) -> Operation:
    op_id = operation_id()
    store = _store(call)
    operation = Operation(
        id=op_id,
        org=call.key,
        single=single,
        items=items,
        timer=call.state.start_job(PROVIDER),
        wallet=call.state.wallets[PROVIDER],
        estimated=estimated,
        poll_url=_poll_url(call.request, op_id, absolute=absolute),
        sequence=store.next_sequence(),
        documented=_documented(call),
    )
    store.add(operation)
    _count_submissions(call, items)
    return operation


def _accepted(operation: Operation, meta: dict[str, Any]) -> dict[str, Any]:
    """The 202 body (3.2/3.4); every key is required."""
    return {
        "id": operation.id,
        "operationId": operation.id,
        "status": "queued",
        "pollUrl": operation.poll_url,
        "meta": meta,
    }


async def _sync_latency(call: Call) -> None:
    delay = call.state.config.scaled(call.state.config.sync_latency_s)
    if delay > 0:
        await asyncio.sleep(delay)


def _insufficient(call: Call) -> Response:
    return hog_error(call.request, 402, "Insufficient credits.")


# -------------------------------------------------------------------------- POST /api/enrichments


async def post_enrichment(call: Call) -> Response:
    is_json, body = await call.json_body()
    # Looked up after the last await before the job starts, so two concurrent requests with one
    # key cannot both start a job. First request wins, whatever the second body says (3.1).
    if (replay := _replayed(call)) is not None:
        return replay
    request, problems = parse_enrichment(body if is_json else NOT_JSON)
    if request is None:
        return _invalid(call, problems)
    estimate = estimate_credits(request.fields, len(request.identifiers))
    if not call.state.wallets[PROVIDER].can_cover(estimate):
        return _insufficient(call)
    if request.answers_sync:
        return await _enrich_now(call, request, estimate)
    items = [_answer(call, ident, request) for ident in request.identifiers]
    operation = _start_operation(
        call, items, single=request.single, estimated=estimate, absolute=True
    )
    accepted = _accepted(operation, _current_meta(call))
    _remember(call, 202, accepted)
    return _json(call, accepted, 202)


def _answer(call: Call, identifier: dict[str, str], request: EnrichmentRequest) -> ItemOutcome:
    """One identifier's answer, in the configured shape."""
    world, fields, signals_config = call.world, request.fields, request.signals_config
    outcome = enrich(world, identifier, resolve(world, identifier), fields, signals_config)
    return documented(outcome, fields, signals_config) if _documented(call) else outcome


async def _enrich_now(call: Call, request: EnrichmentRequest, estimate: int) -> Response:
    """The 200 path: single LinkedIn identifier, contact fields only; charged at once."""
    await _sync_latency(call)
    outcome = _answer(call, request.identifiers[0], request)
    if outcome.data is None:  # rich shape only: documented, nobody is answered with empty arrays
        # ASSUMPTION: the sync path has no item envelope to carry "not resolved"; 422 says the
        # request was well-formed but names nobody. Not charged.
        _count_submissions(call, [outcome])
        return hog_error(call.request, 422, "Could not resolve this identity")
    wallet = call.state.wallets[PROVIDER]
    if not wallet.charge(outcome.credits, call.key, "enrichment (sync)"):
        return _insufficient(call)
    _count_submissions(call, [outcome])
    cost = {"estimated": estimate, "actual": outcome.credits}
    body = {"data": outcome.data, "meta": _current_meta(call, cost)}
    _remember(call, 200, body)
    return _json(call, body)


# ------------------------------------------------------------------------------------- polling


def _not_found(call: Call) -> Response:
    return hog_error(call.request, 404, "Resource not found.")


async def get_operation(call: Call) -> Response:
    operation = _store(call).find(call.key, call.request.path_params["operation_id"])
    return _not_found(call) if operation is None else _json(call, operation.dto())


async def get_enrichment(call: Call) -> Response:
    operation = _store(call).find(call.key, call.request.path_params["id"])
    return _not_found(call) if operation is None else _json(call, operation.dto())


def _list_query(call: Call) -> tuple[int, str | None, list[Violation]]:
    raw_limit, status = call.query.get("limit"), call.query.get("status")
    problems: list[Violation] = []
    limit = LIST_DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            problems.append(violation("query.limit", "isInt", "limit must be an integer number"))
        else:
            if limit < 1:
                problems.append(violation("query.limit", "min", "limit must not be less than 1"))
            elif limit > LIST_MAX_LIMIT:
                message = f"limit must not be greater than {LIST_MAX_LIMIT}"
                problems.append(violation("query.limit", "max", message))
    if status is not None and status not in OPERATION_STATUSES:
        message = f"status must be one of the following values: {', '.join(OPERATION_STATUSES)}"
        problems.append(violation("query.status", "isIn", message))
    return limit, status, problems


async def list_operations(call: Call) -> Response:
    """A bare JSON array of OperationResponseDto, newest first (3.3)."""
    limit, status, problems = _list_query(call)
    if problems:
        return _invalid(call, problems)
    dtos = [op.dto() for op in _store(call).newest_first(call.key)]
    if status is not None:
        dtos = [dto for dto in dtos if dto["status"] == status]
    return _json(call, dtos[:limit])


async def health(call: Call) -> Response:
    return _json(call, {"status": "ok", "timestamp": iso_now()})


# ----------------------------------------------------------------------- legacy /api/people/...


async def _parse_legacy_body(call: Call) -> tuple[LegacyRequest | None, list[Violation]]:
    is_json, body = await call.json_body()
    return parse_legacy(body if is_json else NOT_JSON, call.request.headers.get("x-project-id"))


def _legacy_answers_inline(request: LegacyRequest) -> bool:
    return not request.async_preferred and len(request.inputs) <= LEGACY_INLINE_MAX


async def post_people_enrich(call: Call) -> Response:
    request, problems = await _parse_legacy_body(call)
    if (replay := _replayed(call)) is not None:
        return replay
    if request is None:
        return _invalid(call, problems)
    attempts = (request.max_email_attempts, request.max_phone_attempts)
    estimate = legacy_estimate(len(request.inputs), *attempts)
    if not call.state.wallets[PROVIDER].can_cover(estimate):
        return _insufficient(call)
    items = [_legacy_answer(call, entry, attempts) for entry in request.inputs]
    if _legacy_answers_inline(request):
        return await _people_enrich_now(call, request, items, estimate)
    operation = _start_operation(call, items, single=False, estimated=estimate, absolute=False)
    accepted = _accepted(operation, _meta(call, request.project_id))
    # The docs' replay example shows an estimated cost in meta (name truncated): estimatedCost.
    # A guessed name, so the documented shape leaves it out.
    replay_meta = {} if _documented(call) else {"estimatedCost": estimate}
    _remember(call, 202, accepted, **replay_meta)
    return _json(call, accepted, 202)


def _legacy_answer(call: Call, entry: dict[str, Any], attempts: tuple[int, int]) -> ItemOutcome:
    """One legacy input's answer; documented, its contact elements are strings like the current
    API's (the legacy contact object is UNKNOWN, 3.4)."""
    outcome = legacy_enrich(call.world, entry, resolve_legacy(call.world, entry), *attempts)
    if not _documented(call):
        return outcome
    return documented(outcome, ("contact.email", "contact.phone"), {})


async def _people_enrich_now(
    call: Call, request: LegacyRequest, items: list[ItemOutcome], estimate: int
) -> Response:
    """asyncPreferred=false: 200 with one entry per input, charged at once (3.4)."""
    await _sync_latency(call)
    actual = sum(item.credits for item in items)
    if not call.state.wallets[PROVIDER].charge(actual, call.key, "people enrich (sync)"):
        return _insufficient(call)
    _count_submissions(call, items)
    meta = {**_meta(call, request.project_id), "cost": {"estimated": estimate, "actual": actual}}
    body = {"data": [item.as_item() for item in items], "meta": meta}
    _remember(call, 200, body)
    return _json(call, body)


async def post_people_estimate(call: Call) -> Response:
    """Free (3.4): what /api/people/enrich would cost at most and how it would answer."""
    request, problems = await _parse_legacy_body(call)
    if request is None:
        return _invalid(call, problems)
    attempts = (request.max_email_attempts, request.max_phone_attempts)
    estimate = legacy_estimate(len(request.inputs), *attempts)
    inline = _legacy_answers_inline(request)
    data = {
        "estimatedCredits": estimate,
        "likelySyncOrAsync": "sync" if inline else "async",
        # The documented example writes the range with an en dash.
        "expectedLatencyRange": "2\u20138s" if inline else "30\u2013120s",
        "providersLikelyUsed": providers_likely_used(*attempts),
        "withinPlanLimits": call.state.wallets[PROVIDER].can_cover(estimate),
    }
    return _json(call, {"data": data, "meta": _meta(call, request.project_id)})


ROUTES: list[BaseRoute] = [
    endpoint(THEHOG, "POST", "/api/enrichments", post_enrichment),
    endpoint(THEHOG, "GET", "/api/enrichments/{id}", get_enrichment),
    endpoint(THEHOG, "GET", "/api/operations", list_operations),
    # The polling route accepts both credential kinds: current and legacy clients poll it.
    endpoint(THEHOG, "GET", THEHOG_POLL_ROUTE.split(" ", 1)[1], get_operation, legacy=True),
    endpoint(THEHOG, "GET", "/api/health", health, authenticated=False),
    endpoint(THEHOG, "POST", "/api/people/enrich", post_people_enrich, legacy=True),
    endpoint(THEHOG, "POST", "/api/people/enrich/estimate", post_people_estimate, legacy=True),
]
