"""The streamed lemlist flatten (`providers.lemlist.bulk`, the CLI's default for lemlist) gives
byte-identical JSON lines and the same Parquet rows as the per-record Python path, for JSON lines,
a JSON array and a single object, with the SQL transform (the default) and without it (--no-sql).
The corpus holds the documented payloads, generated ones, and shapes at the edge of what SQL reads
(nulls, escapes, floats, unknown and duplicate keys, values of another type): each must give the
same record whichever reader takes it."""

from __future__ import annotations

import importlib.util
import json
import os
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
    # at the edge of the SQL reader: each must give the Python reader's record
    {"type": "enrichmentDone", "data": [{"id": "n", "metadata": None, "error": None, "data": {}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": None}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": ""}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": 12}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": []}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": {"email": "  "}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_email": {"email": None}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"verify": {"status": 1.5}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"verify": {"status": ""}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"verify": {"result": "ok"}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "extra": 1, "data": {}}]},
    {"type": "enrichmentDone", "data": [{"id": 7, "metadata": {"b": [1, 2], "a": None}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "metadata": {"z": 1, "a": "x", "m": True}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "metadata": [{"a": 1}, {"b": 2}]}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "metadata": "nd:abc", "data": None}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"linkedin_enrichment": {}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"linkedin_enrichment": None}}]},
    {
        "type": "enrichmentDone",
        "data": [{"id": "n", "data": {"linkedin_enrichment": {"firstName": {"a": 1}}}}],
    },
    {
        "type": "enrichmentDone",
        "data": [{"id": "n", "data": {"linkedin_enrichment": {"firstName": ["A", "B"]}}}],
    },
    {
        "type": "enrichmentDone",
        "data": [{"id": "n", "data": {"linkedin_enrichment": {"companyId": 12345678901234567890}}}],
    },
    {
        "type": "enrichmentDone",
        "data": [
            {"id": "n", "data": {"linkedin_enrichment": {"firstName": "A", "lastName": None}}}
        ],
    },
    {
        "type": "enrichmentDone",
        "data": [
            {
                "id": "n",
                "data": {
                    "linkedin_enrichment": {
                        "firstName": "Ana",
                        "lastName": "Li",
                        "companyDomain": "https://www.Acme.co.uk/x",
                        "skills": " a, ,b ,",
                        "positionGroups": [
                            {"company": {"name": "C", "website": "c.io"}, "date": None},
                            {"date": {"start": {"year": 2019}, "end": {}}, "profilePositions": []},
                            {
                                "date": {"start": {"year": 2018, "month": 2}},
                                "profilePositions": [{"title": "T", "date": {}}],
                            },
                            {"profilePositions": [{"date": {"end": {"year": "2020"}}}]},
                            {"company": {}, "profilePositions": [{}, {"title": " "}]},
                        ],
                    }
                },
            }
        ],
    },
    {
        "type": "enrichmentError",
        "data": [
            {
                "id": "n",
                "metadata": None,
                "data": {
                    "linkedin_enrichment": {
                        "linkedinUrl": "linkedin.com/in/Ana-Li/",
                        "lastName": "Li",
                        "companyWebsite": "https://www.Acme.co.uk/x",
                        "skills": " a, ,b ,",
                        "summary": None,
                        "positionGroups": [
                            {"company": {"name": "C", "website": "c.io"}},
                            {"date": {"start": {"year": 2019}, "end": {}}, "profilePositions": []},
                            {
                                "date": {"start": {"year": 2018, "month": 2}},
                                "profilePositions": [{"title": "T", "date": {}}],
                            },
                            {"company": {}, "profilePositions": [{}, {"title": " "}]},
                        ],
                    },
                    "verify": {"email": "ana@acme.co.uk", "status": " Deliverable"},
                },
            }
        ],
    },
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_phone": {"phone": None}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_phone": {"phone": 3}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "data": {"find_phone": {"notFound": False}}}]},
    {"type": "enrichmentError", "data": [{"id": "n", "error": " ", "data": {"verify": {}}}]},
    {"type": "enrichmentDone", "data": [{"id": "n", "error": 5, "data": {}}]},
    {"type": "enrichmentDone", "type2": 1, "data": [{"id": "n", "data": {}}]},
    {"type": 3, "data": [{"id": "n", "data": {}}]},
    {"type": "enrichmentDone", "secret": {"k": "v"}, "data": [{"id": "n"}]},
    {"type": "enrichmentDone", "secret": None, "data": [{"id": "n"}]},
    {"enrichmentId": "e", "enrichmentStatus": "RUNNING", "input": {"email": " A@B.io "}},
    {"enrichmentId": "e", "enrichmentStatus": None},
    {
        "enrichmentId": "e",
        "enrichmentStatus": "failed",
        "data": {"phone": {"phone": "+14155550100"}},
    },
    {"enrichmentId": "e", "enrichmentStatus": "not_found", "input": "x"},
    {"enrichmentId": "e", "enrichmentStatus": "done", "error": "late", "data": {"verify": None}},
    {
        "enrichmentStatus": "done",
        "input": {"firstName": "Ana", "lastName": "Li", "companyDomain": "www.acme.io"},
        "data": {"email": {"email": None, "notFound": True}},
    },
    {
        "enrichmentStatus": "done",
        "input": {},
        "data": {"email": {"email": "A@b.io", "status": "Risky "}},
    },
    {"id": " ", "metadata": "x"},
    {"id": 5, "error": "E"},
    {"error": " E ", "metadata": {"crm": "1"}},
    {"error": None},
    {"id": "enr_y", "metadata": 3},
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


@pytest.mark.parametrize("sql", [False, True], ids=["python", "sql"])
@pytest.mark.parametrize("layout", ["lines", "array"])
def test_jsonl_is_byte_identical(tmp_path: Path, corpus: list[Any], layout: str, sql: bool) -> None:
    source = tmp_path / f"in.{layout}"
    if layout == "lines":
        source.write_text("".join(json.dumps(p) + "\n" for p in corpus), encoding="utf-8")
    else:
        source.write_text(json.dumps(corpus, indent=1), encoding="utf-8")
    out = tmp_path / "bulk.jsonl"
    _flatten(source, out, "--batch-size", "64", "--sql" if sql else "--no-sql")
    expected = _reference(tmp_path, corpus, "jsonl").read_bytes()
    assert out.read_bytes() == expected
    assert len(expected.splitlines()) > len(corpus) - len(ODD)


@pytest.mark.parametrize("sql", [False, True], ids=["python", "sql"])
def test_parquet_rows_are_the_same(tmp_path: Path, corpus: list[Any], sql: bool) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in corpus), encoding="utf-8")
    out = tmp_path / "bulk.parquet"
    _flatten(
        source, out, "--format", "parquet", "--batch-size", "50", "--sql" if sql else "--no-sql"
    )
    got, want = pq.read_table(out), pq.read_table(_reference(tmp_path, corpus, "parquet"))
    assert got.column_names == want.column_names
    for name in want.column_names:  # the old path types a field null in every row as `null`
        if "null" not in str(want.schema.field(name).type):
            assert got.schema.field(name).type == want.schema.field(name).type, name
    assert got.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("sql", [False, True], ids=["python", "sql"])
def test_a_single_object_file(tmp_path: Path, sql: bool) -> None:
    source = tmp_path / "one.json"
    source.write_text(json.dumps(documented.WEBHOOK_DONE, indent=2), encoding="utf-8")
    out = tmp_path / "one.jsonl"
    _flatten(source, out, "--sql" if sql else "--no-sql")
    expected = _reference(tmp_path, documented.WEBHOOK_DONE, "jsonl").read_bytes()
    assert out.read_bytes() == expected
    [record] = [json.loads(line) for line in expected.splitlines()]
    assert record["fetched_at"] == datetime.fromisoformat(STAMP).astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


# Payloads as text: what a Python dict cannot hold (duplicate keys) or writes one way only.
RAW_LINES = [
    '{"type": "enrichmentDone", "data": [{"id": "d", "id": "e", "data": {}}]}',
    '{"type":"enrichmentDone","data":[{"id":"c","metadata":null,"data":{"find_email":'
    '{"email":"A@b.io","status":"risky"}}}]}',
    '{ "type" : "enrichmentDone" , "data" : [ { "id" : "w" , "metadata" : null } ] }',
    '{"type": "enrichmentDone", "data": [{"id": "f", "metadata": 1.0}]}',
    '{"type": "enrichmentDone", "data": [{"id": "f", "metadata": 1e2}]}',
    '{"type": "enrichmentDone", "data": [{"id": "f", "metadata": -0}]}',
    '{"type": "enrichmentDone", "data": [{"id": "\\u00e9\\/x", "metadata": "a\\"b"}]}',
    '{"type": "enrichmentDone", "data": [{"id": "u", "metadata": "Zo\u00eb \u00a0"}]}',
    '{"id": "enr_1", "metadata": {"a": 1, "a": 2}}',
    '{"enrichmentId": "e", "enrichmentStatus": "done", "data": {"email": {"email": "x@y.io"},'
    ' "find_email": {"email": "z@y.io"}}}',
]


@pytest.mark.parametrize("sql", [False, True], ids=["python", "sql"])
def test_payload_texts_at_the_edge(tmp_path: Path, sql: bool) -> None:
    source = tmp_path / "edge.jsonl"
    source.write_text("".join(line + "\n" for line in RAW_LINES), encoding="utf-8")
    reference = tmp_path / "edge.json"
    reference.write_text("[" + ",\n".join(RAW_LINES) + "]", encoding="utf-8")
    out, want = tmp_path / "bulk.jsonl", tmp_path / "want.jsonl"
    _flatten(source, out, "--sql" if sql else "--no-sql")
    _flatten(reference, want, "--python-path")
    assert out.read_bytes() == want.read_bytes()


def test_order_is_kept_across_batches_and_threads(tmp_path: Path) -> None:
    """Many vectors and a Python payload every 97 rows: records stay in order, and each gets its
    own identity (the per-distinct cache of the Python rules is reused across vectors)."""
    rows = []
    for i in range(9000):
        if i % 97 == 0:
            rows.append({"type": "enrichmentDone", "data": [{"id": f"r{i}"}, {"id": f"r{i}b"}]})
        elif i % 3 == 0:
            rows.append({"id": f"r{i}", "metadata": f"em:p{i}@x.io"})
        elif i % 3 == 1:
            item = {"id": f"r{i}", "data": {"find_email": {"email": f"p{i}@x.io"}}}
            rows.append({"type": "enrichmentDone", "data": [item]})
        else:  # a distinct URL per row: the identity rules' cache fills and starts again
            profile = {"linkedinUrl": f"linkedin.com/in/P{i}/", "companyDomain": f"d{i % 50}.io"}
            item = {"id": f"r{i}", "data": {"linkedin_enrichment": profile}}
            rows.append({"type": "enrichmentDone", "data": [item]})
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "many.jsonl.out"
    _flatten(source, out, "--batch-size", "1000")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    refs = [r["provider_ref"] for r in records]
    for r in records:
        if r["linkedin"] is not None:
            i = int(r["provider_ref"][1:])
            assert r["person_key"] == f"li:/in/p{i}"
            assert r["linkedin"]["url"] == f"https://www.linkedin.com/in/p{i}"
            assert r["linkedin"]["company_domain"] == f"d{i % 50}.io"
    expected = [x for i in range(9000) for x in ([f"r{i}", f"r{i}b"] if i % 97 == 0 else [f"r{i}"])]
    assert refs == expected


def test_a_payload_the_python_reader_crashes_on(tmp_path: Path) -> None:
    """An identity rule raising (urlsplit of this URL) sends the payload to the Python reader,
    which keeps it as one FAILED record, as the streamed Python path does."""
    crashing = {"linkedin_enrichment": {"linkedinUrl": "http://[x/in/a", "firstName": "A"}}
    payloads = [
        {"type": "enrichmentDone", "data": [{"id": "a", "data": crashing}]},
        documented.WEBHOOK_DONE,
    ]
    source = tmp_path / "crash.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in payloads), encoding="utf-8")
    out, want = tmp_path / "sql.jsonl", tmp_path / "python.jsonl"
    _flatten(source, out, "--sql")
    _flatten(source, want, "--no-sql")
    assert out.read_bytes() == want.read_bytes()
    first = json.loads(out.read_text().splitlines()[0])
    assert first["record_status"] == "failed" and "ValueError" in first["reason"]


def test_two_threads_keep_the_order_and_the_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of several of DuckDB's 32 MiB JSON buffers is transformed by two threads (`bulk_sql.
    threads_for`): the records stay in input order and are the Python reader's, with the rules'
    cache shared by both threads, and the Parquet file is the same as with one thread."""
    from enrich_pipeline.providers.lemlist import bulk_sql

    monkeypatch.setattr(bulk_sql, "PARALLEL_FROM_BYTES", 0)
    long = "x" * 3_800  # 9,000 payloads fill more than one buffer
    rows = []
    for i in range(9000):
        if i % 97 == 0:  # many items: the Python reader
            rows.append({"type": "enrichmentDone", "data": [{"id": f"r{i}"}, {"id": f"r{i}b"}]})
            continue
        profile = {
            "linkedinUrl": f"linkedin.com/in/P{i % 700}/",
            "companyDomain": f"d{i % 50}.io",
            "summary": f"{i} {long}",
        }
        item = {"id": f"r{i}", "data": {"linkedin_enrichment": profile}}
        rows.append({"type": "enrichmentDone", "data": [item]})
    source = tmp_path / "big.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert source.stat().st_size > 32 * 2**20
    assert bulk_sql.threads_for(source.stat().st_size) == min(2, os.cpu_count() or 1)
    out, want = tmp_path / "sql.jsonl", tmp_path / "python.jsonl"
    _flatten(source, out, "--sql")
    _flatten(source, want, "--no-sql")
    assert out.read_bytes() == want.read_bytes()
    refs = [json.loads(line)["provider_ref"] for line in out.read_text().splitlines()]
    expected = [x for i in range(9000) for x in ([f"r{i}", f"r{i}b"] if i % 97 == 0 else [f"r{i}"])]
    assert refs == expected
    # the batches are cut again to --batch-size: the Parquet file is the one thread's, byte for byte
    two, one = tmp_path / "two.parquet", tmp_path / "one.parquet"
    _flatten(source, two, "--format", "parquet", "--batch-size", "1000")
    monkeypatch.setattr(bulk_sql, "PARALLEL_FROM_BYTES", 2**62)
    _flatten(source, one, "--format", "parquet", "--batch-size", "1000")
    assert two.read_bytes() == one.read_bytes()


def test_arrow_built_without_pa_array_is_the_same() -> None:
    """The UDFs' string arrays and the Python records' table are built without `pa.array` of
    Python objects (which imports pandas): same values and types as `pa.array` / `from_pylist`."""
    import pyarrow as pa

    from enrich_pipeline.providers.lemlist import bulk, bulk_rules
    from enrich_pipeline.providers.lemlist.bulk import python_records

    for values in ([], [None], ["a"], ["é", None, "", "x\ty"], [None] * 9 + ["z"], ["a"] * 70):
        got = bulk_rules.strings(values)
        got.validate(full=True)
        assert got.equals(pa.array(values, pa.string()))
    stamp = datetime.fromisoformat(STAMP)
    records = [
        r
        for payload in [documented.WEBHOOK_DONE, documented.POLL_DONE, "garbage", ODD[11]]
        for r in python_records(json.dumps(payload), stamp)
    ]
    rows = [{**r, "raw": json.dumps(r["raw"], ensure_ascii=False, sort_keys=True)} for r in records]
    want = pa.Table.from_pylist(rows, schema=bulk.PARQUET_SCHEMA)
    assert bulk._parquet_rows(records).equals(want)
    assert bulk._parquet_rows([]).equals(want.slice(0, 0))
