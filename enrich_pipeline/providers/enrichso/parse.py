"""enrich.so answers → records, one row at a time (providers.md 2.4-2.9, 4.3-4.5). No HTTP here.

enrich.so publishes two shapes for several answers (per-endpoint OpenAPI vs the quick reference):
validation `result` vs `status`/`subStatus`, phones as strings vs `{number, type}`, reverse lookup
with or without `found`, `processedCount` vs `processedItems`. Every reader below accepts both, and
the snake_case of webhook bodies, and turns any shape it does not recognise into a FAILED record
that keeps the raw payload — never an exception that would lose the other rows.

Row readers only; a row's cost is priced in costs.py, callbacks are read in webhooks.py, rows are
matched to requests in correlate.py and a batch's rows become records in batches.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from enrich_pipeline.identity import (
    canonical_linkedin_url,
    linkedin_slug,
    normalise_email,
    person_key,
    registrable_domain,
)
from enrich_pipeline.model import (
    Education,
    EmailStatus,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
    dedupe_phones,
    to_e164,
)

PROVIDER = "enrichso"
PRODUCTS = ("validation", "finder", "reverse", "phones")
# Credits per successful item (providers.md 2.2 / 4.5); phones: 500 (the 10 is a CONFLICT outlier).
PRICE = {"validation": 1, "finder": 10, "reverse": 10, "phones": 500}
LOW_CONFIDENCE = frozenset({"low", "temporary", "none"})  # pipeline policy (providers.md 4.3)
PROFILE_KEYS = ("profileUrl", "profile_url", "linkedinUrl", "linkedin_url", "id", "displayName")


def pick(data: Mapping[str, Any], *names: str) -> Any:
    """The first present, non-null value among `names` (camelCase and snake_case spellings)."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    out = str(value).strip()
    return out or None


def raw_dict(payload: Any) -> dict[str, Any]:
    return payload if isinstance(payload, dict) else {"payload": payload}


def failed(reason: str, raw: Any, **fields: Any) -> EnrichmentResult:
    fields.setdefault("person_key", None)
    return EnrichmentResult(
        provider=PROVIDER,
        record_status=RecordStatus.FAILED,
        reason=reason,
        raw=raw_dict(raw),
        **fields,
    )


# ---------------------------------------------------------------------------------- input keys


def email_key(email: str | None) -> str | None:
    address = normalise_email(email)
    return f"email:{address}" if address else None


def lead_key(first: str | None, last: str | None, domain: str | None) -> str | None:
    """Finder leads dedupe and correlate by name + domain, case-insensitively (providers.md 2.1)."""
    parts = [text(first), text(last), text(domain)]
    if not all(parts):
        return None
    return "lead:" + "|".join(p.lower() for p in parts if p)


def email_domain(email: str | None) -> str | None:
    """Registrable domain of an address (looked up per domain, so the cache serves everyone)."""
    address = normalise_email(email)
    return registrable_domain(address.rsplit("@", 1)[1]) if address and "@" in address else None


def linkedin_key(url: str | None) -> str | None:
    slug = linkedin_slug(url)
    return f"linkedin:{slug}" if slug else None


# ------------------------------------------------------------------------------ email statuses


def validation_status(result: str | None, confidence: str | None) -> EmailStatus | None:
    """Per-endpoint `result` (providers.md 4.3); None when the value is not a documented one."""
    verdict = (result or "").strip().lower()
    if verdict == "valid":
        low = (confidence or "").strip().lower() in LOW_CONFIDENCE
        return EmailStatus.RISKY if low else EmailStatus.DELIVERABLE
    return {"risky": EmailStatus.RISKY, "invalid": EmailStatus.UNDELIVERABLE}.get(verdict)


def legacy_validation_status(status: str | None, catch_all: Any) -> EmailStatus:
    """Quick-reference `status` (value set ASSUMPTION): valid / invalid / risky, other → unknown.

    A catch-all domain cannot confirm a mailbox, so `valid` there is downgraded to risky, the same
    policy as the per-endpoint shape's low confidence.
    """
    verdict = (status or "").strip().lower()
    if verdict == "valid":
        return EmailStatus.RISKY if catch_all is True else EmailStatus.DELIVERABLE
    if verdict == "invalid":
        return EmailStatus.UNDELIVERABLE
    if verdict in ("risky", "catch_all", "catch-all", "accept_all"):
        return EmailStatus.RISKY
    return EmailStatus.UNKNOWN


def finder_status(confidence: str | None, catch_all: Any) -> EmailStatus:
    if catch_all is True:
        return EmailStatus.RISKY
    level = (confidence or "").strip().lower()
    if level == "high":
        return EmailStatus.DELIVERABLE  # policy: the finder verified it (providers.md 4.3)
    if level in ("medium", "low"):
        return EmailStatus.RISKY
    return EmailStatus.UNKNOWN


# --------------------------------------------------------------------------- row → record parts


@dataclass(frozen=True)
class Parsed:
    """One answer read from a payload: its input key (when the payload shows the input), the
    record (person_key computed from the payload), and whether enrich.so bills it at settlement."""

    product: str | None
    key: str | None
    record: EnrichmentResult
    charged: bool = False


def _record(
    raw: Any, hint: dict[str, Any], status: RecordStatus, reason: str | None = None, **fields: Any
) -> EnrichmentResult:
    """A record whose person_key comes from what the payload shows (providers.md 4.2)."""
    return EnrichmentResult(
        person_key=person_key(**hint),
        provider=PROVIDER,
        record_status=status,
        reason=reason,
        raw=raw_dict(raw),
        **fields,
    )


def validation_row(row: Mapping[str, Any], raw: Any = None) -> Parsed:
    """A validation answer: single `data`, a results row, or a webhook `result` (snake_case)."""
    raw = row if raw is None else raw
    email = normalise_email(text(row.get("email")))
    key, hint = email_key(email), {"email": email}
    confidence = text(row.get("confidence"))
    if row.get("result") is not None:
        verdict = text(row.get("result"))
        status = validation_status(verdict, confidence)
    elif row.get("status") is not None:  # quick-reference shape
        verdict = text(row.get("status"))
        status = legacy_validation_status(verdict, pick(row, "catchAll", "isCatchAll"))
    else:
        reason = "validation answer without `result` or `status`"
        return Parsed(
            "validation", key, _record(raw, hint, RecordStatus.FAILED, reason, email=email)
        )
    fields = {"email": email, "email_confidence": confidence}
    if status is None:  # an undocumented verdict: loud, not silently "unknown"
        reason = f"unrecognised validation result {verdict!r}"
        failed_record = _record(
            raw, hint, RecordStatus.FAILED, reason, email_status=EmailStatus.UNKNOWN, **fields
        )
        return Parsed("validation", key, failed_record)
    answered = RecordStatus.FOUND if status is not EmailStatus.UNKNOWN else RecordStatus.NOT_FOUND
    reason = text(pick(row, "message", "subStatus"))
    record = _record(raw, hint, answered, reason, email_status=status, **fields)
    charged = (verdict or "").lower() in ("valid", "invalid")  # risky answers are free (2.2)
    return Parsed("validation", key, record, charged)


def finder_row(row: Mapping[str, Any], raw: Any = None) -> Parsed:
    """EmailFinderResult (or a finder callback's `result`, with `result: found|not_found`)."""
    raw = row if raw is None else raw
    first = text(pick(row, "firstName", "first_name"))
    last = text(pick(row, "lastName", "last_name"))
    domain = text(row.get("domain"))
    email = normalise_email(text(row.get("email")))
    found = row.get("found")
    if isinstance(row.get("result"), str):
        found = row["result"].strip().lower() == "found"
    if found is None:  # the quick reference's thinner shape has no `found`
        found = email is not None
    key = lead_key(first, last, domain)
    hint = {"first_name": first, "last_name": last, "company_domain": domain}
    if not found or email is None:
        reason = text(row.get("message")) or "no email found"
        return Parsed("finder", key, _record(raw, hint, RecordStatus.NOT_FOUND, reason))
    confidence = text(row.get("confidence"))
    status = finder_status(confidence, pick(row, "isCatchAll", "is_catch_all"))
    record = _record(
        raw,
        {**hint, "email": email},
        RecordStatus.FOUND,
        email=email,
        email_status=status,
        email_confidence=confidence,
    )
    return Parsed("finder", key, record, True)


def _phone_list(values: Any) -> tuple[list[Phone], list[Any]]:
    """Phones as strings or `{number, type}` objects (providers.md 2.7 CONFLICT) → E.164."""
    phones: list[Phone] = []
    unreadable: list[Any] = []
    for rank, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict):
            number, kind = pick(value, "number", "phone", "value"), text(value.get("type"))
        else:
            number, kind = value, None
        e164 = to_e164(text(number))
        if e164 is None:
            unreadable.append(value)
        else:
            phones.append(Phone(number=e164, type=kind.lower() if kind else None, source_rank=rank))
    return list(dedupe_phones(phones)), unreadable


def phones_row(row: Mapping[str, Any], raw: Any = None, *, error: bool = False) -> Parsed:
    """A phone answer: `phones[]` of strings or objects; an empty list (with `error`) = none."""
    raw = row if raw is None else raw
    email = normalise_email(text(row.get("email")))
    linkedin = text(pick(row, "linkedin", "linkedinUrl", "linkedin_url"))
    key = linkedin_key(linkedin) or email_key(email)
    hint = {"email": email, "linkedin_url": linkedin}
    phones, unreadable = _phone_list(row.get("phones"))
    message = text(pick(row, "error", "message"))
    if error:
        reason = message or "phone lookup error"
        return Parsed("phones", key, _record(raw, hint, RecordStatus.FAILED, reason))
    if phones:
        record = _record(raw, hint, RecordStatus.FOUND, phones=tuple(phones))
        return Parsed("phones", key, record, True)
    if unreadable:  # billed, yet nothing we can store: say so loudly
        reason = f"no valid phone number among {unreadable!r}"
        return Parsed("phones", key, _record(raw, hint, RecordStatus.FAILED, reason), True)
    reason = message or "no phone numbers found"
    return Parsed("phones", key, _record(raw, hint, RecordStatus.NOT_FOUND, reason))


# ------------------------------------------------------------------------------------- LinkedIn


def _year_month(value: Any) -> tuple[int | None, int | None]:
    if not isinstance(value, dict):
        return None, None
    year, month = value.get("year"), value.get("month")
    return (year if isinstance(year, int) else None), (month if isinstance(month, int) else None)


def _span(item: Mapping[str, Any]) -> tuple[int | None, int | None, int | None, int | None, bool]:
    """(start year, start month, end year, end month, current) of a `startEndDate`; a null end is
    the current role (providers.md 2.6)."""
    span = pick(item, "startEndDate", "start_end_date")
    if not isinstance(span, dict):
        return None, None, None, None, False
    start_year, start_month = _year_month(span.get("start"))
    end_year, end_month = _year_month(span.get("end"))
    return start_year, start_month, end_year, end_month, span.get("end") is None


def _history(block: Any, key: str) -> list[dict[str, Any]]:
    """`positions.positionHistory[]` (or a bare list, tolerated)."""
    items = block.get(key) if isinstance(block, dict) else block
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _positions(data: Mapping[str, Any]) -> tuple[Position, ...]:
    positions = []
    for item in _history(data.get("positions"), "positionHistory"):
        start_year, start_month, end_year, end_month, current = _span(item)
        positions.append(
            Position(
                title=text(item.get("title")),
                company_name=text(pick(item, "companyName", "company_name")),
                start_year=start_year,
                start_month=start_month,
                end_year=end_year,
                end_month=end_month,
                is_current=current,
                description=text(item.get("description")),
            )
        )
    return tuple(positions)


def _education(data: Mapping[str, Any]) -> tuple[Education, ...]:
    schools = []
    for item in _history(pick(data, "schools", "education"), "educationHistory"):
        start_year, _, end_year, _, _ = _span(item)
        schools.append(
            Education(
                school_name=text(pick(item, "schoolName", "school_name")),
                degree_name=text(pick(item, "degreeName", "degree_name")),
                start_year=start_year,
                end_year=end_year,
            )
        )
    return tuple(schools)


def _skills(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(s for s in (text(v) for v in value) if s)


def linkedin_profile(data: Mapping[str, Any]) -> LinkedinProfile:
    """ReverseLookupResult (or the quick reference's flat shape) → the 4.4 LinkedIn mapping."""
    url = text(pick(data, "profileUrl", "profile_url", "linkedinUrl", "linkedin_url"))
    positions = _positions(data)
    current = next((p for p in positions if p.is_current), None)
    first, last = (
        text(pick(data, "firstName", "first_name")),
        text(pick(data, "lastName", "last_name")),
    )
    full = text(pick(data, "displayName", "display_name"))
    if full is None and (first or last):
        full = " ".join(p for p in (first, last) if p)
    return LinkedinProfile(
        url=canonical_linkedin_url(url) or url,
        provider_profile_id=text(data.get("id")),
        first_name=first,
        last_name=last,
        full_name=full,
        headline=text(data.get("headline")),
        title=current.title if current else text(data.get("title")),
        company_name=text(pick(data, "companyName", "company_name", "company")),
        location=text(data.get("location")),
        summary=text(data.get("summary")),
        skills=_skills(data.get("skills")),
        positions=positions,
        education=_education(data),
        photo_url=text(pick(data, "photoUrl", "photo_url")),
    )


def reverse_row(
    row: Mapping[str, Any], raw: Any = None, *, email: str | None = None, error: str | None = None
) -> Parsed:
    """A reverse-lookup answer. Found iff `found: true`, or — when `found` is absent (per-endpoint
    shape) — iff a `profileUrl` or `id` is present (providers.md 2.6)."""
    raw = row if raw is None else raw
    email = normalise_email(email or text(row.get("email")))
    key, hint = email_key(email), {"email": email}
    if error is not None:
        return Parsed("reverse", key, _record(raw, hint, RecordStatus.FAILED, error))
    found = row.get("found")
    if found is None:
        found = any(row.get(k) for k in ("profileUrl", "profile_url", "linkedinUrl", "id"))
    if not found:
        reason = text(row.get("message")) or "no profile found"
        return Parsed("reverse", key, _record(raw, hint, RecordStatus.NOT_FOUND, reason))
    profile = linkedin_profile(row)
    hint = {"linkedin_url": profile.url, "email": email}
    return Parsed("reverse", key, _record(raw, hint, RecordStatus.FOUND, linkedin=profile), True)


# ---------------------------------------------------------------------------- shape detection


def row_product(row: Mapping[str, Any]) -> str | None:
    """Which product a result row / single `data` belongs to, from its own keys."""
    if "phones" in row:
        return "phones"
    if "domain" in row and ("found" in row or "firstName" in row or "first_name" in row):
        return "finder"
    if any(k in row for k in PROFILE_KEYS) or "found" in row:
        return "reverse"
    if "result" in row or "subStatus" in row or ("status" in row and "email" in row):
        return "validation"
    return None


def _reverse_miss(row: Mapping[str, Any]) -> bool:
    """The per-endpoint not-found answer of a reverse lookup: no `found`, no profile field, just
    the echoed `email` (providers.md 2.6). Too bare to tell its product by itself, so it is read
    as a reverse lookup only where the endpoint says so."""
    return "email" in row and set(row) <= {"email", "message", "creditsConsumed"}


def parse_row(product: str | None, row: Any, raw: Any = None) -> Parsed:
    """One answer → Parsed; anything unreadable → a FAILED record keeping the raw row.

    A row must show the keys of some product (a renamed field is a failure, not a silent miss);
    when it does, the endpoint's own product decides how it is read."""
    if not isinstance(row, dict):
        return Parsed(
            product, None, failed(f"expected a result object, got {row!r:.80}", raw or row)
        )
    kind = row_product(row) and (product or row_product(row))
    if kind is None and product == "reverse" and _reverse_miss(row):
        kind = "reverse"
    readers: dict[str, Callable[..., Parsed]] = {
        "validation": validation_row,
        "finder": finder_row,
        "reverse": reverse_row,
        "phones": phones_row,
    }
    reader = readers.get(kind or "")
    if reader is None:
        keys = ", ".join(sorted(row)[:12])
        return Parsed(
            None, None, failed(f"unrecognised enrich.so answer (keys: {keys})", raw or row)
        )
    try:
        return reader(row, raw)
    except (TypeError, ValueError, AttributeError) as exc:  # a field of an unexpected type
        return Parsed(kind, None, failed(f"unreadable {kind} answer: {exc}", raw or row))
