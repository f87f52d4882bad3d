"""The webhook receiver stores each delivery in the ledger before it answers, and lemlist's
adoption reads them: documented examples and the documented-minimal shape (no metadata echo)."""

from __future__ import annotations

from pathlib import Path

import httpx

from enrich_pipeline.model import EnrichmentRequest, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient
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


# providers.md 2.9: the documented finder callbacks (one per result, then the completion tally).
FINDER_RESULT = {
    "event": "webhook:finder_lookup.completed",
    "timestamp": "2026-03-02T10:21:07.000Z",
    "data": {
        "job_id": "6f1c2a9e4b7d3c0012ab3600",
        "result_id": "lina.okafor@northwind-labs.io",
        "result": {"email": "lina.okafor@northwind-labs.io", "result": "found"},
    },
}
FINDER_DONE = {
    "event": "finder.completed",
    "timestamp": "2026-03-02T10:21:30.000Z",
    "data": {"job_id": "6f1c2a9e4b7d3c0012ab3600", "status": "completed", "total_items": 1},
}
LINA_FINDER = EnrichmentRequest(
    person_key="li:/in/lina-okafor",
    first_name="Lina",
    last_name="Okafor",
    company_domain="northwind-labs.io",
    fields=frozenset({WantedField.EMAIL}),
)


def test_enrichso_adopts_a_batch_its_callbacks_name_and_never_one_already_known() -> None:
    client = EnrichsoClient.create("sk_unused", base_url="http://127.0.0.1:9")
    try:
        [adopted] = client.adopt([LINA_FINDER], [FINDER_RESULT, FINDER_DONE])
        assert adopted.provider_ref == "finder:6f1c2a9e4b7d3c0012ab3600"
        assert adopted.person_key == LINA_FINDER.person_key and adopted.error is None
        # The finder's result id is the found email: without the completion tally nothing proves
        # that the batch was this one, so nobody is adopted.
        assert client.adopt([LINA_FINDER], [FINDER_RESULT]) == []
        # A batch the ledger already knows belongs to another attempt.
        known = {"finder:6f1c2a9e4b7d3c0012ab3600"}
        assert client.adopt([LINA_FINDER], [FINDER_RESULT, FINDER_DONE], known_refs=known) == []
    finally:
        client.close()
