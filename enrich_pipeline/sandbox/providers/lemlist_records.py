"""lemlist emulator records: enrichments, campaign leads, team webhooks, and their wire vocabulary.

Wire names follow providers.md section 1: workflow names of the bulk endpoint (`find_email`, ...),
query flags of the single endpoints (`findEmail`, ...), `enr_`/`lea_`/`hoo_` + 17 alphanumerics.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from typing import Any, Literal

from enrich_pipeline.sandbox.jobs import JobTimer
from enrich_pipeline.sandbox.world import Person

Workflow = Literal["find_email", "find_phone", "linkedin_enrichment", "verify"]
# Canonical order: results, charges and webhook keys are produced in this order.
WORKFLOWS: tuple[Workflow, ...] = ("find_email", "find_phone", "linkedin_enrichment", "verify")
FLAG_OF: dict[Workflow, str] = {
    "find_email": "findEmail",
    "find_phone": "findPhone",
    "linkedin_enrichment": "linkedinEnrichment",
    "verify": "verifyEmail",
}
# Key of each workflow in the GET /enrich/{id} `data` object (providers.md 1.6 ASSUMPTION).
RESULT_KEY: dict[Workflow, str] = {
    "find_email": "email",
    "find_phone": "phone",
    "linkedin_enrichment": "linkedin",
    "verify": "verify",
}
# Identity inputs, in the order GET /enrich/{id} echoes them.
INPUT_FIELDS = ("firstName", "lastName", "linkedinUrl", "companyName", "companyDomain", "email")
# providers.md 1.9 / 4.5: credits per workflow (find_email / find_phone are charged only when found).
PRICE: dict[Workflow, int] = {
    "find_email": 5,
    "find_phone": 20,
    "linkedin_enrichment": 1,
    "verify": 1,
}

NO_ENRICHMENT_REQUESTED = (
    "No enrichment requested (findEmail, findPhone, linkedinEnrichment or verifyEmail required)"
)
ALREADY_ENRICHED = (
    "Enrichment skipped: contact already has the requested data or was recently enriched"
)
INSUFFICIENT_CREDITS = "Insufficient credits"
ENRICHMENT_FAILED = "Enrichment failed"

_ALPHANUMERICS = string.ascii_letters + string.digits
LEAD_ID = re.compile(r"lea_[A-Za-z0-9]{17}")


class IdSource:
    """Deterministic `<prefix>_` + 17 alphanumerics: the same seed gives the same id sequence."""

    def __init__(self, seed: int, prefix: str) -> None:
        self._rng = random.Random(f"lemlist:{prefix}:{seed}")
        self._prefix = prefix

    def next(self) -> str:
        return f"{self._prefix}_" + "".join(self._rng.choices(_ALPHANUMERICS, k=17))


class Absent:
    """Marks a bulk item sent without `metadata` (null is a value that is echoed)."""


ABSENT = Absent()


@dataclass(frozen=True, slots=True)
class Finding:
    """One workflow's answer. `payload` is the webhook shape of providers.md 1.7 when found."""

    found: bool
    payload: dict[str, Any] = field(default_factory=dict)
    credits: int = 0

    @classmethod
    def nothing(cls) -> Finding:
        return cls(False)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished enrichment returned; `error` set means webhook `enrichmentError`."""

    findings: dict[Workflow, Finding]
    error: str | None = None
    # Workflows that came back empty because they could not be paid for (not a real not-found).
    unpaid: frozenset[Workflow] = frozenset()
    failed: bool = False  # the job itself failed (job_fail fault): nothing was looked up

    def genuinely_not_found(self, workflow: Workflow) -> bool:
        finding = self.findings.get(workflow)
        return (
            finding is not None
            and not finding.found
            and not self.failed
            and (workflow not in self.unpaid)
        )


@dataclass
class Enrichment:
    enrichment_id: str
    workflows: tuple[Workflow, ...]
    inputs: dict[str, str]
    person: Person | None
    timer: JobTimer
    key: str  # credential label that submitted it: credits are charged to it
    webhook_url: str | None = None
    metadata: Any = ABSENT
    lead_id: str | None = None
    outcome: Outcome | None = None
    # config.shape "documented" when submitted: its poll and its webhook then carry only what
    # providers.md marks DOC. Fixed at submit so both answers of one enrichment agree.
    documented: bool = False

    def finished(self) -> bool:
        return self.outcome is not None or self.timer.phase() in ("done", "failed")


LeadKind = Literal[
    "fresh", "has_email", "verified_email", "has_phone", "linkedin_done", "no_contact", "broken"
]


@dataclass
class Lead:
    """A campaign lead with its contact data, as an Enrich Lead call finds it (providers.md 1.4)."""

    lead_id: str
    kind: LeadKind  # sandbox-only: which documented path the lead was seeded for
    person: Person
    inputs: dict[str, str]  # firstName, lastName, linkedinUrl, companyName, companyDomain[, email]
    has_contact: bool = True
    email_status: str | None = None
    phone: str | None = None
    linkedin_enriched_for: str | None = None
    # workflow -> the inputs it came back empty for; the same inputs block a re-run, even forced
    not_found: dict[Workflow, tuple[str, ...]] = field(default_factory=dict)
    running: str | None = None  # enrichment id while one runs for this lead

    def signature(self) -> tuple[str, ...]:
        """The inputs a previous not-found is tied to; changing any of them lifts the block."""
        return tuple(self.inputs.get(name, "") for name in INPUT_FIELDS[:5])


@dataclass(frozen=True, slots=True)
class Hook:
    """A team webhook subscription (POST /hooks). type None = every event."""

    hook_id: str
    target_url: str
    created_at: str
    type: str | None = None
    secret: str | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"_id": self.hook_id, "targetUrl": self.target_url}
        body["createdAt"] = self.created_at
        if self.type is not None:
            body["type"] = self.type
        return body

    def wants(self, event: str) -> bool:
        return self.type is None or self.type == event
