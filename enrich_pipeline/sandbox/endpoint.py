"""Sandbox mode: when a provider's API key is absent, its client talks to the local sandbox.

One switch per provider, decided by the presence of its key in the environment. The sandbox is
started on demand (once per process, on a free local port) unless ENRICH_SANDBOX_URL points at one
that is already running (e.g. `make sandbox`).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from enrich_pipeline.sandbox.app import PREFIXES
from enrich_pipeline.sandbox.config import SandboxConfig

log = logging.getLogger("enrich_pipeline.providers")

SANDBOX_CREDENTIALS = SandboxConfig()  # the default credentials the sandbox accepts


@dataclass(frozen=True)
class SandboxEndpoint:
    url: str
    speed: float

    def base_url(self, provider: str) -> str:
        return self.url.rstrip("/") + PREFIXES[provider]


_lock = threading.Lock()
_endpoint: SandboxEndpoint | None = None
_announced: set[str] = set()
_server: object | None = None  # keeps the embedded server alive for the life of the process


def sandbox_endpoint() -> SandboxEndpoint:
    """The sandbox to use: ENRICH_SANDBOX_URL if set, else one embedded server for this process."""
    global _endpoint, _server
    with _lock:
        if _endpoint is None:
            speed = float(
                os.environ.get("ENRICH_SANDBOX_SPEED", os.environ.get("SANDBOX_SPEED", "1"))
            )
            external = os.environ.get("ENRICH_SANDBOX_URL")
            if external:
                _endpoint = SandboxEndpoint(external, speed)
            else:
                from enrich_pipeline.sandbox.server import SandboxServer

                server = SandboxServer(SandboxConfig.from_env(speed=speed)).start()
                _server = server
                _endpoint = SandboxEndpoint(server.url, speed)
        return _endpoint


def announce_sandbox(provider: str, env_vars: str, endpoint: SandboxEndpoint) -> None:
    """Say once per provider and process that it runs against the sandbox, and how to switch."""
    with _lock:
        if provider in _announced:
            return
        _announced.add(provider)
    log.warning(
        "%s: no API key (%s unset), using the local sandbox at %s — set %s for real-key mode",
        provider,
        env_vars,
        endpoint.base_url(provider),
        env_vars,
    )


def forget_sandbox_endpoint() -> None:
    """Drop the cached endpoint (tests that point ENRICH_SANDBOX_URL at their own sandbox)."""
    global _endpoint
    with _lock:
        _endpoint = None
        _announced.clear()
