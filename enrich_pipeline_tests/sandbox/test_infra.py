"""The sandbox's shared machinery: rate windows, job clock, fault book, admin API, CLI exports."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from enrich_pipeline.cli import main
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.dialects import js_date_string
from enrich_pipeline.sandbox.faults import REQUEST_FAULTS, FaultBook, FaultRule
from enrich_pipeline.sandbox.jobs import JobTimer
from enrich_pipeline.sandbox.ratelimit import RateLimiter, RateRule, retry_after_header
from enrich_pipeline.sandbox.server import SandboxServer


def test_rate_limiter_allows_limit_then_refuses_with_wait() -> None:
    limiter = RateLimiter(speed=1.0)
    rules = [RateRule("all", 3, 60.0)]
    decisions = [limiter.check("k", rules) for _ in range(4)]
    assert [d.allowed for d in decisions if d] == [True, True, True, False]
    assert [d.remaining for d in decisions if d][:3] == [2, 1, 0]
    refused = decisions[3]
    assert refused is not None and 59 < refused.retry_after_s <= 60
    # scopes are independent
    assert limiter.check("other", rules).allowed  # type: ignore[union-attr]


def test_rate_limiter_window_scales_with_speed() -> None:
    limiter = RateLimiter(speed=0.001)  # a 2 s window lasts 2 ms
    rules = [RateRule("all", 1, 2.0)]
    assert limiter.check("k", rules).allowed  # type: ignore[union-attr]
    assert not limiter.check("k", rules).allowed  # type: ignore[union-attr]
    deadline = time.monotonic() + 1
    while not limiter.check("k", rules).allowed:  # type: ignore[union-attr]
        assert time.monotonic() < deadline


def test_rate_limiter_binding_rule_is_the_tightest() -> None:
    limiter = RateLimiter(speed=1.0)
    rules = [RateRule("burst", 5, 1.0), RateRule("enrichment", 2, 60.0)]
    first = limiter.check("org", rules)
    assert first is not None and first.limit == 2 and first.remaining == 1
    limiter.check("org", rules)
    refused = limiter.check("org", rules)
    assert refused is not None and not refused.allowed and refused.limit == 2


def test_retry_after_is_whole_seconds_at_real_speed_and_decimal_when_fast() -> None:
    assert retry_after_header(0.2, speed=1.0) == "1"
    assert retry_after_header(1.5, speed=1.0) == "2"
    assert retry_after_header(0.02, speed=0.01) == "0.020"


def test_js_date_string_format() -> None:
    text = js_date_string(0)
    parts = text.split(" ")
    assert parts[0] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    assert parts[5] == "GMT+0000" and text.endswith("(Coordinated Universal Time)")


def test_job_timer_phases_follow_the_clock() -> None:
    timer = JobTimer.start(queued_s=0.02, processing_s=0.04)
    assert timer.phase() == "queued" and timer.progress() == 0
    while timer.phase() == "queued":
        pass
    assert timer.phase() == "processing"
    while timer.phase() == "processing":
        pass
    assert timer.phase() == "done" and timer.progress() == 100 and timer.processed(7) == 7
    assert JobTimer.start(0, 0, "fail").phase() == "failed"
    stuck = JobTimer.start(0, 0, "stuck")
    assert stuck.phase() == "processing" and stuck.progress() < 100


def test_fault_book_counts_down_and_matches_routes() -> None:
    book = FaultBook(seed=1)
    book.add(FaultRule(provider="lemlist", kind="error_503", count=2, route="POST /enrich"))
    assert book.take("lemlist", REQUEST_FAULTS, "GET /enrich/{enrichId}") is None
    assert book.take("enrichso", REQUEST_FAULTS, "POST /enrich") is None
    assert book.take("lemlist", REQUEST_FAULTS, "POST /enrich") is not None
    assert book.take("lemlist", REQUEST_FAULTS, "POST /enrich") is not None
    assert book.take("lemlist", REQUEST_FAULTS, "POST /enrich") is None
    assert book.active() == []


def test_fault_book_probability_is_seeded() -> None:
    def pattern() -> list[bool]:
        book = FaultBook(seed=3)
        book.add(FaultRule(provider="*", kind="rate_limit", probability=0.5))
        return [book.take("thehog", REQUEST_FAULTS) is not None for _ in range(40)]

    first = pattern()
    assert first == pattern() and 5 < sum(first) < 35


def test_config_from_env_reads_sandbox_variables() -> None:
    config = SandboxConfig.from_env(
        {"SANDBOX_SPEED": "0.5", "SANDBOX_SEED": "9", "SANDBOX_ENRICHSO_PLAN": "free"}, people=10
    )
    assert (config.speed, config.seed, config.enrichso_plan, config.people) == (0.5, 9, "free", 10)


def test_admin_health_counters_credits_config(sandbox: SandboxServer) -> None:
    health = sandbox.admin("GET", "health")
    assert health["status"] == "ok" and health["people"] == 1000 and health["seed"] == 7
    assert health["providers"] == ["lemlist", "enrichso", "thehog"]
    assert sandbox.admin("GET", "credits") == {
        "lemlist": 100_000,
        "enrichso": 5_000_000,
        "thehog": 100_000,
    }
    assert (
        sandbox.admin("POST", "credits", json={"provider": "thehog", "balance": 3})["thehog"] == 3
    )
    config = sandbox.admin("POST", "config", json={"enrichso_plan": "free"})
    assert config["enrichso_plan"] == "free"
    assert not any("key" in name for name in config), "credentials must not be exposed"
    sandbox.admin("POST", "reset")
    assert sandbox.admin("GET", "credits")["thehog"] == 100_000
    assert sandbox.admin("GET", "config")["enrichso_plan"] == "growth"
    counters = sandbox.counters()
    assert counters["requests"] == {} and counters["credits_net"] == {}


def test_admin_faults_roundtrip_and_validation(sandbox: SandboxServer) -> None:
    added = sandbox.admin(
        "POST", "faults", json=[{"provider": "lemlist", "kind": "drop", "count": 1}]
    )["added"]
    assert added[0]["kind"] == "drop" and added[0]["id"] >= 1
    assert len(sandbox.admin("GET", "faults")["faults"]) == 1
    bad = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"provider": "x", "kind": "nope"})
    assert bad.status_code == 400 and "invalid fault rule" in bad.json()["error"]
    sandbox.admin("DELETE", "faults")
    assert sandbox.admin("GET", "faults")["faults"] == []


def test_admin_truth_matches_world(sandbox: SandboxServer) -> None:
    truth = sandbox.admin("GET", "truth")
    assert len(truth["people"]) == 1000
    assert sandbox.admin("GET", "health")["world_fingerprint"] == sandbox.state.world.fingerprint()


def test_cli_exports_truth(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    assert main(["sandbox", "--people", "50", "--companies", "10", "--export-truth", str(out)]) == 0
    truth = json.loads(out.read_text())
    assert len(truth["people"]) == 50 and truth["seed"] == 42


def test_cli_rejects_malformed_fault_spec() -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--fault", "lemlist"])


def test_demo_makes_one_enrichment_per_provider_over_http(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make run` (for now): every provider answers with a found contact and credits are charged."""
    from enrich_pipeline.sandbox.demo import run_demo

    assert run_demo() == 0
    out = capsys.readouterr().out
    assert "== lemlist POST /enrich" in out and "== lemlist GET /enrich/{id} -> HTTP 200" in out
    assert '"enrichmentStatus": "done"' in out
    assert "== enrich.so POST /email-finder" in out and '"found": true' in out
    assert "== The Hog POST /api/enrichments" in out and "-> HTTP 200" in out
    charged = json.loads(out.split("credits charged by the sandbox: ")[1].splitlines()[0])
    assert set(charged) == {"lemlist", "enrichso", "thehog"} and all(
        v > 0 for v in charged.values()
    )
