"""Faults aimed where money moves: between recording a submit and recording its answer.

Each test drives the real pipeline (or the runner) against the live sandbox, strikes at that exact
moment with the sandbox's own fault API or a signal to a real process, then checks the sandbox's
counters against the ledger: no person is submitted twice, and what the ledger says was spent is
what the provider charged.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.model import Outcome, WantedField
from enrich_pipeline.providers.enrichso import EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider
from enrich_pipeline.webhooks.receiver import WebhookReceiver
from enrich_pipeline_tests.pipeline_helpers import (
    Pipeline,
    cli_env,
    materialize_day,
    materialized_metadata,
    people_submitted,
    requests_for,
    sandbox_env,
    submit_calls,
)

DAY = "2026-11-03"
NEXT_DAY = "2026-11-04"
PEOPLE = 40
# The route of each provider's paid submits in the pipeline (fnmatch patterns of route ids).
SUBMIT_ROUTE = {
    "lemlist": "POST /v2/enrichments/bulk",
    "thehog": "POST /api/enrichments",
    "enrichso": "POST *",
}
REPO = Path(__file__).resolve().parents[2]


def _wait_for(what: str, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Poll an event (a counter, a ledger row) — never a fixed sleep standing in for one."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _ledger_states(state_dir: Path, provider: str) -> dict[str, int]:
    path = state_dir / "ledger.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT state, count(*) FROM submissions WHERE provider = ? GROUP BY state",
            (provider,),
        ).fetchall()
    except sqlite3.OperationalError:
        return {}  # the schema is being created
    finally:
        db.close()
    return dict(rows)


def _posts(sandbox: SandboxServer, provider: str) -> int:
    return submit_calls(sandbox.counters(), provider)


def _kill_in_flight(sandbox: SandboxServer, provider: str, kill: Callable[[], None]) -> None:
    """Kill the run while the provider holds its processed submit, then wait for the sandbox to
    finish that held request: counted now, it cannot land in a later test's counters."""
    posts = _posts(sandbox, provider)
    kill()
    _wait_for("the held submit to finish", lambda: _posts(sandbox, provider) > posts)


def _fault(sandbox: SandboxServer, provider: str, kind: str, **rule: Any) -> None:
    sandbox.admin(
        "POST",
        "faults",
        json={"provider": provider, "kind": kind, "route": SUBMIT_ROUTE[provider], **rule},
    )


def _clean_run(sandbox: SandboxServer, root: Path) -> tuple[dict[str, dict[str, int]], int]:
    """The same day without faults: submits per provider and person, and credits charged."""
    pipeline = Pipeline(root)
    pipeline.write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    pipeline.materialize(DAY)
    counters = sandbox.counters()
    submitted = {p: dict(counters["submissions"].get(p, {})) for p in SUBMIT_ROUTE}
    charged = sum(counters["credits_net"].values())
    sandbox.reset()
    return submitted, charged


@dataclass(frozen=True)
class CleanRun:
    root: Path  # the clean run's folders (its contacts are what a resumed run must find)
    submitted: dict[str, dict[str, int]]
    charged: int


@pytest.fixture(scope="module")
def clean_run(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CleanRun]:
    """`_clean_run` once for the kill tests of every provider (the same day and sandbox): a run
    takes seconds, and its counters and contacts are only read."""
    sandbox_server.reset()
    root = tmp_path_factory.mktemp("clean")
    with sandbox_env(sandbox_server.url):
        submitted, charged = _clean_run(sandbox_server, root)  # resets the sandbox after
    yield CleanRun(root, submitted, charged)


def _never_twice(counters: dict[str, Any], clean: dict[str, dict[str, int]], provider: str) -> None:
    """Nobody was submitted to `provider` more often than in the clean run (per person)."""
    after = counters["submissions"].get(provider, {})
    twice = {p: n for p, n in after.items() if n > clean[provider].get(p, 0)}
    assert not twice, f"{provider} paid twice for {len(twice)} people"


# ------------------------------------------------------------ kill -9 inside the paid-submit window


@pytest.mark.parametrize(
    "resume",
    # the same day run again; or the next day, whose list brings the same people back (slower:
    # with the kill tests of real `enrich-pipeline run` processes in `make test-faults`)
    [DAY, pytest.param(NEXT_DAY, marks=pytest.mark.faults, id="next-day")],
    ids=["same-day", "next-day"],
)
@pytest.mark.parametrize("provider", ["thehog", "lemlist", "enrichso"])
def test_a_kill_in_the_paid_submit_window_never_pays_twice(
    clean_run: CleanRun, pipeline_env: SandboxServer, tmp_path: Path, provider: str, resume: str
) -> None:
    sandbox = pipeline_env
    clean_submitted, clean_charged = clean_run.submitted, clean_run.charged
    pipeline = Pipeline(tmp_path / "faulty")
    pipeline.write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    # The long-lived webhook receiver outlives the run (as `enrich-pipeline webhooks` does).
    receiver = WebhookReceiver(pipeline.state_dir / "ledger.sqlite").start()
    # The provider processes (and charges) the first submit, then holds its answer: the run is
    # killed while it waits, between recording the intent and recording the provider's answer.
    _fault(sandbox, provider, "timeout", after=True, delay_s=5, count=1)
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(["enrich_pipeline_tests.pipeline_helpers"])
    run = processes.Process(
        target=materialize_day, args=(str(pipeline.root), DAY, sandbox.url, receiver.url)
    )
    run.start()
    try:
        _wait_for(
            f"{provider}'s first submit to be processed",
            lambda: people_submitted(sandbox.counters(), provider) > 0,
        )
        assert _ledger_states(pipeline.state_dir, provider).get("intent", 0) > 0
    finally:
        _kill_in_flight(sandbox, provider, run.kill)
        run.join(timeout=30)
    sent_before = people_submitted(sandbox.counters(), provider)
    sandbox.admin("DELETE", "faults")
    if provider == "lemlist":  # its enrichments finish and say so to the receiver
        _wait_for(
            "lemlist's webhooks for the cut-off enrichments",
            lambda: _deliveries(pipeline, "lemlist") >= sent_before,
            timeout_s=10,
        )
    if provider == "enrichso":  # the cut-off batch finishes and says so, item by item
        _wait_for("enrich.so's batch to report", lambda: _completions(pipeline) >= 1)

    if resume != DAY:
        pipeline.write_day(sandbox.state.world, resume, PEOPLE, seed=31)  # the same people
    try:
        pipeline.materialize(resume)  # the resume: the killed day's attempts hold its people
    finally:
        receiver.stop()

    counters = sandbox.counters()
    _never_twice(counters, clean_submitted, provider)
    assert sum(counters["credits_net"].values()) <= clean_charged  # never more than a clean run
    with pipeline.ledger() as ledger:
        states = ledger.counts()
        assert "intent" not in states  # the dead run's intents were reconciled
        if provider in ("thehog", "lemlist"):
            # The Hog: replayed with the same Idempotency-Key, the provider returned the operation
            # it had. lemlist: the webhook named each enrichment (and echoed our person_key), so
            # the jobs were adopted and polled. Answers fetched, not bought again.
            assert "unknown" not in states
            assert ledger.credits_spent() == sum(counters["credits_net"].values())
            assert ledger.credits_spent() == clean_charged
        else:
            # enrich.so: no idempotency key. The batch the provider processed is adopted from its
            # callbacks (they name it and its items) for the people it covers entirely; people
            # whose other batch was never sent (the run died first) wait as `unknown` for
            # `enrich-pipeline reconcile` instead of being paid for again.
            unknown = ledger.people_in_state(provider, DAY, "unknown")
            assert all("killed or crashed" in reason for reason in unknown.values())
            assert ledger.known_refs(provider, since="")  # the processed batch was adopted
            assert ledger.credits_spent() <= sum(counters["credits_net"].values())
            attempts = pipeline.table(f"attempts_{provider}", resume).to_pylist()
            assert sum(a["outcome"] == "unknown" for a in attempts) == len(unknown)
            waiting = set(unknown)
    clean_found = Pipeline(clean_run.root).table("contacts", DAY).to_pylist()
    found = {r["person_key"]: r for r in pipeline.table("contacts", resume).to_pylist()}
    columns = ("found_email", "found_phone", "found_linkedin")
    for row in clean_found:  # everyone not waiting for reconciliation has the clean answers
        if provider != "enrichso" or row["person_key"] not in waiting:
            assert [found[row["person_key"]][c] for c in columns] == [row[c] for c in columns]


def _completions(pipeline: Pipeline) -> int:
    with pipeline.ledger() as ledger:
        return sum(
            1
            for body in ledger.deliveries("enrichso", since="")
            if isinstance(body, dict)
            and str(body.get("event")).endswith("completed")
            and "total_items" in (body.get("data") or {})
        )


def _deliveries(pipeline: Pipeline, provider: str) -> int:
    with pipeline.ledger() as ledger:
        return sum(
            len(body.get("data") or []) if isinstance(body, dict) else 0
            for body in ledger.deliveries(provider, since="")
        )


# ------------------------------------------------- one 503 on a paid submit: retried, paid once


@pytest.mark.parametrize(
    ("provider", "kind"),
    [("lemlist", "error_503"), ("lemlist", "error_502"), ("enrichso", "error_503")],
)
def test_a_503_on_a_submit_is_not_an_unknown_outcome_it_is_retried_and_paid_once(
    sandbox: SandboxServer, tmp_path: Path, provider: str, kind: str
) -> None:
    config = sandbox.state.config
    if provider == "lemlist":
        client: Any = LemlistClient.create(
            config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
        )
        fields = {WantedField.EMAIL}
    else:
        client = EnrichsoClient.create(
            config.enrichso_api_key, base_url=sandbox.base_url("enrichso"), speed=0.01
        )
        fields = {WantedField.EMAIL}
    _fault(sandbox, provider, kind, count=1)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        run = run_provider(
            provider,
            client,
            ledger,
            DAY,
            requests_for(sandbox.state.world, 12, fields),
            RunSettings(batch_max=100, poll_interval_s=0.01, poll_timeout_s=20),
        )
        assert run.stopped is None
        assert run.count(Outcome.UNKNOWN) == 0 and run.count(Outcome.DEFERRED) == 0
        assert run.new_submissions == 12
        counters = sandbox.counters()
        assert people_submitted(counters, provider) == 12  # accepted once, after the 503
        statuses = {
            status
            for route, by_status in counters["requests"][provider].items()
            if route.startswith("POST ")
            for status in by_status
        }
        assert kind.removeprefix("error_") in statuses
        assert ledger.credits_spent() == counters["credits_net"].get(provider, 0)
    finally:
        client.close()
        ledger.close()


# ----------------------------------- a provider that is down keeps its people (no spill-over)


def test_a_provider_outage_keeps_its_people_waiting_and_the_next_run_sends_them(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox = pipeline_env
    pipeline = Pipeline(tmp_path)
    pipeline.write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    sandbox.admin(
        "POST", "faults", json={"provider": "thehog", "kind": "error_503", "route": "POST *"}
    )
    down = materialized_metadata(pipeline.materialize(DAY))
    assert (
        "503" in down["thehog_enrichment"]["stopped"]
        or "Unavailable" in (down["thehog_enrichment"]["stopped"])
    )
    hog = pipeline.table("attempts_thehog", DAY).to_pylist()
    waiting = {a["person_key"] for a in hog if a["outcome"] == "deferred"}
    assert waiting
    # enrich.so (phones at 500 credits, The Hog's at 5) is not asked for The Hog's people
    enrichso = pipeline.table("attempts_enrichso", DAY).to_pylist()
    assert not waiting & {a["person_key"] for a in enrichso if a["outcome"] != "deferred"}

    sandbox.admin("DELETE", "faults")
    back = materialized_metadata(pipeline.materialize(DAY))
    assert back["thehog_enrichment"]["new_submissions"] > 0
    counters = sandbox.counters()
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() == sum(counters["credits_net"].values())


# ------------------------------------------ two runs at once on one ledger: never double-submit


def _no_field_bought_twice(ledger: Ledger, provider: str, submitted: int) -> None:
    """Every submit the provider took is in the ledger, and no person was asked for one field in
    two of them. Two runs of one day may split a person's fields between them (one asks for the
    phone while the other still holds lemlist's answer on the email, then asks for the email
    alone): two submits, each field bought once, the same credits as one submit of both."""
    rows = ledger._db.execute(
        "SELECT person_key, fields FROM submissions WHERE provider = ? "
        "AND state IN ('submitted', 'completed')",
        (provider,),
    ).fetchall()
    assert len(rows) == submitted  # one item per person and call at The Hog
    asked: dict[str, list[str]] = {}
    for person, fields in rows:
        asked.setdefault(person, []).extend(json.loads(fields))
    twice = {p: f for p, f in asked.items() if len(f) != len(set(f))}
    assert not twice, f"{provider} was asked twice for a field of {len(twice)} people: {twice}"


@pytest.mark.faults  # two real processes; with the kill tests in `make test-faults`
def test_two_runs_at_once_on_one_ledger_never_double_submit_nor_double_count(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox = pipeline_env
    clean_submitted, _ = _clean_run(sandbox, tmp_path / "clean")
    pipeline = Pipeline(tmp_path / "shared")
    pipeline.write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(["enrich_pipeline_tests.pipeline_helpers"])
    runs = [
        processes.Process(target=materialize_day, args=(str(pipeline.root), DAY, sandbox.url))
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert [run.exitcode for run in runs] == [0, 0]
    counters = sandbox.counters()
    for provider in ("lemlist", "enrichso"):  # one submit per person, whatever the fields
        _never_twice(counters, clean_submitted, provider)
    with pipeline.ledger() as ledger:
        _no_field_bought_twice(ledger, "thehog", people_submitted(counters, "thehog"))
        assert ledger.credits_spent() == sum(counters["credits_net"].values())


# ------------------------------------- Ctrl-C and kill -9 against `enrich-pipeline run` itself
# Real `enrich-pipeline run` processes with a real Dagster home: slower, so they run in
# `make test-faults` (which .ci/run calls too), not in `make test`.


def _cli(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "enrich_pipeline.cli", "run", "--day", DAY],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.faults
@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("provider", list(SUBMIT_ROUTE))
def test_one_ctrl_c_or_sigterm_during_a_submit_records_it_and_stops_the_run(
    sandbox: SandboxServer, tmp_path: Path, provider: str, signo: signal.Signals
) -> None:
    env = cli_env(tmp_path, sandbox.url)
    Pipeline(tmp_path).write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    # The provider's submit is held 3 s before it is processed: the signal lands while in flight
    _fault(sandbox, provider, "slow", delay_s=3, count=1)
    process = _cli(env)
    _wait_for(
        f"{provider}'s submit to be in flight",
        lambda: _ledger_states(tmp_path / "state", provider).get("intent", 0) > 0,
    )
    process.send_signal(signo)  # once
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "interrupted during" in output
    states = _ledger_states(tmp_path / "state", provider)
    assert "intent" not in states and "unknown" not in states  # the submit finished recording
    assert states.get("submitted", 0) + states.get("completed", 0) > 0
    sent = people_submitted(sandbox.counters(), provider)

    rerun = _cli(env)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output
    assert people_submitted(sandbox.counters(), provider) == sent  # polled, not resubmitted
    with Pipeline(tmp_path).ledger() as ledger:
        assert ledger.credits_spent() == sum(sandbox.counters()["credits_net"].values())


@pytest.mark.faults
def test_a_run_killed_holding_a_provider_pool_never_blocks_the_next(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, sandbox.url)
    Pipeline(tmp_path).write_day(sandbox.state.world, DAY, PEOPLE, seed=31)
    _fault(sandbox, "lemlist", "timeout", after=True, delay_s=5, count=1)
    process = _cli(env)
    _wait_for(
        "lemlist's submit to be in flight",
        lambda: _ledger_states(tmp_path / "state", "lemlist").get("intent", 0) > 0,
    )
    # the run dies holding the lemlist pool slot in the shared Dagster home
    _kill_in_flight(sandbox, "lemlist", process.kill)
    process.communicate(timeout=30)
    sandbox.admin("DELETE", "faults")

    rerun = _cli(env)
    output, _ = rerun.communicate(timeout=120)  # waited forever before
    assert rerun.returncode == 0, output
    assert "released pool slots held by run" in output
    assert "SUMMARY" in output


# --------------------------------------- a failed job (nothing charged) is asked again next run


def test_a_failed_job_is_asked_again_on_the_next_run_and_a_stuck_one_polled_again(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = sandbox.state.config
    client = LemlistClient.create(
        config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    ledger = Ledger(tmp_path / "ledger.sqlite")
    requests = requests_for(sandbox.state.world, 6, {WantedField.EMAIL})
    settings = RunSettings(poll_interval_s=0.01, poll_timeout_s=0.5)
    try:
        sandbox.admin(
            "POST", "faults", json={"provider": "lemlist", "kind": "job_fail", "count": 2}
        )
        sandbox.admin(
            "POST", "faults", json={"provider": "lemlist", "kind": "job_stuck", "count": 1}
        )
        first = run_provider("lemlist", client, ledger, DAY, requests, settings)
        assert first.count(Outcome.FAILED) == 2 and first.count(Outcome.PENDING) == 1
        stuck = [u for u in ledger.unsettled(provider="lemlist") if u.state == "submitted"]
        assert len(stuck) == 1 and stuck[0].provider_refs  # reported with its job id
        sandbox.admin("DELETE", "faults")

        again = run_provider("lemlist", client, ledger, DAY, requests, settings)
        assert again.new_submissions == 2  # the two failed jobs, asked again at once
        assert again.resumed == 1  # the stuck one is polled, not resubmitted
        counters = sandbox.counters()
        assert people_submitted(counters, "lemlist") == 6 + 2
        assert ledger.credits_spent() == counters["credits_net"]["lemlist"]
    finally:
        client.close()
        ledger.close()
