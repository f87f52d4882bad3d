"""`enrich-pipeline webhooks`: the long-lived webhook receiver (deliveries -> ledger before 2xx)."""

from __future__ import annotations

import argparse

from enrich_pipeline.settings import settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks = sub.add_parser(
        "webhooks",
        help="receive provider webhooks into the ledger (point ENRICH_WEBHOOK_URL at it)",
    )
    webhooks.add_argument("--host", default="127.0.0.1")
    webhooks.add_argument("--port", type=int, default=8710)


def run_webhooks(args: argparse.Namespace) -> int:
    from enrich_pipeline.webhooks.receiver import WEBHOOK_PROVIDERS, WebhookReceiver

    config = settings()
    receiver = WebhookReceiver(config.ledger_location, args.host, args.port)
    paths = ", ".join(f"{receiver.url}/{p}" for p in sorted(WEBHOOK_PROVIDERS))
    print(f"webhooks: receiving on {paths}; deliveries go to {receiver.ledger.where}", flush=True)
    if not config.webhook_url:
        print(
            "webhooks: ENRICH_WEBHOOK_URL is not set, so runs do not ask providers to call here; "
            f"set it to this receiver's public URL (locally: {receiver.url})",
            flush=True,
        )
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0
