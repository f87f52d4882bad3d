"""lemlist client: the wire calls of the enrichment API (providers.md 1, 4).

Everything about getting a request there and back (pacing, retries, typed errors, no leaked key) is
the shared Transport's job; this module only knows lemlist's dialect:

* auth is HTTP Basic with an empty user and the API key as password (providers.md 1.1);
* one limit, 20 requests / 2 s per key, covers every route, polls included;
* every enrichment is asynchronous: a submit answers 200 + `enr_…` at once, the result comes from
  `GET /enrich/{id}` (202 while running) or a webhook;
* there is no idempotency key, so a submit that may have reached lemlist is never retried blindly
  (the transport raises SubmitOutcomeUnknownError instead);
* bulk submits carry our person_key as `metadata`, which lemlist echoes back (correlation).

What a request carries is planned in `plan`; what an answer says is read by `records`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

import httpx

from enrich_pipeline.model import (
    EnrichmentRequest,
    EnrichmentResult,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    ProviderError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.lemlist.correlate import _Context
from enrich_pipeline.providers.lemlist.deliveries import DeliveryReader, delivered_items, item_ref
from enrich_pipeline.providers.lemlist.dialect import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    FLAG_OF,
    PROVIDER,
    WORKFLOW_OF,
    WORKFLOWS,
    parse_lemlist_error,
)
from enrich_pipeline.providers.lemlist.plan import _refusal, plan_workflows, request_inputs
from enrich_pipeline.providers.lemlist.records import pending_result, poll_result, refused_result
from enrich_pipeline.providers.lemlist.values import _dict, _is_int, _str
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.polling import (
    ProgressCallback,
    answers_cost,
    poll_until_done,
    wait_for_deliveries,
)
from enrich_pipeline.providers.redaction import redact
from enrich_pipeline.providers.transport import (
    RetryPolicy,
    SecretAuth,
    Transport,
    TransportClient,
    scaled_limits,
)

# providers.md 4.6 recommends >= 1 s between polls of one enrichment (3-5 s as a budget).
DEFAULT_POLL_INTERVAL_S = 3.0
DEFAULT_POLL_TIMEOUT_S = 900.0
# Webhooks: how long without any delivery before the enrichments still unanswered are polled
# (ENRICH_WEBHOOK_GRACE_S; oldest first, stopping at the first still running), and how often the
# stored deliveries are read meanwhile (a ledger query, no request to lemlist). A documented
# enrichment takes seconds (sandbox: 3.5 s): 30 s of silence means a delivery was lost or the jobs
# are slow, and one poll tells which.
DEFAULT_WEBHOOK_GRACE_S = 30.0
DELIVERY_CHECK_S = 0.2


class LemlistClient(TransportClient):
    """Submits, polls and reads lemlist enrichments. Build with `create(api_key)`."""

    # collect() takes answers from stored webhook deliveries (`deliveries=`), polling stragglers.
    takes_deliveries = True

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
            rate_limits=scaled_limits(limits, speed),
            retry=retry if retry is not None else RetryPolicy.for_speed(speed),
            timeout_s=timeout_s,
            error_parser=parse_lemlist_error,
        )
        return cls(transport, speed=speed)

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
        slots, sendable = _plan_bulk(requests)
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

    def adopt(
        self,
        requests: Sequence[EnrichmentRequest],
        deliveries: Sequence[Any],
        *,
        known_refs: Collection[str] = (),
    ) -> list[Submission]:
        """Submissions for `requests` whose submit answer was lost but whose enrichment a webhook
        delivery names: enrichmentDone/enrichmentError items carry the enrichment id and echo the
        metadata we sent, our person_key (providers.md 1.7, ASSUMPTION (b): bulk metadata echoed as
        `data[i].metadata`). A delivery without that echo names nobody: its people stay unknown.
        Nothing is sent; the adopted enrichments are then polled like any other."""
        _, sendable = _plan_bulk(requests)
        by_key = {item.body["metadata"]: item for _, item in sendable}
        adopted: dict[str, Submission] = {}
        for body in deliveries:
            for element in _dict(body).get("data") or []:
                element = _dict(element)
                item = by_key.get(_str(element.get("metadata")) or "")
                enrichment_id = _str(element.get("id"))
                if (
                    item is not None
                    and enrichment_id
                    and enrichment_id not in known_refs
                    and item.request.person_key not in adopted
                ):
                    answer = {"id": enrichment_id, "metadata": element.get("metadata")}
                    adopted[item.request.person_key] = item.submission(answer)
        return list(adopted.values())

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

    @staticmethod
    def delivery_refs(body: Any) -> list[str] | None:
        """The enrichment ids a delivery answers ([] when it answers none), or None when an item
        names none (then only its echoed metadata can tell: it is offered to every window)."""
        refs = [item_ref(item) for _, item in delivered_items(body)]
        return None if None in refs else [ref for ref in refs if ref]

    def collect(
        self,
        submissions: Sequence[Submission],
        *,
        interval_s: float | None = None,
        timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
        deliveries: Callable[[], Sequence[Any]] | None = None,
        grace_s: float | None = None,
    ) -> list[EnrichmentResult]:
        """Poll every submission to completion or `timeout_s`; one record per submission, in order.

        Still running at the deadline -> PENDING (never NOT_FOUND). A poll that keeps failing for a
        transient reason (outage, rate limit, unreadable body) leaves its record PENDING as well.

        With `deliveries` (returns the webhook bodies received since its last call; the submits
        carried a webhookUrl), answers are taken from the deliveries first and only the enrichments
        still without one after `grace_s` of silence are polled (`wait_for_deliveries`). A delivered
        answer is the same record a poll would give (`deliveries.DeliveryReader`).
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

        timeout = DEFAULT_POLL_TIMEOUT_S * self.speed if timeout_s is None else timeout_s
        interval = DEFAULT_POLL_INTERVAL_S * self.speed if interval_s is None else interval_s
        if deliveries is None:
            finished, _ = poll_until_done(
                PROVIDER,
                list(by_ref),
                poll_once,
                interval_s=interval,
                timeout_s=timeout,
                on_progress=on_progress,
                cost_of=answers_cost,
            )
        else:
            reader = DeliveryReader(submissions)

            def delivered() -> dict[str, list[EnrichmentResult]]:
                return reader.read(deliveries())

            def poll_straggler(ref: str) -> list[EnrichmentResult] | None:
                answer = poll_once(ref)
                if answer is not None:
                    reader.answered.add(ref)  # a later delivery of it changes nothing
                return answer

            grace = DEFAULT_WEBHOOK_GRACE_S * self.speed if grace_s is None else grace_s
            finished, _ = wait_for_deliveries(
                PROVIDER,
                list(by_ref),
                delivered,
                poll_straggler,
                grace_s=grace,
                timeout_s=timeout,
                check_every_s=max(DELIVERY_CHECK_S * self.speed, 0.002),
                on_progress=on_progress,
                cost_of=answers_cost,
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


def _plan_bulk(
    requests: Sequence[EnrichmentRequest],
) -> tuple[list[Submission | None], list[tuple[int, _BulkItem]]]:
    """Per request: a refusal (no input for any wanted workflow) in its slot, or the bulk item to
    send, with its index. The same requests always make the same items (submit and adopt agree)."""
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
    return slots, sendable


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
            # from the provider's answer, stored in the ledger: redacted like any error text
            error = redact(str(code) if code else f"UNEXPECTED_ITEM: {str(element)[:80]}")
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
