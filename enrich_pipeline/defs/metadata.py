"""What the Dagster UI shows about a table asset: owners, row count, column schema, figures, previews.

Conventions of Dagster's own example projects: `dagster/row_count` and `dagster/column_schema` on
every table asset; one plottable number per figure (ints and floats, never a JSON blob of rates);
empty values left out rather than shown as blank rows.

Personal data stays out of Dagster's event log by default: `forget` can erase the warehouse and the
ledger, not Dagster's run history, so previews show masked values (`j•••@example.org`) unless
ENRICH_FULL_PREVIEWS=true, and check examples are counts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
import pyarrow as pa

OWNERS = ["team:data-engineering"]
MASK = "•••"

# One description per column name: a name means the same thing in every table.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "person_key": "Stable id of a person, from name + company domain, LinkedIn URL or email.",
    "day": "The day folder (partition) the row belongs to.",
    "source_file": "The prospect file the row came from.",
    "source_row": "Row number in that file (1 = first data row).",
    "first_name": "First name, cleaned.",
    "last_name": "Last name, cleaned.",
    "company_name": "Company name as given.",
    "company_domain": "Registrable domain of the company (example.co.uk).",
    "linkedin_url": "Canonical LinkedIn profile URL given in the prospect file.",
    "job_title": "Job title as given in the prospect file.",
    "crm_id": "The caller's own id of the person, passed through.",
    "email": "Email address (lower-cased).",
    "email_status": "deliverable | risky | undeliverable | unknown, as the provider judged it.",
    "email_provider": "Provider whose email was chosen.",
    "phone": "Best phone number, E.164.",
    "phone_type": "mobile | landline | other, when the provider says.",
    "phone_provider": "Provider whose phone was chosen.",
    "phones": "Every phone found, E.164.",
    "linkedin_url_found": "LinkedIn profile URL a provider returned.",
    "linkedin_provider": "Provider whose LinkedIn profile was chosen.",
    "found_email": "An email was found (any status).",
    "found_phone": "At least one phone was found.",
    "found_linkedin": "A LinkedIn profile was found.",
    "providers_tried": "Providers asked about this person (in waterfall order).",
    "credits_spent": "Credits paid for this person's answers of the day (cached answers: 0).",
    "provider": "lemlist | thehog | enrichso.",
    "provider_ref": "The provider's job or batch reference.",
    "record_status": "found | not_found | failed | pending, as the provider answered.",
    "outcome": "What the attempt came to, incl. refused / skipped_* / unknown.",
    "cost_credits": "Credits this answer cost (cached: the original purchase's).",
    "cost_basis": "reported | table | estimated | unknown: how the cost is known.",
    "from_cache": "Answered from the ledger (bought earlier, within the TTL): free.",
    "fetched_at": "When the answer was received (UTC).",
    "origin": "mode:host the row came from (sandbox:127.0.0.1, live:api.lemlist.com).",
    "field": "The field a rejected value was in (empty: the whole row).",
    "reason": "Why the row or value could not be used / why an attempt ended so.",
    "severity": "rejected (row lost) | unreadable (row could not be read) | field_dropped (row kept, value dropped).",
    "channel": "email | phone.",
    "value": "The email (lower-cased) or phone (E.164).",
    "status": "Email status; empty for phones.",
    "is_best": "This value is the one chosen for contacts.",
    "position_index": "0 = the most recent position on the profile.",
    "is_current": "The person holds this position now.",
}


def column_schema(
    schema: pa.Schema, descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """The table's columns with their types and, where we know it, what they mean."""
    known = {**COLUMN_DESCRIPTIONS, **(descriptions or {})}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=f.name, type=str(f.type), description=known.get(f.name))
            for f in schema
        ]
    )


def table_metadata(
    table: pa.Table, descriptions: Mapping[str, str] | None = None
) -> dict[str, object]:
    """`dagster/row_count` and `dagster/column_schema` of a written partition."""
    return partition_metadata(table.schema, table.num_rows, descriptions)


def partition_metadata(
    schema: pa.Schema, rows: int, descriptions: Mapping[str, str] | None = None
) -> dict[str, object]:
    """`table_metadata` of a partition written (or read back) in pieces."""
    return {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": column_schema(schema, descriptions),
    }


def figures(values: Mapping[str, object]) -> dict[str, object]:
    """Plottable figures only: None and empty values are left out (no blank rows in the UI)."""
    return {k: v for k, v in values.items() if v is not None and v != "" and v != {} and v != []}


def mask_value(column: str, value: object) -> object:
    """A value safe for Dagster's event log: emails keep their first letter and domain, phones
    their last two digits, names their initial; person keys their first 4 characters."""
    if value is None or value == "":
        return value
    text = str(value)
    if column in ("email", "value") and "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}{MASK}@{domain}"
    if column in ("phone", "value") and text.startswith("+"):
        return f"+{MASK}{text[-2:]}"
    if column in ("first_name", "last_name"):
        return f"{text[:1]}{MASK}"
    if column == "person_key":
        return f"{text[:4]}{MASK}"
    if column in ("linkedin_url", "linkedin_url_found", "crm_id"):
        return MASK
    return value


PERSONAL_COLUMNS = frozenset(
    {
        "email",
        "phone",
        "value",
        "first_name",
        "last_name",
        "person_key",
        "linkedin_url",
        "linkedin_url_found",
        "crm_id",
    }
)


def preview(
    rows: Iterable[Mapping[str, object]], columns: list[str], *, full: bool, limit: int = 5
) -> dg.MetadataValue:
    """A small markdown table of the first rows; personal columns masked unless `full`."""
    shown = []
    for row in rows:
        if len(shown) == limit:
            break
        shown.append(
            {
                c: row.get(c) if full or c not in PERSONAL_COLUMNS else mask_value(c, row.get(c))
                for c in columns
            }
        )
    return dg.MetadataValue.md(markdown_table(shown, columns, limit))


def markdown_table(rows: list[dict[str, object]], columns: list[str], limit: int = 5) -> str:
    """Markdown for Dagster metadata (never raw payloads, never secrets)."""
    if not rows:
        return "_no rows_"

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:60]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows[:limit]]
    return "\n".join(lines)
