"""Dagster resources that hand out provider clients.

Keys come from environment variables only (`EnvVar`), so the Dagster UI shows the variable's name,
never its value. A resource without a key runs against the sandbox: the one switch of real-key mode.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.thehog import ThehogClient

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

    @property
    def uses_sandbox(self) -> bool:
        raise NotImplementedError

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
    api_key: str | None = Field(
        default=None, repr=False, description="lemlist API key (LEMLIST_API_KEY)."
    )

    @property
    def uses_sandbox(self) -> bool:
        return not self._secret(self.api_key)

    def get_client(self) -> LemlistClient:
        if api_key := self._secret(self.api_key):
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return LemlistClient.create(api_key, timeout_s=self.timeout_s, **kwargs)
        endpoint, credentials = _sandbox("lemlist", "LEMLIST_API_KEY")
        return LemlistClient.create(
            credentials.lemlist_api_key,
            base_url=endpoint.base_url("lemlist"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class EnrichsoResource(_ProviderResource):
    api_key: str | None = Field(
        default=None, repr=False, description="enrich.so API key (ENRICHSO_API_KEY)."
    )

    @property
    def uses_sandbox(self) -> bool:
        return not self._secret(self.api_key)

    def get_client(self) -> EnrichsoClient:
        if api_key := self._secret(self.api_key):
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return EnrichsoClient.create(api_key, timeout_s=self.timeout_s, **kwargs)
        endpoint, credentials = _sandbox("enrichso", "ENRICHSO_API_KEY")
        return EnrichsoClient.create(
            credentials.enrichso_api_key,
            base_url=endpoint.base_url("enrichso"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class ThehogResource(_ProviderResource):
    access_key: str | None = Field(
        default=None, repr=False, description="The Hog access key (THEHOG_ACCESS_KEY)."
    )
    secret_key: str | None = Field(
        default=None, repr=False, description="The Hog secret key (THEHOG_SECRET_KEY)."
    )

    @property
    def uses_sandbox(self) -> bool:
        return not (self._secret(self.access_key) and self._secret(self.secret_key))

    def get_client(self) -> ThehogClient:
        access_key, secret_key = self._secret(self.access_key), self._secret(self.secret_key)
        if access_key and secret_key:
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return ThehogClient.create(access_key, secret_key, timeout_s=self.timeout_s, **kwargs)
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


def provider_resources() -> dict[str, _ProviderResource]:
    """The three resources as Definitions wants them, keys taken from the environment."""
    return {
        "lemlist": LemlistResource(api_key=_env_or_none("LEMLIST_API_KEY")),
        "enrichso": EnrichsoResource(api_key=_env_or_none("ENRICHSO_API_KEY")),
        "thehog": ThehogResource(
            access_key=_env_or_none("THEHOG_ACCESS_KEY"),
            secret_key=_env_or_none("THEHOG_SECRET_KEY"),
        ),
    }
