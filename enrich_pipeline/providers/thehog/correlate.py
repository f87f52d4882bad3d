"""Who a The Hog payload is about (providers.md 4.1, 4.2): normalised identifier keys, the context
of a submission, request or echo, and the correlator that matches an echoed identifier (or an item
position) to the context behind it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from enrich_pipeline.identity import linkedin_slug, normalise_email, person_key
from enrich_pipeline.model import EnrichmentRequest, Submission
from enrich_pipeline.providers.thehog.parse import read_data
from enrich_pipeline.providers.thehog.plan import hog_fields, stable_json
from enrich_pipeline.providers.thehog.values import _dict, _str


def identifier_key(identifier: Any) -> str | None:
    """A normalised form of a PersonIdentifier (current or legacy) for matching echoes to requests."""
    if not isinstance(identifier, dict):
        return None
    for key, prefix in (("linkedin_url", "li"), ("email", "em"), ("x_handle", "x")):
        value = _str(identifier.get(key))
        if value:
            return _identity(prefix, value)
    if gh := _str(identifier.get("github_username")):
        return _identity("gh", gh)
    # Legacy /api/people/enrich inputs: {"platform", "username"} or {"id"} (3.4).
    platform, username = _str(identifier.get("platform")), _str(identifier.get("username"))
    if platform and username:
        prefix = {"linkedin": "li", "github": "gh", "x": "x", "twitter": "x"}.get(platform.lower())
        return _identity(prefix or platform.lower(), username)
    person_id = _str(identifier.get("id"))
    return f"id:{person_id}" if person_id else None


def _identity(prefix: str, value: str) -> str:
    if prefix == "li":
        slug = linkedin_slug(value) or linkedin_slug(f"linkedin.com/in/{value.strip('/')}")
        return f"li:{slug or value.strip().lower()}"
    if prefix == "em":
        return f"em:{normalise_email(value)}"
    return f"{prefix}:{value.strip().lstrip('@').lower()}"


def request_identity_keys(request: EnrichmentRequest) -> frozenset[str]:
    """Every identifier key an echo of this request could carry (LinkedIn URL and email)."""
    keys = set()
    if request.linkedin_url and (key := identifier_key({"linkedin_url": request.linkedin_url})):
        keys.add(key)
    if request.email and (key := identifier_key({"email": request.email})):
        keys.add(key)
    return frozenset(keys)


def _identifier_person_key(identifier: Mapping[str, Any]) -> str | None:
    """providers.md 4.2 from an echoed identifier (current or legacy LinkedIn / email)."""
    key = identifier_key(dict(identifier))
    if key is None:
        return None
    kind, _, value = key.partition(":")
    if kind == "li" and linkedin_slug(f"linkedin.com/in/{value}"):
        return f"li:/in/{value}"
    if kind == "em":
        return person_key(email=value)
    return None


# --------------------------------------------------------------------------------------- contexts


@dataclass(frozen=True)
class _Context:
    """What we know about the person behind a payload (from a Submission, a request or the echo)."""

    person_key: str | None = None
    correlation: str | None = None
    provider_ref: str | None = None
    fields: tuple[str, ...] = ()  # The Hog fields requested, when known
    keys: frozenset[str] = frozenset()  # identifier keys an echo may carry
    index: int | None = None  # item position in the submitted batch, when known
    sent: dict[str, Any] | None = None  # the identifier we sent

    @classmethod
    def of(cls, submission: Submission) -> _Context:
        request = _dict(submission.raw.get("request"))
        sent = _dict(request.get("identifier")) or None
        index = submission.raw.get("item_index")
        key = identifier_key(sent)
        return cls(
            person_key=submission.person_key,
            # The caller's own id when given, else the identifier The Hog echoes (providers.md 4.1).
            correlation=submission.correlation or (stable_json(sent) if sent else None),
            provider_ref=submission.provider_ref,
            fields=tuple(f for f in request.get("fields") or () if isinstance(f, str)),
            keys=frozenset({key}) if key else frozenset(),
            index=index if isinstance(index, int) else None,
            sent=sent,
        )

    @classmethod
    def of_request(cls, request: EnrichmentRequest) -> _Context:
        fields, _ = hog_fields(request.fields)
        return cls(
            person_key=request.person_key,
            correlation=request.correlation,
            fields=fields,
            keys=request_identity_keys(request),
        )

    @classmethod
    def of_echo(cls, identifier: Any, provider_ref: str | None) -> _Context:
        """No request known: the person is whoever the echoed identifier names (4.2)."""
        echo = identifier if isinstance(identifier, dict) else {}
        return cls(
            person_key=_identifier_person_key(echo),
            correlation=stable_json(echo) if echo else None,
            provider_ref=provider_ref,
        )


class _Correlator:
    """Finds the context behind an echoed identifier: by item position when it agrees, else by the
    normalised identifier (LinkedIn slug, lower-cased email)."""

    def __init__(self, contexts: Sequence[_Context], *, exclusive: bool = True) -> None:
        self.contexts = list(contexts)
        # False when the payload is one of several (a list of operations): the caller's requests
        # are then not all answered by it.
        self.exclusive = exclusive
        self._used: set[int] = set()

    def match(self, identifier: Any, position: int | None) -> _Context | None:
        key = identifier_key(identifier)
        candidates = [
            i
            for i, ctx in enumerate(self.contexts)
            if (key is not None and key in ctx.keys)
            or (key is None and position is not None and ctx.index == position)
        ]
        if not candidates:
            return None
        # Prefer the context submitted at this position, then one not matched yet (two requests
        # for the same person in one batch get one item each).
        candidates.sort(
            key=lambda i: (self.contexts[i].index != position, i in self._used, i),
        )
        chosen = candidates[0]
        self._used.add(chosen)
        return self.contexts[chosen]

    def unmatched(self) -> list[_Context]:
        return [ctx for i, ctx in enumerate(self.contexts) if i not in self._used]

    def sole(self) -> _Context | None:
        """The one context of a single-person answer (which echoes no identifier)."""
        if len(self.contexts) == 1:
            self._used.add(0)
            return self.contexts[0]
        return None

    def answering(self) -> list[_Context]:
        """Who a payload that names nobody (a 202, a running operation) answers for: the client's
        own batch members, or the caller's requests when the payload is theirs alone."""
        own = [ctx for ctx in self.contexts if ctx.index is not None]
        if own:
            return own
        if self.exclusive and self.contexts:
            return list(self.contexts)
        return [self.sole() or _Context()]

    def by_data(self, data: Any) -> _Context | None:
        """The context of a single-person answer: the only one, or the one its output names."""
        if (ctx := self.sole()) is not None or not isinstance(data, dict):
            return ctx
        findings = read_data(data, (), None)
        return self.by_output(findings.linkedin.url if findings.linkedin else None, findings.email)

    def by_output(self, linkedin_url: str | None, email: str | None) -> _Context | None:
        """For a sync body among several requests: the request whose identity the answer shows."""
        for identifier in ({"linkedin_url": linkedin_url}, {"email": email}):
            if identifier_key(identifier) and (ctx := self.match(identifier, None)) is not None:
                return ctx
        return None
