"""Bulk `flatten` of a file of lemlist payloads, streamed and columnar (issue #12).

Default (`sql=True`, the CLI's lemlist path): one DuckDB query (`bulk_sql`) reads the file
incrementally (`read_json_objects`: a JSON array, JSON lines or a single value), parses each payload
once into a typed struct and writes its record in SQL: the same values `payloads.flatten` gives,
already serialised as today's JSON line or typed for Parquet. The result is fetched in Arrow
batches, in input order, so memory is bounded by the batch size, not by the input. A file of more
than two of DuckDB's read buffers is transformed by two threads (`bulk_sql.threads_for`).

What SQL cannot reproduce exactly goes to the Python reader, payload by payload and in order:
many-item webhooks, alias data keys, string escapes, floats, unknown keys, unreadable values, an
invalid phone, an empty profile, odd shapes (`bulk_sql` lists the rules). With `sql=False`
(`flatten --no-sql`) every payload goes through the Python reader, streamed the same way.

Differences from `flatten(whole file)`, on purpose: `fetched_at` is one timestamp per run (the
Python path stamps each record as it is built); a payload the Python reader crashes on becomes one
FAILED record of its own instead of one for the whole file; Parquet has one fixed schema
(`PARQUET_SCHEMA`) instead of types guessed from the rows (a column that is null in every row is
typed, not `null`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from enrich_pipeline.model import EnrichmentResult
from enrich_pipeline.providers.lemlist import bulk_sql
from enrich_pipeline.providers.lemlist.payloads import flatten

BATCH_ROWS = 4096  # records held at once (per Arrow batch); the input can be any size
INPUT_FORMATS = ("auto", "array", "newline_delimited")

# ------------------------------------------------------------------------- Parquet schema

_POSITION = pa.struct(
    [
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("start_year", pa.int64()),
        ("start_month", pa.int64()),
        ("end_year", pa.int64()),
        ("end_month", pa.int64()),
        ("is_current", pa.bool_()),
        ("description", pa.string()),
    ]
)
_EDUCATION = pa.struct(
    [
        ("school_name", pa.string()),
        ("degree_name", pa.string()),
        ("start_year", pa.int64()),
        ("end_year", pa.int64()),
    ]
)
_LINKEDIN = pa.struct(
    [
        ("url", pa.string()),
        ("provider_profile_id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("full_name", pa.string()),
        ("headline", pa.string()),
        ("title", pa.string()),
        ("company_name", pa.string()),
        ("company_domain", pa.string()),
        ("location", pa.string()),
        ("summary", pa.string()),
        ("skills", pa.list_(pa.string())),
        ("positions", pa.list_(_POSITION)),
        ("education", pa.list_(_EDUCATION)),
        ("photo_url", pa.string()),
    ]
)
_PHONE = pa.struct([("number", pa.string()), ("type", pa.string()), ("source_rank", pa.int64())])
# The columns and order of `model_dump(mode="json")` (what `flatten --format parquet` writes),
# with the types pyarrow infers when a column has values; `raw` is JSON text.
PARQUET_SCHEMA = pa.schema(
    [
        ("person_key", pa.string()),
        ("provider", pa.string()),
        ("provider_ref", pa.string()),
        ("request_correlation", pa.string()),
        ("record_status", pa.string()),
        ("reason", pa.string()),
        ("email", pa.string()),
        ("email_status", pa.string()),
        ("email_confidence", pa.string()),
        ("phones", pa.list_(_PHONE)),
        ("linkedin", _LINKEDIN),
        ("cost_credits", pa.int64()),
        ("cost_basis", pa.string()),
        ("fetched_at", pa.string()),
        ("raw", pa.string()),
    ]
)

# ------------------------------------------------------------------------------- the SQL


def _batches(
    path: Path, input_format: str, select: str, fetched_at: str, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The transform's rows (`bulk_sql.QUERY`), streamed in input order, `batch_rows` at a time."""
    con = bulk_sql.connect(bulk_sql.threads_for(path.stat().st_size))
    try:
        relation = con.sql(
            bulk_sql.QUERY.replace("{select}", select),
            params={"path": str(path), "format": input_format, "fetched_at": fetched_at},
        )
        yield from _rebatched(relation.to_arrow_reader(batch_rows), batch_rows)
    finally:
        con.close()


def _rebatched(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """`batches` cut again into batches of exactly `rows` rows (the last one shorter). With two
    threads DuckDB hands over a short batch where a thread's share ends; cut again, the batches,
    so the Parquet row groups and the file's bytes, are the same whatever the threads."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        while len(batch):
            part = batch.slice(0, rows - held)
            pending.append(part)
            held += len(part)
            batch = batch.slice(len(part))
            if held == rows:
                yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)
                pending, held = [], 0
    if held:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


def payload_texts(path: Path, input_format: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's payloads as JSON text (one column), streamed by DuckDB in batches: a JSON
    array gives its elements, JSON lines their lines, a single value itself."""
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        yield from con.sql(
            "SELECT json::VARCHAR AS json FROM read_json_objects($path, format = $format, "
            "maximum_object_size = 16777216)",
            params={"path": str(path), "format": input_format},
        ).to_arrow_reader(batch_rows)
    finally:
        con.close()


# ---------------------------------------------------------------------- the Python fallback


def python_records(payload_text: str, fetched_at: datetime | None) -> list[dict[str, Any]]:
    """One payload the SQL does not read, through `flatten`: its records as `model_dump` JSON."""
    records: list[EnrichmentResult] = flatten(json.loads(payload_text))
    if fetched_at is not None:
        records = [r.model_copy(update={"fetched_at": fetched_at}) for r in records]
    return [r.model_dump(mode="json") for r in records]


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def _stamp(fetched_at: datetime) -> str:
    """`fetched_at` exactly as pydantic writes it in JSON mode."""
    return EnrichmentResult(
        person_key=None, provider="lemlist", record_status="pending", fetched_at=fetched_at
    ).model_dump(mode="json")["fetched_at"]


# ------------------------------------------------------------------------------- writers


def write_jsonl(
    path: Path,
    out: TextIO,
    *,
    fetched_at: datetime,
    input_format: str = "auto",
    batch_rows: int = BATCH_ROWS,
    sql: bool = True,
) -> int:
    """Every record of the payloads in `path` as today's JSON lines, to `out`; returns the count.
    `sql=False`: every payload through the Python reader (see the module doc)."""
    count = 0
    if not sql:
        for batch in payload_texts(path, input_format, batch_rows):
            records = [
                r for text in batch.column(0).to_pylist() for r in python_records(text, fetched_at)
            ]
            if records:
                out.write("".join(_json_line(r) + "\n" for r in records))
            count += len(records)
        return count
    for batch in _batches(path, input_format, bulk_sql.LINE, _stamp(fetched_at), batch_rows):
        lines = batch.column(0).to_pylist()
        payloads = batch.column(1)
        if payloads.null_count < len(payloads):
            for i, text in enumerate(payloads.to_pylist()):
                if text is not None:
                    records = python_records(text, fetched_at)
                    lines[i] = "\n".join(_json_line(r) for r in records) if records else None
                    count += len(records) - 1
        kept = [line for line in lines if line is not None]
        count += len(kept)
        if kept:
            out.write("\n".join(kept) + "\n")
    return count


def write_parquet(
    path: Path,
    out: Path,
    *,
    fetched_at: datetime,
    input_format: str = "auto",
    batch_rows: int = BATCH_ROWS,
    sql: bool = True,
) -> int:
    """Every record of the payloads in `path` to a Parquet file (PARQUET_SCHEMA), streamed."""
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    if sql:
        batches = (
            _parquet_batch(batch, fetched_at)
            for batch in _batches(
                path, input_format, bulk_sql.COLUMNS, _stamp(fetched_at), batch_rows
            )
        )
    else:
        batches = (
            _parquet_rows(
                [
                    r
                    for text in batch.column(0).to_pylist()
                    for r in python_records(text, fetched_at)
                ]
            )
            for batch in payload_texts(path, input_format, batch_rows)
        )
    with pq.ParquetWriter(out, PARQUET_SCHEMA) as writer:
        for table in batches:
            if table.num_rows:
                writer.write_table(table)
                count += table.num_rows
    return count


def _parquet_batch(batch: pa.RecordBatch, fetched_at: datetime) -> pa.Table:
    """The batch's SQL rows and its Python payloads' records, in input order, typed: slices of
    the SQL rows and of one table of the Python records, concatenated and made contiguous (one
    copy of each buffer; a `take` of the whole batch gathered row by row and cost as much as
    writing it). The Parquet file is byte for byte the one `take` gave; left in chunks, its pages
    would split differently and writing them cost more than the copy saves."""
    typed = pa.Table.from_batches([batch]).drop_columns(["in_sql", "payload"])
    if typed.schema != PARQUET_SCHEMA:  # the query's types are the schema's: no cast to pay
        typed = typed.cast(PARQUET_SCHEMA)
    in_sql = batch.column(0)
    if in_sql.false_count == 0:
        return typed
    # (row, first record, record count) of each Python payload, and their records in one table
    spans: list[tuple[int, int, int]] = []
    records: list[dict[str, Any]] = []
    payloads = batch.column(1)
    for i, sql_row in enumerate(in_sql.to_pylist()):
        if not sql_row:
            got = python_records(payloads[i].as_py(), fetched_at)
            spans.append((i, len(records), len(got)))
            records.extend(got)
    python = _parquet_rows(records)
    pieces: list[pa.Table] = []
    start = 0
    for row, first, count in spans:
        if row > start:
            pieces.append(typed.slice(start, row - start))
        if count:
            pieces.append(python.slice(first, count))
        start = row + 1
    if start < len(batch):
        pieces.append(typed.slice(start))
    return pa.concat_tables(pieces).combine_chunks() if pieces else typed.slice(0, 0)


def _parquet_rows(records: list[dict[str, Any]]) -> pa.Table:
    """`model_dump` records as the CLI writes them to Parquet (`raw` as JSON text), typed. Read by
    Arrow's JSON reader with the schema given, which gives what `Table.from_pylist` gives without
    importing pandas (`pa.array` of Python objects does, 0.3 s)."""
    if not records:
        return PARQUET_SCHEMA.empty_table()
    text = "".join(
        json.dumps({**r, "raw": json.dumps(r["raw"], ensure_ascii=False, sort_keys=True)}) + "\n"
        for r in records
    ).encode()
    return pa_json.read_json(
        pa.py_buffer(text),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=_block_size(len(text))),
        parse_options=pa_json.ParseOptions(
            explicit_schema=PARQUET_SCHEMA, unexpected_field_behavior="error"
        ),
    ).select(PARQUET_SCHEMA.names)


def _block_size(size: int) -> int:
    """One block for the whole text (a record must fit in one), within the reader's int32."""
    return min(max(1 << 20, size), 2**31 - 1)
