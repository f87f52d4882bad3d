"""Shared pieces of the contract tests (test_contract_*.py): the providers.md examples are fed to our
parsers and compared with values written by hand from providers.md section 4.

Nothing here computes an expected value with our own code: the matchers only compare, the error
helper only builds the `httpx.Response` a provider would send (no HTTP, no mock transport) and
hands it to the same function the transport uses to turn a refused call into a typed error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from enrich_pipeline.model import EnrichmentResult
from enrich_pipeline.providers.errors import ProviderError
from enrich_pipeline.providers.transport import ErrorDetail, SecretAuth, Transport

ErrorParser = Callable[[httpx.Response], ErrorDetail]


def doc(text: str) -> Any:
    """An example body copied verbatim from providers.md (kept as JSON text in the tests)."""
    return json.loads(text)


# ------------------------------------------------------------------------------------ matchers


class Contains:
    """Equal to any string that contains `part` (e.g. a provider_ref that embeds a batch id)."""

    def __init__(self, part: str) -> None:
        self.part = part

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.part in other

    def __repr__(self) -> str:
        return f"<a string containing {self.part!r}>"


class JsonOf:
    """Equal to a string that is the JSON text of `value` (an echoed object kept as correlation)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        try:
            return bool(json.loads(other) == self.value)
        except ValueError:
            return False

    def __repr__(self) -> str:
        return f"<JSON text of {self.value!r}>"


def fields_of(record: EnrichmentResult, expected: Mapping[str, Any]) -> dict[str, Any]:
    """The record's values for the keys of `expected`, so one `==` shows every mismatch at once."""
    return {name: getattr(record, name) for name in expected}


def assert_record(record: EnrichmentResult, **expected: Any) -> None:
    """Every expected field at once; the message lists each mismatch (this module is not rewritten
    by pytest, so it says itself what differs)."""
    actual = fields_of(record, expected)
    wrong = {name: (actual[name], want) for name, want in expected.items() if actual[name] != want}
    assert not wrong, (
        "record fields differ from providers.md (field: got, expected):\n"
        + "\n".join(f"  {name}: {got!r}, expected {want!r}" for name, (got, want) in wrong.items())
    )


def nested_values(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from nested_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from nested_values(item)


def keeps(raw: Mapping[str, Any], fragment: Any) -> bool:
    """providers.md 4.1 `raw`: the untouched provider payload is kept (whole, or as one part of a
    larger raw when a payload is split into several records)."""
    return any(v == fragment for v in nested_values(dict(raw)))


def nd_key(first: str, last: str, domain: str) -> str:
    """providers.md 4.2 rule 3, written out: `nd:` + sha1(lower(first)|lower(last)|domain)."""
    text = f"{first.lower()}|{last.lower()}|{domain}"
    return "nd:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------- error bodies


def response(status: int, content_type: str | None, body: str) -> httpx.Response:
    """The response a provider sends: status, Content-Type and body bytes exactly as documented."""
    headers = {"content-type": content_type} if content_type else {}
    request = httpx.Request("POST", "https://provider.invalid/contract")
    return httpx.Response(status, headers=headers, content=body.encode("utf-8"), request=request)


def classify(
    provider: str, parser: ErrorParser, status: int, content_type: str | None, body: str
) -> ProviderError:
    """The typed error the transport raises for a refused (4xx, not 429) call with this body.

    Transport._client_error is the pure (status, headers, body) -> error step of Transport.request;
    it is called directly, no request is sent. 429 and 5xx are decided inside the retry loop of
    Transport.request (not a pure function): for those only the parser is checked.
    """
    transport = Transport(
        provider=provider,
        base_url="https://provider.invalid",
        auth=SecretAuth(lambda request: None),
        credential_id="contract-tests",
        error_parser=parser,
    )
    try:
        return transport._client_error("POST", "/contract", response(status, content_type, body))
    finally:
        transport.close()
