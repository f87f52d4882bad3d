"""The sandbox's own control surface under /_sandbox/: counters, faults, credits, reset, truth."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from enrich_pipeline.sandbox.faults import FaultRule
from enrich_pipeline.sandbox.state import SandboxState
from enrich_pipeline.sandbox.world import PROVIDERS


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


async def _body(request: Request) -> Any:
    raw = await request.body()
    return None if not raw else __import__("json").loads(raw)


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


async def health(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {
            "status": "ok",
            "providers": list(PROVIDERS),
            "seed": state.config.seed,
            "people": len(state.world.people),
            "companies": len(state.world.companies),
            "speed": state.config.speed,
            "world_fingerprint": state.world.fingerprint(),
        }
    )


async def counters(request: Request) -> Response:
    return JSONResponse(_state(request).counters.snapshot())


async def reset(request: Request) -> Response:
    _state(request).reset()
    return JSONResponse({"status": "reset"})


async def faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear(request.query_params.get("provider"))
    elif request.method == "POST":
        try:
            body = await _body(request)
            rules = [
                FaultRule.model_validate(r) for r in (body if isinstance(body, list) else [body])
            ]
        except (ValidationError, ValueError) as exc:
            return _bad(f"invalid fault rule: {exc}")
        added = [state.faults.add(rule).model_dump() for rule in rules]
        return JSONResponse({"added": added}, status_code=201)
    return JSONResponse({"faults": [r.model_dump() for r in state.faults.active()]})


class CreditsUpdate(BaseModel):
    provider: str
    balance: int


async def credits(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        try:
            update = CreditsUpdate.model_validate(await _body(request))
        except (ValidationError, ValueError) as exc:
            return _bad(f"expected {{provider, balance}}: {exc}")
        if update.provider not in state.wallets:
            return _bad(f"unknown provider {update.provider!r}; one of {', '.join(PROVIDERS)}")
        state.wallets[update.provider].set_balance(update.balance)
    return JSONResponse({p: w.balance for p, w in state.wallets.items()})


class ConfigUpdate(BaseModel):
    speed: float | None = None
    enrichso_plan: str | None = None
    lemlist_out_of_credits: str | None = None
    enrichso_shape: str | None = None
    shape: str | None = None
    enrichso_page_cap: int | None = None  # cleared by /_sandbox/reset


async def config(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        try:
            update = ConfigUpdate.model_validate(await _body(request))
            changes = update.model_dump(exclude_none=True)
            speed = changes.pop("speed", None)
            state.config = type(state.config).model_validate(
                {**state.config.model_dump(), **changes}
            )
            if speed is not None:
                state.set_speed(speed)
        except (ValidationError, ValueError) as exc:
            return _bad(f"invalid config update: {exc}")
    public = state.config.model_dump()
    for secret in (
        "lemlist_api_key",
        "enrichso_api_key",
        "thehog_secret_key",
        "thehog_access_key",
        "thehog_legacy_api_key",
    ):
        public.pop(secret, None)
    return JSONResponse(public)


async def truth(request: Request) -> Response:
    return JSONResponse(_state(request).world.truth())


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/counters", counters, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/credits", credits, methods=["GET", "POST"]),
    Route("/config", config, methods=["GET", "POST"]),
    Route("/truth", truth, methods=["GET"]),
]
