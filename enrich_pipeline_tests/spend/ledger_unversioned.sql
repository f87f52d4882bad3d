-- The ledger's DDL as enrich_pipeline created it before schema versions (ledger.py SCHEMA
-- and ONE_ACTIVE_ATTEMPT, verbatim): test_ledger_backends opens a file made with it.
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
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
    id INTEGER PRIMARY KEY,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    tables_rewritten INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL,
    payloads_redacted INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_attempt ON submissions (provider, person_key, day) WHERE state IN ('intent', 'submitted', 'unknown');
