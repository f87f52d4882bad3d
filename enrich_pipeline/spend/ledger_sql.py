"""Where the ledger's rows live: one connection to a SQLite file or to a Postgres database, and the
few places where the two speak SQL differently. Everything else is written once.

The ledger writes its statements in the spelling both databases accept (`?` placeholders, `ON
CONFLICT DO NOTHING`, `RETURNING id`); the Postgres connection only turns `?` into psycopg's `%s`.
What differs in meaning lives here and nowhere else:

* a write transaction: SQLite's `BEGIN IMMEDIATE` takes the one write lock of the file; on Postgres
  every write transaction first takes one transaction-scoped advisory lock (`WRITE_LOCK`), so the
  ledger's writers are serialised exactly as on SQLite, across processes and machines. Reads never
  wait (MVCC), and each statement of a write transaction sees every write committed before it.
* the id column, a JSON field, a substring test, the column list of a table, and compaction.

psycopg is imported only when a Postgres URL is opened: the SQLite default does not pay for it.
"""

from __future__ import annotations

import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")
# Any constant names "the ledger's write lock" among a database's advisory locks (64-bit key).
WRITE_LOCK = 0x6C_65_64_67_65_72  # "ledger"
# A compaction waits this long for other connections' locks before giving up (returns False).
COMPACT_LOCK_TIMEOUT = "5s"


class LedgerUnavailable(RuntimeError):
    """The ledger's database cannot be opened (bad URL, server down, wrong credentials)."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


def is_postgres_url(where: Path | str) -> bool:
    return isinstance(where, str) and where.split(":", 1)[0].lower() in POSTGRES_SCHEMES


def redact_url(url: str) -> str:
    """The URL with its password masked: safe in messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class LedgerDb(ABC):
    """One connection: SQL in the shared spelling in, plain tuples out."""

    where: str  # for messages: a file path, or a Postgres URL without its password
    id_column: str  # DDL of an auto-numbered primary key that also takes explicit ids (copies)

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[LedgerDb]:
        """A write transaction: the only writer of this ledger until it ends."""

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of top-level `key` of the JSON document in `column`."""

    @abstractmethod
    def json_without(self, column: str, key: str) -> str:
        """SQL for the JSON document in `column` without its top-level `key`, as text."""

    @abstractmethod
    def json_length(self, column: str, key: str) -> str:
        """SQL for the length of the array at top-level `key` of the JSON document in `column`."""

    @abstractmethod
    def contains(self, text_sql: str) -> str:
        """SQL true when `text_sql` contains the next `?` parameter."""

    @abstractmethod
    def columns(self, table: str) -> set[str]: ...

    @abstractmethod
    def ids_taken(self, table: str) -> None:
        """After rows were written with explicit ids (a copy): new rows number on from the highest.
        SQLite's INTEGER PRIMARY KEY always does; a Postgres identity must be told."""

    @abstractmethod
    def compact(self, tables: Sequence[str]) -> bool:
        """Rewrite `tables` so deleted rows leave no bytes behind; False when another connection
        kept it from finishing."""

    @contextmanager
    def erasing(self) -> Iterator[None]:
        """Around an erasure's deletes (SQLite overwrites deleted content while it is on)."""
        yield

    @abstractmethod
    def close(self) -> None: ...


class SqliteDb(LedgerDb):
    id_column = "INTEGER PRIMARY KEY"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.raw = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self.raw.execute("PRAGMA journal_mode=WAL")
        self.raw.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process kill
        self.raw.execute("PRAGMA foreign_keys=ON")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[LedgerDb]:
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def json_without(self, column: str, key: str) -> str:
        return f"json_remove({column}, '$.{key}')"

    def json_length(self, column: str, key: str) -> str:
        return f"json_array_length({column}, '$.{key}')"

    def contains(self, text_sql: str) -> str:
        return f"instr({text_sql}, ?) > 0"

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.raw.execute(f"PRAGMA table_info({table})")}

    @contextmanager
    def erasing(self) -> Iterator[None]:
        self.raw.execute("PRAGMA secure_delete=ON")
        try:
            yield
        finally:
            self.raw.execute("PRAGMA secure_delete=OFF")

    def ids_taken(self, table: str) -> None:
        pass  # INTEGER PRIMARY KEY numbers on from the highest id by itself

    def compact(self, tables: Sequence[str]) -> bool:
        try:
            self.raw.execute("VACUUM")
        except sqlite3.OperationalError:
            return False
        busy, _, _ = self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return bool(busy == 0)

    def close(self) -> None:
        self.raw.close()


_PLACEHOLDER = re.compile(r"'[^']*'|%|\?")


def to_psycopg(sql: str) -> str:
    """`?` -> `%s` and `%` -> `%%` outside quoted literals (psycopg's placeholder syntax)."""
    return _PLACEHOLDER.sub(
        lambda m: {"?": "%s", "%": "%%"}.get(m.group(0), m.group(0).replace("%", "%%")), sql
    )


class PostgresDb(LedgerDb):
    id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def __init__(self, url: str) -> None:
        import psycopg  # only a Postgres ledger needs it

        self.where = redact_url(url)
        try:
            self.raw = psycopg.connect(url, autocommit=True, connect_timeout=30)
        except psycopg.Error as exc:
            secret = urlsplit(url).password
            reason = str(exc).replace(secret, "***") if secret else str(exc)
            raise LedgerUnavailable(
                f"cannot open the ledger at {self.where}: {reason.strip()}. Check that the server "
                "is up and that ENRICH_LEDGER_URL names an existing database and a user allowed "
                "to create tables in it"
            ) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(to_psycopg(sql), tuple(params))  # type: ignore[return-value]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.raw.cursor() as cursor:
                cursor.executemany(to_psycopg(sql), [tuple(row) for row in rows])

    @contextmanager
    def transaction(self) -> Iterator[LedgerDb]:
        with self.raw.transaction():
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield self

    def json_text(self, column: str, key: str) -> str:
        return f"(({column})::jsonb ->> '{key}')"

    def json_without(self, column: str, key: str) -> str:
        return f"((({column})::jsonb - '{key}')::text)"

    def json_length(self, column: str, key: str) -> str:
        return f"jsonb_array_length(({column})::jsonb -> '{key}')"

    def contains(self, text_sql: str) -> str:
        return f"strpos({text_sql}, ?) > 0"

    def columns(self, table: str) -> set[str]:
        rows = self.raw.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        ).fetchall()
        return {row[0] for row in rows}

    def ids_taken(self, table: str) -> None:
        self.raw.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, "
            f"false) FROM {table}"
        )

    def compact(self, tables: Sequence[str]) -> bool:
        import psycopg

        try:
            self.raw.execute(f"SET lock_timeout = '{COMPACT_LOCK_TIMEOUT}'")
            self.raw.execute(f"VACUUM (FULL) {', '.join(tables)}")
        except psycopg.errors.LockNotAvailable:
            return False
        finally:
            self.raw.execute("RESET lock_timeout")
        return True

    def close(self) -> None:
        self.raw.close()


def connect(where: Path | str) -> LedgerDb:
    """A SQLite file path, or a postgresql:// URL (ENRICH_LEDGER_URL)."""
    if is_postgres_url(where):
        return PostgresDb(str(where))
    return SqliteDb(Path(where))
