"""Shared fixtures: one live sandbox per test process (fast speed, small world), reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from enrich_pipeline.providers.transport import shared_tls_context
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline_tests.webhook_receiver import WebhookReceiver

# speed 0.01: a 2 s rate window lasts 20 ms and a 5 s job 50 ms.
TEST_CONFIG = SandboxConfig(seed=7, people=1000, companies=200, speed=0.01)
# httpx builds a new SSL context (~30 ms of CPU) for every client unless given one; the tests'
# clients share the provider clients' one.
SSL_CONTEXT = shared_tls_context()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(TEST_CONFIG) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    """The live sandbox, fresh: no jobs, charges, faults or counts left by another test."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.reset()


@pytest.fixture
def lemlist_http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url("lemlist"),
        auth=("", TEST_CONFIG.lemlist_api_key),
        timeout=10,
        verify=SSL_CONTEXT,
    ) as client:
        yield client


@pytest.fixture
def enrichso_http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url("enrichso"),
        headers={"x-api-key": TEST_CONFIG.enrichso_api_key},
        timeout=10,
        verify=SSL_CONTEXT,
    ) as client:
        yield client


@pytest.fixture
def thehog_http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url("thehog"),
        headers={
            "X-Access-Key": TEST_CONFIG.thehog_access_key,
            "X-Secret-Key": TEST_CONFIG.thehog_secret_key,
        },
        timeout=10,
        verify=SSL_CONTEXT,
    ) as client:
        yield client


@pytest.fixture
def pipeline_env(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[SandboxServer]:
    """Sandbox mode for every provider resource, pointed at this test's (reset) sandbox."""
    for name in ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENRICH_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("ENRICH_SANDBOX_SPEED", str(TEST_CONFIG.speed))
    forget_sandbox_endpoint()
    yield sandbox
    forget_sandbox_endpoint()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
