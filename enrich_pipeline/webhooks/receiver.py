"""The webhook receiver: every delivery goes to the ledger before the provider gets its 2xx.

Providers POST to `<ENRICH_WEBHOOK_URL>/<provider>`. A delivery is never interpreted here: it is
stored as received (`webhook_deliveries`), so nothing a provider tells us is lost, and the runner
reads it when it needs it: to adopt a job whose submit answer was lost (a kill, a dropped
connection: lemlist's enrichmentDone/enrichmentError name the enrichment and echo the metadata we
sent, providers.md 1.7), and, for lemlist, as the answer itself (webhook-first collection,
providers/lemlist/deliveries.py: only enrichments without a delivery after ENRICH_WEBHOOK_GRACE_S
are polled). Run it as its own long-lived process (`enrich-pipeline webhooks`), so that deliveries
for a run that died still land.

Neither provider signs its webhooks (lemlist echoes an optional shared secret in the body, enrich.so
sends nothing): use an unguessable URL. A lemlist delivery is taken as an answer only when it names
an enrichment id we were given at submit (`enr_` + 17 random characters), which a stranger cannot
guess; an enrich.so callback is only a hint, its answer is fetched with our own key.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from enrich_pipeline.spend.ledger import Ledger

log = logging.getLogger("enrich_pipeline.webhooks")

# Providers that send webhooks for enrichment (The Hog has none: providers.md 3.1).
WEBHOOK_PROVIDERS = frozenset({"lemlist", "enrichso"})
MAX_BODY_BYTES = 10 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    # Providers send bursts (enrich.so: one POST per item of a batch): http.server's default
    # backlog of 5 refuses most of a burst, and no provider documents retries.
    request_queue_size = 1024
    daemon_threads = True


def webhook_url(base: str | None, provider: str) -> str | None:
    """Where `provider` should POST its webhooks, or None (no receiver, or a provider without)."""
    if base is None or provider not in WEBHOOK_PROVIDERS:
        return None
    return f"{base.rstrip('/')}/{provider}"


class WebhookReceiver:
    """An HTTP server (its own threads) writing each delivery to the ledger at `ledger` (a SQLite
    file or a Postgres URL)."""

    def __init__(self, ledger: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ledger = Ledger(ledger)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # A burst of deliveries (one POST per finished enrichment) must be taken fast: with
            # Nagle on, the header and body writes of each answer wait out the client's delayed
            # ACK (~40 ms), and a 500-enrichment burst overran the sender's 5 s timeout. Keep-alive
            # (HTTP/1.1) spares a connection per delivery.
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"
            timeout = 60  # an idle kept-alive connection lets its thread go after this

            def do_POST(self) -> None:
                provider = self.path.strip("/").split("/")[0].split("?")[0]
                if provider not in WEBHOOK_PROVIDERS:
                    self._answer(404, {"error": f"no webhooks for {provider!r}"})
                    return
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(413, {"error": "body too large"})
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self._answer(400, {"error": "body is not JSON"})
                    return
                receiver.ledger.record_delivery(provider, body)  # stored before the 2xx
                self._answer(200, {"received": True})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                if status >= 300:  # the body may be unread: this connection cannot be reused
                    self.close_connection = True
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if self.close_connection:
                    self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("webhook %s", format % args)  # never the body: it holds personal data

        self._server = _Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WebhookReceiver:
        # A short poll interval: stop() (shutdown) returns within 50 ms instead of 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.ledger.close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
