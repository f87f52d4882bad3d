"""provider_report through the real pipeline against the live sandbox: a day re-run from the ledger
keeps its report to the credit (issue #14.3), and a later day re-using the answers shows them as
cache hits that cost nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from enrich_pipeline.defs.report import build_provider_report_asset
from enrich_pipeline.sandbox.prospects import write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.warehouse.report import REPORT_SCHEMA
from enrich_pipeline_tests.pipeline_helpers import (
    PROVIDERS,
    Pipeline,
    materialized_metadata,
    people_submitted,
    shared_instance,
)

DAY = "2026-11-03"
LATER = "2026-11-04"


def run_day(pipeline: Pipeline, day: str) -> tuple[pa.Table, dict[str, Any]]:
    """Materialise every asset of `day`, provider_report included: its partition and metadata."""
    result = dg.materialize(
        [*pipeline.assets(), build_provider_report_asset(pipeline.settings)],
        partition_key=day,
        instance=shared_instance(),
        resources={"store": pipeline.store(), **pipeline.providers},
    )
    report = pipeline.table("provider_report", day)
    assert report.schema == REPORT_SCHEMA
    return report, materialized_metadata(result)["provider_report"]


def rows(report: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["provider"], r["field"]): r for r in report.to_pylist()}


def test_a_rerun_keeps_the_days_report_and_a_later_day_shows_cache_hits(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path)
    prospects = pipeline.write_day(pipeline_env.state.world, DAY, 20, seed=7)
    first, first_metadata = run_day(pipeline, DAY)
    sent = {p: people_submitted(pipeline_env.counters(), p) for p in PROVIDERS}
    totals = {p: rows(first)[(p, "all")] for p in PROVIDERS}
    assert all(t["attempted"] > 0 and t["found"] > 0 and t["credits"] > 0 for t in totals.values())

    again, again_metadata = run_day(pipeline, DAY)
    assert {p: people_submitted(pipeline_env.counters(), p) for p in PROVIDERS} == sent
    attempts = pipeline.warehouse().read_partition("attempts_lemlist", DAY)
    assert attempts is not None and all(attempts.column("from_cache").to_pylist())
    assert again.equals(first)  # every row, every column
    assert again_metadata == first_metadata
    assert first_metadata["credits_lemlist"] == totals["lemlist"]["credits"]
    assert (
        first_metadata["email_find_rate_lemlist"] == rows(first)[("lemlist", "email")]["find_rate"]
    )

    # The same people on a later day: every answer is reused, nothing is sent or paid.
    write_prospect_file(prospects, pipeline.raw_dir / LATER / "prospects.csv", style="snake")
    later, _ = run_day(pipeline, LATER)
    assert {p: people_submitted(pipeline_env.counters(), p) for p in PROVIDERS} == sent
    for (provider, field), row in rows(later).items():
        assert (row["attempted"], row["found"], row["credits"]) == (0, 0, 0), (provider, field)
        if field == "all":
            # the requests the earlier day bought, now answered for free
            assert row["cache_hits"] == totals[provider]["attempted"], provider
    assert rows(later)[("lemlist", "email")]["cache_hits"] > 0
