"""The ledger's contract, once, over both backends: a SQLite file and a real Postgres server
(enrich_pipeline_tests/postgres_server.py, one per worker, a fresh database per test). Then what
only one side has: an unversioned SQLite ledger upgrading, `ledger copy` into Postgres, and the
race of many processes starting the same day at once against one Postgres ledger."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from enrich_pipeline.cli.main import main
from enrich_pipeline.mode import Mode
from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.spend.ledger import Ledger, LedgerModeError, SentAnswer
from enrich_pipeline.spend.ledger_claims import HeldAttempt
from enrich_pipeline.spend.ledger_copy import LedgerCopyError, copy_ledger
from enrich_pipeline.spend.ledger_schema import LATEST, LedgerSchemaError
from enrich_pipeline.spend.ledger_sql import LedgerUnavailable, redact_url, to_psycopg
from enrich_pipeline_tests.postgres_server import PostgresServer
from enrich_pipeline_tests.spend import ledger_race

DAY = "2026-11-02"
EMAIL, PHONE = WantedField.EMAIL, WantedField.PHONE
UNVERSIONED_DDL = (Path(__file__).parent / "ledger_unversioned.sql").read_text()


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "sqlite":
        return tmp_path / "ledger.sqlite"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def ledger(where: Path | str) -> Iterator[Ledger]:
    opened = Ledger(where, Mode.SANDBOX)
    yield opened
    opened.close()


def _req(person: str, fields: frozenset[WantedField] = frozenset({EMAIL})) -> EnrichmentRequest:
    return EnrichmentRequest(person_key=person, fields=fields)


def _answer(
    person: str,
    ref: str | None,
    status: RecordStatus = RecordStatus.FOUND,
    cost: int | None = 1,
    *,
    provider: str = "enrichso",
    fetched_at: datetime | None = None,
    reason: str | None = None,
) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=person,
        provider=provider,
        provider_ref=ref,
        record_status=status,
        email=f"{person}@example.test" if status is RecordStatus.FOUND else None,
        cost_credits=cost,
        cost_basis=CostBasis.REPORTED,
        fetched_at=fetched_at or datetime.now(UTC),
        reason=reason,
        raw={"id": ref, "body": "the provider's answer as received"},
    )


def _complete(
    ledger: Ledger,
    provider: str,
    day: str,
    result: EnrichmentResult,
    fields: frozenset[WantedField] = frozenset({EMAIL}),
) -> int:
    """One person's attempt from intent to completed with `result`; returns its submission id."""
    (intent,) = ledger.record_intents(provider, day, [_req(str(result.person_key), fields)])
    ledger.record_submitted(
        [intent],
        [Submission(person_key=intent.request.person_key, provider=provider, provider_ref="j")],
    )
    ledger.record_results(intent.id, [result])
    return intent.id


# -- the contract, on both backends ---------------------------------------------------------------


def test_an_attempt_goes_from_intent_to_completed_and_its_answers_are_stored_once(
    ledger: Ledger,
) -> None:
    intents = ledger.record_intents(
        "enrichso", DAY, [_req("alice"), _req("bob", frozenset({EMAIL, PHONE}))], host="api.test"
    )
    assert [i.request.person_key for i in intents] == ["alice", "bob"]
    assert intents[0].chunk == intents[1].chunk and intents[1].id == intents[0].id + 1
    ledger.record_submitted(
        intents,
        [
            Submission(person_key="alice", provider="enrichso", provider_ref="job-a"),
            Submission(person_key="bob", provider="enrichso", provider_ref="job-b1"),
            Submission(person_key="bob", provider="enrichso", provider_ref="job-b2"),
        ],
    )
    opened = ledger.open_submissions("enrichso", DAY)
    assert [
        (o.id, o.request.person_key, [s.provider_ref for s in o.submissions]) for o in opened
    ] == [
        (intents[0].id, "alice", ["job-a"]),
        (intents[1].id, "bob", ["job-b1", "job-b2"]),
    ]
    pending = _answer("bob", "job-b2", RecordStatus.PENDING, None)
    rich = _answer("bob", "job-b1", cost=3).model_copy(
        update={
            "email_status": EmailStatus.RISKY,
            "phones": (Phone(number="+33612345678"), Phone(number="+33698765432")),
            "linkedin": LinkedinProfile(url="https://www.linkedin.com/in/bob-example"),
        }
    )
    ledger.record_results(intents[1].id, [rich, pending])
    ledger.record_results(intents[0].id, [_answer("alice", "job-a", cost=2)])
    ledger.record_results(intents[0].id, [_answer("alice", "job-a", cost=2)])  # polled twice
    assert [o.request.person_key for o in ledger.open_submissions("enrichso", DAY)] == ["bob"]
    missing = _answer("bob", "job-b2", RecordStatus.NOT_FOUND, cost=1)
    ledger.record_results(intents[1].id, [_answer("bob", "job-b1", cost=3), missing])

    assert ledger.open_submissions("enrichso", DAY) == []
    assert ledger.counts() == {"completed": 2, "results": 3}
    assert ledger.credits_spent() == 6
    assert ledger.credits_spent(day=DAY, provider="enrichso") == 6
    assert ledger.credits_spent(day="2026-11-03") == 0
    assert ledger.credits_committed(provider="enrichso") == 6
    assert ledger.credits_by_basis() == {
        CostBasis.REPORTED: 6,
        CostBasis.TABLE: 0,
        CostBasis.ESTIMATED: 0,
        CostBasis.UNKNOWN: 0,
    }
    stored = [
        (s.submission_id, s.result.provider_ref, s.result.record_status, sorted(s.fields))
        for s in ledger.results(day=DAY)
    ]
    assert stored == [
        (intents[1].id, "job-b1", RecordStatus.FOUND, [EMAIL, PHONE]),
        (intents[0].id, "job-a", RecordStatus.FOUND, [EMAIL]),
        (intents[1].id, "job-b2", RecordStatus.NOT_FOUND, [EMAIL, PHONE]),
    ]
    sent = sorted(
        (s.person_key, s.provider_ref, s.state, s.cost_credits) for s in ledger.sent_requests(DAY)
    )
    assert sent == [
        ("alice", "job-a", "completed", 2),
        ("bob", "job-b1", "completed", 3),
        ("bob", "job-b2", "completed", 1),
    ]
    # the day's figures read a summary of each answer, in SQL: the same as the stored model's
    stored_answers = {
        s.result.provider_ref: SentAnswer.of(s.result) for s in ledger.results(day=DAY)
    }
    assert {s.provider_ref: s.result for s in ledger.sent_requests(DAY)} == stored_answers
    assert stored_answers["job-b1"] == SentAnswer(
        "job-b1", RecordStatus.FOUND, "bob@example.test", EmailStatus.RISKY, 2, True,
        CostBasis.REPORTED,
    )  # fmt: skip


def test_one_active_attempt_per_person_and_provider_and_no_claim_after_anothers_answer(
    ledger: Ledger,
) -> None:
    planned = datetime.now(UTC)
    (first,) = ledger.record_intents("thehog", DAY, [_req("alice")])
    assert ledger.record_intents("thehog", DAY, [_req("alice")]) == []  # active: never twice
    # nor on another day while it may still be answered (its job would be paid twice)
    assert ledger.record_intents("thehog", "2026-11-03", [_req("alice")]) == []
    assert ledger.held_on_other_days("thehog", "2026-11-03", ["alice", "bob"]) == {
        "alice": HeldAttempt(DAY, "intent", "", first.chunk)
    }
    assert ledger.held_on_other_days("thehog", DAY, ["alice"]) == {}  # its own day: not "other"
    assert len(ledger.record_intents("lemlist", DAY, [_req("alice")])) == 1
    ledger._db.execute("UPDATE submissions SET owner = 'another@host' WHERE id = ?", (first.id,))
    ledger.record_submitted([first], [Submission(person_key="alice", provider="thehog")])
    ledger.record_results(first.id, [_answer("alice", None, provider="thehog")])
    # another process answered alice after our plan was made: sending again would pay twice
    assert ledger.record_intents("thehog", DAY, [_req("alice")], planned_at=planned) == []
    # a plan made after that answer may ask again (a refresh), once
    again = ledger.record_intents("thehog", DAY, [_req("alice")], planned_at=datetime.now(UTC))
    assert [i.request.person_key for i in again] == ["alice"] and again[0].id > first.id
    assert ledger.held_elsewhere("thehog", DAY, ["alice", "bob"]) == set()  # ours now
    ledger.mark(again, "call_failed", "refused")  # settled: another day may ask for her now
    assert len(ledger.record_intents("thehog", "2026-11-03", [_req("alice")])) == 1


def test_unknown_submits_are_reconciled_never_repeated_blind(ledger: Ledger) -> None:
    pair = ledger.record_intents("thehog", DAY, [_req("alice"), _req("bob")])
    (carol,) = ledger.record_intents("thehog", DAY, [_req("carol")])
    ledger.mark(pair, "unknown", "connection dropped")
    ledger.mark([carol], "call_failed", "out of credits")
    assert ledger.people_in_state("thehog", DAY, "unknown") == {
        "alice": "connection dropped",
        "bob": "connection dropped",
    }
    assert ledger.people_in_state("thehog", DAY, "call_failed") == {"carol": "out of credits"}
    (chunk,) = ledger.unknown_chunks("thehog", DAY)
    assert [i.id for i in chunk.intents] == [i.id for i in pair]
    assert chunk.chunk == pair[0].chunk and chunk.reason == "connection dropped"
    unknown, oldest = ledger.unknown_attempts("thehog", DAY)
    assert [i.request.person_key for i in unknown] == ["alice", "bob"] and oldest is not None
    assert [(u.person_key, u.state) for u in ledger.unsettled(provider="thehog")] == [
        ("alice", "unknown"),
        ("bob", "unknown"),
    ]
    assert ledger.reclaim(chunk) is True
    assert ledger.reclaim(chunk) is False  # taken already
    # a call of the chunk answered, another lost: only the lost one's people are unknown, replayed
    ledger.record_submitted(pair[:1], [Submission(person_key="alice", provider="thehog")])
    ledger.mark(pair[1:], "unknown", "second call lost")
    (partly,) = ledger.unknown_chunks("thehog", DAY)
    assert [i.id for i in partly.intents] == [pair[1].id] and partly.chunk == chunk.chunk
    assert ledger.reclaim(partly) is True
    ledger._db.execute("UPDATE submissions SET state = 'intent' WHERE id = ?", (pair[0].id,))
    ledger.mark(pair, "unknown", "lost again")
    assert [i.request.person_key for i in ledger.take_back(pair[:1])] == ["alice"]
    assert ledger.take_back(pair[:1]) == []
    assert ledger.resubmit_unknown("thehog", DAY) == 1  # bob: the user's explicit choice
    assert ledger.people_in_state("thehog", DAY, "call_failed")["bob"].startswith(
        "resubmitted by the user: lost again"
    )
    # an intent whose owner died elsewhere long ago becomes unknown
    ledger._db.execute(
        "UPDATE submissions SET owner = '1@elsewhere', created_at = '2000-01-01T00:00:00+00:00' "
        "WHERE id = ?",
        (pair[0].id,),
    )
    assert ledger.held_elsewhere("thehog", DAY, ["alice"]) == {"alice"}
    assert ledger.release_orphans("thehog", DAY) == 1
    assert ledger.people_in_state("thehog", DAY, "unknown") == {
        "alice": "the run submitting this stopped before the provider's answer was recorded "
        "(killed or crashed); the submit may have been accepted"
    }


def test_fresh_answers_are_reused_field_by_field_within_the_ttl(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    old = _answer("alice", "e", fetched_at=now - timedelta(days=10), provider="lemlist")
    _complete(ledger, "lemlist", "2026-10-20", old)
    phone = _answer("alice", "p", RecordStatus.NOT_FOUND, 1, provider="lemlist", fetched_at=now)
    _complete(ledger, "lemlist", DAY, phone, fields=frozenset({PHONE}))
    an_hour_ago = now - timedelta(hours=1)
    failed = _answer("bob", "f", RecordStatus.FAILED, 0, provider="lemlist", fetched_at=an_hour_ago)
    _complete(ledger, "lemlist", DAY, failed)
    wanted = [_req("alice", frozenset({EMAIL, PHONE})), _req("bob")]

    month = ledger.fresh_answers("lemlist", wanted, ttl=timedelta(days=30), now=now)
    assert set(month) == {"alice", "bob"}  # bob: an unpaid failure younger than 24 h
    assert month["alice"].covered == {EMAIL, PHONE}
    assert sorted(r.provider_ref or "" for r in month["alice"].results) == ["e", "p"]
    week = ledger.fresh_answers(
        "lemlist", wanted, ttl=timedelta(days=5), retry_failed_after=timedelta(minutes=30), now=now
    )
    assert set(week) == {"alice"} and week["alice"].covered == {PHONE}
    assert ledger.fresh_answers("thehog", wanted, ttl=timedelta(days=30), now=now) == {}


def test_unserved_answers_are_deferred_and_unattributed_ones_kept(ledger: Ledger) -> None:
    _complete(ledger, "lemlist", DAY, _answer("alice", "x", cost=5, provider="lemlist"))
    ledger.defer_unserved("lemlist", DAY, ["alice"], "out of credits: not served")
    assert ledger.people_in_state("lemlist", DAY, "call_failed") == {
        "alice": "out of credits: not served"
    }
    assert ledger.credits_spent(provider="lemlist") == 0
    assert ledger.fresh_answers("lemlist", [_req("alice")], ttl=timedelta(days=1)) == {}
    stray = _answer("ghost", "row-9", cost=1).model_copy(update={"person_key": None})
    ledger.record_unattributed("enrichso", DAY, [stray])
    (kept,) = ledger.results(provider="enrichso")
    assert kept.result.person_key == "unattributed:row-9" and kept.result.cost_credits == 1


def test_webhook_deliveries_are_kept_in_order_and_refs_known(ledger: Ledger) -> None:
    since = datetime.now(UTC).isoformat()
    assert ledger.record_delivery("enrichso", {"id": "job-1", "status": "done"}) == 1
    assert ledger.record_delivery("enrichso", {"id": "job-2", "name": "Zoë 100%"}) == 2
    ledger.record_delivery("thehog", {"id": "other"})
    assert ledger.deliveries("enrichso", since=since) == [
        {"id": "job-1", "status": "done"},
        {"id": "job-2", "name": "Zoë 100%"},
    ]
    assert ledger.deliveries("enrichso", since="2999-01-01") == []
    (intent,) = ledger.record_intents("enrichso", DAY, [_req("alice")])
    refs = [Submission(person_key="alice", provider="enrichso", provider_ref=r) for r in "ab"]
    ledger.record_submitted([intent], refs)
    assert ledger.known_refs("enrichso", since=since) == {"a", "b"}


def test_erasure_removes_a_person_redacts_mentions_and_keeps_an_audit_row(ledger: Ledger) -> None:
    _complete(ledger, "enrichso", DAY, _answer("alice", "a"))
    mention = _answer("bob", "b", reason="shares a mailbox with Alice@Example.test")
    _complete(ledger, "enrichso", DAY, mention)
    found = ledger.rows_mentioning(["alice"], ["alice@example.test"])
    assert sorted((r.table, r.person_key) for r in found) == [
        ("results", "alice"),
        ("results", "bob"),
        ("submissions", "alice"),
    ]
    bobs = next(r for r in found if r.person_key == "bob")
    redacted = mention.model_copy(update={"reason": "[erased]"}).model_dump_json()
    erasure = ledger.erase(
        person_keys=["alice"],
        rewrites=[("results", bobs.id, {"result_json": redacted})],
        requested_by="dpo@example.test",
        tables_rewritten=2,
        rows_removed=5,
        payloads_redacted=0,
    )
    assert (erasure.ledger_rows_removed, erasure.rows_removed, erasure.payloads_redacted) == (
        2,
        7,
        1,
    )
    assert erasure.compacted is True
    assert ledger.rows_mentioning(["alice"], ["alice@example.test"]) == []
    assert [r.result.reason for r in ledger.results()] == ["[erased]"]
    (audit,) = ledger.erasures()
    assert (audit.id, audit.requested_by, audit.rows_removed) == (erasure.id, "dpo@example.test", 7)


def test_a_ledger_serves_one_world_and_is_versioned(where: Path | str) -> None:
    Ledger(where, Mode.SANDBOX).close()
    with pytest.raises(LedgerModeError, match="holds sandbox answers and this is a live run"):
        Ledger(where, Mode.LIVE)
    reopened = Ledger(where)
    assert reopened.mode is Mode.SANDBOX
    versions = reopened._db.execute("SELECT version FROM ledger_schema ORDER BY version").fetchall()
    assert [v for (v,) in versions] == list(range(1, LATEST + 1))  # once each, however often opened
    reopened._db.execute("INSERT INTO ledger_schema VALUES (99, 'from the future', '2099')")
    reopened.close()
    with pytest.raises(LedgerSchemaError, match="schema version 99, made by a newer"):
        Ledger(where)


# -- SQLite: ledgers made before versions -------------------------------------------------------


def test_a_ledger_made_before_schema_versions_opens_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(UNVERSIONED_DDL)
        db.execute(
            "INSERT INTO submissions (provider, person_key, day, fields, request_json, state, "
            "created_at, submissions_json, chunk, owner, origin) VALUES ('thehog', 'alice', ?, "
            "'[\"email\"]', ?, 'submitted', '2026-11-02T08:00:00+00:00', ?, 'c1', '1@old', "
            "'sandbox')",
            (
                DAY,
                _req("alice").model_dump_json(),
                f"[{Submission(person_key='alice', provider='thehog', provider_ref='j1').model_dump_json()}]",
            ),
        )
        db.execute(
            "INSERT INTO webhook_deliveries (provider, received_at, body_json) VALUES ('thehog', 'x', '{}')"
        )
    db.close()

    ledger = Ledger(path, Mode.SANDBOX)  # unstamped, with rows: made by sandbox runs
    (opened,) = ledger.open_submissions("thehog", DAY)
    assert (opened.request.person_key, opened.submissions[0].provider_ref) == ("alice", "j1")
    assert ledger.record_intents("thehog", DAY, [_req("alice")]) == []  # still holds the claim
    assert ledger.record_delivery("thehog", {}) == 2
    versions = ledger._db.execute("SELECT version FROM ledger_schema ORDER BY version").fetchall()
    assert [v for (v,) in versions] == list(range(1, LATEST + 1))
    indexes = {
        name
        for (name,) in ledger._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {"one_active_attempt", "results_by_submission"} <= indexes
    ledger.close()


def test_a_first_release_ledger_gains_the_columns_added_since(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE submissions (id INTEGER PRIMARY KEY, provider TEXT NOT NULL, person_key "
            "TEXT NOT NULL, day TEXT NOT NULL, fields TEXT NOT NULL, request_json TEXT NOT NULL, "
            "state TEXT NOT NULL, provider_refs TEXT, submissions_json TEXT, error TEXT, created_at "
            "TEXT NOT NULL, submitted_at TEXT, completed_at TEXT);"
            "CREATE TABLE results (id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL, provider "
            "TEXT NOT NULL, person_key TEXT NOT NULL, day TEXT NOT NULL, fields TEXT NOT NULL, "
            "record_status TEXT NOT NULL, cost_credits INTEGER, fetched_at TEXT NOT NULL, "
            "result_json TEXT NOT NULL);"
        )
    db.close()
    ledger = Ledger(path, Mode.SANDBOX)
    _complete(ledger, "lemlist", DAY, _answer("alice", "x", cost=4, provider="lemlist"))
    assert ledger.credits_committed() == 4
    assert {"chunk", "owner", "origin"} <= ledger._db.columns("submissions")
    ledger.close()


# -- Postgres: moving a ledger there, secrets, and the race --------------------------------------


def _busy_sqlite_ledger(path: Path) -> Ledger:
    ledger = Ledger(path, Mode.SANDBOX)
    _complete(ledger, "enrichso", DAY, _answer("alice", "a", cost=2))
    _complete(ledger, "enrichso", DAY, _answer("bob", "b", cost=3))
    (open_intent,) = ledger.record_intents("thehog", DAY, [_req("carol")])
    ledger.mark([open_intent], "unknown", "connection dropped")
    ledger.record_delivery("enrichso", {"id": "a"})
    ledger.erase(
        person_keys=["bob"],
        rewrites=[],
        requested_by="dpo",
        tables_rewritten=0,
        rows_removed=0,
        payloads_redacted=0,
    )
    return ledger


def test_ledger_copy_moves_every_row_into_postgres_with_its_ids(
    tmp_path: Path, postgres_url: str
) -> None:
    source = _busy_sqlite_ledger(tmp_path / "ledger.sqlite")
    report = copy_ledger(source.path or Path(), postgres_url)
    assert not report.already_copied
    assert report.rows == {
        "ledger_meta": 1,
        "submissions": 2,
        "results": 1,
        "webhook_deliveries": 1,
        "erasures": 1,
    }
    target = Ledger(postgres_url, Mode.SANDBOX)
    assert target.results() == source.results()
    assert target.sent_requests(DAY) == source.sent_requests(DAY)
    assert target.unknown_chunks("thehog", DAY) == source.unknown_chunks("thehog", DAY)
    assert target.erasures() == source.erasures()
    assert target.deliveries("enrichso", since="") == [{"id": "a"}]
    assert target.counts() == source.counts()
    (new,) = target.record_intents("lemlist", DAY, [_req("dave")])
    assert new.id == 4  # numbered on from the highest copied id (carol's)
    target.close()
    source.close()


def test_ledger_copy_is_idempotent_and_refuses_a_target_holding_other_rows(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ledger.sqlite"
    _busy_sqlite_ledger(path).close()
    assert main(["ledger", "copy", "--from", str(path), "--to", postgres_url]) == 0
    assert "submissions 2, results 1" in capsys.readouterr().out
    assert main(["ledger", "copy", "--from", str(path), "--to", postgres_url]) == 0
    assert "already holds this ledger" in capsys.readouterr().out
    target = Ledger(postgres_url)
    target.record_delivery("thehog", {"late": True})
    target.close()
    with pytest.raises(LedgerCopyError, match="already holds 7 rows that are not a copy"):
        copy_ledger(path, postgres_url)
    assert (
        main(["ledger", "copy", "--from", str(tmp_path / "none.sqlite"), "--to", postgres_url]) == 2
    )
    assert "no ledger at" in capsys.readouterr().err


def test_enrich_ledger_url_moves_the_ledger_of_runs_and_commands_to_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    from enrich_pipeline.defs.store import PipelineStore
    from enrich_pipeline.settings import Settings

    config = Settings.from_env({"ENRICH_LEDGER_URL": postgres_url, "ENRICH_STATE_DIR": "s"})
    assert config.ledger_location == postgres_url
    assert Settings.from_env({"ENRICH_STATE_DIR": "s"}).ledger_location == Path("s/ledger.sqlite")
    with pytest.raises(ValueError, match="must be a postgresql://") as bad:
        Settings.from_env({"ENRICH_LEDGER_URL": "mysql://u:s3cret@db/ledger"})
    assert "s3cret" not in str(bad.value)
    store = PipelineStore(
        raw_dir=str(tmp_path),
        warehouse_dir=str(tmp_path),
        state_dir=str(tmp_path),
        ledger_url=postgres_url,
    )
    ledger = store.ledger()
    assert (ledger.path, ledger.where, ledger.mode) == (None, postgres_url, Mode.SANDBOX)
    ledger.close()
    assert not (tmp_path / "ledger.sqlite").exists()


def test_the_sql_is_written_once_and_psycopg_gets_its_own_placeholders() -> None:
    assert to_psycopg("SELECT 1 FROM t WHERE a = ? AND b LIKE '50%?' AND c = ?") == (
        "SELECT 1 FROM t WHERE a = %s AND b LIKE '50%%?' AND c = %s"
    )


def test_a_postgres_password_never_shows_in_messages(postgres_server: PostgresServer) -> None:
    assert redact_url("postgresql://enrich:s3cret@db:5432/ledger") == (
        "postgresql://enrich:***@db:5432/ledger"
    )
    assert redact_url("postgresql://db/ledger?user=u&password=s3cret&sslmode=require") == (
        "postgresql://db/ledger?user=u&password=***&sslmode=require"
    )
    url = postgres_server.url("nowhere").replace("postgres@", "intruder:s3cret@")
    with pytest.raises(LedgerUnavailable) as caught:
        Ledger(url)
    assert "s3cret" not in str(caught.value) and "intruder:***@" in str(caught.value)
    assert "Check that the server is up" in str(caught.value)


def test_runs_started_at_once_on_many_processes_never_claim_a_person_twice(
    postgres_url: str,
) -> None:
    Ledger(postgres_url, Mode.SANDBOX).close()  # schema made once; the race is about claims
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([ledger_race.__name__])  # each start is a fork, not an import
    start, claims = context.Barrier(ledger_race.RACERS), context.Queue()
    planned_at = datetime.now(UTC)
    runs = [
        context.Process(
            target=ledger_race.start_a_run, args=(postgres_url, planned_at, start, claims, n, DAY)
        )
        for n in range(ledger_race.RACERS)
    ]
    for run in runs:
        run.start()
    claimed = [claims.get(timeout=60) for _ in runs]
    for run in runs:
        run.join(timeout=30)
        assert run.exitcode == 0
    per_person = Counter(person for run_claims in claimed for person in run_claims)
    assert sorted(per_person) == ledger_race.PEOPLE and set(per_person.values()) == {1}
    ledger = Ledger(postgres_url)
    people = len(ledger_race.PEOPLE)
    assert ledger.counts() == {"completed": people, "results": people}
    ledger.close()
