"""The coverage and cost report: per day, provider and field, what was paid for, found and reused.

`provider_report` gives one row per (day, provider, field) for email / phone / linkedin plus one
`field = 'all'` row per provider. It reads what the day PAID for from the ledger
(`Ledger.sent_requests(day)`: every request of the day any run sent, with its stored answers and
credits), so re-running a day — its answers then re-read from the ledger — changes no figure. The
day's `attempts_<provider>` partitions only say which answers were reused from other days (cache
hits) and which answers the day holds (marginal); `contacts` which values were chosen. Columnar:
DuckDB SQL over Arrow tables; no I/O and no Dagster here (the asset passes the data in).

Definitions. A *request* is a person and a provider reference (one per person for lemlist and The
Hog, one per person and product for enrich.so: what the provider counts as submissions); it was
*sent for the day* when the ledger holds it for that day as accepted or possibly accepted
(`submitted`, `unknown`, `completed`: never refused, failed calls or unsent intents). A request
*asks* the fields it was submitted for (`email_verification` counts as email), narrowed to one when
its reference names a single-field product (enrich.so `finder:` / `validation:` → email, `phones:`
→ phone, `reverse:` → linkedin). It *returns* a field when its answer is FOUND and carries an email
(any status), at least one phone, or a LinkedIn profile. REPORT_COLUMNS says the same per column:

* attempted: people sent a request for the field that day. `all`: requests sent that day.
* cache_hits: people whose request for the field was answered free from an answer bought on
  another day (earlier, within the TTL) — the day's own purchases re-read by a re-run are not cache
  hits, and neither is a field the day also paid for. `all`: such reused requests.
* found: attempted people to whom a request of the day returned the field. `all`: requests of the
  day that returned at least one field they asked. So found <= attempted, on every row.
* find_rate: found / attempted (NULL when nothing was attempted), always within [0, 1].
* verified_share (email only): share of the found emails that are deliverable.
* credits: the credits of the day's answers as the ledger recorded them, split over the fields each
  request paid for (rule below). `all`: the provider's total for the day, the sum of its fields.
  credits_per_found = credits / found (`all`: per request that returned something).
* cost_basis: how the provider's credits are known: `reported` (its receipts), `table` (its
  documented prices), `estimated` (our price guess: The Hog publishes none), comma-joined when
  mixed. Estimated credits are a forecast, not a bill.
* marginal: people for whom this provider is the only one with an *answer* to the field among the
  day's answers (paid that day or reused). An answer follows `waterfall.FIELD_POLICY`: an email
  counts only when deliverable (a risky one leaves the person open for the next provider), a phone
  or a profile whenever found. `all`: people with at least one such field.
* chosen: `contacts` rows showing this provider's value for the field. `all`: rows showing its
  value for at least one field. NULL when no contacts table was given.

Credits split (one request may ask for several fields; the provider reports one cost):
1. the cost is explained by list prices (`pricing.price`): the set of asked fields whose prices add
   up to the cost exactly gets them, preferring the set with the most returned fields, then the
   smallest, then email before phone before linkedin. This follows each provider's billing without
   knowing it field by field: lemlist bills its LinkedIn enrichment and a verification found or
   not, and an email only when deliverable or risky, so a lemlist request that returned an email of
   unknown status and no profile, costing 1, puts that credit on linkedin;
2. when no set adds up (prices changed, a discount), the cost is split in proportion to the list
   price of the returned fields (none returned: of every asked field; all prices 0: equally),
   rounded down, the remainder to the dearest returned field (else the dearest asked field).
So a request's field credits add up to its cost exactly. An answer kept without a person
(`unattributed:` keys in the ledger) asks the field its product names; one naming none counts in
the `all` row only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from enrich_pipeline.model import PROVIDERS, WantedField
from enrich_pipeline.providers.enrichso import PRODUCT_OF_FIELD
from enrich_pipeline.spend.ledger import SentRequest
from enrich_pipeline.spend.pricing import PRICES, price
from enrich_pipeline.warehouse import duck

REPORT_FIELDS: tuple[str, ...] = ("email", "phone", "linkedin")
ALL_FIELDS = "all"
# Requested field -> the report field it counts towards.
FIELD_OF_REQUEST: dict[WantedField, str] = {
    WantedField.EMAIL: "email",
    WantedField.EMAIL_VERIFICATION: "email",
    WantedField.PHONE: "phone",
    WantedField.LINKEDIN: "linkedin",
}
# provider -> provider_ref prefix -> the one field a request with that reference paid for.
SINGLE_FIELD_PRODUCTS: dict[str, dict[str, WantedField]] = {
    "enrichso": {product: wanted for wanted, product in PRODUCT_OF_FIELD.items()}
}

REPORT_SCHEMA = pa.schema(
    [
        ("day", pa.string()),
        ("provider", pa.string()),
        ("field", pa.string()),
        ("attempted", pa.int64()),
        ("cache_hits", pa.int64()),
        ("found", pa.int64()),
        ("find_rate", pa.float64()),
        ("verified_share", pa.float64()),
        ("credits", pa.int64()),
        ("credits_per_found", pa.float64()),
        ("cost_basis", pa.string()),
        ("marginal", pa.int64()),
        ("chosen", pa.int64()),
    ]
)
# What every column means (the module docstring has the details); the asset's column schema.
REPORT_COLUMNS: dict[str, str] = {
    "day": "The day (daily partition) whose requests, answers and contacts are counted.",
    "provider": "lemlist | thehog | enrichso.",
    "field": "email | phone | linkedin; 'all' for the provider's requests as a whole.",
    "attempted": "People sent a request for the field that day, by any run of the day (from the "
    "ledger: a re-run changes nothing). all: requests sent (person and provider reference).",
    "cache_hits": "People whose request for the field was answered free from an answer bought on "
    "another day (not the day's own purchases re-read by a re-run). all: such requests.",
    "found": "Attempted people to whom a request of the day returned the field. all: requests "
    "that returned at least one field asked. Never more than attempted.",
    "find_rate": "found / attempted, in [0, 1]; empty when nothing was attempted.",
    "verified_share": "Email only: share of the found emails that are deliverable.",
    "credits": "Credits of the day's answers as recorded in the ledger, split over the fields "
    "paid for. all: the provider's total for the day (sum of its fields).",
    "credits_per_found": "credits / found (all: per request that returned something).",
    "cost_basis": "How the credits are known: reported (receipts), table (documented prices), "
    "estimated (our guess: The Hog); comma-joined when mixed.",
    "marginal": "People for whom only this provider answered the field among the day's answers "
    "(paid or reused; emails only when deliverable). all: people with such a field.",
    "chosen": "contacts rows showing this provider's value for the field (all: for at least one "
    "field); empty when no contacts table was given.",
}

_REQUEST_COLUMNS = {
    "person_key": pa.string(),
    "provider": pa.string(),
    "provider_ref": pa.string(),
    "record_status": pa.string(),
    "fields_requested": pa.list_(pa.string()),
    "email": pa.string(),
    "email_status": pa.string(),
    "phone_count": pa.int64(),
    "has_profile": pa.bool_(),
    "cost_credits": pa.int64(),
    "cost_basis": pa.string(),
    "from_cache": pa.bool_(),
}
_CONTACT_COLUMNS = ("email_provider", "phone_provider", "linkedin_provider")

_REPORT_SQL = """
WITH
rows AS (  -- the day's paid requests (paid) and the day's attempts as recorded (not paid)
    SELECT _row, paid, person_key, provider, provider_ref, record_status, fields_requested,
           email, email_status, phone_count, has_profile, cost_basis,
           coalesce(from_cache, false) AS from_cache,
           CASE WHEN paid THEN coalesce(cost_credits, 0) ELSE 0 END AS cost
    FROM requests
),
asked AS (
    SELECT _row, unnest(fields_requested) AS requested FROM rows
),
covered AS (
    SELECT r._row, r.paid, r.from_cache, r.person_key, r.provider, r.provider_ref, r.cost,
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
    SELECT _row, paid, from_cache, person_key, provider, provider_ref, cost, field, field_rank,
           has_value, deliverable, sum(price) AS price
    FROM covered GROUP BY ALL
),
paid_fields AS (SELECT * FROM row_fields WHERE paid),
subsets AS (
    SELECT f._row, s.mask, any_value(f.cost) AS cost,
           bit_or(1 << f.field_rank) AS requested_mask,
           sum(CASE WHEN (s.mask >> f.field_rank) & 1 = 1 THEN f.price ELSE 0 END) AS price,
           count(*) FILTER (WHERE (s.mask >> f.field_rank) & 1 = 1 AND f.has_value) AS found
    FROM paid_fields AS f CROSS JOIN range(8) AS s(mask)
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
    FROM paid_fields AS f LEFT JOIN explained AS e USING (_row)
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
           count(DISTINCT person_key) AS attempted,
           count(DISTINCT person_key) FILTER (WHERE has_value) AS found,
           count(DISTINCT person_key) FILTER (WHERE has_value AND deliverable) AS found_deliverable,
           sum(credits) AS credits
    FROM credited GROUP BY provider, field
),
reused AS (  -- fields answered from the ledger that the day did not buy itself
    SELECT c.* FROM row_fields AS c
    WHERE NOT c.paid AND c.from_cache
      AND NOT EXISTS (
          SELECT 1 FROM rows AS p WHERE p.paid AND p.provider = c.provider
             AND p.person_key = c.person_key AND p.provider_ref = c.provider_ref)
      AND NOT EXISTS (
          SELECT 1 FROM paid_fields AS p WHERE p.provider = c.provider
             AND p.person_key = c.person_key AND p.field = c.field)
),
cached AS (
    SELECT provider, field, count(DISTINCT person_key) AS cache_hits FROM reused GROUP BY ALL
),
answers AS (
    SELECT DISTINCT person_key, field, provider FROM row_fields
    WHERE person_key IS NOT NULL AND has_value AND (field <> 'email' OR deliverable)
),
sole AS (
    SELECT person_key, field, any_value(provider) AS provider
    FROM answers GROUP BY person_key, field HAVING count(*) = 1
),
marginal AS (SELECT provider, field, count(*) AS marginal FROM sole GROUP BY provider, field),
shown AS (
    SELECT _contact, email_provider AS provider, 'email' AS field FROM contacts
    UNION ALL SELECT _contact, phone_provider, 'phone' FROM contacts
    UNION ALL SELECT _contact, linkedin_provider, 'linkedin' FROM contacts
),
chosen AS (
    SELECT provider, field, count(*) AS chosen FROM shown
    WHERE provider IS NOT NULL GROUP BY provider, field
),
providers AS (SELECT DISTINCT provider FROM rows WHERE provider IS NOT NULL),
bases AS (
    SELECT provider, string_agg(DISTINCT cost_basis, ',' ORDER BY cost_basis) AS cost_basis
    FROM rows WHERE cost > 0 AND cost_basis IS NOT NULL GROUP BY provider
),
field_rows AS (
    SELECT p.provider, f.field, f.field_rank,
           coalesce(pf.attempted, 0) AS attempted,
           coalesce(ch.cache_hits, 0) AS cache_hits,
           coalesce(pf.found, 0) AS found,
           coalesce(pf.found_deliverable, 0) AS found_deliverable,
           coalesce(pf.credits, 0) AS credits,
           coalesce(m.marginal, 0) AS marginal,
           CASE WHEN $has_contacts THEN coalesce(c.chosen, 0) END AS chosen
    FROM providers AS p
    CROSS JOIN (SELECT DISTINCT field, field_rank FROM report_fields) AS f
    LEFT JOIN per_field AS pf ON pf.provider = p.provider AND pf.field = f.field
    LEFT JOIN cached AS ch ON ch.provider = p.provider AND ch.field = f.field
    LEFT JOIN marginal AS m ON m.provider = p.provider AND m.field = f.field
    LEFT JOIN chosen AS c ON c.provider = p.provider AND c.field = f.field
),
paid_requests AS (
    SELECT r._row, r.provider, r.person_key, r.provider_ref, r.cost,
           coalesce(bool_or(f.has_value), false) AS returned
    FROM rows AS r LEFT JOIN paid_fields AS f USING (_row)
    WHERE r.paid GROUP BY ALL
),
all_rows AS (
    SELECT p.provider, $all_fields AS field, 99 AS field_rank,
        (SELECT count(DISTINCT row(person_key, provider_ref)) FROM paid_requests AS r
         WHERE r.provider = p.provider) AS attempted,
        (SELECT count(DISTINCT row(person_key, provider_ref)) FROM reused AS r
         WHERE r.provider = p.provider) AS cache_hits,
        (SELECT count(DISTINCT row(person_key, provider_ref)) FROM paid_requests AS r
         WHERE r.provider = p.provider AND r.returned) AS found,
        (SELECT coalesce(sum(cost), 0) FROM paid_requests AS r
         WHERE r.provider = p.provider) AS credits,
        (SELECT count(DISTINCT person_key) FROM sole AS s
         WHERE s.provider = p.provider) AS marginal,
        CASE WHEN $has_contacts THEN (SELECT count(DISTINCT _contact) FROM shown AS s
                                      WHERE s.provider = p.provider) END AS chosen
    FROM providers AS p
),
report AS (SELECT * FROM field_rows UNION ALL BY NAME SELECT * FROM all_rows)
SELECT $day AS day, r.provider, r.field, r.attempted, r.cache_hits, r.found,
       r.found::DOUBLE / nullif(r.attempted, 0) AS find_rate,
       CASE WHEN r.field = 'email' THEN r.found_deliverable::DOUBLE / nullif(r.found, 0) END
           AS verified_share,
       r.credits, r.credits::DOUBLE / nullif(r.found, 0) AS credits_per_found,
       b.cost_basis, r.marginal, r.chosen
FROM report AS r LEFT JOIN provider_order AS o ON o.provider = r.provider
LEFT JOIN bases AS b ON b.provider = r.provider
ORDER BY coalesce(o.provider_rank, 1000), r.provider, r.field_rank
"""


def provider_report(
    sent: Iterable[SentRequest],
    attempts: pa.Table | None,
    contacts: pa.Table | None,
    *,
    day: str,
    provider_order: Sequence[str] = PROVIDERS,
) -> pa.Table:
    """One row per (provider, field) plus one `'all'` row per provider, typed by REPORT_SCHEMA
    (every definition: the module docstring). `sent`: what the ledger holds as sent for the day
    (`Ledger.sent_requests(day)`; other days' requests are ignored); `attempts`: the day's
    `attempts_<provider>` partitions concatenated (cache hits, answers held); `contacts`: the
    day's contacts (chosen). Nothing sent and nothing reused gives an empty report."""
    requests = pa.concat_tables([_sent_inputs(sent, day), _attempt_inputs(attempts)])
    requests = requests.append_column(
        "_row", pa.array(np.arange(requests.num_rows, dtype=np.int64))
    )
    tables = {
        "requests": requests,
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
    params = {"day": day, "has_contacts": contacts is not None, "all_fields": ALL_FIELDS}
    with duck.session() as con:
        for name, table in tables.items():
            con.register(name, table)
        result = con.sql(_REPORT_SQL, params=params).to_arrow_table()
    return result.select(REPORT_SCHEMA.names).cast(REPORT_SCHEMA)


SENT_PAGE = 5_000  # requests turned into a table at a time: a page of answers is held, not the day


def _sent_inputs(sent: Iterable[SentRequest], day: str) -> pa.Table:
    """The ledger's requests of the day as rows the SQL reads (`paid` true); `sent` may be an
    iterator (Ledger.iter_sent_requests): it is read a page at a time."""
    pages = [_sent_page(page) for page in _pages((s for s in sent if s.day == day), SENT_PAGE)]
    table = pa.concat_tables(pages) if pages else _sent_page(())
    return table.append_column("paid", pa.repeat(pa.scalar(True), table.num_rows))


def _pages(items: Iterable[SentRequest], size: int) -> Iterator[list[SentRequest]]:
    it = iter(items)
    while page := list(islice(it, size)):
        yield page


def _sent_page(rows: Sequence[SentRequest]) -> pa.Table:
    answers = [s.result for s in rows]
    columns: dict[str, list[object]] = {
        "person_key": [s.person_key for s in rows],
        "provider": [s.provider for s in rows],
        "provider_ref": [s.provider_ref for s in rows],
        "record_status": [r and r.record_status.value for r in answers],
        "fields_requested": [sorted(f.value for f in _asked(s)) for s in rows],
        "email": [r and r.email for r in answers],
        "email_status": [r and r.email_status and r.email_status.value for r in answers],
        "phone_count": [r and r.phone_count for r in answers],
        "has_profile": [r is not None and r.has_profile for r in answers],
        "cost_credits": [s.cost_credits for s in rows],
        "cost_basis": [r and r.cost_basis.value for r in answers],
        "from_cache": [False] * len(rows),
    }
    return pa.table({n: pa.array(columns[n], kind) for n, kind in _REQUEST_COLUMNS.items()})


def _asked(sent: SentRequest) -> frozenset[WantedField]:
    """The fields a request asked; an answer kept without a person: its product's field."""
    if sent.fields:
        return sent.fields
    product = (sent.provider_ref or "").split(":", 1)[0]
    wanted = SINGLE_FIELD_PRODUCTS.get(sent.provider, {}).get(product)
    return frozenset() if wanted is None else frozenset({wanted})


def _attempt_inputs(attempts: pa.Table | None) -> pa.Table:
    """The day's attempts as rows the SQL reads (`paid` false): phones and profile reduced to a
    count and a flag, so the nested structs never enter the SQL."""
    if attempts is None:
        attempts = pa.table({n: pa.array([], kind) for n, kind in _REQUEST_COLUMNS.items()})
    missing = [
        c for c in ("person_key", "provider", "fields_requested") if c not in attempts.schema.names
    ]
    if missing:
        raise ValueError(
            f"attempts table lacks {', '.join(missing)}: pass the attempts_<provider> partitions "
            "the enrichment assets write (they carry outcome, fields_requested, from_cache)"
        )
    n, names = attempts.num_rows, attempts.schema.names
    columns = {
        name: attempts.column(name).cast(kind) if name in names else pa.nulls(n, kind)
        for name, kind in _REQUEST_COLUMNS.items()
        if name not in ("phone_count", "has_profile")
    }
    columns["phone_count"] = (
        pc.list_value_length(attempts.column("phones")).cast(pa.int64())
        if "phones" in names
        else pa.nulls(n, pa.int64())
    )
    columns["has_profile"] = (
        attempts.column("linkedin").is_valid() if "linkedin" in names else pa.nulls(n, pa.bool_())
    )
    columns["paid"] = pa.repeat(pa.scalar(False), n)
    return pa.table({name: columns[name] for name in [*_REQUEST_COLUMNS, "paid"]})


def _contact_inputs(contacts: pa.Table | None) -> pa.Table:
    n = 0 if contacts is None else contacts.num_rows
    columns = {
        name: contacts.column(name).cast(pa.string())
        if contacts is not None and name in contacts.schema.names
        else pa.nulls(n, pa.string())
        for name in _CONTACT_COLUMNS
    }
    return pa.table({**columns, "_contact": pa.array(np.arange(n, dtype=np.int64))})


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


# ------------------------------------------------------------------------------ figures


def provider_figures(
    report: pa.Table, provider: str, *, contribution: bool = False
) -> dict[str, float | int | None]:
    """One provider's figures of a report, flat and numeric, for Dagster metadata: per field
    `<field>_attempted`, `_cache_hits`, `_found`, `_find_rate`, `_credits` (and
    `email_verified_share`); for its requests as a whole (the `'all'` row) `requests_attempted`,
    `requests_found`, `requests_find_rate`, `cache_hits`, `credits`, `credits_per_found`. Rates
    are floats, None when undefined; a provider absent from the report gives {}.

    `contribution` adds `<field>_marginal` / `marginal` and `<field>_chosen` / `chosen` (when the
    report had contacts): they depend on the other providers' answers and on contacts, so they
    mean something only in the whole day's report, not in one provider's."""
    per_field = ["attempted", "cache_hits", "found", "find_rate", "credits"]
    per_request = {
        "attempted": "requests_attempted",
        "found": "requests_found",
        "find_rate": "requests_find_rate",
        "cache_hits": "cache_hits",
        "credits": "credits",
        "credits_per_found": "credits_per_found",
    }
    extra = ["marginal", "chosen"] if contribution else []
    figures: dict[str, float | int | None] = {}
    for row in report.filter(pc.equal(report.column("provider"), provider)).to_pylist():
        field = row["field"]
        if field == ALL_FIELDS:
            names = per_request | {c: c for c in extra}
        else:
            verified = ["verified_share"] if field == "email" else []
            names = {c: f"{field}_{c}" for c in per_field + verified + extra}
        for column, name in names.items():
            if column != "chosen" or row[column] is not None:
                figures[name] = row[column]
    return figures


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


def credit_totals(report: pa.Table) -> dict[str, int]:
    """`credits_spent`: every provider's credits of the day; `credits_estimated`: those of
    providers whose costs are (partly) our estimate (The Hog), a forecast rather than a bill."""
    totals = [r for r in report.to_pylist() if r["field"] == ALL_FIELDS]
    return {
        "credits_spent": sum(r["credits"] for r in totals),
        "credits_estimated": sum(
            r["credits"] for r in totals if "estimated" in (r["cost_basis"] or "")
        ),
    }


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"
