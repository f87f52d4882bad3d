"""Pacing shared by every process that uses one state folder: a sliding-window log in SQLite.

Providers count requests per key (enrich.so per organisation) across all our processes, so the pace
has to be kept where all of them see it. It lives in `pacing.sqlite` next to the ledger
(`<state dir>/pacing.sqlite`), not inside `ledger.sqlite`: every HTTP request writes here twice, up
to hundreds of times a second across processes, and would otherwise queue behind the ledger's own
write transactions (and its 60 s lock timeout, VACUUM after `forget`); this state is disposable
(deleting the file is always safe) and holds nothing a ledger backup wants. Same folder, so every
run, worker and re-run that shares a ledger shares the pace.

One row per send and rule (`scope` = provider, a short hash of the key — never the key — bucket and
rule; enrich.so's limits are per organisation, so its scope is the provider alone). Reserving a send
is one short `BEGIN IMMEDIATE` transaction: count the sends of every rule still inside their window;
when all have room, insert one row per rule, else commit nothing and sleep until the earliest slot
can free, then look again.

The window boundary is taken conservatively. A provider counts a request when it *arrives*, which
is somewhere between our send and its answer: a process descheduled between reserving and sending
(a loaded machine) would have its request arrive late, and a window counted from the send time
would let the next one arrive less than a window after it. So a row is *in flight* from the
reservation until the answer (or error) comes back, and only then gets its end: answer time +
window (+ a small safety share). In flight it counts as occupying a slot (an in-flight send may
still arrive at any moment); a process killed mid-request leaves a row that expires on its own
after the request timeout. The cost is the request's latency once per window (a few ms locally);
the gain is zero 429s whatever the scheduling delay.

Clock: wall time (time.time), the only clock every process (and a re-run after a reboot) shares.
A row that ends further in the future than it could (the clock was set back) is moved to end one
window from now; a hold further away than MAX_HOLD_S is dropped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("enrich_pipeline.providers")

FILE_NAME = "pacing.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS pacing_sends (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    until REAL NOT NULL,      -- wall time this send stops counting (in flight: its deadline)
    inflight INTEGER NOT NULL -- 1 until the answer (or error) came back
);
CREATE INDEX IF NOT EXISTS pacing_sends_by_scope ON pacing_sends (scope, until);
CREATE TABLE IF NOT EXISTS pacing_holds (
    scope TEXT PRIMARY KEY,
    until REAL NOT NULL       -- nobody sends on this scope before (a 429's Retry-After)
);
"""
# Safety share on top of the conservative boundary: windows a little longer than documented.
MARGIN = 0.005
MARGIN_S = 0.001
MAX_HOLD_S = 600.0  # a hold further away than this is a clock that jumped, not a Retry-After


@dataclass(frozen=True, slots=True)
class SharedRule:
    """At most `limit` sends per `window_s` (documented, before margins) in `scope`."""

    scope: str
    limit: int
    window_s: float


@dataclass(slots=True)
class Reservation:
    """Rows reserved for one send (one per rule); `settle` gives them their end."""

    ids: list[int]
    windows: list[float]  # the effective window of each row's rule
    waited_s: float


class SharedPacer:
    """Reserves send slots in `<state dir>/pacing.sqlite`; one per file and process (`shared_pacer_at`)."""

    def __init__(
        self,
        path: Path,
        *,
        margin: float = MARGIN,
        margin_s: float = MARGIN_S,
        inflight_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.margin = margin
        self.margin_s = margin_s
        self.inflight_s = inflight_s  # longest a request can be in flight (timeouts bound it)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection()  # fail here, not on the first request

    def window(self, rule: SharedRule) -> float:
        return rule.window_s * (1 + self.margin) + self.margin_s

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (a forked child opens its own)."""
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(
                self.path, timeout=30, check_same_thread=False, isolation_level=None
            )
            # Processes starting together race to create the file and switch it to WAL; that
            # switch answers "locked" at once instead of waiting, so it is tried again (briefly).
            for attempt in range(1, 101):
                try:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=NORMAL")  # no fsync per commit: disposable
                    db.executescript(SCHEMA)
                    break
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 100:
                        db.close()
                        raise
                    time.sleep(0.001 * min(attempt, 20))
            self._db, self._pid = db, os.getpid()
        return self._db

    def _wait(self, db: sqlite3.Connection, rule: SharedRule, now: float) -> float:
        """Seconds until `rule` has room (0: now). A row's end is at most one window away: an
        in-flight row may be answered at any moment, a later end is a clock set back."""
        window = self.window(rule)
        cap = now + window
        # Ends further away than they can be (answered rows: a window; in-flight ones: their
        # deadline) mean the clock was set back: they end one window (deadline) from now.
        db.execute(
            "UPDATE pacing_sends SET until = ? WHERE scope = ? AND inflight = 0 AND until > ?",
            (cap, rule.scope, cap),
        )
        deadline = now + self.inflight_s + window
        db.execute(
            "UPDATE pacing_sends SET until = ? WHERE scope = ? AND inflight = 1 AND until > ?",
            (deadline, rule.scope, deadline),
        )
        db.execute(
            "DELETE FROM pacing_holds WHERE scope = ? AND until > ?", (rule.scope, now + MAX_HOLD_S)
        )
        (used,) = db.execute(
            "SELECT COUNT(*) FROM pacing_sends WHERE scope = ? AND until > ?", (rule.scope, now)
        ).fetchone()
        wait = 0.0
        if used >= rule.limit:
            (free_at,) = db.execute(
                "SELECT MIN(until, ?) AS free_at FROM pacing_sends WHERE scope = ? AND until > ? "
                "ORDER BY free_at LIMIT 1 OFFSET ?",
                (cap, rule.scope, now, used - rule.limit),
            ).fetchone()
            wait = free_at - now
        row = db.execute("SELECT until FROM pacing_holds WHERE scope = ?", (rule.scope,)).fetchone()
        if row is not None:
            wait = max(wait, row[0] - now)
        return max(wait, 0.0)

    def acquire(self, rules: Sequence[SharedRule]) -> Reservation:
        """Block until every rule has room, then reserve one in-flight row per rule at once."""
        waited = 0.0
        while True:
            with self._lock:
                db = self._connection()
                db.execute("BEGIN IMMEDIATE")
                try:
                    now = self._clock()
                    wait = max((self._wait(db, rule, now) for rule in rules), default=0.0)
                    ids: list[int] = []
                    if wait <= 0:
                        for rule in rules:
                            db.execute(
                                "DELETE FROM pacing_sends WHERE scope = ? AND until <= ?",
                                (rule.scope, now),
                            )
                            cursor = db.execute(
                                "INSERT INTO pacing_sends (scope, until, inflight) VALUES (?, ?, 1)",
                                (rule.scope, now + self.inflight_s + self.window(rule)),
                            )
                            ids.append(int(cursor.lastrowid or 0))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            if wait <= 0:
                return Reservation(ids, [self.window(r) for r in rules], waited)
            self._sleep(wait)
            waited += wait

    def settle(self, reservation: Reservation) -> None:
        """The answer (or error) is back: the send counts for one window from now."""
        if not reservation.ids:
            return
        with self._lock:
            db = self._connection()
            now = self._clock()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "UPDATE pacing_sends SET until = ?, inflight = 0 WHERE id = ?",
                    [
                        (now + w, i)
                        for i, w in zip(reservation.ids, reservation.windows, strict=True)
                    ],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def hold(self, scopes: Sequence[str], seconds: float) -> None:
        """After a 429: nobody, in any process, sends on these scopes for `seconds`."""
        with self._lock:
            db = self._connection()
            until = self._clock() + seconds
            db.executemany(
                "INSERT INTO pacing_holds (scope, until) VALUES (?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET until = MAX(until, excluded.until)",
                [(scope, until) for scope in scopes],
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None


_pacers: dict[tuple[Path, int], SharedPacer] = {}
_pacers_lock = threading.Lock()


def shared_pacer_at(state_dir: Path | str) -> SharedPacer | None:
    """The process's pacer for `<state_dir>/pacing.sqlite`, or None when it cannot be opened (the
    caller then paces in process, as before)."""
    path = (Path(state_dir) / FILE_NAME).resolve()
    key = (path, os.getpid())
    with _pacers_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            try:
                pacer = _pacers[key] = SharedPacer(path)
            except (OSError, sqlite3.Error) as exc:
                log.warning("shared pacing unavailable at %s (%s); pacing in process", path, exc)
                return None
        return pacer
