"""enrich.so payloads → flattened records (providers.md 2.4-2.9, 4.3-4.5). No HTTP here.

enrich.so publishes two shapes for several answers (per-endpoint OpenAPI vs the quick reference):
validation `result` vs `status`/`subStatus`, phones as strings vs `{number, type}`, reverse lookup
with or without `found`, `processedCount` vs `processedItems`. Every reader below accepts both, and
the snake_case of webhook bodies, and turns any shape it does not recognise into a FAILED record
that keeps the raw payload — never an exception that would lose the other rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from enrich_pipeline.identity import (
    canonical_linkedin_url,
    linkedin_slug,
    normalise_email,
    person_key,
    registrable_domain,
)
from enrich_pipeline.model import (
    CostBasis,
    Education,
    EmailStatus,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
    dedupe_phones,
    to_e164,
    utc_now,
)

PROVIDER = "enrichso"
PRODUCTS = ("validation", "finder", "reverse", "phones")
# Credits per successful item (providers.md 2.2 / 4.5); phones: 500 (the 10 is a CONFLICT outlier).
PRICE = {"validation": 1, "finder": 10, "reverse": 10, "phones": 500}
ITEM_EVENTS = {
    "webhook:email_lookup.completed": "validation",
    "webhook:finder_lookup.completed": "finder",
    "webhook:phone_result.completed": "phones",
    "webhook:email_result.completed": "reverse",
}
COMPLETION_EVENTS = {
    "validation.completed": "validation",
    "finder.completed": "finder",
    "webhook:phone_completion.completed": "phones",
    "webhook:email_completion.completed": "reverse",
}
# Terminal batch statuses. The doc names only completed/failed; the synonyms are tolerated in case
# the quick-reference dialect spells them differently (ASSUMPTION).
DONE_STATUSES = frozenset({"completed", "complete", "done", "finished", "succeeded", "success"})
FAILED_STATUSES = frozenset({"failed", "error", "errored", "cancelled", "canceled"})
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


def parse_row(product: str | None, row: Any, raw: Any = None) -> Parsed:
    """One answer → Parsed; anything unreadable → a FAILED record keeping the raw row.

    A row must show the keys of some product (a renamed field is a failure, not a silent miss);
    when it does, the endpoint's own product decides how it is read."""
    if not isinstance(row, dict):
        return Parsed(
            product, None, failed(f"expected a result object, got {row!r:.80}", raw or row)
        )
    kind = row_product(row) and (product or row_product(row))
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


# ---------------------------------------------------------------------------------------- costs

Cost = tuple[int | None, CostBasis]


def _credits(meta: Mapping[str, Any], name: str = "creditsUsed") -> int | None:
    value = meta.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def apportion(
    product: str | None, charged: Sequence[bool], used: int | None, complete: bool
) -> list[Cost]:
    """Per-row credits: the settled `creditsUsed` spread over the charged rows (0 for refunded
    ones) when the rows are the whole batch; else the price table (providers.md 4.5)."""
    if used is None or not complete:
        price = PRICE.get(product or "", 0)
        return [(price if c else 0, CostBasis.TABLE) for c in charged]
    payers = [i for i, c in enumerate(charged) if c] or list(range(len(charged)))
    share, extra = divmod(used, len(payers)) if payers else (0, 0)
    costs: list[Cost] = [(0, CostBasis.REPORTED)] * len(charged)
    for n, i in enumerate(payers):
        costs[i] = (share + (1 if n < extra else 0), CostBasis.REPORTED)
    return costs


def single_cost(product: str, parsed: Parsed, meta: Mapping[str, Any]) -> Cost:
    """A single lookup's receipt is `meta.creditsUsed` (0 when nothing was found or refunded)."""
    used = _credits(meta)
    if used is not None:
        return used, CostBasis.REPORTED
    return (PRICE[product] if parsed.charged else 0), CostBasis.TABLE


def single_record(product: str, body: Any) -> EnrichmentResult:
    """A synchronous lookup's `{success, data, meta}` → one record."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return error_record(body) or failed(f"{product} response without a `data` object", body)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    parsed = parse_row(product, data, body)
    cost, basis = single_cost(product, parsed, meta)
    request_id = text(meta.get("requestId"))
    ref = f"{product}:request:{request_id}" if request_id else None
    return parsed.record.model_copy(
        update={"cost_credits": cost, "cost_basis": basis, "provider_ref": ref}
    )


def error_record(body: Any) -> EnrichmentResult | None:
    """A problem+json (or legacy `{error, message, statusCode}`) body as a FAILED record."""
    if not isinstance(body, dict):
        return None
    status = pick(body, "status", "statusCode")
    if body.get("success") is False or (isinstance(status, int) and status >= 400):
        detail = body.get("detail")
        message = next(
            (
                v
                for v in (detail, body.get("message"), body.get("error"), body.get("title"))
                if isinstance(v, str) and v
            ),
            "error",
        )
        return failed(f"enrich.so error{f' {status}' if status else ''}: {message}", body)
    return None


# ------------------------------------------------------------------------------------- webhooks


def _lead_from_result_id(result_id: str | None) -> dict[str, str] | None:
    """Finder misses have no email to use as result_id; the sandbox sends `first|last|domain`
    (ASSUMPTION — the doc is silent)."""
    parts = (result_id or "").split("|")
    if len(parts) == 3 and all(p.strip() for p in parts):
        return {"firstName": parts[0], "lastName": parts[1], "domain": parts[2]}
    return None


def webhook_item(product: str, data: Mapping[str, Any], body: Any) -> Parsed:
    """A per-result callback's `data` (snake_case, providers.md 2.9) → Parsed."""
    result_id = text(pick(data, "result_id", "resultId"))
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    kind = text(data.get("type"))
    message = text(pick(data, "error", "message"))
    if product == "validation":
        return validation_row({"email": result_id, **result}, body)
    if product == "finder":
        lead = _lead_from_result_id(result_id) or {}
        return finder_row({**lead, **result}, body)
    if product == "phones":
        where = "linkedin" if linkedin_slug(result_id) else "email"
        row = {where: result_id, "phones": data.get("phones") or [], "message": message}
        return phones_row(row, body, error=kind == "error")
    if kind == "error":
        return reverse_row({}, body, email=result_id, error=message or "reverse lookup error")
    if kind == "no_match" or not result:
        return reverse_row({"found": False, "message": message}, body, email=result_id)
    return reverse_row(result, body, email=result_id)


def webhook_parsed(body: Any) -> list[Parsed]:
    if not isinstance(body, dict):
        return [Parsed(None, None, failed("webhook body is not a JSON object", body))]
    event = text(body.get("event")) or ""
    data = body.get("data")
    if event in COMPLETION_EVENTS:
        return []  # a tally for the whole batch: nothing about any one person
    product = ITEM_EVENTS.get(event)
    if product is None or not isinstance(data, dict):
        reason = f"unrecognised enrich.so webhook event {event!r}"
        return [Parsed(None, None, failed(reason, body))]
    try:
        parsed = webhook_item(product, data, body)
    except (TypeError, ValueError, AttributeError) as exc:
        return [Parsed(product, None, failed(f"unreadable {event} callback: {exc}", body))]
    job_id = text(pick(data, "job_id", "jobId", "batchId"))
    price = PRICE[product] if parsed.charged else 0
    # Webhooks never settle (2.9): the price table says what settlement will charge.
    record = parsed.record.model_copy(
        update={
            "provider_ref": f"{product}:{job_id}" if job_id else None,
            "request_correlation": text(pick(data, "result_id", "resultId")),
            "cost_credits": price,
            "cost_basis": CostBasis.TABLE,
        }
    )
    return [Parsed(product, parsed.key, record, parsed.charged)]


def parse_webhook(body: Any) -> list[EnrichmentResult]:
    """Any enrich.so callback → records; completion events → []; unknown ones → one FAILED."""
    return [p.record for p in webhook_parsed(body)]


# ---------------------------------------------------------------------------------- correlation


@dataclass(frozen=True)
class Wanted:
    """One request as a batch item: the input keys it may appear under in the results, and what
    else is known about the person (to match rows that do not echo their input)."""

    keys: tuple[str, ...]
    person_key: str | None
    correlation: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    domain: str | None = None
    linkedin_slug: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # kept in the record (e.g. the submission)


def fold(value: str | None) -> str:
    """Comparison form of a name: accents stripped, case-folded, letters and digits only."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", bare)


# Latin letters NFKD does not decompose (what an address would spell them as).
_ASCII_EXTRA = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",
    }
)


def _ascii(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", fold((value or "").casefold().translate(_ASCII_EXTRA)))


def _locals(email: str | None) -> list[str]:
    """The local part, and without a trailing number (`ananya.iyer73` → `ananyaiyer`)."""
    if not email or "@" not in email:
        return []
    local = re.sub(r"[^a-z0-9]", "", email.split("@", 1)[0].lower())
    bare = re.sub(r"\d+$", "", local)
    return [x for x in dict.fromkeys((local, bare)) if len(x) >= 2]


def _name_pairs(first: str | None, last: str | None, slug: str | None) -> list[tuple[str, str]]:
    """ASCII (first, last) spellings of a person: from the names, and from the profile slug
    (`lei-liu-4821`), which is how non-Latin names show up in an address."""
    pairs = [(_ascii(first), _ascii(last))]
    # Segments with digits are LinkedIn's disambiguating suffix (`-2bb5d3`), not names.
    segments = [t for t in (slug or "").lower().split("-") if not re.search(r"\d", t)]
    tokens = [t for t in (re.sub(r"[^a-z]", "", t) for t in segments) if t]
    if len(tokens) >= 2:
        pairs += [(tokens[0], tokens[-1]), (tokens[0], "".join(tokens[1:]))]
    return list(dict.fromkeys((f, la) for f, la in pairs if f and la))


@dataclass(frozen=True)
class _Side:
    """What one row or one wanted item shows about the person, to match rows without an input
    key. `spellings` maps each local part the names could have to its strength."""

    email: str | None
    name: str  # folded "first|last", sorted, or ""
    companies: tuple[str, ...]  # folded; a row lists its current employer, then its history
    domain: str | None
    slug: str | None
    spellings: dict[str, float]


def _spellings(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """first.last / lastfirst 3, flast / firstl / lastf 2, bare first name 1, initials 0.5."""
    out: dict[str, float] = {}
    for f, la in pairs:
        shapes = {f + la: 3.0, la + f: 3.0, f[0] + la: 2.0, f + la[0]: 2.0, la + f[0]: 2.0}
        for shape, weight in {**shapes, f: 1.0, f[0] + la[0]: 0.5}.items():
            out[shape] = max(out.get(shape, 0.0), weight)
    return out


def _side(
    email: str | None,
    first: str | None,
    last: str | None,
    companies: Iterable[str | None],
    domain: str | None,
    slug: str | None,
) -> _Side:
    f, la = fold(first), fold(last)
    folded = tuple(dict.fromkeys(c for c in (fold(c) for c in companies) if c))
    name = "|".join(sorted((f, la))) if f and la else ""
    return _Side(email, name, folded, domain, slug, _spellings(_name_pairs(first, last, slug)))


def _row_side(parsed: Parsed) -> _Side:
    record = parsed.record
    profile = record.linkedin or LinkedinProfile()
    # Former employers count too: a stale address at one still finds today's profile.
    companies = [profile.company_name, *(p.company_name for p in profile.positions)]
    slug, domain = linkedin_slug(profile.url), email_domain(record.email)
    return _side(record.email, profile.first_name, profile.last_name, companies, domain, slug)


def _item_side(w: Wanted) -> _Side:
    return _side(w.email, w.first_name, w.last_name, [w.company_name], w.domain, w.linkedin_slug)


Employers = Callable[[str], bool]  # whether a domain label names an employer seen in the batch


def _employer(item: _Side, row: _Side, employers: Employers) -> float:
    """+2 the item's company / address domain is the row's current employer, +1 a former one,
    -2 another employer, 0 nothing to compare (a domain naming no employer in the batch is
    likely personal mail). A namesake at another employer must not take the answer."""
    if item.domain and row.domain:  # a finder callback shows the found address's domain
        return 2.0 if item.domain == row.domain else -2.0
    label = fold((item.domain or "").split(".", 1)[0])
    evidence = item.companies[0] if item.companies else label
    if len(evidence) < 3 or not row.companies:
        return 0.0
    fits = [evidence in c or c in evidence for c in row.companies]
    if any(fits):
        return 2.0 if fits[0] else 1.0
    return -2.0 if item.companies or employers(label) else 0.0


def _score(item: _Side, row: _Side, employers: Employers) -> float | None:
    """How well a row fits an item; None when they are evidently different people."""
    if item.slug and row.slug:
        return 10.0 if item.slug == row.slug else None
    if item.name and row.name:
        if item.name == row.name:
            return 6.0 + _employer(item, row, employers)
        if item.name.isascii() and row.name.isascii():
            return None
        # One name is in another script (强 李 / Qiang Li): not evidence of a different person;
        # compare the address with the spellings (the profile slug romanises the name).
    address, named = (item, row) if item.email and row.spellings else (row, item)
    if not (address.email and named.spellings):
        return 0.0  # nothing to compare either way
    spelled = max((named.spellings.get(x, -1.0) for x in _locals(address.email)), default=-1.0)
    return None if spelled < 0 else spelled + _employer(item, row, employers)


class _Candidates:
    """Index of items by what a row could be matched on (addresses, spellings, names)."""

    def __init__(self, items: dict[str, _Side], employers: Employers) -> None:
        self.items = items
        self.employers = employers
        self.index: dict[str, set[str]] = {}
        self.loose: set[str] = set()  # items with neither an address nor a name
        for key, item in items.items():
            tags = [f"a:{x}" for x in _locals(item.email)] + [f"b:{x}" for x in item.spellings]
            tags += [f"n:{item.name}"] * bool(item.name) + [f"s:{item.slug}"] * bool(item.slug)
            for tag in tags:
                self.index.setdefault(tag, set()).add(key)
            if not tags:
                self.loose.add(key)

    def scores(self, row: _Side) -> list[tuple[float, str]]:
        tags = [f"a:{x}" for x in row.spellings] + [f"b:{x}" for x in _locals(row.email)]
        tags += [f"n:{row.name}"] * bool(row.name) + [f"s:{row.slug}"] * bool(row.slug)
        keys = set(self.items) if not tags else set(self.loose)
        for tag in tags:
            keys |= self.index.get(tag, set())
        scored = ((_score(self.items[k], row, self.employers), k) for k in keys if k in self.items)
        return sorted(((sc, k) for sc, k in scored if sc is not None), reverse=True)


PROOF = 8.0  # a shared profile URL, or the same name at the current employer
PLAUSIBLE = 2.5  # e.g. first.last@ at a personal domain, a bare first name at the current employer
DOUBT = 0.0  # below this a leftover row is not thought to be an unmatched item's


def _employers(rows: Iterable[_Side]) -> Employers:
    seen = {c for row in rows for c in row.companies if len(c) >= 3}
    cache: dict[str, bool] = {}

    def names_one(label: str) -> bool:
        if label not in cache:
            cache[label] = len(label) >= 3 and any(label in c or c in label for c in seen)
        return cache[label]

    return names_one


def _fuzzy(
    items: dict[str, _Side],
    rows: dict[int, _Side],
    all_known: bool,
    employers: Employers,
    eliminate: bool,
) -> dict[str, int]:
    """Pair rows that do not echo their input (reverse-lookup bulk rows, finder callbacks) with
    items: a row goes to its best-scoring item when that item beats every other open item for
    the row, and the row beats every other open row for the item. Without every item of the
    batch at hand only proof pairs: the real owner of a row might be an item we do not see."""
    floor = PLAUSIBLE if all_known else PROOF
    index = _Candidates(items, employers)
    found: dict[str, int] = {}
    ranked = {i: index.scores(row) for i, row in rows.items()}
    best_row: dict[str, list[tuple[float, int]]] = {}
    for i, scored in ranked.items():
        for score, key in scored:
            best_row.setdefault(key, []).append((score, i))
    changed = True
    while changed:
        changed = False
        for i in list(rows):
            scored = [(sc, k) for sc, k in ranked[i] if k in items]
            if (
                not scored
                or scored[0][0] < floor
                or (len(scored) > 1 and scored[1][0] >= scored[0][0])
            ):
                continue
            key = scored[0][1]
            others = [sc for sc, j in best_row[key] if j != i and j in rows]
            if others and max(others) >= scored[0][0]:
                continue
            found[key] = i
            del items[key], rows[i]
            changed = True
    if eliminate and len(items) == 1 and len(rows) == 1:
        (key, item), (i, row) = next(iter(items.items())), next(iter(rows.items()))
        if _score(item, row, employers) is not None:  # the last one left can only be its own
            found[key] = i
    return found


@dataclass
class Correlation:
    matches: dict[int, int]  # wanted index -> row index
    leftovers: list[int]  # rows no wanted item claimed
    ambiguous: set[int]  # unmatched wanted indexes that a leftover row might belong to


def correlate(
    rows: Sequence[Parsed],
    wanted: Sequence[Wanted],
    all_known: bool,
    eliminate: bool | None = None,
) -> Correlation:
    """Rows to wanted items: by input key, then (rows without one) by what the profile shows.
    `all_known`: `wanted` holds every item of the batch (plausible matches are then safe);
    `eliminate` (default: all_known): a last row left over goes to the last item left over."""
    by_key: dict[str, int] = {}
    for i, parsed in enumerate(rows):
        if parsed.key is not None:
            by_key.setdefault(parsed.key, i)
    matches: dict[int, int] = {}
    for wi, w in enumerate(wanted):
        hit = next((by_key[k] for k in w.keys if k in by_key), None)
        if hit is not None:
            matches[wi] = hit
    claimed = set(matches.values())
    open_rows = {i: _row_side(p) for i, p in enumerate(rows) if p.key is None and i not in claimed}
    items: dict[str, _Side] = {}
    for wi, w in enumerate(wanted):
        if wi not in matches and w.keys:
            items.setdefault(w.keys[0], _item_side(w))
    unpaired = dict(items)
    employers = _employers(open_rows.values())
    last_one = all_known if eliminate is None else eliminate
    fuzzy = (
        _fuzzy(unpaired, dict(open_rows), all_known, employers, last_one)
        if open_rows and items
        else {}
    )
    for wi, w in enumerate(wanted):
        if wi not in matches and w.keys and w.keys[0] in fuzzy:
            matches[wi] = fuzzy[w.keys[0]]
    claimed = set(matches.values())
    leftovers = [i for i in range(len(rows)) if i not in claimed]
    index = _Candidates(unpaired, employers)
    doubtful = {
        key
        for i in leftovers
        if i in open_rows
        for score, key in index.scores(open_rows[i])
        if score >= DOUBT
    }
    ambiguous = {
        wi for wi, w in enumerate(wanted) if wi not in matches and w.keys and w.keys[0] in doubtful
    }
    return Correlation(matches, leftovers, ambiguous)


def wanted_from_request(request: Any) -> Wanted:
    """An EnrichmentRequest as it may show up in any product's results (every input key)."""
    domain = registrable_domain(request.company_domain)
    keys = (
        email_key(request.email),
        lead_key(request.first_name, request.last_name, domain),
        linkedin_key(request.linkedin_url),
    )
    return Wanted(
        keys=tuple(k for k in keys if k),
        person_key=request.person_key,
        correlation=request.correlation,
        email=normalise_email(request.email),
        first_name=request.first_name,
        last_name=request.last_name,
        company_name=request.company_name,
        domain=domain or email_domain(request.email),
        linkedin_slug=linkedin_slug(request.linkedin_url),
    )


# -------------------------------------------------------------------------------- batch results


@dataclass
class BatchView:
    """A batch's answers as read from one results page, or from all pages merged by the client."""

    product: str | None
    batch_id: str | None
    status: str | None
    rows: list[Any]
    meta: dict[str, Any]
    complete: bool  # the rows are every answer the batch has (all pages)
    fetched_at: datetime = field(default_factory=utc_now)

    @property
    def ref(self) -> str | None:
        if self.product and self.batch_id:
            return f"{self.product}:{self.batch_id}"
        return self.batch_id

    @property
    def terminal(self) -> bool:
        return (self.status or "").lower() in DONE_STATUSES | FAILED_STATUSES

    @property
    def failed(self) -> bool:
        return (self.status or "").lower() in FAILED_STATUSES

    def describe(self) -> dict[str, Any]:
        return {"product": self.product, "batchId": self.batch_id, "status": self.status}


def batch_id_of(data: Mapping[str, Any]) -> str | None:
    return text(pick(data, "batchId", "batch_id", "jobId", "job_id"))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def batch_view(body: Mapping[str, Any], product: str | None = None) -> BatchView:
    """One results page: `data.results[]`, `page`, `limit`, `processedCount` / `processedItems`."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    rows = data.get("results") if isinstance(data.get("results"), list) else []
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    if product is None:
        product = next(
            (row_product(r) for r in rows if isinstance(r, dict) and row_product(r)), None
        )
    status = text(data.get("status"))
    page, limit = _int(data.get("page"), 1), _int(data.get("limit"), 100)  # documented defaults
    total = pick(data, "processedCount", "processedItems", "totalItems")
    whole = len(rows) < limit or (isinstance(total, int) and len(rows) >= total)
    terminal = (status or "").lower() in DONE_STATUSES | FAILED_STATUSES
    return BatchView(
        product, batch_id_of(data), status, rows, meta, terminal and page <= 1 and whole
    )


def _attach(
    record: EnrichmentResult, view: BatchView, row: Any, wanted: Wanted | None, cost: Cost
) -> EnrichmentResult:
    raw: dict[str, Any] = {"result": row, "batch": view.describe(), "meta": view.meta}
    update: dict[str, Any] = {
        "provider_ref": view.ref,
        "cost_credits": cost[0],
        "cost_basis": cost[1],
        "fetched_at": view.fetched_at,
    }
    if wanted is not None:
        if wanted.raw:
            raw["submission"] = wanted.raw
        update["person_key"] = wanted.person_key or record.person_key
        update["request_correlation"] = wanted.correlation
    update["raw"] = raw
    return record.model_copy(update=update)


def _missing(
    view: BatchView, wanted: Wanted, ambiguous: bool, settled: bool
) -> EnrichmentResult | None:
    """The record of a request its batch gave no row for."""
    if view.failed:
        error = text(view.meta.get("error"))
        status = RecordStatus.FAILED
        reason = error or f"enrich.so batch {view.batch_id} {view.status}"
    elif not view.terminal:
        status, reason = RecordStatus.PENDING, f"enrich.so batch {view.batch_id} is {view.status}"
    elif not view.complete:
        return None  # another page may hold it
    elif view.product == "reverse" and ambiguous:
        status = RecordStatus.FAILED
        reason = (
            "reverse-lookup rows do not echo their email, and a profile row no request could be"
            " matched to may be this one's"
        )
    elif view.product == "reverse":
        status, reason = RecordStatus.NOT_FOUND, "no profile found (omitted from the bulk results)"
    else:
        status, reason = RecordStatus.FAILED, "no row for this input in the batch results"
    pending = status is RecordStatus.PENDING
    return EnrichmentResult(
        person_key=wanted.person_key,
        provider=PROVIDER,
        provider_ref=view.ref,
        request_correlation=wanted.correlation,
        record_status=status,
        reason=reason,
        cost_credits=None if pending else 0,
        cost_basis=CostBasis.UNKNOWN
        if pending
        else CostBasis.REPORTED
        if settled
        else CostBasis.TABLE,
        fetched_at=view.fetched_at,
        raw={"batch": view.describe(), "meta": view.meta, "submission": wanted.raw},
    )


@dataclass(frozen=True)
class Emit:
    """Which records batch_records produces beyond one per matched request."""

    missing: bool = True  # requests without a row (NOT_FOUND / FAILED / PENDING)
    keyed_leftovers: bool = False  # rows of inputs nobody asked about here
    unkeyed_leftovers: bool = True  # rows that could not be attributed (paid: never dropped)


def batch_records(
    view: BatchView,
    wanted: Sequence[Wanted],
    emit: Emit = Emit(),
    all_known: bool = False,
    report: Container[int] | None = None,
    eliminate: bool | None = None,
) -> list[EnrichmentResult]:
    """Records for the `report`ed wanted items (default all), correlated against all of them, and
    the leftover rows `emit` asks for. A row asked for twice (deduped on submit) is billed to the
    first asker only."""
    parsed = [parse_row(view.product, row) for row in view.rows]
    used = _credits(view.meta) if view.terminal else None
    costs = apportion(view.product, [p.charged for p in parsed], used, view.complete)
    found = correlate(parsed, wanted, all_known, eliminate)
    out: list[EnrichmentResult] = []
    billed: set[int] = set()
    for wi, w in enumerate(wanted):
        index = found.matches.get(wi)
        if report is not None and wi not in report:
            billed.update([index] if index is not None else [])
            continue
        if index is None:
            gap = (
                _missing(view, w, wi in found.ambiguous, used is not None) if emit.missing else None
            )
            out.extend([gap] if gap else [])
            continue
        cost = costs[index] if index not in billed else (0, costs[index][1])  # deduped: billed once
        billed.add(index)
        out.append(_attach(parsed[index].record, view, view.rows[index], w, cost))
    for index in found.leftovers:
        keyed = parsed[index].key is not None
        if (emit.keyed_leftovers if keyed else emit.unkeyed_leftovers) and index not in billed:
            out.append(_attach(parsed[index].record, view, view.rows[index], None, costs[index]))
    return out


# -------------------------------------------------------------------------------------- flatten


def _with_requests(parsed: list[Parsed], wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    """Single answers and callbacks: the matching request's person_key and correlation win."""
    if not wanted:
        return [p.record for p in parsed]
    found = correlate(parsed, wanted, all_known=True, eliminate=False)
    owner = {row: wanted[wi] for wi, row in sorted(found.matches.items(), reverse=True)}
    out = []
    for i, p in enumerate(parsed):
        w = owner.get(i)
        if w is None:
            out.append(p.record)
            continue
        update = {"person_key": w.person_key or p.record.person_key}
        if w.correlation is not None:
            update["request_correlation"] = w.correlation
        out.append(p.record.model_copy(update=update))
    return out


def _flatten_object(payload: dict[str, Any], wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    if "event" in payload:
        return _with_requests(webhook_parsed(payload), wanted)
    problem = error_record(payload)
    if problem is not None:
        return [problem]
    data = payload.get("data")
    if not isinstance(data, dict):
        keys = ", ".join(sorted(payload)[:12])
        return [failed(f"unrecognised enrich.so payload: no `data` object (keys: {keys})", payload)]
    if isinstance(data.get("results"), list):
        emit = Emit(missing=False, keyed_leftovers=True, unkeyed_leftovers=True)
        # The requests are taken for the batch's: plausible matches count, no elimination.
        return batch_records(batch_view(payload), wanted, emit, all_known=True, eliminate=False)
    if batch_id_of(data) is not None:
        return []  # a submit or status body: says how far a batch is, nothing about anyone
    product = row_product(data)
    if product is None:
        keys = ", ".join(sorted(data)[:12])
        return [failed(f"unrecognised enrich.so `data` (keys: {keys})", payload)]
    record = single_record(product, payload)
    return _with_requests([Parsed(product, parse_row(product, data).key, record)], wanted)


def flatten_payload(payload: Any, wanted: Sequence[Wanted]) -> list[EnrichmentResult]:
    if isinstance(payload, list):  # e.g. a dump of webhook deliveries
        return [r for item in payload for r in flatten_payload(item, wanted)]
    if not isinstance(payload, dict):
        return [failed(f"expected a JSON object, got {type(payload).__name__}", payload)]
    try:
        return _flatten_object(payload, wanted)
    except Exception as exc:  # totality: one bad payload must not cost the others
        return [failed(f"could not read enrich.so payload: {type(exc).__name__}: {exc}", payload)]
