"""What a test asks `backfill_process` to do, as JSON-able types.

Kept apart from `backfill_process` so that the test process never imports Dagster's GraphQL schema
and daemons: only the spawned processes need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypedDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Page = Literal["asset_graph", "catalog", "job"]


class Launch(TypedDict):
    """One click in the UI: where (`page`), which assets (None: every asset), which job."""

    name: str
    page: Page
    assets: list[str] | None
    job: str | None


class Spec(TypedDict):
    """Phases of launches (a phase's backfills settle before the next phase is launched), the
    days, and whether the runs are to be run."""

    days: list[str]
    phases: list[list[Launch]]
    run: bool  # False: the daemon only creates the runs, which wait in the run queue
    timeout_s: float
