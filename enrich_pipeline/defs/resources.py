"""Dagster resources that hand out provider clients.

Keys come from environment variables only (`EnvVar`), so the Dagster UI shows the variable's name,
never its value. The mode (mode.py, ENRICH_MODE) decides sandbox or live for all three at once: in
sandbox mode keys are ignored; in live mode a missing key is an error naming its variable.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

import dagster as dg
from pydantic import Field

from enrich_pipeline.mode import BASE_URL_VARS, KEY_VARS, Mode, ModeError
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.thehog import ThehogClient
from enrich_pipeline.settings import Settings, settings

if TYPE_CHECKING:
    from enrich_pipeline.sandbox.config import SandboxConfig
    from enrich_pipeline.sandbox.endpoint import SandboxEndpoint


def _sandbox(provider: str, env_vars: str) -> tuple[SandboxEndpoint, SandboxConfig]:
    """Sandbox mode: the endpoint and the credentials it accepts. The emulator is imported here and
    only here, so the live path (every key set) never loads it."""
    from enrich_pipeline.sandbox.endpoint import (
        SANDBOX_CREDENTIALS,
        announce_sandbox,
        sandbox_endpoint,
    )

    endpoint = sandbox_endpoint()
    announce_sandbox(provider, env_vars, endpoint)
    return endpoint, SANDBOX_CREDENTIALS


class _ProviderResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    base_url: str | None = Field(
        default=None, description="Override the API base URL (default: the provider's real API)."
    )
    timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")
    mode: str | None = Field(
        default=None,
        description="sandbox | live (ENRICH_MODE, resolved by settings); unset: live when the "
        "key is set.",
    )

    provider: ClassVar[str]

    def _credentials(self) -> tuple[str, ...] | None:
        """The key(s) when every one of them is set, else None."""
        raise NotImplementedError

    def _resolved(self) -> Mode:
        if self.mode is not None:
            return Mode(self.mode)
        return Mode.LIVE if self._credentials() else Mode.SANDBOX

    @property
    def uses_sandbox(self) -> bool:
        return self._resolved() is Mode.SANDBOX

    def _live_credentials(self) -> tuple[str, ...]:
        """Live mode: the key(s), or an error naming the variable(s) — never a silent sandbox."""
        credentials = self._credentials()
        if credentials is None:
            names = " and ".join(KEY_VARS[self.provider])
            raise ModeError(
                f"{self.provider}: live mode needs {names}; set it, drop {self.provider} from "
                "ENRICH_PROVIDER_ORDER, or set ENRICH_MODE=sandbox"
            )
        return credentials

    def _live_base_url(self) -> dict[str, str]:
        url = self.base_url or os.environ.get(BASE_URL_VARS[self.provider], "").strip()
        return {"base_url": url} if url else {}

    def _secret(self, value: str | None) -> str | None:
        """The credential's value. An EnvVar still unresolved here would be the variable's *name*:
        refuse it rather than send the name as a key."""
        if isinstance(value, dg.EnvVar):
            raise RuntimeError(
                f"{type(self).__name__} is not initialised: Dagster resolves EnvVar when it builds "
                "resources; outside Dagster call .process_config_and_initialize() first"
            )
        return value or None


class LemlistResource(_ProviderResource):
    provider: ClassVar[str] = "lemlist"
    api_key: str | None = Field(
        default=None, repr=False, description="lemlist API key (LEMLIST_API_KEY)."
    )

    def _credentials(self) -> tuple[str, ...] | None:
        key = self._secret(self.api_key)
        return (key,) if key else None

    def get_client(self) -> LemlistClient:
        if not self.uses_sandbox:
            (api_key,) = self._live_credentials()
            return LemlistClient.create(api_key, timeout_s=self.timeout_s, **self._live_base_url())
        endpoint, credentials = _sandbox("lemlist", "LEMLIST_API_KEY")
        return LemlistClient.create(
            credentials.lemlist_api_key,
            base_url=endpoint.base_url("lemlist"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class EnrichsoResource(_ProviderResource):
    provider: ClassVar[str] = "enrichso"
    api_key: str | None = Field(
        default=None, repr=False, description="enrich.so API key (ENRICHSO_API_KEY)."
    )
    plan: str = Field(
        default="growth",
        description="The key's enrich.so plan (ENRICHSO_PLAN): the rate limits it is paced at.",
    )

    def _credentials(self) -> tuple[str, ...] | None:
        key = self._secret(self.api_key)
        return (key,) if key else None

    def get_client(self) -> EnrichsoClient:
        if not self.uses_sandbox:
            (api_key,) = self._live_credentials()
            return EnrichsoClient.create(
                api_key, plan=self.plan, timeout_s=self.timeout_s, **self._live_base_url()
            )
        endpoint, credentials = _sandbox("enrichso", "ENRICHSO_API_KEY")
        return EnrichsoClient.create(
            credentials.enrichso_api_key,
            base_url=endpoint.base_url("enrichso"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class ThehogResource(_ProviderResource):
    provider: ClassVar[str] = "thehog"
    access_key: str | None = Field(
        default=None, repr=False, description="The Hog access key (THEHOG_ACCESS_KEY)."
    )
    secret_key: str | None = Field(
        default=None, repr=False, description="The Hog secret key (THEHOG_SECRET_KEY)."
    )

    def _credentials(self) -> tuple[str, ...] | None:
        access_key, secret_key = self._secret(self.access_key), self._secret(self.secret_key)
        if bool(access_key) != bool(secret_key):
            raise ModeError(
                "thehog: THEHOG_ACCESS_KEY and THEHOG_SECRET_KEY must be set together "
                "(both for live, neither for the sandbox)"
            )
        return (access_key, secret_key) if access_key and secret_key else None

    def get_client(self) -> ThehogClient:
        if not self.uses_sandbox:
            access_key, secret_key = self._live_credentials()
            return ThehogClient.create(
                access_key, secret_key, timeout_s=self.timeout_s, **self._live_base_url()
            )
        endpoint, credentials = _sandbox("thehog", "THEHOG_ACCESS_KEY/THEHOG_SECRET_KEY")
        return ThehogClient.create(
            credentials.thehog_access_key,
            credentials.thehog_secret_key,
            base_url=endpoint.base_url("thehog"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


def _env_or_none(name: str) -> dg.EnvVar | None:
    """EnvVar when the variable is set (the UI then shows its name, not its value), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def provider_resources(config: Settings | None = None) -> dict[str, _ProviderResource]:
    """The three resources as Definitions wants them: keys from the environment, the mode and
    the enrich.so plan from settings (ENRICH_MODE, ENRICHSO_PLAN)."""
    config = config or settings()
    mode = config.mode.value
    return {
        "lemlist": LemlistResource(api_key=_env_or_none("LEMLIST_API_KEY"), mode=mode),
        "enrichso": EnrichsoResource(
            api_key=_env_or_none("ENRICHSO_API_KEY"), mode=mode, plan=config.enrichso_plan
        ),
        "thehog": ThehogResource(
            access_key=_env_or_none("THEHOG_ACCESS_KEY"),
            secret_key=_env_or_none("THEHOG_SECRET_KEY"),
            mode=mode,
        ),
    }
