"""Dagster resources that hand out provider clients.

Keys come from environment variables only (`EnvVar`), so the Dagster UI shows the variable's name,
never its value. A resource without a key runs against the sandbox: the one switch of real-key mode.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.sandbox_mode import (
    SANDBOX_CREDENTIALS,
    announce_sandbox,
    sandbox_endpoint,
)
from enrich_pipeline.providers.thehog import ThehogClient


class _ProviderResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    base_url: str | None = Field(
        default=None, description="Override the API base URL (default: the provider's real API)."
    )
    timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")

    @property
    def uses_sandbox(self) -> bool:
        raise NotImplementedError


class LemlistResource(_ProviderResource):
    api_key: str | None = Field(default=None, description="lemlist API key (LEMLIST_API_KEY).")

    @property
    def uses_sandbox(self) -> bool:
        return not self.api_key

    def get_client(self) -> LemlistClient:
        if self.api_key:
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return LemlistClient.create(self.api_key, timeout_s=self.timeout_s, **kwargs)
        endpoint = sandbox_endpoint()
        announce_sandbox("lemlist", "LEMLIST_API_KEY", endpoint)
        return LemlistClient.create(
            SANDBOX_CREDENTIALS.lemlist_api_key,
            base_url=endpoint.base_url("lemlist"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class EnrichsoResource(_ProviderResource):
    api_key: str | None = Field(default=None, description="enrich.so API key (ENRICHSO_API_KEY).")

    @property
    def uses_sandbox(self) -> bool:
        return not self.api_key

    def get_client(self) -> EnrichsoClient:
        if self.api_key:
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return EnrichsoClient.create(self.api_key, timeout_s=self.timeout_s, **kwargs)
        endpoint = sandbox_endpoint()
        announce_sandbox("enrichso", "ENRICHSO_API_KEY", endpoint)
        return EnrichsoClient.create(
            SANDBOX_CREDENTIALS.enrichso_api_key,
            base_url=endpoint.base_url("enrichso"),
            timeout_s=self.timeout_s,
            speed=endpoint.speed,
        )


class ThehogResource(_ProviderResource):
    access_key: str | None = Field(
        default=None, description="The Hog access key (THEHOG_ACCESS_KEY)."
    )
    secret_key: str | None = Field(
        default=None, description="The Hog secret key (THEHOG_SECRET_KEY)."
    )

    @property
    def uses_sandbox(self) -> bool:
        return not (self.access_key and self.secret_key)

    def get_client(self) -> ThehogClient:
        if self.access_key and self.secret_key:
            kwargs = {"base_url": self.base_url} if self.base_url else {}
            return ThehogClient.create(
                self.access_key, self.secret_key, timeout_s=self.timeout_s, **kwargs
            )
        endpoint = sandbox_endpoint()
        announce_sandbox("thehog", "THEHOG_ACCESS_KEY/THEHOG_SECRET_KEY", endpoint)
        return ThehogClient.create(
            SANDBOX_CREDENTIALS.thehog_access_key,
            SANDBOX_CREDENTIALS.thehog_secret_key,
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
