"""The ledger: a durable record of every submission, provider job and raw answer (a SQLite file in
WAL mode, or a Postgres database when runs spread over machines: ledger_sql.py).

Why it comes first: a submission is written before the HTTP call and completed with the provider's
reference right after; every answer (with its raw payload) is written before any table is built from
it. So a run killed at any instant can be resumed: open jobs are polled again instead of being
resubmitted, a submit whose outcome is unknown is reconciled instead of repeated, and nothing paid
for is lost. It is one unit (one connection, one set of tables), longer than most modules here;
who holds which attempt (owners, orphans, unknown calls) lives in ledger_claims.py, webhook
deliveries in ledger_deliveries.py and what erasure needs in ledger_erasure.py: mixins sharing
its connection. Its tables and their versions are in ledger_schema.py.

States of a submission row (one row per person and provider attempt):
  intent     written before the HTTP call, by the process named in `owner`
  submitted  the provider accepted it; `submissions_json` holds what a poll needs
  refused    the provider (or the client, for missing inputs) refused it; nothing was charged
  unknown    the call failed after it may have reached the provider, or the process that made it
             died before recording the answer: reconcile, never resubmit blindly
  call_failed  the whole call was refused (credits, outage, bad request): nothing charged, retried
             next run
  completed  every job of it reached a terminal answer; its results are in `results`

The ledger itself keeps concurrent runs honest, on either database and across machines: its write
transactions are serialised by the database (ledger_sql.py) and at most one *active* row (intent,
submitted or unknown) per provider, person and day is allowed (a unique index), so a second run
never submits a person the first one holds; and an attempt's answers are stored once, however
many runs poll its jobs.
`chunk` names the submit call that carried a row, so an idempotent provider's call can be replayed
with exactly the same body (and so the same idempotency key).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from enrich_pipeline.spend.ledger_claims import ACTIVE_STATES, Claims, Intent, process_id
from enrich_pipeline.spend.ledger_deliveries import Deliveries
from enrich_pipeline.spend.ledger_erasure import ErasureRecords
from enrich_pipeline.spend.ledger_schema import migrate
from enrich_pipeline.spend.ledger_sql import LedgerDb, SqliteDb, connect
from enrich_pipeline.spend.pricing import price

ANSWERED = (RecordStatus.FOUND.value, RecordStatus.NOT_FOUND.value)
# Attempts whose answers one write transaction stores (record_results_of): one commit per person
# was a visible share of a large day's CPU; 500 keeps each transaction (and the write lock it
# holds against other runs) short.
RECORD_BATCH = 500
# What budgets count: reported and table costs as they are, a cost we only guessed (The Hog's
# `estimated`) or could not know (`unknown`) at the worst case of what was asked.
GUESSED_COSTS = (CostBasis.ESTIMATED, CostBasis.UNKNOWN)


class LedgerModeError(RuntimeError):
    """A live run pointed at a ledger a sandbox run made, or the reverse: its answers and open jobs
    belong to another world and must never be reused or polled."""


def budget_credits(provider: str, fields: Iterable[WantedField], result: EnrichmentResult) -> int:
    """Credits a budget counts for one answer (see GUESSED_COSTS)."""
    if result.cost_basis in GUESSED_COSTS and result.record_status is not RecordStatus.FAILED:
        return max(result.cost_credits or 0, sum(price(provider, f) for f in fields))
    return result.cost_credits or 0


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _fields_json(fields: Iterable[WantedField]) -> str:
    return json.dumps(sorted(f.value for f in fields))


@dataclass(frozen=True)
class OpenSubmission:
    """A person's accepted attempt whose jobs have not all answered yet."""

    id: int
    request: EnrichmentRequest
    submissions: tuple[Submission, ...]


@dataclass(frozen=True)
class Cached:
    """A person's reusable answers from this provider and the wanted fields they cover."""

    covered: frozenset[WantedField]
    results: list[EnrichmentResult]


@dataclass(frozen=True)
class StoredResult:
    submission_id: int
    day: str
    fields: frozenset[WantedField]
    result: EnrichmentResult


@dataclass(frozen=True, slots=True)
class SentAnswer:
    """What the day's figures read of a stored answer: its outcome, the email and its status, how
    many phones, whether a profile came. Read by SQL from the stored JSON, so a day's report never
    turns every answer (profile, positions, raw payload) back into a model (pipeline_scale.py: that
    was a tenth of the run's CPU at speed 1)."""

    provider_ref: str | None
    record_status: RecordStatus
    email: str | None = None
    email_status: EmailStatus | None = None
    phone_count: int = 0
    has_profile: bool = False
    cost_basis: CostBasis = CostBasis.UNKNOWN

    @classmethod
    def of(cls, result: EnrichmentResult) -> SentAnswer:
        return cls(
            result.provider_ref,
            result.record_status,
            result.email,
            result.email_status,
            len(result.phones),
            result.linkedin is not None,
            result.cost_basis,
        )


@dataclass(frozen=True)
class SentRequest:
    """One request the ledger holds as sent for a day, whichever run sent it: a person's submission
    to a provider that was accepted (`submitted`, `completed`) or may have been (`unknown`), with
    one of its answers. A submission with several provider references (enrich.so: one per product)
    gives one SentRequest per reference; one not answered yet (a pending job, an unknown submit)
    gives `result` None. `cost_credits` is the stored answer's cost as recorded (0 unanswered)."""

    submission_id: int
    day: str
    provider: str
    person_key: str
    state: str
    fields: frozenset[WantedField]
    provider_ref: str | None
    result: SentAnswer | None
    cost_credits: int


class Ledger(Claims, Deliveries, ErasureRecords):
    """`mode`: the world this ledger's answers come from. A new ledger is stamped with it; an
    existing one made in the other mode is refused (LedgerModeError). None: whatever it holds
    (tools that only read or erase)."""

    def __init__(self, where: Path | str, mode: Mode | None = None) -> None:
        """`where`: a SQLite file, or a postgresql:// URL (ENRICH_LEDGER_URL): see ledger_sql.py."""
        self._lock = threading.RLock()
        self._db: LedgerDb = connect(where)
        self.where = self._db.where  # for messages: never a password
        self.path: Path | None = self._db.path if isinstance(self._db, SqliteDb) else None
        try:
            migrate(self._db)
            self.mode = self._stamp(mode)
        except BaseException:
            self._db.close()
            raise

    def _stamp(self, mode: Mode | None) -> Mode | None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM ledger_meta WHERE key = 'mode'").fetchone()
            made = Mode(row[0]) if row else None
            if made is None and db.execute("SELECT 1 FROM submissions LIMIT 1").fetchone():
                # Older ledgers carry no stamp; without keys every run was a sandbox run.
                made = Mode.SANDBOX
            if made is None and mode is not None:
                made = mode
            if made is not None and row is None:
                db.execute("INSERT INTO ledger_meta (key, value) VALUES ('mode', ?)", (made.value,))
        if mode is not None and made is not mode:
            raise LedgerModeError(
                f"{self.where} holds {made} answers and this is a {mode} run: {made} answers are "
                f"never reused or polled in {mode} mode. Point ENRICH_STATE_DIR (and "
                f"ENRICH_WAREHOUSE_DIR) at a {mode} folder, or unset them for the defaults "
                "(data/state for sandbox, data/live/state for live)"
            )
        return made

    def _same_world(self, column: str) -> tuple[str, tuple[str, ...]]:
        """SQL (and params) keeping rows whose origin is this ledger's mode: a live run never
        reuses or polls a sandbox row, nor the reverse (rows from before origins: the stamp's)."""
        if self.mode is None:
            return "1 = 1", ()
        return (
            f"({column} IS NULL OR {column} = ? OR {column} LIKE ?)",
            (self.mode.value, f"{self.mode.value}:%"),
        )

    def _origin(self, host: str | None) -> str | None:
        if self.mode is None:
            return None
        return f"{self.mode.value}:{host}" if host else self.mode.value

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[LedgerDb]:
        """A write transaction: the ledger's only writer until it ends, in any process."""
        with self._lock, self._db.transaction() as db:
            yield db

    # -- writing, in the order a run does it -------------------------------------------------

    def record_intents(
        self,
        provider: str,
        day: str,
        requests: Sequence[EnrichmentRequest],
        *,
        host: str | None = None,
        planned_at: datetime | None = None,
    ) -> list[Intent]:
        """Before the HTTP call: one `intent` row per person, all in one chunk (this call). A person
        who already has an active attempt for this provider, this day or another (another run holds
        them, their submit is unknown, or an earlier day's job is not answered yet), is not
        claimed: the returned intents are the ones to send.
        `planned_at`: when the caller read the ledger to make its plan; a person another process
        claimed, or whose attempt another process completed, for this provider and day since then
        is not claimed either (an intent in flight at planning time is not yet an open job, and once
        completed it no longer blocks the claim: its answer is in the ledger, sending again would
        pay twice).
        `host`: the API host the call goes to, recorded with the mode as the row's `origin`."""
        now = _now()
        origin = self._origin(host)
        chunk = uuid.uuid4().hex
        owner = process_id()
        since = planned_at.astimezone(UTC).isoformat() if planned_at is not None else None
        intents: list[Intent] = []
        # Held: an active attempt on another day (its job may run: see held_on_other_days), or,
        # for this day, one another run claimed or completed since our plan was made.
        held = (
            "SELECT 1 FROM submissions WHERE provider = ? AND person_key = ? "
            f"AND ((day <> ? AND state IN {ACTIVE_STATES})"
        )
        if since is not None:
            held += (
                " OR (day = ? AND (created_at >= ? OR completed_at >= ?) "
                "AND (owner IS NULL OR owner <> ?))"
            )
        held += ") LIMIT 1"
        with self._tx() as db:
            for request in requests:
                params = (provider, request.person_key, day)
                if since is not None:
                    params += (day, since, since, owner)
                if db.execute(held, params).fetchone():
                    continue  # held elsewhere: another day's attempt, or another run since our plan
                inserted = db.execute(
                    "INSERT INTO submissions (provider, person_key, day, fields, request_json, "
                    "state, created_at, chunk, owner, origin) "
                    "VALUES (?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?) ON CONFLICT DO NOTHING "
                    "RETURNING id",
                    (
                        provider,
                        request.person_key,
                        day,
                        _fields_json(request.fields),
                        request.model_dump_json(),
                        now,
                        chunk,
                        owner,
                        origin,
                    ),
                ).fetchall()
                if inserted:  # else another run holds an active attempt of theirs
                    intents.append(Intent(int(inserted[0][0]), request, chunk))
        return intents

    def record_submitted(
        self, intents: Sequence[Intent], submissions: Sequence[Submission]
    ) -> None:
        """Right after the HTTP call: attach each person's Submission(s) to their intent."""
        by_person: dict[str, list[Submission]] = {}
        for submission in submissions:
            by_person.setdefault(submission.person_key, []).append(submission)
        now = _now()
        with self._tx() as db:
            for intent in intents:
                mine = by_person.get(intent.request.person_key, [])
                if not mine:
                    continue
                # No error = accepted: with a provider_ref to poll, or answered at once (The Hog's
                # synchronous 200 keeps its paid answer in `raw`; collect reads it from there).
                accepted = [s for s in mine if s.error is None]
                state = "submitted" if accepted else "refused"
                error = "; ".join(s.error for s in mine if s.error) or None
                db.execute(
                    "UPDATE submissions SET state = ?, provider_refs = ?, submissions_json = ?, "
                    "error = ?, submitted_at = ? WHERE id = ? AND state = 'intent'",
                    (
                        state,
                        json.dumps(sorted({s.provider_ref for s in accepted if s.provider_ref})),
                        json.dumps([s.model_dump(mode="json") for s in mine]),
                        error,
                        now,
                        intent.id,
                    ),
                )

    def mark(self, intents: Sequence[Intent], state: str, reason: str) -> None:
        """Intents whose call failed: `unknown` (may have been accepted) or `call_failed` (was not)."""
        assert state in ("unknown", "call_failed")
        with self._tx() as db:
            db.executemany(
                "UPDATE submissions SET state = ?, error = ? WHERE id = ? AND state = 'intent'",
                [(state, reason, intent.id) for intent in intents],
            )

    def record_results(self, submission_id: int, results: Sequence[EnrichmentResult]) -> None:
        """Store answers (raw payload included) and complete the attempt once none is pending."""
        self.record_results_of([(submission_id, results)])

    def record_results_of(
        self,
        answers: Sequence[tuple[int, Sequence[EnrichmentResult]]],
        *,
        per_transaction: int = RECORD_BATCH,
    ) -> None:
        """`record_results` for many attempts, `per_transaction` attempts per write transaction:
        a day of 10,000 people was 10,000 commits (and fsyncs) one after the other."""
        for start in range(0, len(answers), per_transaction):
            with self._tx() as db:
                for submission_id, results in answers[start : start + per_transaction]:
                    self._record_results(db, submission_id, results)

    def _record_results(
        self, db: LedgerDb, submission_id: int, results: Sequence[EnrichmentResult]
    ) -> None:
        answered = [r for r in results if r.record_status is not RecordStatus.PENDING]
        row = db.execute(
            "SELECT provider, person_key, day, fields, state FROM submissions WHERE id = ?",
            (submission_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no submission {submission_id} in the ledger {self.where}")
        provider, person, day, fields, state = row
        if state == "completed":
            return  # another run polled the same jobs and stored their answers first
        stored = {
            ref
            for (ref,) in db.execute(
                f"SELECT {db.json_text('result_json', 'provider_ref')} FROM results "
                "WHERE submission_id = ?",
                (submission_id,),
            )
            if ref
        }
        answered = [r for r in answered if not (r.provider_ref and r.provider_ref in stored)]
        for result in answered:
            db.execute(
                "INSERT INTO results (submission_id, provider, person_key, day, fields, "
                "record_status, cost_credits, budget_credits, fetched_at, result_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    submission_id,
                    provider,
                    person,
                    day,
                    fields,
                    result.record_status.value,
                    result.cost_credits,
                    budget_credits(provider, (WantedField(f) for f in json.loads(fields)), result),
                    result.fetched_at.isoformat(),
                    result.model_dump_json(),
                ),
            )
        if results and not any(r.record_status is RecordStatus.PENDING for r in results):
            db.execute(
                "UPDATE submissions SET state = 'completed', completed_at = ? WHERE id = ?",
                (_now(), submission_id),
            )

    def record_unattributed(
        self, provider: str, day: str, results: Sequence[EnrichmentResult]
    ) -> None:
        """Paid answers the client could not match to any person we sent (e.g. an enrich.so
        reverse-lookup row whose email is not echoed): kept under their own key, never dropped."""
        for result in results:
            ref = result.provider_ref or "unknown"
            key = result.person_key or f"unattributed:{ref}"
            claimed = self.record_intents(
                provider, day, [EnrichmentRequest(person_key=key, fields=frozenset())]
            )
            if not claimed:  # the person has an attempt of their own in flight or unknown
                key = f"unattributed:{key}:{ref}"
                claimed = self.record_intents(
                    provider, day, [EnrichmentRequest(person_key=key, fields=frozenset())]
                )
            [intent] = claimed
            with self._tx() as db:
                db.execute(
                    "UPDATE submissions SET state = 'submitted', error = ? WHERE id = ?",
                    ("answer not attributable to a submitted person", intent.id),
                )
            self.record_results(intent.id, [result.model_copy(update={"person_key": key})])

    # -- reading -------------------------------------------------------------------------------

    def open_submissions(
        self, provider: str, day: str, chunks: Sequence[str] | None = None
    ) -> list[OpenSubmission]:
        """The day's open attempts, oldest first; `chunks`: only those of these submit calls."""
        where = ""
        if chunks is not None:
            if not chunks:
                return []
            where = f" AND coalesce(chunk, '') IN ({', '.join('?' for _ in chunks)})"
        with self._lock:
            world, params = self._same_world("origin")
            rows = self._db.execute(
                "SELECT id, request_json, submissions_json FROM submissions "
                f"WHERE provider = ? AND day = ? AND state = 'submitted' AND {world}{where} "
                "ORDER BY id",
                (provider, day, *params, *(chunks or ())),
            ).fetchall()
        return [
            OpenSubmission(
                row[0],
                EnrichmentRequest.model_validate_json(row[1]),
                tuple(Submission.model_validate(s) for s in json.loads(row[2] or "[]")),
            )
            for row in rows
        ]

    def open_windows(
        self, provider: str, day: str, people: int, chunks: Sequence[str] | None = None
    ) -> list[list[str]]:
        """The day's open attempts as windows of whole submit calls (chunks), oldest first, each of
        about `people` people (one call more than that when a single call holds more). A provider
        job never spans two calls, so a window can be collected on its own: collecting window by
        window bounds what is held in memory by the window, not by the day. `chunks`: only these
        calls (another day's, holding people a run of a later day wants)."""
        where, wanted = "", tuple(chunks or ())
        if chunks is not None:
            if not chunks:
                return []
            where = f" AND coalesce(chunk, '') IN ({', '.join('?' for _ in wanted)})"
        with self._lock:
            world, params = self._same_world("origin")
            rows = self._db.execute(
                "SELECT coalesce(chunk, ''), count(*) FROM submissions "
                f"WHERE provider = ? AND day = ? AND state = 'submitted' AND {world}{where} "
                "GROUP BY coalesce(chunk, '') ORDER BY min(id)",
                (provider, day, *params, *wanted),
            ).fetchall()
        windows: list[list[str]] = []
        size = 0
        for chunk, count in rows:
            if not windows or (size and size + count > people):
                windows.append([])
                size = 0
            windows[-1].append(chunk)
            size += count
        return windows

    def defer_unserved(self, provider: str, day: str, people: Iterable[str], reason: str) -> None:
        """Completed attempts of `day` whose answers the provider gave without serving them (out of
        credits) become `call_failed`: their answers stay for the record but are never reused, so
        the people are asked again next run, and count no credits (a provider cannot take what the
        balance does not hold; lemlist reports no receipt, so its table price is only a guess)."""
        rows = [(provider, day, person) for person in people]
        with self._tx() as db:
            db.executemany(
                "UPDATE results SET cost_credits = 0, budget_credits = 0 WHERE submission_id IN (SELECT id FROM "
                "submissions WHERE provider = ? AND day = ? AND person_key = ? "
                "AND state = 'completed')",
                rows,
            )
            db.executemany(
                "UPDATE submissions SET state = 'call_failed', error = ? WHERE provider = ? "
                "AND day = ? AND person_key = ? AND state = 'completed'",
                [(reason, *row) for row in rows],
            )

    def people_in_state(self, provider: str, day: str, state: str) -> dict[str, str]:
        """person_key -> recorded reason, for this provider's attempts of `day` in `state`
        (`refused`: the provider said no to the person; `call_failed`: the call carrying them was
        refused, e.g. credits; `unknown`: the call may have been accepted — reconcile, not repeat)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT person_key, error FROM submissions WHERE provider = ? AND day = ? "
                "AND state = ? ORDER BY id",
                (provider, day, state),
            ).fetchall()
        return {person: error or state for person, error in rows}

    def fresh_answers(
        self,
        provider: str,
        requests: Sequence[EnrichmentRequest],
        *,
        ttl: timedelta,
        retry_failed_after: timedelta = timedelta(hours=24),
        now: datetime | None = None,
    ) -> dict[str, Cached]:
        """Answers this provider gave within `ttl` to fields now wanted, field by field: the newest
        attempt for each field (an answer to email and phone is reused for phone alone, and an
        answer to phone plus a later one to email together cover both). A person whose `covered`
        is short of what is wanted is asked only for the rest: nothing answered is bought twice.

        A failure is reused while it was paid for (asking again would pay twice) or is younger than
        `retry_failed_after` (default 0: an unpaid failed job is asked again on the next run — the
        providers charge nothing for a job that failed, and it may have been transient)."""
        moment = now or datetime.now(UTC)
        since = (moment - ttl).isoformat()
        retry_since = (moment - retry_failed_after).isoformat()
        wanted = {r.person_key: {f.value for f in r.fields} for r in requests}
        hits: dict[str, Cached] = {}
        world, world_params = self._same_world("s.origin")
        with self._lock:
            for chunk_start in range(0, len(requests), 500):
                keys = [r.person_key for r in requests[chunk_start : chunk_start + 500]]
                marks = ",".join("?" * len(keys))
                # Without their raw payloads: a reused answer becomes an attempt, which keeps
                # none, and a re-run of a large day would otherwise hold every payload at once.
                rows = self._db.execute(
                    f"SELECT person_key, submission_id, fields, "
                    f"{self._db.json_without('result_json', 'raw')}, record_status, "
                    f"COALESCE(cost_credits, 0), fetched_at FROM results "
                    f"WHERE provider = ? AND person_key IN ({marks}) "
                    f"AND fetched_at >= ? AND record_status IN ('found', 'not_found', 'failed') "
                    f"AND EXISTS (SELECT 1 FROM submissions s WHERE s.id = submission_id "
                    f"AND s.state <> 'call_failed' AND {world}) "
                    f"ORDER BY fetched_at DESC, id DESC",
                    (provider, *keys, since, *world_params),
                ).fetchall()
                chosen: dict[str, list[int]] = {}
                covered: dict[str, set[str]] = {}
                for person, submission_id, fields, _, status, cost, fetched in rows:
                    reusable = status != "failed" or cost > 0 or fetched >= retry_since
                    adds = set(json.loads(fields)) & wanted[person] - covered.get(person, set())
                    if reusable and adds and submission_id not in chosen.get(person, []):
                        chosen.setdefault(person, []).append(submission_id)  # newest first
                        covered.setdefault(person, set()).update(adds)
                # The failed parts of a chosen attempt are replayed with it: dropped, the rest would
                # read as "not found" and move the person on to the next provider (paying twice).
                for person, submission_id, _, result_json, *_ in rows:
                    if submission_id in chosen.get(person, []):
                        cached = hits.setdefault(
                            person,
                            Cached(frozenset(WantedField(f) for f in covered[person]), []),
                        )
                        cached.results.append(EnrichmentResult.model_validate_json(result_json))
        return hits

    def results(self, *, day: str | None = None, provider: str | None = None) -> list[StoredResult]:
        """Every stored answer (optionally of one day / provider): rebuilds need nothing else."""
        clauses, params = [], []
        if day is not None:
            clauses.append("day = ?")
            params.append(day)
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT submission_id, day, fields, result_json FROM results {where} ORDER BY id",
                params,
            ).fetchall()
        return [
            StoredResult(
                sid,
                row_day,
                frozenset(WantedField(f) for f in json.loads(fields)),
                EnrichmentResult.model_validate_json(result_json),
            )
            for sid, row_day, fields, result_json in rows
        ]

    def sent_requests(self, day: str, provider: str | None = None) -> list[SentRequest]:
        """What `day` paid for, read-only: every request sent for the day (states `submitted`,
        `unknown`, `completed`; never `intent`, `refused` or `call_failed`, which nothing was
        charged for) with its stored answers, however many runs of the day there were. An answer comes
        as its `SentAnswer` summary, read in SQL: nothing that reads this needs the profile or the
        raw payload, and on a large day they were most of the memory and CPU of the step that asked
        (pipeline_scale.py)."""
        return list(self.iter_sent_requests(day, provider))

    def iter_sent_requests(
        self, day: str, provider: str | None = None, *, page: int = 2_000
    ) -> Iterator[SentRequest]:
        """`sent_requests`, read `page` submissions at a time: a reader that turns them into a
        table as it goes holds one page of answers, not the day's."""
        clauses, params = ["day = ?", "state IN ('submitted', 'unknown', 'completed')"], [day]
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        after = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT s.id, s.provider, s.person_key, s.state, s.fields, s.provider_refs, "
                    f"r.id, {self._answer_columns('r.result_json')}, COALESCE(r.cost_credits, 0) "
                    "FROM submissions AS s LEFT JOIN results AS r ON r.submission_id = s.id "
                    "WHERE s.id IN (SELECT id FROM submissions "
                    f"WHERE {' AND '.join(clauses)} AND id > ? ORDER BY id LIMIT ?) "
                    "ORDER BY s.id, r.id",
                    [*params, after, page],
                ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield from _sent_of(day, rows)

    def _answer_columns(self, column: str) -> str:
        """SQL for the SentAnswer fields, in their order, of the stored answer in `column`."""
        text = self._db.json_text
        return ", ".join(
            [
                *(
                    text(column, k)
                    for k in ("provider_ref", "record_status", "email", "email_status")
                ),
                f"COALESCE({self._db.json_length(column, 'phones')}, 0)",
                f"CASE WHEN {text(column, 'linkedin')} IS NULL THEN 0 ELSE 1 END",
                text(column, "cost_basis"),
            ]
        )

    def counts(self) -> dict[str, int]:
        """Rows per submission state plus results: for summaries and tests."""
        with self._lock:
            states = dict(
                self._db.execute(
                    "SELECT state, COUNT(*) FROM submissions GROUP BY state"
                ).fetchall()
            )
            states["results"] = self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        return states

    def credits_by_basis(self) -> dict[CostBasis, int]:
        """Credits of every stored answer by cost basis: what providers reported or documented
        prices say apart from what we only estimated (The Hog) or could not know."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._db.json_text('result_json', 'cost_basis')}, "
                "COALESCE(SUM(cost_credits), 0) FROM results GROUP BY 1"
            ).fetchall()
        totals = dict.fromkeys(CostBasis, 0)
        for basis, credits in rows:
            totals[CostBasis(basis or CostBasis.UNKNOWN.value)] += int(credits)
        return totals

    def credits_spent(
        self,
        *,
        day: str | None = None,
        provider: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """Credits of stored answers as recorded (reported, table or estimated), optionally of one
        day, one provider, answered since a moment."""
        return self._sum("cost_credits", day=day, provider=provider, since=since)

    def credits_committed(
        self,
        *,
        day: str | None = None,
        provider: str | None = None,
        since: datetime | None = None,
    ) -> int:
        """What budgets count: credits_spent, but a guessed cost (GUESSED_COSTS) at the worst case
        of what was asked, so a budget holds even if our guess of The Hog's prices is low."""
        return self._sum(
            "COALESCE(budget_credits, cost_credits)", day=day, provider=provider, since=since
        )

    def _sum(
        self, column: str, *, day: str | None, provider: str | None, since: datetime | None
    ) -> int:
        clauses, params = ["1 = 1"], []
        if since is not None:
            clauses.append("fetched_at >= ?")
            params.append(since.astimezone(UTC).isoformat())
        if day is not None:
            clauses.append("day = ?")
            params.append(day)
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        with self._lock:
            value = self._db.execute(
                f"SELECT COALESCE(SUM({column}), 0) FROM results WHERE {' AND '.join(clauses)}",
                params,
            ).fetchone()[0]
        return int(value)


def _sent_of(day: str, rows: Sequence[tuple[Any, ...]]) -> Iterator[SentRequest]:
    """SentRequests of submission rows joined with their results (ordered by submission): the
    submission's columns, the result's id (NULL: none yet), its `_answer_columns`, its cost."""
    by_submission: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_submission.setdefault(row[0], []).append(row)
    for sid, answers in by_submission.items():
        provider_name, person, state, fields_json, refs_json = answers[0][1:6]
        fields = frozenset(WantedField(f) for f in json.loads(fields_json))
        results = [(_answer(row[7:14]), int(row[14])) for row in answers if row[6] is not None]
        answered = {result.provider_ref for result, _ in results}
        pending = [
            ref
            for ref in json.loads(refs_json or "[]")
            if ref not in answered and state != "completed"
        ]
        requests = [(r.provider_ref, r, cost) for r, cost in results]
        requests += [(ref, None, 0) for ref in pending]
        for ref, result, cost in requests or [(None, None, 0)]:
            yield SentRequest(sid, day, provider_name, person, state, fields, ref, result, cost)


def _answer(columns: Sequence[Any]) -> SentAnswer:
    ref, status, email, email_status, phones, profile, basis = columns
    return SentAnswer(
        ref,
        RecordStatus(status),
        email,
        EmailStatus(email_status) if email_status else None,
        int(phones),
        bool(profile),
        CostBasis(basis) if basis else CostBasis.UNKNOWN,
    )
