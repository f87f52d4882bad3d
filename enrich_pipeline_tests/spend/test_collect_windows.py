"""A day collected a window of whole submit calls at a time (issue #12: memory bounded by the window,
not by the day): the same answers, ledger rows and credits as one window, each person handed on whole,
no provider job split between windows (sandbox over HTTP)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from enrich_pipeline.model import Attempt, EnrichmentRequest, Outcome, WantedField
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.polling import PollProgress
from enrich_pipeline.providers.thehog import ThehogClient
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.runner import RunSettings, run_provider

DAY = "2026-11-02"


def _requests(
    sandbox: SandboxServer, n: int, fields: frozenset[WantedField]
) -> list[EnrichmentRequest]:
    return [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}", linkedin_url=p.linkedin_url, fields=fields
        )
        for p in sandbox.state.world.people[:n]
    ]


class Sink:
    def __init__(self) -> None:
        self.calls: list[list[Attempt]] = []

    def __call__(self, attempts: Sequence[Attempt]) -> None:
        self.calls.append(list(attempts))

    @property
    def attempts(self) -> list[Attempt]:
        return [a for call in self.calls for a in call]


def test_a_day_collected_in_windows_answers_everyone_once_and_hands_each_person_on_whole(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    lemlist = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    requests = _requests(sandbox, 60, frozenset({WantedField.EMAIL}))
    reports: list[PollProgress] = []
    sink = Sink()
    # submit calls of 10 people, windows of at most 25 people: 3 windows of 2 calls each
    settings = RunSettings(batch_max=10, poll_interval_s=0.01, poll_timeout_s=10, collect_window=25)
    run = run_provider(
        "lemlist", lemlist, ledger, DAY, requests, settings, on_progress=reports.append, sink=sink
    )
    lemlist.close()

    world = sandbox.state.world
    expected = {
        f"li:/in/{p.linkedin_slug}": world.knowledge("lemlist", p).email for p in world.people[:60]
    }
    made = sink.attempts
    assert run.attempts == []  # handed on, not held
    assert sorted(a.result.person_key for a in made) == sorted(expected)  # everyone, once
    found = {a.result.person_key: a.result.email for a in made if a.outcome is Outcome.FOUND}
    assert found == {k: v for k, v in expected.items() if v}
    assert all(a.result.raw == {} for a in made)  # payloads are in the ledger, not held
    assert {s.result.person_key for s in ledger.results(day=DAY) if s.result.raw} == set(expected)
    assert len(sink.calls) == 3 and [len(c) for c in sink.calls] == [20, 20, 20]
    assert run.count(Outcome.FOUND) == len(found)
    assert run.count(Outcome.NOT_FOUND) == 60 - len(found)
    assert ledger.counts() == {"completed": 60, "results": 60}
    assert run.credits_spent == sandbox.counters()["credits_net"]["lemlist"] > 0
    last = reports[-1]
    assert (last.done, last.total, last.window) == (60, 60, (3, 3))
    assert [r.done for r in reports] == sorted(r.done for r in reports)  # never goes back


def test_a_window_never_splits_a_provider_job_even_when_one_call_outgrows_it(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    """The Hog answers a submit call as one operation: a window smaller than the call still takes
    the whole call, so no answer is taken for a stray (unattributed) one."""
    hog = ThehogClient.create(
        sandbox.state.config.thehog_access_key,
        sandbox.state.config.thehog_secret_key,
        base_url=sandbox.base_url("thehog"),
        speed=0.01,
    )
    requests = _requests(sandbox, 24, frozenset({WantedField.PHONE}))
    sink = Sink()
    settings = RunSettings(batch_max=10, poll_interval_s=0.01, poll_timeout_s=10, collect_window=4)
    run = run_provider("thehog", hog, ledger, DAY, requests, settings, sink=sink)
    hog.close()

    assert [len(c) for c in sink.calls] == [10, 10, 4]  # one window per call
    people = Counter(a.result.person_key for a in sink.attempts)
    assert people == Counter({r.person_key: 1 for r in requests})
    stored = [s.result.person_key or "" for s in ledger.results(day=DAY)]
    assert sorted(stored) == sorted(r.person_key for r in requests)  # no stray answer
    assert run.new_submissions == 24
    assert ledger.counts()["completed"] == 24
    assert run.credits_spent == sandbox.counters()["credits_net"]["thehog"]


def test_people_another_run_answers_while_this_one_collects_are_answered_not_deferred(
    sandbox: SandboxServer, ledger: Ledger, tmp_path: Path
) -> None:
    """Windows are planned once; a later window's jobs may be collected by another run of the day
    meanwhile (a re-run, the CLI). Their answers are in the ledger: this run reports them, it does
    not call the people deferred."""
    lemlist = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    requests = _requests(sandbox, 20, frozenset({WantedField.EMAIL}))
    settings = RunSettings(batch_max=10, poll_interval_s=0.01, poll_timeout_s=10, collect_window=10)
    other_runs: list[int] = []

    def another_run_collects_everything(_: PollProgress) -> None:
        if other_runs:
            return
        other = Ledger(tmp_path / "state" / "ledger.sqlite")  # the same ledger, its own connection
        try:
            other_runs.append(
                len(run_provider("lemlist", lemlist, other, DAY, requests, settings).attempts)
            )
        finally:
            other.close()

    run = run_provider(
        "lemlist",
        lemlist,
        ledger,
        DAY,
        requests,
        settings,
        on_progress=another_run_collects_everything,
    )
    lemlist.close()
    assert other_runs == [20]
    assert run.count(Outcome.DEFERRED) == 0 and len(run.attempts) == 20
    world = sandbox.state.world
    expected = {
        f"li:/in/{p.linkedin_slug}": world.knowledge("lemlist", p).email for p in world.people[:20]
    }
    found = {
        a.result.person_key: a.result.email for a in run.attempts if a.outcome is Outcome.FOUND
    }
    assert found == {k: v for k, v in expected.items() if v}
    assert ledger.counts() == {"completed": 20, "results": 20}  # nobody asked twice


def test_after_a_window_times_out_the_later_windows_are_looked_at_once_not_waited_for(
    sandbox: SandboxServer, ledger: Ledger
) -> None:
    """A stuck provider must not cost one full timeout per window (50 windows on a 100k day):
    once a window ends with unfinished jobs, each later job is polled once and left pending."""
    lemlist = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=0.01
    )
    sandbox.admin("POST", "faults", json={"provider": "lemlist", "kind": "job_stuck", "count": 30})
    polls: Counter[str] = Counter()
    poll = lemlist.poll

    def counted(submission: Any) -> Any:
        polls[submission.person_key] += 1
        return poll(submission)

    lemlist.poll = counted  # type: ignore[method-assign]
    requests = _requests(sandbox, 30, frozenset({WantedField.EMAIL}))
    settings = RunSettings(
        batch_max=10, poll_interval_s=0.01, poll_timeout_s=0.3, collect_window=10
    )
    run = run_provider("lemlist", lemlist, ledger, DAY, requests, settings)
    lemlist.close()
    assert run.count(Outcome.PENDING) == 30  # stuck: pending, never "not found"
    first, *later = [requests[i : i + 10] for i in (0, 10, 20)]
    assert all(polls[r.person_key] > 1 for r in first)  # the first window waited its timeout
    assert all(polls[r.person_key] == 1 for window in later for r in window)
