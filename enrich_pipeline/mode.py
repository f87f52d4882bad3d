"""Sandbox or live: one mode per run, decided once, never mixed, and refused when half-configured.

`ENRICH_MODE=sandbox|live`. Unset: `sandbox` when no provider key at all is set, else `live`. In
live mode every provider of `ENRICH_PROVIDER_ORDER` must have its key(s): a provider without one
is an error naming the variable, never a silent fallback to synthetic answers. A half-set pair
(`THEHOG_ACCESS_KEY` without `THEHOG_SECRET_KEY`) is an error in every mode. In sandbox mode keys
are ignored (and said so), so a sandbox run never spends real credits; a live base URL
(`LEMLIST_BASE_URL` & co) set in sandbox mode is an error, not ignored: it says the user meant
live, and a sandbox run in its place would be a silent fallback.

This module reads only whether variables are *set*, never their values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from enum import StrEnum
from urllib.parse import urlsplit


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


# The environment variables holding each provider's credentials (all of them needed).
KEY_VARS: Mapping[str, tuple[str, ...]] = {
    "lemlist": ("LEMLIST_API_KEY",),
    "enrichso": ("ENRICHSO_API_KEY",),
    "thehog": ("THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"),
}
# Live base URL overrides (proxies, regional endpoints, contract testing).
BASE_URL_VARS: Mapping[str, str] = {
    "lemlist": "LEMLIST_BASE_URL",
    "enrichso": "ENRICHSO_BASE_URL",
    "thehog": "THEHOG_BASE_URL",
}


class ModeError(ValueError):
    """The environment asks for something unsafe (a half-set key pair, a live provider without
    its key, an unknown mode); the message says which variable to set."""


def _is_set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def key_help(provider: str) -> str:
    """How to pass a provider's key(s), e.g. `set LEMLIST_API_KEY in the environment; in run
    config use {env: LEMLIST_API_KEY}` (the only way keys are taken)."""
    names = KEY_VARS[provider]
    where = " and ".join(names)
    config = ", ".join(f"{{env: {n}}}" for n in names)
    return f"set {where} in the environment; in run config use {config}"


def base_url_in_sandbox(provider: str, source: str) -> ModeError:
    """A live base URL in sandbox mode: the user meant live (or left it over); never ignored."""
    return ModeError(
        f"{provider}: {source} is set but the mode is sandbox, which would ignore it and answer "
        f"from the local sandbox. To go live: {key_help(provider)} (with ENRICH_MODE=live or "
        f"unset); to use the sandbox: unset {source}"
    )


def resolve_mode(providers: Sequence[str], environ: Mapping[str, str] | None = None) -> Mode:
    """The run's mode for the waterfall `providers`, or ModeError saying what to fix."""
    env = os.environ if environ is None else environ
    for provider, names in KEY_VARS.items():
        present = [n for n in names if _is_set(env, n)]
        if present and len(present) < len(names):
            missing = [n for n in names if n not in present]
            raise ModeError(
                f"{provider}: {', '.join(present)} is set but {', '.join(missing)} is not; "
                f"set both (live) or unset both (sandbox)"
            )
    raw = env.get("ENRICH_MODE", "").strip().lower()
    if raw:
        try:
            mode = Mode(raw)
        except ValueError:
            raise ModeError(f"ENRICH_MODE={raw!r}: choose sandbox or live") from None
    else:
        any_key = any(_is_set(env, n) for names in KEY_VARS.values() for n in names)
        mode = Mode.LIVE if any_key else Mode.SANDBOX
    if mode is Mode.LIVE:
        missing = [
            f"{p} needs {' and '.join(KEY_VARS[p])}"
            for p in providers
            if p in KEY_VARS and not all(_is_set(env, n) for n in KEY_VARS[p])
        ]
        if missing:
            raise ModeError(
                "live mode: "
                + "; ".join(missing)
                + " (or drop the provider from ENRICH_PROVIDER_ORDER, or set ENRICH_MODE=sandbox)"
            )
    else:
        for provider in providers:
            if provider in BASE_URL_VARS and _is_set(env, BASE_URL_VARS[provider]):
                raise base_url_in_sandbox(provider, BASE_URL_VARS[provider])
    return mode


def host_of(base_url: str) -> str:
    """The host a client talks to (recorded with every ledger row; never a key)."""
    return urlsplit(base_url).hostname or base_url


def origin(mode: Mode | str, base_url: str) -> str:
    """What a row records about where its answer came from, e.g. `live:api.lemlist.com`."""
    return f"{Mode(mode).value}:{host_of(base_url)}"
