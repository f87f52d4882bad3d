"""Who goes to which provider: pure functions over what is known about each person so far.

The policy is data (FIELD_POLICY below): an email counts as done only when it is deliverable — a
risky or catch-all answer keeps the person in the waterfall for a better one, and the best answer
wins at the end (flatten ranks them); an email we hold but nobody verified is sent to a provider's
verification endpoint instead of its finder when verifying is cheaper (lemlist verify: 1 credit).

A provider is asked for a field only when (a) the field is wanted and not yet answered, (b) no
earlier provider's attempt at it is still pending, failed, deferred or of unknown outcome — by default only a
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
from enrich_pipeline.spend.pricing import price

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
class FieldPolicy:
    """When a field counts as answered. `done_when` None: any found value completes it."""

    done_when: frozenset[EmailStatus] | None = None


FIELD_POLICY: Mapping[WantedField, FieldPolicy] = {
    E: FieldPolicy(done_when=frozenset({EmailStatus.DELIVERABLE})),
    P: FieldPolicy(),
    L: FieldPolicy(),
    V: FieldPolicy(),
}
UNVERIFIED = frozenset({None, EmailStatus.UNKNOWN})


@dataclass(frozen=True)
class Known:
    """What we know about one person at the moment a provider is asked."""

    person_key: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    company_domain: str | None = None
    email: str | None = None
    email_status: EmailStatus | None = None  # None: nobody verified `email` (e.g. from the file)
    linkedin_url: str | None = None
    job_title: str | None = None
    correlation: str | None = None
    answered: frozenset[WantedField] = frozenset()  # found by some provider
    blocked: dict[WantedField, str] = field(
        default_factory=dict
    )  # field -> why we must not move on

    @classmethod
    def from_prospect(cls, row: Mapping[str, object]) -> Known:
        """A `prospects` row (dict from Arrow or pandas) as known before any provider answered."""

        def text(name: str) -> str | None:
            value = row.get(name)
            return value if isinstance(value, str) and value else None  # NaN / "" -> None

        return cls(
            person_key=str(row["person_key"]),
            first_name=text("first_name"),
            last_name=text("last_name"),
            company_name=text("company_name"),
            company_domain=text("company_domain"),
            email=text("email"),
            linkedin_url=text("linkedin_url"),
            job_title=text("job_title"),
            correlation=text("crm_id"),
        )

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
    provider: str,
    people: Iterable[Known],
    wanted: frozenset[WantedField],
    later: Sequence[str] = (),
) -> list[EnrichmentRequest]:
    """One request per person this provider can still add something for. `later`: the providers
    after this one in the waterfall (a found but unverified email waits for the cheapest of them
    that verifies, rather than paying this one's finder)."""
    requests: list[EnrichmentRequest] = []
    for known in people:
        fields = {
            f
            for f in wanted
            if f not in known.answered
            and f not in known.blocked
            and can_produce(provider, f, known)
        }
        if E in fields and _verify_first(provider, known):
            fields = (fields - {E}) | {V}
        elif E in fields and _verify_later(provider, known, later):
            fields -= {E}
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
                    fields=frozenset(fields),
                )
            )
    return requests


def _verify_first(provider: str, known: Known) -> bool:
    """Verify the email we hold rather than pay a finder, when this provider verifies for less."""
    return (
        known.email is not None
        and known.email_status in UNVERIFIED
        and V not in known.answered
        and V not in known.blocked
        and can_produce(provider, V, known)
        and price(provider, V) < price(provider, E)
    )


def _verify_later(provider: str, known: Known, later: Sequence[str]) -> bool:
    """A provider found this email but gave no verdict (lemlist's documented poll answer has no
    status): it is verified by a later provider for less than this one's finder would cost — the
    policy is the cheapest verification, not a second finder. An email from the prospect file
    (status None) is not covered: it may be stale, and a finder may know better."""
    if known.email is None or known.email_status is not EmailStatus.UNKNOWN:
        return False
    if V in known.answered or V in known.blocked:
        return False
    finder = price(provider, E)
    # At equal price the verification wins: it answers about the address we hold.
    # (a later provider verifies in place of its own finder, so it must be one it could ask)
    return any(
        can_produce(p, V, known) and can_produce(p, E, known) and price(p, V) <= finder
        for p in later
    )


def _satisfies(field: WantedField, result: EnrichmentResult) -> bool:
    if field is E:
        done_when = FIELD_POLICY[E].done_when
        return bool(result.email) and (done_when is None or result.email_status in done_when)
    if field is P:
        return bool(result.phones)
    if field is L:
        return result.linkedin is not None
    return result.email_status not in UNVERIFIED  # V: a verdict came back


def answered_fields(result: EnrichmentResult, requested: Iterable[WantedField]) -> set[WantedField]:
    """The requested fields this answer completes under FIELD_POLICY."""
    if result.record_status is not RecordStatus.FOUND:
        return set()
    answered = {f for f in requested if _satisfies(f, result)}
    if V in answered and _satisfies(E, result):
        answered.add(E)  # a verified deliverable email is a found email
    return answered


HOLDS_BACK = frozenset({Outcome.FAILED, Outcome.PENDING, Outcome.UNKNOWN, Outcome.DEFERRED})


def learn(known: Known, attempt: Attempt, *, failover: bool = False) -> Known:
    """Fold one provider attempt into what we know: answers, new inputs, fields to hold back.

    `failover` (ENRICH_FAILOVER): people a failed provider never took (`deferred`) move on to the
    next provider instead of waiting for it — an explicit choice, since the next one may cost more."""
    result = attempt.result
    if attempt.outcome in HOLDS_BACK and not (failover and attempt.outcome is Outcome.DEFERRED):
        reason = f"{result.provider} {attempt.outcome.value}: {result.reason or 'no reason given'}"
        blocked = dict(known.blocked)
        # A verification asked instead of a finder stands for the email: held back, it holds the
        # email back too (else the next provider would be paid to find what may be verified).
        held = attempt.fields | ({E} if V in attempt.fields else set())
        for wanted in held:
            if wanted not in known.answered:
                blocked.setdefault(wanted, reason)
        return replace(known, blocked=blocked)
    if attempt.outcome is not Outcome.FOUND:
        return known  # not found, refused, skipped (or deferred with failover): the next may try
    answered = known.answered | answered_fields(result, attempt.fields)
    email, status = known.email, known.email_status
    if result.email and email and result.email.lower() == email.lower():
        status = result.email_status or status  # a verdict on the address we hold
    elif result.email and _better(result.email_status, status, replacing=email is not None):
        email, status = result.email, result.email_status
    linkedin_url = known.linkedin_url
    if linkedin_url is None and result.linkedin is not None and result.linkedin.url:
        linkedin_url = result.linkedin.url
    return replace(
        known,
        answered=frozenset(answered),
        email=email,
        email_status=status,
        linkedin_url=linkedin_url,
    )


def _better(new: EmailStatus | None, old: EmailStatus | None, *, replacing: bool) -> bool:
    """Whether a newly answered email should become the one we hold (and feed to the next provider)."""
    if new is EmailStatus.UNDELIVERABLE:
        return False
    if not replacing:
        return True
    rank = {s: s.rank for s in EmailStatus}
    return rank.get(new, 2) < rank.get(old, 2)  # type: ignore[arg-type]


def fold_attempts(
    people: Sequence[Known], attempts: Iterable[Attempt], *, failover: bool = False
) -> list[Known]:
    """Apply earlier providers' attempts, in order, to the people of a day."""
    by_key = {k.person_key: k for k in people}
    for attempt in attempts:
        key = attempt.result.person_key
        if key is not None and key in by_key:
            by_key[key] = learn(by_key[key], attempt, failover=failover)
    return [by_key[k.person_key] for k in people]
