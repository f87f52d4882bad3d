"""Every provider x every fault, through the whole pipeline, then the fault cleared and a rerun
(`make test-faults`).

Against a clean run of the same day on a fresh sandbox, whatever the fault:
* nobody is submitted to a provider more often than in the clean run (a failed job, or one the
  provider could not serve for lack of credits, charged nothing and is asked again);
* the run never spends more than the clean run;
* what the ledger says was spent is what the sandbox charged — unless a submit's answer is still
  unknown (the provider may hold credits for it), and then the person is listed by
  `enrich-pipeline reconcile`, never silently lost;
* every person who is not waiting for reconciliation ends with the clean run's answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings
from enrich_pipeline.webhooks.receiver import WebhookReceiver
from enrich_pipeline_tests.pipeline_helpers import Pipeline, people_submitted
from enrich_pipeline_tests.spend.test_money_faults import (
    DAY,
    PEOPLE,
    SUBMIT_ROUTE,
    _clean_run,
    _never_twice,
    _wait_for,
)

pytestmark = pytest.mark.faults

# fault name -> how to strike (a request fault on the provider's first submit, its credits, or
# its jobs) and how to clear it
FAULTS: dict[str, dict[str, Any]] = {
    "503": {"kind": "error_503", "count": 1},
    "drop": {"kind": "drop", "count": 1},
    "drop-after": {"kind": "drop", "after": True, "count": 1},
    "malformed": {"kind": "malformed", "count": 1},
    "timeout": {"kind": "timeout", "delay_s": 1, "count": 1},
    "402": {"credits": 0},
    "stuck": {"job": "job_stuck", "count": 3},
    "failed": {"job": "job_fail", "count": 3},
}


def _strike(sandbox: SandboxServer, provider: str, fault: dict[str, Any]) -> None:
    if "credits" in fault:
        sandbox.admin("POST", "credits", json={"provider": provider, "balance": fault["credits"]})
    elif "job" in fault:
        rule = {"provider": provider, "kind": fault["job"], "count": fault["count"]}
        sandbox.admin("POST", "faults", json=rule)
    else:
        rule = {"provider": provider, "route": SUBMIT_ROUTE[provider], **fault}
        sandbox.admin("POST", "faults", json=rule)


def _clear(sandbox: SandboxServer, provider: str, fault: dict[str, Any]) -> None:
    sandbox.admin("DELETE", "faults")
    if "credits" in fault:
        sandbox.admin("POST", "credits", json={"provider": provider, "balance": 1_000_000})


def _answers(pipeline: Pipeline) -> dict[str, tuple[bool, bool, bool]]:
    rows = pipeline.table("contacts", DAY).to_pylist()
    return {
        r["person_key"]: (r["found_email"], r["found_phone"], r["found_linkedin"]) for r in rows
    }


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("provider", list(SUBMIT_ROUTE))
def test_a_fault_then_a_rerun_never_pays_twice_nor_loses_an_answer(
    pipeline_env: SandboxServer, tmp_path: Path, provider: str, fault_name: str
) -> None:
    sandbox = pipeline_env
    fault = FAULTS[fault_name]
    clean_submitted, clean_charged = _clean_run(sandbox, tmp_path / "clean")
    clean = _answers(Pipeline(tmp_path / "clean"))

    state = tmp_path / "faulty" / "state"
    with WebhookReceiver(state / "ledger.sqlite") as receiver:
        pipeline = Pipeline(tmp_path / "faulty", settings=Settings(webhook_url=receiver.url))
        pipeline.write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
        _strike(sandbox, provider, fault)
        assert pipeline.materialize(DAY).success  # a fault never fails the run
        _clear(sandbox, provider, fault)
        if provider == "lemlist" and "kind" in fault:  # each finished enrichment says so
            _wait_for(
                "lemlist's webhooks",
                lambda: _webhooks(sandbox) >= people_submitted(sandbox.counters(), "lemlist"),
            )
        assert pipeline.materialize(DAY).success

    counters = sandbox.counters()
    charged = sum(counters["credits_net"].values())
    if fault_name not in ("failed", "402"):  # work the provider did not charge is asked again
        _never_twice(counters, clean_submitted, provider)
    # A stuck enrich.so batch keeps its credits reserved until it settles: held, not yet spent.
    held = provider == "enrichso" and fault_name == "stuck"
    if not held:
        assert charged <= clean_charged, counters["credits_net"]
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() <= clean_charged
        waiting = {u.person_key for u in ledger.unsettled()}
        unknown = {u.person_key for u in ledger.unsettled() if u.state == "unknown"}
        if unknown or held:
            assert ledger.credits_spent() <= charged
        else:
            assert ledger.credits_spent() == charged
    answers = _answers(pipeline)
    settled = set(clean) - waiting
    assert {k: answers[k] for k in settled} == {k: clean[k] for k in settled}
    if fault_name in ("503", "402", "failed"):
        assert not waiting  # nothing left to reconcile: the provider said what happened


def _webhooks(sandbox: SandboxServer) -> int:
    events = sandbox.counters().get("webhooks", {}).get("lemlist", {})
    return sum(sum(outcomes.values()) for outcomes in events.values())
