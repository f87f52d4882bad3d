"""How each provider authenticates, rate-limits and formats errors (providers.md 1.1/1.10, 2.1/2.10, 3.1/3.6)."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import uuid
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from enrich_pipeline.sandbox.clock import iso_now, utc_now
from enrich_pipeline.sandbox.ratelimit import RateDecision, RateRule, retry_after_header
from enrich_pipeline.sandbox.state import SandboxState, key_label
from enrich_pipeline.sandbox.world import ProviderName


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _seconds_header(seconds: float, speed: float) -> str:
    return str(max(0, math.ceil(seconds))) if speed >= 1 else f"{max(seconds, 0.0):.3f}"


def seconds_reset_headers(decision: RateDecision, state: SandboxState) -> dict[str, str]:
    """X-RateLimit-* with Reset in seconds until reset (enrich.so, The Hog), Retry-After on a 429."""
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": _seconds_header(decision.reset_s, state.config.speed),
    }
    if not decision.allowed:
        headers["Retry-After"] = retry_after_header(decision.retry_after_s, state.config.speed)
    return headers


# --------------------------------------------------------------------------------------- lemlist


def js_date_string(seconds_from_now: float) -> str:
    """lemlist's X-RateLimit-Reset: a JavaScript Date.toString(), e.g.
    'Mon Mar 02 2026 10:15:04 GMT+0000 (Coordinated Universal Time)'."""
    moment = utc_now() + timedelta(seconds=seconds_from_now)
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


class LemlistDialect:
    name: ProviderName = "lemlist"
    UNAUTHORIZED = "The authentication you supplied is incorrect"

    def authenticate(self, request: Request, state: SandboxState, *, legacy: bool) -> str | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, sep, password = decoded.partition(":")
        if not sep or not _same(password, state.config.lemlist_api_key):
            return None
        return key_label(password)

    def unauthorized(self, request: Request) -> Response:
        return PlainTextResponse(self.UNAUTHORIZED, status_code=401)

    def rate_scope(self, key: str) -> str:
        return f"lemlist:{key}"

    def rate_rules(self, route_id: str, state: SandboxState) -> list[RateRule]:
        return [RateRule("all", 20, 2.0)]  # 20 requests / 2 s per key, every route (DOC)

    def rate_headers(self, decision: RateDecision, state: SandboxState) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": js_date_string(decision.reset_s),
        }
        if not decision.allowed:
            headers["Retry-After"] = retry_after_header(decision.retry_after_s, state.config.speed)
        return headers

    def too_many_requests(
        self, request: Request, decision: RateDecision, state: SandboxState
    ) -> Response:
        # 429 body is UNKNOWN in the docs; ASSUMPTION text/plain (providers.md 1.1).
        response = PlainTextResponse("Too Many Requests", status_code=429)
        response.headers.update(self.rate_headers(decision, state))
        return response

    def server_error(self, request: Request, status: int) -> Response:
        if status == 500:
            return JSONResponse({"error": "Internal server error"}, status_code=500)
        texts = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        return PlainTextResponse(texts.get(status, "Server error"), status_code=status)

    def default_headers(self, request: Request) -> dict[str, str]:
        return {}


# -------------------------------------------------------------------------------------- enrich.so

# Plan table of providers.md 2.1: burst rps, sustained rpm, single-lookup rpm, bulk-submit rps / rpm.
ENRICHSO_PLANS: dict[str, tuple[int, int, int | None, int | None, int | None]] = {
    "free": (5, 60, 10, 1, 2),
    "growth": (25, 300, 100, 3, 10),
    "scale": (50, 1000, 500, 5, 20),
    "pro": (100, 5000, 2000, 10, 50),
    "enterprise": (200, 10000, None, None, None),
}
ENRICHSO_SINGLE_LOOKUPS = frozenset(
    {
        "POST /email-validation",
        "POST /email-finder",
        "POST /reverse-lookup/lookup",
        "GET /reverse-lookup/phones",
    }
)
ENRICHSO_BULK_SUBMITS = frozenset(
    {
        "POST /email-validation/batch",
        "POST /email-finder/batch",
        "POST /reverse-lookup/bulk-lookup",
        "POST /reverse-lookup/phones/bulk",
    }
)
ENRICHSO_ERROR_BASE = "https://dev.enrich.so/errors/"
ENRICHSO_TITLES = {
    400: ("validation-error", "Validation Error"),
    401: ("unauthorized", "Unauthorized"),
    402: ("insufficient-credits", "Insufficient Credits"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    409: ("conflict", "Conflict"),
    429: ("rate-limit-exceeded", "Too Many Requests"),
    500: ("internal-error", "Internal Server Error"),
    502: ("upstream-failure", "Upstream Failure"),
    503: ("service-unavailable", "Service Unavailable"),
    504: ("timeout", "Timeout"),
}


def problem(status: int, detail: str, **extensions: object) -> Response:
    """RFC 9457 problem details as enrich.so sends them (providers.md 2.10)."""
    slug, title = ENRICHSO_TITLES[status]
    body: dict[str, object] = {
        "type": ENRICHSO_ERROR_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": f"/requests/{uuid.uuid4()}",
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class EnrichsoDialect:
    name: ProviderName = "enrichso"

    def authenticate(self, request: Request, state: SandboxState, *, legacy: bool) -> str | None:
        key = request.headers.get("x-api-key") or _bearer(request)
        if key is None or not _same(key, state.config.enrichso_api_key):
            return None
        return key_label(key)

    def unauthorized(self, request: Request) -> Response:
        return problem(401, "Missing or invalid API key")

    def rate_scope(self, key: str) -> str:
        return "enrichso:org"  # per organisation: every key of the team shares it (DOC)

    def rate_rules(self, route_id: str, state: SandboxState) -> list[RateRule]:
        burst, sustained, single, bulk_rps, bulk_rpm = ENRICHSO_PLANS[state.config.enrichso_plan]
        rules = [RateRule("burst", burst, 1.0), RateRule("sustained", sustained, 60.0)]
        if route_id in ENRICHSO_SINGLE_LOOKUPS and single is not None:
            rules.append(RateRule("enrichment", single, 60.0))
        if route_id in ENRICHSO_BULK_SUBMITS and bulk_rps is not None and bulk_rpm is not None:
            rules += [RateRule("bulk_burst", bulk_rps, 1.0), RateRule("bulk", bulk_rpm, 60.0)]
        return rules

    def rate_headers(self, decision: RateDecision, state: SandboxState) -> dict[str, str]:
        return seconds_reset_headers(decision, state)

    def too_many_requests(
        self, request: Request, decision: RateDecision, state: SandboxState
    ) -> Response:
        response = problem(429, "Rate limit exceeded. Please retry after the indicated time.")
        response.headers.update(self.rate_headers(decision, state))
        return response

    def server_error(self, request: Request, status: int) -> Response:
        details = {
            500: "An unexpected error occurred",
            502: "An upstream provider failed",
            503: "The service is temporarily unavailable",
            504: "The request timed out",
        }
        return problem(status if status in ENRICHSO_TITLES else 500, details.get(status, "Error"))

    def default_headers(self, request: Request) -> dict[str, str]:
        return {}


# ----------------------------------------------------------------------------------------- The Hog

THEHOG_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
THEHOG_POLL_ROUTE = "GET /api/operations/{operation_id}"


def request_id(request: Request) -> str:
    """The Hog's per-request id: the X-Request-Id header and meta.requestId carry the same value."""
    return str(request.scope.setdefault("sandbox.request_id", str(uuid.uuid4())))


def hog_error(
    request: Request,
    status: int,
    message: str,
    errors: list[dict[str, object]] | None = None,
) -> Response:
    """The Hog's error envelope (providers.md 3.6): application/json, not problem+json."""
    rid = request_id(request)
    body: dict[str, object] = {
        "statusCode": status,
        "error": THEHOG_REASONS.get(status, "Error"),
        "message": message,
        "path": request.url.path.removeprefix("/thehog"),
        "requestId": rid,
        "timestamp": iso_now(),
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": rid})


class ThehogDialect:
    name: ProviderName = "thehog"

    def authenticate(self, request: Request, state: SandboxState, *, legacy: bool) -> str | None:
        access = request.headers.get("x-access-key")
        secret = request.headers.get("x-secret-key")
        if access is not None and secret is not None:
            if _same(access, state.config.thehog_access_key) and _same(
                secret, state.config.thehog_secret_key
            ):
                return key_label(access)
            return None
        token = _bearer(request)
        if legacy and token is not None and _same(token, state.config.thehog_legacy_api_key):
            return key_label(state.config.thehog_access_key)  # same organisation and user
        return None

    def unauthorized(self, request: Request) -> Response:
        return hog_error(request, 401, "Authentication is required.")

    def rate_scope(self, key: str) -> str:
        return f"thehog:{key}"  # per organisation and user

    def rate_rules(self, route_id: str, state: SandboxState) -> list[RateRule]:
        rules = [RateRule("global", 600, 60.0)]
        if route_id == THEHOG_POLL_ROUTE:
            rules.append(RateRule("polling", 300, 60.0))
        return rules

    def rate_headers(self, decision: RateDecision, state: SandboxState) -> dict[str, str]:
        # Header names beyond the prefix are UNKNOWN; ASSUMPTION Limit/Remaining/Reset (seconds).
        return seconds_reset_headers(decision, state)

    def too_many_requests(
        self, request: Request, decision: RateDecision, state: SandboxState
    ) -> Response:
        response = hog_error(request, 429, "Rate limit exceeded. Please slow down and retry.")
        response.headers.update(self.rate_headers(decision, state))
        return response

    def server_error(self, request: Request, status: int) -> Response:
        messages = {
            500: "Internal server error.",
            502: "Upstream provider error.",
            503: "Service temporarily unavailable.",
            504: "Upstream timeout.",
        }
        return hog_error(request, status, messages.get(status, "Server error."))

    def default_headers(self, request: Request) -> dict[str, str]:
        return {"X-Request-Id": request_id(request)}


LEMLIST = LemlistDialect()
ENRICHSO = EnrichsoDialect()
THEHOG = ThehogDialect()
