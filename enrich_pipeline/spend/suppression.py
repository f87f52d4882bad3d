"""The suppression list: people who must never be sent to an enrichment provider.

Applied by every provider asset before it plans a single request, so a suppressed person makes no
request to any provider of the waterfall: they never leave the machine.

File format (`data/suppression.csv`, setting ENRICH_SUPPRESSION_FILE)::

    # comments and blank lines are ignored
    kind,value,note
    email,jane.doe@example-optout.test,asked not to be contacted 2026-10-01
    domain,example-optout.test,a whole company opted out (its subdomains too)
    linkedin,https://www.linkedin.com/in/example-optout-person,

`kind` is `email`, `domain` or `linkedin`; `note` is free text for your own records. A file with a
single column of values (with or without a header) works too: a value containing "@" is an email
(`@acme.com` is the domain acme.com), one containing "linkedin.com/in/" a LinkedIn profile, anything
else a domain. A missing file is an empty list; a bad row is an error naming file, line and field
(better no run than a run that sends someone who opted out).

Matching: emails case-insensitively; a domain covers the company domain and the email domain of a
person, compared by registrable domain, subdomains included (`acme.com` covers `mail.acme.com` and
`https://www.acme.com/about`); LinkedIn by profile slug, whatever the URL variant.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from enrich_pipeline.identity import linkedin_slug, normalise_email, registrable_domain
from enrich_pipeline.model import Attempt, EnrichmentResult, Outcome, RecordStatus
from enrich_pipeline.spend.waterfall import Known

KINDS = ("email", "domain", "linkedin")
_HEADER_WORDS = frozenset(
    {"kind", "value", "note", "email", "emails", "domain", "domains", "linkedin", "linkedin_url"}
    | {"url", "values", "entry", "entries"}
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class SuppressionFileError(ValueError):
    """A row of the suppression file that cannot be read: names the file, line and field."""


@dataclass(frozen=True)
class SuppressionList:
    """Normalised entries, each mapped to the line of the file it came from."""

    emails: Mapping[str, int] = field(default_factory=dict)
    domains: Mapping[str, int] = field(default_factory=dict)
    slugs: Mapping[str, int] = field(default_factory=dict)
    source: Path | None = None

    def __len__(self) -> int:
        return len(self.emails) + len(self.domains) + len(self.slugs)

    @classmethod
    def load(cls, path: Path | str) -> SuppressionList:
        """The list in `path`; empty when the file does not exist."""
        path = Path(path)
        if not path.exists():
            return cls(source=path)
        if not path.is_file():
            raise SuppressionFileError(f"{path}: the suppression list must be a file")
        entries: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        columns: dict[str, int] | None = None
        for line, cells in _rows(path):
            if columns is None:
                columns = _header(cells)
                if columns:
                    continue
            kind, value = _kind_and_value(cells, columns, path, line)
            entries[kind].setdefault(_normalised(kind, value, path, line), line)
        return cls(entries["email"], entries["domain"], entries["linkedin"], path)

    def matches(self, known: Known) -> str | None:
        """Why this person is suppressed (e.g. "domain example-optout.test"), or None."""
        email = normalise_email(known.email)
        if email and email in self.emails:
            return f"email {email}"
        slug = _slug(known.linkedin_url)
        if slug and slug in self.slugs:
            return f"linkedin /in/{slug}"
        for value in (email, known.company_domain):  # the email's domain, then the company's
            for host in _domain_forms(value):
                for domain in _parents(host):
                    if domain in self.domains:
                        return f"domain {domain}"
        return None

    def screen(self, people: Iterable[Known]) -> dict[str, str]:
        """person_key -> reason, for every suppressed person among `people`."""
        if not len(self):
            return {}
        found: dict[str, str] = {}
        for known in people:
            if known.person_key not in found and (reason := self.matches(known)):
                found[known.person_key] = reason
        return found


def suppressed_attempts(provider: str, suppressed: Mapping[str, str]) -> list[Attempt]:
    """One `skipped_suppressed` attempt per suppressed person: recorded, never sent (no fields were
    requested and nothing reached the provider or the ledger)."""
    return [
        Attempt(
            EnrichmentResult(
                person_key=key,
                provider=provider,
                record_status=RecordStatus.PENDING,
                reason=f"suppressed: {reason}",
            ),
            frozenset(),
            Outcome.SKIPPED_SUPPRESSED,
        )
        for key, reason in suppressed.items()
    ]


# ------------------------------------------------------------------------------------ reading


def _rows(path: Path) -> Iterable[tuple[int, list[str]]]:
    """(line number, cells) of every line that is not blank or a `#` comment."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SuppressionFileError(f"{path}: not UTF-8 text ({exc})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        if any(cells):
            yield number, cells


def _header(cells: list[str]) -> dict[str, int]:
    """Column positions when `cells` is a header row, else {} (the row is data)."""
    words = [c.lower().replace(" ", "_") for c in cells]
    if not words or words[0] not in _HEADER_WORDS or any(("@" in w or "." in w) for w in words):
        return {}
    return {w: i for i, w in enumerate(words)}


def _kind_and_value(
    cells: list[str], columns: dict[str, int], path: Path, line: int
) -> tuple[str, str]:
    if "kind" in columns:
        kind = _cell(cells, columns["kind"]).lower()
        value = _cell(cells, columns.get("value", 1))
        if kind not in KINDS:
            raise SuppressionFileError(
                f"{path}:{line}: kind {kind!r} is not one of {', '.join(KINDS)}"
            )
    elif len(cells) > 1 and cells[0].lower() in KINDS:  # kind,value rows without a header
        kind, value = cells[0].lower(), cells[1]
    else:
        value = _cell(cells, columns.get("value", 0))
        kind = _inferred_kind(value)
    if not value:
        raise SuppressionFileError(f"{path}:{line}: value is empty (kind {kind})")
    return kind, value


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def _inferred_kind(value: str) -> str:
    lowered = value.lower()
    if "linkedin.com/in/" in lowered:
        return "linkedin"
    if "@" in lowered and not lowered.startswith("@"):
        return "email"
    return "domain"


def _normalised(kind: str, value: str, path: Path, line: int) -> str:
    if kind == "email":
        email = normalise_email(value.removeprefix("mailto:"))
        if not email or not _EMAIL.match(email):
            raise SuppressionFileError(f"{path}:{line}: value {value!r} is not an email address")
        return email
    if kind == "linkedin":
        slug = _slug(value)
        if not slug:
            raise SuppressionFileError(
                f"{path}:{line}: value {value!r} is not a LinkedIn profile URL "
                "(expected https://www.linkedin.com/in/<name>)"
            )
        return slug
    forms = _domain_forms(value.removeprefix("@"))
    if not forms:
        raise SuppressionFileError(f"{path}:{line}: value {value!r} is not a domain")
    return forms[-1]  # the registrable domain when the public-suffix list knows it


@lru_cache(maxsize=65536)  # pure; every person is screened at every provider
def _domain_forms(value: str | None) -> tuple[str, ...]:
    """The host of a domain-ish value (scheme, path, port, `www.` dropped), then its registrable
    domain when different; () when it is not a host name."""
    if not value:
        return ()
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    try:
        host = (urlsplit(text if "://" in text else f"//{text}").hostname or "").rstrip(".")
    except ValueError:  # urlsplit refuses some malformed values outright (e.g. an unbalanced "[")
        return ()
    host = host.removeprefix("www.")
    if not _HOST.match(host):
        return ()
    registrable = registrable_domain(host)
    return (host, registrable) if registrable and registrable != host else (host,)


def _slug(url: str | None) -> str | None:
    try:
        return linkedin_slug(url)
    except ValueError:  # urlsplit refuses some malformed URLs outright
        return None


def _parents(host: str) -> Iterable[str]:
    """`a.b.acme.com`, `b.acme.com`, `acme.com`, `com`: a listed domain covers its subdomains."""
    labels = host.split(".")
    for start in range(len(labels)):
        yield ".".join(labels[start:])
