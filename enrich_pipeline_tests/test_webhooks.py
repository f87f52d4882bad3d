"""The webhook receiver stores each delivery in the ledger before it answers, and lemlist's
adoption reads them: documented examples and the documented-minimal shape (no metadata echo)."""

from __future__ import annotations

from pathlib import Path

import httpx

from enrich_pipeline.model import EnrichmentRequest, WantedField
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.webhooks.receiver import WebhookReceiver, webhook_url

# providers.md 1.7: the documented enrichmentDone example, with the bulk metadata echo
# (ASSUMPTION (b)) carrying our person_key.
DONE = {
    "type": "enrichmentDone",
    "data": [
        {
            "id": "enr_Q3vT8kLmN2pXw7RzA",
            "metadata": "li:/in/lina-okafor",
            "data": {
                "find_email": {"email": "lina.okafor@northwind-labs.io", "status": "deliverable"}
            },
        }
    ],
}
LINA = EnrichmentRequest(
    person_key="li:/in/lina-okafor",
    linkedin_url="https://www.linkedin.com/in/lina-okafor",
    fields=frozenset({WantedField.EMAIL}),
)


def test_a_delivery_is_in_the_ledger_before_the_provider_gets_its_2xx(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with WebhookReceiver(path) as receiver:
        answer = httpx.post(f"{receiver.url}/lemlist", json=DONE, timeout=5)
        assert answer.status_code == 200
        ledger = Ledger(path)
        try:
            assert ledger.deliveries("lemlist", since="") == [DONE]
        finally:
            ledger.close()
        assert httpx.post(f"{receiver.url}/thehog", json={}, timeout=5).status_code == 404
        bad = httpx.post(f"{receiver.url}/enrichso", content=b"{not json", timeout=5).status_code
        assert bad == 400


def test_webhook_urls_go_only_to_providers_that_send_webhooks() -> None:
    assert webhook_url("https://hooks.example.test/x/", "lemlist") == (
        "https://hooks.example.test/x/lemlist"
    )
    assert webhook_url("https://hooks.example.test", "thehog") is None  # The Hog has none
    assert webhook_url(None, "lemlist") is None


def test_lemlist_adopts_the_enrichment_a_delivery_names_by_our_metadata() -> None:
    client = LemlistClient.create("unused-key", base_url="http://127.0.0.1:9")
    try:
        [adopted] = client.adopt([LINA], [DONE])
        assert (adopted.person_key, adopted.provider_ref, adopted.error) == (
            "li:/in/lina-okafor",
            "enr_Q3vT8kLmN2pXw7RzA",
            None,
        )
        # Documented-minimal shape: no metadata echo. The delivery names nobody we can prove, so
        # nobody is adopted (the person stays unknown instead of being guessed).
        minimal = {"type": "enrichmentDone", "data": [{"id": "enr_Q3vT8kLmN2pXw7RzA"}]}
        assert client.adopt([LINA], [minimal]) == []
        # Someone else's enrichment is never adopted for Lina.
        other = {"type": "enrichmentDone", "data": [{"id": "enr_x", "metadata": "li:/in/other"}]}
        assert client.adopt([LINA], [other]) == []
    finally:
        client.close()
