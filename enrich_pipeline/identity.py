"""Identity normalisation shared by everyone: LinkedIn slugs, registrable domains, emails, person_key.

person_key follows providers.md 4.2 exactly:
  1. `li:` + lower-cased `/in/<slug>` when a LinkedIn profile URL is known,
  2. else `em:` + lower-cased email,
  3. else `nd:` + sha1(lower(first) + "|" + lower(last) + "|" + registrable domain).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import tldextract

# The bundled public-suffix snapshot: no network access at run time, same answer on every machine.
_extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

_LINKEDIN_HOST = re.compile(r"^([a-z]{2,3}\.|www\.|m\.)?linkedin\.com$")


@lru_cache(maxsize=65536)  # pure, and asked about the same URLs at every step (planning, matching)
def linkedin_slug(url: str | None) -> str | None:
    """The lower-cased profile slug of any LinkedIn /in/ URL variant, or None if it is not one.

    Tolerates: no scheme, http/https, `www.`/`m.`/country subdomains, upper case, trailing slash,
    query strings and fragments, percent-escapes, extra path segments after the slug.
    """
    if not url:
        return None
    text = url.strip()
    if not text:
        return None
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not _LINKEDIN_HOST.match(host):
        return None
    segments = [s for s in unquote(parts.path).split("/") if s]
    if len(segments) < 2 or segments[0].lower() != "in":
        return None
    slug = segments[1].strip().lower()
    return slug or None


def canonical_linkedin_url(url: str | None) -> str | None:
    slug = linkedin_slug(url)
    return f"https://www.linkedin.com/in/{slug}" if slug else None


@lru_cache(maxsize=65536)
def registrable_domain(value: str | None) -> str | None:
    """`acme.co.uk` from `https://www.Acme.co.uk/about`, `mail.acme.io`, `acme.io`; None if no domain."""
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if not text:
        return None
    extracted = _extract(text)
    domain = extracted.top_domain_under_public_suffix
    return domain or None


def normalise_email(value: str | None) -> str | None:
    """Trimmed, lower-cased address (syntax is checked elsewhere)."""
    if not value:
        return None
    text = value.strip().lower()
    return text or None


def name_domain_key(first_name: str, last_name: str, domain: str) -> str:
    raw = f"{first_name.strip().lower()}|{last_name.strip().lower()}|{domain}"
    return "nd:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()


def person_key(
    *,
    linkedin_url: str | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    company_domain: str | None = None,
) -> str | None:
    """The stable person key of providers.md 4.2, or None when nothing identifies the person."""
    slug = linkedin_slug(linkedin_url)
    if slug:
        return f"li:/in/{slug}"
    address = normalise_email(email)
    if address:
        return f"em:{address}"
    domain = registrable_domain(company_domain)
    if first_name and last_name and domain:
        return name_domain_key(first_name, last_name, domain)
    return None
