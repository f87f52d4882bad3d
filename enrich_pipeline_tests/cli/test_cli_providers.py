"""`enrich-pipeline flatten` and `enrich-pipeline lookup` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from enrich_pipeline.cli import main
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.server import SandboxServer

# providers.md 1.7: the documented enrichmentDone webhook body.
LEMLIST_WEBHOOK = {
    "type": "enrichmentDone",
    "data": [
        {
            "id": "enr_Q3vT8kLmN2pXw7RzA",
            "metadata": {"crm_id": "C-1001"},
            "data": {
                "find_email": {"email": "lina.okafor@northwind-labs.io", "status": "deliverable"},
                "find_phone": {"phone": "+14155550142"},
                "linkedin_enrichment": {
                    "linkedinUrl": "https://www.linkedin.com/in/lina-okafor",
                    "linkedinMemberId": 512340987,
                    "firstName": "Lina",
                    "lastName": "Okafor",
                    "tagline": "Head of Revenue Operations",
                    "occupation": "Head of Revenue Operations",
                    "locationName": "Oakland, California, United States",
                    "skills": "Salesforce, SQL, Forecasting",
                    "companyName": "Northwind Labs",
                    "companyDomain": "northwind-labs.io",
                    "positionGroups": [
                        {
                            "company": {"id": 81234567, "name": "Northwind Labs"},
                            "date": {"start": {"month": 4, "year": 2023}, "end": {}},
                            "profilePositions": [
                                {
                                    "title": "Head of Revenue Operations",
                                    "companyName": "Northwind Labs",
                                    "date": {"start": {"month": 4, "year": 2023}, "end": {}},
                                }
                            ],
                        }
                    ],
                },
            },
        }
    ],
}

# providers.md 3.3: the documented partial_success operation.
THEHOG_OPERATION = {
    "id": "op_01JD7Q2W8R5T3Y6V9K0P4A1S2D",
    "status": "partial_success",
    "progress": 100,
    "result": {
        "items": [
            {
                "identifier": {"linkedin_url": "https://www.linkedin.com/in/lina-okafor"},
                "status": "success",
                "data": {
                    "contact": {
                        "email": [
                            {
                                "value": "lina.okafor@northwind-labs.io",
                                "type": "work",
                                "verified": True,
                            }
                        ]
                    }
                },
            },
            {
                "identifier": {"email": "tomas.rieger@harbor-ops.com"},
                "status": "success",
                "data": {"contact": {"email": []}},
            },
            {
                "identifier": {"github_username": "no-such-user-0000"},
                "status": "failed",
                "error": {"message": "Could not resolve this identity"},
            },
        ]
    },
    "error": None,
}

# providers.md 2.5: the documented finder batch results page.
ENRICHSO_FINDER_RESULTS = {
    "success": True,
    "data": {
        "batchId": "6f1c2a9e4b7d3c0012ab3600",
        "status": "completed",
        "totalItems": 2,
        "processedCount": 2,
        "results": [
            {
                "firstName": "Lina",
                "lastName": "Okafor",
                "domain": "northwind-labs.io",
                "found": True,
                "email": "lina.okafor@northwind-labs.io",
                "confidence": "high",
                "isCatchAll": False,
                "provider": "GOOGLE",
                "message": "Email found (high confidence)",
            },
            {
                "firstName": "Tomas",
                "lastName": "Rieger",
                "domain": "harbor-ops.com",
                "found": False,
                "message": "No professional email found",
            },
        ],
    },
    "meta": {
        "requestId": "6f1c2a9e4b7d3c0012ab3605",
        "creditsUsed": 10,
        "creditsRefunded": 10,
        "creditsRemaining": 48190,
        "totalItems": 2,
        "processedItems": 2,
    },
}


def _flatten(tmp_path: Path, provider: str, payload: object, *extra: str) -> list[dict]:
    source = tmp_path / f"{provider}.json"
    source.write_text(json.dumps(payload))
    out = tmp_path / f"{provider}.jsonl"
    assert main(["flatten", "--provider", provider, str(source), "--out", str(out), *extra]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_flatten_lemlist_webhook_example(tmp_path: Path) -> None:
    [record] = _flatten(tmp_path, "lemlist", LEMLIST_WEBHOOK)
    assert record["provider"] == "lemlist" and record["provider_ref"] == "enr_Q3vT8kLmN2pXw7RzA"
    assert record["record_status"] == "found"
    assert (record["email"], record["email_status"]) == (
        "lina.okafor@northwind-labs.io",
        "deliverable",
    )
    assert [p["number"] for p in record["phones"]] == ["+14155550142"]
    assert record["linkedin"]["first_name"] == "Lina"
    assert record["linkedin"]["skills"] == ["Salesforce", "SQL", "Forecasting"]
    [position] = record["linkedin"]["positions"]
    assert (position["title"], position["start_year"], position["is_current"]) == (
        "Head of Revenue Operations",
        2023,
        True,
    )
    # find_email 5 (deliverable) + find_phone 20 + linkedin_enrichment 1, from the price table
    assert (record["cost_credits"], record["cost_basis"]) == (26, "table")
    assert "enr_Q3vT8kLmN2pXw7RzA" in json.dumps(record["raw"])  # the untouched payload is kept


def test_flatten_thehog_operation_example(tmp_path: Path) -> None:
    records = _flatten(tmp_path, "thehog", THEHOG_OPERATION)
    # the unresolvable identity is a clear "not found", kept item by item with its reason
    assert [r["record_status"] for r in records] == ["found", "not_found", "not_found"]
    assert records[0]["email"] == "lina.okafor@northwind-labs.io"
    assert records[0]["email_status"] == "deliverable"
    assert records[0]["person_key"] == "li:/in/lina-okafor"
    assert records[1]["person_key"] == "em:tomas.rieger@harbor-ops.com"
    assert "Could not resolve this identity" in (records[2]["reason"] or "")


def test_flatten_enrichso_finder_results_example_to_parquet(tmp_path: Path) -> None:
    source = tmp_path / "finder.json"
    source.write_text(json.dumps(ENRICHSO_FINDER_RESULTS))
    out = tmp_path / "finder.parquet"
    assert (
        main(
            [
                "flatten",
                "--provider",
                "enrichso",
                str(source),
                "--format",
                "parquet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = pq.read_table(out).to_pylist()
    assert [r["record_status"] for r in rows] == ["found", "not_found"]
    assert rows[0]["email"] == "lina.okafor@northwind-labs.io"
    assert rows[0]["email_status"] == "deliverable"
    assert (rows[0]["cost_credits"], rows[1]["cost_credits"]) == (10, 0)
    assert '"isCatchAll": false' in rows[0]["raw"]  # the untouched row, kept as JSON text


def test_flatten_reports_a_missing_or_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flatten", "--provider", "lemlist", str(tmp_path / "nope.json")]) == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "enrichmentDone", "data": [')
    assert main(["flatten", "--provider", "lemlist", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "not JSON (line 1" in err


def test_lookup_against_the_sandbox_prints_the_found_record(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEMLIST_API_KEY", raising=False)
    monkeypatch.setenv("ENRICH_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("ENRICH_SANDBOX_SPEED", "0.01")
    forget_sandbox_endpoint()
    world = sandbox.state.world
    person = next(p for p in world.people if world.knowledge("lemlist", p).email == p.work_email)
    try:
        code = main(
            [
                "lookup",
                "--provider",
                "lemlist",
                "--linkedin-url",
                person.linkedin_url,
                "--fields",
                "email",
            ]
        )
    finally:
        forget_sandbox_endpoint()
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["email"] == person.work_email and record["record_status"] == "found"
    assert record["person_key"] == f"li:/in/{person.linkedin_slug}"


def test_lookup_explains_what_identifies_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "--provider", "thehog", "--first-name", "Ana"]) == 2
    assert "--linkedin-url" in capsys.readouterr().err
