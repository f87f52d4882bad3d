"""The Hog client: request building and response reading for the current enrichment API
(providers.md 3, 4).

Everything about getting a request there and back (pacing, retries, typed errors, no leaked key) is
the shared Transport's job; this module only knows The Hog's dialect:

* auth is `X-Access-Key` + `X-Secret-Key` (current API; the legacy Bearer API is not used to submit);
* limits: 600 requests/min across all routes, plus a polling bucket of 300/min for
  `GET /api/operations/{id}` (providers.md 3.1);
* `POST /api/enrichments` takes up to 100 identifiers and answers either 200 with the data at once
  (single LinkedIn identifier, contact fields only) or 202 with an operation to poll — clients must
  handle both for every request;
* every submit carries an `Idempotency-Key` derived from its body, so a submit whose outcome is
  unknown (dropped connection, 5xx, unreadable body) is simply sent again: The Hog answers with the
  operation it already started and charges nothing more (3.1). Hence `idempotent=True` on submits;
* there are no webhooks for enrichment: polling only.

`flatten()` turns any The Hog payload we may hold (sync 200 body, 202 submit body, operation body,
a list of operations, a legacy `/api/people/enrich` inline body) into EnrichmentResult records and
never raises on an odd shape: such a payload becomes one FAILED record that keeps it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

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
    Education,
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

log = logging.getLogger("enrich_pipeline.providers")

PROVIDER = "thehog"
DEFAULT_BASE_URL = "https://developer.thehog.ai"
# 600 req/min per organization and user on every route; GET /api/operations/{id} also counts
# against a polling bucket of 300 req/min (providers.md 3.1; an older page said 30/min/org).
DEFAULT_RATE_LIMITS: dict[str, list[RateLimit]] = {
    "global": [RateLimit(600, 60.0)],
    "polling": [RateLimit(300, 60.0, "polling")],
}
BATCH_MAX = 100  # identifiers per POST /api/enrichments (DOC 3.2)
SUBMIT_ROUTE = "/api/enrichments"
# providers.md 3.1 recommends polling enrichments every 2-5 s.
DEFAULT_POLL_INTERVAL_S = 3.0
DEFAULT_POLL_TIMEOUT_S = 900.0

# Wanted fields -> The Hog `fields` values, in a fixed order so equal requests give equal bodies
# (and so equal idempotency keys). EMAIL_VERIFICATION is not a The Hog product.
FIELD_OF: dict[WantedField, str] = {
    WantedField.EMAIL: "contact.email",
    WantedField.PHONE: "contact.phone",
    WantedField.LINKEDIN: "profile",
}
FIELD_ORDER: tuple[str, ...] = ("contact.email", "contact.phone", "profile")
# Credits per found field and person. The Hog publishes no per-field prices (providers.md 3.5
# UNKNOWN): this row is an ASSUMPTION, the same table the sandbox charges; replace it when The Hog
# publishes prices.
CREDIT_PRICES: dict[WantedField, int] = {
    WantedField.EMAIL: 1,
    WantedField.PHONE: 5,
    WantedField.LINKEDIN: 2,
}

# Operation statuses (DOC 3.3, SDK enum). Anything else (e.g. `running`, which is NOT documented)
# is treated as still running and logged once per value.
RUNNING_STATUSES = frozenset({"queued", "processing"})
SUCCEEDED_STATUSES = frozenset({"succeeded", "partial_success"})
ENDED_BADLY_STATUSES = frozenset({"failed", "cancelled"})
_reported_statuses: set[str] = set()
_reported_lock = threading.Lock()

# Element keys that may carry the address / number of a contact array element (3.2 ASSUMPTION).
VALUE_KEYS = ("value", "email", "address", "number", "phone")


# ------------------------------------------------------------------------------ error bodies


def parse_hog_error(response: httpx.Response) -> ErrorDetail:
    """The shared parser, plus the validation details of a 400 (`errors[]`, providers.md 3.6)."""
    detail = parse_error(response)
    try:
        body = response.json()
    except ValueError:
        return detail
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return detail
    problems = [
        f"{e.get('property')}: {e.get('message')}" for e in body["errors"] if isinstance(e, dict)
    ]
    if not problems:
        return detail
    return ErrorDetail(f"{detail.message} ({'; '.join(problems)})", detail.code)


class UnsafePollUrlError(ProviderError):
    """A `pollUrl` pointing away from the API we authenticate to: never sent our keys there."""


# --------------------------------------------------------------------------- request building


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


def idempotency_key(body: Mapping[str, Any]) -> str:
    """`ep_` + sha256(stable JSON of the body)[:32], as The Hog's MCP client derives its keys (3.1):
    the same people and fields always get the same key, so a repeated submit is a free replay."""
    return "ep_" + hashlib.sha256(stable_json(body).encode("utf-8")).hexdigest()[:32]


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


def poll_target(base_url: str, poll_url: str | None, operation_id: str) -> str:
    """Where to poll an operation, as a path (or same-origin URL) for the transport's client.

    pollUrl is absolute in one page and relative in another (CONFLICT 3.2): both are resolved with
    urljoin against the API base. A root-relative pollUrl (`/api/operations/op_…`) is taken relative
    to the API base rather than the host root — identical for the real base URL, which has no path,
    and right for a base mounted under a prefix (a proxy, the sandbox). An absolute URL must stay on
    the base's scheme, host and port: we would otherwise send our keys to someone else.
    Without a pollUrl the SDK's route is used: `GET /api/enrichments/{id}`.
    """
    if not poll_url or not poll_url.strip():
        return f"/api/enrichments/{operation_id}"
    poll_url = poll_url.strip()
    parts = urlsplit(poll_url)
    if not parts.scheme and not parts.netloc:
        return "/" + poll_url.lstrip("/")
    target = urlsplit(urljoin(base_url.rstrip("/") + "/", poll_url))
    base = urlsplit(base_url)
    if _origin(target) != _origin(base):
        raise UnsafePollUrlError(
            PROVIDER,
            f"pollUrl {poll_url!r} is not on {base.scheme}://{base.netloc}; refusing to send the "
            "API keys there",
            hint=f"poll GET /api/enrichments/{operation_id} on the configured base URL instead, "
            "or report the unexpected pollUrl",
        )
    base_path = base.path.rstrip("/")
    if target.path.startswith(base_path + "/"):
        relative = target.path[len(base_path) :]
        return relative + (f"?{target.query}" if target.query else "")
    return target.geturl()  # same origin outside the base path: the client uses it as is


def _origin(parts: Any) -> tuple[str, str, int | None]:
    scheme = (parts.scheme or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class _Planned:
    """One request that The Hog can serve, with what we will send for it."""

    index: int  # position in submit()'s input
    request: EnrichmentRequest
    identifier: dict[str, str]
    fields: tuple[str, ...]
    skipped: tuple[str, ...]


def _refusal(request: EnrichmentRequest, reason: str, raw: dict[str, Any]) -> Submission:
    """A request The Hog cannot serve from what we know: refused here, no call, nothing charged."""
    return Submission(
        person_key=request.person_key,
        provider=PROVIDER,
        correlation=request.correlation,
        error=reason,
        raw=raw,
    )


def _plan(index: int, request: EnrichmentRequest) -> _Planned | Submission:
    fields, skipped = hog_fields(request.fields)
    identifier = person_identifier(request)
    if not fields:
        wanted = ", ".join(sorted(f.value for f in request.fields)) or "nothing"
        return _refusal(request, f"The Hog does not offer {wanted}", {"skipped": list(skipped)})
    if identifier is None:
        reason = "The Hog needs a LinkedIn URL or an email to identify the person"
        return _refusal(request, reason, {"fields": list(fields)})
    return _Planned(index, request, identifier, fields, skipped)


# ---------------------------------------------------------------------------------- client


class ThehogClient:
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
            rate_limits={
                bucket: [replace(r, window_s=r.window_s * speed) for r in rules]
                for bucket, rules in limits.items()
            },
            retry=retry if retry is not None else RetryPolicy.for_speed(speed),
            timeout_s=timeout_s,
            error_parser=parse_hog_error,
        )
        return cls(transport, speed=speed)

    def __repr__(self) -> str:
        return f"ThehogClient({self.transport!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

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
    ) -> list[Submission]:
        """One Submission per request, in order: `POST /api/enrichments` of at most BATCH_MAX
        identifiers, one call per distinct set of fields.

        People The Hog cannot serve (no LinkedIn URL or email, or only fields it does not offer)
        are refused without a call. `on_submitted` gets each call's Submissions as soon as they are
        known, so a ledger can record them before the next call. If a call fails, the error carries
        `accepted_submissions` (everything accepted before it). Submitting the same requests again
        is safe: the idempotency key replays the operation already started, at no cost.
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
                    made = self._submit_chunk(fields, chunk)
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

    def _submit_chunk(self, fields: tuple[str, ...], chunk: list[_Planned]) -> list[Submission]:
        # One identifier goes as `identifier`: only that form can be answered synchronously (3.2).
        body: dict[str, Any] = {"fields": list(fields)}
        if len(chunk) == 1:
            body["identifier"] = chunk[0].identifier
        else:
            body["identifiers"] = [p.identifier for p in chunk]
        key = idempotency_key(body)
        status, answer = self.transport.request_json(
            "POST",
            SUBMIT_ROUTE,
            json_body=body,
            headers={"Idempotency-Key": key},
            idempotent=True,  # the key makes a repeat return the same operation, uncharged
            accept=frozenset({422}),
        )
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
        """submit + collect."""
        return self.collect(self.submit(requests, webhook_url=webhook_url), **collect_kw)


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
        return Submission(**common, error=message)
    if status == 200 and isinstance(answer, dict) and "data" in answer:
        return Submission(**common)  # answered at once; the body is in raw["response"]
    op_id = _operation_id(answer)
    if op_id is None:
        raise SubmitOutcomeUnknownError(
            PROVIDER,
            f"POST {SUBMIT_ROUTE}: HTTP {status} without an operation id ({str(answer)[:120]!r})",
            status=status,
            hint="submitting the same requests again is safe: the idempotency key replays the "
            "operation if one was started",
        )
    return Submission(**common, provider_ref=op_id)


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


def _operation_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return _str(body.get("id")) or _str(body.get("operationId"))


def _poll_url(response: Any) -> str | None:
    return _str(response.get("pollUrl")) if isinstance(response, dict) else None


def _batch(submission: Submission) -> bool:
    size = submission.raw.get("batch_size")
    return isinstance(size, int) and size > 1


def _error_message(error: Any) -> str | None:
    """The message of an error object (`{"message", "code"}` ASSUMPTION 3.3) or envelope (3.6)."""
    if isinstance(error, str):
        return error or None
    if not isinstance(error, dict):
        return None
    message = _str(error.get("message")) or _str(error.get("detail"))
    if message is None and isinstance(error.get("error"), str):
        message = error["error"]
    code = _str(error.get("code"))
    if message and code:
        return f"{message} ({code})"
    return message or code


# ---------------------------------------------------------------------------- reading results


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


@dataclass
class _Findings:
    """What one `data` object says, field by field."""

    email: str | None = None
    email_status: EmailStatus | None = None
    email_confidence: str | None = None
    phones: list[Phone] = field(default_factory=list)
    linkedin: LinkedinProfile | None = None
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # requested, absent from the answer
    unreadable: list[str] = field(default_factory=list)  # present, but in no shape we know
    notes: list[str] = field(default_factory=list)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present and not null (snake_case and camelCase spellings)."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


# --------------------------------------------------------------------------- contact arrays

_STATUS_WORDS: dict[str, EmailStatus] = {
    "deliverable": EmailStatus.DELIVERABLE,
    "valid": EmailStatus.DELIVERABLE,
    "verified": EmailStatus.DELIVERABLE,
    "true": EmailStatus.DELIVERABLE,
    "risky": EmailStatus.RISKY,
    "catch_all": EmailStatus.RISKY,
    "catchall": EmailStatus.RISKY,
    "accept_all": EmailStatus.RISKY,
    "undeliverable": EmailStatus.UNDELIVERABLE,
    "invalid": EmailStatus.UNDELIVERABLE,
    "bounced": EmailStatus.UNDELIVERABLE,
    "false": EmailStatus.UNDELIVERABLE,
    "unknown": EmailStatus.UNKNOWN,
}


def _status_word(value: str) -> EmailStatus:
    return _STATUS_WORDS.get(value.strip().lower().replace("-", "_"), EmailStatus.UNKNOWN)


def email_status(element: Any) -> EmailStatus:
    """providers.md 4.3 for The Hog: the docs call every element verified, so an element without
    flags (or a bare string) is deliverable. A status word is the most specific flag and wins
    (`risky`/`catch_all` -> risky, `invalid`/`undeliverable` -> undeliverable, `unknown` stays
    unknown even beside `verified: false`); then a catch-all flag; then `verified` true/false."""
    if not isinstance(element, dict):
        return EmailStatus.DELIVERABLE
    word = _first(element, "status", "verification_status", "verificationStatus")
    if isinstance(word, str) and word.strip():
        return _status_word(word)
    if _first(element, "catch_all", "catchAll", "is_catch_all", "isCatchAll") is True:
        return EmailStatus.RISKY
    verified = element.get("verified")
    if isinstance(verified, bool):
        return EmailStatus.DELIVERABLE if verified else EmailStatus.UNDELIVERABLE
    if isinstance(verified, str) and verified.strip():
        return _status_word(verified)
    return EmailStatus.DELIVERABLE


def element_value(element: Any) -> str | None:
    """The address / number of an element: a string, or the first present of VALUE_KEYS."""
    if isinstance(element, str):
        return element.strip() or None
    if isinstance(element, dict):
        return next((v for k in VALUE_KEYS if (v := _str(element.get(k)))), None)
    return None


def _as_list(value: Any) -> list[Any] | None:
    """A contact field as a list: arrays as they are, one bare element tolerated, null as empty."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str | dict):
        return [value]
    return None


def _read_emails(value: Any, findings: _Findings) -> None:
    elements = _as_list(value)
    if elements is None:
        findings.unreadable.append(f"contact.email is a {type(value).__name__}")
        return
    candidates: list[tuple[int, int, str, EmailStatus, str | None]] = []
    for order, element in enumerate(elements):
        address = normalise_email(element_value(element))
        if address is None or "@" not in address:
            findings.notes.append(f"contact.email[{order}] carries no address")
            continue
        status = email_status(element)
        confidence = _first(_dict(element), "confidence", "score")
        text = str(confidence) if isinstance(confidence, str | int | float) else None
        candidates.append((status.rank, order, address, status, text))
    if not candidates:
        (findings.unreadable if elements else findings.not_found).append("contact.email")
        return
    _, _, findings.email, findings.email_status, findings.email_confidence = min(candidates)
    findings.found.append("contact.email")


def _read_phones(value: Any, findings: _Findings) -> None:
    elements = _as_list(value)
    if elements is None:
        findings.unreadable.append(f"contact.phone is a {type(value).__name__}")
        return
    for order, element in enumerate(elements):
        number = to_e164(element_value(element))
        if number is None:
            findings.notes.append(f"contact.phone[{order}] is not a valid phone number")
            continue
        kind = _str(_dict(element).get("type"))
        findings.phones.append(Phone(number=number, type=kind.lower() if kind else None))
    if findings.phones:
        ranked = [p.model_copy(update={"source_rank": i}) for i, p in enumerate(findings.phones)]
        findings.phones = list(dedupe_phones(ranked))
        findings.found.append("contact.phone")
    else:
        (findings.unreadable if elements else findings.not_found).append("contact.phone")


# -------------------------------------------------------------------------------- profile


def _year_month(value: Any) -> tuple[int | None, int | None]:
    """`"2021-03"`, `"2021-03-01"`, `"2021"`, `2021` or `{"year", "month"}` -> (year, month)."""
    if isinstance(value, dict):
        return _int(value.get("year")), _int(value.get("month"))
    if (year := _int(value)) is not None:
        return year, None
    text = _str(value)
    if text is None:
        return None, None
    parts = text.split("-")
    year = _int(parts[0]) if parts[0].isdigit() and len(parts[0]) == 4 else None
    month = _int(parts[1]) if year is not None and len(parts) > 1 else None
    return year, month if month is not None and 1 <= month <= 12 else None


def _company(value: Any) -> tuple[str | None, str | None]:
    """A company given as a name or as an object {name, domain|website}."""
    if isinstance(value, dict):
        name = _str(_first(value, "name", "company_name", "companyName"))
        return name, _domain(_first(value, "domain", "website", "company_domain"))
    return _str(value), None


def _domain(value: Any) -> str | None:
    text = _str(value)
    return registrable_domain(text) or text if text else None


def _names(value: Any, *keys: str) -> tuple[str, ...]:
    """Skills and the like: strings, objects with a name, or one comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    names = (_str(v) if isinstance(v, str) else _str(_first(_dict(v), *keys)) for v in value)
    return tuple(n for n in names if n)


def _position(entry: dict[str, Any]) -> Position:
    company_name, company_domain = _company(_first(entry, "company", "company_name", "companyName"))
    start_year, start_month = _year_month(_first(entry, "start", "start_date", "startDate"))
    end_year, end_month = _year_month(_first(entry, "end", "end_date", "endDate"))
    start_year = start_year or _int(_first(entry, "start_year", "startYear"))
    start_month = start_month or _int(_first(entry, "start_month", "startMonth"))
    end_year = end_year or _int(_first(entry, "end_year", "endYear"))
    end_month = end_month or _int(_first(entry, "end_month", "endMonth"))
    current = _first(entry, "is_current", "isCurrent", "current")
    return Position(
        title=_str(_first(entry, "title", "position", "role")),
        company_name=company_name,
        company_domain=_domain(_first(entry, "company_domain", "companyDomain")) or company_domain,
        start_year=start_year,
        start_month=start_month,
        end_year=end_year,
        end_month=end_month,
        # No end date on a dated role is a current role.
        is_current=current if isinstance(current, bool) else end_year is None and bool(start_year),
        description=_str(entry.get("description")),
    )


def _education(entry: dict[str, Any]) -> Education:
    start_year, _ = _year_month(_first(entry, "start_year", "startYear", "start"))
    end_year, _ = _year_month(_first(entry, "end_year", "endYear", "end"))
    school = _first(entry, "school", "school_name", "schoolName")
    return Education(
        school_name=_str(_first(_dict(school), "name"))
        if isinstance(school, dict)
        else _str(school),
        degree_name=_str(_first(entry, "degree", "degree_name", "degreeName")),
        start_year=start_year,
        end_year=end_year,
    )


def linkedin_profile(
    profile: Mapping[str, Any], input_url: str | None = None
) -> LinkedinProfile | None:
    """`data.profile` -> LinkedinProfile. The shape is UNKNOWN (3.2); ASSUMPTION a flat object with
    name, first_name, last_name, headline, title, company, company_domain, location, linkedin_url,
    summary, skills, positions, education, photo_url — camelCase spellings read as well."""
    first = _str(_first(profile, "first_name", "firstName"))
    last = _str(_first(profile, "last_name", "lastName"))
    full = _str(_first(profile, "name", "full_name", "fullName", "display_name", "displayName"))
    company_name, company_domain = _company(
        _first(profile, "company", "company_name", "companyName")
    )
    entries = _first(profile, "positions", "experience", "experiences") or []
    positions = tuple(_position(p) for p in entries if isinstance(p, dict))
    schools = _first(profile, "education", "educations") or []
    # The current role stands in for a missing top-level title / company.
    current = next((p for p in positions if p.is_current), Position())
    url = _str(_first(profile, "linkedin_url", "linkedinUrl", "profile_url", "profileUrl", "url"))
    location = _first(profile, "location", "location_name", "locationName")
    if isinstance(location, dict):
        location = ", ".join(
            v for v in (_str(location.get(k)) for k in ("city", "region", "country")) if v
        ) or _str(location.get("name"))
    result = LinkedinProfile(
        url=canonical_linkedin_url(url) or url or canonical_linkedin_url(input_url),
        provider_profile_id=_str(_first(profile, "id", "profile_id", "profileId")),
        first_name=first,
        last_name=last,
        full_name=full or (" ".join(n for n in (first, last) if n) or None),
        headline=_str(profile.get("headline")),
        title=_str(_first(profile, "title", "job_title", "jobTitle")) or current.title,
        company_name=company_name or current.company_name,
        company_domain=_domain(_first(profile, "company_domain", "companyDomain"))
        or company_domain
        or current.company_domain,
        location=_str(location),
        summary=_str(_first(profile, "summary", "about")),
        skills=_names(profile.get("skills"), "name", "skill"),
        positions=positions,
        education=tuple(_education(e) for e in schools if isinstance(e, dict)),
        photo_url=_str(_first(profile, "photo_url", "photoUrl", "picture", "avatar_url")),
    )
    empty = result.model_dump(exclude={"url"}) == LinkedinProfile().model_dump(exclude={"url"})
    return None if empty else result


def _read_profile(value: Any, findings: _Findings, input_url: str | None) -> None:
    if value is None or value == {}:
        findings.not_found.append("profile")
    elif not isinstance(value, dict):
        findings.unreadable.append(f"profile is a {type(value).__name__}")
    elif (profile := linkedin_profile(value, input_url)) is None:
        findings.unreadable.append(f"profile has none of the expected keys ({sorted(value)[:8]})")
    else:
        findings.linkedin = profile
        findings.found.append("profile")


def read_data(data: Mapping[str, Any], fields: Sequence[str], input_url: str | None) -> _Findings:
    """One sync-shaped `data` object (3.2) -> findings for the requested fields (or, when the request
    is unknown, for whatever the answer carries)."""
    findings = _Findings()
    # `data.contact.email`; tolerated: contact fields at the top level of `data`, plural keys.
    contact = data.get("contact") if isinstance(data.get("contact"), dict) else data
    readers: dict[str, tuple[Mapping[str, Any], tuple[str, ...]]] = {
        "contact.email": (contact, ("email", "emails")),
        "contact.phone": (contact, ("phone", "phones")),
        "profile": (data, ("profile", "linkedin")),
    }
    for name in fields or FIELD_ORDER:
        where, keys = readers.get(name, ({}, ()))
        key = next((k for k in keys if k in where), None)
        if key is None:
            if fields:
                findings.missing.append(name)
            continue
        if name == "contact.email":
            _read_emails(where[key], findings)
        elif name == "contact.phone":
            _read_phones(where[key], findings)
        else:
            _read_profile(where[key], findings, input_url)
    return findings


# ------------------------------------------------------------------------------ records


def _record(ctx: _Context, raw: Any, **fields: Any) -> EnrichmentResult:
    return EnrichmentResult(
        person_key=ctx.person_key,
        provider=PROVIDER,
        provider_ref=ctx.provider_ref,
        request_correlation=ctx.correlation,
        raw=raw if isinstance(raw, dict) else {"payload": raw},
        **fields,
    )


def _failed(ctx: _Context, reason: str, raw: Any) -> EnrichmentResult:
    return _record(ctx, raw, record_status=RecordStatus.FAILED, reason=reason)


def unexpected_result(payload: Any, what: str, ctx: _Context | None = None) -> EnrichmentResult:
    """A payload in no shape we know: one FAILED record keeping it (schema drift must show)."""
    return _failed(ctx or _Context(), f"unexpected The Hog payload: {what}", payload)


def refused_result(submission: Submission) -> EnrichmentResult:
    """A submission refused (by us for missing inputs, or by The Hog): failed, nothing charged."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.FAILED,
        reason=submission.error or "submission has no operation id",
        # Refused before any call: certainly free. Refused by The Hog (422): not documented.
        cost_credits=None if "http_status" in submission.raw else 0,
        cost_basis=CostBasis.UNKNOWN if "http_status" in submission.raw else CostBasis.TABLE,
        raw=submission.raw,
    )


def pending_result(
    submission: Submission, status: str | None = None, last_error: str | None = None
) -> EnrichmentResult:
    """Still running when we stopped waiting: pending, to be polled again (never not_found)."""
    reason = f"operation still {status or 'running'} when we stopped waiting"
    if status and status not in RUNNING_STATUSES:
        reason += f" ({status!r} is not a documented status)"
    if last_error:
        reason += f"; last poll failed: {last_error}"
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=_Context.of(submission).correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
        raw=submission.raw,
    )


def data_record(
    ctx: _Context,
    data: Any,
    raw: Any,
    *,
    error: str | None = None,
    cost: int | None = None,
) -> EnrichmentResult:
    """A finished person (`data` of a sync body, a batch item or a single-person operation).

    An `error` makes it FAILED, but whatever values did come back are kept: they may have been paid.
    """
    if data is not None and not isinstance(data, dict):
        return unexpected_result(raw, f"`data` is a {type(data).__name__}, not an object", ctx)
    input_url = (ctx.sent or {}).get("linkedin_url")
    findings = read_data(data or {}, ctx.fields, input_url)
    if ctx.person_key is None:
        url = findings.linkedin.url if findings.linkedin else None
        ctx = replace(ctx, person_key=person_key(linkedin_url=url, email=findings.email))
    status, reason = _judge(findings, error, data)
    notes = findings.notes + (findings.unreadable if status is RecordStatus.FOUND else [])
    if findings.missing and status is not RecordStatus.FAILED:
        notes.append(f"absent from the answer: {', '.join(findings.missing)}")
    if notes:
        reason = "; ".join([*([reason] if reason else []), *notes])
    return _record(
        ctx,
        raw,
        record_status=status,
        reason=reason,
        email=findings.email,
        email_status=findings.email_status,
        email_confidence=findings.email_confidence,
        phones=tuple(findings.phones),
        linkedin=findings.linkedin,
        cost_credits=cost if cost is not None else _table_cost(findings),
        cost_basis=CostBasis.REPORTED if cost is not None else CostBasis.TABLE,
    )


def _table_cost(findings: _Findings) -> int:
    """An asynchronous answer reports no cost (3.5): price what came back with the price table
    (CREDIT_PRICES; The Hog's row is the documented ASSUMPTION, per found field and person)."""
    return (
        (CREDIT_PRICES[WantedField.EMAIL] if findings.email else 0)
        + (CREDIT_PRICES[WantedField.PHONE] if findings.phones else 0)
        + (CREDIT_PRICES[WantedField.LINKEDIN] if findings.linkedin else 0)
    )


def _judge(findings: _Findings, error: str | None, data: Any) -> tuple[RecordStatus, str | None]:
    if error is not None:
        return RecordStatus.FAILED, error
    if findings.found:
        return RecordStatus.FOUND, None
    if findings.unreadable:
        # Present but unreadable is not "nothing": a renamed field must not pass as not found.
        return RecordStatus.FAILED, "unreadable answer: " + "; ".join(findings.unreadable)
    if not findings.not_found:
        keys = sorted(data) if isinstance(data, dict) else []
        return (
            RecordStatus.FAILED,
            f"the answer carries none of the requested fields (keys: {keys})",
        )
    return RecordStatus.NOT_FOUND, "The Hog found nothing for " + ", ".join(findings.not_found)


def _cost(body: Mapping[str, Any]) -> int | None:
    """`meta.cost.actual` (3.5): what the balance was charged, when the envelope says."""
    return _int(_dict(_dict(body.get("meta")).get("cost")).get("actual"))


def _items_of(body: Mapping[str, Any]) -> list[Any] | None:
    """Batch items: `result.items` (ASSUMPTION 3.3), `result` as a list, or `items` at the top."""
    result = body.get("result")
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        return result["items"]  # type: ignore[no-any-return]
    if isinstance(result, list):
        return result
    if isinstance(body.get("items"), list):
        return body["items"]  # type: ignore[no-any-return]
    return None


def _item_records(
    items: list[Any],
    correlator: _Correlator,
    *,
    provider_ref: str | None,
    context: Mapping[str, Any],
    job_error: str | None = None,
) -> list[EnrichmentResult]:
    """One record per item `{identifier, status, data | error}`, matched to its request by the
    echoed identifier; `context` (the operation minus its result, the submit body) joins each raw."""
    records = []
    for position, item in enumerate(items):
        raw = {**context, "item_index": position, "item": item}
        if not isinstance(item, dict):
            ctx = correlator.match(None, position) or _Context(provider_ref=provider_ref)
            records.append(unexpected_result(raw, f"item {position} is not an object", ctx))
            continue
        identifier = item.get("identifier")
        ctx = correlator.match(identifier, position) or _Context.of_echo(identifier, provider_ref)
        ctx = replace(ctx, provider_ref=provider_ref or ctx.provider_ref)
        records.append(_item_record(item, ctx, raw, job_error))
    return records


def _item_record(
    item: dict[str, Any], ctx: _Context, raw: dict[str, Any], job_error: str | None
) -> EnrichmentResult:
    status = (_str(item.get("status")) or "").lower()
    data, error = item.get("data"), item.get("error")
    if status in ("success", "succeeded", "ok") or (not status and data is not None and not error):
        return data_record(ctx, data, raw)
    if status in ("failed", "failure", "error") or error:
        message = _error_message(error) or job_error or f"item {status or 'failed'}"
        if _identity_unknown(error, message):
            # The Hog answered: it does not know this person. That is a clear "not found" (the next
            # provider may try), not a failure to hold the person back for.
            return _record(ctx, raw, record_status=RecordStatus.NOT_FOUND, reason=message)
        return data_record(ctx, data, raw, error=message)
    return unexpected_result(raw, f"item status {item.get('status')!r}", ctx)


def _identity_unknown(error: Any, message: str) -> bool:
    code = error.get("code") if isinstance(error, dict) else None
    return code == "identity_not_resolved" or "could not resolve" in message.lower()


def _note_unknown_status(status: str) -> None:
    with _reported_lock:
        if status in _reported_statuses:
            return
        _reported_statuses.add(status)
    log.warning(
        "thehog: operation status %r is not documented (queued/processing/succeeded/"
        "partial_success/failed/cancelled); treating it as still running",
        status,
    )


def _operation_records(
    body: Any, correlator: _Correlator, *, batch: bool | None, submit: Any = None
) -> tuple[str, list[EnrichmentResult]]:
    """An OperationResponseDto (3.3) -> ("running", pending records) or ("done", records).

    `batch` says whether the operation was submitted with several identifiers (None: unknown,
    judged from the shape). Every context the operation should answer for gets a record.
    """
    if not isinstance(body, dict):
        what = f"operation body is a {type(body).__name__}"
        return "done", [unexpected_result(body, what, c) for c in correlator.contexts or [None]]
    op_id = _operation_id(body)
    status = (_str(body.get("status")) or "").lower()
    summary = {k: v for k, v in body.items() if k != "result"}
    context: dict[str, Any] = {"operation": summary}
    if submit is not None:
        context["submit"] = submit
    if status not in SUCCEEDED_STATUSES | ENDED_BADLY_STATUSES:
        if status not in RUNNING_STATUSES:
            _note_unknown_status(status or repr(body.get("status")))
        return "running", _pending_records(
            correlator, op_id, {**context, "operation": body}, status
        )
    job_error = _error_message(body.get("error"))
    if status in ENDED_BADLY_STATUSES:
        job_error = job_error or f"operation {status}"
    items = _items_of(body)
    if items is not None:
        records = _item_records(
            items, correlator, provider_ref=op_id, context=context, job_error=job_error
        )
        return "done", records + _missing_items(correlator, op_id, context, job_error)
    return "done", _single_result(body, correlator, op_id, context, job_error, batch)


def _pending_records(
    correlator: _Correlator, op_id: str | None, raw: dict[str, Any], status: str
) -> list[EnrichmentResult]:
    reason = f"operation {status or 'in an unknown state'}"
    return [
        _record(
            replace(c, provider_ref=op_id or c.provider_ref),
            raw,
            record_status=RecordStatus.PENDING,
            reason=reason,
        )
        for c in correlator.answering()
    ]


def _missing_items(
    correlator: _Correlator, op_id: str | None, context: dict[str, Any], job_error: str | None
) -> list[EnrichmentResult]:
    """Requests the operation's items do not mention: failed, never silently dropped."""
    reason = job_error or "the operation's result has no item for this identifier"
    return [
        _failed(replace(c, provider_ref=op_id or c.provider_ref), reason, context)
        for c in correlator.unmatched()
        if c.index is not None  # only the client's own batch members are known to be missing
    ]


def _single_result(
    body: dict[str, Any],
    correlator: _Correlator,
    op_id: str | None,
    context: dict[str, Any],
    job_error: str | None,
    batch: bool | None,
) -> list[EnrichmentResult]:
    """No items: a single-person operation, whose `result` is the sync `data` object (ASSUMPTION)."""
    result = body.get("result")
    contexts = correlator.contexts
    if batch:
        what = "batch operation without result items"
        if job_error:
            return [_failed(replace(c, provider_ref=op_id), job_error, body) for c in contexts]
        return [unexpected_result(body, what, replace(c, provider_ref=op_id)) for c in contexts]
    ctx = correlator.by_data(result) or _Context()
    ctx = replace(ctx, provider_ref=op_id or ctx.provider_ref)
    raw = {**context, "operation": body}
    if job_error is not None:
        return [
            data_record(ctx, result if isinstance(result, dict) else None, raw, error=job_error)
        ]
    if not isinstance(result, dict):
        return [
            unexpected_result(raw, f"operation {body.get('status')} with result {result!r}", ctx)
        ]
    return [data_record(ctx, result, raw)]


def _submit_body_records(
    body: Any, correlator: _Correlator, *, batch: bool
) -> list[EnrichmentResult]:
    """A sync 200 body `{"data": {...}, "meta": {...}}` (3.2) kept in Submission.raw."""
    if not isinstance(body, dict) or "data" not in body:
        what = "a synchronous answer without `data`"
        return [unexpected_result(body, what, c) for c in correlator.contexts or [None]]
    return _sync_records(body, correlator, batch=batch)


def _sync_records(
    body: dict[str, Any], correlator: _Correlator, *, batch: bool | None
) -> list[EnrichmentResult]:
    data = body["data"]
    items = _items_of(data) if isinstance(data, dict) else None
    if isinstance(data, list) or items is not None:
        # A list in `data`: the legacy inline answer (3.4), one entry per input.
        return _legacy_inline_records(body, items if items is not None else data, correlator)
    if batch:
        return [
            unexpected_result(body, "one `data` object for several people", c)
            for c in correlator.contexts
        ]
    ctx = correlator.by_data(data) or _Context()
    return [data_record(ctx, data, body, cost=_cost(body))]


def _legacy_inline_records(
    body: dict[str, Any], entries: list[Any], correlator: _Correlator
) -> list[EnrichmentResult]:
    """`POST /api/people/enrich` inline 200 (3.4): `data` lists one enriched contact per input; the
    contact's shape is UNKNOWN, so entries are read as items (`{identifier, status, data}`, what the
    sandbox sends) or as bare `data` objects. The cost covers the whole call: it is only a person's
    own cost when there is one person."""
    meta = body.get("meta")
    cost = _cost(body) if len(entries) == 1 else None
    records = []
    for position, entry in enumerate(entries):
        raw = {"item_index": position, "item": entry, "meta": meta}
        if isinstance(entry, dict) and ("identifier" in entry or "status" in entry):
            ctx = correlator.match(entry.get("identifier"), None)
            ctx = ctx or _Context.of_echo(entry.get("identifier"), None)
            record = _item_record(entry, ctx, raw, None)
        elif isinstance(entry, dict):
            ctx = correlator.by_data(entry) if len(entries) == 1 else None
            record = data_record(ctx or _Context(), entry, raw)
        else:
            record = unexpected_result(raw, f"data[{position}] is not an object")
        if cost is not None and record.record_status is not RecordStatus.FAILED:
            record = record.model_copy(
                update={"cost_credits": cost, "cost_basis": CostBasis.REPORTED}
            )
        records.append(record)
    return records


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


# ------------------------------------------------------------------------------- flatten


def flatten(payload: Any, *, requests: Sequence[EnrichmentRequest] = ()) -> list[EnrichmentResult]:
    """Any The Hog payload as received -> records (total: never raises on an odd shape).

    Accepted: a sync 200 body, a 202 submit body (-> PENDING), an operation body of any status, a
    bare list of operations (`GET /api/operations`), a legacy `/api/people/enrich` inline 200 body,
    and an error envelope (-> FAILED). `requests` (optional) puts the caller's person_key and
    correlation on the records, matched by the echoed identifier.
    """
    contexts = [_Context.of_request(r) for r in requests]
    try:
        return _flatten(payload, contexts)
    except Exception as exc:  # a bug must not lose the payload: keep it, say why
        return [unexpected_result(payload, f"{type(exc).__name__}: {exc}")]


def _flatten(payload: Any, contexts: list[_Context]) -> list[EnrichmentResult]:
    if isinstance(payload, list):
        records: list[EnrichmentResult] = []
        for position, element in enumerate(payload):
            try:
                records.extend(_flatten_object(element, contexts, exclusive=False))
            except Exception as exc:
                what = f"element {position}: {type(exc).__name__}: {exc}"
                records.append(unexpected_result(element, what))
        return records
    return _flatten_object(payload, contexts)


def _flatten_object(
    payload: Any, contexts: list[_Context], *, exclusive: bool = True
) -> list[EnrichmentResult]:
    correlator = _Correlator(contexts, exclusive=exclusive)
    if not isinstance(payload, dict):
        return [unexpected_result(payload, f"a {type(payload).__name__}, not an object")]
    if "result" in payload or "progress" in payload:
        return _operation_records(payload, correlator, batch=None)[1]
    if "pollUrl" in payload or "operationId" in payload:
        return _accepted_records(payload, correlator)
    if "data" in payload:
        return _sync_records(payload, correlator, batch=None)
    if "statusCode" in payload and "message" in payload:
        reason = f"HTTP {payload.get('statusCode')}: {_error_message(payload)}"
        return [_failed(c, reason, payload) for c in correlator.answering()]
    if isinstance(payload.get("items"), list):
        return _item_records(payload["items"], correlator, provider_ref=None, context={})
    if "id" in payload and "status" in payload:
        return _operation_records(payload, correlator, batch=None)[1]
    return [unexpected_result(payload, f"no known shape (keys: {sorted(payload)[:10]})")]


def _accepted_records(body: dict[str, Any], correlator: _Correlator) -> list[EnrichmentResult]:
    """A 202 submit body: the people in it are pending until the operation is polled."""
    op_id = _operation_id(body)
    reason = f"operation {_str(body.get('status')) or 'queued'}; poll {body.get('pollUrl')}"
    return [
        _record(
            replace(c, provider_ref=op_id), body, record_status=RecordStatus.PENDING, reason=reason
        )
        for c in correlator.answering()
    ]
