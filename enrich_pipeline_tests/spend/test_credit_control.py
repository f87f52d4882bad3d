"""Credit control through the whole pipeline: verified first, 402 mid-run, a budget in run config."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from enrich_pipeline.sandbox.prospects import write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person, World
from enrich_pipeline.settings import Settings
from enrich_pipeline_tests.pipeline_helpers import Pipeline, materialized_metadata, shared_instance

DAY = "2026-11-02"


def row(person: Person) -> dict[str, str]:
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "company_name": person.company.name,
        "company_domain": person.company.domain,
        "linkedin_url": person.linkedin_url,
    }


def risky_then_deliverable(world: World) -> list[Person]:
    """People lemlist answers with a risky email while The Hog (next in line) has a deliverable one."""
    return [
        p
        for p in world.people
        if world.knowledge("lemlist", p).email_status == "risky"
        and world.knowledge("thehog", p).email_status == "deliverable"
        and world.knowledge("thehog", p).email == p.work_email
    ]


def test_a_risky_email_is_replaced_by_a_later_providers_deliverable_one(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    world = pipeline_env.state.world
    people = risky_then_deliverable(world)[:3]
    assert people, "the seeded world has such people"
    pipeline = Pipeline(tmp_path)
    write_prospect_file(
        [row(p) for p in people], pipeline.raw_dir / DAY / "list.csv", style="snake"
    )
    pipeline.materialize(DAY)
    contacts = {r["person_key"]: r for r in pipeline.table("contacts", DAY).to_pylist()}
    channels = pipeline.table("contact_channels", DAY).to_pylist()
    for person in people:
        contact = contacts[f"li:/in/{person.linkedin_slug}"]
        assert (contact["email"], contact["email_status"], contact["email_provider"]) == (
            person.work_email,
            "deliverable",
            "thehog",
        )
        lemlist_said = [
            c
            for c in channels
            if c["person_key"] == contact["person_key"]
            and c["provider"] == "lemlist"
            and c["channel"] == "email"
        ]
        assert [c["status"] for c in lemlist_said] == ["risky"]  # kept as a candidate, not chosen


def _hog_out_of_credits(pipeline_env: SandboxServer, pipeline: Pipeline) -> list[Person]:
    world = pipeline_env.state.world
    people = [p for p in world.people if world.knowledge("thehog", p).knows_anything][:20]
    write_prospect_file(
        [row(p) for p in people], pipeline.raw_dir / DAY / "list.csv", style="snake"
    )
    pipeline_env.admin("POST", "credits", json={"provider": "thehog", "balance": 0})
    return people


def test_a_402_keeps_that_providers_people_waiting_for_it_and_a_top_up_sends_them(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path)
    _hog_out_of_credits(pipeline_env, pipeline)
    result = pipeline.materialize(DAY)
    assert result.success  # nothing fails: The Hog stopped cleanly and says why
    materialized = materialized_metadata(result)
    assert "402" in materialized["thehog_enrichment"]["stopped"]
    hog = pipeline.table("attempts_thehog", DAY).to_pylist()
    assert hog and {a["outcome"] for a in hog} == {"deferred"}
    # The next provider (enrich.so: phones at 500 credits against The Hog's 5) is not paid for
    # what The Hog was asked: its people wait for The Hog.
    assert materialized["enrichso_enrichment"]["dagster/row_count"] == 0
    counters = pipeline_env.counters()
    assert counters["credits_net"].get("thehog", 0) == 0
    assert counters["credits_net"].get("enrichso", 0) == 0
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() == sum(counters["credits_net"].values())

    pipeline_env.admin("POST", "credits", json={"provider": "thehog", "balance": 100_000})
    again = materialized_metadata(pipeline.materialize(DAY))
    assert again["thehog_enrichment"]["new_submissions"] > 0  # sent after the top-up
    assert "stopped" not in again["thehog_enrichment"]  # empty figures are left out
    counters = pipeline_env.counters()
    assert counters["credits_net"]["thehog"] > 0
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() == sum(counters["credits_net"].values())


def test_failover_is_an_explicit_setting_that_moves_a_failed_providers_people_on(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path, settings=Settings(failover=True))
    _hog_out_of_credits(pipeline_env, pipeline)
    materialized = materialized_metadata(pipeline.materialize(DAY))
    assert "402" in materialized["thehog_enrichment"]["stopped"]
    assert materialized["enrichso_enrichment"]["dagster/row_count"] > 0  # the next provider went on
    counters = pipeline_env.counters()
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() == sum(counters["credits_net"].values())


def test_max_credits_in_run_config_caps_a_provider(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    world = pipeline_env.state.world
    people = world.people[:30]
    pipeline = Pipeline(tmp_path)
    write_prospect_file(
        [row(p) for p in people], pipeline.raw_dir / DAY / "list.csv", style="snake"
    )
    result = dg.materialize(
        pipeline.assets(),
        partition_key=DAY,
        instance=shared_instance(),
        resources={"store": pipeline.store(), **pipeline.providers},
        run_config={"ops": {"lemlist_enrichment": {"config": {"max_credits": 60}}}},
    )
    assert result.success
    counters = pipeline_env.counters()
    assert 0 < counters["credits_net"]["lemlist"] <= 60
    attempts = pipeline.table("attempts_lemlist", DAY).to_pylist()
    assert any(a["outcome"] == "skipped_budget" for a in attempts)
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent(provider="lemlist") == counters["credits_net"]["lemlist"]


@pytest.mark.parametrize("as_what", ["error", "not_found"])
def test_lemlist_out_of_credits_is_loud_keeps_its_people_and_a_top_up_serves_them(
    pipeline_env: SandboxServer, tmp_path: Path, as_what: str
) -> None:
    # lemlist documents no 402: an unpaid enrichment ends as an error or as "not found"
    # (providers.md 1.9 ASSUMPTION, both shapes tested).
    world = pipeline_env.state.world
    people = [p for p in world.people if world.knowledge("lemlist", p).email][:15]
    pipeline = Pipeline(tmp_path)
    write_prospect_file(
        [row(p) for p in people], pipeline.raw_dir / DAY / "list.csv", style="snake"
    )
    pipeline_env.admin("POST", "config", json={"lemlist_out_of_credits": as_what})
    pipeline_env.admin("POST", "credits", json={"provider": "lemlist", "balance": 0})
    broke = materialized_metadata(pipeline.materialize(DAY))
    assert "out of credits" in broke["lemlist_enrichment"]["stopped"]
    attempts = pipeline.table("attempts_lemlist", DAY).to_pylist()
    assert {a["outcome"] for a in attempts} == {"deferred"}
    assert pipeline_env.counters()["credits_net"].get("lemlist", 0) == 0

    pipeline_env.admin("POST", "credits", json={"provider": "lemlist", "balance": 100_000})
    topped_up = materialized_metadata(pipeline.materialize(DAY))
    assert "stopped" not in topped_up["lemlist_enrichment"]
    attempts = pipeline.table("attempts_lemlist", DAY).to_pylist()
    assert sum(a["outcome"] == "found" for a in attempts) >= len(people) // 2
    counters = pipeline_env.counters()
    assert counters["credits_net"]["lemlist"] > 0
    with pipeline.ledger() as ledger:
        assert ledger.credits_spent() == sum(counters["credits_net"].values())
