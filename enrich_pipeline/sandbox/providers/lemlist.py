"""lemlist emulator: the enrichment endpoints of providers.md section 1 over the synthetic world.

Single-item endpoints take query parameters only; bulk takes a JSON array. Errors keep lemlist's
mix of formats: text/plain for parameter problems, JSON for lead and bulk codes (providers.md 1.10).
Records live in lemlist_records, answers in lemlist_answers, leads in lemlist_leads and the
enrichment life cycle (settling, credits, webhooks) in lemlist_store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from enrich_pipeline.sandbox.dialects import LEMLIST
from enrich_pipeline.sandbox.providers.lemlist_answers import (
    first_missing_input,
    input_echo,
    is_webhook_url,
    result_data,
)
from enrich_pipeline.sandbox.providers.lemlist_leads import runnable
from enrich_pipeline.sandbox.providers.lemlist_records import (
    ABSENT,
    ALREADY_ENRICHED,
    FLAG_OF,
    INPUT_FIELDS,
    LEAD_ID,
    NO_ENRICHMENT_REQUESTED,
    WORKFLOWS,
    Workflow,
)
from enrich_pipeline.sandbox.providers.lemlist_store import LemlistStore
from enrich_pipeline.sandbox.routing import Call, endpoint
from enrich_pipeline.sandbox.state import SandboxState

BAD_REQUEST = "Bad request"
BAD_TEAM = "Bad team"
# The docs name "an invalid-webhook message" without quoting it (providers.md 1.3): ASSUMPTION.
INVALID_WEBHOOK = "Invalid webhookUrl: expected an absolute http(s) URL"
BULK_MAX = 500
# Event types POST /hooks accepts (lemlist's webhook catalogue); only the enrichment ones fire here.
_HOOK_TYPE_NAMES = """contacted hooked attracted warmed interested notInterested emailsSent emailsOpened
    emailsClicked emailsReplied emailsBounced emailsFailed emailsInterested emailsNotInterested
    emailsUnsubscribed linkedinSent linkedinOpened linkedinReplied linkedinInterested
    linkedinNotInterested linkedinSendFailed linkedinVisitDone linkedinVisitFailed linkedinFollowDone
    linkedinFollowFailed linkedinFollowSkipped linkedinInviteDone linkedinInviteFailed
    linkedinInviteAccepted linkedinEndorseDone linkedinEndorseFailed linkedinEndorseSkipped
    linkedinVoiceNoteDone linkedinVoiceNoteFailed linkedinLikeLastPostDone linkedinLikeLastPostNoPost
    linkedinLikeLastPostFailed linkedinWithdrawInvitationDone linkedinWithdrawInvitationFailed
    whatsappMessageSent whatsappMessageDelivered whatsappMessageOpened whatsappReplied
    whatsappMessageFailed smsSent smsDelivered smsReplied smsFailed aircallCreated aircallEnded
    aircallDone aircallInterested aircallNotInterested apiDone apiInterested apiNotInterested apiFailed
    manualInterested manualNotInterested paused resumed stopped campaignComplete customDomainErrors
    connectionIssue sendLimitReached lemwarmPaused annotated enrichmentDone enrichmentError
    callRecordingDone callTranscriptDone inboxLabelUpdated signalRegistered
    deliverabilityAlertTriggered"""
HOOK_TYPES = frozenset(_HOOK_TYPE_NAMES.split())


def new_store(state: SandboxState) -> LemlistStore:
    return LemlistStore(state)


def _store(call: Call) -> LemlistStore:
    """The store, with every enrichment whose time is up already settled."""
    store: LemlistStore = call.store
    store.settle_due()
    return store


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


def _json(status: int, body: Any) -> Response:
    return JSONResponse(body, status_code=status)


def _requested(query: Mapping[str, str]) -> tuple[Workflow, ...]:
    return tuple(w for w in WORKFLOWS if query.get(FLAG_OF[w], "").lower() in ("true", "1"))


def _inputs(source: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: value.strip()
        for name in INPUT_FIELDS
        if isinstance(value := source.get(name), str) and value.strip()
    }


def _webhook(query: Mapping[str, str]) -> tuple[bool, str | None]:
    """(valid, url): an absent or empty webhookUrl is valid and means none."""
    url = query.get("webhookUrl") or None
    return url is None or is_webhook_url(url), url


# ---------------------------------------------------------------------------- single enrich


async def enrich(call: Call) -> Response:
    """POST /enrich (providers.md 1.3)."""
    store = _store(call)
    workflows = _requested(call.query)
    if not workflows:
        return _text(400, NO_ENRICHMENT_REQUESTED)
    valid, webhook_url = _webhook(call.query)
    if not valid:
        return _text(400, INVALID_WEBHOOK)
    inputs = _inputs(call.query)
    if first_missing_input(workflows, inputs) is not None:
        return _text(400, BAD_REQUEST)
    enrichment = store.submit(workflows, inputs, call.key, webhook_url=webhook_url)
    return _json(200, {"id": enrichment.enrichment_id})


async def enrich_lead(call: Call) -> Response:
    """POST /leads/{leadId}/enrich (providers.md 1.4)."""
    store = _store(call)
    lead_id = call.request.path_params["leadId"]
    if not LEAD_ID.fullmatch(lead_id):
        return _text(400, BAD_TEAM)
    workflows = _requested(call.query)
    if not workflows:
        return _text(400, NO_ENRICHMENT_REQUESTED)
    valid, webhook_url = _webhook(call.query)
    if not valid:
        return _text(400, INVALID_WEBHOOK)
    lead = store.leads.get(lead_id)
    if lead is None:
        return _json(404, {"error": "Lead not found", "code": "LEAD_NOT_FOUND"})
    if not lead.has_contact:
        return _json(404, {"error": "Contact not found for this lead", "code": "CONTACT_NOT_FOUND"})
    if lead.kind == "broken":  # a lead whose contact record is corrupt: the documented 500
        return _json(500, {"error": "Failed to enrich lead"})
    if lead.running is not None:  # no parallel runs, no double billing; force does not help
        return _json(409, {"error": "lead is already being enriched"})
    if first_missing_input(workflows, lead.inputs) is not None:
        return _text(400, BAD_REQUEST)
    force = call.query.get("force", "").lower() in ("true", "1")
    to_run = runnable(lead, workflows, force)
    if not to_run:
        return _json(409, {"error": ALREADY_ENRICHED, "code": "ALREADY_ENRICHED"})
    enrichment = store.submit(to_run, lead.inputs, call.key, webhook_url=webhook_url, lead=lead)
    return _json(200, {"id": enrichment.enrichment_id})


# ------------------------------------------------------------------------------------ bulk


async def bulk_enrich(call: Call) -> Response:
    """POST /v2/enrichments/bulk (providers.md 1.5): per-item results, same order and length."""
    store = _store(call)
    is_json, items = await call.json_body()
    if not is_json or not isinstance(items, list):
        return _json(400, {"error": "WRONG_BODY_FORMAT"})
    if not items:
        return _json(400, {"error": "NO_ENRICHMENTS_REQUESTED"})
    if len(items) > BULK_MAX:
        return _json(400, {"error": "TOO_MANY_ENRICHMENTS_REQUESTED"})
    valid, webhook_url = _webhook(call.query)
    if not valid:  # undocumented for bulk: ASSUMPTION, a JSON code like the other bulk errors
        return _json(400, {"error": "INVALID_WEBHOOK_URL"})
    return _json(200, [_bulk_item(store, item, call.key, webhook_url) for item in items])


def _bulk_item(store: LemlistStore, item: Any, key: str, webhook_url: str | None) -> dict[str, Any]:
    metadata = item.get("metadata", ABSENT) if isinstance(item, dict) else ABSENT
    code, workflows, inputs = _check_item(item)
    if code is not None:
        answer: dict[str, Any] = {"error": code}
    else:
        enrichment = store.submit(
            workflows, inputs, key, webhook_url=webhook_url, metadata=metadata
        )
        answer = {"id": enrichment.enrichment_id}
    if metadata is not ABSENT:
        answer["metadata"] = metadata
    return answer


def _check_item(item: Any) -> tuple[str | None, tuple[Workflow, ...], dict[str, str]]:
    """(error code or None, workflows in canonical order, inputs) for one bulk request object."""
    if not isinstance(item, dict):
        return "WRONG_INPUT_FORMAT", (), {}
    if not isinstance(item.get("metadata"), str | dict | None):
        return "WRONG_METADATA_FORMAT", (), {}
    requests = item.get("enrichmentRequests")
    if not isinstance(requests, list) or not all(isinstance(r, str) for r in requests):
        return "WRONG_ENRICHMENT_REQUEST_FORMAT", (), {}
    if not requests:
        return "NO_WORKFLOW_REQUESTED", (), {}
    if any(r not in WORKFLOWS for r in requests):
        return "UNAUTHORIZED_WORKFLOW_REQUESTED", (), {}
    raw = item.get("input")
    inputs = _inputs(raw) if isinstance(raw, dict) else {}
    typed = isinstance(raw, dict) and all(isinstance(raw.get(n, ""), str) for n in INPUT_FIELDS)
    if not inputs or not typed:
        return "WRONG_INPUT_FORMAT", (), {}
    in_request_order: list[Workflow] = [w for r in requests for w in WORKFLOWS if w == r]
    code = first_missing_input(in_request_order, inputs)
    return code, tuple(w for w in WORKFLOWS if w in requests), inputs


# ---------------------------------------------------------------------------------- polling


async def enrichment_result(call: Call) -> Response:
    """GET /enrich/{enrichId} (providers.md 1.6): 202 in progress, 200 done, 404 not found."""
    store = _store(call)
    enrichment_id = call.request.path_params["enrichId"]
    enrichment = store.enrichments.get(enrichment_id)
    if enrichment is None:
        body = {
            "enrichmentId": enrichment_id,
            "enrichmentStatus": "not-found",
            "error": "Enrichment not found",
            "data": {},
        }
        return _json(404, body)
    head = {"enrichmentId": enrichment_id}
    if enrichment.outcome is None:
        in_progress = {"enrichmentStatus": "in-progress", "input": input_echo(enrichment)}
        return _json(202, {**head, **in_progress, "data": {}})
    done = {**head, "enrichmentStatus": "done", "input": input_echo(enrichment)}
    done["data"] = result_data(enrichment)
    # ASSUMPTION: how a failed/unpaid run shows here. The documented shape has no such key: the
    # failure shows only as not found here and as the enrichmentError webhook (1.6, 1.7 d).
    if enrichment.outcome.error is not None and not enrichment.documented:
        done["error"] = enrichment.outcome.error
    return _json(200, done)


# ---------------------------------------------------------------------------- team, hooks


async def team_credits(call: Call) -> Response:
    """GET /team/credits (providers.md 1.9); the sandbox keeps the whole pool as subscription."""
    balance = _store(call).state.wallets["lemlist"].balance
    remaining = {"total": balance, "freemium": 0, "subscription": balance, "gifted": 0, "paid": 0}
    return _json(200, {"credits": balance, "details": {"remaining": remaining}})


async def list_hooks(call: Call) -> Response:
    return _json(200, [hook.wire() for hook in _store(call).hooks.values()])


async def add_hook(call: Call) -> Response:
    """POST /hooks {targetUrl, type?, secret?}; no type means every event."""
    store = _store(call)
    is_json, body = await call.json_body()
    if not is_json or not isinstance(body, dict):
        return _text(400, BAD_REQUEST)
    target, event, secret = body.get("targetUrl"), body.get("type"), body.get("secret")
    if not isinstance(target, str) or not is_webhook_url(target):
        return _text(400, "Invalid targetUrl: expected an absolute http(s) URL")
    if event is not None and event not in HOOK_TYPES:
        return _text(400, f"Invalid webhook type: {event}")
    if secret is not None and not isinstance(secret, str):
        return _text(400, BAD_REQUEST)
    return _json(200, store.add_hook(target, event, secret).wire())


async def get_hook(call: Call) -> Response:
    hook = _store(call).hooks.get(call.request.path_params["hookId"])
    return _json(200, hook.wire()) if hook else _json(404, {"error": "Hook not found"})


async def delete_hook(call: Call) -> Response:
    hook = _store(call).hooks.pop(call.request.path_params["hookId"], None)
    return _json(200, hook.wire()) if hook else _json(404, {"error": "Hook not found"})


# ----------------------------------------------------------------------------------- routes


def _method_not_allowed(path: str, allowed: tuple[str, ...]) -> Route:
    """lemlist answers a wrong method with an empty 405 (providers.md 1.10), not Starlette's text."""

    async def refuse(request: Request) -> Response:
        return Response(status_code=405, headers={"Allow": ", ".join(allowed)})

    others = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m not in allowed]
    return Route(path, refuse, methods=others, name=f"lemlist:405 {path}")


_ALLOWED: dict[str, tuple[str, ...]] = {
    "/enrich": ("POST",),
    "/enrich/{enrichId}": ("GET",),
    "/leads/{leadId}/enrich": ("POST",),
    "/v2/enrichments/bulk": ("POST",),
    "/team/credits": ("GET",),
    "/hooks": ("GET", "POST"),
    "/hooks/{hookId}": ("GET", "DELETE"),
}

ROUTES: list[BaseRoute] = [
    endpoint(LEMLIST, "POST", "/enrich", enrich),
    endpoint(LEMLIST, "GET", "/enrich/{enrichId}", enrichment_result),
    endpoint(LEMLIST, "POST", "/leads/{leadId}/enrich", enrich_lead),
    endpoint(LEMLIST, "POST", "/v2/enrichments/bulk", bulk_enrich),
    endpoint(LEMLIST, "GET", "/team/credits", team_credits),
    endpoint(LEMLIST, "GET", "/hooks", list_hooks),
    endpoint(LEMLIST, "POST", "/hooks", add_hook),
    endpoint(LEMLIST, "GET", "/hooks/{hookId}", get_hook),
    endpoint(LEMLIST, "DELETE", "/hooks/{hookId}", delete_hook),
    *(_method_not_allowed(path, allowed) for path, allowed in _ALLOWED.items()),
]
