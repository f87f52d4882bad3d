"""Who holds which attempt: intents and the process that wrote them, intents orphaned by a dead
run, submit calls of unknown outcome (to replay or to leave to the user), and what is unsettled.
A mixin of `Ledger`: it shares the ledger's one connection and its transactions.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from enrich_pipeline.model import EnrichmentRequest
from enrich_pipeline.spend.ledger_sql import LedgerDb

# An intent row whose owner runs on another machine is taken as abandoned after this long (its
# process cannot be asked directly); on this machine the owner's pid is checked instead.
FOREIGN_INTENT_LEASE = timedelta(minutes=30)


def process_id() -> str:
    """Who owns the intents this process writes: `pid@host`."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _owner_alive(owner: str | None, created_at: str, now: datetime) -> bool:
    pid, _, host = (owner or "").partition("@")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return datetime.fromisoformat(created_at) > now - FOREIGN_INTENT_LEASE


@dataclass(frozen=True)
class Intent:
    id: int
    request: EnrichmentRequest
    chunk: str = ""  # the submit call that carries it (replays reuse it as the attempt's name)


@dataclass(frozen=True)
class UnsettledAttempt:
    provider: str
    day: str
    person_key: str
    state: str  # unknown | submitted | intent
    reason: str
    provider_refs: tuple[str, ...]
    created_at: str


# An attempt in one of these states may still be answered, so its person is not sent again: at most
# one per provider, person and day (the one_active_attempt index) and none on another day
# (`record_intents` checks it inside its write transaction, which is the ledger's only writer).
ACTIVE_STATES = "('intent', 'submitted', 'unknown')"


@dataclass(frozen=True)
class HeldAttempt:
    """A person's active attempt on another day: what holds them back from a new submit."""

    day: str
    state: str  # intent | submitted | unknown
    reason: str
    chunk: str


@dataclass(frozen=True)
class UnknownChunk:
    """One submit call whose outcome is unknown, as it was sent: replaying exactly these requests
    in this order rebuilds the same body (and so the same idempotency key)."""

    chunk: str
    intents: tuple[Intent, ...]
    reason: str


class Claims:
    _db: LedgerDb
    _lock: threading.RLock
    _tx: Callable[[], AbstractContextManager[LedgerDb]]

    def release_orphans(self, provider: str, day: str) -> int:
        """Intents whose process died between recording them and recording the provider's answer
        (kill -9, power loss) become `unknown`: the submit may have reached the provider."""
        now = datetime.now(UTC)
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, owner, created_at FROM submissions "
                "WHERE provider = ? AND day = ? AND state = 'intent'",
                (provider, day),
            ).fetchall()
            dead = [row_id for row_id, owner, at in rows if not _owner_alive(owner, at, now)]
            db.executemany(
                "UPDATE submissions SET state = 'unknown', error = ? WHERE id = ? "
                "AND state = 'intent'",
                [
                    (
                        "the run submitting this stopped before the provider's answer was "
                        "recorded (killed or crashed); the submit may have been accepted",
                        row_id,
                    )
                    for row_id in dead
                ],
            )
        return len(dead)

    def unknown_chunks(self, provider: str, day: str) -> list[UnknownChunk]:
        """Submit calls of `day` with people still `unknown`, oldest first, each with those people
        only, in the order they were sent. One runner submit can be several provider calls (The
        Hog: one per set of fields, at most 100 identifiers each): when a later call was lost, the
        people of the answered calls are `submitted` and only the rest are unknown. The answered
        calls are whole blocks of their set of fields, so the unknown people, resent in order under
        the same attempt, split into the very calls that were lost: same bodies, same keys."""
        with self._lock:
            rows = self._db.execute(
                "SELECT coalesce(chunk, ''), id, request_json, error FROM submissions "
                "WHERE provider = ? AND day = ? AND state = 'unknown' ORDER BY id",
                (provider, day),
            ).fetchall()
        chunks: dict[str, list[tuple[int, str, str | None]]] = {}
        for chunk, row_id, request_json, error in rows:
            chunks.setdefault(chunk, []).append((row_id, request_json, error))
        return [
            UnknownChunk(
                chunk,
                tuple(
                    Intent(row_id, EnrichmentRequest.model_validate_json(request_json), chunk)
                    for row_id, request_json, _ in members
                ),
                members[0][2] or "unknown",
            )
            for chunk, members in chunks.items()
        ]

    def held_on_other_days(
        self, provider: str, day: str, people: Iterable[str]
    ) -> dict[str, HeldAttempt]:
        """Of `people`, those with an active attempt (`intent`, `submitted`, `unknown`) for this
        provider on another day than `day`: a person is never sent to a provider while an earlier
        request of theirs may still be answered (its job may have run: sending again pays twice)."""
        keys = list(dict.fromkeys(people))
        held: dict[str, HeldAttempt] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                rows = self._db.execute(
                    "SELECT person_key, day, state, COALESCE(error, ''), COALESCE(chunk, '') "
                    "FROM submissions WHERE provider = ? AND day <> ? "
                    f"AND state IN {ACTIVE_STATES} "
                    f"AND person_key IN ({', '.join('?' for _ in part)}) ORDER BY id",
                    (provider, day, *part),
                ).fetchall()
                for person, other_day, state, reason, chunk in rows:
                    held[person] = HeldAttempt(other_day, state, reason, chunk)
        return held

    def unknown_attempts(self, provider: str, day: str) -> tuple[list[Intent], str | None]:
        """Attempts of `day` in `unknown`, and when the oldest was written (ISO time)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, request_json, created_at FROM submissions "
                "WHERE provider = ? AND day = ? AND state = 'unknown' ORDER BY id",
                (provider, day),
            ).fetchall()
        intents = [
            Intent(row_id, EnrichmentRequest.model_validate_json(r)) for row_id, r, _ in rows
        ]
        return intents, min((created for *_, created in rows), default=None)

    def take_back(self, intents: Iterable[Intent]) -> list[Intent]:
        """Unknown attempts this process will now resolve (adopt or replay): back to `intent`, owned
        by this process. Returns those it took (another run may have taken some first)."""
        taken: list[Intent] = []
        with self._tx() as db:
            for intent in intents:
                if db.execute(
                    "UPDATE submissions SET state = 'intent', owner = ? "
                    "WHERE id = ? AND state = 'unknown'",
                    (process_id(), intent.id),
                ).rowcount:
                    taken.append(intent)
        return taken

    def reclaim(self, chunk: UnknownChunk) -> bool:
        """Take an unknown chunk back to `intent` to replay it (idempotent providers only). False
        when another run took it first."""
        with self._tx() as db:
            changed = db.execute(
                "UPDATE submissions SET state = 'intent', owner = ? "
                "WHERE chunk = ? AND state = 'unknown'",
                (process_id(), chunk.chunk),
            ).rowcount
        return changed == len(chunk.intents)

    def resubmit_unknown(self, provider: str, day: str) -> int:
        """The user's explicit choice (`enrich-pipeline reconcile --resubmit`): unknown attempts
        become `call_failed`, so the next run submits those people again — and may pay twice."""
        with self._tx() as db:
            return db.execute(
                "UPDATE submissions SET state = 'call_failed', error = 'resubmitted by the user: ' "
                "|| COALESCE(error, '') WHERE provider = ? AND day = ? AND state = 'unknown'",
                (provider, day),
            ).rowcount

    def held_elsewhere(self, provider: str, day: str, people: Iterable[str]) -> set[str]:
        """Of `people`, those whose intent another live process holds (a concurrent run)."""
        wanted = set(people)
        mine = process_id()
        with self._lock:
            rows = self._db.execute(
                "SELECT person_key, owner FROM submissions WHERE provider = ? AND day = ? "
                "AND state = 'intent'",
                (provider, day),
            ).fetchall()
        return {person for person, owner in rows if person in wanted and owner != mine}

    def unsettled(
        self, *, provider: str | None = None, day: str | None = None
    ) -> list[UnsettledAttempt]:
        """Attempts still waiting on something: `unknown` submits (reconcile), `submitted` jobs
        without a final answer (stuck or still running), `intent` rows of a live run."""
        clauses, params = ["state IN ('unknown', 'submitted', 'intent')"], []
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        if day is not None:
            clauses.append("day = ?")
            params.append(day)
        with self._lock:
            rows = self._db.execute(
                "SELECT provider, day, person_key, state, COALESCE(error, ''), "
                "COALESCE(provider_refs, '[]'), created_at FROM submissions "
                f"WHERE {' AND '.join(clauses)} ORDER BY provider, day, id",
                params,
            ).fetchall()
        return [
            UnsettledAttempt(p, d, person, state, error, tuple(json.loads(refs)), created)
            for p, d, person, state, error, refs, created in rows
        ]

    def known_refs(self, provider: str, *, since: str) -> set[str]:
        """Provider references (jobs, batches) of attempts written at or after `since`: a webhook
        naming one of them belongs to an attempt we already know."""
        with self._lock:
            rows = self._db.execute(
                "SELECT provider_refs FROM submissions WHERE provider = ? AND created_at >= ? "
                "AND provider_refs IS NOT NULL",
                (provider, since),
            ).fetchall()
        return {ref for (refs,) in rows for ref in json.loads(refs)}
