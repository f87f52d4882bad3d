"""Who a lemlist payload is about (providers.md 4.1, 4.2): the context of a submission or request,
the person_key a payload's own identity gives, and the correlator that finds the request behind a
payload by the metadata lemlist echoes (our person_key), the caller's correlation id, or identity."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from enrich_pipeline.identity import linkedin_slug, normalise_email, person_key
from enrich_pipeline.model import EnrichmentRequest, LinkedinProfile, Submission
from enrich_pipeline.providers.lemlist.dialect import WORKFLOWS
from enrich_pipeline.providers.lemlist.plan import plan_workflows, request_inputs
from enrich_pipeline.providers.lemlist.values import _dict, _is_int, _str

_PERSON_KEY_PREFIXES = ("li:", "em:", "nd:")


@dataclass(frozen=True)
class _Context:
    """What we know about the request behind a payload (from a Submission or the caller)."""

    person_key: str | None = None
    correlation: str | None = None
    provider_ref: str | None = None
    workflows: tuple[str, ...] = ()  # workflows requested, when known (for the cost of empties)

    @classmethod
    def of(cls, submission: Submission) -> _Context:
        workflows = submission.raw.get("enrichmentRequests")
        metadata = _dict(submission.raw.get("request")).get("metadata")
        return cls(
            person_key=submission.person_key,
            # The caller's own id when given, else the metadata lemlist echoes (providers.md 4.1).
            correlation=submission.correlation or _str(metadata),
            provider_ref=submission.provider_ref,
            workflows=tuple(w for w in workflows or () if w in WORKFLOWS),
        )

    @classmethod
    def of_request(cls, request: EnrichmentRequest, tag: str | None) -> _Context:
        workflows, _ = plan_workflows(request.fields, request_inputs(request))
        return cls(
            person_key=request.person_key,
            correlation=request.correlation or tag,
            workflows=workflows,
        )


def _payload_person_key(
    echo: Mapping[str, Any], linkedin: LinkedinProfile | None, email: str | None
) -> str | None:
    """providers.md 4.2 from what the payload shows: input echo first, then the answers."""
    profile = linkedin or LinkedinProfile()
    return person_key(
        linkedin_url=_str(echo.get("linkedinUrl")) or profile.url,
        email=_str(echo.get("email")) or email,
        first_name=_str(echo.get("firstName")) or profile.first_name,
        last_name=_str(echo.get("lastName")) or profile.last_name,
        company_domain=_str(echo.get("companyDomain")) or profile.company_domain,
    )


class _Correlator:
    """Finds the request behind a payload: by metadata (our person_key), correlation, or identity."""

    def __init__(self, requests: Sequence[EnrichmentRequest]) -> None:
        self.by_key = {r.person_key: r for r in requests}
        self.by_correlation = {r.correlation: r for r in requests if r.correlation}
        self.by_slug: dict[str, EnrichmentRequest] = {}
        self.by_email: dict[str, EnrichmentRequest] = {}
        for r in requests:
            if (slug := linkedin_slug(r.linkedin_url)) is not None:
                self.by_slug.setdefault(slug, r)
            if (address := normalise_email(r.email)) is not None:
                self.by_email.setdefault(address, r)

    def context(self, metadata: Any, echo: Mapping[str, Any] | None = None) -> _Context:
        tag = _metadata_text(metadata)
        echo = echo or {}
        request = None
        for candidate in _metadata_candidates(metadata, tag):
            request = self.by_key.get(candidate) or self.by_correlation.get(candidate)
            if request is not None:
                break
        if request is None and (slug := linkedin_slug(_str(echo.get("linkedinUrl")))):
            request = self.by_slug.get(slug)
        if request is None and (address := normalise_email(_str(echo.get("email")))):
            request = self.by_email.get(address)
        if request is None and echo:
            request = self.by_key.get(_payload_person_key(echo, None, None) or "")
        if request is not None:
            return _Context.of_request(request, tag)
        key = tag if tag is not None and tag.startswith(_PERSON_KEY_PREFIXES) else None
        return _Context(person_key=key, correlation=tag)


def _metadata_candidates(metadata: Any, tag: str | None) -> list[str]:
    """Strings that may name the request: the metadata itself, or the string values of an object
    (a caller may send `{"crm_id": "C-1001"}` as metadata; providers.md 1.5's example does)."""
    candidates = [tag] if tag is not None else []
    if isinstance(metadata, dict):
        candidates += [v for v in metadata.values() if isinstance(v, str)]
    return candidates


def _metadata_text(metadata: Any) -> str | None:
    """Bulk metadata as a correlation string: ours is the person_key; an object is kept as JSON."""
    if isinstance(metadata, str):
        return metadata
    if isinstance(metadata, dict | list):
        return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if _is_int(metadata):
        return str(metadata)
    return None
