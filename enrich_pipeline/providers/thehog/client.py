"""The Hog client: submitting and polling enrichments on the current API (providers.md 3, 4).

Everything about getting a request there and back (pacing, retries, typed errors, no leaked key) is
the shared Transport's job; this module only knows The Hog's dialect:

* auth is `X-Access-Key` + `X-Secret-Key` (current API; the legacy Bearer API is not used to submit);
* limits: 600 requests/min across all routes, plus a polling bucket of 300/min for
  `GET /api/operations/{id}` (providers.md 3.1);
* `POST /api/enrichments` takes up to 100 identifiers and answers either 200 with the data at once
  (single LinkedIn identifier, contact fields only) or 202 with an operation to poll — clients must
  handle both for every request;
* every submit carries an `Idempotency-Key` derived from its body and the caller's attempt, so a
  submit whose outcome is unknown (dropped connection, 500/504, unreadable body) is simply sent
  again: The Hog answers with the operation it already started and charges nothing more (3.1).
  Those retries are made here (`_post_submit`), so that a call that still fails is reported as an
  unknown outcome whenever one of its tries may have been processed — the caller must then replay
  it with the same attempt, never ask again with a new one (that would be a second, paid job);
* there are no webhooks for enrichment: polling only.

What a poll brings back is read by `payloads` (the same readers as `flatten()`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import httpx

from enrich_pipeline.model import EnrichmentRequest, EnrichmentResult, Submission
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    ProviderError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.polling import ProgressCallback, answers_cost, poll_until_done
from enrich_pipeline.providers.redaction import redact
from enrich_pipeline.providers.thehog.correlate import _Context, _Correlator
from enrich_pipeline.providers.thehog.dialect import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMITS,
    PROVIDER,
    SUBMIT_ROUTE,
    UnsafePollUrlError,
    _error_message,
    _operation_id,
    parse_hog_error,
    poll_target,
)
from enrich_pipeline.providers.thehog.payloads import _operation_records, _submit_body_records
from enrich_pipeline.providers.thehog.plan import _plan, _Planned, idempotency_key
from enrich_pipeline.providers.thehog.records import _failed, pending_result, refused_result
from enrich_pipeline.providers.thehog.values import _str
from enrich_pipeline.providers.transport import (
    RetryPolicy,
    SecretAuth,
    Transport,
    TransportClient,
    scaled_limits,
)

log = logging.getLogger("enrich_pipeline.providers")


# providers.md 3.1 recommends polling enrichments every 2-5 s.
DEFAULT_POLL_INTERVAL_S = 3.0
DEFAULT_POLL_TIMEOUT_S = 900.0


class ThehogClient(TransportClient):
    """Submits, polls and reads The Hog enrichments. Build with `create(access_key, secret_key)`."""

    def __init__(self, transport: Transport, *, speed: float = 1.0) -> None:
        self.transport = transport
        self.speed = speed  # scales the default poll interval/timeout (the sandbox runs fast)
        self._last_status: dict[str, str] = {}  # operation id -> last status seen (for reasons)
        self._warned_webhook = False

    @classmethod
    def create(
        cls,
        access_key: str,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate_limits: Mapping[str, list[RateLimit]] | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
        speed: float = 1.0,
    ) -> Self:
        """`speed` scales the documented rate windows and, unless `retry` is given, the default
        retry delays — the sandbox runs its clock `speed` times as fast."""
        if not access_key or not secret_key:
            raise AuthenticationError(
                PROVIDER,
                "The Hog needs both an access key and a secret key",
                hint="set THEHOG_ACCESS_KEY and THEHOG_SECRET_KEY",
            )

        def apply(request: httpx.Request) -> None:
            request.headers["X-Access-Key"] = access_key
            request.headers["X-Secret-Key"] = secret_key

        limits = DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits
        transport = Transport(
            provider=PROVIDER,
            base_url=base_url,
            auth=SecretAuth(apply),
            credential_id=f"{access_key}:{secret_key}",  # limits are per organization and user
            rate_limits=scaled_limits(limits, speed),
            retry=retry if retry is not None else RetryPolicy.for_speed(speed),
            timeout_s=timeout_s,
            error_parser=parse_hog_error,
        )
        return cls(transport, speed=speed)

    def credits_remaining(self) -> int | None:
        """None: The Hog documents no balance endpoint for this API."""
        return None

    # ------------------------------------------------------------------------------ submit

    def submit(
        self,
        requests: Sequence[EnrichmentRequest],
        *,
        webhook_url: str | None = None,
        on_submitted: Callable[[list[Submission]], None] | None = None,
        attempt: str | None = None,
    ) -> list[Submission]:
        """One Submission per request, in order: `POST /api/enrichments` of at most BATCH_MAX
        identifiers, one call per distinct set of fields. `attempt` seeds the idempotency keys (see
        `idempotency_key`): pass the same value to replay a submit, a new one to ask again.

        People The Hog cannot serve (no LinkedIn URL or email, or only fields it does not offer)
        are refused without a call. `on_submitted` gets each call's Submissions as soon as they are
        known, so a ledger can record them before the next call. If a call fails, the error carries
        `accepted_submissions` (everything accepted before it); it is a SubmitOutcomeUnknownError
        when the call may have started a job. Submitting the same requests again with the same
        `attempt` is safe: the idempotency key replays the operation already started, at no cost —
        whatever that operation became, a failed one included. A new attempt gets new keys: a job
        of its own (paid again if a job of the old attempt did run).
        """
        if webhook_url and not self._warned_webhook:
            self._warned_webhook = True
            log.warning("thehog: no webhooks exist for enrichment (providers.md 3.1); polling")
        slots: list[Submission | None] = [None] * len(requests)
        groups: dict[tuple[str, ...], list[_Planned]] = {}
        for index, request in enumerate(requests):
            planned = _plan(index, request)
            if isinstance(planned, Submission):
                slots[index] = planned
            else:
                groups.setdefault(planned.fields, []).append(planned)
        accepted: list[Submission] = []
        for fields, members in groups.items():
            for start in range(0, len(members), BATCH_MAX):
                chunk = members[start : start + BATCH_MAX]
                try:
                    made = self._submit_chunk(fields, chunk, attempt)
                except ProviderError as exc:
                    exc.accepted_submissions = list(accepted)  # type: ignore[attr-defined]
                    if accepted:
                        exc.add_note(f"{len(accepted)} earlier The Hog submissions were accepted")
                    raise
                for planned, submission in zip(chunk, made, strict=True):
                    slots[planned.index] = submission
                accepted.extend(s for s in made if s.error is None)
                if on_submitted is not None:
                    on_submitted(made)
        return [s for s in slots if s is not None]

    def _submit_chunk(
        self, fields: tuple[str, ...], chunk: list[_Planned], attempt: str | None = None
    ) -> list[Submission]:
        # One identifier goes as `identifier`: only that form can be answered synchronously (3.2).
        body: dict[str, Any] = {"fields": list(fields)}
        if len(chunk) == 1:
            body["identifier"] = chunk[0].identifier
        else:
            body["identifiers"] = [p.identifier for p in chunk]
        key = idempotency_key(body, attempt)
        status, answer = self._post_submit(body, key)
        submissions = []
        for position, planned in enumerate(chunk):
            raw: dict[str, Any] = {
                "request": {"fields": list(fields), "identifier": planned.identifier},
                "item_index": position,
                "batch_size": len(chunk),
                "idempotency_key": key,
                "http_status": status,
                "response": answer,
            }
            if planned.skipped:
                raw["skipped"] = [f"{name}: not offered by The Hog" for name in planned.skipped]
            submissions.append(_submission(planned, status, answer, raw))
        return submissions

    def _post_submit(self, body: Mapping[str, Any], key: str) -> tuple[int, Any]:
        """POST one submit, retried under its key until answered.

        The transport is told the call is not idempotent, so that it reports every try that may
        have been processed (dropped after sending, timed out, 500/504, unreadable body) instead of
        retrying it out of sight; such tries are retried here with the same key, a free replay
        (3.1). Tries that were certainly not processed (refused connection, 429, 502/503) the
        transport retries itself. A call that still fails is an unknown outcome
        (SubmitOutcomeUnknownError) when any of its tries may have been processed, whatever the
        last error was: a new attempt could then start a second, paid job, only a replay with
        the same key is safe. Otherwise the error is what the provider said (nothing started)."""
        transport, retry = self.transport, self.transport.retry
        started = time.monotonic()
        maybe_processed: SubmitOutcomeUnknownError | None = None
        for attempt in range(1, retry.max_attempts + 1):
            try:
                return transport.request_json(
                    "POST",
                    SUBMIT_ROUTE,
                    json_body=body,
                    headers={"Idempotency-Key": key},
                    idempotent=False,  # see above: retried here, under the same key
                    accept=frozenset({422}),
                )
            except SubmitOutcomeUnknownError as exc:
                maybe_processed = exc
                delay = transport._backoff(attempt)
                spent = time.monotonic() - started
                if attempt == retry.max_attempts or spent + delay > retry.max_total_s:
                    raise _outcome_unknown(exc, exc) from None
                log.info("thehog: %s; retry %d under the same key", exc.message, attempt)
                transport.stats["retries"] += 1
                transport.sleep(delay)
            except ProviderError as exc:
                if maybe_processed is None:
                    raise
                raise _outcome_unknown(maybe_processed, exc) from exc
        raise AssertionError("unreachable")

    # -------------------------------------------------------------------------------- poll

    def poll(self, submission: Submission) -> list[EnrichmentResult] | None:
        """The finished record of one submission, or None while The Hog is still working on it.
        A synchronous (200) answer is read from the submission itself, without a call."""
        return self._poll_group([submission])

    def _poll_group(self, group: Sequence[Submission]) -> list[EnrichmentResult] | None:
        """Records of submissions that share one operation (or one sync answer): one fetch."""
        first = group[0]
        if first.error is not None:
            return [refused_result(s) for s in group]
        correlator = _Correlator([_Context.of(s) for s in group])
        response = first.raw.get("response")
        if not first.provider_ref:
            # Answered synchronously: the 200 body is the result (kept in Submission.raw).
            return _submit_body_records(response, correlator, batch=_batch(first))
        path = poll_target(self.transport.base_url, _poll_url(response), first.provider_ref)
        status, body = self.transport.request_json(
            "GET", path, idempotent=True, bucket="polling", accept=frozenset({404})
        )
        if status == 404:
            reason = "operation not found (unknown id, expired, or another organization)"
            return [
                _failed(ctx, reason, {"operation": body, "submit": response})
                for ctx in correlator.contexts
            ]
        if isinstance(body, dict) and isinstance(body.get("status"), str):
            self._last_status[first.provider_ref] = body["status"]
        phase, records = _operation_records(body, correlator, batch=_batch(first), submit=response)
        return None if phase == "running" else records

    def collect(
        self,
        submissions: Sequence[Submission],
        *,
        interval_s: float | None = None,
        timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[EnrichmentResult]:
        """Poll every operation to completion or `timeout_s`; one record per submission, in order.

        Each operation is fetched once per round, whatever the number of people in it. Still running
        at the deadline -> PENDING (never NOT_FOUND); so is a poll that keeps failing for a transient
        reason (outage, rate limit, unreadable body).
        """
        groups: dict[str, list[Submission]] = {}
        for submission in submissions:
            if submission.error is None:
                groups.setdefault(_group_key(submission), []).append(submission)
        last_error: dict[str, str] = {}

        def poll_once(ref: str) -> list[EnrichmentResult] | None:
            try:
                return self._poll_group(groups[ref])
            except UnsafePollUrlError as exc:
                return [_failed(_Context.of(s), str(exc), s.raw) for s in groups[ref]]
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                last_error[ref] = str(exc)
                return None  # try again next round; at the deadline it stays pending

        finished, _ = poll_until_done(
            PROVIDER,
            list(groups),
            poll_once,
            interval_s=DEFAULT_POLL_INTERVAL_S * self.speed if interval_s is None else interval_s,
            timeout_s=DEFAULT_POLL_TIMEOUT_S * self.speed if timeout_s is None else timeout_s,
            on_progress=on_progress,
            cost_of=answers_cost,
        )
        return self._in_order(submissions, finished, last_error)

    def _in_order(
        self,
        submissions: Sequence[Submission],
        finished: Mapping[str, list[EnrichmentResult]],
        last_error: Mapping[str, str],
    ) -> list[EnrichmentResult]:
        """Each submission's record at its place; records of an operation that belong to none of
        them (an item we cannot attribute) follow the operation's last submission: never dropped."""
        left = {group: list(records) for group, records in finished.items()}
        members: dict[str, int] = {}
        for submission in submissions:
            if submission.error is None:
                members[_group_key(submission)] = members.get(_group_key(submission), 0) + 1
        results: list[EnrichmentResult] = []
        for submission in submissions:
            if submission.error is not None:
                results.append(refused_result(submission))
                continue
            group = _group_key(submission)
            if group not in left:
                status = self._last_status.get(group)
                results.append(pending_result(submission, status, last_error.get(group)))
                continue
            results.append(_take_record(left[group], submission))
            members[group] -= 1
            if members[group] == 0:
                results.extend(left.pop(group))
        return results

    def enrich(
        self,
        requests: Sequence[EnrichmentRequest],
        *,
        webhook_url: str | None = None,
        **collect_kw: Any,
    ) -> list[EnrichmentResult]:
        """submit + collect, as a new attempt: its own keys, so an operation that failed for an
        earlier call with the same body is never handed back as this one's answer."""
        submissions = self.submit(requests, webhook_url=webhook_url, attempt=uuid.uuid4().hex)
        return self.collect(submissions, **collect_kw)


# ------------------------------------------------------------------------------------ submissions


def _submission(planned: _Planned, status: int, answer: Any, raw: dict[str, Any]) -> Submission:
    request = planned.request
    common = {
        "person_key": request.person_key,
        "provider": PROVIDER,
        "correlation": request.correlation,
        "raw": raw,
    }
    if status == 422:
        # Well-formed but refused (the sandbox's "Could not resolve this identity" for a single
        # sync lookup): nothing charged, nothing to poll.
        message = _error_message(answer) or "HTTP 422 Unprocessable Entity"
        return Submission(**common, error=redact(message))  # stored: redacted like any error
    if status == 200 and isinstance(answer, dict) and "data" in answer:
        return Submission(**common)  # answered at once; the body is in raw["response"]
    op_id = _operation_id(answer)
    if op_id is None:
        raise SubmitOutcomeUnknownError(
            PROVIDER,
            f"POST {SUBMIT_ROUTE}: HTTP {status} without an operation id ({str(answer)[:120]!r})",
            status=status,
            hint="replaying the same submit (same people, same attempt) is safe: the "
            "idempotency key replays the operation if one was started",
        )
    return Submission(**common, provider_ref=op_id)


def _outcome_unknown(
    processed: SubmitOutcomeUnknownError, last: ProviderError
) -> SubmitOutcomeUnknownError:
    """The submit failed after a try that may have started a job: replay it, never ask anew."""
    detail = processed.message if last is processed else f"{processed.message}; then {last}"
    return SubmitOutcomeUnknownError(
        PROVIDER,
        detail,
        status=last.status,
        code=last.code,
        hint="replay the same submit (same people, same attempt, so the same Idempotency-Key): "
        "The Hog answers with the operation it may have started, at no extra cost",
    )


def _take_record(records: list[EnrichmentResult], submission: Submission) -> EnrichmentResult:
    """Remove and return the record made for this submission (same person and correlation)."""
    correlation = _Context.of(submission).correlation
    for position, record in enumerate(records):
        if (record.person_key, record.request_correlation) == (submission.person_key, correlation):
            return records.pop(position)
    reason = "the operation's answer has no record for this submission"
    return _failed(_Context.of(submission), reason, submission.raw)


def _group_key(submission: Submission) -> str:
    """Submissions answered together: one operation, or one synchronous answer (no operation)."""
    return submission.provider_ref or f"sync:{submission.raw.get('idempotency_key')}"


def _poll_url(response: Any) -> str | None:
    return _str(response.get("pollUrl")) if isinstance(response, dict) else None


def _batch(submission: Submission) -> bool:
    size = submission.raw.get("batch_size")
    return isinstance(size, int) and size > 1
