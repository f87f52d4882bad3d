"""Text folding and identifier normalisation shared by the synthetic world and the prospect files.

Pure functions, standard library only.
"""

# ruff: noqa: RUF001, RUF002  (non-ASCII letters are the point of this module)

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote

from enrich_pipeline.sandbox._world_data import CYRILLIC, LATIN_EXTRA

_TRANSLIT = str.maketrans(
    {**LATIN_EXTRA, **CYRILLIC, **{k.upper(): v.capitalize() for k, v in CYRILLIC.items()}}
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_LINKEDIN_IN = re.compile(r"(?:^|[/.])linkedin\.com/(?:[a-z]{2}/)?(?:mwlite/)?in/([^/?#]+)")
_BARE_IN = re.compile(r"^/?in/([^/?#]+)")
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)


def strip_accents(text: str) -> str:
    """NFKD-decompose and drop combining marks; Latin letters without a decomposition
    (ł, ø, ß, æ ...) and Cyrillic go through a small table. CJK characters pass through."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_TRANSLIT)


@lru_cache(maxsize=65536)
def fold_name(text: str) -> str:
    """Comparison key for a personal or company name: accents stripped, case-folded, and every
    character that is not a letter or digit removed ("Zoë O’Brien" → "zoeobrien")."""
    return _NON_ALNUM.sub("", strip_accents(text).casefold())


@lru_cache(maxsize=65536)
def ascii_name(text: str) -> str:
    """Best-effort ASCII form of a Latin or Cyrillic name, keeping spaces, hyphens, apostrophes."""
    out = strip_accents(text)
    return out.encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=65536)
def slug_token(text: str) -> str:
    """Lower-case ASCII slug: runs of other characters become one hyphen."""
    return _NON_SLUG.sub("-", ascii_name(text).lower().replace("'", "")).strip("-")


@lru_cache(maxsize=65536)
def email_token(text: str) -> str:
    """Local-part token of a name: ASCII lower case; hyphens of double names kept, spaces and
    apostrophes dropped ("van der Berg" → "vanderberg", "Anne-Sophie" → "anne-sophie")."""
    raw = ascii_name(text).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "", raw)).strip("-")


def is_valid_email_syntax(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.match(email) is not None


def normalise_email(email: str) -> str:
    text = email.strip().strip("<>").strip().lower()
    return text[7:] if text.startswith("mailto:") else text


def linkedin_slug(url_or_slug: str) -> str | None:
    """The lower-case `/in/<slug>` of any LinkedIn profile URL variant, or of a bare slug.

    Accepts http/https/no scheme, `www.` or country subdomains, trailing slashes and sub-pages
    (`/in/x/details/...`), query strings, fragments, percent-escapes and upper case.
    """
    text = unquote(url_or_slug.strip()).strip().lower()
    if not text:
        return None
    text = _SCHEME.sub("", text)
    match = _LINKEDIN_IN.search(text) or _BARE_IN.match(text)
    if match:
        slug = match.group(1)
    elif "/" not in text.rstrip("/") and "." not in text and "@" not in text:
        slug = text.split("?", 1)[0].split("#", 1)[0].strip("/")
    else:
        return None
    slug = slug.strip()
    return slug or None


def normalise_domain(value: str) -> str:
    """Host part of a domain, URL or email address: lower case, no scheme, `www.`, port, path."""
    text = value.strip().lower()
    text = _SCHEME.sub("", text)
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    for sep in "/?#":
        text = text.split(sep, 1)[0]
    text = text.split(":", 1)[0].strip(".")
    while text.startswith("www."):
        text = text[4:]
    return text


def normalise_handle(value: str) -> str:
    """A GitHub or X handle from `@handle`, `handle` or a profile URL; lower case."""
    text = _SCHEME.sub("", value.strip().lower())
    for host in ("www.github.com/", "github.com/", "www.x.com/", "x.com/", "twitter.com/",
                 "www.twitter.com/", "mobile.twitter.com/"):  # fmt: skip
        if text.startswith(host):
            text = text[len(host) :]
            break
    text = text.split("?", 1)[0].split("#", 1)[0].strip("/").split("/", 1)[0]
    return text.lstrip("@")
