"""Lenient readers of JSON values, shared by the lemlist modules: a payload's shape is never
trusted, so a value of the wrong type reads as absent (`_str` also takes an integer id as text)."""

from __future__ import annotations

from typing import Any


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if _is_int(value):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
