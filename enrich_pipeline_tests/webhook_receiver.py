"""A local HTTP endpoint that records webhook deliveries, so tests can await them (no sleeps)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []  # {"path", "headers", "body"}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                with receiver._cond:
                    receiver.deliveries.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least `count` deliveries arrived; raise if they do not within timeout_s."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.deliveries) >= count, timeout_s):
                raise AssertionError(
                    f"expected {count} webhook deliveries, got {len(self.deliveries)}"
                )
            return list(self.deliveries)

    def bodies(self) -> list[Any]:
        with self._cond:
            return [d["body"] for d in self.deliveries]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
