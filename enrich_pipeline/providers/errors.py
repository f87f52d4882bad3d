"""Typed provider errors. Each one says what went wrong and what to do; none ever carries a secret.

Whoever builds one, its message, code, hint and notes pass through the one redaction
(redaction.py) as it is made: a provider that echoes a key in its error body cannot get it into a
log, a traceback, Dagster's event log or the ledger, whichever path the text takes from here.
"""

from __future__ import annotations

from enrich_pipeline.providers.redaction import redact, redact_optional


class ProviderError(Exception):
    """Base of every error a provider call can raise."""

    retryable = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str = "",
    ) -> None:
        self.provider = provider
        self.status = status
        self.code = redact_optional(code)
        self.message = redact(message)
        self.hint = redact(hint)
        super().__init__(self._render())

    def add_note(self, note: str, /) -> None:
        super().add_note(redact(note))

    def _render(self) -> str:
        parts = [f"{self.provider}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        text = f"[{' '.join(parts)}] {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class AuthenticationError(ProviderError):
    """401/403: the key is wrong, revoked or lacks permission. Never retryable, anywhere: waiting
    does not fix a key, so the step fails at once, naming the variable to fix."""

    retryable = False


class CreditsExhaustedError(ProviderError):
    """402 or equivalent: nothing was charged; top up before retrying. Never retried automatically."""


class RateLimitedError(ProviderError):
    """429 after the retry budget was spent."""

    retryable = True

    def __init__(self, provider: str, message: str, *, retry_after_s: float | None, **kw: object):
        self.retry_after_s = retry_after_s
        super().__init__(provider, message, **kw)  # type: ignore[arg-type]


class BadRequestError(ProviderError):
    """400/404/409/422: the provider refused this request as built; fix the input, do not retry."""


class ProviderUnavailableError(ProviderError):
    """5xx, timeouts and connection failures that outlasted the retry budget."""

    retryable = True


class MalformedResponseError(ProviderError):
    """The provider answered with a body we cannot read (not JSON, or not the documented shape)."""

    retryable = True


class SubmitOutcomeUnknownError(ProviderError):
    """A paid submit failed after it may have reached the provider (timeout, dropped connection, 5xx).

    Not retried blindly, because lemlist and enrich.so have no idempotency key: retrying could pay twice.
    The caller reconciles (e.g. lists recent jobs, or records the submit as unknown in the ledger).
    """
