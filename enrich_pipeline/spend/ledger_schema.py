"""The ledger's tables and their versions: ordered migrations, each applied once, in one write
transaction, and recorded in `ledger_schema` (number, name, when). A ledger made before versions
existed (no `ledger_schema` table) is at version 0 and upgrades through all of them: the baseline
only creates what is missing, so it also completes the oldest files (before `chunk`, `owner`...).

To change the schema, append a Migration; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from enrich_pipeline.spend.ledger_sql import LedgerDb

# `{id}`: the backend's auto-numbered primary key (LedgerDb.id_column).
BASELINE_TABLES = """
CREATE TABLE IF NOT EXISTS submissions (
    id {id},
    provider TEXT NOT NULL,
    person_key TEXT NOT NULL,
    day TEXT NOT NULL,
    fields TEXT NOT NULL,
    request_json TEXT NOT NULL,
    state TEXT NOT NULL,
    provider_refs TEXT,
    submissions_json TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    completed_at TEXT,
    chunk TEXT,
    owner TEXT,
    origin TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_provider_day ON submissions (provider, day, state);
CREATE INDEX IF NOT EXISTS submissions_by_person ON submissions (provider, person_key);
CREATE TABLE IF NOT EXISTS results (
    id {id},
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    provider TEXT NOT NULL,
    person_key TEXT NOT NULL,
    day TEXT NOT NULL,
    fields TEXT NOT NULL,
    record_status TEXT NOT NULL,
    cost_credits INTEGER,
    budget_credits INTEGER,
    fetched_at TEXT NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_person ON results (provider, person_key, fetched_at);
CREATE INDEX IF NOT EXISTS results_by_day ON results (day, provider);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id {id},
    provider TEXT NOT NULL,
    person_key TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL,
    body_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_provider ON webhook_deliveries (provider, received_at);
CREATE TABLE IF NOT EXISTS ledger_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS erasures (
    id {id},
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    tables_rewritten INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL,
    payloads_redacted INTEGER NOT NULL
)
"""
# Columns added after the first release, before versions: created when an older file lacks them.
LEGACY_COLUMNS = (
    ("submissions", "chunk", "ALTER TABLE submissions ADD COLUMN chunk TEXT"),
    ("submissions", "owner", "ALTER TABLE submissions ADD COLUMN owner TEXT"),
    ("submissions", "origin", "ALTER TABLE submissions ADD COLUMN origin TEXT"),
    ("results", "budget_credits", "ALTER TABLE results ADD COLUMN budget_credits INTEGER"),
)
# What keeps concurrent runs honest (ledger.py): at most one active attempt per provider, person
# and day, whichever process or machine writes it.
ONE_ACTIVE_ATTEMPT = (
    "CREATE UNIQUE INDEX IF NOT EXISTS one_active_attempt ON submissions (provider, person_key, day) "
    "WHERE state IN ('intent', 'submitted', 'unknown')"
)
VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at TEXT NOT NULL)"
)
# Every table, parents before children (the order a copy writes them in).
TABLES = ("ledger_meta", "submissions", "results", "webhook_deliveries", "erasures")


class LedgerSchemaError(RuntimeError):
    """The ledger was made by a newer enrich_pipeline than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[LedgerDb], None]


def _baseline(db: LedgerDb) -> None:
    for statement in BASELINE_TABLES.replace("{id}", db.id_column).split(";"):
        if statement.strip():
            db.execute(statement)
    for table, column, statement in LEGACY_COLUMNS:
        if column not in db.columns(table):
            db.execute(statement)
    db.execute(ONE_ACTIVE_ATTEMPT)


def _results_by_submission(db: LedgerDb) -> None:
    # Storing a poll's answers reads the attempt's stored answers, and Postgres checks the
    # results -> submissions reference on every erasure: both look results up by submission.
    db.execute("CREATE INDEX IF NOT EXISTS results_by_submission ON results (submission_id)")


MIGRATIONS = (
    Migration(1, "tables of the first releases (unversioned ledgers start here)", _baseline),
    Migration(2, "index results by submission", _results_by_submission),
)
LATEST = MIGRATIONS[-1].version


def schema_version(db: LedgerDb) -> int:
    db.execute(VERSIONS_TABLE)
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM ledger_schema").fetchone()[0])


def migrate(db: LedgerDb) -> int:
    """Bring the ledger to LATEST; returns the version it was at. One write transaction: processes
    opening a new ledger at once wait for each other, and the later ones find nothing to do."""
    with db.transaction():
        found = schema_version(db)
        if found > LATEST:
            raise LedgerSchemaError(
                f"the ledger at {db.where} is at schema version {found}, made by a newer "
                f"enrich_pipeline (this one knows versions up to {LATEST}): upgrade enrich_pipeline "
                "on this machine (uv sync), or point ENRICH_LEDGER_URL / ENRICH_STATE_DIR elsewhere"
            )
        for migration in MIGRATIONS:
            if migration.version > found:
                migration.apply(db)
                db.execute(
                    "INSERT INTO ledger_schema (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, datetime.now(UTC).isoformat()),
                )
    return found
