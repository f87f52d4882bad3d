"""Normalised enrichment records → the contact tables (`contacts`, `positions`, `contact_channels`).

`attempts_table` is the one place with per-record Python: it turns `EnrichmentResult` objects into
the typed Arrow table `enrichment_attempts`. Everything after it is columnar: the best-of choices
are DuckDB SQL (window functions) over Arrow tables registered in an in-memory connection, so a
day of 100k attempts costs a few hundred milliseconds and the rules live in one readable place.

Best-of rules (providers.md 4.3, shared by `build_contacts` and `build_channels` so `is_best`
always names the row `contacts` shows):
* only FOUND and NOT_FOUND attempts contribute values; PENDING / FAILED never win anything;
* email: status rank deliverable > risky > unknown > undeliverable (a missing status is unknown),
  then provider order, then the newest `fetched_at` — an undeliverable email is reported only
  when nothing better exists;
* phone: first provider in order, then the provider's own list position (`source_rank`), then
  newest; numbers are compared in E.164 (separators stripped), so two providers' copies of one
  number are one phone, and a missing type is filled from another copy of the same number;
* LinkedIn profile: the profile of the first provider in order that has one, newest first.

Providers missing from `provider_order` rank after the listed ones, by name, so results stay
deterministic.

No I/O and no Dagster here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from enrich_pipeline.model import EnrichmentResult, LinkedinProfile, Phone
from enrich_pipeline.warehouse import duck

PROVIDER_ORDER_DEFAULT: tuple[str, ...] = ("lemlist", "enrichso", "thehog")

# ------------------------------------------------------------------------------------ schemas

PHONE_TYPE = pa.struct(
    [("number", pa.string()), ("type", pa.string()), ("source_rank", pa.int32())]
)
POSITION_TYPE = pa.struct(
    [
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("start_year", pa.int32()),
        ("start_month", pa.int32()),
        ("end_year", pa.int32()),
        ("end_month", pa.int32()),
        ("is_current", pa.bool_()),
        ("description", pa.string()),
    ]
)
EDUCATION_TYPE = pa.struct(
    [
        ("school_name", pa.string()),
        ("degree_name", pa.string()),
        ("start_year", pa.int32()),
        ("end_year", pa.int32()),
    ]
)
LINKEDIN_TYPE = pa.struct(
    [
        ("url", pa.string()),
        ("provider_profile_id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("full_name", pa.string()),
        ("headline", pa.string()),
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("location", pa.string()),
        ("summary", pa.string()),
        ("skills", pa.list_(pa.string())),
        ("positions", pa.list_(POSITION_TYPE)),
        ("education", pa.list_(EDUCATION_TYPE)),
        ("photo_url", pa.string()),
    ]
)
TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")

ATTEMPTS_SCHEMA = pa.schema(
    [
        ("person_key", pa.string()),
        ("provider", pa.string()),
        ("provider_ref", pa.string()),
        ("request_correlation", pa.string()),
        ("record_status", pa.string()),
        ("reason", pa.string()),
        ("email", pa.string()),
        ("email_status", pa.string()),
        ("email_confidence", pa.string()),
        ("phones", pa.list_(PHONE_TYPE)),
        ("linkedin", LINKEDIN_TYPE),
        ("cost_credits", pa.int64()),
        ("cost_basis", pa.string()),
        ("fetched_at", TIMESTAMP_UTC),
        ("day", pa.string()),
        ("from_cache", pa.bool_()),
    ]
)

IDENTITY_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "company_name",
    "company_domain",
    "linkedin_url",
    "job_title",
    "crm_id",
)

CONTACTS_SCHEMA = pa.schema(
    [("person_key", pa.string())]
    + [(name, pa.string()) for name in IDENTITY_COLUMNS]
    + [
        ("email", pa.string()),
        ("email_status", pa.string()),
        ("email_provider", pa.string()),
        ("phone", pa.string()),
        ("phone_type", pa.string()),
        ("phone_provider", pa.string()),
        ("phones", pa.list_(pa.string())),
        ("linkedin_url_found", pa.string()),
        ("headline", pa.string()),
        ("title", pa.string()),
        ("current_company", pa.string()),
        ("location", pa.string()),
        ("summary", pa.string()),
        ("skills", pa.list_(pa.string())),
        ("photo_url", pa.string()),
        ("linkedin_provider", pa.string()),
        ("found_email", pa.bool_()),
        ("found_phone", pa.bool_()),
        ("found_linkedin", pa.bool_()),
        ("providers_tried", pa.list_(pa.string())),
        ("credits_spent", pa.int64()),
        ("day", pa.string()),
    ]
)

POSITIONS_SCHEMA = pa.schema(
    [
        ("person_key", pa.string()),
        ("provider", pa.string()),
        ("position_index", pa.int32()),
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("start_year", pa.int32()),
        ("start_month", pa.int32()),
        ("end_year", pa.int32()),
        ("end_month", pa.int32()),
        ("is_current", pa.bool_()),
        ("day", pa.string()),
    ]
)

CHANNELS_SCHEMA = pa.schema(
    [
        ("person_key", pa.string()),
        ("channel", pa.string()),  # "email" | "phone"
        ("value", pa.string()),  # lower-cased email, or E.164 number
        ("status", pa.string()),  # email status; null for phones
        ("phone_type", pa.string()),  # null for emails
        ("provider", pa.string()),
        ("provider_ref", pa.string()),
        ("fetched_at", TIMESTAMP_UTC),
        ("is_best", pa.bool_()),
        ("day", pa.string()),
    ]
)

# The warehouse creates typed empty views from these when a table has no files yet.
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "enrichment_attempts": ATTEMPTS_SCHEMA,
    "contacts": CONTACTS_SCHEMA,
    "positions": POSITIONS_SCHEMA,
    "contact_channels": CHANNELS_SCHEMA,
}

# ------------------------------------------------------------------- records → attempts table


def attempts_table(
    results: Iterable[EnrichmentResult], *, day: str, cache_hits: Collection[str] = frozenset()
) -> pa.Table:
    """One row per result (person, provider, attempt), typed by ATTEMPTS_SCHEMA.

    `cache_hits` names the answers taken from the ledger instead of a request: a result is marked
    `from_cache` when its `person_key` or its `provider_ref` is in it (call once per provider when
    you pass person keys). The raw payloads stay in the ledger; this table holds no `raw`.
    """
    columns: dict[str, list[Any]] = {name: [] for name in ATTEMPTS_SCHEMA.names}
    for result in results:
        for name, value in _attempt_row(result, day, cache_hits).items():
            columns[name].append(value)
    arrays = [pa.array(columns[f.name], type=f.type) for f in ATTEMPTS_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=ATTEMPTS_SCHEMA)


def _attempt_row(result: EnrichmentResult, day: str, cache_hits: Collection[str]) -> dict[str, Any]:
    return {
        "person_key": result.person_key,
        "provider": result.provider,
        "provider_ref": result.provider_ref,
        "request_correlation": result.request_correlation,
        "record_status": str(result.record_status.value),
        "reason": result.reason,
        "email": result.email,
        "email_status": None if result.email_status is None else str(result.email_status.value),
        "email_confidence": result.email_confidence,
        "phones": [_phone_struct(phone) for phone in result.phones],
        "linkedin": None if result.linkedin is None else _profile_struct(result.linkedin),
        "cost_credits": result.cost_credits,
        "cost_basis": str(result.cost_basis.value),
        "fetched_at": _as_utc(result.fetched_at),
        "day": day,
        "from_cache": result.person_key in cache_hits or result.provider_ref in cache_hits,
    }


def _phone_struct(phone: Phone) -> dict[str, Any]:
    return {"number": phone.number, "type": phone.type, "source_rank": phone.source_rank}


def _profile_struct(profile: LinkedinProfile) -> dict[str, Any]:
    struct = profile.model_dump(exclude={"positions", "education", "skills"})
    struct["skills"] = list(profile.skills)
    struct["positions"] = [position.model_dump() for position in profile.positions]
    struct["education"] = [school.model_dump() for school in profile.education]
    return struct


def _as_utc(moment: datetime) -> datetime:
    """Naive timestamps are taken as UTC (our own clocks write UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ----------------------------------------------------------------------------- best-of SQL

# Attempts that may contribute values, with their provider's place in the waterfall order.
_USABLE = """
usable AS (
    SELECT a.person_key, a.provider, a.provider_ref, a.email, a.email_status, a.phones,
           a.linkedin, a.fetched_at, a.day,
           coalesce(o.provider_rank, $unlisted_rank) AS provider_rank
    FROM attempts AS a LEFT JOIN provider_order AS o ON o.provider = a.provider
    WHERE a.person_key IS NOT NULL AND a.record_status IN ('found', 'not_found')
)"""

# Every email candidate ranked per person; pick = 1 is the best email.
_EMAIL_RANKED = """
email_candidates AS (
    SELECT person_key, provider, provider_ref, fetched_at, day, provider_rank,
           lower(trim(email)) AS value,
           coalesce(email_status, 'unknown') AS status,
           CASE coalesce(email_status, 'unknown')
               WHEN 'deliverable' THEN 0 WHEN 'risky' THEN 1
               WHEN 'undeliverable' THEN 3 ELSE 2 END AS status_rank
    FROM usable
    WHERE email IS NOT NULL AND trim(email) <> ''
),
email_ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY person_key
        ORDER BY status_rank, provider_rank, provider, fetched_at DESC NULLS LAST, value,
                 provider_ref NULLS LAST) AS pick
    FROM email_candidates
)"""

# Every phone candidate (one per attempt and listed number) ranked per person; pick = 1 is best.
_PHONE_RANKED = """
phone_items AS (
    SELECT person_key, provider, provider_ref, fetched_at, day, provider_rank,
           unnest(phones) AS item
    FROM usable
),
phone_candidates AS (
    SELECT person_key, provider, provider_ref, fetched_at, day, provider_rank,
           regexp_replace(item.number, '[^0-9+]', '', 'g') AS value,
           item."type" AS phone_type,
           coalesce(item.source_rank, 0) AS source_rank
    FROM phone_items
    WHERE item.number IS NOT NULL AND regexp_replace(item.number, '[^0-9+]', '', 'g') <> ''
),
phone_ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY person_key
        ORDER BY provider_rank, provider, source_rank, fetched_at DESC NULLS LAST, value,
                 provider_ref NULLS LAST) AS pick
    FROM phone_candidates
)"""

# The chosen LinkedIn profile per person: first provider in order with one, newest first.
_PROFILE_CHOSEN = """
profile_ranked AS (
    SELECT person_key, provider, day, linkedin, row_number() OVER (
        PARTITION BY person_key
        ORDER BY provider_rank, provider, fetched_at DESC NULLS LAST, provider_ref NULLS LAST
    ) AS pick
    FROM usable
    WHERE linkedin IS NOT NULL
),
profile_chosen AS (SELECT * FROM profile_ranked WHERE pick = 1)"""


def _with(*parts: str) -> str:
    return "WITH " + ",".join(parts)


def _run(
    sql: str,
    schema: pa.Schema,
    tables: dict[str, pa.Table | None],
    provider_order: Sequence[str],
    params: dict[str, Any] | None = None,
) -> pa.Table:
    """Runs `sql` over the Arrow `tables` (plus `provider_order`) and casts to `schema`.
    A missing (None) table is an attempts table with no rows: a day nobody was sent anywhere."""
    order = pa.table(
        {
            "provider": pa.array(list(provider_order), pa.string()),
            "provider_rank": pa.array(np.arange(len(provider_order), dtype=np.int32)),
        }
    )
    tables = {n: ATTEMPTS_SCHEMA.empty_table() if t is None else t for n, t in tables.items()}
    with duck.session() as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, table in {**tables, "provider_order": order}.items():
            con.register(name, table)
        values = {"unlisted_rank": len(provider_order), **(params or {})}
        wanted = {name: value for name, value in values.items() if f"${name}" in sql}
        result = con.sql(sql, params=wanted).to_arrow_table()
    return result.select(schema.names).cast(schema)


# -------------------------------------------------------------------------------- contacts

_CONTACTS_SQL = (
    _with(
        """
people AS (
    SELECT * FROM prospects_in WHERE person_key IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY _row) = 1
)""",
        _USABLE,
        _EMAIL_RANKED,
        _PHONE_RANKED,
        _PROFILE_CHOSEN,
        """
best_email AS (SELECT * FROM email_ranked WHERE pick = 1),
phone_numbers AS (
    SELECT person_key, value, min(pick) AS pick,
           arg_min(phone_type, pick) FILTER (WHERE phone_type IS NOT NULL) AS phone_type,
           arg_min(provider, pick) AS provider
    FROM phone_ranked GROUP BY person_key, value
),
best_phone AS (
    SELECT person_key,
           arg_min(value, pick) AS phone,
           arg_min(phone_type, pick) AS phone_type,
           arg_min(provider, pick) AS phone_provider,
           list(value ORDER BY pick) AS phones
    FROM phone_numbers GROUP BY person_key
),
tried_providers AS (
    SELECT a.person_key, a.provider,
           min(coalesce(o.provider_rank, $unlisted_rank)) AS provider_rank,
           sum(a.cost_credits) FILTER (WHERE a.record_status <> 'pending') AS credits
    FROM attempts AS a LEFT JOIN provider_order AS o ON o.provider = a.provider
    WHERE a.person_key IS NOT NULL
    GROUP BY a.person_key, a.provider
),
tried AS (
    SELECT person_key,
           list(provider ORDER BY provider_rank, provider) AS providers_tried,
           coalesce(sum(credits), 0) AS credits_spent
    FROM tried_providers GROUP BY person_key
)""",
    )
    + """
SELECT p.person_key, p.first_name, p.last_name, p.company_name, p.company_domain,
       p.linkedin_url, p.job_title, p.crm_id,
       e.value AS email, e.status AS email_status, e.provider AS email_provider,
       ph.phone, ph.phone_type, ph.phone_provider,
       coalesce(ph.phones, []::VARCHAR[]) AS phones,
       pr.linkedin.url AS linkedin_url_found,
       pr.linkedin.headline AS headline,
       pr.linkedin.title AS title,
       pr.linkedin.company_name AS current_company,
       pr.linkedin.location AS location,
       pr.linkedin.summary AS summary,
       pr.linkedin.skills AS skills,
       pr.linkedin.photo_url AS photo_url,
       pr.provider AS linkedin_provider,
       e.value IS NOT NULL AS found_email,
       ph.phone IS NOT NULL AS found_phone,
       pr.linkedin IS NOT NULL AS found_linkedin,
       coalesce(t.providers_tried, []::VARCHAR[]) AS providers_tried,
       coalesce(t.credits_spent, 0)::BIGINT AS credits_spent,
       coalesce($day::VARCHAR, p.day, $newest_day::VARCHAR) AS day
FROM people AS p
LEFT JOIN best_email AS e ON e.person_key = p.person_key
LEFT JOIN best_phone AS ph ON ph.person_key = p.person_key
LEFT JOIN profile_chosen AS pr ON pr.person_key = p.person_key
LEFT JOIN tried AS t ON t.person_key = p.person_key
ORDER BY p._row
"""
)


CONTACTS_PER_PASS = 10_000  # people: ~0.25 GiB at most for a 100k day, against ~0.8 in one pass


def build_contacts(
    prospects: pa.Table,
    attempts: pa.Table | None,
    *,
    provider_order: Sequence[str] = PROVIDER_ORDER_DEFAULT,
    day: str | None = None,
) -> pa.Table:
    """One row per prospect `person_key` (in prospect order; people nobody found stay, with nulls).

    `credits_spent` is what the answers behind the row cost: the sum of `cost_credits` of every
    non-pending attempt, cache hits included at their original price (so a re-run within the TTL
    gives identical contacts; what a run itself spent is `sum(cost_credits) WHERE NOT from_cache`
    over the attempts). `day` defaults to the prospects' `day` column, else the attempts' newest.

    Built `CONTACTS_PER_PASS` people at a time (each person's rows and attempts together, in the
    order people first appear), so that the SQL's working memory is bounded by the pass, not by
    the day: the same rows in the same order as one pass.
    """
    identities = _prospect_identities(prospects)
    newest = None
    if attempts is not None and attempts.num_rows and "day" in attempts.column_names:
        newest = pc.max(attempts.column("day").cast(pa.string())).as_py()
    params = {"day": day, "newest_day": newest}
    people = pc.unique(identities.column("person_key").drop_null())  # in order of first appearance
    if len(people) <= CONTACTS_PER_PASS:
        tables = {"prospects_in": identities, "attempts": attempts}
        return _run(_CONTACTS_SQL, CONTACTS_SCHEMA, tables, provider_order, params)
    passes = []
    for start in range(0, len(people), CONTACTS_PER_PASS):
        group = people.slice(start, CONTACTS_PER_PASS)
        tables = {
            "prospects_in": identities.filter(pc.is_in(identities["person_key"], group)),
            "attempts": None
            if attempts is None
            else attempts.filter(pc.is_in(attempts["person_key"], group)),
        }
        passes.append(_run(_CONTACTS_SQL, CONTACTS_SCHEMA, tables, provider_order, params))
    return pa.concat_tables(passes)


def _prospect_identities(prospects: pa.Table) -> pa.Table:
    """person_key + the identity columns as strings (null when the prospect table lacks one),
    plus the input row order; tolerant so that a new prospect column never breaks contacts."""
    if "person_key" not in prospects.column_names:
        raise ValueError("prospects needs a person_key column")
    rows = prospects.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in ("person_key", *IDENTITY_COLUMNS, "day"):
        if name in prospects.column_names:
            columns[name] = pc.cast(prospects.column(name), pa.string())
        else:
            columns[name] = pa.nulls(rows, pa.string())
    columns["_row"] = pa.array(np.arange(rows, dtype=np.int64))
    return pa.table(columns)


# ------------------------------------------------------------------------------- positions

_POSITIONS_SQL = (
    _with(_USABLE, _PROFILE_CHOSEN)
    + """,
position_items AS (
    SELECT person_key, provider, day,
           unnest(linkedin.positions) AS item,
           unnest(generate_series(0, len(linkedin.positions) - 1)) AS position_index
    FROM profile_chosen
    WHERE len(linkedin.positions) > 0
)
SELECT person_key, provider, position_index::INTEGER AS position_index,
       item.title AS title, item.company_name AS company_name,
       item.company_domain AS company_domain,
       item.start_year AS start_year, item.start_month AS start_month,
       item.end_year AS end_year, item.end_month AS end_month,
       coalesce(item.is_current, false) AS is_current, day
FROM position_items
ORDER BY person_key, position_index
"""
)


def build_positions(
    attempts: pa.Table | None, *, provider_order: Sequence[str] = PROVIDER_ORDER_DEFAULT
) -> pa.Table:
    """One row per LinkedIn position of each person's chosen profile (the one `contacts` shows);
    `position_index` is the 0-based place in that profile's list."""
    return _run(_POSITIONS_SQL, POSITIONS_SCHEMA, {"attempts": attempts}, provider_order)


# -------------------------------------------------------------------------------- channels

_CHANNELS_SQL = (
    _with(_USABLE, _EMAIL_RANKED, _PHONE_RANKED)
    + """
SELECT person_key, 'email' AS channel, value, status, NULL::VARCHAR AS phone_type,
       provider, provider_ref, fetched_at, pick = 1 AS is_best, day
FROM email_ranked
UNION ALL
SELECT person_key, 'phone' AS channel, value, NULL::VARCHAR AS status, phone_type,
       provider, provider_ref, fetched_at, pick = 1 AS is_best, day
FROM phone_ranked
ORDER BY person_key, channel, is_best DESC, value, provider
"""
)


def build_channels(
    attempts: pa.Table | None, *, provider_order: Sequence[str] = PROVIDER_ORDER_DEFAULT
) -> pa.Table:
    """Every email / phone candidate of FOUND and NOT_FOUND attempts, one row per provider
    answer; exactly one `is_best` row per person and channel, the one `build_contacts` shows
    (pass the same `provider_order`)."""
    return _run(_CHANNELS_SQL, CHANNELS_SCHEMA, {"attempts": attempts}, provider_order)
