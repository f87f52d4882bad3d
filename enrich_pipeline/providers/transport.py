"""One HTTP transport for the three providers: pacing, retries, timeouts, typed errors, no leaked keys.

A provider module says how to build a request and read a response; everything about getting it
there and back safely is here, once:

* every request first waits for its pacer (the provider's documented limit), so a healthy run meets
  no 429 — shared with every process using the same state folder once `share_pacing` named it
  (pacing.py, shared_pacing.py), else within this process;
* a 429 is waited out for `Retry-After` (seconds or an HTTP date) and retried — the request was
  refused, not processed, so this is safe even for a paid submit;
* errors are classified by what the provider did. 502 (a gateway that could not reach the service)
  and 503 (unavailable) say the request was not processed, like 429: every call, a paid submit too,
  is retried with exponential backoff and full jitter, bounded in attempts and total time. 500, 504,
  timeouts and dropped connections after sending may have been processed: they are retried only for
  calls that are safe to repeat (polls, result pages, submits carrying an idempotency key); a paid
  submit without one raises SubmitOutcomeUnknownError, because a blind retry could pay twice;
* errors are typed (errors.py) and carry the provider's own code and message, never a credential.
  A 401/403 is never retried (a wrong key does not get better by waiting): it raises at once,
  naming the environment variable(s) to fix;
* it is where credentials and provider text meet, so it is the redaction's choke point
  (redaction.py): the credentials the auth puts on a request are registered when the transport
  is built, and every response body is cleaned before anyone reads it — of every form of them in
  an answer (stored as a payload), and also of anything shaped like a credential in an error body.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

import httpx

from enrich_pipeline.mode import KEY_VARS
from enrich_pipeline.providers.errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitedError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.pacing import RateLimit, RequestPacing, request_pacing
from enrich_pipeline.providers.redaction import Redactor, register

log = logging.getLogger("enrich_pipeline.providers")

# Connection never established: the request cannot have reached the provider, always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been received and processed.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
# Statuses that say the request was not processed (providers.md 2.10, 3.6: "retry with backoff"):
# safe to send again even for a paid submit without an idempotency key.
NOT_PROCESSED = frozenset({502, 503})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_total_s: float = 120.0  # give up once this much time went to waiting
    max_retry_after_s: float = 300.0  # a Retry-After beyond this is treated as an outage

    @classmethod
    def for_speed(cls, speed: float) -> RetryPolicy:
        """The default policy with every wait scaled, for a sandbox running at `speed`."""
        base = cls()
        return cls(
            max_attempts=base.max_attempts,
            base_delay_s=base.base_delay_s * speed,
            max_delay_s=base.max_delay_s * speed,
            max_total_s=base.max_total_s * speed,
            max_retry_after_s=base.max_retry_after_s * speed,
        )


@dataclass(frozen=True)
class ErrorDetail:
    message: str
    code: str | None = None


ErrorParser = Callable[[httpx.Response], ErrorDetail]


def parse_error(response: httpx.Response) -> ErrorDetail:
    """Message and code from any of the providers' error bodies (JSON, problem+json or text/plain)."""
    content_type = response.headers.get("content-type", "")
    text = response.text.strip()
    if "json" not in content_type:
        return ErrorDetail(text or response.reason_phrase)
    try:
        body = response.json()
    except ValueError:
        return ErrorDetail(text or response.reason_phrase)
    if not isinstance(body, dict):
        return ErrorDetail(text[:300])
    detail = body.get("detail")
    message = next(
        (
            v
            for v in (detail, body.get("message"), body.get("error"), body.get("title"))
            if isinstance(v, str) and v
        ),
        response.reason_phrase,
    )
    code = body.get("code")
    if code is None and isinstance(body.get("type"), str):
        code = body["type"].rsplit("/", 1)[-1]  # problem+json type slug
    if code is None and isinstance(body.get("error"), str) and body["error"].isupper():
        code = body["error"]  # lemlist bulk: {"error": "TOO_MANY_ENRICHMENTS_REQUESTED"}
    return ErrorDetail(message, str(code) if code is not None else None)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number (possibly fractional) or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


_AUTH_SCHEMES = ("basic", "bearer", "token")


class SecretAuth(httpx.Auth):
    """Adds credentials to each request; its repr and str never show them."""

    def __init__(self, apply: Callable[[httpx.Request], None]) -> None:
        self._apply = apply

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        self._apply(request)
        yield request

    def secrets(self) -> tuple[str, ...]:
        """The credentials this auth puts on a request, read off a blank request it is applied
        to: every header value it sets (a Basic credential decoded into its parts, a bearer
        token without its scheme) and every query parameter it adds. What is sent is exactly
        what must never come back out."""
        probe = httpx.Request("GET", "https://probe.invalid/")
        headers, params = dict(probe.headers), dict(probe.url.params)
        self._apply(probe)
        found: list[str] = []
        for name, value in probe.headers.items():
            if headers.get(name) == value:
                continue
            scheme, _, credential = value.partition(" ")
            if scheme.lower() not in _AUTH_SCHEMES or not credential.strip():
                found.append(value)
            elif scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user, password = credential, ""
                found += [user, password]
            else:
                found.append(credential.strip())
        found += [v for k, v in probe.url.params.multi_items() if params.get(k) != v]
        return tuple(dict.fromkeys(f for f in found if f))

    def __repr__(self) -> str:
        return "SecretAuth(***)"


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """httpx's default verification (its CA bundle, SSL_CERT_FILE/SSL_CERT_DIR), built once per
    process: each build loads the bundle (~30 ms of CPU), and every step makes its own clients."""
    return httpx.create_ssl_context()


@dataclass
class Transport:
    provider: str
    base_url: str
    auth: SecretAuth
    credential_id: str  # the secret the pacers are shared by (never logged: hashed by pacing)
    rate_limits: Mapping[str, list[RateLimit]] = field(default_factory=dict)  # bucket -> limits
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 30.0
    error_parser: ErrorParser = parse_error
    client: httpx.Client | None = None
    sleep: Callable[[float], None] = time.sleep
    # The state folder whose pacing.sqlite every process shares (None: pace in this process only).
    pacing_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = httpx.Client(
                base_url=self.base_url.rstrip("/"),
                auth=self.auth,
                timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0)),
                headers={"user-agent": "enrich-pipeline/0.1"},
                verify=shared_tls_context(),
            )
        self._rng = random.Random()
        self.stats = {"requests": 0, "retries": 0, "rate_limited": 0, "paced_s": 0.0}
        secrets = self.auth.secrets()
        self._redact = Redactor(*secrets)  # this client's credentials, for its answers
        register(*secrets)  # and for every ProviderError text, whoever builds it

    def __repr__(self) -> str:
        return f"Transport(provider={self.provider!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def share_pacing(self, state_dir: Path | str | None) -> None:
        """Pace with every process that uses `state_dir` (its pacing.sqlite); None: in process."""
        self.pacing_dir = Path(state_dir) if state_dir is not None else None

    def _pacing(self, bucket: str) -> RequestPacing:
        limits = [
            *self.rate_limits.get("global", []),
            *(self.rate_limits.get(bucket, []) if bucket != "global" else []),
        ]
        # A key is paced per API it is used against: two sandboxes on two ports (parallel test
        # workers) are two providers, while every process talking to the real API shares one pace.
        paced_by = f"{self.credential_id}@{self.base_url}"
        return request_pacing(self.provider, paced_by, limits, self.pacing_dir)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        bucket: str = "global",
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one logical request; statuses in `accept` are returned to the caller as they are.

        `idempotent=False` marks a paid submit without an idempotency key: it is retried only when it
        certainly did not reach the provider (connection refused, 429).
        """
        assert self.client is not None
        pacing = self._pacing(bucket)
        started = time.monotonic()
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.stats["paced_s"] += pacing.acquire()
            self.stats["requests"] += 1
            try:
                try:
                    response = self.client.request(
                        method, self._url(path), params=params, json=json_body, headers=headers
                    )
                finally:
                    pacing.settle()  # the provider counted it by now, if it ever will
            except _NOT_SENT as exc:
                failure: ProviderError = ProviderUnavailableError(
                    self.provider,
                    f"cannot connect to {self.base_url} ({type(exc).__name__})",
                    hint="check the base URL and the network; the request was not sent",
                )
                delay = self._backoff(attempt)
            except (*_MAYBE_SENT, httpx.TimeoutException, httpx.TransportError) as exc:
                if not idempotent:
                    raise SubmitOutcomeUnknownError(
                        self.provider,
                        f"{method} {path}: {type(exc).__name__} after sending; the submit may have "
                        "been accepted",
                        hint="reconcile with the provider before submitting again",
                    ) from None
                failure = ProviderUnavailableError(
                    self.provider,
                    f"{method} {path}: {type(exc).__name__}",
                    hint="the provider is slow or unreachable; try again later",
                )
                delay = self._backoff(attempt)
            else:
                response = self._cleaned(response)
                status = response.status_code
                if status < 300 or status in accept:
                    return response
                if status == 429:
                    self.stats["rate_limited"] += 1
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    delay = retry_after if retry_after is not None else self._backoff(attempt)
                    failure = RateLimitedError(
                        self.provider,
                        f"{method} {path}: rate limited ({self.error_parser(response).message})",
                        status=429,
                        retry_after_s=retry_after,
                        hint="lower the request rate or wait for the window to reset",
                    )
                    if delay > self.retry.max_retry_after_s:
                        raise failure
                    pacing.hold(delay)
                elif status >= 500:
                    detail = self.error_parser(response)
                    if not idempotent and status not in NOT_PROCESSED:
                        raise SubmitOutcomeUnknownError(
                            self.provider,
                            f"{method} {path}: {detail.message}; the submit may have been accepted",
                            status=status,
                            code=detail.code,
                            hint="reconcile with the provider before submitting again",
                        )
                    failure = ProviderUnavailableError(
                        self.provider,
                        f"{method} {path}: {detail.message}",
                        status=status,
                        code=detail.code,
                        hint="the provider is having trouble; try again later",
                    )
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    delay = self._backoff(attempt)
                    if retry_after is not None and retry_after <= self.retry.max_retry_after_s:
                        delay = max(delay, retry_after)
                else:
                    raise self._client_error(method, path, response)
            if attempt >= self.retry.max_attempts or waited + delay > self.retry.max_total_s:
                raise failure
            log.info(
                "%s %s %s: %s; retry %d/%d in %.2fs",
                self.provider,
                method,
                path,
                type(failure).__name__,
                attempt,
                self.retry.max_attempts - 1,
                delay,
            )
            self.stats["retries"] += 1
            self.sleep(delay)
            waited = time.monotonic() - started

    def _url(self, path: str) -> str:
        """`path` under the client's base URL, as httpx would merge it, but given as one absolute
        URL: httpx then parses it once instead of twice (a tenth of a poll's CPU, measured)."""
        if "://" in path or self.client is None:
            return path
        base = str(self.client.base_url)  # "https://host" for a base without a path
        return f"{base if base.endswith('/') else base + '/'}{path.lstrip('/')}"

    def request_json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """request() and parse JSON; an unreadable body is retried when the call is idempotent."""
        attempts = self.retry.max_attempts if kwargs.get("idempotent") else 1
        for attempt in range(1, attempts + 1):
            response = self.request(method, path, **kwargs)
            try:
                return response.status_code, response.json()
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                if not kwargs.get("idempotent"):
                    raise SubmitOutcomeUnknownError(
                        self.provider,
                        f"{method} {path}: HTTP {response.status_code} with a body that is not JSON; "
                        "the submit may have been accepted",
                        status=response.status_code,
                        hint="reconcile with the provider before submitting again",
                    ) from None
                if attempt == attempts:
                    raise MalformedResponseError(
                        self.provider,
                        f"{method} {path}: HTTP {response.status_code} with a body that is not JSON "
                        f"({response.text[:80]!r})",
                        status=response.status_code,
                        hint="the provider's response format may have changed; report it",
                    ) from None
                self.stats["retries"] += 1
                self.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    def _cleaned(self, response: httpx.Response) -> httpx.Response:
        """The response with its body redacted: an answer (data, stored as a payload) loses every
        form of this client's credentials; an error body (>= 400) also anything shaped like a
        credential. The same response when there was nothing to remove (the usual case)."""
        text = response.text
        clean = self._redact(text) if response.status_code >= 400 else self._redact.known(text)
        if clean == text:
            return response
        dropped = {"content-encoding", "content-length", "transfer-encoding"}
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=clean.encode(response.encoding or "utf-8", errors="replace"),
            request=response.request,
            extensions=response.extensions,
        )

    def _client_error(self, method: str, path: str, response: httpx.Response) -> ProviderError:
        detail = self.error_parser(response)
        status = response.status_code
        where = f"{method} {path}: {detail.message}"
        if status in (401, 403):
            variables = KEY_VARS.get(self.provider, ())
            names = " and ".join(variables) or f"the {self.provider} key"
            keys = "keys" if len(variables) > 1 else "key"
            refused = "refused" if status == 401 else "refused (forbidden)"
            return AuthenticationError(
                self.provider,
                where,
                status=status,
                code=detail.code,
                hint=f"{self.provider} {refused} the {keys} in {names}: set {names} to a valid "
                f"{keys} with the permissions needed, then run again (never retried)",
            )
        if status == 402:
            return CreditsExhaustedError(
                self.provider,
                where,
                status=status,
                code=detail.code,
                hint=f"top up {self.provider} credits; nothing was charged for this request",
            )
        return BadRequestError(self.provider, where, status=status, code=detail.code)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        ceiling = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)


def scaled_limits(
    limits: Mapping[str, list[RateLimit]], speed: float
) -> dict[str, list[RateLimit]]:
    """Rate limits with every window scaled, for a sandbox running at `speed`."""
    return {
        bucket: [replace(r, window_s=r.window_s * speed) for r in rules]
        for bucket, rules in limits.items()
    }


class TransportClient:
    """What every provider client is around its Transport: a context manager that closes it, and a
    repr that shows the provider and URL, never a credential."""

    transport: Transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transport!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()
