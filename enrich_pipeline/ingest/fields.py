"""Field normalisers for raw prospect columns: whitespace, name case, emails, domains, LinkedIn.

Each works on a pandas Series of strings (None or "" = missing) and computes its answer once per
distinct value, so the cost follows the number of distinct values rather than the number of rows.
Inside, columns are object dtype with None for missing (never NaN: NaN is truthy and would pass
for a value in plain Python); `as_text` turns them into pandas' string dtype for output, which is
also what a Parquet round trip gives back (pandas 3: missing = NaN, test with `pd.isna`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from enrich_pipeline.identity import canonical_linkedin_url, registrable_domain
from enrich_pipeline.ingest.guards import (
    DomainError,
    canonical_domain,
    fold_domain_text,
    lookalike_reason,
)

# Mail providers whose domain says nothing about the employer (a small, well-known set).
FREE_MAIL: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
        "yahoo.es", "yahoo.it", "ymail.com", "outlook.com", "hotmail.com", "hotmail.co.uk",
        "hotmail.fr", "hotmail.de", "hotmail.es", "hotmail.it", "live.com", "live.co.uk",
        "live.fr", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net",
        "gmx.com", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de", "proton.me",
        "protonmail.com", "pm.me", "tutanota.com", "zoho.com", "yandex.ru", "yandex.com",
        "mail.ru", "rambler.ru", "qq.com", "163.com", "126.com", "sina.com", "naver.com",
        "daum.net", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it",
        "virgilio.it", "tiscali.it", "btinternet.com", "sky.com", "comcast.net", "verizon.net",
        "att.net", "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "bol.com.br",
        "uol.com.br", "terra.com.br", "rediffmail.com", "fastmail.com", "hey.com", "mail.com",
    }
)  # fmt: skip
# Sites that people paste into a "website" column but that are not the employer's own domain.
NOT_COMPANY_SITES: frozenset[str] = frozenset(
    {"linkedin.com", "lnkd.in", "crunchbase.com", "wikipedia.org", "bit.ly"}
)

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def as_objects(series: pd.Series) -> pd.Series:
    """Object dtype, None for every missing value (NaN, pd.NA, None)."""
    objects = series.astype(object)
    return objects.where(series.notna(), None)


def as_text(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The given columns as pandas' string dtype (in place, returned for chaining)."""
    for column in columns:
        frame[column] = frame[column].astype("str")
    return frame


def map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """`func` applied once per distinct non-missing value; missing stays None."""
    series = as_objects(series)
    present = series.notna()
    table: dict[Hashable, Any] = {value: func(value) for value in series[present].unique()}
    out = pd.Series([None] * len(series), index=series.index, dtype=object)
    out[present] = series[present].map(table)
    return as_objects(out)


def clean_text(series: pd.Series) -> pd.Series:
    """Trimmed, inner whitespace (also tabs, NBSP, zero-width) collapsed to one space; "" → None."""

    def tidy(value: Any) -> str | None:
        text = _SPACES.sub(" ", str(value)).strip()
        return text or None

    return map_unique(series, tidy)


# -- names -----------------------------------------------------------------------------------

# Lower-case surname particles ("van der Berg", "de Jong", "von Ahlen", "del Río", "van 't Hof"),
# lowered only before another word so that a surname "De" or "Van" alone keeps its capital.
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "dei", "di", "da", "das", "do", "dos", "du",
     "ter", "ten", "te", "zu", "zum", "zur", "'t", "af", "av"}
)  # fmt: skip
# Articles lowered only right after a particle: "de la Cruz", "van de Velde", "de los Santos".
_ARTICLES = frozenset({"la", "las", "le", "les", "lo", "los", "l'", "y", "e"})
_APOSTROPHE = re.compile("['\u2019`\u00b4]")  # apostrophe, right quote, grave, acute


def _capitalise(part: str) -> str:
    if not part:
        return part
    if len(part) > 2 and part[:2].lower() == "mc":  # McAllister, McDonald
        return "Mc" + part[2].upper() + part[3:].lower()
    return part[0].upper() + part[1:].lower()


# Syllables of romanised Korean given names, written "Ji-woo", "Seo-yeon" (not "Ji-Woo"): a
# hyphenated first name made only of these keeps its second syllable lower-case.
_KOREAN_SYLLABLES = frozenset(
    {"ji", "woo", "hye", "jin", "seo", "yeon", "min", "jun", "joon", "su", "soo", "ha", "eun",
     "da", "hyun", "young", "yeong", "ho", "hee", "seung", "sung", "jae", "jung", "jeong",
     "kyung", "mi", "na", "won", "yoon", "yun", "hoon", "hun", "bin", "chan", "chul", "dong",
     "gyu", "in", "ju", "sang", "seok", "sik", "tae", "woong", "yong", "ye", "yu", "so", "si"}
)  # fmt: skip


def _capitalise_word(word: str) -> str:
    """Anne-Sophie, O'Brien, D'Angelo; letters after a longer apostrophe prefix stay lower."""
    pieces = []
    for hyphenated in word.split("-"):
        head, sep, tail = hyphenated.partition("'") if "'" in hyphenated else (hyphenated, "", "")
        if sep and len(head) == 1 and tail:
            pieces.append(head.upper() + "'" + _capitalise(tail))
        else:
            pieces.append(_capitalise(head) + sep + tail.lower())
    return "-".join(pieces)


def fix_name_case(name: str, *, surname: bool) -> str:
    """Title case for a name written ALL CAPS or all lower; mixed case (McAllister, DeShawn,
    van der Berg) and scripts without case (李, 山田) are left as written."""
    if not (name.isupper() or name.islower()):
        return name
    parts = name.lower().split("-")
    if not surname and len(parts) == 2 and all(p in _KOREAN_SYLLABLES for p in parts):
        return parts[0].capitalize() + "-" + parts[1]
    words = _APOSTROPHE.sub("'", name).split(" ")
    out: list[str] = []
    lowered_before = False
    for index, word in enumerate(words):
        lower = word.lower()
        not_last = index < len(words) - 1
        particle = lower in _PARTICLES or (lowered_before and lower in _ARTICLES)
        if surname and not_last and particle:
            out.append(lower)
            lowered_before = True
        else:
            out.append(_capitalise_word(word))
            lowered_before = False
    return " ".join(out)


def name_case(series: pd.Series, *, surname: bool) -> pd.Series:
    return map_unique(series, lambda value: fix_name_case(value, surname=surname))


def country_case(value: str) -> str:
    """ "de" → "DE"; "germany" / "GERMANY" → "Germany"; anything mixed-case as written."""
    if len(value) == 2 and value.isalpha():
        return value.upper()
    if not (value.isupper() or value.islower()):
        return value
    words = value.lower().split(" ")
    small = {"of", "and", "the"}
    return " ".join(w if i and w in small else _capitalise_word(w) for i, w in enumerate(words))


# -- emails ----------------------------------------------------------------------------------


def check_email(value: str) -> tuple[str | None, str | None]:
    """(lower-cased address, None) when the syntax is valid, else (None, why). Syntax only: no DNS."""
    text = value.strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    text = text.strip().strip("<>").strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        return None, f"invalid email address: {error}"
    address = result.normalized.lower()
    lookalike = lookalike_reason(address.rsplit("@", 1)[1])
    if lookalike:
        return None, f"email {lookalike}"
    return address, None


def emails(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(valid addresses or None, reason for each dropped one or None)."""
    checked = map_unique(series, check_email)
    address = checked.map(lambda pair: pair[0] if pair else None)
    reason = checked.map(lambda pair: pair[1] if pair else None)
    return as_objects(address), as_objects(reason)


# -- company domains -------------------------------------------------------------------------


def check_company_domain(value: str) -> tuple[str | None, str | None]:
    """(registrable domain, None) of a domain or website URL, else (None, why it was dropped).
    An internationalised domain is stored in its canonical U-label form (`guards`), and a
    look-alike one (mixed scripts, all-confusable letters) is dropped."""
    try:
        domain = registrable_domain(fold_domain_text(value))
        if domain is None:
            return None, "no registrable domain in this value"
        domain = canonical_domain(domain)
    except DomainError as error:
        return None, str(error)
    lookalike = lookalike_reason(domain)
    if lookalike:
        return None, lookalike
    if domain in FREE_MAIL:
        return None, f"{domain} is a free-mail domain, not a company's"
    if domain in NOT_COMPANY_SITES:
        return None, f"{domain} is not the company's own website"
    return domain, None


def company_domains(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    checked = map_unique(series, check_company_domain)
    domain = checked.map(lambda pair: pair[0] if pair else None)
    reason = checked.map(lambda pair: pair[1] if pair else None)
    return as_objects(domain), as_objects(reason)


_GENERIC_COMPANY_WORDS = frozenset(
    {"the", "and", "inc", "ltd", "llc", "plc", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv",
     "ab", "as", "oy", "spa", "srl", "co", "corp", "corporation", "company", "group", "holding",
     "holdings", "limited", "international", "global", "services", "solutions"}
)  # fmt: skip


def _ascii_tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [t for t in re.split(r"[^a-z0-9]+", folded) if t]


def domain_matches_company(domain: str, company_name: str) -> bool:
    """Whether an email domain plausibly belongs to the named company: the name's first
    distinctive word is in the domain's label, the label is in the joined name, or the label is
    the name's initials ("Quarrymill Learning" ~ quarrymilllearning.dev, "Acme Corp" ~ acme.io,
    "Bank of X" ~ box.com). Guards against taking a personal-mail domain missing from FREE_MAIL,
    or an address at a former employer, for the current employer's domain. The first word only:
    "Silverbirch Media" must not match thistledownmedia.io."""
    label = re.sub(r"[^a-z0-9]", "", domain.split(".", 1)[0])
    words = _ascii_tokens(company_name)
    if not label or not words:
        return False
    distinctive = [w for w in words if w not in _GENERIC_COMPANY_WORDS and len(w) >= 3]
    if distinctive and distinctive[0] in label:
        return True
    if len(label) >= 3 and label in "".join(words):
        return True
    return len(label) >= 2 and label == "".join(w[0] for w in words)


def domains_from_emails(email: pd.Series, company_name: pd.Series) -> pd.Series:
    """The employer's registrable domain taken from a work email: only when a company name is
    known, the domain is not free-mail, and it plausibly matches the name. None otherwise."""
    out = pd.Series([None] * len(email), index=email.index, dtype=object)
    usable = email.notna() & company_name.notna()
    if not usable.any():
        return out
    mail_domain = map_unique(email[usable].str.rsplit("@", n=1).str[-1], registrable_domain)
    pairs = pd.DataFrame({"domain": mail_domain, "company": company_name[usable]})

    def infer(domain: str | None, company: str) -> str | None:
        if not domain or domain in FREE_MAIL or domain in NOT_COMPANY_SITES:
            return None
        return domain if domain_matches_company(domain, company) else None

    distinct = pairs.drop_duplicates()
    verdict = {
        (d, c): infer(d, c) for d, c in zip(distinct["domain"], distinct["company"], strict=True)
    }
    out[usable] = [verdict[d, c] for d, c in zip(pairs["domain"], pairs["company"], strict=True)]
    return out


# -- LinkedIn --------------------------------------------------------------------------------


def linkedin_urls(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(canonical https://www.linkedin.com/in/<slug> or None, reason for each dropped one)."""
    canonical = map_unique(series, canonical_linkedin_url)
    dropped = series.notna() & canonical.isna()
    reason = pd.Series([None] * len(series), index=series.index, dtype=object)
    reason[dropped] = "not a LinkedIn profile URL (linkedin.com/in/<slug>)"
    return canonical, reason
