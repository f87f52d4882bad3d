"""Request validation for The Hog emulator, in the NestJS class-validator style the API answers with.

A violation is `{"property": "body.<path>", "message": "...", "constraints": {<rule>: "..."}}`
(providers.md 3.6); a request with any violation is refused whole with 400 `Validation failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FIELDS = ("contact.email", "contact.phone", "signals", "profile")
CONTACT_FIELDS = frozenset({"contact.email", "contact.phone"})
IDENTIFIER_KEYS = ("linkedin_url", "email", "x_handle", "github_username")
MAX_IDENTIFIERS = 100  # DOC (3.2)
MAX_FIELDS = 8  # ASSUMPTION: the MCP client's cap (3.2)
MAX_FIELD_LENGTH = 80
# Legacy /api/people/enrich: batch maximum UNKNOWN (3.4); ASSUMPTION the current API's 100.
MAX_LEGACY_INPUTS = 100
LEGACY_PLATFORMS = ("linkedin", "github", "x", "twitter")
NOT_JSON = object()  # marker for a body that is not JSON at all

Violation = dict[str, Any]


def violation(prop: str, rule: str, message: str) -> Violation:
    return {"property": prop, "message": message, "constraints": {rule: message}}


def _name(prop: str) -> str:
    """class-validator names the property itself ("fields"), the envelope carries the full path."""
    return prop.rsplit(".", 1)[-1]


def _body_problem(body: Any) -> list[Violation]:
    if body is NOT_JSON:
        return [violation("body", "isJson", "body must be valid JSON")]
    if not isinstance(body, dict):
        return [violation("body", "isObject", "body must be an object")]
    return []


def _string_array(
    value: Any, prop: str, *, max_size: int, allowed: tuple[str, ...] | None = None
) -> list[Violation]:
    name = _name(prop)
    if not isinstance(value, list):
        return [violation(prop, "isArray", f"{name} must be an array")]
    if not value:
        return [violation(prop, "arrayNotEmpty", f"{name} should not be empty")]
    if len(value) > max_size:
        return [
            violation(prop, "arrayMaxSize", f"{name} must contain no more than {max_size} elements")
        ]
    if not all(isinstance(v, str) for v in value):
        return [violation(prop, "isString", f"each value in {name} must be a string")]
    if allowed is not None and any(v not in allowed for v in value):
        listed = ", ".join(allowed)
        return [
            violation(
                prop, "isIn", f"each value in {name} must be one of the following values: {listed}"
            )
        ]
    return []


# ------------------------------------------------------------------------- POST /api/enrichments


@dataclass(frozen=True)
class EnrichmentRequest:
    """A valid PostEnrichmentDto."""

    fields: tuple[str, ...]
    identifiers: tuple[dict[str, str], ...]
    single: bool  # `identifier` was sent (not `identifiers`)
    signals_config: dict[str, Any] = field(default_factory=dict)

    @property
    def answers_sync(self) -> bool:
        """DOC (3.2): a single LinkedIn identifier asking only for contact fields completes at once;
        ASSUMPTION: everything else (batch, signals, profile, other identifiers) is async."""
        return (
            self.single
            and "linkedin_url" in self.identifiers[0]
            and set(self.fields) <= CONTACT_FIELDS
        )


def check_identifier(value: Any, prop: str) -> list[Violation]:
    """PersonIdentifier: exactly one of linkedin_url / email / x_handle / github_username."""
    name = _name(prop)
    if not isinstance(value, dict):
        return [violation(prop, "isObject", f"{name} must be an object")]
    problems = [
        violation(f"{prop}.{key}", "whitelistValidation", f"property {key} should not exist")
        for key in value
        if key not in IDENTIFIER_KEYS
    ]
    present = [key for key in IDENTIFIER_KEYS if key in value]
    if len(present) != 1:
        message = f"{name} must have exactly one of {', '.join(IDENTIFIER_KEYS)}"
        problems.append(violation(prop, "exactlyOneOf", message))
    for key in present:
        text = value[key]
        if not isinstance(text, str) or not text.strip():
            problems.append(
                violation(f"{prop}.{key}", "isNotEmpty", f"{key} must be a non-empty string")
            )
        elif key == "email" and "@" not in text:
            problems.append(violation(f"{prop}.{key}", "isEmail", "email must be an email"))
    return problems


def _check_signals_config(value: Any) -> list[Violation]:
    prop = "body.signals_config"
    if not isinstance(value, dict):
        return [violation(prop, "isObject", "signals_config must be an object")]
    problems: list[Violation] = []
    for key in ("platforms", "intent_signals"):
        items = value.get(key)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, str) for i in items)
        ):
            problems.append(
                violation(f"{prop}.{key}", "isArray", f"{key} must be an array of strings")
            )
    for key in ("max_posts", "handles"):
        if value.get(key) is not None and not isinstance(value[key], dict):
            problems.append(violation(f"{prop}.{key}", "isObject", f"{key} must be an object"))
    since = value.get("since_days")
    if since is not None and (
        isinstance(since, bool) or not isinstance(since, int | float) or since < 1
    ):
        problems.append(
            violation(f"{prop}.since_days", "min", "since_days must not be less than 1")
        )
    return problems


def _check_identifiers(body: dict[str, Any]) -> list[Violation]:
    has_one, has_many = "identifier" in body, "identifiers" in body
    if has_one == has_many:
        message = "exactly one of identifier or identifiers must be provided"
        return [violation("body", "exactlyOneOf", message)]
    if has_one:
        return check_identifier(body["identifier"], "body.identifier")
    batch = body["identifiers"]
    prop = "body.identifiers"
    if not isinstance(batch, list):
        return [violation(prop, "isArray", "identifiers must be an array")]
    if not batch:
        return [violation(prop, "arrayNotEmpty", "identifiers should not be empty")]
    if len(batch) > MAX_IDENTIFIERS:
        message = f"identifiers must contain no more than {MAX_IDENTIFIERS} elements"
        return [violation(prop, "arrayMaxSize", message)]
    return [p for i, item in enumerate(batch) for p in check_identifier(item, f"{prop}.{i}")]


def parse_enrichment(body: Any) -> tuple[EnrichmentRequest | None, list[Violation]]:
    problems = _body_problem(body)
    if problems:
        return None, problems
    if "fields" not in body:
        problems.append(violation("body.fields", "isArray", "fields must be an array"))
    else:
        problems += _string_array(
            body["fields"], "body.fields", max_size=MAX_FIELDS, allowed=FIELDS
        )
    problems += _check_identifiers(body)
    if body.get("signals_config") is not None:
        problems += _check_signals_config(body["signals_config"])
    if problems:
        return None, problems
    single = "identifier" in body
    identifiers = [body["identifier"]] if single else body["identifiers"]
    return (
        EnrichmentRequest(
            fields=tuple(dict.fromkeys(body["fields"])),  # duplicates asked once
            identifiers=tuple(identifiers),
            single=single,
            signals_config=body.get("signals_config") or {},
        ),
        [],
    )


# ----------------------------------------------------------------------- POST /api/people/enrich


@dataclass(frozen=True)
class LegacyRequest:
    """A valid legacy enrichment body (providers.md 3.4)."""

    source: Literal["people", "identities"]
    inputs: tuple[dict[str, Any], ...]  # the entries as sent, echoed back per item
    async_preferred: bool
    max_email_attempts: int
    max_phone_attempts: int
    project_id: str | None


def _check_legacy_entry(entry: Any, source: str, prop: str) -> list[Violation]:
    if not isinstance(entry, dict):
        return [violation(prop, "isObject", f"{_name(prop)} must be an object")]
    if source == "people":
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            return [violation(f"{prop}.id", "isString", "id must be a string")]
        return []
    problems = []
    if entry.get("platform") not in LEGACY_PLATFORMS:
        message = f"platform must be one of the following values: {', '.join(LEGACY_PLATFORMS)}"
        problems.append(violation(f"{prop}.platform", "isIn", message))
    if not isinstance(entry.get("username"), str) or not entry["username"].strip():
        problems.append(
            violation(f"{prop}.username", "isNotEmpty", "username must be a non-empty string")
        )
    return problems


def _check_attempts(body: dict[str, Any], key: str, high: int) -> list[Violation]:
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        message = f"{key} must be an integer between 1 and {high}"
        return [violation(f"body.{key}", "isInt", message)]
    return []


def _check_legacy_inputs(body: dict[str, Any]) -> list[Violation]:
    sources = [s for s in ("people", "identities") if s in body]
    if len(sources) != 1:
        return [
            violation("body", "exactlyOneOf", "exactly one of people or identities is required")
        ]
    source = sources[0]
    entries, prop = body[source], f"body.{source}"
    if not isinstance(entries, list):
        return [violation(prop, "isArray", f"{source} must be an array")]
    if not entries:
        return [violation(prop, "arrayNotEmpty", f"{source} should not be empty")]
    if len(entries) > MAX_LEGACY_INPUTS:
        message = f"{source} must contain no more than {MAX_LEGACY_INPUTS} elements"
        return [violation(prop, "arrayMaxSize", message)]
    return [
        p
        for i, entry in enumerate(entries)
        for p in _check_legacy_entry(entry, source, f"{prop}.{i}")
    ]


def parse_legacy(
    body: Any, header_project: str | None
) -> tuple[LegacyRequest | None, list[Violation]]:
    problems = _body_problem(body)
    if problems:
        return None, problems
    problems = _check_legacy_inputs(body)
    if not isinstance(body.get("asyncPreferred", True), bool):
        problems.append(
            violation("body.asyncPreferred", "isBoolean", "asyncPreferred must be a boolean value")
        )
    problems += _check_attempts(body, "maxEmailProviderAttempts", 2)
    problems += _check_attempts(body, "maxPhoneProviderAttempts", 3)
    project = body.get("projectId")
    if project is not None and not isinstance(project, str):
        problems.append(violation("body.projectId", "isString", "projectId must be a string"))
    if problems:
        return None, problems
    source: Literal["people", "identities"] = "people" if "people" in body else "identities"
    return (
        LegacyRequest(
            source=source,
            inputs=tuple(body[source]),
            async_preferred=body.get("asyncPreferred", True),
            max_email_attempts=body.get("maxEmailProviderAttempts") or 2,
            max_phone_attempts=body.get("maxPhoneProviderAttempts") or 3,
            project_id=project or header_project,  # projectId overrides X-Project-Id (DOC)
        ),
        [],
    )
