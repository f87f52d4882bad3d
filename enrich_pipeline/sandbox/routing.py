"""The request pipeline every provider route goes through: faults, auth, rate limit, handler, headers.

A provider emulator only writes handlers `async def h(call: Call) -> Response`; how a provider
authenticates, limits and formats its errors is its Dialect (see dialects.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from enrich_pipeline.sandbox.faults import REQUEST_FAULTS, FaultRule
from enrich_pipeline.sandbox.ratelimit import RateDecision, RateRule
from enrich_pipeline.sandbox.state import SandboxState
from enrich_pipeline.sandbox.world import ProviderName, World


class Dialect(Protocol):
    name: ProviderName

    def authenticate(self, request: Request, state: SandboxState, *, legacy: bool) -> str | None:
        """The credential label of a valid caller, or None."""

    def unauthorized(self, request: Request) -> Response: ...

    def rate_scope(self, key: str) -> str: ...

    def rate_rules(self, route_id: str, state: SandboxState) -> list[RateRule]: ...

    def rate_headers(self, decision: RateDecision, state: SandboxState) -> dict[str, str]: ...

    def too_many_requests(
        self, request: Request, decision: RateDecision, state: SandboxState
    ) -> Response: ...

    def server_error(self, request: Request, status: int) -> Response: ...

    def default_headers(self, request: Request) -> dict[str, str]: ...


@dataclass
class Call:
    """One authenticated request to a provider route."""

    state: SandboxState
    request: Request
    key: str  # credential label (never the secret itself)
    route_id: str
    dialect: Dialect

    @property
    def world(self) -> World:
        return self.state.world

    @property
    def provider(self) -> ProviderName:
        return self.dialect.name

    @property
    def store(self) -> Any:
        return self.state.store(self.dialect.name)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    async def json_body(self) -> tuple[bool, Any]:
        """(True, value) for a JSON body, (False, raw text) when it is not JSON."""
        raw = await self.request.body()
        try:
            return True, json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False, raw.decode("utf-8", "replace")


Handler = Callable[[Call], Awaitable[Response]]

MALFORMED_BODY = b'{"success": tru'


async def _drop_connection(request: Request) -> None:
    """Abort the TCP connection under the request (uvicorn's transport), so the client sees a reset."""
    send = request.scope.get("sandbox.raw_send")
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)


async def _hold(request: Request, seconds: float) -> None:
    """A 'timeout' fault's hold: `seconds`, or until the client hangs up. Nobody waits for the
    answer any more, so the request ends (and is counted) then, as a killed client's would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.02))


class DroppedResponse(Response):
    """Sent after the connection was aborted: uvicorn discards it; without uvicorn it is truncated."""

    def __init__(self) -> None:
        super().__init__(b"{", status_code=200, headers={"content-length": "4096"})


def endpoint(
    dialect: Dialect,
    method: str,
    path: str,
    handler: Handler,
    *,
    legacy: bool = False,
    authenticated: bool = True,
) -> Route:
    route_id = f"{method} {path}"

    async def run(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        fault = state.faults.take(dialect.name, REQUEST_FAULTS, route_id)
        response = await _before(request, state, fault, dialect)
        if response is None:
            key = dialect.authenticate(request, state, legacy=legacy) if authenticated else "-"
            if key is None:
                response = dialect.unauthorized(request)
            else:
                decision = state.limiter.check(
                    dialect.rate_scope(key), dialect.rate_rules(route_id, state)
                )
                if decision is not None and not decision.allowed:
                    response = dialect.too_many_requests(request, decision, state)
                else:
                    response = await handler(Call(state, request, key, route_id, dialect))
                if decision is not None:
                    for name, value in dialect.rate_headers(decision, state).items():
                        response.headers.setdefault(name, value)
            for name, value in dialect.default_headers(request).items():
                response.headers.setdefault(name, value)
            response = await _after(request, fault, response)
        state.counters.request(dialect.name, route_id, response.status_code)
        return response

    return Route(path, run, methods=[method], name=f"{dialect.name}:{route_id}")


async def _before(
    request: Request, state: SandboxState, fault: FaultRule | None, dialect: Dialect
) -> Response | None:
    """Faults that strike before the provider processes the request."""
    if fault is None:
        return None
    kind = fault.kind
    if kind == "slow":
        await asyncio.sleep(fault.delay_s if fault.delay_s is not None else 1.0)
        return None
    if fault.after:
        return None
    if kind == "rate_limit":
        retry = fault.retry_after_s if fault.retry_after_s is not None else 1.0
        decision = RateDecision(False, 0, 0, retry, state.config.scaled(retry), retry)
        return dialect.too_many_requests(request, decision, state)
    if kind.startswith("error_"):
        return dialect.server_error(request, int(kind.removeprefix("error_")))
    if kind == "timeout":
        await _hold(request, fault.delay_s if fault.delay_s is not None else 30.0)
        return dialect.server_error(request, 504)
    if kind == "drop":
        await _drop_connection(request)
        return DroppedResponse()
    return None


async def _after(request: Request, fault: FaultRule | None, response: Response) -> Response:
    """Faults that strike once the request was processed (a submit may have been accepted)."""
    if fault is None:
        return response
    if fault.kind == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    if fault.after and fault.kind == "timeout":
        await _hold(request, fault.delay_s if fault.delay_s is not None else 30.0)
        return response
    if fault.after and fault.kind == "drop":
        await _drop_connection(request)
        return DroppedResponse()
    return response
