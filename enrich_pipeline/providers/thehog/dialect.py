"""The Hog's dialect (providers.md 3): the API's constants (routes, rate limits, batch size, fields,
prices, operation statuses), its error bodies, operation ids, and where an operation is polled."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from enrich_pipeline.model import WantedField
from enrich_pipeline.providers.errors import ProviderError
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.thehog.values import _str
from enrich_pipeline.providers.transport import ErrorDetail, parse_error

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


# ----------------------------------------------------------------------------------- error bodies


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


# ------------------------------------------------------------------------------------- operations


def _operation_id(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return _str(body.get("id")) or _str(body.get("operationId"))


class UnsafePollUrlError(ProviderError):
    """A `pollUrl` pointing away from the API we authenticate to: never sent our keys there."""


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
