"""Lenient readers of JSON values, shared by the The Hog modules: a payload's shape is never
trusted (providers.md 3 leaves much of it UNKNOWN), so a value of the wrong type reads as absent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present and not null (snake_case and camelCase spellings)."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None
