"""enrich.so wire helpers: success envelope, problem+json errors, ids and request validation.

Validation details mimic the provider's Fastify/ajv style, field-scoped: `body/email Invalid email`,
`querystring/limit must be <= 1000` (providers.md 2.10).
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from enrich_pipeline.sandbox._text import is_valid_email_syntax
from enrich_pipeline.sandbox.dialects import problem
from enrich_pipeline.sandbox.routing import Call
from enrich_pipeline.sandbox.wallet import Wallet

PROVIDER = "enrichso"
OBJECT_ID = re.compile(r"^[a-f0-9]{24}$")
MAX_EMAIL = 254


class ApiError(Exception):
    """Raised anywhere in a handler; `problems` turns it into the problem+json response."""

    def __init__(self, status: int, detail: str, **extensions: object) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extensions = extensions


def bad_request(detail: str) -> ApiError:
    return ApiError(400, detail)


def problems(
    handler: Callable[[Call], Awaitable[Response]],
) -> Callable[[Call], Awaitable[Response]]:
    @functools.wraps(handler)
    async def guarded(call: Call) -> Response:
        try:
            return await handler(call)
        except ApiError as error:
            return problem(error.status, error.detail, **error.extensions)

    return guarded


def object_id() -> str:
    """A 24-char lowercase hex id, Mongo ObjectId style: seconds since the epoch, then random."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def ok(data: dict[str, Any], **meta: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, "meta": {"requestId": object_id(), **meta}})


def wallet(call: Call) -> Wallet:
    return call.state.wallets[PROVIDER]


def insufficient(required: int, available: int) -> ApiError:
    # `required` / `currentBalance` / `shortfall` members: reported by a third-party catalogue only
    # (providers.md 2.10, ASSUMPTION, optional); clients must not depend on them.
    return ApiError(
        402,
        f"Not enough credits. Required: {required}, available: {available}",
        required=required,
        currentBalance=available,
        shortfall=required - available,
    )


def require_credits(call: Call, credits: int) -> None:
    """402 before any work when the wallet cannot cover the price (nothing is charged)."""
    purse = wallet(call)
    if not purse.can_cover(credits):
        raise insufficient(credits, purse.balance)


def charge(call: Call, credits: int, description: str, **metadata: Any) -> None:
    purse = wallet(call)
    if not purse.charge(credits, call.key, description, **metadata):
        raise insufficient(credits, purse.balance)


async def sync_latency(call: Call) -> None:
    """The configured think time of a synchronous lookup (scaled by the speed factor)."""
    seconds = call.state.config.scaled(call.state.config.sync_latency_s)
    if seconds > 0:
        await asyncio.sleep(seconds)


def elapsed_ms(started: float) -> int:
    return max(1, round((time.perf_counter() - started) * 1000))


# ------------------------------------------------------------------------------- request checks


async def object_body(call: Call) -> dict[str, Any]:
    is_json, body = await call.json_body()
    if not is_json:
        raise bad_request("body is not valid JSON")
    if not isinstance(body, dict):
        raise bad_request("body must be object")
    return body


def required(body: dict[str, Any], name: str, where: str = "body") -> Any:
    if name not in body or body[name] is None:
        raise bad_request(f"{where} must have required property '{name}'")
    return body[name]


def text(value: Any, path: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise bad_request(f"{path} must be string")
    if not value.strip():
        raise bad_request(f"{path} must NOT have fewer than 1 characters")
    if len(value) > max_len:
        raise bad_request(f"{path} must NOT have more than {max_len} characters")
    return value


def email(value: Any, path: str) -> str:
    address = text(value, path, MAX_EMAIL)
    if not is_valid_email_syntax(address.lower()):
        raise bad_request(f"{path} Invalid email")
    return address


def linkedin_url(value: Any, path: str) -> str:
    url = text(value, path, 500)
    if "linkedin.com/" not in url.lower():
        raise bad_request(f"{path} Invalid LinkedIn profile URL")
    return url


def string_list(
    body: dict[str, Any], name: str, max_items: int, *, optional: bool = False
) -> list[Any]:
    value = body.get(name) if optional else required(body, name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"body/{name} must be array")
    if not value and not optional:
        raise bad_request(f"body/{name} must NOT have fewer than 1 items")
    if len(value) > max_items:
        raise bad_request(f"body/{name} must NOT have more than {max_items} items")
    return value


def webhook_url(body: dict[str, Any]) -> str | None:
    url = body.get("webhookUrl")
    if url is None:
        return None
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise bad_request('body/webhookUrl must match format "uri"')
    return url


def int_query(call: Call, name: str, default: int, low: int, high: int | None) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"querystring/{name} must be integer") from None
    if value < low:
        raise bad_request(f"querystring/{name} must be >= {low}")
    if high is not None and value > high:
        raise bad_request(f"querystring/{name} must be <= {high}")
    return value
