"""The streamed lemlist flatten (`providers.lemlist.bulk`, the CLI's default for lemlist) gives
byte-identical JSON lines and the same Parquet rows as the per-record Python path, for JSON lines,
a JSON array and a single object, with and without the SQL transform."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from enrich_pipeline.cli import main
from enrich_pipeline_tests.providers import test_lemlist_flatten as documented

ROOT = Path(__file__).resolve().parents[2]
STAMP = "2026-03-04T05:06:07.080910+00:00"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "flatten_vs_duckdb", ROOT / "benchmarks" / "flatten_vs_duckdb.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ODD: list[Any] = [
    "garbage",
    42,
    None,
    [documented.POLL_DONE, "nested"],
    {"type": "enrichmentDone", "data": [7]},
    {"type": "enrichmentDone", "data": {"id": "enr_obj", "data": {}}},
    {"type": "enrichmentDone", "data": [{"id": "a", "data": {"email": {"email": "A@B.io"}}}]},
    {"type": "enrichmentDone", "data": [{"id": "a", "data": {"find_email": "bare@b.io"}}]},
    {"type": "enrichmentDone", "data": [{"id": 12, "metadata": 5, "data": None}]},
    {
        "type": "enrichmentDone",
        "data": [{"id": "t", "data": {"find_email": {"email": "x\ty@b.io"}}}],
    },
    {"type": "enrichmentDone", "data": [{"id": "u", "data": {"find_email": {"email": "é@b.io"}}}]},
    {"type": "enrichmentError", "data": [{"id": "e", "metadata": ["x", 1], "data": {}}]},
    {"type": "enrichmentDone", "data": [{"id": "v", "data": {"verify": {"result": ""}}}]},
    {"type": "enrichmentDone", "data": [{"id": "p", "data": {"find_phone": {"phone": "12"}}}]},
    {"type": "enrichmentDone", "data": [{"id": "p", "data": {"find_phone": {"phone": ""}}}]},
    {"type": "enrichmentDone", "data": [{"id": "l", "data": {"linkedin_enrichment": {"x": 1}}}]},
    {"type": "enrichmentDone", "secret": "s", "data": [{"id": "s", "metadata": "em:a@b.io"}]},
    {
        "type": "enrichmentDone",
        "data": [
            {
                "id": "g",
                "data": {
                    "linkedin_enrichment": {
                        "firstName": " Zoë ",
                        "lastName": "Ng",
                        "companyWebsite": "https://www.Acme.co.uk/x",
                        "linkedinMemberId": True,
                        "skills": ["a", " ", 3, "b "],
                        "positionGroups": [
                            "x",
                            {"company": {"name": "C"}, "profilePositions": None},
                            {"date": {"start": {"year": "2019"}, "end": {"year": 2020}}},
                            {"profilePositions": [{"title": "T", "date": {}}, 5]},
                        ],
                    }
                },
            }
        ],
    },
]


@pytest.fixture(scope="module")
def corpus() -> list[Any]:
    payloads: list[Any] = [
        documented.POLL_IN_PROGRESS,
        documented.POLL_DONE,
        documented.POLL_NOT_FOUND,
        documented.SINGLE_SUBMIT,
        *documented.BULK_SUBMIT,
        documented.WEBHOOK_DONE,
        documented.WEBHOOK_ERROR,
        {"error": "x", "code": "ALREADY_ENRICHED"},
        {"_id": "enr_g", "status": "completed", "email": "g@h.io", "credits": 5},
        *ODD,
    ]
    payloads += list(_generator().lemlist_payloads(300, seed=11, people=400))
    return payloads


def _flatten(source: Path, out: Path, *extra: str) -> None:
    argv = ["flatten", "--provider", "lemlist", str(source), "--out", str(out)]
    assert main([*argv, "--fetched-at", STAMP, *extra]) == 0


def _reference(tmp_path: Path, corpus: list[Any], fmt: str) -> Path:
    source = tmp_path / "ref.json"
    source.write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / f"ref.{fmt}"
    _flatten(source, out, "--python-path", "--format", fmt)
    return out


@pytest.mark.parametrize("sql", [False, True], ids=["streamed", "sql"])
@pytest.mark.parametrize("layout", ["lines", "array"])
def test_jsonl_is_byte_identical(tmp_path: Path, corpus: list[Any], layout: str, sql: bool) -> None:
    source = tmp_path / f"in.{layout}"
    if layout == "lines":
        source.write_text("".join(json.dumps(p) + "\n" for p in corpus), encoding="utf-8")
    else:
        source.write_text(json.dumps(corpus, indent=1), encoding="utf-8")
    out = tmp_path / "bulk.jsonl"
    _flatten(source, out, "--batch-size", "64", *(["--sql"] if sql else []))
    expected = _reference(tmp_path, corpus, "jsonl").read_bytes()
    assert out.read_bytes() == expected
    assert len(expected.splitlines()) > len(corpus) - len(ODD)


@pytest.mark.parametrize("sql", [False, True], ids=["streamed", "sql"])
def test_parquet_rows_are_the_same(tmp_path: Path, corpus: list[Any], sql: bool) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in corpus), encoding="utf-8")
    out = tmp_path / "bulk.parquet"
    _flatten(source, out, "--format", "parquet", "--batch-size", "50", *(["--sql"] if sql else []))
    got, want = pq.read_table(out), pq.read_table(_reference(tmp_path, corpus, "parquet"))
    assert got.column_names == want.column_names
    for name in want.column_names:  # the old path types a field null in every row as `null`
        if "null" not in str(want.schema.field(name).type):
            assert got.schema.field(name).type == want.schema.field(name).type, name
    assert got.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("sql", [False, True], ids=["streamed", "sql"])
def test_a_single_object_file(tmp_path: Path, sql: bool) -> None:
    source = tmp_path / "one.json"
    source.write_text(json.dumps(documented.WEBHOOK_DONE, indent=2), encoding="utf-8")
    out = tmp_path / "one.jsonl"
    _flatten(source, out, *(["--sql"] if sql else []))
    expected = _reference(tmp_path, documented.WEBHOOK_DONE, "jsonl").read_bytes()
    assert out.read_bytes() == expected
    [record] = [json.loads(line) for line in expected.splitlines()]
    assert record["fetched_at"] == datetime.fromisoformat(STAMP).astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
