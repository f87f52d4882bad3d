"""What we send The Hog for a request (providers.md 3.1, 3.2): one PersonIdentifier, the `fields`
it offers, the Idempotency-Key of a body, and the refusal (no call) of a request it cannot serve."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from enrich_pipeline.identity import canonical_linkedin_url, normalise_email
from enrich_pipeline.model import EnrichmentRequest, Submission, WantedField
from enrich_pipeline.providers.thehog.dialect import FIELD_OF, FIELD_ORDER, PROVIDER


def person_identifier(request: EnrichmentRequest) -> dict[str, str] | None:
    """Exactly one PersonIdentifier key: the LinkedIn URL when known, else the email (3.2)."""
    url = (request.linkedin_url or "").strip()
    canonical = canonical_linkedin_url(url)
    if canonical:
        return {"linkedin_url": canonical}
    email = normalise_email(request.email)
    if email:
        return {"email": email}
    # Not an /in/ URL we can read (a Sales Navigator link, say) and no email: let The Hog try it.
    return {"linkedin_url": url} if url else None


def hog_fields(wanted: Iterable[WantedField]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(The Hog `fields` for the wanted fields, the wanted fields The Hog does not offer)."""
    wanted = set(wanted)
    fields = tuple(f for f in FIELD_ORDER if f in {FIELD_OF[w] for w in wanted if w in FIELD_OF})
    missing = tuple(sorted(w.value for w in wanted if w not in FIELD_OF))
    return fields, missing


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def idempotency_key(body: Mapping[str, Any], attempt: str | None = None) -> str:
    """`ep_` + sha256(stable JSON of the body)[:32], as The Hog's MCP client derives its keys (3.1):
    the same people and fields always get the same key, so a repeated submit is a free replay.

    `attempt` (the caller's name for this submit, e.g. the ledger's) joins the hash: replaying the
    same attempt gets the same key, while a new attempt after a failed job gets a new one — The
    Hog would otherwise hand back the failed operation for as long as it keeps the key."""
    seed = f"{attempt}\n" if attempt else ""
    return "ep_" + hashlib.sha256((seed + stable_json(body)).encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Planned:
    """One request that The Hog can serve, with what we will send for it."""

    index: int  # position in submit()'s input
    request: EnrichmentRequest
    identifier: dict[str, str]
    fields: tuple[str, ...]
    skipped: tuple[str, ...]


def _plan(index: int, request: EnrichmentRequest) -> _Planned | Submission:
    fields, skipped = hog_fields(request.fields)
    identifier = person_identifier(request)
    if not fields:
        wanted = ", ".join(sorted(f.value for f in request.fields)) or "nothing"
        return Submission.refused(
            request, PROVIDER, f"The Hog does not offer {wanted}", {"skipped": list(skipped)}
        )
    if identifier is None:
        reason = "The Hog needs a LinkedIn URL or an email to identify the person"
        return Submission.refused(request, PROVIDER, reason, {"fields": list(fields)})
    return _Planned(index, request, identifier, fields, skipped)
