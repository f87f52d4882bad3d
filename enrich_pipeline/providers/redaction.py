"""One redaction for every provider text that is logged, raised or stored: no credential survives it.

A provider may echo what it was sent (a refused key in a 401 body, the Authorization header in a
debug message); that text then travels into exceptions, logs, Dagster's event log, compute logs and
the ledger. Everything a provider says passes through here first:

* the configured credentials, in every form they travel in: plain, base64 (`key`, the Basic forms
  `:key` and `key:`, The Hog's `access:secret` pair; standard and URL-safe alphabets, with and
  without padding), URL-encoded (`quote` and `quote_plus`, either hex case) and JSON-escaped.
  The transport registers them (`register`) when a client is built, since it knows what it sends;
* in error text (`redact`), anything shaped like a credential even when it is not one of ours:
  `Bearer xxx` / `Basic xxx`, the value of `Authorization:` / `X-Api-Key:`-style headers, and long
  high-entropy values of `key=`, `token=`, `api_key=`, `secret=`… query, form or JSON parameters.

`redact_known` removes only the registered credentials: it is for answers that are data (a
payload stored in the ledger), where a shape-based rule could damage a value.

Plain Python, no dependencies: providers, spend and defs all import it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable
from itertools import permutations
from urllib.parse import quote, quote_plus

PLACEHOLDER = "[redacted]"
# Shorter values are not treated as secrets: the sandbox's published credential `sandbox` would
# otherwise be cut out of every URL and message that names the sandbox.
MIN_SECRET_LENGTH = 8


def _b64_variants(raw: str) -> set[str]:
    data = raw.encode()
    out = set()
    for encoded in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
        out.add(encoded)
        out.add(encoded.rstrip("="))
    return out


def _url_variants(value: str) -> set[str]:
    out = set()
    for encoded in (quote(value, safe=""), quote_plus(value, safe=""), quote(value)):
        out.add(encoded)
        out.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    return out


def _kept(secrets: Iterable[str | None]) -> list[str]:
    return [s for s in dict.fromkeys(secrets) if s and len(s) >= MIN_SECRET_LENGTH]


def forms_of(*secrets: str | None) -> set[str]:
    """Every form in which these credentials can appear in a text (a pair's joint forms too)."""
    kept = _kept(secrets)
    out: set[str] = set()
    for secret in kept:
        out |= {secret, *_url_variants(secret)}
        for raw in (secret, f":{secret}", f"{secret}:"):  # Basic auth: user:password
            out |= _b64_variants(raw)
    for first, second in permutations(kept, 2):  # The Hog's access:secret, any other pair
        out |= _b64_variants(f"{first}:{second}")
    # as they look inside JSON text (a slash may be escaped; other escapes are rare in keys)
    out |= {json.dumps(f)[1:-1] for f in out} | {f.replace("/", "\\/") for f in out}
    return {f for f in out if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """The redaction for one set of credentials (one client's). Its repr never shows them."""

    def __init__(self, *secrets: str | None) -> None:
        self._forms: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        new = forms_of(*secrets) - set(self._forms)
        if new:
            self._forms = tuple(sorted({*self._forms, *new}, key=len, reverse=True))

    def known(self, text: str) -> str:
        """`text` without any form of these credentials (for answers that are data)."""
        if not text:
            return text
        for form in self._forms:
            if form in text:
                text = text.replace(form, PLACEHOLDER)
        return text

    def __call__(self, text: str) -> str:
        """Error text: these credentials in every form, and anything shaped like a credential."""
        return redact_shapes(self.known(text)) if text else text

    def holds(self, text: str) -> bool:
        """Whether `text` still holds any form of these credentials."""
        return any(form in text for form in self._forms)

    def __repr__(self) -> str:
        return "Redactor(***)"


_lock = threading.Lock()
_registered = Redactor()  # every credential of every client built in this process


def register(*secrets: str | None) -> None:
    """Add one client's credentials (together: a pair gets its joint forms) to `redact`."""
    with _lock:
        _registered.add(*secrets)


def redact_known(text: str) -> str:
    """`text` without any form of a registered credential (for answers that are data)."""
    return _registered.known(text)


# ----------------------------------------------------------------------------- shaped like one

_TOKEN = r"[A-Za-z0-9._~+/%-]"
_NOT_DONE = r"(?!\[redacted\])"  # already redacted: leave it (redaction is idempotent)
# `Authorization: Bearer xxx`, `"x-api-key": "xxx"`, `X-Secret-Key=xxx` ...: the header's value.
_HEADER = re.compile(
    r"(?i)(?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bx-access-key|\bx-secret-key"
    r"|\bx-auth-token|\bcookie)(?P<sep>[\"']?\s*[:=]\s*[\"']?)" + _NOT_DONE + r"(?P<value>"
    r"(?:(?:bearer|basic|token|digest)\s+)?(?:\[redacted\]|[^\s\"',;&{}\[\]]+))"
)
# `Bearer xxx` / `Basic xxx` anywhere: the scheme is followed by the credential.
_SCHEME = re.compile(r"(?i)\b(?P<name>bearer|basic)(?P<sep>\s+)(?P<value>" + _TOKEN + r"{8,}=*)")
# `api_key=xxx`, `?key=xxx`, `"token": "xxx"`, `client_secret: xxx` ...
_PARAM = re.compile(
    r"(?i)(?P<name>\b[a-z0-9_.-]*(?:key|token|secret|password|passwd|signature|credentials?))"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>" + _TOKEN + r"{16,}=*)"
)


def _token_like(value: str) -> bool:
    """Not a word: a digit or a symbol in it, or upper case after its first letter."""
    return any(c.isdigit() or c in "+/=_-.~%" for c in value) or any(c.isupper() for c in value[1:])


def _high_entropy(value: str) -> bool:
    """Long, varied, and mixing letters and digits: a generated token, not a word or a name."""
    return (
        len(value) >= 16
        and len(set(value)) >= 8
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def _replace_value(match: re.Match[str]) -> str:
    return f"{match.group('name')}{match.group('sep')}{PLACEHOLDER}"


def _replace_if_token(match: re.Match[str]) -> str:
    return _replace_value(match) if _token_like(match.group("value")) else match.group(0)


def _replace_if_high_entropy(match: re.Match[str]) -> str:
    return _replace_value(match) if _high_entropy(match.group("value")) else match.group(0)


def redact_shapes(text: str) -> str:
    """Anything shaped like a credential, ours or not: auth headers' values, bearer/basic
    credentials, long high-entropy values of key/token/secret parameters."""
    if not text:
        return text
    text = _HEADER.sub(_replace_value, text)
    text = _SCHEME.sub(_replace_if_token, text)
    return _PARAM.sub(_replace_if_high_entropy, text)


def redact(text: str) -> str:
    """Error text made safe to log, raise or store: every registered credential in every form,
    and anything shaped like a credential."""
    if not text:
        return text
    return redact_shapes(redact_known(text))


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
