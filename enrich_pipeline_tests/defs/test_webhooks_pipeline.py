"""The lemlist asset with ENRICH_WEBHOOK_URL set writes the same warehouse as without it, on the
same seeded world, without a single poll: answers come from the deliveries the real receiver
stored in the ledger (issue #12)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings
from enrich_pipeline.webhooks.receiver import WebhookReceiver
from enrich_pipeline_tests.pipeline_helpers import CONTACT_TABLES, Pipeline, materialized_metadata

DAY = "2026-11-03"
POLL = "GET /enrich/{enrichId}"
TABLES = ("attempts_lemlist", *CONTACT_TABLES)


def _comparable(table: pa.Table) -> list[dict[str, object]]:
    """Rows without what says *when* (fetch times) or *how* the answer came: each record's raw
    payload is what was received — the webhook item with webhooks, the poll body without."""
    keep = [c for c in table.column_names if not c.endswith("_at") and "fetched" not in c]
    rows = table.select(keep).to_pylist()
    for row in rows:
        if isinstance(row.get("result_json"), str):
            record = json.loads(row["result_json"])
            row["result_json"] = {k: v for k, v in record.items() if k not in ("raw", "fetched_at")}
    return sorted(rows, key=repr)


def _run(
    pipeline: Pipeline, sandbox: SandboxServer
) -> tuple[dict[str, list], int, int, dict[str, object]]:
    pipeline.write_day(sandbox.state.world, DAY, 60, seed=3)
    result = pipeline.materialize(DAY)
    counters = sandbox.counters()
    polls = sum(counters["requests"].get("lemlist", {}).get(POLL, {}).values())
    tables = {name: _comparable(pipeline.table(name, DAY)) for name in TABLES}
    metadata = materialized_metadata(result)["lemlist_enrichment"]
    return tables, polls, counters["credits_net"].get("lemlist", 0), metadata


def test_the_warehouse_is_the_same_with_webhooks_as_with_polling(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox = pipeline_env
    only_lemlist = Settings(provider_order=("lemlist",))
    polled, polls, credits, polled_figures = _run(
        Pipeline(tmp_path / "polled", only_lemlist), sandbox
    )
    assert polls > 0 and credits > 0
    assert "jobs_by_webhook" not in polled_figures  # polling only: no such row in the UI

    sandbox.reset()
    hooked = Pipeline(tmp_path / "hooked")
    hooked.state_dir.mkdir(parents=True)
    with WebhookReceiver(hooked.state_dir / "ledger.sqlite") as receiver:
        hooked.settings = Settings(
            provider_order=("lemlist",), webhook_url=receiver.url, webhook_grace_s=5.0
        )
        tables, hooked_polls, hooked_credits, figures = _run(hooked, sandbox)
    assert hooked_polls == 0 and hooked_credits == credits
    # every job the step collected came by delivery, and the UI says so
    assert figures["jobs_by_webhook"] == figures["new_submissions"] > 0
    for name in TABLES:
        for a, b in zip(tables[name], polled[name], strict=True):
            diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            assert not diff, (name, diff)
    assert len(tables["attempts_lemlist"]) > 40
