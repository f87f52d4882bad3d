"""person_key and the normalisers behind it (providers.md 4.2)."""

from __future__ import annotations

import hashlib

import pytest

from enrich_pipeline.identity import (
    canonical_linkedin_url,
    linkedin_slug,
    person_key,
    registrable_domain,
)
from enrich_pipeline.model import to_e164


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/lina-okafor",
        "http://www.linkedin.com/in/lina-okafor/",
        "www.linkedin.com/in/lina-okafor",
        "linkedin.com/in/lina-okafor?trk=public_profile",
        "https://uk.linkedin.com/in/Lina-Okafor/#about",
        "HTTPS://WWW.LINKEDIN.COM/IN/LINA-OKAFOR",
        " https://de.linkedin.com/in/lina-okafor/details/experience/ ",
        "https://m.linkedin.com/in/lina%2Dokafor",
    ],
)
def test_every_linkedin_url_variant_gives_the_same_slug(url: str) -> None:
    assert linkedin_slug(url) == "lina-okafor"
    assert canonical_linkedin_url(url) == "https://www.linkedin.com/in/lina-okafor"


@pytest.mark.parametrize(
    "url",
    ["", None, "https://www.linkedin.com/company/northwind", "https://example.test/in/x", "lina"],
)
def test_non_profile_urls_have_no_slug(url: str | None) -> None:
    assert linkedin_slug(url) is None


def test_percent_escapes_are_decoded() -> None:
    assert linkedin_slug("linkedin.com/in/jos%C3%A9-garc%C3%ADa") == "josé-garcía"


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("https://www.Acme.co.uk/about", "acme.co.uk"),
        ("mail.northwind-labs.io", "northwind-labs.io"),
        ("lina@Northwind-Labs.io", "northwind-labs.io"),
        ("  harbor-ops.com ", "harbor-ops.com"),
        ("", None),
        ("localhost", None),
    ],
)
def test_registrable_domain(value: str, domain: str | None) -> None:
    assert registrable_domain(value) == domain


def test_person_key_prefers_linkedin_then_email_then_name_and_domain() -> None:
    assert (
        person_key(linkedin_url="uk.linkedin.com/in/Lina-Okafor/", email="x@y.io")
        == "li:/in/lina-okafor"
    )
    assert person_key(email=" Lina.Okafor@Northwind-Labs.io ") == "em:lina.okafor@northwind-labs.io"
    expected = hashlib.sha1(b"lina|okafor|northwind-labs.io").hexdigest()
    assert (
        person_key(
            first_name="Lina", last_name="OKAFOR", company_domain="https://www.northwind-labs.io"
        )
        == f"nd:{expected}"
    )
    assert person_key(first_name="Lina") is None


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 415-555-0142", "+14155550142"),  # the documented examples number
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
        ("not a phone", None),
        ("", None),
    ],
)
def test_to_e164(raw: str, e164: str | None) -> None:
    assert to_e164(raw) == e164
