"""Guards against hostile or misleading cell values: spreadsheet formulas and look-alike domains.

Formulas (CSV injection, OWASP "CSV Injection"): a cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return is run as a formula by Excel, LibreOffice and Google Sheets when a CSV is
opened there (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`, `@SUM(...)`, `-2+3`). We read every cell as
data, never evaluate it, and:

* `formula_reason` says why such a value is kept out of a prospect (it is never sent to a provider
  as a name, email, company or title: a real value does not start like that);
* `csv_safe` neutralises a value for any CSV we write, by prefixing a single quote, as OWASP
  advises, so that a spreadsheet shows the text instead of running it.

Domains (IDNA, UTS #46 and UTS #39):

* `canonical_domain` is the one stored form of a domain: the IDNA U-label form after UTS #46
  mapping (lower case, NFC, full-width letters and ideographic full stops folded), the same form
  email-validator gives the domain of an email address. `xn--bcher-kva.de`, `BÜCHER.de` and
  `bu\u0308cher.de` all become `bücher.de`. A pure-ASCII domain is returned as given, so no
  existing person_key changes.
* `lookalike_reason` flags a label that mixes scripts (Latin `a` next to Cyrillic `\u0430`: UTS #39's
  "highly restrictive" level, which still allows Han with Hiragana/Katakana, Hangul or Bopomofo)
  or that is written wholly in another script with letters that all look Latin (`\u0430\u0440\u0440\u04cf\u0435`) under an
  ASCII top-level domain. Scripts and confusables come from the Unicode data that
  `confusable_homoglyphs` ships, not from a list of our own.
"""

from __future__ import annotations

from functools import lru_cache

import idna
from confusable_homoglyphs import categories, confusables

# -- formulas --------------------------------------------------------------------------------

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(value: str | None) -> bool:
    """Whether a spreadsheet would take this cell for a formula (see FORMULA_TRIGGERS)."""
    return bool(value) and value[0] in FORMULA_TRIGGERS  # type: ignore[index]


def formula_reason(value: str | None) -> str | None:
    """Why a (cleaned) value is kept out of a prospect, or None when it does not start a formula."""
    if not starts_formula(value):
        return None
    assert value is not None
    return (
        f"starts with {value[0]!r} like a spreadsheet formula: read as text, kept out of the "
        "prospect and never sent to a provider (if the value is real, remove the leading "
        f"{value[0]!r} in the source file)"
    )


def csv_safe(value: object) -> object:
    """A cell value safe to write into a CSV file: text that starts a formula gets a leading
    single quote (OWASP); anything else is returned unchanged."""
    if isinstance(value, str) and starts_formula(value):
        return "'" + value
    return value


# -- domains ---------------------------------------------------------------------------------

_NEUTRAL = frozenset({"COMMON", "INHERITED"})
# UTS #39 "highly restrictive": one script, or Latin + one of these CJK combinations.
_ALLOWED_MIXES: tuple[frozenset[str], ...] = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


class DomainError(ValueError):
    """A domain that is not a valid IDNA name (the message says why)."""


@lru_cache(maxsize=65536)
def fold_domain_text(value: str) -> str:
    """A domain, URL or address with UTS #46 mapping applied (full-width letters and dots, case,
    NFC) before its domain is taken out; ASCII text is returned as given."""
    if value.isascii():
        return value
    try:
        return idna.uts46_remap(value, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError) as error:
        raise DomainError(f"not a valid internationalised domain name: {error}") from error


@lru_cache(maxsize=65536)
def canonical_domain(domain: str) -> str:
    """The stored form of a domain (see the module docstring); DomainError when it is not a
    valid internationalised domain name. ASCII domains without `xn--` labels come back as given."""
    if domain.isascii() and "xn--" not in domain:
        return domain
    try:
        return idna.decode(idna.encode(domain, uts46=True))
    except (idna.IDNAError, UnicodeError) as error:
        raise DomainError(f"not a valid internationalised domain name: {error}") from error


def _scripts(label: str) -> set[str]:
    return set(categories.unique_aliases(label)) - _NEUTRAL


def _latin_lookalike(label: str) -> bool:
    """A label in one non-Latin script whose every letter has a Latin homoglyph."""
    letters = {ch for ch in label if categories.alias(ch) not in _NEUTRAL}
    found = confusables.is_confusable(label, greedy=True, preferred_aliases=["latin"]) or []
    return bool(letters) and letters <= {item["character"] for item in found}


@lru_cache(maxsize=65536)
def lookalike_reason(domain: str) -> str | None:
    """Why a domain (canonical form) may impersonate another, or None. ASCII domains pass."""
    if domain.isascii():
        return None
    labels = domain.split(".")
    ascii_tld = labels[-1].isascii()
    for label in labels:
        if label.isascii():
            continue
        scripts = _scripts(label)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
            names = " and ".join(sorted(s.title() for s in scripts))
            return (
                f"look-alike domain: the label {label!r} mixes {names} letters (a homograph of "
                "another domain?); check the domain and write it in one script"
            )
        if ascii_tld and scripts != {"LATIN"} and _latin_lookalike(label):
            script = " and ".join(sorted(s.title() for s in scripts))
            return (
                f"look-alike domain: the label {label!r} is written in {script} letters that all "
                "look Latin (a homograph of another domain?); check the domain"
            )
    return None
