"""Fixtures of the webhook-first collection tests: the real receiver (a thread on a free port)
writing to the ledger file the runner reads. Imported by the test modules that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.webhooks.receiver import WebhookReceiver


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite"


@pytest.fixture
def receiver(ledger_path: Path) -> Iterator[WebhookReceiver]:
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with WebhookReceiver(ledger_path) as receiver:
        yield receiver


@pytest.fixture
def ledger(ledger_path: Path, receiver: WebhookReceiver) -> Iterator[Ledger]:
    ledger = Ledger(ledger_path)
    yield ledger
    ledger.close()
