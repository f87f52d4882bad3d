"""Dagster resources that hand out provider clients.

Keys come from environment variables only, never as values in Dagster's config. A key field
names its variable: `dg.EnvVar("LEMLIST_API_KEY")` in code, `api_key: {env: LEMLIST_API_KEY}` in
run config, so the UI and the run history show the variable's name, never its value. A literal
key is refused: in code with an error that says how to pass it; in run config by the config
schema (the field accepts only `{env: LEMLIST_API_KEY}`), which Dagster checks before it creates
the run, so a typed key never reaches the run history (`runs.db`) — and the error reads
`... api_key must be dict. Expected: "{ env: LEMLIST_API_KEY }"`. The variables are the
documented ones (mode.KEY_VARS); the keys are read from the environment where the client is made.

The mode (mode.py, ENRICH_MODE) decides sandbox or live for all three at once: in sandbox mode
keys are ignored; in live mode a missing key is an error naming its variable. Run config given
for a resource replaces its configuration as a whole (Dagster keeps none of the constructor's
values), so nothing here depends on them: an unset key field means its documented variable, an
unset mode the environment's (ENRICH_MODE, else live as soon as a key is set), an unset plan
ENRICHSO_PLAN. Configuration that mixes the modes is an error that says what to set: a base URL in
sandbox mode (it would be ignored), live mode without its key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import dagster as dg
from pydantic import Field

from enrich_pipeline.mode import (
    BASE_URL_VARS,
    KEY_VARS,
    Mode,
    ModeError,
    base_url_in_sandbox,
    key_help,
    resolve_mode,
)
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.thehog import ThehogClient
from enrich_pipeline.settings import Settings, settings

_Client = TypeVar("_Client", LemlistClient, EnrichsoClient, ThehogClient)

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


class LiteralKeyError(ModeError):
    """A key given as a value instead of as its environment variable. The message says how to
    pass it, never the value."""


# Each key's variable as a one-member enum named after it: the config schema then accepts exactly
# `{env: LEMLIST_API_KEY}`, and Dagster's error for anything else reads `Expected: "{ env:
# LEMLIST_API_KEY }"` (an enum's values print as their type's name).
LEMLIST_API_KEY = Enum("LEMLIST_API_KEY", {"LEMLIST_API_KEY": "LEMLIST_API_KEY"})
ENRICHSO_API_KEY = Enum("ENRICHSO_API_KEY", {"ENRICHSO_API_KEY": "ENRICHSO_API_KEY"})
THEHOG_ACCESS_KEY = Enum("THEHOG_ACCESS_KEY", {"THEHOG_ACCESS_KEY": "THEHOG_ACCESS_KEY"})
THEHOG_SECRET_KEY = Enum("THEHOG_SECRET_KEY", {"THEHOG_SECRET_KEY": "THEHOG_SECRET_KEY"})


class KeyFromEnv(dg.Config):
    """A credential named by its environment variable, `{env: NAME}` (what dg.EnvVar becomes)."""

    @property
    def variable(self) -> str:
        return str(self.env.value)  # type: ignore[attr-defined]


class LemlistKeyVariable(KeyFromEnv):
    env: LEMLIST_API_KEY = Field(description="The variable holding the lemlist key.")  # type: ignore[valid-type]


class EnrichsoKeyVariable(KeyFromEnv):
    env: ENRICHSO_API_KEY = Field(description="The variable holding the enrich.so key.")  # type: ignore[valid-type]


class ThehogAccessKeyVariable(KeyFromEnv):
    env: THEHOG_ACCESS_KEY = Field(description="The variable holding The Hog access key.")  # type: ignore[valid-type]


class ThehogSecretKeyVariable(KeyFromEnv):
    env: THEHOG_SECRET_KEY = Field(description="The variable holding The Hog secret key.")  # type: ignore[valid-type]


def _key_field(variable: str, what: str) -> Any:
    return Field(
        default=None,
        description=f"{what}, from the environment only: {{env: {variable}}} (unset: the same). "
        f"A literal key is refused: set {variable} in the environment; in run config use "
        f"{{env: {variable}}}.",
    )


def _reference(provider: str, field: str, variable: str, value: object) -> object:
    """A key field's value as given (in code, or by Dagster from the run config) made the
    `{env: NAME}` reference the schema takes; a literal key is refused without being echoed."""
    if value is None or isinstance(value, KeyFromEnv):
        return value
    if isinstance(value, dg.EnvVar):
        name = value.env_var_name
    elif isinstance(value, Mapping) and set(value) == {"env"}:
        name = getattr(value["env"], "value", value["env"])
    elif isinstance(value, str):
        raise LiteralKeyError(
            f"{provider}: {field} was given a literal key, refused (Dagster would keep it in plain "
            f"text in the run history): {key_help(provider)}"
        )
    else:
        raise LiteralKeyError(f"{provider}: {field} takes only {{env: {variable}}}")
    if name != variable:  # the documented variable only (a wrong name may itself be a key)
        raise LiteralKeyError(
            f"{provider}: {field} must come from {variable}: {key_help(provider)}"
        )
    return {"env": variable}


class _ProviderResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    base_url: str | None = Field(
        default=None,
        description="Override the live API base URL (default: the provider's real API). Live "
        "mode only: set in sandbox mode it is an error, not ignored.",
    )
    timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")
    mode: str | None = Field(
        default=None,
        description="sandbox | live (unset: ENRICH_MODE, else live when a key is set).",
    )
    pacing_dir: str | None = Field(
        default=None,
        description="The folder whose pacing.sqlite every process using this key paces by "
        "(unset: live mode the ledger's state folder, ENRICH_STATE_DIR; sandbox mode in process).",
    )

    provider: ClassVar[str]
    # key field -> its environment variable (the only place its value is read from)
    key_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **data: Any) -> None:
        for field, variable in type(self).key_fields.items():
            data[field] = _reference(type(self).provider, field, variable, data.get(field))
        super().__init__(**data)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Mixed or incomplete configuration fails the run here, before any step runs."""
        if self._resolved() is Mode.LIVE:
            self._live_credentials()

    def _credentials(self) -> tuple[str, ...] | None:
        """The key(s) when every one of them is set, else None. Read from the environment here,
        where the client is made; never held in the resource's configuration."""
        values = [os.environ.get(v, "").strip() for v in type(self).key_fields.values()]
        if any(values) and not all(values):
            names = " and ".join(KEY_VARS[self.provider])
            raise ModeError(
                f"{self.provider}: {names} must be set together (both for live, neither for the "
                "sandbox)"
            )
        return tuple(values) if all(values) else None

    def _resolved(self) -> Mode:
        """The mode, checked: a live base URL in sandbox mode is an error, not ignored."""
        if self.mode is None:
            mode = resolve_mode([self.provider])  # the environment's, as settings resolve it
        else:
            try:
                mode = Mode(self.mode.strip().lower())
            except ValueError:
                raise ModeError(
                    f"{self.provider}: mode {self.mode!r}: choose sandbox or live"
                ) from None
        if mode is Mode.SANDBOX and self.base_url:
            raise base_url_in_sandbox(self.provider, "base_url")
        if mode is Mode.SANDBOX and os.environ.get(BASE_URL_VARS[self.provider], "").strip():
            raise base_url_in_sandbox(self.provider, BASE_URL_VARS[self.provider])
        return mode

    @property
    def uses_sandbox(self) -> bool:
        return self._resolved() is Mode.SANDBOX

    def _live_credentials(self) -> tuple[str, ...]:
        """Live mode: the key(s), or an error naming the variable(s) — never a silent sandbox."""
        credentials = self._credentials()
        if credentials is None:
            names = " and ".join(KEY_VARS[self.provider])
            raise ModeError(
                f"{self.provider}: live mode needs {names}: {key_help(self.provider)}; or drop "
                f"{self.provider} from ENRICH_PROVIDER_ORDER, or set ENRICH_MODE=sandbox"
            )
        return credentials

    def _shared_pacing(self, client: _Client) -> _Client:
        """Live mode: the client paces with every process that uses the ledger's state folder (a
        real key is counted per key, whoever sends). Sandbox mode paces in process unless
        `pacing_dir` is set: each sandbox counts on its own, and a shared file would only tie
        unrelated runs (and test workers) together at a cost on every request."""
        if self.pacing_dir:
            client.transport.share_pacing(self.pacing_dir)
        elif not self.uses_sandbox:
            client.transport.share_pacing(settings().state_dir)
        return client

    def _live_base_url(self) -> dict[str, str]:
        url = self.base_url or os.environ.get(BASE_URL_VARS[self.provider], "").strip()
        return {"base_url": url} if url else {}


class LemlistResource(_ProviderResource):
    provider: ClassVar[str] = "lemlist"
    key_fields: ClassVar[Mapping[str, str]] = {"api_key": "LEMLIST_API_KEY"}
    api_key: LemlistKeyVariable | None = _key_field("LEMLIST_API_KEY", "The lemlist API key")

    def get_client(self) -> LemlistClient:
        if not self.uses_sandbox:
            (api_key,) = self._live_credentials()
            return self._shared_pacing(
                LemlistClient.create(api_key, timeout_s=self.timeout_s, **self._live_base_url())
            )
        endpoint, credentials = _sandbox("lemlist", "LEMLIST_API_KEY")
        return self._shared_pacing(
            LemlistClient.create(
                credentials.lemlist_api_key,
                base_url=endpoint.base_url("lemlist"),
                timeout_s=self.timeout_s,
                speed=endpoint.speed,
            )
        )


class EnrichsoResource(_ProviderResource):
    provider: ClassVar[str] = "enrichso"
    key_fields: ClassVar[Mapping[str, str]] = {"api_key": "ENRICHSO_API_KEY"}
    api_key: EnrichsoKeyVariable | None = _key_field("ENRICHSO_API_KEY", "The enrich.so API key")
    plan: str | None = Field(
        default=None,
        description="The key's enrich.so plan: the rate limits it is paced at (unset: "
        "ENRICHSO_PLAN, else growth).",
    )

    def _plan(self) -> str:
        return self.plan or os.environ.get("ENRICHSO_PLAN", "").strip() or "growth"

    def get_client(self) -> EnrichsoClient:
        if not self.uses_sandbox:
            (api_key,) = self._live_credentials()
            return self._shared_pacing(
                EnrichsoClient.create(
                    api_key, plan=self._plan(), timeout_s=self.timeout_s, **self._live_base_url()
                )
            )
        endpoint, credentials = _sandbox("enrichso", "ENRICHSO_API_KEY")
        return self._shared_pacing(
            EnrichsoClient.create(
                credentials.enrichso_api_key,
                base_url=endpoint.base_url("enrichso"),
                timeout_s=self.timeout_s,
                speed=endpoint.speed,
            )
        )


class ThehogResource(_ProviderResource):
    provider: ClassVar[str] = "thehog"
    key_fields: ClassVar[Mapping[str, str]] = {
        "access_key": "THEHOG_ACCESS_KEY",
        "secret_key": "THEHOG_SECRET_KEY",
    }
    access_key: ThehogAccessKeyVariable | None = _key_field(
        "THEHOG_ACCESS_KEY", "The Hog access key"
    )
    secret_key: ThehogSecretKeyVariable | None = _key_field(
        "THEHOG_SECRET_KEY", "The Hog secret key"
    )

    def get_client(self) -> ThehogClient:
        if not self.uses_sandbox:
            access_key, secret_key = self._live_credentials()
            return self._shared_pacing(
                ThehogClient.create(
                    access_key, secret_key, timeout_s=self.timeout_s, **self._live_base_url()
                )
            )
        endpoint, credentials = _sandbox("thehog", "THEHOG_ACCESS_KEY/THEHOG_SECRET_KEY")
        return self._shared_pacing(
            ThehogClient.create(
                credentials.thehog_access_key,
                credentials.thehog_secret_key,
                base_url=endpoint.base_url("thehog"),
                timeout_s=self.timeout_s,
                speed=endpoint.speed,
            )
        )


def provider_resources(config: Settings | None = None) -> dict[str, _ProviderResource]:
    """The three resources as Definitions wants them: keys as their variables (the UI shows
    `{env: LEMLIST_API_KEY}`, never a value), the mode and the enrich.so plan from settings."""
    config = config or settings()
    mode = config.mode.value
    return {
        "lemlist": LemlistResource(api_key=dg.EnvVar("LEMLIST_API_KEY"), mode=mode),
        "enrichso": EnrichsoResource(
            api_key=dg.EnvVar("ENRICHSO_API_KEY"), mode=mode, plan=config.enrichso_plan
        ),
        "thehog": ThehogResource(
            access_key=dg.EnvVar("THEHOG_ACCESS_KEY"),
            secret_key=dg.EnvVar("THEHOG_SECRET_KEY"),
            mode=mode,
        ),
    }
