"""Mode is data: a ledger belongs to the sandbox or to live APIs, and never serves the other; every
submission records where it went; guessed costs count at worst case in budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enrich_pipeline.mode import Mode
from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.spend.ledger import Ledger, LedgerModeError

DAY = "2026-11-02"
ALICE = EnrichmentRequest(
    person_key="li:/in/alice-example",
    linkedin_url="https://www.linkedin.com/in/alice-example",
    fields=frozenset({WantedField.EMAIL, WantedField.PHONE}),
)


def _answer(ledger: Ledger, provider: str, result: EnrichmentResult, host: str) -> None:
    (intent,) = ledger.record_intents(provider, DAY, [ALICE], host=host)
    ledger.record_submitted([intent], [Submission(person_key=ALICE.person_key, provider=provider)])
    ledger.record_results(intent.id, [result])


def _found(provider: str, cost: int, basis: CostBasis) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=ALICE.person_key,
        provider=provider,
        record_status=RecordStatus.FOUND,
        email="alice@example.test",
        email_status=EmailStatus.DELIVERABLE,
        cost_credits=cost,
        cost_basis=basis,
    )


def test_a_live_run_refuses_a_sandbox_made_ledger_and_the_reverse(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    sandbox = Ledger(path, Mode.SANDBOX)
    _answer(sandbox, "lemlist", _found("lemlist", 5, CostBasis.TABLE), "127.0.0.1")
    sandbox.close()
    with pytest.raises(LedgerModeError, match="holds sandbox answers and this is a live run"):
        Ledger(path, Mode.LIVE)
    live_path = tmp_path / "live" / "ledger.sqlite"
    Ledger(live_path, Mode.LIVE).close()
    with pytest.raises(LedgerModeError, match="ENRICH_STATE_DIR"):
        Ledger(live_path, Mode.SANDBOX)
    assert Ledger(path).mode is Mode.SANDBOX  # tools that only read or erase take either


def test_an_unstamped_ledger_with_rows_is_a_sandbox_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    old = Ledger(path)  # as before modes: no stamp
    _answer(old, "lemlist", _found("lemlist", 5, CostBasis.TABLE), "127.0.0.1")
    old._db.execute("DELETE FROM ledger_meta")
    old.close()
    with pytest.raises(LedgerModeError):
        Ledger(path, Mode.LIVE)


def test_rows_record_mode_and_host_and_answers_of_the_other_world_are_never_reused(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", Mode.LIVE)
    _answer(ledger, "lemlist", _found("lemlist", 5, CostBasis.TABLE), "api.lemlist.com")
    (origin,) = ledger._db.execute("SELECT origin FROM submissions").fetchone()
    assert origin == "live:api.lemlist.com"
    hits = ledger.fresh_answers("lemlist", [ALICE], ttl=timedelta(days=30))
    assert hits[ALICE.person_key].covered == {WantedField.EMAIL, WantedField.PHONE}
    # A row that says it came from the sandbox (however it got here) is no cache hit in live mode
    # and no open job to poll.
    ledger._db.execute("UPDATE submissions SET origin = 'sandbox:127.0.0.1'")
    assert ledger.fresh_answers("lemlist", [ALICE], ttl=timedelta(days=30)) == {}
    ledger._db.execute("UPDATE submissions SET state = 'submitted'")
    assert ledger.open_submissions("lemlist", DAY) == []
    ledger.close()


def test_budgets_count_an_estimated_cost_at_its_worst_case(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", Mode.SANDBOX)
    start = datetime.now(UTC) - timedelta(seconds=1)
    # The Hog found an email (our table guesses 1 credit) for a request of email + phone: it
    # publishes no prices, so a budget counts what the request could have cost at worst (1 + 5).
    _answer(ledger, "thehog", _found("thehog", 1, CostBasis.ESTIMATED), "127.0.0.1")
    assert ledger.credits_spent(provider="thehog") == 1  # as recorded
    assert ledger.credits_committed(provider="thehog", since=start) == 1 + 5
    assert ledger.credits_by_basis()[CostBasis.ESTIMATED] == 1
    # A reported cost is what it is.
    _answer(ledger, "enrichso", _found("enrichso", 10, CostBasis.REPORTED), "127.0.0.1")
    assert ledger.credits_committed(provider="enrichso") == 10
    ledger.close()
