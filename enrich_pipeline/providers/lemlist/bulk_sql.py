"""The columnar lemlist flatten: one DuckDB query that parses each payload once into a typed struct
and writes its record (issue #12). `bulk.py` streams it and sends what it cannot read to Python.

How a payload flows:

1. `read_json_objects` streams the file's payloads (a JSON array, JSON lines or one value).
2. Text rules: a payload with a backslash escape or Unicode whitespace (where DuckDB's `trim` and
   Python's `strip` differ) goes to Python (DuckDB refuses raw control characters in a string). In
   the rest, a JSON `null` value of a key is rewritten to the string `"\\"` (same length; no
   eligible payload can hold a backslash), so the parse below tells a present `null` from an absent
   key; strings hold no quote, so `"` only delimits.
3. `json_transform` parses the payload once into a struct of the three shapes SQL reads (a
   single-item `enrichmentDone`/`enrichmentError` webhook body, a poll body, a submit answer), every
   scalar kept as a JSON leaf; a poll body is parsed once more with its own `data` shape.
4. `raw` is rebuilt from the struct: keys sorted, Python's separators, leaves as they are, which is
   `json.dumps(raw, ensure_ascii=False, sort_keys=True)` for these payloads. The same text proves the
   parse lost nothing: with whitespace removed it must be as long as the payload with whitespace
   removed and hold as many `{`. An unknown or duplicate key drops out (shorter), a value of another
   type than the struct expects reads as `{}` (another length or one more `{`), and a float, a big
   integer or a container where a scalar is expected shows in the text (`RAW_SUSPECT`): the payload
   goes to Python.
5. The record's values are read from the leaves with the rules of `parse.py` / `records.py`, and
   every rule SQL does not reproduce exactly (unreadable values, alias data keys, invalid phones,
   ...) sends the payload to Python (`in_sql` false).

The identity rules (LinkedIn slug, registrable domain, E.164, the name+domain person_key) are the
project's Python functions, called by DuckDB through Arrow UDFs once per distinct value (cached
across vectors and both threads), never once per field of a Python object. A rule that raises sends its
payload to Python, which keeps it as a FAILED record as `flatten` does.
"""

from __future__ import annotations

import os

import duckdb

from enrich_pipeline.providers.lemlist.bulk_rules import (
    BAD_CHARS,
    ECHO,
    ITEM,
    MACROS,
    POLL,
    PROFILE,
    RAW_SUSPECT,
    SUBMIT,
    TOP,
    UDFS,
    duckdb_type,
    per_distinct,
    render,
)


def _profile_sql(li: str) -> str:
    """`parse.linkedin_profile` of a profile struct, as the LINKEDIN struct of PARQUET_SCHEMA."""
    # A role's dates are its own, else its group's: chosen once per role (`x.date`), as a CASE
    # copied into each of the six fields that read it cost 15% of the whole query.
    roles = """list_transform(CASE WHEN len(g.profilePositions) > 0 THEN g.profilePositions
                                   ELSE [NULL] END, lambda r: {
            'role': r,
            'date': CASE WHEN r.date.start IS NOT NULL OR r.date."end" IS NOT NULL THEN r.date
                         ELSE g.date END})"""
    return f"""{{
        'url': CASE WHEN li_slug IS NOT NULL THEN 'https://www.linkedin.com/in/' || li_slug
                    ELSE lm_str({li}.linkedinUrl) END,
        'provider_profile_id': coalesce(lm_str({li}.linkedinMemberId),
                                        lm_str({li}.linkedinClassicId)),
        'first_name': lm_str({li}.firstName),
        'last_name': lm_str({li}.lastName),
        'full_name': nullif(concat_ws(' ', lm_str({li}.firstName), lm_str({li}.lastName)), ''),
        'headline': lm_str({li}.tagline),
        'title': lm_str({li}.occupation),
        'company_name': lm_str({li}.companyName),
        'company_domain': lm_domain(coalesce(lm_str({li}.companyDomain),
                                             lm_str({li}.companyWebsite))),
        'location': lm_str({li}.locationName),
        'summary': lm_str({li}.summary),
        'skills': lm_skills({li}.skills),
        'positions': flatten(list_transform(coalesce({li}.positionGroups, []), lambda g:
            list_transform({roles}, lambda x: {{
                'title': lm_str(x.role.title),
                'company_name': coalesce(lm_str(x.role.companyName), lm_str(g.company.name)),
                'company_domain': lm_domain(coalesce(lm_str(g.company.domain),
                                                     lm_str(g.company.website))),
                'start_year': lm_int(x.date.start.year),
                'start_month': lm_int(x.date.start.month),
                'end_year': lm_int(x.date."end".year),
                'end_month': lm_int(x.date."end".month),
                'is_current': coalesce(x.date.start IS NOT NULL OR x.date."end" IS NOT NULL, false)
                              AND lm_int(x.date."end".year) IS NULL,
                'description': lm_str(x.role.description)}}))),
        'education': []::STRUCT(school_name VARCHAR, degree_name VARCHAR,
                                start_year BIGINT, end_year BIGINT)[],
        'photo_url': lm_str({li}.picture)
    }}"""


def _dates_ok(li: str) -> str:
    """Every position date is an integer, null or absent (a string of digits goes to Python)."""
    date_ok = (
        "lm_int_ok({d}.start.year) AND lm_int_ok({d}.start.month) "
        'AND lm_int_ok({d}."end".year) AND lm_int_ok({d}."end".month)'
    )
    return f"""coalesce(list_bool_and(list_transform({li}.positionGroups, lambda g:
        {date_ok.format(d="g.date")} AND coalesce(list_bool_and(list_transform(
            g.profilePositions, lambda r: {date_ok.format(d="r.date")})), true))), true)"""


def _workflow_ok(fe: str, fp: str, ve: str) -> str:
    """The workflow values in a shape SQL reads as `parse.py` does (else: Python)."""
    return f"""
        -- find_email: empty, or a string address (or none) and a string (or no) verdict
        ({fe} IS NULL OR fe_empty OR (
            (lm_null({fe}.email) OR {fe}.email IS NULL
             OR (lm_is_str({fe}.email) AND fe_email IS NOT NULL AND lm_ascii(fe_email)))
            AND lm_ascii(lm_str({fe}.status))))
        -- find_phone: empty, no number, or a valid one
        AND ({fp} IS NULL OR fp_empty OR lm_str_ok({fp}.phone) AND (
             {fp}.phone IS NULL OR lm_null({fp}.phone) OR {fp}.phone = '""'
             OR phone IS NOT NULL))
        -- verify: empty, or a non-empty string verdict and a string (or no) email
        AND ({ve} IS NULL OR ve_empty OR (
            ({ve}.status IS NULL OR lm_null({ve}.status) OR lm_str({ve}.status) IS NOT NULL)
            AND ({ve}.result IS NULL OR lm_null({ve}.result) OR lm_str({ve}.result) IS NOT NULL)
            AND lm_str_ok({ve}.status) AND lm_str_ok({ve}.result) AND lm_str_ok({ve}.email)
            AND lm_ascii(ve_status) AND lm_ascii(lm_str({ve}.email))))
    """


_NOT_FOUND = "list_filter([{}], lambda x: x IS NOT NULL)".format(
    ", ".join(
        [
            "CASE WHEN fe IS NOT NULL AND email0 IS NULL THEN 'find_email' END",
            "CASE WHEN fp IS NOT NULL AND phone IS NULL THEN 'find_phone' END",
            "CASE WHEN li IS NOT NULL AND profile IS NULL THEN 'linkedin_enrichment' END",
            "CASE WHEN ve IS NOT NULL AND NOT ve_found THEN 'verify' END",
        ]
    )
)

# Sets of words as regular expressions: DuckDB turns an IN list (or list_contains of a constant
# list) of five or more values into a join, and a join does not keep the row order.
_PENDING = "'in-progress|in_progress|pending|queued|running'"
_FINISHED = "'done|completed|finished|failed|error'"
_LI_ABSENT = " AND ".join(f'li."{k}" IS NULL' for k in PROFILE)
_PROFILE_SQL = _profile_sql("li")
_DATES_OK = _dates_ok("li")
_WORKFLOW_OK = _workflow_ok("fe", "fp", "ve")
_RAW_ITEM = render("item", ITEM)
_RAW_POLL = render("tp", POLL)
_RAW_SUBMIT = render("{'error': t.error, 'id': t.id, 'metadata': t.metadata}", SUBMIT)

QUERY = f"""
WITH src AS (
    SELECT json::VARCHAR AS p FROM read_json_objects($path, format = $format,
                                                     maximum_object_size = 16777216)
),
texts AS (
    SELECT p, CASE WHEN left(p, 1) = '{{' AND NOT contains(p, '\\')
                        AND (strlen(p) = length(p) OR NOT regexp_matches(p, '{BAD_CHARS}'))
              THEN replace(replace(p, '": null', '": "\\\\"'), '":null', '":"\\\\"') END AS q
    FROM src
),
parsed AS (
    SELECT p, q, json_transform(q, '{duckdb_type(TOP)}') AS t FROM texts
),
shaped AS (
    SELECT p, q, t,
        CASE WHEN t.enrichmentStatus IS NOT NULL THEN 'P'
             WHEN t.type IS NOT NULL THEN
                CASE WHEN lm_inner(t.type) IN ('enrichmentDone', 'enrichmentError')
                          AND len(t.data) = 1 AND t.data[1] IS NOT NULL THEN 'W' END
             WHEN t.data IS NULL AND (lm_is_str(t.id) OR t.error IS NOT NULL) THEN 'S'
        END AS shape
    FROM parsed
),
polls AS (
    SELECT *, CASE WHEN shape = 'P' THEN json_transform(q, '{duckdb_type(POLL)}') END AS tp,
        CASE WHEN shape = 'W' THEN t.data[1] END AS item
    FROM shaped
),
leaves AS (
    SELECT p, q, shape, tp, item,
        CASE shape
            WHEN 'W' THEN '{{"data": [' || {_RAW_ITEM} || '], "type": ' || t.type || '}}'
            WHEN 'P' THEN {_RAW_POLL}
            WHEN 'S' THEN {_RAW_SUBMIT}
        END AS raw0,
        CASE WHEN shape = 'W' AND t.secret IS NOT NULL THEN lm_flat(t.secret, ',', ':') END
            AS secret,
        CASE shape WHEN 'W' THEN item.data.find_email WHEN 'P' THEN tp.data.email END AS fe,
        CASE shape WHEN 'W' THEN item.data.find_phone WHEN 'P' THEN tp.data.phone END AS fp,
        CASE shape WHEN 'W' THEN item.data.linkedin_enrichment WHEN 'P' THEN tp.data.linkedin
            END AS li,
        CASE shape WHEN 'W' THEN item.data.verify WHEN 'P' THEN tp.data.verify END AS ve,
        CASE shape WHEN 'W' THEN item.error WHEN 'P' THEN tp.error ELSE t.error END AS error_leaf,
        CASE shape WHEN 'W' THEN item.metadata WHEN 'S' THEN t.metadata END AS metadata,
        CASE shape WHEN 'W' THEN lm_inner(t.type) END AS event,
        CASE WHEN shape = 'P' THEN lower(lm_str(tp.enrichmentStatus)) END AS poll_status,
        CASE WHEN shape = 'P' AND tp.input IS NOT NULL
             THEN json_transform(tp.input, '{duckdb_type(ECHO)}') END AS echo,
        CASE shape WHEN 'W' THEN lm_str(item.id) WHEN 'P' THEN lm_str(tp.enrichmentId)
            WHEN 'S' THEN lm_str(t.id) END AS provider_ref,
        CASE shape WHEN 'S' THEN t.id END AS submit_id,
        CASE WHEN shape = 'P' THEN tp.enrichmentStatus END AS status_leaf
    FROM polls
),
rendered AS (
    SELECT * EXCLUDE (raw0), replace(raw0, '"\\\\"', 'null') AS raw,
        -- as long (whitespace aside) and with as many `{{` as the payload: a key SQL does not know
        -- drops out (shorter); a value of another type than the struct expects reads as `{{}}`
        -- (another length, or one more `{{`). A webhook's `"secret": ...,` is not in `raw`.
        coalesce(lm_dense(raw0) + coalesce(10 + lm_dense(secret), 0) = lm_dense(q)
                 AND lm_braces(raw0) + coalesce(lm_braces(secret), 0) = lm_braces(q)
                 AND NOT regexp_matches(raw0, '{RAW_SUSPECT}')
                 AND NOT contains(raw0, '}},{{'), false) AS lossless
    FROM leaves
),
checked AS (
    SELECT *,
        lm_tag(metadata) AS correlation,
        -- find_email
        fe IS NOT NULL AND ((fe.email IS NULL AND fe.status IS NULL AND fe.notFound IS NULL)
                            OR coalesce(fe.notFound = 'true', false)) AS fe_empty,
        CASE WHEN lm_is_str(fe.email) THEN nullif(lower(trim(lm_inner(fe.email))), '') END
            AS fe_email,
        -- find_phone
        fp IS NOT NULL AND ((fp.phone IS NULL AND fp.notFound IS NULL) OR coalesce(fp.notFound = 'true', false))
            AS fp_empty,
        -- linkedin_enrichment
        li IS NOT NULL AND (coalesce(li.notFound = 'true', false) OR {_LI_ABSENT}) AS li_empty,
        -- verify
        ve IS NOT NULL AND ((ve.email IS NULL AND ve.status IS NULL AND ve.result IS NULL
                             AND ve.notFound IS NULL) OR coalesce(ve.notFound = 'true', false)) AS ve_empty,
        coalesce(lm_str(ve.status), lm_str(ve.result)) AS ve_status,
        lm_slug(lm_str(li.linkedinUrl)) AS li_slug,
        lm_slug(lm_str(echo.linkedinUrl)) AS echo_slug,
        CASE WHEN error_leaf IS NOT NULL AND NOT lm_null(error_leaf) AND NOT lm_is_str(error_leaf)
             THEN true ELSE false END AS error_odd
    FROM rendered
),
read AS (
    SELECT *,
        CASE WHEN NOT fe_empty AND fe IS NOT NULL THEN fe_email END AS email0,
        CASE WHEN NOT fe_empty AND fe_email IS NOT NULL THEN lm_verdict(lm_str(fe.status)) END
            AS email0_status,
        CASE WHEN NOT fp_empty AND lm_str(fp.phone) IS NOT NULL THEN lm_e164(lm_str(fp.phone)) END
            AS phone,
        CASE WHEN li IS NOT NULL AND NOT li_empty THEN {_PROFILE_SQL} END AS profile0,
        ve IS NOT NULL AND NOT ve_empty AND ve_status IS NOT NULL AS ve_found,
        CASE shape
            WHEN 'W' THEN coalesce(lm_str(error_leaf), CASE WHEN event = 'enrichmentError'
                                   THEN 'enrichment failed (enrichmentError)' END)
            WHEN 'P' THEN coalesce(lm_str(error_leaf), CASE WHEN poll_status IN ('failed', 'error')
                                   THEN 'enrichment ' || poll_status END)
        END AS error
    FROM checked
),
merged AS (
    SELECT *,
        CASE WHEN profile0 IS NOT NULL AND NOT (
                profile0.url IS NULL AND profile0.provider_profile_id IS NULL
                AND profile0.first_name IS NULL AND profile0.last_name IS NULL
                AND profile0.headline IS NULL AND profile0.title IS NULL
                AND profile0.company_name IS NULL AND profile0.company_domain IS NULL
                AND profile0.location IS NULL AND profile0.summary IS NULL
                AND len(profile0.skills) = 0 AND len(profile0.positions) = 0
                AND profile0.photo_url IS NULL) THEN profile0 END AS profile,
        CASE WHEN ve_found THEN nullif(lower(trim(lm_str(ve.email))), '') END AS ve_email,
        CASE WHEN ve_found THEN lm_verdict(ve_status) END AS ve_verdict
    FROM read
),
finished AS (
    SELECT *,
        CASE WHEN ve_verdict IS NOT NULL AND (email0 IS NULL OR email0 = ve_email)
             THEN coalesce(email0, ve_email) ELSE email0 END AS email,
        CASE WHEN ve_verdict IS NOT NULL AND (email0 IS NULL OR email0 = ve_email)
             THEN ve_verdict ELSE email0_status END AS status0,
        email0 IS NOT NULL OR phone IS NOT NULL OR profile IS NOT NULL OR ve_found AS found,
        {_NOT_FOUND} AS not_found,
        (CASE WHEN email0 IS NOT NULL AND NOT coalesce(lm_is_str(fe.status)
                   AND lower(trim(lm_inner(fe.status))) IN ('undeliverable', 'unknown'), false)
              THEN 5 ELSE 0 END)
        + (CASE WHEN phone IS NOT NULL THEN 20 ELSE 0 END)
        + (CASE WHEN li IS NOT NULL AND (profile IS NOT NULL OR error IS NULL) THEN 1 ELSE 0 END)
        + (CASE WHEN ve IS NOT NULL AND (ve_found OR error IS NULL) THEN 1 ELSE 0 END)
            AS workflow_cost,
        -- every rule SQL reproduces holds (else the payload goes to Python)
        lossless AND NOT error_odd
        AND {_WORKFLOW_OK}
        AND (li IS NULL OR li_empty OR {_DATES_OK})
        AND (li IS NULL OR li_empty OR profile0 IS NULL OR (
            len(profile0.skills) > 0 OR len(profile0.positions) > 0 OR profile0.url IS NOT NULL
            OR profile0.provider_profile_id IS NOT NULL OR profile0.first_name IS NOT NULL
            OR profile0.last_name IS NOT NULL OR profile0.headline IS NOT NULL
            OR profile0.title IS NOT NULL OR profile0.company_name IS NOT NULL
            OR profile0.company_domain IS NOT NULL OR profile0.location IS NOT NULL
            OR profile0.summary IS NOT NULL OR profile0.photo_url IS NOT NULL))
        AND CASE shape
            WHEN 'W' THEN true
            WHEN 'P' THEN (regexp_full_match(poll_status, {_PENDING})
                OR regexp_full_match(poll_status, {_FINISHED})
                OR poll_status IN ('not-found', 'not_found')) AND lm_ascii(lm_str(status_leaf))
                AND lm_ascii(lm_str(echo.email))
            WHEN 'S' THEN lm_str(submit_id) IS NOT NULL
                OR ((submit_id IS NULL OR lm_null(submit_id)) AND lm_is_str(error_leaf))
            ELSE false END AS rules_ok
    FROM merged
),
records AS (
    SELECT *,
        CASE
            WHEN shape = 'S' THEN CASE WHEN provider_ref IS NOT NULL THEN 'pending' ELSE 'failed' END
            WHEN shape = 'P' AND regexp_full_match(poll_status, {_PENDING}) THEN 'pending'
            WHEN shape = 'P' AND poll_status IN ('not-found', 'not_found') THEN 'failed'
            WHEN error IS NOT NULL THEN 'failed' WHEN found THEN 'found'
            ELSE 'not_found' END AS record_status,
        CASE
            WHEN shape = 'S' THEN CASE WHEN provider_ref IS NOT NULL THEN 'submitted'
                                       ELSE lm_inner(error_leaf) END
            WHEN shape = 'P' AND regexp_full_match(poll_status, {_PENDING}) THEN 'enrichment in progress'
            WHEN shape = 'P' AND poll_status IN ('not-found', 'not_found')
                THEN 'enrichment not found'
            WHEN error IS NOT NULL THEN error WHEN found THEN NULL
            ELSE 'lemlist found nothing' || CASE WHEN len(not_found) > 0
                 THEN ' for ' || array_to_string(not_found, ', ') ELSE '' END END AS reason,
        shape = 'W' OR (shape = 'P' AND regexp_full_match(poll_status, {_FINISHED})) AS finished_row
    FROM finished
),
keyed AS (
    SELECT *,
        CASE WHEN finished_row THEN email END AS out_email,
        CASE WHEN finished_row AND email IS NOT NULL THEN status0 END AS out_email_status,
        CASE WHEN finished_row THEN phone END AS out_phone,
        CASE WHEN finished_row THEN profile END AS out_profile,
        CASE WHEN finished_row THEN workflow_cost WHEN shape = 'S' AND provider_ref IS NULL
             THEN 0 END AS cost_credits,
        CASE WHEN finished_row OR (shape = 'S' AND provider_ref IS NULL) THEN 'table'
             ELSE 'unknown' END AS cost_basis,
        CASE
            WHEN shape IN ('W', 'S') AND (correlation LIKE 'li:%' OR correlation LIKE 'em:%'
                                          OR correlation LIKE 'nd:%') THEN correlation
            WHEN shape = 'S' THEN NULL
            WHEN shape = 'W' THEN lm_key(CASE WHEN profile IS NOT NULL THEN li_slug END, email,
                                         profile.first_name, profile.last_name,
                                         profile.company_domain)
            ELSE coalesce(
                lm_key(echo_slug, lower(trim(lm_str(echo.email))),
                       lm_str(echo.firstName), lm_str(echo.lastName), lm_str(echo.companyDomain)),
                CASE WHEN finished_row THEN lm_key(
                    CASE WHEN lm_str(echo.linkedinUrl) IS NOT NULL THEN echo_slug
                         WHEN profile IS NOT NULL THEN li_slug END,
                    coalesce(lower(trim(lm_str(echo.email))), email),
                    coalesce(lm_str(echo.firstName), profile.first_name),
                    coalesce(lm_str(echo.lastName), profile.last_name),
                    coalesce(lm_str(echo.companyDomain), profile.company_domain)) END)
        END AS person_key
    FROM records
)
,
decided AS (
    SELECT *,
        -- a Python rule that raised (see FAILED) sends the payload to Python
        coalesce(rules_ok AND NOT contains(concat(out_phone, out_profile.url, li_slug, echo_slug,
            out_profile.company_domain, person_key, array_to_string(list_transform(
                out_profile.positions, lambda x: x.company_domain), '')), chr(0)), false) AS in_sql
    FROM keyed
)
SELECT {{select}} FROM decided
"""

LINE = r"""
CASE WHEN in_sql THEN
    '{"cost_basis": ' || lm_q(cost_basis) || ', "cost_credits": ' || lm_n(cost_credits)
    || ', "email": ' || lm_q(out_email) || ', "email_confidence": null, "email_status": '
    || lm_q(out_email_status) || ', "fetched_at": ' || lm_q($fetched_at) || ', "linkedin": '
    || CASE WHEN out_profile IS NULL THEN 'null' ELSE
        '{"company_domain": ' || lm_q(out_profile.company_domain)
        || ', "company_name": ' || lm_q(out_profile.company_name)
        || ', "education": [], "first_name": ' || lm_q(out_profile.first_name)
        || ', "full_name": ' || lm_q(out_profile.full_name)
        || ', "headline": ' || lm_q(out_profile.headline)
        || ', "last_name": ' || lm_q(out_profile.last_name)
        || ', "location": ' || lm_q(out_profile.location)
        || ', "photo_url": ' || lm_q(out_profile.photo_url)
        || ', "positions": [' || array_to_string(list_transform(out_profile.positions, lambda x:
            '{"company_domain": ' || lm_q(x.company_domain)
            || ', "company_name": ' || lm_q(x.company_name)
            || ', "description": ' || lm_q(x.description)
            || ', "end_month": ' || lm_n(x.end_month) || ', "end_year": ' || lm_n(x.end_year)
            || ', "is_current": ' || lm_b(x.is_current)
            || ', "start_month": ' || lm_n(x.start_month)
            || ', "start_year": ' || lm_n(x.start_year)
            || ', "title": ' || lm_q(x.title) || '}'), ', ')
        || '], "provider_profile_id": ' || lm_q(out_profile.provider_profile_id)
        || ', "skills": [' || array_to_string(list_transform(out_profile.skills,
                                                               lambda s: lm_q(s)), ', ')
        || '], "summary": ' || lm_q(out_profile.summary)
        || ', "title": ' || lm_q(out_profile.title)
        || ', "url": ' || lm_q(out_profile.url) || '}' END
    || ', "person_key": ' || lm_q(person_key)
    || ', "phones": ' || CASE WHEN out_phone IS NULL THEN '[]'
        ELSE '[{"number": ' || lm_q(out_phone) || ', "source_rank": 0, "type": null}]' END
    || ', "provider": "lemlist", "provider_ref": ' || lm_q(provider_ref)
    || ', "raw": ' || raw
    || ', "reason": ' || lm_q(reason) || ', "record_status": ' || lm_q(record_status)
    || ', "request_correlation": ' || lm_q(correlation) || '}'
END AS line, CASE WHEN NOT in_sql THEN p END AS payload
"""

COLUMNS = r"""
in_sql, CASE WHEN NOT in_sql THEN p END AS payload,
person_key, 'lemlist' AS provider, provider_ref, correlation AS request_correlation,
record_status, reason, out_email AS email, out_email_status AS email_status,
NULL::VARCHAR AS email_confidence,
CASE WHEN out_phone IS NULL THEN [] ELSE [{'number': out_phone, 'type': NULL::VARCHAR,
                                          'source_rank': 0::BIGINT}] END AS phones,
out_profile AS linkedin, cost_credits::BIGINT AS cost_credits, cost_basis,
$fetched_at AS fetched_at, CASE WHEN in_sql THEN raw END AS raw
"""


# DuckDB reads a JSON file in buffers of 32 MiB, one per thread at a time: a smaller file is read
# (and so transformed) by one thread whatever the setting, and a second thread only adds its
# memory and start-up (measured: +0.4 s and +150 MiB at 25 MiB); from about two buffers on, two
# threads take ~1.5x less time (200k payloads, 250 MiB: 24-26 s -> 16-17 s on 2 cores).
PARALLEL_FROM_BYTES = 64 * 2**20


def threads_for(size: int) -> int:
    """DuckDB threads for an input of `size` bytes: two at most (see `connect`)."""
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_FROM_BYTES else 1


def connect(threads: int = 1) -> duckdb.DuckDBPyConnection:
    """A connection with the UDFs and macros the query uses, keeping input order."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    # Two threads at most: each holds its own JSON buffers and vectors of the wide parsed struct
    # (~300 MiB more at two threads), so more would cost memory faster than they save time; with
    # two the peak stays flat in the input and under 1 GiB (measured 790-940 MiB from 200k to 1M
    # payloads). Two threads used to be no faster, as the rules' UDFs held the GIL long enough to
    # serialise them (see `per_distinct`).
    con.execute(f"SET threads = {max(1, min(2, threads))}")
    for name, (rule, arity) in UDFS.items():
        con.create_function(
            name,
            per_distinct(rule, arity),
            [duckdb.sqltype("VARCHAR")] * arity,
            duckdb.sqltype("VARCHAR"),
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
    con.execute(MACROS)
    return con
