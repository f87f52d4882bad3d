"""The sandbox ASGI app: all three providers on one port, each under its own prefix."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from enrich_pipeline.sandbox import admin
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.providers import enrichso, lemlist, thehog
from enrich_pipeline.sandbox.state import SandboxState

# Base URLs a client uses: http://HOST:PORT + prefix.
PREFIXES = {"lemlist": "/lemlist/api", "enrichso": "/enrichso/api/v3", "thehog": "/thehog"}


class KeepRawSend:
    """Remembers the server's own `send` so a 'drop' fault can reach the connection's transport."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["sandbox.raw_send"] = send
        await self.app(scope, receive, send)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    config = config or SandboxConfig()
    state = SandboxState(
        config,
        {
            "lemlist": lemlist.new_store,
            "enrichso": enrichso.new_store,
            "thehog": thehog.new_store,
        },
    )
    app = Starlette(
        routes=[
            Mount(PREFIXES["lemlist"], routes=lemlist.ROUTES),
            Mount(PREFIXES["enrichso"], routes=enrichso.ROUTES),
            Mount(PREFIXES["thehog"], routes=thehog.ROUTES),
            Mount("/_sandbox", routes=admin.ROUTES),
        ],
    )
    app.state.sandbox = state
    return app


def serveable(app: Starlette) -> ASGIApp:
    """The app as handed to uvicorn: outermost, so `send` is still uvicorn's own bound method."""
    return KeepRawSend(app)
