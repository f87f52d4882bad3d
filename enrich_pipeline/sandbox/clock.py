"""Time for the sandbox: monotonic for durations, wall clock for timestamps shown on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.monotonic()


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    return utc_now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
