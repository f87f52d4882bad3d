"""Run the sandbox with uvicorn: in the foreground (CLI) or in a background thread (tests, demo)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from enrich_pipeline.sandbox.app import PREFIXES, create_app, serveable
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.faults import FaultRule
from enrich_pipeline.sandbox.state import SandboxState


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxServer:
    """A live sandbox on localhost. Use as a context manager or call start()/stop()."""

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port or free_port(host)
        self.app = create_app(self.config)
        self._server = uvicorn.Server(
            uvicorn.Config(
                serveable(self.app),
                host=host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=1,
                timeout_keep_alive=30,
            )
        )
        self._thread: threading.Thread | None = None
        self._admin_client: httpx.Client | None = None
        self._admin_lock = threading.Lock()

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str) -> str:
        return self.url + PREFIXES[provider]

    def start(self, timeout_s: float = 10.0) -> SandboxServer:
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._admin_lock:
            if self._admin_client is not None:
                self._admin_client.close()
                self._admin_client = None

    def reset(self) -> None:
        """Reset through the admin route, so it runs on the server's event loop (webhook tasks live there)."""
        self.admin("POST", "reset")

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._admin().request(method, f"/_sandbox/{path.lstrip('/')}", **kwargs)
        response.raise_for_status()
        return response.json()

    def _admin(self) -> httpx.Client:
        """One client for every admin call: a new httpx client builds its SSL context (~30 ms of
        CPU, for a plain-HTTP call), and tests make thousands of these calls. No keep-alive: each
        call opens its own localhost connection, so none goes stale between calls."""
        with self._admin_lock:
            if self._admin_client is None:
                self._admin_client = httpx.Client(
                    base_url=self.url, limits=httpx.Limits(max_keepalive_connections=0)
                )
            return self._admin_client

    def settle_webhooks(self, timeout_s: float = 5.0) -> None:
        """Wait (bounded) until no webhook delivery is in flight: the sandbox counts a delivery only
        once the receiver's answer is back."""
        deadline = time.monotonic() + timeout_s
        while self.state.webhooks.pending and time.monotonic() < deadline:
            time.sleep(0.005)

    def counters(self) -> dict[str, Any]:
        return self.admin("GET", "counters")  # type: ignore[no-any-return]

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_sandbox(config: SandboxConfig | None = None) -> Iterator[SandboxServer]:
    with SandboxServer(config) as server:
        yield server


def serve_forever(
    config: SandboxConfig, host: str, port: int, faults: list[FaultRule] | None = None
) -> None:
    app = create_app(config)
    for rule in faults or []:
        app.state.sandbox.faults.add(rule)
    server = uvicorn.Server(
        uvicorn.Config(serveable(app), host=host, port=port, log_level="info", lifespan="off")
    )
    asyncio.run(server.serve())
