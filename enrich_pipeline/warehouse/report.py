"""The coverage and cost report: per day, provider and field, what was asked, found and paid.

`provider_report` turns one day's attempts (every `attempts_<provider>` partition, concatenated)
into one row per (day, provider, field) for the fields email / phone / linkedin, plus one row per
provider with `field = 'all'`. Columnar: DuckDB SQL over the Arrow tables, like `flatten`.

Definitions (a "person" is a `person_key`; every count is of distinct people):

* attempted: people this provider was actually sent a request for the field: the attempt was not
  answered from the ledger (`from_cache`) and its outcome is found / not found / failed / pending /
  unknown (a submit whose fate is unknown was sent). Refused and skipped attempts were not sent.
  Asking to verify an email we hold (`email_verification`) is an email attempt.
* cache_hits: people whose request for the field was answered from the ledger (no request, free).
* found: attempted people for whom this provider returned the field (a FOUND record carrying an
  email, at least one phone, or a LinkedIn profile). find_rate = found / attempted.
* verified_share (email only): share of the found emails that are deliverable.
* credits: the credits of this provider's non-cached attempts, split over the fields the attempt
  paid for (rule below); credits_per_found = credits / found.
* cost_basis: how those credits are known, per provider: `reported` (the provider's receipts),
  `table` (its documented prices), `estimated` (our price guess: The Hog publishes none), joined
  with commas when mixed. Estimated credits are a forecast, not a bill.
* marginal: people for whom this provider is the only one with an *answer* to the field that day,
  cached answers included. An answer follows `waterfall.FIELD_POLICY`: an email counts only when
  deliverable (a risky email leaves the person open for the next provider), a phone or a profile
  counts whenever found.
* chosen: people whose `contacts` row shows this provider's value for the field (null when no
  contacts table was given).

The `field = 'all'` row of a provider: attempted / cache_hits count *requests* (distinct person and
provider reference: one per person for lemlist and The Hog, one per person and product for
enrich.so: what the provider itself counts as submissions); credits is the provider's total
(`sum(cost_credits)` of its non-cached attempts, whatever the split); found, marginal and chosen are
the sums over the field rows (answers, not people); find_rate = sum(found) / sum(attempted) over the
field rows; credits_per_found is credits per found field.

Credits split (one attempt may ask for several fields; the provider reports one cost):
1. the fields an attempt paid for are the fields it requested (`email_verification` counting as
   email), narrowed to one when its `provider_ref` names a single-field product (enrich.so
   `finder:` / `validation:` → email, `phones:` → phone, `reverse:` → linkedin);
2. the cost is explained by list prices (`pricing.price`): the set of those fields whose prices
   add up to the cost exactly gets them, preferring the set with the most found fields, then the
   smallest, then email before phone before linkedin. This follows each provider's billing
   without knowing it field by field: lemlist bills its LinkedIn enrichment and a verification
   found or not, and an email only when deliverable or risky, so a lemlist attempt that found an
   email of unknown status and no profile, costing 1, puts that credit on linkedin;
3. when no set adds up (prices changed, a discount), the cost is split in proportion to the list
   price of the found fields (none found: of every requested field; all prices 0: equally),
   rounded down, the remainder to the dearest found field (else the dearest requested field).
So the field credits of an attempt add up to its cost exactly, and a provider's field credits add
up to its `'all'` credits. With the sandbox's prices this reproduces its charges field by field.

No I/O and no Dagster here.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from enrich_pipeline.model import PROVIDERS, WantedField
from enrich_pipeline.providers.enrichso import PRODUCT_OF_FIELD
from enrich_pipeline.spend.pricing import PRICES, price

REPORT_FIELDS: tuple[str, ...] = ("email", "phone", "linkedin")
ALL_FIELDS = "all"
# Requested field -> the report field it counts towards.
FIELD_OF_REQUEST: dict[WantedField, str] = {
    WantedField.EMAIL: "email",
    WantedField.EMAIL_VERIFICATION: "email",
    WantedField.PHONE: "phone",
    WantedField.LINKEDIN: "linkedin",
}
# provider -> provider_ref prefix -> the one field an attempt with that reference paid for.
SINGLE_FIELD_PRODUCTS: dict[str, dict[str, WantedField]] = {
    "enrichso": {product: wanted for wanted, product in PRODUCT_OF_FIELD.items()}
}
SENT_OUTCOMES: tuple[str, ...] = ("found", "not_found", "failed", "pending", "unknown")

REPORT_SCHEMA = pa.schema(
    [
        ("day", pa.string()),
        ("provider", pa.string()),
        ("field", pa.string()),  # email | phone | linkedin | all
        ("attempted", pa.int64()),
        ("cache_hits", pa.int64()),
        ("found", pa.int64()),
        ("find_rate", pa.float64()),
        ("verified_share", pa.float64()),
        ("credits", pa.int64()),
        ("credits_per_found", pa.float64()),
        # how the provider's credits are known: reported (its receipts), table (its documented
        # prices), estimated (our guess: The Hog publishes no prices), comma-joined when mixed
        ("cost_basis", pa.string()),
        ("marginal", pa.int64()),
        ("chosen", pa.int64()),
    ]
)

_ATTEMPT_COLUMNS = {
    "person_key": pa.string(),
    "provider": pa.string(),
    "provider_ref": pa.string(),
    "record_status": pa.string(),
    "outcome": pa.string(),
    "fields_requested": pa.list_(pa.string()),
    "email": pa.string(),
    "email_status": pa.string(),
    "cost_credits": pa.int64(),
    "cost_basis": pa.string(),
    "from_cache": pa.bool_(),
}
_CONTACT_COLUMNS = ("email_provider", "phone_provider", "linkedin_provider")

_REPORT_SQL = """
WITH
rows AS (
    SELECT _row, person_key, provider, provider_ref, record_status, fields_requested,
           email, email_status, phone_count, has_profile, cost_basis,
           coalesce(from_cache, false) AS from_cache,
           NOT coalesce(from_cache, false) AND outcome IN $sent_outcomes AS sent,
           CASE WHEN coalesce(from_cache, false) THEN 0 ELSE coalesce(cost_credits, 0) END AS cost
    FROM attempts
),
asked AS (
    SELECT _row, unnest(fields_requested) AS requested FROM rows
),
covered AS (
    SELECT r._row, r.person_key, r.provider, r.from_cache, r.sent, r.cost,
           f.field, f.field_rank, coalesce(p.price, 0) AS price,
           r.record_status = 'found' AND CASE f.field
               WHEN 'email' THEN coalesce(trim(r.email), '') <> ''
               WHEN 'phone' THEN coalesce(r.phone_count, 0) > 0
               ELSE coalesce(r.has_profile, false) END AS has_value,
           coalesce(r.email_status = 'deliverable', false) AS deliverable
    FROM asked AS a
    JOIN rows AS r USING (_row)
    JOIN report_fields AS f ON f.requested = a.requested
    LEFT JOIN prices AS p ON p.provider = r.provider AND p.requested = a.requested
    LEFT JOIN products AS s
           ON s.provider = r.provider AND s.product = split_part(r.provider_ref, ':', 1)
    WHERE s.requested IS NULL OR s.requested = a.requested
),
row_fields AS (
    SELECT _row, person_key, provider, from_cache, sent, cost, field, field_rank, has_value,
           deliverable, sum(price) AS price
    FROM covered GROUP BY ALL
),
subsets AS (
    SELECT f._row, s.mask, any_value(f.cost) AS cost,
           bit_or(1 << f.field_rank) AS requested_mask,
           sum(CASE WHEN (s.mask >> f.field_rank) & 1 = 1 THEN f.price ELSE 0 END) AS price,
           count(*) FILTER (WHERE (s.mask >> f.field_rank) & 1 = 1 AND f.has_value) AS found
    FROM row_fields AS f CROSS JOIN range(8) AS s(mask)
    GROUP BY f._row, s.mask
),
explained AS (
    SELECT _row, mask FROM subsets
    WHERE mask & ~requested_mask = 0 AND price = cost
    QUALIFY row_number() OVER (PARTITION BY _row ORDER BY found DESC, bit_count(mask), mask) = 1
),
weighted AS (
    SELECT f.*, e.mask,
           CASE WHEN sum(CASE WHEN f.has_value THEN f.price ELSE 0 END) OVER w > 0
                    THEN CASE WHEN f.has_value THEN f.price ELSE 0 END
                WHEN sum(f.price) OVER w > 0 THEN f.price
                ELSE 1 END AS weight,
           row_number() OVER (
               PARTITION BY f._row ORDER BY f.has_value DESC, f.price DESC, f.field_rank
           ) AS dearest
    FROM row_fields AS f LEFT JOIN explained AS e USING (_row)
    WINDOW w AS (PARTITION BY f._row)
),
shares AS (
    SELECT *, CASE
        WHEN mask IS NOT NULL THEN CASE WHEN (mask >> field_rank) & 1 = 1 THEN price ELSE 0 END
        ELSE (cost * weight) // sum(weight) OVER (PARTITION BY _row) END AS base
    FROM weighted
),
credited AS (
    SELECT *, base + CASE WHEN dearest = 1 THEN cost - sum(base) OVER (PARTITION BY _row)
                          ELSE 0 END AS credits
    FROM shares
),
per_field AS (
    SELECT provider, field,
           count(DISTINCT person_key) FILTER (WHERE sent) AS attempted,
           count(DISTINCT person_key) FILTER (WHERE from_cache) AS cache_hits,
           count(DISTINCT person_key) FILTER (WHERE sent AND has_value) AS found,
           count(DISTINCT person_key) FILTER (WHERE sent AND has_value AND deliverable)
               AS found_deliverable,
           sum(credits) AS credits
    FROM credited GROUP BY provider, field
),
answers AS (
    SELECT DISTINCT person_key, field, provider FROM credited
    WHERE person_key IS NOT NULL AND has_value AND (field <> 'email' OR deliverable)
),
sole AS (
    SELECT person_key, field, any_value(provider) AS provider
    FROM answers GROUP BY person_key, field HAVING count(*) = 1
),
marginal AS (SELECT provider, field, count(*) AS marginal FROM sole GROUP BY provider, field),
chosen AS (
    SELECT provider, field, count(*) AS chosen FROM (
        SELECT email_provider AS provider, 'email' AS field FROM contacts
        UNION ALL SELECT phone_provider, 'phone' FROM contacts
        UNION ALL SELECT linkedin_provider, 'linkedin' FROM contacts
    ) WHERE provider IS NOT NULL GROUP BY provider, field
),
providers AS (SELECT DISTINCT provider FROM rows WHERE provider IS NOT NULL),
bases AS (
    SELECT provider, string_agg(DISTINCT cost_basis, ',' ORDER BY cost_basis) AS cost_basis
    FROM rows WHERE cost > 0 AND cost_basis IS NOT NULL GROUP BY provider
),
field_rows AS (
    SELECT p.provider, f.field, f.field_rank,
           coalesce(pf.attempted, 0) AS attempted,
           coalesce(pf.cache_hits, 0) AS cache_hits,
           coalesce(pf.found, 0) AS found,
           coalesce(pf.found_deliverable, 0) AS found_deliverable,
           coalesce(pf.credits, 0) AS credits,
           coalesce(m.marginal, 0) AS marginal,
           CASE WHEN $has_contacts THEN coalesce(c.chosen, 0) END AS chosen
    FROM providers AS p
    CROSS JOIN (SELECT DISTINCT field, field_rank FROM report_fields) AS f
    LEFT JOIN per_field AS pf ON pf.provider = p.provider AND pf.field = f.field
    LEFT JOIN marginal AS m ON m.provider = p.provider AND m.field = f.field
    LEFT JOIN chosen AS c ON c.provider = p.provider AND c.field = f.field
),
requests AS (
    SELECT provider,
           count(DISTINCT row(person_key, provider_ref)) FILTER (WHERE sent) AS attempted,
           count(DISTINCT row(person_key, provider_ref)) FILTER (WHERE from_cache) AS cache_hits,
           sum(cost) AS credits
    FROM rows WHERE provider IS NOT NULL GROUP BY provider
),
all_rows AS (
    SELECT r.provider, $all_fields AS field, 99 AS field_rank,
           r.attempted, r.cache_hits, sum(f.found) AS found,
           sum(f.found)::DOUBLE / nullif(sum(f.attempted), 0) AS find_rate,
           NULL::DOUBLE AS verified_share,
           r.credits, sum(f.marginal) AS marginal, sum(f.chosen) AS chosen
    FROM requests AS r JOIN field_rows AS f USING (provider)
    GROUP BY r.provider, r.attempted, r.cache_hits, r.credits
),
report AS (
    SELECT provider, field, field_rank, attempted, cache_hits, found,
           found::DOUBLE / nullif(attempted, 0) AS find_rate,
           CASE WHEN field = 'email' THEN found_deliverable::DOUBLE / nullif(found, 0) END
               AS verified_share,
           credits, marginal, chosen
    FROM field_rows
    UNION ALL BY NAME
    SELECT * FROM all_rows
)
SELECT $day AS day, r.provider, r.field, r.attempted, r.cache_hits, r.found, r.find_rate,
       r.verified_share, r.credits, r.credits::DOUBLE / nullif(r.found, 0) AS credits_per_found,
       b.cost_basis, r.marginal, r.chosen
FROM report AS r LEFT JOIN provider_order AS o ON o.provider = r.provider
LEFT JOIN bases AS b ON b.provider = r.provider
ORDER BY coalesce(o.provider_rank, 1000), r.provider, r.field_rank
"""


def provider_report(
    attempts: pa.Table | None,
    contacts: pa.Table | None,
    *,
    day: str,
    provider_order: Sequence[str] = PROVIDERS,
) -> pa.Table:
    """One row per (provider, field) of the day's attempts plus one `'all'` row per provider,
    typed by REPORT_SCHEMA (see the module docstring for every definition). `attempts` are the
    day's `attempts_<provider>` partitions concatenated; None or empty gives an empty report."""
    tables = {
        "attempts": _attempt_inputs(attempts),
        "contacts": _contact_inputs(contacts),
        "report_fields": _report_fields(),
        "prices": _prices(),
        "products": _products(),
        "provider_order": pa.table(
            {
                "provider": pa.array(list(provider_order), pa.string()),
                "provider_rank": pa.array(range(len(provider_order)), pa.int32()),
            }
        ),
    }
    params = {
        "day": day,
        "sent_outcomes": list(SENT_OUTCOMES),
        "has_contacts": contacts is not None,
        "all_fields": ALL_FIELDS,
    }
    with duckdb.connect() as con:
        for name, table in tables.items():
            con.register(name, table)
        result = con.sql(_REPORT_SQL, params=params).to_arrow_table()
    return result.select(REPORT_SCHEMA.names).cast(REPORT_SCHEMA)


def _attempt_inputs(attempts: pa.Table | None) -> pa.Table:
    """The columns the report reads, typed, plus a row id; phones and profile reduced to what the
    report needs (a count and a flag), so the nested structs never enter the SQL."""
    if attempts is None:
        attempts = pa.table({name: pa.array([], kind) for name, kind in _ATTEMPT_COLUMNS.items()})
    missing = [
        c for c in ("person_key", "provider", "fields_requested") if c not in attempts.schema.names
    ]
    if missing:
        raise ValueError(
            f"attempts table lacks {', '.join(missing)}: pass the attempts_<provider> partitions "
            "the enrichment assets write (they carry outcome, fields_requested, from_cache)"
        )
    n = attempts.num_rows
    columns = {
        name: (
            attempts.column(name).cast(kind) if name in attempts.schema.names else pa.nulls(n, kind)
        )
        for name, kind in _ATTEMPT_COLUMNS.items()
    }
    if "outcome" not in attempts.schema.names:  # an older table: the record status says it
        columns["outcome"] = columns["record_status"]
    columns["phone_count"] = (
        pc.list_value_length(attempts.column("phones")).cast(pa.int64())
        if "phones" in attempts.schema.names
        else pa.nulls(n, pa.int64())
    )
    columns["has_profile"] = (
        attempts.column("linkedin").is_valid()
        if "linkedin" in attempts.schema.names
        else pa.repeat(pa.scalar(False), n)
    )
    columns["_row"] = pa.array(np.arange(n, dtype=np.int64))
    return pa.table(columns)


def _contact_inputs(contacts: pa.Table | None) -> pa.Table:
    if contacts is None:
        return pa.table({name: pa.array([], pa.string()) for name in _CONTACT_COLUMNS})
    n = contacts.num_rows
    return pa.table(
        {
            name: contacts.column(name).cast(pa.string())
            if name in contacts.schema.names
            else pa.nulls(n, pa.string())
            for name in _CONTACT_COLUMNS
        }
    )


def _report_fields() -> pa.Table:
    requested = list(FIELD_OF_REQUEST)
    return pa.table(
        {
            "requested": pa.array([f.value for f in requested], pa.string()),
            "field": pa.array([FIELD_OF_REQUEST[f] for f in requested], pa.string()),
            "field_rank": pa.array(
                [REPORT_FIELDS.index(FIELD_OF_REQUEST[f]) for f in requested], pa.int32()
            ),
        }
    )


def _prices() -> pa.Table:
    pairs = [(p, f) for p in PRICES for f in FIELD_OF_REQUEST]
    return pa.table(
        {
            "provider": pa.array([p for p, _ in pairs], pa.string()),
            "requested": pa.array([f.value for _, f in pairs], pa.string()),
            "price": pa.array([price(p, f) for p, f in pairs], pa.int64()),
        }
    )


def _products() -> pa.Table:
    rows = [
        (provider, product, wanted.value)
        for provider, products in SINGLE_FIELD_PRODUCTS.items()
        for product, wanted in products.items()
    ]
    return pa.table(
        {
            name: pa.array([row[i] for row in rows], pa.string())
            for i, name in enumerate(("provider", "product", "requested"))
        }
    )


# ------------------------------------------------------------------------------ presentation


def report_markdown(report: pa.Table) -> str:
    """The whole report as a markdown table (rates as percentages, credits per found to 0.1)."""
    if report.num_rows == 0:
        return "_no attempts this day_"
    header = (
        "| provider | field | attempted | cache hits | found | find-rate | verified | credits "
        "| credits/found | cost basis | marginal | chosen |"
    )
    lines = [header, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|"]
    for row in report.to_pylist():
        cells = [
            row["provider"],
            f"**{row['field']}**" if row["field"] == ALL_FIELDS else row["field"],
            row["attempted"],
            row["cache_hits"],
            row["found"],
            _percent(row["find_rate"]),
            _percent(row["verified_share"]),
            row["credits"],
            "" if row["credits_per_found"] is None else f"{row['credits_per_found']:.1f}",
            row["cost_basis"] or "",
            row["marginal"],
            "" if row["chosen"] is None else row["chosen"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def report_bar_chart(report: pa.Table, width: int = 20) -> str:
    """A text bar chart of find-rate per field and provider, in a markdown code block: it renders
    in the Dagster UI as is (no image library, nothing the UI's markdown sanitiser could strip)."""
    rows = [r for r in report.to_pylist() if r["field"] != ALL_FIELDS]
    if not rows:
        return "_no attempts this day_"
    name_width = max(len(r["provider"]) for r in rows)
    lines = []
    for field in REPORT_FIELDS:
        lines.append(f"{field}")
        for r in (r for r in rows if r["field"] == field):
            rate = r["find_rate"] or 0.0
            filled = round(rate * width)
            bar = "█" * filled + "░" * (width - filled)
            lines.append(
                f"  {r['provider']:<{name_width}} {bar} {_percent(r['find_rate']) or '   -':>4}"
                f"  {r['found']:>4}/{r['attempted']:<4} {r['credits']:>7} cr"
                f"  only here: {r['marginal']}"
            )
    return "find-rate by field and provider (found/attempted, credits, marginal)\n```\n" + (
        "\n".join(lines) + "\n```"
    )


def report_vega_lite(report: pa.Table) -> dict[str, object]:
    """A Vega-Lite v5 spec (data inline): found vs credits per found field, per provider. The
    Dagster UI shows it as JSON; paste it into https://vega.github.io/editor to see the chart."""
    values = [
        {
            "provider": r["provider"],
            "field": r["field"],
            "found": r["found"],
            "attempted": r["attempted"],
            "find_rate": r["find_rate"],
            "credits": r["credits"],
            "marginal": r["marginal"],
        }
        for r in report.to_pylist()
        if r["field"] != ALL_FIELDS
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Find-rate per field and provider (tooltip: counts and credits)",
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": "field", "type": "nominal", "sort": list(REPORT_FIELDS)},
            "xOffset": {"field": "provider"},
            "y": {"field": "find_rate", "type": "quantitative", "axis": {"format": "%"}},
            "color": {"field": "provider", "type": "nominal"},
            "tooltip": [
                {"field": "provider"},
                {"field": "field"},
                {"field": "found", "type": "quantitative"},
                {"field": "attempted", "type": "quantitative"},
                {"field": "credits", "type": "quantitative"},
                {"field": "marginal", "type": "quantitative"},
            ],
        },
    }


def report_totals(report: pa.Table) -> dict[str, object]:
    """Per-provider credits and requests, and per-field found / marginal over all providers."""
    rows = report.to_pylist()
    totals = [r for r in rows if r["field"] == ALL_FIELDS]
    fields = [r for r in rows if r["field"] != ALL_FIELDS]
    estimated = [r for r in totals if "estimated" in (r["cost_basis"] or "")]
    return {
        "credits": sum(r["credits"] for r in totals),
        # credits of providers whose costs are (partly) our estimate, apart from the known ones
        "credits_estimated_by_provider": {r["provider"]: r["credits"] for r in estimated},
        "credits_by_provider": {r["provider"]: r["credits"] for r in totals},
        "requests_by_provider": {r["provider"]: r["attempted"] for r in totals},
        "found_by_field": {
            f: sum(r["found"] for r in fields if r["field"] == f) for f in REPORT_FIELDS
        },
        "marginal_by_field": {
            f: sum(r["marginal"] for r in fields if r["field"] == f) for f in REPORT_FIELDS
        },
    }


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"
