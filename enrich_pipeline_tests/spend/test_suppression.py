"""Suppression: the list's format, and suppressed people making no request to any provider of the
waterfall (proved with the sandbox's own per-person counters, against a control run without it)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from enrich_pipeline.identity import linkedin_slug, normalise_email, registrable_domain
from enrich_pipeline.model import Outcome
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person, World
from enrich_pipeline.settings import PROJECT_ROOT, Settings
from enrich_pipeline.spend.suppression import SuppressionFileError, SuppressionList
from enrich_pipeline.spend.waterfall import Known
from enrich_pipeline_tests.pipeline_helpers import (
    PROVIDERS,
    Pipeline,
    materialized_metadata,
    people_submitted,
)

DAY = "2026-11-06"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the file format


def test_the_documented_format_with_comments_blank_lines_and_notes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "suppression.csv",
        "# people who opted out\n"
        "\n"
        "kind,value,note\n"
        "email, Jane.Roe@Example-Optout.test ,asked on 2026-10-01\n"
        "domain,https://www.Optout-Corp.test/about,whole company\n"
        "  # an indented comment\n"
        "linkedin,HTTPS://UK.LINKEDIN.COM/IN/Some-Body/?trk=x,\n"
        "domain,@mail-only.test\n",
    )
    suppression = SuppressionList.load(path)
    assert dict(suppression.emails) == {"jane.roe@example-optout.test": 4}
    assert dict(suppression.domains) == {"optout-corp.test": 5, "mail-only.test": 8}
    assert dict(suppression.slugs) == {"some-body": 7}
    assert len(suppression) == 4


def test_a_single_column_of_values_infers_each_kind(tmp_path: Path) -> None:
    for header in ("", "value\n", "email\n"):
        path = write(
            tmp_path / "list.csv",
            f"{header}someone@acme-example.test\nlinkedin.com/in/a-person\nbeta-example.test\n",
        )
        suppression = SuppressionList.load(path)
        assert set(suppression.emails) == {"someone@acme-example.test"}, header
        assert set(suppression.slugs) == {"a-person"}, header
        assert set(suppression.domains) == {"beta-example.test"}, header


def test_a_missing_file_is_an_empty_list(tmp_path: Path) -> None:
    suppression = SuppressionList.load(tmp_path / "nope.csv")
    assert len(suppression) == 0
    assert suppression.screen([Known("em:a@b.test", email="a@b.test")]) == {}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("kind,value\nemail,a@b.test\nphone,+4930123456\n", 3, ["kind 'phone'", "email, domain"]),
        ("kind,value\nemail,not-an-address\n", 2, ["value 'not-an-address'", "email"]),
        ("kind,value\n\nlinkedin,https://www.linkedin.com/company/acme\n", 3, ["LinkedIn"]),
        ("kind,value\ndomain,\n", 2, ["value is empty"]),
        ("kind,value,note\ndomain,not a domain!,x\n", 2, ["value 'not a domain!'"]),
    ],
)
def test_a_bad_row_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(SuppressionFileError) as error:
        SuppressionList.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message


def test_matching_by_email_domain_subdomain_and_linkedin_slug(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        "kind,value\n"
        "email,jane.roe@keep-example.test\n"
        "domain,optout-example.co.uk\n"
        "linkedin,https://www.linkedin.com/in/jos%C3%A9-example\n",
    )
    suppression = SuppressionList.load(path)
    cases = {
        "JANE.ROE@KEEP-EXAMPLE.TEST ": "email jane.roe@keep-example.test",
        "x@optout-example.co.uk": "domain optout-example.co.uk",
        "x@mail.eu.optout-example.co.uk": "domain optout-example.co.uk",
        "other@keep-example.test": None,  # one address listed, not its domain
        "x@notoptout-example.co.uk": None,  # a suffix of the name is not a subdomain
    }
    for email, reason in cases.items():
        assert suppression.matches(Known("k", email=email)) == reason, email
    by_company = Known("k", company_domain="HTTPS://WWW.Sales.Optout-Example.co.uk/team")
    assert suppression.matches(by_company) == "domain optout-example.co.uk"
    by_url = Known("k", linkedin_url="http://uk.linkedin.com/in/JOSÉ-EXAMPLE/details")
    assert suppression.matches(by_url) == "linkedin /in/josé-example"
    assert suppression.matches(Known("k", linkedin_url="linkedin.com/in/jose-example")) is None
    people = [Known("a", email="x@optout-example.co.uk"), Known("b", email="b@elsewhere.test")]
    assert suppression.screen(people) == {"a": "domain optout-example.co.uk"}


def test_the_shipped_example_list_loads_and_suppresses_nobody_real(
    sandbox_server: SandboxServer,
) -> None:
    suppression = SuppressionList.load(PROJECT_ROOT / "data" / "suppression.csv")
    assert len(suppression) >= 2
    world = sandbox_server.state.world
    people = [
        Known(p.person_id, email=p.work_email, company_domain=p.company.domain,
              linkedin_url=p.linkedin_url)
        for p in world.people
    ]  # fmt: skip
    assert suppression.screen(people) == {}


# --------------------------------------------------------------------- zero requests, every provider


def who(world: World, prospect: dict[str, Any]) -> Person | None:
    """The world person a prospect row describes (by profile, then email, then name at company)."""
    return (
        world.find_by_linkedin(prospect["linkedin_url"] or "")
        or world.find_by_email(prospect["email"] or "")
        or world.find_by_name(
            prospect["first_name"] or "",
            prospect["last_name"] or "",
            domain=prospect["company_domain"],
        )
    )


def submissions_of(counters: dict[str, Any], person_id: str) -> dict[str, int]:
    return {p: counters["submissions"].get(p, {}).get(person_id, 0) for p in PROVIDERS}


def test_suppressed_people_make_zero_requests_at_every_provider(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    sandbox, world = pipeline_env, pipeline_env.state.world
    control = Pipeline(tmp_path / "control", Settings(suppression_file=tmp_path / "none.csv"))
    control.write_day(world, DAY, 70, seed=11)
    control.materialize(DAY)
    before = sandbox.counters()
    prospects = control.table("prospects", DAY).to_pylist()
    people = {p["person_key"]: who(world, p) for p in prospects}
    rows_per_person = Counter(p.person_id for p in people.values() if p)

    def single(prospect: dict[str, Any]) -> bool:
        person = people[prospect["person_key"]]
        return person is not None and rows_per_person[person.person_id] == 1

    def sent(prospect: dict[str, Any]) -> int:
        return sum(submissions_of(before, people[prospect["person_key"]].person_id).values())

    by_email = next(
        p for p in prospects if p["email"] and not p["linkedin_url"] and single(p) and sent(p)
    )
    by_linkedin = next(
        p for p in prospects if p["linkedin_url"] and p is not by_email and single(p) and sent(p)
    )
    domains = Counter(registrable_domain(p["company_domain"]) for p in prospects if single(p))
    company = next(
        d
        for d, n in domains.most_common()
        if d and n >= 2 and d not in (registrable_domain(by_email["email"]),)
    )
    url = f" HTTPS://UK.LINKEDIN.COM/IN/{linkedin_slug(by_linkedin['linkedin_url']).upper()}/ "
    suppression = write(
        tmp_path / "suppression.csv",
        "# who must never be sent\nkind,value,note\n\n"
        f"email,{by_email['email'].upper()},asked by mail\n"
        f"linkedin,{url},\n"
        f"domain,https://www.{company}/about,the whole company\n"
        "domain,example-optout.test,unrelated\n",
    )

    def oracle(p: dict[str, Any]) -> bool:  # the test's own reading of the list above
        email = normalise_email(p["email"])
        return (
            email == normalise_email(by_email["email"])
            or linkedin_slug(p["linkedin_url"]) == linkedin_slug(by_linkedin["linkedin_url"])
            or company in (registrable_domain(p["company_domain"]), registrable_domain(email))
        )

    suppressed_keys = {p["person_key"] for p in prospects if oracle(p)}
    suppressed_ids = {people[k].person_id for k in suppressed_keys if people[k]}
    others = {people[p["person_key"]].person_id for p in prospects if not oracle(p) and single(p)}
    assert len(suppressed_keys) >= 4 and not suppressed_ids & others
    assert all(sent(p) for p in (by_email, by_linkedin)), "the control run did send them"

    sandbox.reset()
    run = Pipeline(tmp_path / "run", Settings(suppression_file=suppression))
    run.write_day(world, DAY, 70, seed=11)
    result = run.materialize(DAY)
    after = sandbox.counters()

    for person_id in suppressed_ids:
        assert submissions_of(after, person_id) == dict.fromkeys(PROVIDERS, 0), person_id
    assert all(people_submitted(after, provider) for provider in PROVIDERS)
    assert sum(1 for i in others if sum(submissions_of(after, i).values())) >= len(others) * 0.8
    with sqlite3.connect(run.state_dir / "ledger.sqlite") as db:
        ledger_keys = {k for (k,) in db.execute("SELECT DISTINCT person_key FROM submissions")}
    assert ledger_keys and not ledger_keys & suppressed_keys

    metadata = materialized_metadata(result)
    for provider in PROVIDERS:
        attempts = run.table(f"attempts_{provider}", DAY).to_pylist()
        mine = [a for a in attempts if a["person_key"] in suppressed_keys]
        assert sorted(a["person_key"] for a in mine) == sorted(suppressed_keys)
        assert {a["outcome"] for a in mine} == {Outcome.SKIPPED_SUPPRESSED.value}
        assert all(a["fields_requested"] == [] and a["cost_credits"] is None for a in mine)
        shown = metadata[f"{provider}_enrichment"]
        assert shown["suppressed"] == len(suppressed_keys)
        figures = {k: v for k, v in shown.items() if k != "dagster/column_schema"}
        text = json.dumps(figures, default=str).lower()
        for key in suppressed_keys:  # a count, never who
            assert key.split(":", 1)[1].lower() not in text
