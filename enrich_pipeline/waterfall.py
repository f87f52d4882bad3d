"""Who goes to which provider: pure functions over what is known about each person so far.

A provider is asked for a field only when (a) the field is wanted and not yet answered, (b) no
earlier provider's attempt at it is still pending, failed or of unknown outcome — by default only a
clear *not found* moves a person on (providers.md rule of thumb), and (c) this provider can produce
the field from what is known now, including what earlier providers found (an email found by lemlist
is the input of enrich.so's reverse lookup or phone finder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from enrich_pipeline.model import (
    Attempt,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    Outcome,
    RecordStatus,
    WantedField,
)

E, P, L, V = (
    WantedField.EMAIL,
    WantedField.PHONE,
    WantedField.LINKEDIN,
    WantedField.EMAIL_VERIFICATION,
)
NAME_AND_COMPANY = frozenset({"first_name", "last_name", "company_name", "company_domain"})

# provider -> field -> alternative sets of inputs, any one of which is enough (providers.md 1.2,
# 2.4-2.7, 3.2). The Hog is not asked to find an email from an email: that answers nothing new.
CAPABILITIES: Mapping[str, Mapping[WantedField, tuple[frozenset[str], ...]]] = {
    "lemlist": {
        E: (frozenset({"linkedin_url"}), NAME_AND_COMPANY),
        P: (frozenset({"linkedin_url"}),),
        L: (
            frozenset({"linkedin_url"}),
            frozenset({"email"}),
            frozenset({"first_name", "last_name", "company_name"}),
            frozenset({"first_name", "last_name", "company_domain"}),
        ),
        V: (frozenset({"email"}),),
    },
    "enrichso": {
        E: (frozenset({"first_name", "last_name", "company_domain"}),),
        P: (frozenset({"email"}), frozenset({"linkedin_url"})),
        L: (frozenset({"email"}),),
        V: (frozenset({"email"}),),
    },
    "thehog": {
        E: (frozenset({"linkedin_url"}),),
        P: (frozenset({"linkedin_url"}), frozenset({"email"})),
        L: (frozenset({"linkedin_url"}), frozenset({"email"})),
    },
}


@dataclass(frozen=True)
class Known:
    """What we know about one person at the moment a provider is asked."""

    person_key: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    email: str | None = None
    linkedin_url: str | None = None
    job_title: str | None = None
    correlation: str | None = None
    answered: frozenset[WantedField] = frozenset()  # found by some provider
    blocked: dict[WantedField, str] = field(
        default_factory=dict
    )  # field -> why we must not move on

    def inputs(self) -> frozenset[str]:
        names = (
            "first_name",
            "last_name",
            "company_name",
            "company_domain",
            "email",
            "linkedin_url",
        )
        return frozenset(n for n in names if getattr(self, n))


def can_produce(provider: str, wanted: WantedField, known: Known) -> bool:
    alternatives = CAPABILITIES.get(provider, {}).get(wanted, ())
    have = known.inputs()
    return any(needs <= have for needs in alternatives)


def plan_requests(
    provider: str, people: Iterable[Known], wanted: frozenset[WantedField]
) -> list[EnrichmentRequest]:
    """One request per person this provider can still add something for."""
    requests: list[EnrichmentRequest] = []
    for known in people:
        fields = frozenset(
            f
            for f in wanted
            if f not in known.answered
            and f not in known.blocked
            and can_produce(provider, f, known)
        )
        if fields:
            requests.append(
                EnrichmentRequest(
                    person_key=known.person_key,
                    correlation=known.correlation,
                    first_name=known.first_name,
                    last_name=known.last_name,
                    email=known.email,
                    company_name=known.company_name,
                    company_domain=known.company_domain,
                    linkedin_url=known.linkedin_url,
                    job_title=known.job_title,
                    fields=fields,
                )
            )
    return requests


def answered_fields(result: EnrichmentResult, requested: Iterable[WantedField]) -> set[WantedField]:
    found: set[WantedField] = set()
    if result.record_status is not RecordStatus.FOUND:
        return found
    for wanted in requested:
        if (
            (wanted is E and result.email)
            or (wanted is P and result.phones)
            or (wanted is L and result.linkedin is not None)
            or (wanted is V and result.email_status not in (None, EmailStatus.UNKNOWN))
        ):
            found.add(wanted)
    return found


HOLDS_BACK = frozenset({Outcome.FAILED, Outcome.PENDING, Outcome.UNKNOWN})


def learn(known: Known, attempt: Attempt) -> Known:
    """Fold one provider attempt into what we know: answers, new inputs, fields to hold back."""
    result = attempt.result
    if attempt.outcome in HOLDS_BACK:
        reason = f"{result.provider} {attempt.outcome.value}: {result.reason or 'no reason given'}"
        blocked = dict(known.blocked)
        for wanted in attempt.fields:
            if wanted not in known.answered:
                blocked.setdefault(wanted, reason)
        return replace(known, blocked=blocked)
    if attempt.outcome is not Outcome.FOUND:
        return known  # not found, refused or skipped: the next provider may try
    answered = known.answered | answered_fields(result, attempt.fields)
    email = known.email
    if email is None and result.email and result.email_status is not EmailStatus.UNDELIVERABLE:
        email = result.email
    linkedin_url = known.linkedin_url
    if linkedin_url is None and result.linkedin is not None and result.linkedin.url:
        linkedin_url = result.linkedin.url
    return replace(known, answered=frozenset(answered), email=email, linkedin_url=linkedin_url)


def fold_attempts(people: Sequence[Known], attempts: Iterable[Attempt]) -> list[Known]:
    """Apply earlier providers' attempts, in order, to the people of a day."""
    by_key = {k.person_key: k for k in people}
    for attempt in attempts:
        key = attempt.result.person_key
        if key is not None and key in by_key:
            by_key[key] = learn(by_key[key], attempt)
    return [by_key[k.person_key] for k in people]
