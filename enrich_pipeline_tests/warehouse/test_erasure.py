"""Erasure: after a real run against the sandbox, `forget` leaves no trace of the person in any
Parquet file, ledger row or ledger byte, leaves everyone else as they were, and is audited."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from enrich_pipeline import cli
from enrich_pipeline.identity import linkedin_slug, normalise_email
from enrich_pipeline.model import EnrichmentRequest, EnrichmentResult, WantedField
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import World
from enrich_pipeline.settings import Settings, settings
from enrich_pipeline.warehouse.erasure import (
    ERASED,
    ErasureError,
    Matcher,
    Person,
    forget,
    redact_text,
)
from enrich_pipeline.warehouse.storage import connect_readonly
from enrich_pipeline_tests.pipeline_helpers import Pipeline

DAY = "2026-11-07"
LEDGER_TABLES = ("submissions", "results")


@pytest.fixture
def pipeline(pipeline_env: SandboxServer, tmp_path: Path) -> Pipeline:
    """One day enriched by all three providers: ledger, warehouse and views populated."""
    run = Pipeline(tmp_path / "p", Settings(suppression_file=tmp_path / "none.csv"))
    run.write_day(pipeline_env.state.world, DAY, 60, seed=5)
    run.materialize(DAY)
    return run


# ----------------------------------------------------------------------------------- helpers


def every_parquet_row(root: Path) -> dict[str, list[dict[str, Any]]]:
    """file (relative) -> rows, for every Parquet file under the warehouse."""
    return {
        str(path.relative_to(root)): pq.read_table(path).to_pylist()
        for path in sorted(root.rglob("*.parquet"))
    }


def every_ledger_row(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}


def as_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False).lower()


def traces(
    pipeline: Pipeline, needles: list[str], names: tuple[str, str] | None = None
) -> list[str]:
    """Where any needle (or both `names` in one row) still occurs: Parquet cells (every column,
    nested ones and result_json), ledger rows of every table, and the raw bytes of the ledger's
    files (database and WAL)."""
    found = []

    def search(where: str, text: str) -> list[str]:
        hits = [f"{where}: {n}" for n in needles if n in text]
        if names and all(name.lower() in text for name in names):
            hits.append(f"{where}: their name")
        return hits

    for file, rows in every_parquet_row(pipeline.warehouse_dir).items():
        for number, row in enumerate(rows):
            found += search(f"{file} row {number}", as_text(row))
    for table, rows in every_ledger_row(pipeline.state_dir / "ledger.sqlite").items():
        for row in rows:
            found += search(f"ledger {table} row {row[0]}", as_text(row))
    for path in pipeline.state_dir.iterdir():
        data = path.read_bytes().lower()
        found += [f"bytes of {path.name}: {n}" for n in needles if n.encode() in data]
    return found


def target(pipeline: Pipeline, world: World) -> dict[str, Any]:
    """A prospect with profile and email, found by the providers (contacts, positions, channels),
    whose first and last name no other person of the world shares."""
    contacts = {c["person_key"]: c for c in pipeline.table("contacts", DAY).to_pylist()}
    positions = {p["person_key"] for p in pipeline.table("positions", DAY).to_pylist()}
    for prospect in pipeline.table("prospects", DAY).to_pylist():
        key = prospect["person_key"]
        person = world.find_by_linkedin(prospect["linkedin_url"] or "")
        if not (key.startswith("li:") and prospect["email"] and person):
            continue
        if person.work_email != normalise_email(prospect["email"]) or prospect["duplicates"]:
            continue
        found = contacts[key]
        if not (found["found_email"] and found["found_linkedin"] and key in positions):
            continue
        names = (person.first_name.lower(), person.last_name.lower())
        if (
            sum(1 for p in world.people if (p.first_name.lower(), p.last_name.lower()) == names)
            == 1
        ):
            return {**prospect, "world": person}
    raise AssertionError("no suitable person in the sample day")


def rows_about(pipeline: Pipeline, key: str, world: World, person_id: str) -> dict[str, int]:
    """The test's own count of the person's rows per table: rows of their key, their raw rows
    (found through the world's own lookups) and the rejects of those raw rows."""
    raw_rows = {
        (r["source_file"], r["source_row"])
        for r in pipeline.table("raw_prospects", DAY).to_pylist()
        if (
            world.find_by_linkedin(r["linkedin_url"] or "") or world.find_by_email(r["email"] or "")
        )
        is world.person(person_id)
    }
    counts = {}
    warehouse = pipeline.warehouse()
    for table in warehouse.tables():
        for day in warehouse.days(table):
            rows = pipeline.table(table, day).to_pylist()
            if rows and "person_key" in rows[0]:
                mine = [r for r in rows if r["person_key"] == key]
            else:
                mine = [r for r in rows if (r["source_file"], r["source_row"]) in raw_rows]
            counts[f"{table}/{day}"] = len(mine)
    return counts


def row_counts(pipeline: Pipeline) -> dict[str, int]:
    warehouse = pipeline.warehouse()
    return {
        f"{t}/{d}": pipeline.table(t, d).num_rows
        for t in warehouse.tables()
        for d in warehouse.days(t)
    }


def plant_batch_page(pipeline: Pipeline, other_key: str, them: dict[str, Any]) -> None:
    """Stores, with another person's answer, an enrich.so-style batch page that also holds the
    person's record (ledger and attempts table), as a shared page would be."""
    person = them["world"]
    record = {
        "email": person.work_email,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "linkedin": f"https://www.linkedin.com/in/{person.linkedin_slug}",
        "phones": [{"number": "+4930000000"}],
    }
    with pipeline.ledger() as ledger:
        [mine] = [s for s in ledger.results(day=DAY) if s.result.person_key == other_key][:1]
        page = {"data": {"results": [{"email": mine.result.email or "x@y.test"}, record]}}
        planted = mine.result.model_copy(update={"raw": {**mine.result.raw, "page": page}})
        request = EnrichmentRequest(person_key=other_key, fields=frozenset({WantedField.PHONE}))
        [intent] = ledger.record_intents("enrichso", DAY, [request])
        ledger.record_results(intent.id, [planted])
    warehouse = pipeline.warehouse()
    table = pipeline.table("attempts_enrichso", DAY)
    rows = table.to_pylist()
    for row in rows:
        if row["person_key"] == other_key:
            result = EnrichmentResult.model_validate_json(row["result_json"])
            row["result_json"] = result.model_copy(
                update={"raw": {**result.raw, "page": page}}
            ).model_dump_json()
    warehouse.write_partition("attempts_enrichso", DAY, pa.Table.from_pylist(rows, table.schema))


def key_slug(key: str) -> str:
    return key.removeprefix("li:/in/")


def pipeline_ledger_results(pipeline: Pipeline) -> list[Any]:
    with pipeline.ledger() as ledger:
        return ledger.results(day=DAY)


# ------------------------------------------------------------------------------------- tests


def test_forget_leaves_no_trace_of_the_person_and_leaves_everyone_else_alone(
    pipeline: Pipeline, sandbox: SandboxServer
) -> None:
    world = sandbox.state.world
    them = target(pipeline, world)
    key, email, slug = them["person_key"], them["email"].lower(), key_slug(them["person_key"])
    person = them["world"]
    needles = [email, slug, f"{person.first_name} {person.last_name}".lower()]
    names = (person.first_name, person.last_name)
    enrichso_keys = {
        s.result.person_key
        for s in pipeline_ledger_results(pipeline)
        if s.result.provider == "enrichso"
    }
    other = next(k for k in sorted(enrichso_keys) if k and k != key)
    plant_batch_page(pipeline, other, them)
    assert traces(pipeline, needles, names), "the search finds the person before the erasure"

    counts_before = row_counts(pipeline)
    theirs = rows_about(pipeline, key, world, person.person_id)
    ledger_before = every_ledger_row(pipeline.state_dir / "ledger.sqlite")
    ledger_theirs = sum(1 for t in LEDGER_TABLES for r in ledger_before[t] if key in r)
    others = [c for c in pipeline.table("contacts", DAY).to_pylist() if c["person_key"] != key]

    with pipeline.ledger() as ledger:
        report = forget(
            email=them["email"].upper(),
            ledger=ledger,
            warehouse=pipeline.warehouse(),
            actor="dpo",
            raw_dir=pipeline.raw_dir,
        )
        audit = ledger.erasures()

    assert traces(pipeline, needles, names) == []
    # Everyone else: exactly their rows are gone, the other contacts are untouched.
    assert row_counts(pipeline) == {t: n - theirs[t] for t, n in counts_before.items()}
    assert report.warehouse_rows_removed == sum(theirs.values())
    assert theirs["raw_prospects/" + DAY] == 1 and theirs["contacts/" + DAY] == 1
    assert pipeline.table("contacts", DAY).to_pylist() == others
    ledger_after = every_ledger_row(pipeline.state_dir / "ledger.sqlite")
    removed = sum(len(ledger_before[t]) - len(ledger_after[t]) for t in LEDGER_TABLES)
    assert removed == ledger_theirs == report.ledger_rows_removed > 0
    # The shared page lost the person's record only; the other person's answer still reads.
    with pipeline.ledger() as ledger:
        kept = [s.result for s in ledger.results(day=DAY) if "page" in s.result.raw]
    assert len(kept) == 1 and kept[0].person_key == other
    assert kept[0].raw["page"]["data"]["results"][1] == ERASED
    assert kept[0].raw["page"]["data"]["results"][0]["email"]
    assert report.payloads_redacted == 1 and report.values_redacted == 1
    # Audit: who and when and counts, nothing about whom.
    assert [(a.requested_by, a.rows_removed) for a in audit] == [("dpo", report.rows_removed)]
    touched = {table.split("/")[0] for table, n in theirs.items() if n} | {"attempts_enrichso"}
    assert report.tables_rewritten == sorted(touched)
    assert audit[0].tables_rewritten == len(touched) >= 6
    assert report.ledger_compacted
    # The views still answer, without the person.
    with connect_readonly(pipeline.warehouse_dir) as db:
        count = "SELECT count(*) FROM {} WHERE person_key {} ?"
        assert db.execute(count.format("contacts", "<>"), [key]).fetchone() == (len(others),)
        assert db.execute(count.format("contacts_latest", "="), [key]).fetchone() == (0,)
        assert db.execute(count.format("enrichment_attempts", "="), [key]).fetchone() == (0,)
        assert db.execute(count.format("enrichment_attempts", "<>"), [key]).fetchone()[0] > 0
    # Their row in the user's own file is reported, not edited.
    [(path, rows)] = report.raw_files.items()
    assert path == str(pipeline.raw_dir / DAY / "prospects.csv") and len(rows) == 1
    assert email in Path(path).read_text().lower()

    with pipeline.ledger() as ledger:  # forgetting again finds nothing, and is audited too
        again = forget(
            linkedin_url=them["linkedin_url"],
            ledger=ledger,
            warehouse=pipeline.warehouse(),
            actor="dpo",
        )
        assert [a.rows_removed for a in ledger.erasures()] == [report.rows_removed, 0]
    assert again.rows_removed == 0 and again.tables_rewritten == []


def test_the_forget_command_prints_counts_warns_about_raw_files_and_needs_an_identifier(
    pipeline: Pipeline,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    them = target(pipeline, sandbox.state.world)
    for name, folder in (("RAW", "raw"), ("WAREHOUSE", "wh"), ("STATE", "state")):
        monkeypatch.setenv(f"ENRICH_{name}_DIR", str(pipeline.root / folder))
    settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as usage:
            cli.main(["forget", "--by", "someone"])
        assert usage.value.code == 2
        assert "one of --email or --linkedin-url is required" in capsys.readouterr().err

        url = them["linkedin_url"].replace("https://www.", "HTTP://").upper() + "/"
        assert cli.main(["forget", "--linkedin-url", url, "--by", "privacy-team"]) == 0
    finally:
        settings.cache_clear()
    out, err = capsys.readouterr()
    assert "rows removed" in out and "erasure #1" in out and "privacy-team" in out
    assert them["email"].lower() not in out.lower() and key_slug(them["person_key"]) not in out
    assert "prospects.csv" in err and "suppression list" in err
    assert traces(pipeline, [key_slug(them["person_key"]), them["email"].lower()]) == []


def test_a_request_without_a_valid_identifier_is_refused() -> None:
    for kwargs in ({}, {"email": "not-an-address"}, {"linkedin_url": "https://acme.test/in/x"}):
        with pytest.raises(ErasureError):
            Person.of(kwargs.get("email"), kwargs.get("linkedin_url"))


def test_redaction_keeps_the_payload_shape_and_the_other_people() -> None:
    person = Person.of("ana.lima@acme-example.test", "https://www.linkedin.com/in/ana-lima-42")
    matcher = Matcher(person)
    page = {
        "results": [
            {"email": "bo@acme-example.test", "name": "Bo"},
            {"person": {"email": "ANA.LIMA@acme-example.test"}, "name": "Ana Lima"},
        ],
        "note": "see linkedin.com/in/ana-lima-42?trk=1 for more",
        "ana.lima@acme-example.test": {"seen": True},
        "similar": ["https://www.linkedin.com/in/ana-lima-420", "xana.lima@acme-example.test"],
    }
    assert json.loads(redact_text(json.dumps(page), matcher)) == {
        "results": [{"email": "bo@acme-example.test", "name": "Bo"}, ERASED],
        "note": ERASED,
        "similar": page["similar"],  # other profiles and addresses that merely contain theirs
    }
    assert redact_text("plain text without them", matcher) == "plain text without them"
    assert redact_text(" ana-lima-42 ", matcher) == ERASED
    typed = EnrichmentResult(
        person_key="em:bo@acme-example.test",
        provider="lemlist",
        record_status="found",
        reason="mentions https://linkedin.com/in/ana-lima-42",
        raw={"rows": [{"linkedin": "linkedin.com/in/ana-lima-42"}, {"x": 1}]},
    )
    redacted = EnrichmentResult.model_validate_json(redact_text(typed.model_dump_json(), matcher))
    assert redacted.reason == ERASED and redacted.raw == {"rows": [ERASED, {"x": 1}]}
    assert linkedin_slug("https://www.linkedin.com/in/ana-lima-42") in person.slugs
