"""Bulk `flatten` of a file of lemlist payloads, streamed and columnar (issue #12).

Default (`sql=False`, the CLI's lemlist path): DuckDB streams the file's payloads as JSON text in
batches and each goes through `payloads.flatten`; records are written per batch. With `sql=True`
(`flatten --sql`) the transform below runs. It gives the same records but is not faster yet: each
`json_*` call parses its document again. Parsing each item once into a struct of JSON leaves
(`json_transform`) is the next step.

One DuckDB query reads the file incrementally (`read_json_objects`: a JSON array, JSON lines or a
single value) and turns each single-item webhook body (`enrichmentDone` / `enrichmentError`, the
bulk of what a receiver stores) into its record in SQL: the same values `payloads.flatten` gives,
already serialised as today's JSON line or typed for Parquet. The result is fetched in Arrow batches,
so memory is bounded by the batch size, not by the input.

What SQL cannot reproduce exactly is left to the Python reader, payload by payload and in order:
poll bodies, submit answers, many-item webhooks, alias data keys, string escapes, unusual value types
(`_ELIGIBLE` lists the rules), a phone that is not valid E.164, an empty profile. The identity rules
(LinkedIn URL, registrable domain, E.164, person_key) and the canonical JSON of `raw` are the
project's own Python functions, called by DuckDB once per vector (cached per distinct value), so
both paths give byte-identical lines.

Differences from `flatten(whole file)`, on purpose: `fetched_at` is one timestamp per run (the
Python path stamps each record as it is built); a payload the Python reader crashes on becomes one
FAILED record of its own instead of one for the whole file; Parquet has one fixed schema
(`PARQUET_SCHEMA`) instead of types guessed from the rows (a column that is null in every row is
typed, not `null`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from enrich_pipeline.identity import canonical_linkedin_url, person_key, registrable_domain
from enrich_pipeline.model import EnrichmentResult, to_e164
from enrich_pipeline.providers.lemlist.payloads import flatten

BATCH_ROWS = 4096  # records held at once (per Arrow batch); the input can be any size
INPUT_FORMATS = ("auto", "array", "newline_delimited")

# ------------------------------------------------------------------------- Parquet schema

_POSITION = pa.struct(
    [
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("start_year", pa.int64()),
        ("start_month", pa.int64()),
        ("end_year", pa.int64()),
        ("end_month", pa.int64()),
        ("is_current", pa.bool_()),
        ("description", pa.string()),
    ]
)
_EDUCATION = pa.struct(
    [
        ("school_name", pa.string()),
        ("degree_name", pa.string()),
        ("start_year", pa.int64()),
        ("end_year", pa.int64()),
    ]
)
_LINKEDIN = pa.struct(
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
        ("positions", pa.list_(_POSITION)),
        ("education", pa.list_(_EDUCATION)),
        ("photo_url", pa.string()),
    ]
)
_PHONE = pa.struct([("number", pa.string()), ("type", pa.string()), ("source_rank", pa.int64())])
# The columns and order of `model_dump(mode="json")` (what `flatten --format parquet` writes),
# with the types pyarrow infers when a column has values; `raw` is JSON text.
PARQUET_SCHEMA = pa.schema(
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
        ("phones", pa.list_(_PHONE)),
        ("linkedin", _LINKEDIN),
        ("cost_credits", pa.int64()),
        ("cost_basis", pa.string()),
        ("fetched_at", pa.string()),
        ("raw", pa.string()),
    ]
)

# ------------------------------------------------------------------- Python rules, vectorised


def _vectorised(rule: Callable[..., str | None], arity: int) -> Callable[..., pa.Array]:
    """A DuckDB arrow UDF of `arity` columns applying `rule` to each row (nulls in, rule decides)."""

    def apply(*columns: pa.Array) -> pa.Array:
        values = zip(*(c.to_pylist() for c in columns), strict=True)
        return pa.array([rule(*row) for row in values], pa.string())

    if arity == 1:
        return lambda a: apply(a)
    if arity == 2:
        return lambda a, b: apply(a, b)
    return lambda a, b, c, d, e: apply(a, b, c, d, e)


@lru_cache(maxsize=65536)
def _profile_url(url: str | None) -> str | None:
    return (canonical_linkedin_url(url) or url) if url is not None else None


@lru_cache(maxsize=65536)
def _domain(text: str | None) -> str | None:
    """`parse._domain_of` for one already-stripped value."""
    return (registrable_domain(text) or text.lower()) if text is not None else None


@lru_cache(maxsize=65536)
def _e164(number: str | None) -> str | None:
    return to_e164(number)


@lru_cache(maxsize=65536)
def _person_key(
    url: str | None, email: str | None, first: str | None, last: str | None, domain: str | None
) -> str | None:
    return person_key(
        linkedin_url=url, email=email, first_name=first, last_name=last, company_domain=domain
    )


def _metadata_json(text: str | None) -> str | None:
    """`correlate._metadata_text` of an object or array metadata."""
    if text is None:
        return None
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _raw_json(payload: str | None, event: str | None) -> str | None:
    """The canonical JSON of a record's `raw` (`{"type": event, "data": [item]}`, the payload's
    only item, secret left out), as the CLI writes it (`json.dumps(..., ensure_ascii=False,
    sort_keys=True)`). Parsed from the payload's own text, as the Python path reads it."""
    if payload is None or event is None:
        return None
    raw = {"type": event, "data": [json.loads(payload)["data"][0]]}
    return json.dumps(raw, ensure_ascii=False, sort_keys=True)


_UDFS: dict[str, tuple[Callable[..., str | None], int]] = {
    "lemlist_profile_url": (_profile_url, 1),
    "lemlist_domain": (_domain, 1),
    "lemlist_e164": (_e164, 1),
    "lemlist_person_key": (_person_key, 5),
    "lemlist_metadata_json": (_metadata_json, 1),
    "lemlist_raw_json": (_raw_json, 2),
}

# ----------------------------------------------------------------------------------- SQL

_MACROS = r"""
-- values._str: a string stripped (empty -> null), an integer as text, anything else null.
CREATE OR REPLACE MACRO lm_str(j, p) AS CASE json_type(j, p)
    WHEN 'VARCHAR' THEN nullif(trim(json_extract_string(j, p)), '')
    WHEN 'BIGINT' THEN json_extract_string(j, p)
    WHEN 'UBIGINT' THEN json_extract_string(j, p)
    ELSE NULL END;
-- values._int: an integer, or a string of digits.
CREATE OR REPLACE MACRO lm_int(j, p) AS CASE json_type(j, p)
    WHEN 'BIGINT' THEN CAST(json_extract_string(j, p) AS BIGINT)
    WHEN 'UBIGINT' THEN CAST(json_extract_string(j, p) AS BIGINT)
    WHEN 'VARCHAR' THEN CASE WHEN regexp_full_match(trim(json_extract_string(j, p)), '[0-9]+')
        THEN CAST(trim(json_extract_string(j, p)) AS BIGINT) END
    ELSE NULL END;
-- values._dict: an object, else {}.
CREATE OR REPLACE MACRO lm_obj(j, p) AS CASE json_type(j, p)
    WHEN 'OBJECT' THEN json_extract(j, p) ELSE '{}'::JSON END;
-- json.dumps of one string (no control characters can reach here, see _ELIGIBLE).
CREATE OR REPLACE MACRO lm_q(x) AS CASE WHEN x IS NULL THEN 'null'
    ELSE '"' || replace(replace(x, '\', '\\'), '"', '\"') || '"' END;
CREATE OR REPLACE MACRO lm_n(x) AS coalesce(CAST(x AS VARCHAR), 'null');
CREATE OR REPLACE MACRO lm_b(x) AS CASE WHEN x THEN 'true' ELSE 'false' END;
-- parse._is_empty of an object value: {} or notFound: true.
CREATE OR REPLACE MACRO lm_empty(v) AS
    len(json_keys(v)) = 0 OR coalesce(json_extract(v, '$.notFound') = 'true'::JSON, false);
CREATE OR REPLACE MACRO lm_ascii(x) AS x IS NULL OR regexp_full_match(x, '[ -~]*');
"""

# A payload goes to SQL only when every rule below holds; anything else goes to Python, so the
# output never depends on how far SQL reaches. Text-level rules: no escapes that decode to control
# characters or non-ASCII (`\b \f \n \r \t \uXXXX`), no Unicode whitespace (Python's strip() and
# DuckDB's trim() would differ), no integer that might not fit in 64 bits.
_ELIGIBLE_TEXT = (
    r"NOT regexp_matches(p::VARCHAR, '\\[bfnrtu]|[\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}"
    r"\x{2029}\x{202f}\x{205f}\x{3000}\x{1c}-\x{1f}]|[0-9]{19,}')"
)

_QUERY = r"""
WITH shaped AS MATERIALIZED (
    SELECT i, p,
        json_type(p) = 'OBJECT'
        AND NOT json_exists(p, '$.enrichmentStatus')
        AND json_type(p, '$.type') = 'VARCHAR'
        AND json_extract_string(p, '$.type') IN ('enrichmentDone', 'enrichmentError')
        AND json_type(p, '$.data') = 'ARRAY'
        AND json_array_length(p, '$.data') = 1
        AND json_type(p, '$.data[0]') = 'OBJECT'
        AND {eligible_text} AS webhook
    FROM payloads
),
items AS MATERIALIZED (
    SELECT i, p, webhook,
        CASE WHEN webhook THEN json_extract_string(p, '$.type') END AS event,
        CASE WHEN webhook THEN json_extract(p, '$.data[0]') END AS item
    FROM shaped
),
parts AS MATERIALIZED (
    SELECT *,
        json_type(item, '$.data') AS data_type,
        CASE WHEN json_type(item, '$.data') = 'OBJECT' THEN json_extract(item, '$.data')
             ELSE '{}'::JSON END AS d,
        json_type(item, '$.metadata') AS meta_type,
        json_type(item, '$.error') AS error_type
    FROM items
),
workflows AS MATERIALIZED (
    SELECT *,
        json_type(d, '$.find_email') AS fe_t, json_extract(d, '$.find_email') AS fe,
        json_type(d, '$.find_phone') AS fp_t, json_extract(d, '$.find_phone') AS fp,
        json_type(d, '$.linkedin_enrichment') AS li_t,
        json_extract(d, '$.linkedin_enrichment') AS li,
        json_type(d, '$.verify') AS ve_t, json_extract(d, '$.verify') AS ve,
        CASE WHEN error_type = 'VARCHAR' THEN nullif(trim(json_extract_string(item, '$.error')), '')
        END AS given_error
    FROM parts
),
read1 AS MATERIALIZED (
    SELECT *,
        coalesce(given_error, CASE WHEN event = 'enrichmentError'
                                   THEN 'enrichment failed (enrichmentError)' END) AS error,
        -- find_email
        CASE WHEN fe_t = 'OBJECT' AND NOT lm_empty(fe)
             THEN json_type(fe, '$.email') END AS fe_email_t,
        CASE WHEN fe_t = 'OBJECT' AND NOT lm_empty(fe)
             THEN lower(trim(json_extract_string(fe, '$.email'))) END AS fe_email,
        CASE WHEN fe_t = 'OBJECT' THEN json_type(fe, '$.status') END AS fe_status_t,
        CASE WHEN fe_t = 'OBJECT' THEN json_extract_string(fe, '$.status') END AS fe_status,
        -- find_phone
        CASE WHEN fp_t = 'OBJECT' AND NOT lm_empty(fp) THEN json_type(fp, '$.phone') END AS fp_phone_t,
        CASE WHEN fp_t = 'OBJECT' AND NOT lm_empty(fp)
             THEN json_extract_string(fp, '$.phone') END AS fp_phone,
        -- verify
        CASE WHEN ve_t = 'OBJECT' THEN json_type(ve, '$.status') END AS ve_status_t,
        CASE WHEN ve_t = 'OBJECT' THEN json_type(ve, '$.result') END AS ve_result_t,
        CASE WHEN ve_t = 'OBJECT' THEN json_type(ve, '$.email') END AS ve_email_t,
        -- linkedin_enrichment
        li_t = 'OBJECT' AND NOT lm_empty(li) AS li_given,
        CASE WHEN li_t = 'OBJECT' THEN lm_str(li, '$.linkedinUrl') END AS li_url
    FROM workflows
),
read2 AS MATERIALIZED (
    SELECT *,
        -- a found email (not null, not empty) and its verdict
        CASE WHEN fe_email_t = 'VARCHAR' AND fe_email <> '' THEN fe_email END AS found_email,
        CASE WHEN fe_status_t = 'VARCHAR' AND lower(trim(fe_status)) IN
                  ('deliverable', 'risky', 'undeliverable', 'unknown')
             THEN lower(trim(fe_status)) ELSE 'unknown' END AS found_email_status,
        CASE WHEN fp_phone_t = 'VARCHAR' AND fp_phone <> ''
             THEN lemlist_e164(nullif(trim(fp_phone), '')) END AS phone,
        CASE WHEN ve_status_t = 'VARCHAR' THEN json_extract_string(ve, '$.status')
             WHEN ve_result_t = 'VARCHAR' THEN json_extract_string(ve, '$.result') END AS ve_status,
        CASE WHEN li_given THEN {
            'url': lemlist_profile_url(li_url),
            'provider_profile_id': coalesce(lm_str(li, '$.linkedinMemberId'),
                                            lm_str(li, '$.linkedinClassicId')),
            'first_name': lm_str(li, '$.firstName'),
            'last_name': lm_str(li, '$.lastName'),
            'full_name': nullif(concat_ws(' ', lm_str(li, '$.firstName'),
                                          lm_str(li, '$.lastName')), ''),
            'headline': lm_str(li, '$.tagline'),
            'title': lm_str(li, '$.occupation'),
            'company_name': lm_str(li, '$.companyName'),
            'company_domain': lemlist_domain(coalesce(lm_str(li, '$.companyDomain'),
                                                      lm_str(li, '$.companyWebsite'))),
            'location': lm_str(li, '$.locationName'),
            'summary': lm_str(li, '$.summary'),
            'skills': CASE json_type(li, '$.skills')
                WHEN 'VARCHAR' THEN list_filter(list_transform(
                    string_split(json_extract_string(li, '$.skills'), ','), lambda s: trim(s)),
                    lambda s: s <> '')
                WHEN 'ARRAY' THEN list_filter(list_transform(
                    from_json(json_extract(li, '$.skills'), '["JSON"]'), lambda s: lm_str(s, '$')),
                    lambda s: s IS NOT NULL)
                ELSE []::VARCHAR[] END,
            'positions': CASE WHEN json_type(li, '$.positionGroups') = 'ARRAY' THEN flatten(
                list_transform(
                    list_filter(from_json(json_extract(li, '$.positionGroups'), '["JSON"]'),
                                lambda g: json_type(g) = 'OBJECT'),
                    lambda g: list_transform(
                        CASE WHEN len(list_filter(
                                 CASE WHEN json_type(g, '$.profilePositions') = 'ARRAY'
                                      THEN from_json(json_extract(g, '$.profilePositions'), '["JSON"]')
                                      ELSE []::JSON[] END, lambda r: json_type(r) = 'OBJECT')) > 0
                             THEN list_filter(from_json(json_extract(g, '$.profilePositions'),
                                                        '["JSON"]'), lambda r: json_type(r) = 'OBJECT')
                             ELSE ['{}'::JSON] END,
                        lambda r: {
                            'title': lm_str(r, '$.title'),
                            'company_name': coalesce(lm_str(r, '$.companyName'),
                                                     lm_str(lm_obj(g, '$.company'), '$.name')),
                            'company_domain': lemlist_domain(coalesce(
                                lm_str(lm_obj(g, '$.company'), '$.domain'),
                                lm_str(lm_obj(g, '$.company'), '$.website'))),
                            'date': CASE WHEN len(json_keys(lm_obj(r, '$.date'))) > 0
                                         THEN lm_obj(r, '$.date') ELSE lm_obj(g, '$.date') END,
                            'description': lm_str(r, '$.description')
                        }))) ELSE [] END,
            'photo_url': lm_str(li, '$.picture')
        } END AS profile0,
        -- rules the SQL reading relies on (else: Python)
        data_type IN ('OBJECT', 'NULL') OR data_type IS NULL AS ok_data,
        len(list_filter(json_keys(d), lambda k: k NOT IN
            ('find_email', 'find_phone', 'linkedin_enrichment', 'verify'))) = 0 AS ok_keys,
        (meta_type IS NULL OR meta_type IN ('VARCHAR', 'OBJECT', 'ARRAY', 'NULL', 'BIGINT',
                                            'UBIGINT', 'BOOLEAN', 'DOUBLE'))
        AND (error_type IS NULL OR error_type IN ('VARCHAR', 'NULL')) AS ok_item
    FROM read1
),
read3 AS MATERIALIZED (
    SELECT * EXCLUDE (profile0),
        CASE WHEN profile0 IS NOT NULL THEN {
            'url': profile0.url, 'provider_profile_id': profile0.provider_profile_id,
            'first_name': profile0.first_name, 'last_name': profile0.last_name,
            'full_name': profile0.full_name, 'headline': profile0.headline,
            'title': profile0.title, 'company_name': profile0.company_name,
            'company_domain': profile0.company_domain, 'location': profile0.location,
            'summary': profile0.summary, 'skills': profile0.skills,
            'positions': list_transform(profile0.positions, lambda x: {
                'title': x.title, 'company_name': x.company_name,
                'company_domain': x.company_domain,
                'start_year': lm_int(lm_obj(x.date, '$.start'), '$.year'),
                'start_month': lm_int(lm_obj(x.date, '$.start'), '$.month'),
                'end_year': lm_int(lm_obj(x.date, '$.end'), '$.year'),
                'end_month': lm_int(lm_obj(x.date, '$.end'), '$.month'),
                'is_current': len(json_keys(x.date)) > 0
                              AND lm_int(lm_obj(x.date, '$.end'), '$.year') IS NULL,
                'description': x.description}),
            'education': []::STRUCT(school_name VARCHAR, degree_name VARCHAR,
                                    start_year BIGINT, end_year BIGINT)[],
            'photo_url': profile0.photo_url} END AS profile,
        -- find_email in a shape SQL reads: null, empty, or a string address and verdict
        (fe_t IS NULL OR fe_t = 'NULL' OR (fe_t = 'OBJECT' AND (lm_empty(fe) OR (
            list_has_any(json_keys(fe), ['email', 'notFound', 'status'])
            AND (fe_email_t IN ('NULL') OR fe_email_t IS NULL
                 OR (fe_email_t = 'VARCHAR' AND fe_email <> '' AND lm_ascii(fe_email)))
            AND (fe_status_t IS NULL OR fe_status_t = 'NULL'
                 OR (fe_status_t = 'VARCHAR' AND lm_ascii(fe_status)))))))
        -- find_phone: null, empty, {"phone": null | ""}, or a valid number
        AND (fp_t IS NULL OR fp_t = 'NULL' OR (fp_t = 'OBJECT' AND (lm_empty(fp) OR (
            NOT json_exists(fp, '$.phones')
            AND list_has_any(json_keys(fp), ['phone', 'notFound'])
            AND (fp_phone_t IS NULL OR fp_phone_t = 'NULL'
                 OR (fp_phone_t = 'VARCHAR' AND (fp_phone = '' OR phone IS NOT NULL)))))))
        -- verify: null, or an object with string (or no) status / result / email
        AND (ve_t IS NULL OR ve_t = 'NULL' OR (ve_t = 'OBJECT'
            AND (ve_status_t IS NULL OR ve_status_t = 'NULL' OR (ve_status_t = 'VARCHAR'
                 AND json_extract_string(ve, '$.status') <> ''))
            AND (ve_result_t IS NULL OR ve_result_t = 'NULL' OR ve_result_t = 'VARCHAR')
            AND (ve_email_t IS NULL OR ve_email_t IN ('NULL', 'VARCHAR'))
            AND lm_ascii(ve_status) AND lm_ascii(json_extract_string(ve, '$.email'))))
        -- linkedin_enrichment: null or an object
        AND (li_t IS NULL OR li_t IN ('NULL', 'OBJECT')) AS ok_values
    FROM read2
),
decided AS MATERIALIZED (
    SELECT *,
        ve_t = 'OBJECT' AND NOT lm_empty(ve) AND ve_status IS NOT NULL AS ve_found,
        CASE WHEN profile IS NOT NULL THEN
            profile.url IS NULL AND profile.provider_profile_id IS NULL
            AND profile.first_name IS NULL AND profile.last_name IS NULL
            AND profile.headline IS NULL AND profile.title IS NULL
            AND profile.company_name IS NULL AND profile.company_domain IS NULL
            AND profile.location IS NULL AND profile.summary IS NULL
            AND len(profile.skills) = 0 AND len(profile.positions) = 0
            AND profile.photo_url IS NULL
        ELSE false END AS profile_empty
    FROM read3
),
merged AS MATERIALIZED (
    SELECT *,
        CASE WHEN ve_found THEN lower(trim(json_extract_string(ve, '$.email'))) END AS ve_email0,
        CASE WHEN ve_found THEN CASE WHEN lower(trim(ve_status)) IN
                  ('deliverable', 'risky', 'undeliverable', 'unknown')
             THEN lower(trim(ve_status)) ELSE 'unknown' END END AS ve_verdict
    FROM decided
),
final AS MATERIALIZED (
    SELECT *,
        nullif(ve_email0, '') AS ve_email,
        CASE WHEN ve_verdict IS NOT NULL AND (found_email IS NULL OR found_email = nullif(ve_email0, ''))
             THEN coalesce(found_email, nullif(ve_email0, '')) ELSE found_email END AS email,
        CASE WHEN ve_verdict IS NOT NULL AND (found_email IS NULL OR found_email = nullif(ve_email0, ''))
             THEN ve_verdict ELSE found_email_status END AS status0,
        found_email IS NOT NULL OR phone IS NOT NULL OR profile IS NOT NULL OR ve_found AS found,
        list_filter([
            CASE WHEN found_email IS NULL AND fe_t IS NOT NULL THEN 'find_email' END,
            CASE WHEN phone IS NULL AND fp_t IS NOT NULL THEN 'find_phone' END,
            CASE WHEN profile IS NULL AND li_t IS NOT NULL THEN 'linkedin_enrichment' END,
            CASE WHEN NOT ve_found AND ve_t IS NOT NULL THEN 'verify' END], lambda x: x IS NOT NULL)
            AS not_found,
        (CASE WHEN found_email IS NOT NULL AND NOT (fe_status_t = 'VARCHAR'
                   AND lower(trim(fe_status)) IN ('undeliverable', 'unknown')) THEN 5 ELSE 0 END)
        + (CASE WHEN phone IS NOT NULL THEN 20 ELSE 0 END)
        + (CASE WHEN li_t IS NOT NULL AND (profile IS NOT NULL OR error IS NULL) THEN 1 ELSE 0 END)
        + (CASE WHEN ve_t IS NOT NULL AND (ve_found OR error IS NULL) THEN 1 ELSE 0 END)
            AS cost_credits,
        CASE meta_type WHEN 'VARCHAR' THEN json_extract_string(item, '$.metadata')
            WHEN 'BIGINT' THEN json_extract_string(item, '$.metadata')
            WHEN 'UBIGINT' THEN json_extract_string(item, '$.metadata')
            WHEN 'OBJECT' THEN lemlist_metadata_json(json_extract(item, '$.metadata')::VARCHAR)
            WHEN 'ARRAY' THEN lemlist_metadata_json(json_extract(item, '$.metadata')::VARCHAR)
            END AS correlation
    FROM merged
),
records AS MATERIALIZED (
    SELECT i, p, coalesce(webhook AND ok_data AND ok_keys AND ok_item AND ok_values
                       AND NOT profile_empty, false) AS in_sql,
        event, item, email, phone, profile, cost_credits, correlation,
        CASE WHEN email IS NOT NULL THEN status0 END AS email_status,
        CASE WHEN error IS NOT NULL THEN 'failed' WHEN found THEN 'found'
             ELSE 'not_found' END AS record_status,
        CASE WHEN error IS NOT NULL THEN error WHEN found THEN NULL
             ELSE 'lemlist found nothing' || CASE WHEN len(not_found) > 0
                  THEN ' for ' || array_to_string(not_found, ', ') ELSE '' END END AS reason,
        CASE WHEN meta_type = 'VARCHAR' AND (correlation LIKE 'li:%' OR correlation LIKE 'em:%'
                                              OR correlation LIKE 'nd:%') THEN correlation
             ELSE lemlist_person_key(coalesce(li_url, profile.url), email, profile.first_name,
                                     profile.last_name, profile.company_domain) END AS person_key,
        lm_str(item, '$.id') AS provider_ref
    FROM final
)
SELECT {select} FROM records ORDER BY i
"""

_LINE = r"""
CASE WHEN in_sql THEN
    '{"cost_basis": "table", "cost_credits": ' || cost_credits::VARCHAR
    || ', "email": ' || lm_q(email) || ', "email_confidence": null, "email_status": '
    || lm_q(email_status) || ', "fetched_at": ' || lm_q($fetched_at) || ', "linkedin": '
    || CASE WHEN profile IS NULL THEN 'null' ELSE
        '{"company_domain": ' || lm_q(profile.company_domain)
        || ', "company_name": ' || lm_q(profile.company_name)
        || ', "education": [], "first_name": ' || lm_q(profile.first_name)
        || ', "full_name": ' || lm_q(profile.full_name)
        || ', "headline": ' || lm_q(profile.headline)
        || ', "last_name": ' || lm_q(profile.last_name)
        || ', "location": ' || lm_q(profile.location)
        || ', "photo_url": ' || lm_q(profile.photo_url)
        || ', "positions": [' || array_to_string(list_transform(profile.positions, lambda x:
            '{"company_domain": ' || lm_q(x.company_domain)
            || ', "company_name": ' || lm_q(x.company_name)
            || ', "description": ' || lm_q(x.description)
            || ', "end_month": ' || lm_n(x.end_month) || ', "end_year": ' || lm_n(x.end_year)
            || ', "is_current": ' || lm_b(x.is_current)
            || ', "start_month": ' || lm_n(x.start_month)
            || ', "start_year": ' || lm_n(x.start_year)
            || ', "title": ' || lm_q(x.title) || '}'), ', ')
        || '], "provider_profile_id": ' || lm_q(profile.provider_profile_id)
        || ', "skills": [' || array_to_string(list_transform(profile.skills, lambda s: lm_q(s)), ', ')
        || '], "summary": ' || lm_q(profile.summary)
        || ', "title": ' || lm_q(profile.title)
        || ', "url": ' || lm_q(profile.url) || '}' END
    || ', "person_key": ' || lm_q(person_key)
    || ', "phones": ' || CASE WHEN phone IS NULL THEN '[]'
        ELSE '[{"number": ' || lm_q(phone) || ', "source_rank": 0, "type": null}]' END
    || ', "provider": "lemlist", "provider_ref": ' || lm_q(provider_ref)
    || ', "raw": ' || lemlist_raw_json(p::VARCHAR, event)
    || ', "reason": ' || lm_q(reason) || ', "record_status": ' || lm_q(record_status)
    || ', "request_correlation": ' || lm_q(correlation) || '}'
END AS line, CASE WHEN NOT in_sql THEN p::VARCHAR END AS payload
"""

_COLUMNS = r"""
in_sql, CASE WHEN NOT in_sql THEN p::VARCHAR END AS payload,
person_key, 'lemlist' AS provider, provider_ref, correlation AS request_correlation,
record_status, reason, email, email_status, NULL::VARCHAR AS email_confidence,
CASE WHEN phone IS NULL THEN [] ELSE [{'number': phone, 'type': NULL::VARCHAR,
                                      'source_rank': 0::BIGINT}] END AS phones,
profile AS linkedin, cost_credits::BIGINT AS cost_credits, 'table' AS cost_basis,
$fetched_at AS fetched_at,
CASE WHEN in_sql THEN lemlist_raw_json(p::VARCHAR, event) END AS raw
"""


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    for name, (rule, arity) in _UDFS.items():
        con.create_function(
            name,
            _vectorised(rule, arity),
            [duckdb.sqltype("VARCHAR")] * arity,
            duckdb.sqltype("VARCHAR"),
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
    con.execute(_MACROS)
    return con


def _batches(
    path: Path, input_format: str, select: str, fetched_at: str, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The transform's rows, batch by batch: one connection streams the file's payloads (their
    JSON text), another runs the transform over each batch of `batch_rows` payloads."""
    con = _connect()
    sql = _QUERY.replace("{eligible_text}", _ELIGIBLE_TEXT).replace("{select}", select)
    try:
        for batch in payload_texts(path, input_format, batch_rows):
            payloads = pa.table(
                {"i": pa.array(range(batch.num_rows), pa.int64()), "p": batch.column(0)}
            )
            con.register("payloads", payloads)
            yield from con.sql(sql, params={"fetched_at": fetched_at}).to_arrow_table().to_batches()
            con.unregister("payloads")
    finally:
        con.close()


def payload_texts(path: Path, input_format: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's payloads as JSON text (one column), streamed by DuckDB in batches: a JSON
    array gives its elements, JSON lines their lines, a single value itself."""
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        yield from con.sql(
            "SELECT json::VARCHAR AS json FROM read_json_objects($path, format = $format, "
            "maximum_object_size = 16777216)",
            params={"path": str(path), "format": input_format},
        ).to_arrow_reader(batch_rows)
    finally:
        con.close()


# ---------------------------------------------------------------------- the Python fallback


def python_records(payload_text: str, fetched_at: datetime | None) -> list[dict[str, Any]]:
    """One payload the SQL does not read, through `flatten`: its records as `model_dump` JSON."""
    records: list[EnrichmentResult] = flatten(json.loads(payload_text))
    if fetched_at is not None:
        records = [r.model_copy(update={"fetched_at": fetched_at}) for r in records]
    return [r.model_dump(mode="json") for r in records]


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def _stamp(fetched_at: datetime) -> str:
    """`fetched_at` exactly as pydantic writes it in JSON mode."""
    return EnrichmentResult(
        person_key=None, provider="lemlist", record_status="pending", fetched_at=fetched_at
    ).model_dump(mode="json")["fetched_at"]


# ------------------------------------------------------------------------------- writers


def write_jsonl(
    path: Path,
    out: TextIO,
    *,
    fetched_at: datetime,
    input_format: str = "auto",
    batch_rows: int = BATCH_ROWS,
    sql: bool = False,
) -> int:
    """Every record of the payloads in `path` as today's JSON lines, to `out`; returns the count.
    `sql`: single-item webhook bodies are flattened by the DuckDB transform (see the module doc)."""
    count = 0
    if not sql:
        for batch in payload_texts(path, input_format, batch_rows):
            records = [
                r for text in batch.column(0).to_pylist() for r in python_records(text, fetched_at)
            ]
            if records:
                out.write("".join(_json_line(r) + "\n" for r in records))
            count += len(records)
        return count
    for batch in _batches(path, input_format, _LINE, _stamp(fetched_at), batch_rows):
        lines = batch.column(0).to_pylist()
        payloads = batch.column(1)
        if payloads.null_count < len(payloads):
            for i, text in enumerate(payloads.to_pylist()):
                if text is not None:
                    records = python_records(text, fetched_at)
                    lines[i] = "\n".join(_json_line(r) for r in records) if records else None
                    count += len(records) - 1
        kept = [line for line in lines if line is not None]
        count += len(kept)
        if kept:
            out.write("\n".join(kept) + "\n")
    return count


def write_parquet(
    path: Path,
    out: Path,
    *,
    fetched_at: datetime,
    input_format: str = "auto",
    batch_rows: int = BATCH_ROWS,
    sql: bool = False,
) -> int:
    """Every record of the payloads in `path` to a Parquet file (PARQUET_SCHEMA), streamed."""
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    if sql:
        batches = (
            _parquet_batch(batch, fetched_at)
            for batch in _batches(path, input_format, _COLUMNS, _stamp(fetched_at), batch_rows)
        )
    else:
        batches = (
            _parquet_rows(
                [
                    r
                    for text in batch.column(0).to_pylist()
                    for r in python_records(text, fetched_at)
                ]
            )
            for batch in payload_texts(path, input_format, batch_rows)
        )
    with pq.ParquetWriter(out, PARQUET_SCHEMA) as writer:
        for table in batches:
            if table.num_rows:
                writer.write_table(table)
                count += table.num_rows
    return count


def _parquet_batch(batch: pa.RecordBatch, fetched_at: datetime) -> pa.Table:
    """The batch's SQL rows and its Python payloads' records, in input order, typed."""
    in_sql = batch.column(0)
    typed = pa.Table.from_batches([batch]).drop_columns(["in_sql", "payload"])
    typed = typed.cast(PARQUET_SCHEMA)
    if in_sql.false_count == 0:
        return typed
    pieces: list[pa.Table] = []
    start = None
    flags = in_sql.to_pylist()
    payloads = batch.column(1).to_pylist()
    for i, sql_row in enumerate(flags):
        if sql_row:
            start = i if start is None else start
            continue
        if start is not None:
            pieces.append(typed.slice(start, i - start))
            start = None
        pieces.append(_parquet_rows(python_records(payloads[i], fetched_at)))
    if start is not None:
        pieces.append(typed.slice(start))
    return pa.concat_tables(pieces)


def _parquet_rows(records: list[dict[str, Any]]) -> pa.Table:
    """`model_dump` records as the CLI writes them to Parquet (`raw` as JSON text), typed."""
    rows = [{**r, "raw": json.dumps(r["raw"], ensure_ascii=False, sort_keys=True)} for r in records]
    return pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)
