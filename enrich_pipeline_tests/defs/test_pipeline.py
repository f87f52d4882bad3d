"""The Dagster pipeline end to end against a live sandbox: ground truth, TTL, resume, rebuild, runs
in parallel processes, metadata. Every provider call is real HTTP to the sandbox; the assertions
compare with the sandbox's own counters and with its world's ground truth."""

from __future__ import annotations

import base64
import json
import logging
import multiprocessing
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from enrich_pipeline.definitions import build_definitions
from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
from enrich_pipeline.providers.enrichso import client as enrichso
from enrich_pipeline.providers.lemlist import client as lemlist
from enrich_pipeline.providers.thehog import client as thehog
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person, World
from enrich_pipeline.settings import Settings
from enrich_pipeline.warehouse.checks import CHECK_NAMES
from enrich_pipeline.warehouse.storage import connect_readonly
from enrich_pipeline_tests.pipeline_helpers import (
    CONTACT_TABLES,
    PROVIDERS,
    SPEED,
    Pipeline,
    materialize_day,
    materialized_metadata,
    people_submitted,
    sandbox_env,
    submit_calls,
)

DAY = "2026-11-03"
FIELDS = ("email", "phone", "linkedin")
INPUTS = ("first_name", "last_name", "company_name", "company_domain", "email", "linkedin_url")


# ------------------------------------------------------------------------------ 1. definitions


def test_the_definitions_load_with_every_asset_check_job_schedule_and_sensor() -> None:
    from enrich_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} >= {
        "raw_prospects",
        "prospects",
        "prospect_rejects",
        "lemlist_enrichment",
        "enrichso_enrichment",
        "thehog_enrichment",
        "contacts",
        "positions",
        "contact_channels",
    }
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {("contacts", name) for name in CHECK_NAMES} <= checks
    assert defs.resolve_job_def("enrich_job") is not None
    assert defs.get_schedule_def("enrich_daily").job_name == "enrich_job"
    assert defs.get_sensor_def("new_prospect_files").job_name == "enrich_job"


def test_the_enrichment_chain_follows_the_configured_provider_order() -> None:
    defs = build_definitions(Settings(provider_order=("thehog", "lemlist", "enrichso")))
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("thehog_enrichment") == {"prospects"}
    assert parents("lemlist_enrichment") == {"prospects", "thehog_enrichment"}
    assert parents("enrichso_enrichment") == {"prospects", "lemlist_enrichment"}
    every_provider = {f"{p}_enrichment" for p in PROVIDERS}
    for table in CONTACT_TABLES:
        assert parents(table) == {"prospects", *every_provider}


# ------------------------------------------------------------------------- 2. ground truth

# What each provider can produce from which inputs (providers.md 1.2, 2.4-2.7, 3.2), restated here
# from the spec rather than imported from the waterfall, so that the test checks the waterfall.
NAME_AND_COMPANY = frozenset({"first_name", "last_name", "company_name", "company_domain"})
PRODUCES: dict[str, dict[str, tuple[frozenset[str], ...]]] = {
    "lemlist": {
        "email": (frozenset({"linkedin_url"}), NAME_AND_COMPANY),
        "phone": (frozenset({"linkedin_url"}),),
        "linkedin": (
            frozenset({"linkedin_url"}),
            frozenset({"email"}),
            frozenset({"first_name", "last_name", "company_name"}),
            frozenset({"first_name", "last_name", "company_domain"}),
        ),
    },
    "enrichso": {
        "email": (frozenset({"first_name", "last_name", "company_domain"}),),
        "phone": (frozenset({"email"}), frozenset({"linkedin_url"})),
        "linkedin": (frozenset({"email"}),),
    },
    "thehog": {
        "email": (frozenset({"linkedin_url"}),),
        "phone": (frozenset({"linkedin_url"}), frozenset({"email"})),
        "linkedin": (frozenset({"linkedin_url"}), frozenset({"email"})),
    },
}


def _world_person(world: World, row: dict[str, Any]) -> Person | None:
    """The world's person behind a prospect row (None: an invented prospect nobody knows)."""
    if row["linkedin_url"]:
        return world.find_by_linkedin(row["linkedin_url"])
    if row["email"] and (person := world.find_by_email(row["email"])):
        return person
    if row["first_name"] and row["last_name"]:
        return world.find_by_name(
            row["first_name"],
            row["last_name"],
            domain=row["company_domain"],
            company_name=row["company_name"],
        )
    return None


def _reachable_finds(
    world: World, person: Person, row: dict[str, Any], order: tuple[str, ...]
) -> set[str]:
    """The fields some provider knows AND is asked for, walking the waterfall in `order`.

    A provider is asked for a field still open that it can produce from the row's inputs plus what
    the providers before it found (an email that is not undeliverable, a LinkedIn profile's URL):
    e.g. a row holding only an email gets a phone from lemlist never (lemlist needs a URL), but
    from The Hog once lemlist found the profile. An email stays open until a deliverable one is
    found (verified-first policy), so a stale address from one provider does not stop the next.
    """
    inputs = {name for name in INPUTS if row[name]}
    found: set[str] = set()
    settled: set[str] = set()
    for provider in order:
        knows = world.knowledge(provider, person)  # type: ignore[arg-type]
        # enrich.so's finder (the sandbox's) never offers an address it knows to bounce.
        bounces = provider == "enrichso" and knows.email_status == "undeliverable"
        has = {"email": knows.email is not None and not bounces, "phone": bool(knows.phones)}
        has["linkedin"] = knows.profile
        asked = {
            f
            for f in FIELDS
            if f not in settled and any(needs <= inputs for needs in PRODUCES[provider][f])
        }
        got = {f for f in asked if has[f]}
        found |= got
        settled |= {f for f in got if f != "email" or knows.email_status == "deliverable"}
        if "email" in got and knows.email_status != "undeliverable":
            inputs.add("email")
        if "linkedin" in got:
            inputs.add("linkedin_url")
    return found


def _owned_phone(world: World, person: Person, number: str) -> bool:
    """The person's own number, or the wrong number a provider holds for THIS person (a valid
    number that belongs to nobody) — never a number of somebody else."""
    owner = world.find_by_phone(number)
    if owner is not None:
        return owner is person
    held = {p.number for name in PROVIDERS for p in world.knowledge(name, person).phones}  # type: ignore[arg-type]
    return number in held and number in world.wrong_phone_numbers()


def test_one_day_finds_everyone_some_provider_can_find_and_nobody_elses_details(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    world = pipeline_env.state.world
    pipeline = Pipeline(tmp_path)
    pipeline.write_day(world, DAY, 300, seed=3)
    pipeline.materialize(DAY)

    people = pipeline.table("prospects", DAY).to_pylist()
    contacts = {row["person_key"]: row for row in pipeline.table("contacts", DAY).to_pylist()}
    assert sorted(contacts) == sorted(row["person_key"] for row in people)

    expected: dict[str, set[str]] = {f: set() for f in FIELDS}
    measured: dict[str, set[str]] = {f: set() for f in FIELDS}
    email_in_row: set[str] = set()
    owners: dict[str, Person | None] = {}
    for row in people:
        key, contact = row["person_key"], contacts[row["person_key"]]
        owners[key] = person = _world_person(world, row)
        if row["email"]:
            email_in_row.add(key)
        for f in FIELDS:
            if contact[f"found_{f}"]:
                measured[f].add(key)
        if person is None:  # invented: nothing to find, at most its own address verified back
            assert not contact["found_phone"] and not contact["found_linkedin"], key
            assert contact["email"] in (None, row["email"]), key
            continue
        for f in _reachable_finds(world, person, row, pipeline.settings.provider_order):
            expected[f].add(key)

    known = {key for key, person in owners.items() if person is not None}
    assert len(known) > 250 and len(known) < len(people), "the day mixes known and invented people"
    # A FAILED attempt holds the waterfall back on purpose (e.g. an enrich.so reverse-lookup
    # profile that cannot be told apart from another person's): those few people may miss what a
    # later provider knows. Checked apart: found only what some provider knows.
    held = {
        row["person_key"]
        for provider in PROVIDERS
        for row in pipeline.table(f"attempts_{provider}", DAY).to_pylist()
        if row["outcome"] in ("failed", "pending", "unknown")
    }
    assert len(held) <= len(people) // 50, held
    checked = known - held
    for f in FIELDS:
        assert measured[f] & held & known <= expected[f], f
    for f in ("phone", "linkedin"):
        assert measured[f] & checked == expected[f] & checked, f
    # A held email is verified rather than found again (verify-first), so for a row that brings
    # its own address `found_email` says that a verdict came back: equality only without one.
    no_email = checked - email_in_row
    assert measured["email"] & no_email == expected["email"] & no_email
    assert expected["email"] & checked <= measured["email"]

    # Nobody else's details: every candidate in contact_channels and every value in contacts.
    channels = pipeline.table("contact_channels", DAY).to_pylist()
    assert channels
    wrong_numbers = 0
    for channel in channels:
        key, value = channel["person_key"], channel["value"]
        person = owners[key]
        if channel["channel"] == "email":
            if person is None:
                assert (
                    value
                    == contacts[key]["email"]
                    == next(r["email"] for r in people if r["person_key"] == key)
                )
            else:
                assert world.find_by_email(value) is person, (key, value)
        else:
            assert person is not None and _owned_phone(world, person, value), (key, value)
            wrong_numbers += world.find_by_phone(value) is None
    for key, contact in contacts.items():
        person = owners[key]
        if person is None:
            continue
        if contact["email"]:
            assert world.find_by_email(contact["email"]) is person, key
        assert all(_owned_phone(world, person, n) for n in contact["phones"]), key
        if contact["linkedin_url_found"]:
            assert world.find_by_linkedin(contact["linkedin_url_found"]) is person, key

    rates = {f: round(len(measured[f]) / len(people), 3) for f in FIELDS}
    known_rates = {f: round(len(measured[f] & known) / len(known), 3) for f in FIELDS}
    print(
        f"\nfind rates over {len(people)} prospects: {rates}; over the {len(known)} the world "
        f"knows: {known_rates}; wrong (orphan) phone candidates: {wrong_numbers}; held back: "
        f"{len(held)}"
    )


# ------------------------------------------------------------------- 3. re-run within the TTL


def _outcomes(pipeline: Pipeline, day: str) -> list[tuple[str, str, str]]:
    """(provider, person_key, outcome) of every attempt of the day, sorted."""
    rows: list[tuple[str, str, str]] = []
    for provider in PROVIDERS:
        table = pipeline.table(f"attempts_{provider}", day)
        for row in table.select(["person_key", "outcome"]).to_pylist():
            rows.append((provider, row["person_key"], row["outcome"]))
    return sorted(rows)


ENRICHSO_BEFORE_THEHOG = ("lemlist", "enrichso", "thehog")


def test_rematerialising_a_finished_day_within_the_ttl_makes_no_provider_request(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    # seed 13: an enrich.so reverse-lookup answer cannot be told apart from another person's, so
    # that attempt is FAILED (and holds The Hog back): the re-run must replay it, not drop it.
    pipeline = Pipeline(tmp_path, Settings(provider_order=ENRICHSO_BEFORE_THEHOG))
    pipeline.write_day(pipeline_env.state.world, DAY, 120, seed=13)
    pipeline.materialize(DAY)
    first, outcomes = pipeline.tables(DAY), _outcomes(pipeline, DAY)
    assert ("enrichso", "failed") in {(provider, outcome) for provider, _, outcome in outcomes}
    before = pipeline_env.counters()
    assert all(before["requests_total"].get(p, 0) > 0 for p in PROVIDERS)

    again = materialized_metadata(pipeline.materialize(DAY))
    after = pipeline_env.counters()
    assert after["requests_total"] == before["requests_total"]
    assert after["credits_net"] == before["credits_net"]
    for provider in PROVIDERS:
        meta = again[f"{provider}_enrichment"]
        assert meta["new_submissions"] == 0 and meta["credits_spent"] == 0, provider
        assert meta["answered_from_ledger"] > 0, provider
    assert _outcomes(pipeline, DAY) == outcomes
    assert pipeline.tables(DAY) == first


# ------------------------------------------------------------------------ 4. crash and resume


def _killed_after_submitting(self: Any, submissions: Any, **kw: Any) -> Any:
    """Stands in for `collect`: the process dies right after its submits were accepted."""
    raise dg.Failure("killed right after submitting", allow_retries=False)


CLIENTS = {
    "lemlist": lemlist.LemlistClient,
    "enrichso": enrichso.EnrichsoClient,
    "thehog": thehog.ThehogClient,
}


@dataclass(frozen=True)
class Reference:
    pipeline: Pipeline
    counters: dict[str, Any]


@pytest.fixture(scope="module")
def reference_run(
    sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reference]:
    """The crash tests' day run once without interruption, on a fresh sandbox: what it should
    cost and find. Shared by every provider's test (each only reads it)."""
    sandbox_server.reset()
    reference = Pipeline(tmp_path_factory.mktemp("reference"))
    with sandbox_env(sandbox_server.url):
        reference.write_day(sandbox_server.state.world, DAY, 60, seed=5)
        reference.materialize(DAY)
    counters = sandbox_server.counters()
    sandbox_server.reset()
    yield Reference(reference, counters)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_run_killed_after_submitting_resumes_without_resubmitting_or_paying_twice(
    provider: str,
    reference_run: Reference,
    pipeline_env: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = pipeline_env.state.world
    reference, clean = reference_run.pipeline, reference_run.counters
    pipeline = Pipeline(tmp_path / "run")
    pipeline.write_day(world, DAY, 60, seed=5)
    with monkeypatch.context() as patch:
        patch.setattr(CLIENTS[provider], "collect", _killed_after_submitting)
        crashed = pipeline.materialize(DAY, raise_on_error=False)
    assert not crashed.success
    failed = [e.step_key for e in crashed.all_events if e.is_step_failure]
    assert failed == [f"{provider}_enrichment"]
    at_crash = pipeline_env.counters()
    assert people_submitted(at_crash, provider) == people_submitted(clean, provider) > 0
    with pipeline.ledger() as ledger:
        assert ledger.counts().get("submitted", 0) > 0, "accepted and waiting to be polled"

    resumed = materialized_metadata(pipeline.materialize(DAY))
    after = pipeline_env.counters()
    assert submit_calls(after, provider) == submit_calls(at_crash, provider)
    assert people_submitted(after, provider) == people_submitted(at_crash, provider)
    assert resumed[f"{provider}_enrichment"]["new_submissions"] == 0
    assert resumed[f"{provider}_enrichment"]["resumed_jobs"] > 0
    assert after["credits_net"] == clean["credits_net"], "no credit beyond the first submits"
    with pipeline.ledger() as ledger, reference.ledger() as expected:
        counts = ledger.counts()
        assert "submitted" not in counts and "intent" not in counts, counts
        assert counts["results"] == expected.counts()["results"], "every answer is kept"
    runs = (pipeline, reference)
    for name in ("contacts", "positions"):
        assert pipeline.table(name, DAY) == reference.table(name, DAY), name
    # Job ids and fetch times are the run's own; every candidate, status and best pick is equal.
    volatile = ["provider_ref", "fetched_at"]
    channels = [p.table("contact_channels", DAY).drop_columns(volatile) for p in runs]
    assert channels[0] == channels[1]


# ------------------------------------------------------------------- 5. rebuild from the ledger


def test_the_warehouse_rebuilds_from_the_ledger_alone_without_a_provider_request(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path, Settings(provider_order=ENRICHSO_BEFORE_THEHOG))
    pipeline.write_day(pipeline_env.state.world, DAY, 120, seed=13)
    pipeline.materialize(DAY)
    first, outcomes = pipeline.tables(DAY), _outcomes(pipeline, DAY)
    before = pipeline_env.counters()

    shutil.rmtree(pipeline.warehouse_dir)
    pipeline.materialize(DAY)
    after = pipeline_env.counters()
    assert after["requests_total"] == before["requests_total"]
    assert after["credits_net"] == before["credits_net"]
    assert _outcomes(pipeline, DAY) == outcomes
    rebuilt = pipeline.tables(DAY)
    for name in CONTACT_TABLES:
        assert rebuilt[name] == first[name], name
    with connect_readonly(pipeline.warehouse_dir) as db:
        [(rows,)] = db.sql("SELECT count(*) FROM contacts").fetchall()
    assert rows == first["contacts"].num_rows


# -------------------------------------------------------- 6. days in parallel processes at once


def test_three_days_materialised_by_three_processes_at_once_are_all_queryable(
    pipeline_env: SandboxServer, tmp_path: Path
) -> None:
    pipeline = Pipeline(tmp_path)
    days = ["2026-11-04", "2026-11-05", "2026-11-06"]
    for number, day in enumerate(days):
        pipeline.write_day(pipeline_env.state.world, day, 60, seed=20 + number)
    pipeline.warehouse().refresh_views()
    # Separate processes, forked from a server that imported the pipeline once (not from this
    # process, which runs the sandbox's threads): three runs, one ledger, one warehouse.
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(["enrich_pipeline_tests.pipeline_helpers"])
    runs = [
        processes.Process(
            target=materialize_day, args=(str(tmp_path), day, pipeline_env.url), name=day
        )
        for day in days
    ]
    # A user's read-only DuckDB shell stays open the whole time: it must block no writer.
    with connect_readonly(pipeline.warehouse_dir) as shell:
        try:
            for run in runs:
                run.start()
            for run in runs:
                run.join(timeout=120)
        finally:
            for run in runs:
                if run.is_alive():
                    run.kill()
        assert shell.sql("SELECT count(*) FROM contacts").fetchall() == [(0,)]
    for run in runs:
        failed = tmp_path / f"{run.name}.failed"
        assert run.exitcode == 0, failed.read_text() if failed.exists() else run.exitcode

    expected = {day: pipeline.table("prospects", day).num_rows for day in days}
    with connect_readonly(pipeline.warehouse_dir) as db:
        for view in ("prospects", "contacts"):
            counts = db.sql(
                f"SELECT strftime(\"date\", '%Y-%m-%d'), count(*) FROM {view} GROUP BY ALL"
            ).fetchall()
            assert dict(counts) == expected, view
        attempted = db.sql(
            "SELECT DISTINCT strftime(\"date\", '%Y-%m-%d'), provider FROM enrichment_attempts"
        ).fetchall()
    assert set(attempted) == {(day, p) for day in days for p in PROVIDERS}


# ------------------------------------------------------------------------------ 7. metadata

PLANTED = {
    "LEMLIST_API_KEY": "planted-lemlist-7f3c21d9",
    "ENRICHSO_API_KEY": "sk_planted-enrichso-2b8e",
    "THEHOG_ACCESS_KEY": "ak_planted-access-91d0",
    "THEHOG_SECRET_KEY": "sk_planted-secret-4e6a",
}


@pytest.fixture
def planted_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """A sandbox that accepts only the planted keys, reached in real-key mode (keys from EnvVar).
    Real-key clients poll at the real pace; a sandbox at speed 0.01 answers in milliseconds, so
    the poll intervals are scaled down to match (only the waiting between polls changes)."""
    config = SandboxConfig(
        seed=11,
        people=300,
        companies=60,
        speed=float(SPEED),
        lemlist_api_key=PLANTED["LEMLIST_API_KEY"],
        enrichso_api_key=PLANTED["ENRICHSO_API_KEY"],
        thehog_access_key=PLANTED["THEHOG_ACCESS_KEY"],
        thehog_secret_key=PLANTED["THEHOG_SECRET_KEY"],
    )
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(lemlist, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(thehog, "DEFAULT_POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(enrichso, "POLL_INTERVAL_S", 0.02)
    with SandboxServer(config) as server:
        yield server


def _everything_said(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every log line, event message and metadata value the run stored, as one text."""
    said: list[str] = []
    for entry in instance.all_logs(run_id):
        said.append(entry.user_message or "")
        event = entry.dagster_event
        if event is None:
            continue
        said.append(event.message or "")
        data = event.event_specific_data
        for holder in (getattr(data, "materialization", None), data):
            metadata = getattr(holder, "metadata", None) or {}
            for name, value in metadata.items():
                plain = value.value
                if isinstance(plain, dg.TableSchema):  # a record: its columns, as text
                    plain = [(c.name, c.type, c.description) for c in plain.columns]
                said.append(f"{name}={json.dumps(plain, default=str, ensure_ascii=False)}")
    return "\n".join(said)


def test_materialisations_say_rows_found_rate_and_credits_and_never_a_key(
    planted_sandbox: SandboxServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = Pipeline(
        tmp_path,
        providers={
            "lemlist": LemlistResource(
                api_key=dg.EnvVar("LEMLIST_API_KEY"), base_url=planted_sandbox.base_url("lemlist")
            ),
            "enrichso": EnrichsoResource(
                api_key=dg.EnvVar("ENRICHSO_API_KEY"),
                base_url=planted_sandbox.base_url("enrichso"),
            ),
            "thehog": ThehogResource(
                access_key=dg.EnvVar("THEHOG_ACCESS_KEY"),
                secret_key=dg.EnvVar("THEHOG_SECRET_KEY"),
                base_url=planted_sandbox.base_url("thehog"),
            ),
        },
    )
    caplog.set_level(logging.DEBUG)  # every logger, httpx included
    # Few people: real-key clients pace themselves at the real limits (lemlist 20 requests in
    # 2 s: one submit and two rounds of polls stay under it).
    pipeline.write_day(planted_sandbox.state.world, DAY, 8, seed=1)
    # an instance on disk, so its run and event storage can be searched for the keys too
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
    result = pipeline.materialize(DAY, instance=instance)
    metadata = materialized_metadata(result)
    counters = planted_sandbox.counters()

    people = pipeline.table("prospects", DAY).num_rows
    assert metadata["prospects"]["dagster/row_count"] == people
    for provider in PROVIDERS:
        meta = metadata[f"{provider}_enrichment"]
        assert meta["dagster/row_count"] >= meta["people_asked"] > 0, provider
        assert meta["people_open"] >= meta["people_asked"], provider
        rates = {f: meta.get(f"{f}_find_rate") for f in FIELDS}
        assert any(r is not None for r in rates.values()), meta
        assert all(r is None or (isinstance(r, float) and 0 <= r <= 1) for r in rates.values())
        assert meta["credits_spent"] == counters["credits_net"].get(provider, 0), provider
    contacts = metadata["contacts"]
    assert contacts["people"] == contacts["dagster/row_count"] == people
    for f in FIELDS:
        assert contacts[f"{f}_coverage"] == round(contacts[f"{f}_found"] / people, 3)
    assert contacts["credits_spent"] == sum(counters["credits_net"].values())
    for table in ("positions", "contact_channels"):
        assert metadata[table]["dagster/row_count"] == pipeline.table(table, DAY).num_rows

    captured = capsys.readouterr()
    said = "\n".join(
        [_everything_said(instance, result.run_id), caplog.text, captured.out, captured.err]
    )
    assert "credits_spent" in said and "find_rate" in said and "coverage" in said
    for value in PLANTED.values():
        assert value not in said
        assert base64.b64encode(f":{value}".encode()).decode() not in said
    # never written to disk: not in the warehouse, the ledger, or Dagster's storage
    on_disk = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in on_disk) and any("ledger" in p.name for p in on_disk)
    assert any("dagster_home" in p.parts for p in on_disk)
    for path in on_disk:
        content = path.read_bytes()
        for value in PLANTED.values():
            assert value.encode() not in content, f"a key was written to {path}"
