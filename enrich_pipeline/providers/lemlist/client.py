"""lemlist client: request building and response reading for the enrichment API (providers.md 1, 4).

Everything about getting a request there and back (pacing, retries, typed errors, no leaked key) is
the shared Transport's job; this module only knows lemlist's dialect:

* auth is HTTP Basic with an empty user and the API key as password (providers.md 1.1);
* one limit, 20 requests / 2 s per key, covers every route, polls included;
* every enrichment is asynchronous: a submit answers 200 + `enr_…` at once, the result comes from
  `GET /enrich/{id}` (202 while running) or a webhook;
* there is no idempotency key, so a submit that may have reached lemlist is never retried blindly
  (the transport raises SubmitOutcomeUnknownError instead);
* bulk submits carry our person_key as `metadata`, which lemlist echoes back (correlation).

`flatten()` turns any lemlist payload we may hold (poll body, webhook body, bulk submit response, or
a list of those) into EnrichmentResult records, and never raises on an odd shape: such a payload
becomes one FAILED record that keeps it, so the other records are not lost.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self
from urllib.parse import quote

import httpx

from enrich_pipeline.identity import (
    canonical_linkedin_url,
    linkedin_slug,
    normalise_email,
    person_key,
    registrable_domain,
)
from enrich_pipeline.model import (
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    LinkedinProfile,
    Phone,
    Position,
    RecordStatus,
    Submission,
    WantedField,
    dedupe_phones,
    to_e164,
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    ProviderError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.polling import ProgressCallback, poll_until_done
from enrich_pipeline.providers.transport import (
    ErrorDetail,
    RetryPolicy,
    SecretAuth,
    Transport,
    parse_error,
)

PROVIDER = "lemlist"
DEFAULT_BASE_URL = "https://api.lemlist.com/api"
# 20 requests per 2 seconds per API key, across all routes, polls included (providers.md 1.1).
DEFAULT_RATE_LIMITS: dict[str, list[RateLimit]] = {"global": [RateLimit(20, 2.0)]}
BATCH_MAX = 500  # POST /v2/enrichments/bulk, error TOO_MANY_ENRICHMENTS_REQUESTED beyond
# providers.md 4.6 recommends >= 1 s between polls of one enrichment (3-5 s as a budget).
DEFAULT_POLL_INTERVAL_S = 3.0
DEFAULT_POLL_TIMEOUT_S = 900.0

# Wanted fields -> lemlist workflow (bulk type name), in lemlist's canonical order.
WORKFLOW_OF: dict[WantedField, str] = {
    WantedField.EMAIL: "find_email",
    WantedField.PHONE: "find_phone",
    WantedField.LINKEDIN: "linkedin_enrichment",
    WantedField.EMAIL_VERIFICATION: "verify",
}
WORKFLOWS: tuple[str, ...] = ("find_email", "find_phone", "linkedin_enrichment", "verify")
# Query flag of each workflow on the single-item endpoints (providers.md 1.2).
FLAG_OF: dict[str, str] = {
    "find_email": "findEmail",
    "find_phone": "findPhone",
    "linkedin_enrichment": "linkedinEnrichment",
    "verify": "verifyEmail",
}
# CONFLICT 1.6: the poll endpoint keys results `email`/`phone`/`linkedin`/`verify`, webhooks key them
# by workflow name. Both schemes (and the single-call flag names) are read, first hit wins.
DATA_KEYS: dict[str, tuple[str, ...]] = {
    "find_email": ("find_email", "email", "findEmail"),
    "find_phone": ("find_phone", "phone", "findPhone"),
    "linkedin_enrichment": ("linkedin_enrichment", "linkedin", "linkedinEnrichment"),
    "verify": ("verify", "verifyEmail", "verify_email"),
}
_KNOWN_DATA_KEYS = frozenset(k for keys in DATA_KEYS.values() for k in keys)
# providers.md 1.9 / 4.5, computed (lemlist reports no cost): find_email 5 only when the email is
# deliverable/risky, find_phone 20 only when found, verify 1, linkedin_enrichment 1 (current price).
PRICE: dict[str, int] = {"find_email": 5, "find_phone": 20, "linkedin_enrichment": 1, "verify": 1}
# Credits per wanted field when it is found: what budgets and estimates price lemlist with.
CREDIT_PRICES: dict[WantedField, int] = {field: PRICE[wf] for field, wf in WORKFLOW_OF.items()}
_CHARGED_EMAIL_STATUSES = frozenset({EmailStatus.DELIVERABLE, EmailStatus.RISKY})
_INPUT_FIELDS = ("linkedinUrl", "email", "firstName", "lastName", "companyName", "companyDomain")
_PERSON_KEY_PREFIXES = ("li:", "em:", "nd:")


# ----------------------------------------------------------------------------- error codes

# lemlist answers most 400s as text/plain (CONFLICT 1.3: an older spec sends the same text as JSON
# {"error": "..."}). Both reach us as a message; give the documented ones a stable code.
_MESSAGE_CODES: dict[str, str] = {
    "bad team": "BAD_TEAM",
    "bad request": "BAD_REQUEST",
    "bad params": "BAD_PARAMS",
    "invalid leadid": "INVALID_LEAD_ID",
    "lead not found": "LEAD_NOT_FOUND",
    "contact not found for this lead": "CONTACT_NOT_FOUND",
}
ENRICHMENT_RUNNING = "ENRICHMENT_RUNNING"  # our code for the 409 documented without one (1.4)


def parse_lemlist_error(response: httpx.Response) -> ErrorDetail:
    """The shared parser, plus codes for lemlist's code-less messages (text/plain or JSON alike)."""
    detail = parse_error(response)
    if detail.code is not None:
        return detail
    text = detail.message.strip().lower().rstrip(".")
    code = _MESSAGE_CODES.get(text)
    if code is None and text.startswith("no enrichment requested"):
        code = "NO_ENRICHMENT_REQUESTED"
    elif code is None and "webhook" in text:
        code = "INVALID_WEBHOOK_URL"
    elif code is None and response.status_code == 409:
        # "lead is already being enriched": wait for the running one, do NOT retry with force.
        code = ENRICHMENT_RUNNING
    return ErrorDetail(detail.message, code)


# ---------------------------------------------------------------------------- request inputs


def request_inputs(request: EnrichmentRequest) -> dict[str, str]:
    """lemlist identity inputs of a request (bulk `input` / single-call query parameters)."""
    values = {
        "linkedinUrl": _linkedin_input(request.linkedin_url),
        "email": normalise_email(request.email),
        "firstName": _text(request.first_name),
        "lastName": _text(request.last_name),
        "companyName": _text(request.company_name),
        "companyDomain": _domain_input(request.company_domain),
    }
    return {name: value for name, value in values.items() if value}


def _text(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _linkedin_input(url: str | None) -> str | None:
    # The canonical /in/ URL when it is one; anything else (a Sales Navigator URL, say) as given.
    return canonical_linkedin_url(url) or _text(url)


def _domain_input(value: str | None) -> str | None:
    # lemlist wants a bare domain (`northwind-labs.io`), not a URL or an email address.
    return registrable_domain(value) or _text(value)


def missing_input(workflow: str, inputs: Mapping[str, str]) -> str | None:
    """Why `inputs` cannot feed `workflow` (providers.md 1.2), or None when they can."""
    has = {name for name in _INPUT_FIELDS if inputs.get(name)}
    named = {"firstName", "lastName"} <= has
    if workflow == "find_email":
        if "linkedinUrl" in has or (named and {"companyName", "companyDomain"} <= has):
            return None
        return "find_email needs linkedinUrl, or firstName+lastName+companyName+companyDomain"
    if workflow == "find_phone":
        return None if "linkedinUrl" in has else "find_phone needs linkedinUrl"
    if workflow == "verify":
        return None if "email" in has else "verify needs email"
    if has & {"linkedinUrl", "email"} or (named and has & {"companyName", "companyDomain"}):
        return None
    return (
        "linkedin_enrichment needs linkedinUrl, or email, or firstName+lastName+"
        "(companyName or companyDomain)"
    )


def plan_workflows(
    fields: Iterable[WantedField], inputs: Mapping[str, str]
) -> tuple[tuple[str, ...], list[str]]:
    """(workflows that can run, why the others cannot), in lemlist's canonical order."""
    wanted = {WORKFLOW_OF[f] for f in fields if f in WORKFLOW_OF}
    runnable: list[str] = []
    reasons: list[str] = []
    for workflow in WORKFLOWS:
        if workflow not in wanted:
            continue
        why = missing_input(workflow, inputs)
        if why is None:
            runnable.append(workflow)
        else:
            reasons.append(why)
    return tuple(runnable), reasons


def _refusal(request: EnrichmentRequest, reasons: list[str], raw: dict[str, Any]) -> Submission:
    """A person lemlist cannot serve from what is known: refused here, no call, nothing charged."""
    error = "MISSING_INPUTS: " + ("; ".join(reasons) or "no lemlist enrichment was requested")
    return Submission(
        person_key=request.person_key,
        provider=PROVIDER,
        correlation=request.correlation,
        error=error,
        raw=raw,
    )


# ------------------------------------------------------------------------------------ client


class LemlistClient:
    """Submits, polls and reads lemlist enrichments. Build with `create(api_key)`."""

    def __init__(self, transport: Transport, *, speed: float = 1.0) -> None:
        self.transport = transport
        self.speed = speed  # scales the default poll interval/timeout (sandbox runs fast)

    @classmethod
    def create(
        cls,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate_limits: Mapping[str, list[RateLimit]] | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
        speed: float = 1.0,
    ) -> Self:
        """`speed` scales the documented rate windows and, unless `retry` is given, the default
        retry delays — the sandbox runs its clock `speed` times as fast."""
        if not api_key:
            raise AuthenticationError(
                PROVIDER, "no API key given", hint="set the lemlist API key (environment variable)"
            )
        header = "Basic " + base64.b64encode(f":{api_key}".encode()).decode()

        def apply(request: httpx.Request) -> None:
            request.headers["Authorization"] = header

        limits = DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits
        transport = Transport(
            provider=PROVIDER,
            base_url=base_url,
            auth=SecretAuth(apply),
            credential_id=api_key,
            rate_limits={
                bucket: [replace(r, window_s=r.window_s * speed) for r in rules]
                for bucket, rules in limits.items()
            },
            retry=retry if retry is not None else RetryPolicy.for_speed(speed),
            timeout_s=timeout_s,
            error_parser=parse_lemlist_error,
        )
        return cls(transport, speed=speed)

    def __repr__(self) -> str:
        return f"LemlistClient({self.transport!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # ------------------------------------------------------------------------------ submit

    def submit(
        self,
        requests: Sequence[EnrichmentRequest],
        *,
        webhook_url: str | None = None,
        on_submitted: Callable[[list[Submission]], None] | None = None,
    ) -> list[Submission]:
        """One Submission per request, in order: bulk calls of at most BATCH_MAX people.

        People lemlist cannot serve (no input for any wanted workflow) are refused without a call.
        `on_submitted` gets each bulk call's Submissions as soon as they are known, so a ledger can
        record them before the next call. When a call's outcome is unknown the error raised carries
        `accepted_submissions` (everything accepted before it): those were paid for.
        """
        slots: list[Submission | None] = [None] * len(requests)
        sendable: list[tuple[int, _BulkItem]] = []
        for index, request in enumerate(requests):
            inputs = request_inputs(request)
            workflows, reasons = plan_workflows(request.fields, inputs)
            if not workflows:
                raw = {"request": {"input": inputs, "enrichmentRequests": []}}
                slots[index] = _refusal(request, reasons, raw)
                continue
            body = {
                "input": inputs,
                "enrichmentRequests": list(workflows),
                "metadata": request.person_key,  # echoed back: our correlation key
            }
            sendable.append((index, _BulkItem(request, body, reasons)))
        accepted: list[Submission] = []
        for start in range(0, len(sendable), BATCH_MAX):
            chunk = sendable[start : start + BATCH_MAX]
            try:
                made = self._submit_bulk([item for _, item in chunk], webhook_url)
            except ProviderError as exc:
                # Earlier calls were accepted and will be charged: hand them over with the error.
                exc.accepted_submissions = list(accepted)  # type: ignore[attr-defined]
                if accepted:
                    exc.add_note(f"{len(accepted)} earlier lemlist submissions were accepted")
                raise
            for (index, _), submission in zip(chunk, made, strict=True):
                slots[index] = submission
            accepted.extend(s for s in made if s.provider_ref)
            if on_submitted is not None:
                on_submitted(made)
        return [s for s in slots if s is not None]

    def _submit_bulk(self, chunk: list[_BulkItem], webhook_url: str | None) -> list[Submission]:
        params = {"webhookUrl": webhook_url} if webhook_url else None
        _, answer = self.transport.request_json(
            "POST",
            "/v2/enrichments/bulk",
            params=params,
            json_body=[item.body for item in chunk],
            idempotent=False,
        )
        elements = _match_bulk_answer(chunk, answer)
        return [item.submission(element) for item, element in zip(chunk, elements, strict=True)]

    def submit_single(
        self, request: EnrichmentRequest, *, webhook_url: str | None = None
    ) -> Submission:
        """`POST /enrich` for one person (query parameters only, no body)."""
        inputs = request_inputs(request)
        workflows, reasons = plan_workflows(request.fields, inputs)
        params: dict[str, str] = {FLAG_OF[w]: "true" for w in workflows}
        params.update(inputs)
        if request.job_title:
            params["jobTitle"] = request.job_title.strip()
        if not workflows:
            return _refusal(request, reasons, {"request": params})
        if webhook_url:
            params["webhookUrl"] = webhook_url
        _, answer = self.transport.request_json("POST", "/enrich", params=params, idempotent=False)
        raw: dict[str, Any] = {
            "request": params,
            "response": answer,
            "enrichmentRequests": list(workflows),
        }
        if reasons:
            raw["skipped"] = reasons
        return Submission(
            person_key=request.person_key,
            provider=PROVIDER,
            provider_ref=_submitted_id(answer, "POST /enrich"),
            correlation=request.correlation,
            raw=raw,
        )

    def enrich_lead(
        self,
        lead_id: str,
        fields: Iterable[WantedField],
        *,
        force: bool = False,
        webhook_url: str | None = None,
        person_key: str | None = None,
    ) -> Submission:
        """`POST /leads/{leadId}/enrich`: lemlist uses the data stored on the lead.

        Raises BadRequestError with code LEAD_NOT_FOUND / CONTACT_NOT_FOUND (404), ALREADY_ENRICHED
        (409: retry with force=True if a re-run is worth paying for) or ENRICHMENT_RUNNING (409
        without a code: wait for the running enrichment; force does not help).
        """
        wanted = {WORKFLOW_OF[f] for f in fields}
        workflows = [w for w in WORKFLOWS if w in wanted]
        params: dict[str, str] = {FLAG_OF[w]: "true" for w in workflows}
        if force:
            params["force"] = "true"
        if webhook_url:
            params["webhookUrl"] = webhook_url
        route = f"/leads/{quote(lead_id, safe='')}/enrich"  # an id is one path segment
        _, answer = self.transport.request_json("POST", route, params=params, idempotent=False)
        return Submission(
            # Without the caller's key the lead id stands in: the lead is the identity here.
            person_key=person_key or f"lead:{lead_id}",
            provider=PROVIDER,
            provider_ref=_submitted_id(answer, "POST /leads/{leadId}/enrich"),
            correlation=lead_id,
            raw={"lead_id": lead_id, "enrichmentRequests": workflows, "response": answer},
        )

    # -------------------------------------------------------------------------------- poll

    def poll(self, submission: Submission) -> list[EnrichmentResult] | None:
        """The finished records of one submission, or None while lemlist is still working on it."""
        if submission.error is not None or not submission.provider_ref:
            return [refused_result(submission)]
        _, body = self.transport.request_json(
            "GET",
            f"/enrich/{submission.provider_ref}",
            idempotent=True,
            accept=frozenset({202, 404}),
        )
        result = poll_result(body, _Context.of(submission))
        return None if result.record_status is RecordStatus.PENDING else [result]

    def collect(
        self,
        submissions: Sequence[Submission],
        *,
        interval_s: float | None = None,
        timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[EnrichmentResult]:
        """Poll every submission to completion or `timeout_s`; one record per submission, in order.

        Still running at the deadline -> PENDING (never NOT_FOUND). A poll that keeps failing for a
        transient reason (outage, rate limit, unreadable body) leaves its record PENDING as well.
        """
        by_ref = {s.provider_ref: s for s in submissions if s.error is None and s.provider_ref}
        last_error: dict[str, str] = {}

        def poll_once(ref: str) -> list[EnrichmentResult] | None:
            try:
                result = self.poll(by_ref[ref])
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last_error[ref] = str(exc)  # try again next round; at the deadline: pending
                return None
            last_error.pop(ref, None)
            return result

        finished, _ = poll_until_done(
            PROVIDER,
            list(by_ref),
            poll_once,
            interval_s=DEFAULT_POLL_INTERVAL_S * self.speed if interval_s is None else interval_s,
            timeout_s=DEFAULT_POLL_TIMEOUT_S * self.speed if timeout_s is None else timeout_s,
            on_progress=on_progress,
        )
        results: list[EnrichmentResult] = []
        for submission in submissions:
            ref = submission.provider_ref
            if submission.error is not None or not ref:
                results.append(refused_result(submission))
            elif ref in finished:
                results.extend(finished[ref])
            else:
                results.append(pending_result(submission, last_error.get(ref)))
        return results

    def enrich(
        self,
        requests: Sequence[EnrichmentRequest],
        *,
        webhook_url: str | None = None,
        **collect_kw: Any,
    ) -> list[EnrichmentResult]:
        """submit + collect."""
        return self.collect(self.submit(requests, webhook_url=webhook_url), **collect_kw)

    def credits_remaining(self) -> int | None:
        """`GET /team/credits` -> the team's remaining credits (None if the body does not say)."""
        _, body = self.transport.request_json("GET", "/team/credits", idempotent=True)
        if not isinstance(body, dict):
            return None
        credits = body.get("credits")
        if not _is_int(credits):
            remaining = _dict(_dict(body.get("details")).get("remaining"))
            credits = remaining.get("total")
        return int(credits) if _is_int(credits) else None


def _submitted_id(answer: Any, route: str) -> str:
    ref = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(ref, str) or not ref:
        # 200 but no id: lemlist may have started an enrichment we cannot name.
        raise SubmitOutcomeUnknownError(
            PROVIDER,
            f"{route}: HTTP 200 without an enrichment id ({str(answer)[:80]!r})",
            hint="reconcile with lemlist before submitting again",
        )
    return ref


@dataclass(frozen=True)
class _BulkItem:
    """One person of a bulk call: the request, the JSON object sent, workflows dropped before."""

    request: EnrichmentRequest
    body: dict[str, Any]
    skipped: list[str]

    def submission(self, element: dict[str, Any]) -> Submission:
        """This item's Submission from its answer element: `{"id"}` or `{"error": CODE}`."""
        raw: dict[str, Any] = {
            "request": self.body,
            "response": element,
            "enrichmentRequests": self.body["enrichmentRequests"],
        }
        if self.skipped:
            raw["skipped"] = self.skipped
        ref = _str(element.get("id"))
        error = None
        if ref is None:
            code = element.get("error")
            error = str(code) if code else f"UNEXPECTED_ITEM: {str(element)[:80]}"
        return Submission(
            person_key=self.request.person_key,
            provider=PROVIDER,
            provider_ref=ref,
            correlation=self.request.correlation,
            error=error,
            raw=raw,
        )


def _match_bulk_answer(chunk: list[_BulkItem], answer: Any) -> list[dict[str, Any]]:
    """The answer element of each item: by position (documented), else by the echoed metadata."""
    elements = answer if isinstance(answer, list) else []
    if len(elements) == len(chunk) and all(
        isinstance(e, dict) and e.get("metadata", i.request.person_key) == i.request.person_key
        for i, e in zip(chunk, elements, strict=True)
    ):
        return elements
    by_key: dict[str, dict[str, Any]] = {}
    for element in elements:
        if isinstance(element, dict) and isinstance(element.get("metadata"), str):
            by_key.setdefault(element["metadata"], element)
    matched = [by_key.get(i.request.person_key) for i in chunk]
    if any(m is None for m in matched):
        # Accepted (200) but we cannot tell which enrichment is whose: they may be running.
        raise SubmitOutcomeUnknownError(
            PROVIDER,
            f"POST /v2/enrichments/bulk: HTTP 200 but the answer does not match the {len(chunk)} "
            f"items sent ({str(answer)[:120]!r}); the enrichments may have started",
            hint="reconcile with lemlist (webhooks echo the metadata) before submitting again",
        )
    return [m for m in matched if m is not None]


# ---------------------------------------------------------------------------- reading results


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


@dataclass
class _Findings:
    """What one finished enrichment's `data` says, workflow by workflow."""

    email: str | None = None
    email_status: EmailStatus | None = None
    phones: list[Phone] = field(default_factory=list)
    linkedin: LinkedinProfile | None = None
    verify_email: str | None = None
    verify_status: EmailStatus | None = None
    cost: int = 0
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # present, but in no shape we know
    notes: list[str] = field(default_factory=list)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if _is_int(value):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if _is_int(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def email_status(value: Any) -> EmailStatus:
    """providers.md 4.3: lemlist's four statuses map as they are; missing/unrecognised -> unknown."""
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return EmailStatus(text)
    except ValueError:
        return EmailStatus.UNKNOWN


def _workflow_value(data: Mapping[str, Any], workflow: str) -> tuple[bool, Any]:
    """(present, value) of a workflow's entry under either naming scheme."""
    for key in DATA_KEYS[workflow]:
        if key in data:
            return True, data[key]
    return False, None


def _is_empty(value: Any) -> bool:
    """lemlist's "nothing": null, {}, or an object with notFound: true (providers.md 1.6 / 1.7)."""
    if value is None or value == {}:
        return True
    return isinstance(value, dict) and value.get("notFound") is True


def read_data(
    data: Mapping[str, Any], *, workflows: Sequence[str] = (), failed: bool = False
) -> _Findings:
    """Read a finished enrichment's `data`. `workflows` (when known) are the ones requested: an
    omitted linkedin/verify still cost its credit unless the enrichment failed."""
    findings = _Findings()
    for workflow in WORKFLOWS:
        present, value = _workflow_value(data, workflow)
        if not present:
            if workflow in workflows:
                findings.not_found.append(workflow)  # omitted = not found (1.7 ASSUMPTION c)
                if not failed and workflow in ("linkedin_enrichment", "verify"):
                    findings.cost += PRICE[workflow]
            continue
        reader = _READERS[workflow]
        reader(value, findings, failed)
    unknown = sorted(k for k in data if k not in _KNOWN_DATA_KEYS)
    if unknown:
        findings.unreadable.append(f"unknown data keys {unknown}")
    return findings


def _read_email(value: Any, findings: _Findings, failed: bool) -> None:
    if isinstance(value, str):  # tolerate a bare address
        value = {"email": value}
    if _is_empty(value):
        findings.not_found.append("find_email")
        return
    if not isinstance(value, dict) or not {"email", "notFound", "status"} & set(value):
        findings.unreadable.append(f"find_email {_peek(value)}")
        return
    address = normalise_email(_str(value.get("email")))
    if address is None:
        if value.get("email") is None:  # {"email": null}: lemlist's other way of saying nothing
            findings.not_found.append("find_email")
        else:
            findings.unreadable.append(f"find_email {_peek(value)}")
        return
    findings.email = address
    findings.email_status = email_status(value.get("status"))
    findings.found.append("find_email")
    # Charged only once lemlist verified it deliverable or risky; a missing status reads as
    # unknown, so it counts as not charged (the table rule, applied to what we can see).
    if findings.email_status in _CHARGED_EMAIL_STATUSES:
        findings.cost += PRICE["find_email"]


def _read_phone(value: Any, findings: _Findings, failed: bool) -> None:
    if isinstance(value, str | list):  # tolerate a bare number or a list of numbers
        value = {"phone": value}
    if _is_empty(value):
        findings.not_found.append("find_phone")
        return
    if not isinstance(value, dict) or not {"phone", "phones", "notFound"} & set(value):
        findings.unreadable.append(f"find_phone {_peek(value)}")
        return
    given = value.get("phone", value.get("phones"))
    candidates = [c for c in (given if isinstance(given, list) else [given]) if c]
    if not candidates:
        findings.not_found.append("find_phone")
        return
    findings.cost += PRICE["find_phone"]  # a number came back: charged, even if we cannot read it
    phones: list[Phone] = []
    for rank, candidate in enumerate(candidates):
        number, kind = candidate, None
        if isinstance(candidate, dict):  # tolerate {number, type}
            number, kind = candidate.get("number") or candidate.get("phone"), candidate.get("type")
        e164 = to_e164(_str(number))
        if e164 is None:
            findings.notes.append(f"phone {number!r} is not a valid number")
        else:
            phones.append(Phone(number=e164, type=_str(kind), source_rank=rank))
    if phones:
        findings.phones.extend(phones)
        findings.found.append("find_phone")
    else:
        findings.unreadable.append("find_phone: no valid number")


def _peek(value: Any) -> str:
    """A short description of an unreadable value, for the record's reason."""
    if isinstance(value, dict):
        return f"keys {sorted(value)[:10]}"
    return repr(value)[:80]


def _read_linkedin(value: Any, findings: _Findings, failed: bool) -> None:
    charged = not failed
    if _is_empty(value) or not isinstance(value, dict):
        if value is not None and not isinstance(value, dict):
            findings.unreadable.append(f"linkedin_enrichment {_peek(value)}")
        else:
            findings.not_found.append("linkedin_enrichment")
    else:
        profile = linkedin_profile(value)
        if profile is None:
            findings.unreadable.append(f"linkedin_enrichment {_peek(value)}")
        else:
            findings.linkedin = profile
            findings.found.append("linkedin_enrichment")
            charged = True
    if charged:  # per enrichment, found or not (providers.md 1.9 / 4.5)
        findings.cost += PRICE["linkedin_enrichment"]


def _read_verify(value: Any, findings: _Findings, failed: bool) -> None:
    body = _dict(value)
    status = body.get("status") or body.get("result")
    if _is_empty(value) or status is None:
        if value is not None and not isinstance(value, dict):
            findings.unreadable.append(f"verify {_peek(value)}")
        else:
            findings.not_found.append("verify")
        if not failed:
            findings.cost += PRICE["verify"]  # per verification, whatever the verdict
        return
    findings.verify_email = normalise_email(_str(body.get("email")))
    findings.verify_status = email_status(status)
    findings.found.append("verify")
    findings.cost += PRICE["verify"]


_READERS: dict[str, Callable[[Any, _Findings, bool], None]] = {
    "find_email": _read_email,
    "find_phone": _read_phone,
    "linkedin_enrichment": _read_linkedin,
    "verify": _read_verify,
}


# ------------------------------------------------------------------------------- LinkedIn


def linkedin_profile(body: Mapping[str, Any]) -> LinkedinProfile | None:
    """providers.md 4.4, lemlist column; None when the object holds no profile field we know."""
    first, last = _str(body.get("firstName")), _str(body.get("lastName"))
    url = _str(body.get("linkedinUrl"))
    profile = LinkedinProfile(
        url=canonical_linkedin_url(url) or url,
        provider_profile_id=_str(body.get("linkedinMemberId"))
        or _str(body.get("linkedinClassicId")),
        first_name=first,
        last_name=last,
        full_name=" ".join(n for n in (first, last) if n) or None,
        headline=_str(body.get("tagline")),
        title=_str(body.get("occupation")),
        company_name=_str(body.get("companyName")),
        company_domain=_domain_of(body.get("companyDomain"), body.get("companyWebsite")),
        location=_str(body.get("locationName")),
        summary=_str(body.get("summary")),
        skills=_split_list(body.get("skills")),
        positions=_positions(body.get("positionGroups")),
        photo_url=_str(body.get("picture")),
    )
    return None if profile == LinkedinProfile() else profile


def _split_list(value: Any) -> tuple[str, ...]:
    """lemlist sends skills as one comma-separated string; tolerate a list too."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(text for item in items if (text := _str(item)))


def _domain_of(*values: Any) -> str | None:
    for value in values:
        text = _str(value)
        if text:
            return registrable_domain(text) or text.lower()
    return None


def _positions(groups: Any) -> tuple[Position, ...]:
    """positionGroups[].profilePositions[] (+ the group's company) -> positions, newest first."""
    positions: list[Position] = []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        company = _dict(group.get("company"))
        roles = [r for r in group.get("profilePositions") or [] if isinstance(r, dict)]
        for role in roles or [{}]:  # a group without roles still says where they worked
            date = _dict(role.get("date")) or _dict(group.get("date"))
            start, end = _dict(date.get("start")), date.get("end")
            end_year = _int(_dict(end).get("year"))
            positions.append(
                Position(
                    title=_str(role.get("title")),
                    company_name=_str(role.get("companyName")) or _str(company.get("name")),
                    company_domain=_domain_of(company.get("domain"), company.get("website")),
                    start_year=_int(start.get("year")),
                    start_month=_int(start.get("month")),
                    end_year=end_year,
                    end_month=_int(_dict(end).get("month")),
                    # An empty `end` ({}) is lemlist's "current role" (providers.md 1.8).
                    is_current=bool(date) and end_year is None,
                    description=_str(role.get("description")),
                )
            )
    return tuple(positions)


# ------------------------------------------------------------------------------ records


def _base(ctx: _Context, raw: Any, **fields: Any) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=ctx.person_key,
        provider=PROVIDER,
        provider_ref=ctx.provider_ref,
        request_correlation=ctx.correlation,
        raw=raw if isinstance(raw, dict) else {"payload": raw},
        **fields,
    )


def unexpected_result(payload: Any, what: str, ctx: _Context | None = None) -> EnrichmentResult:
    """A payload in no shape we know: one FAILED record keeping it (schema drift must show)."""
    return _base(
        ctx or _Context(),
        payload,
        record_status=RecordStatus.FAILED,
        reason=f"unexpected lemlist payload: {what}",
    )


def refused_result(submission: Submission) -> EnrichmentResult:
    """A submission lemlist (or we, for missing inputs) refused: failed, nothing charged."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.FAILED,
        reason=submission.error or "submission has no enrichment id",
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
        raw=submission.raw,
    )


def pending_result(submission: Submission, last_error: str | None = None) -> EnrichmentResult:
    """Still running when we stopped waiting: pending, to be polled again (never not_found)."""
    reason = "enrichment still in progress"
    if last_error:
        reason += f" (last poll failed: {last_error})"
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
        raw=submission.raw,
    )


def finished_result(
    ctx: _Context,
    data: Any,
    raw: Any,
    *,
    error: str | None,
    echo: Mapping[str, Any] | None = None,
) -> EnrichmentResult:
    """A finished enrichment (poll body or webhook item) -> its record.

    An `error` makes it FAILED, but whatever values did come back are kept: they may have been paid.
    """
    if data is not None and not isinstance(data, dict):
        return unexpected_result(raw, f"`data` is {type(data).__name__}, not an object", ctx)
    findings = read_data(data or {}, workflows=ctx.workflows, failed=error is not None)
    email, status = findings.email, findings.email_status
    if findings.verify_status is not None and (email is None or email == findings.verify_email):
        # A dedicated verification of the same address is the fresher verdict.
        email, status = email or findings.verify_email, findings.verify_status
    linkedin = findings.linkedin
    if ctx.person_key is None:
        ctx = replace(ctx, person_key=_payload_person_key(echo or {}, linkedin, email))
    if error is not None:
        record_status, reason = RecordStatus.FAILED, str(error)
    elif findings.found:
        record_status, reason = RecordStatus.FOUND, None
    elif findings.unreadable:
        # Present but unreadable is not "nothing": a renamed field must not pass as not found.
        record_status, reason = RecordStatus.FAILED, "unreadable result: "
        reason += "; ".join(findings.unreadable)
    else:
        record_status = RecordStatus.NOT_FOUND
        reason = "lemlist found nothing" + (
            f" for {', '.join(findings.not_found)}" if findings.not_found else ""
        )
    notes = findings.notes + (findings.unreadable if record_status is RecordStatus.FOUND else [])
    if notes:
        reason = "; ".join([*([reason] if reason else []), *notes])
    return _base(
        ctx,
        raw,
        record_status=record_status,
        reason=reason,
        email=email,
        email_status=status if email else None,
        phones=dedupe_phones(findings.phones),
        linkedin=linkedin,
        cost_credits=findings.cost,
        cost_basis=CostBasis.TABLE,
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


def poll_result(body: Any, ctx: _Context) -> EnrichmentResult:
    """`GET /enrich/{id}` body -> PENDING (in-progress), a finished record, or FAILED."""
    if not isinstance(body, dict):
        return unexpected_result(body, f"poll body is {type(body).__name__}", ctx)
    ref = _str(body.get("enrichmentId")) or _str(body.get("_id")) or ctx.provider_ref
    echo = _dict(body.get("input"))
    ctx = replace(ctx, provider_ref=ref)
    if ctx.person_key is None and echo:
        ctx = replace(ctx, person_key=_payload_person_key(echo, None, None))
    status = _str(body.get("enrichmentStatus"))
    status = status.lower() if status else None
    if status in ("in-progress", "in_progress", "pending", "queued", "running"):
        return _base(ctx, body, record_status=RecordStatus.PENDING, reason="enrichment in progress")
    if status in ("not-found", "not_found"):
        return _base(ctx, body, record_status=RecordStatus.FAILED, reason="enrichment not found")
    if status in ("done", "completed", "finished", "failed", "error"):
        error = _str(body.get("error"))
        if status in ("failed", "error") and error is None:
            error = f"enrichment {status}"
        return finished_result(ctx, body.get("data"), body, error=error, echo=echo)
    if status is None and "status" in body and ("_id" in body or "credits" in body):
        return _generic_enrich(body, ctx)
    return unexpected_result(
        body, f"unknown enrichmentStatus {body.get('enrichmentStatus')!r}", ctx
    )


def _generic_enrich(body: dict[str, Any], ctx: _Context) -> EnrichmentResult:
    """The OpenAPI components' generic `Enrich` object (providers.md 1.6, non-authoritative):
    `status` pending|completed|failed, top-level `email`/`phone`, `credits` consumed."""
    status = (_str(body.get("status")) or "").lower()
    if status == "pending":
        return _base(ctx, body, record_status=RecordStatus.PENDING, reason="enrichment pending")
    data = {k: body[k] for k in ("email", "phone") if body.get(k)}
    error = "enrichment failed" if status == "failed" else None
    if status not in ("completed", "failed"):
        return unexpected_result(body, f"unknown status {body.get('status')!r}", ctx)
    result = finished_result(ctx, data, body, error=error, echo=body)
    credits = body.get("credits")
    if _is_int(credits):  # this shape reports what it cost
        result = result.model_copy(
            update={"cost_credits": credits, "cost_basis": CostBasis.REPORTED}
        )
    return result


# ------------------------------------------------------------------------------- flatten


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


def flatten(payload: Any, *, requests: Sequence[EnrichmentRequest] = ()) -> list[EnrichmentResult]:
    """Any lemlist payload -> records. Accepts a `GET /enrich/{id}` body, an `enrichmentDone` /
    `enrichmentError` webhook body, a bulk (or single) submit response, and lists of these.

    Total: a shape we do not know becomes one FAILED record keeping it, never an exception.
    """
    correlator = _Correlator(requests)
    try:
        return _flatten(payload, correlator)
    except Exception as exc:  # a bug here must not lose the payload: keep it, say what happened
        return [unexpected_result(payload, f"could not read it ({type(exc).__name__}: {exc})")]


def _flatten(payload: Any, correlator: _Correlator) -> list[EnrichmentResult]:
    if isinstance(payload, list):
        return [record for element in payload for record in _flatten(element, correlator)]
    if not isinstance(payload, dict):
        return [unexpected_result(payload, f"a JSON {type(payload).__name__}")]
    if "enrichmentStatus" in payload:
        ctx = correlator.context(None, _dict(payload.get("input")))
        return [poll_result(payload, ctx)]
    if isinstance(payload.get("type"), str) and "data" in payload:
        return _webhook_records(payload, correlator)
    if "data" in payload and "id" in payload:  # a bare webhook item
        return _webhook_records({"type": "enrichmentDone", "data": [payload]}, correlator)
    if "_id" in payload and "status" in payload:
        return [poll_result(payload, correlator.context(None, payload))]
    if isinstance(payload.get("id"), str) or "error" in payload:
        return [_submit_record(payload, correlator)]
    return [unexpected_result(payload, f"an object with keys {sorted(payload)[:12]}")]


def _submit_record(element: dict[str, Any], correlator: _Correlator) -> EnrichmentResult:
    """A submit answer element: `{"id", "metadata"}` -> PENDING; `{"error", "metadata"}` -> FAILED."""
    ctx = correlator.context(element.get("metadata"))
    ref = _str(element.get("id"))
    if ref is not None:
        ctx = replace(ctx, provider_ref=ref)
        return _base(ctx, element, record_status=RecordStatus.PENDING, reason="submitted")
    return _base(
        ctx,
        element,
        record_status=RecordStatus.FAILED,
        reason=str(element.get("error")),
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
    )


def _webhook_records(body: dict[str, Any], correlator: _Correlator) -> list[EnrichmentResult]:
    event = body["type"]
    if event not in ("enrichmentDone", "enrichmentError"):
        return [unexpected_result(_without_secret(body), f"not an enrichment event ({event!r})")]
    items = body["data"] if isinstance(body["data"], list) else [body["data"]]
    records: list[EnrichmentResult] = []
    for item in items:
        raw = {"type": event, "data": [item]}  # each record keeps a webhook body of its own
        if not isinstance(item, dict):
            records.append(unexpected_result(raw, f"webhook item is {type(item).__name__}"))
            continue
        # No input echo in a webhook: the profile's URL is the identity we can match on.
        found = _dict(item.get("data"))
        _, profile = _workflow_value(found, "linkedin_enrichment")
        echo = {"linkedinUrl": url} if (url := _str(_dict(profile).get("linkedinUrl"))) else {}
        ctx = correlator.context(item.get("metadata"), echo)
        ctx = replace(ctx, provider_ref=_str(item.get("id")))
        error = _str(item.get("error"))
        if error is None and event == "enrichmentError":
            error = "enrichment failed (enrichmentError)"
        records.append(finished_result(ctx, item.get("data"), raw, error=error))
    return records


def _without_secret(body: dict[str, Any]) -> dict[str, Any]:
    """Team hooks echo their shared secret in the body: never keep it in a stored payload."""
    return {k: v for k, v in body.items() if k != "secret"}


def parse_webhook(
    body: Any,
    *,
    requests: Sequence[EnrichmentRequest] = (),
    secret: str | None = None,
) -> list[EnrichmentResult]:
    """A webhook delivery (JSON text or parsed) -> records, one per enrichment in `data[]`.

    With `secret` (a team hook's shared secret, echoed in the body — lemlist signs nothing), a
    delivery without the same secret raises AuthenticationError. The secret is never kept in `raw`.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return [unexpected_result({"text": str(body)[:1000]}, "webhook body is not JSON")]
    if secret is not None and (not isinstance(body, dict) or body.get("secret") != secret):
        raise AuthenticationError(
            PROVIDER,
            "webhook delivery without the expected shared secret",
            hint="check the team hook's secret; ignore deliveries that do not carry it",
        )
    if isinstance(body, dict):
        body = _without_secret(body)
    return flatten(body, requests=requests)
