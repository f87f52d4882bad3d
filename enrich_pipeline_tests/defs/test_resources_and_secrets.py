"""The sandbox/real-key switch of the resources, and proof that planted keys never leak."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import dagster as dg
import pytest

from enrich_pipeline.defs.resources import (
    EnrichsoResource,
    LemlistResource,
    ThehogResource,
    provider_resources,
)
from enrich_pipeline.mode import Mode, ModeError
from enrich_pipeline.model import EnrichmentRequest, RecordStatus, WantedField
from enrich_pipeline.providers.enrichso import client as enrichso_client
from enrich_pipeline.providers.errors import AuthenticationError, ProviderError
from enrich_pipeline.providers.lemlist import DEFAULT_BASE_URL as LEMLIST_REAL_URL
from enrich_pipeline.providers.lemlist import client as lemlist_client
from enrich_pipeline.providers.thehog import client as thehog_client
from enrich_pipeline.providers.transport import RetryPolicy
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings

# Planted credentials: distinctive strings to search every output for.
PLANTED = {
    "LEMLIST_API_KEY": "planted-lemlist-4c1e9a7b",
    "ENRICHSO_API_KEY": "sk_planted-enrichso-8d2f",
    "THEHOG_ACCESS_KEY": "ak_planted-access-5e3b",
    "THEHOG_SECRET_KEY": "sk_planted-secret-9a4c",
}
SPEED = 0.01


@pytest.fixture
def planted_sandbox() -> Iterator[SandboxServer]:
    """A sandbox that accepts only the planted credentials."""
    config = SandboxConfig(
        seed=11,
        people=300,
        companies=60,
        speed=SPEED,
        lemlist_api_key=PLANTED["LEMLIST_API_KEY"],
        enrichso_api_key=PLANTED["ENRICHSO_API_KEY"],
        thehog_access_key=PLANTED["THEHOG_ACCESS_KEY"],
        thehog_secret_key=PLANTED["THEHOG_SECRET_KEY"],
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> Iterator[SandboxServer]:
    for name in PLANTED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENRICH_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("ENRICH_SANDBOX_SPEED", str(SPEED))
    forget_sandbox_endpoint()
    yield sandbox
    forget_sandbox_endpoint()


def _known_request(server: SandboxServer, provider: str) -> tuple[EnrichmentRequest, str]:
    world = server.state.world
    for person in world.people:
        known = world.knowledge(provider, person)  # type: ignore[arg-type]
        if known.email:
            request = EnrichmentRequest(
                person_key=f"li:/in/{person.linkedin_slug}",
                linkedin_url=person.linkedin_url,
                email=person.work_email if provider == "enrichso" else None,
                first_name=person.first_name,
                last_name=person.last_name,
                company_name=person.company.name,
                company_domain=person.company.domain,
                fields=frozenset({WantedField.EMAIL}),
            )
            return request, known.email
    raise AssertionError(f"nobody known to {provider}")


def test_without_keys_every_resource_uses_the_sandbox_and_says_so_once(
    sandbox_env: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="enrich_pipeline")
    resources = {
        name: resource.process_config_and_initialize()
        for name, resource in provider_resources().items()
    }
    assert all(resource.uses_sandbox for resource in resources.values())
    request, expected_email = _known_request(sandbox_env, "lemlist")
    for _ in range(2):
        client = resources["lemlist"].get_client()
        records = client.enrich([request])
        client.close()
        assert [r.email for r in records if r.record_status is RecordStatus.FOUND] == [
            expected_email
        ]
    notices = [
        r.getMessage() for r in caplog.records if "using the local sandbox" in r.getMessage()
    ]
    assert len(notices) == 1 and "LEMLIST_API_KEY" in notices[0]


def test_a_key_in_the_environment_switches_to_real_key_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    config = Settings.from_env()
    assert config.mode is Mode.LIVE  # keys set, ENRICH_MODE unset: live
    assert config.state_dir.parts[-3:] == ("data", "live", "state")  # never the sandbox's folder
    resources = provider_resources(config)
    assert resources["lemlist"].api_key.variable == "LEMLIST_API_KEY"  # type: ignore[attr-defined]
    lemlist = resources["lemlist"].process_config_and_initialize()
    assert not lemlist.uses_sandbox
    client = lemlist.get_client()
    assert client.transport.base_url.rstrip("/") == LEMLIST_REAL_URL.rstrip("/")
    client.close()
    assert all(not r.process_config_and_initialize().uses_sandbox for r in resources.values())


@pytest.mark.parametrize(
    ("env", "says"),
    [
        # a half-set pair is refused in every mode: it used to write synthetic contacts silently
        ({"THEHOG_ACCESS_KEY": "ak_x"}, "THEHOG_ACCESS_KEY is set but THEHOG_SECRET_KEY is not"),
        (
            {"THEHOG_SECRET_KEY": "sk_x", "ENRICH_MODE": "sandbox"},
            "THEHOG_SECRET_KEY is set but THEHOG_ACCESS_KEY is not",
        ),
        # live: every provider of the waterfall needs its key, named
        ({"LEMLIST_API_KEY": "k"}, "thehog needs THEHOG_ACCESS_KEY and THEHOG_SECRET_KEY"),
        ({"ENRICH_MODE": "live", "ENRICH_PROVIDER_ORDER": "enrichso"}, "needs ENRICHSO_API_KEY"),
        ({"ENRICH_MODE": "staging"}, "choose sandbox or live"),
    ],
)
def test_an_unsafe_key_setup_is_refused_naming_the_variable(env: dict[str, str], says: str) -> None:
    with pytest.raises(ModeError, match=says):
        Settings.from_env(env)


def test_sandbox_mode_ignores_keys_and_live_mode_needs_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = {"LEMLIST_API_KEY": "k", "ENRICH_PROVIDER_ORDER": "lemlist"}
    assert Settings.from_env({**keys, "ENRICH_MODE": "sandbox"}).mode is Mode.SANDBOX
    assert Settings.from_env(keys).mode is Mode.LIVE
    assert Settings.from_env({}).mode is Mode.SANDBOX
    for name in PLANTED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEMLIST_API_KEY", "k")
    assert LemlistResource(api_key=dg.EnvVar("LEMLIST_API_KEY"), mode="sandbox").uses_sandbox
    monkeypatch.delenv("LEMLIST_API_KEY")
    with pytest.raises(ModeError, match="live mode needs LEMLIST_API_KEY"):
        LemlistResource(mode="live").get_client()
    monkeypatch.setenv("THEHOG_ACCESS_KEY", "ak_only")
    with pytest.raises(ModeError, match="must be set together"):
        ThehogResource(access_key=dg.EnvVar("THEHOG_ACCESS_KEY"), mode="live").get_client()


def test_live_base_urls_and_the_enrichso_plan_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {**PLANTED, "ENRICHSO_PLAN": "free"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEMLIST_BASE_URL", "https://proxy.example.test/lemlist/api")
    config = Settings.from_env()
    resources = provider_resources(config)
    lemlist = resources["lemlist"].process_config_and_initialize().get_client()
    assert lemlist.transport.base_url == "https://proxy.example.test/lemlist/api"
    lemlist.close()
    assert resources["enrichso"].plan == "free"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="ENRICHSO_PLAN must be one of"):
        Settings.from_env({"ENRICHSO_PLAN": "platinum"})


def test_an_envvar_is_read_where_the_client_is_made_and_its_name_is_never_sent_as_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEMLIST_API_KEY", raising=False)
    resource = LemlistResource(api_key=dg.EnvVar("LEMLIST_API_KEY"), mode="live")
    with pytest.raises(ModeError, match="live mode needs LEMLIST_API_KEY"):
        resource.get_client()  # uninitialised and the variable unset: refused, never the name
    monkeypatch.setenv("LEMLIST_API_KEY", "lk_from_the_environment")
    client = resource.get_client()
    sent = next(client.transport.auth.auth_flow(client.transport.client.build_request("GET", "/")))  # type: ignore[union-attr]
    assert (
        sent.headers["authorization"]
        == "Basic " + base64.b64encode(b":lk_from_the_environment").decode()
    )
    client.close()


def test_planted_keys_never_reach_logs_errors_or_reprs(
    planted_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    # Real-key clients wait at the real pace (3-5 s between polls, 0.5 s and up between retries);
    # the sandbox at SPEED answers in milliseconds, so only those waits are scaled to match.
    monkeypatch.setattr(lemlist_client, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(thehog_client, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(enrichso_client, "POLL_INTERVAL_S", 0.02)
    evidence: list[str] = []
    resources = {
        "lemlist": LemlistResource(
            api_key=dg.EnvVar("LEMLIST_API_KEY"), base_url=planted_sandbox.base_url("lemlist")
        ),
        "enrichso": EnrichsoResource(
            api_key=dg.EnvVar("ENRICHSO_API_KEY"), base_url=planted_sandbox.base_url("enrichso")
        ),
        "thehog": ThehogResource(
            access_key=dg.EnvVar("THEHOG_ACCESS_KEY"),
            secret_key=dg.EnvVar("THEHOG_SECRET_KEY"),
            base_url=planted_sandbox.base_url("thehog"),
        ),
    }
    for name, unresolved in resources.items():
        resource = unresolved.process_config_and_initialize()
        evidence += [repr(unresolved), str(unresolved), repr(resource), str(resource)]
        client = resource.get_client()
        client.transport.retry = RetryPolicy.for_speed(SPEED)
        evidence += [repr(client), repr(client.transport), repr(client.transport.client)]
        request, expected = _known_request(planted_sandbox, name)
        records = client.enrich([request], timeout_s=30)
        assert any(r.email == expected for r in records), f"{name}: planted keys were not used"
        evidence += [repr(r) for r in records]
        # failures: every poll answers 503 for a while, then a refused key
        planted_sandbox.admin(
            "POST", "faults", json={"provider": name, "kind": "error_503", "count": 3}
        )
        try:
            client.enrich([request], timeout_s=5)
        except ProviderError as exc:
            evidence += [str(exc), repr(exc)]
        client.close()
    monkeypatch.setenv("LEMLIST_API_KEY", "wrong-key-0000")
    wrong = LemlistResource(
        api_key=dg.EnvVar("LEMLIST_API_KEY"), base_url=planted_sandbox.base_url("lemlist")
    )
    with pytest.raises(AuthenticationError, match="LEMLIST_API_KEY") as refused:
        wrong.get_client().credits_remaining()
    evidence += [str(refused.value), repr(refused.value)]

    captured = capsys.readouterr()
    evidence += [caplog.text, captured.out, captured.err]
    blob = "\n".join(evidence)
    assert "HTTP Request" in caplog.text, "httpx request logs were captured (the test saw traffic)"
    for value in [*PLANTED.values(), "wrong-key-0000"]:
        assert value not in blob
        assert base64.b64encode(f":{value}".encode()).decode() not in blob
