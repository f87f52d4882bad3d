"""`enrich-pipeline flatten` and `enrich-pipeline lookup`: the provider clients from the shell."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from enrich_pipeline.identity import person_key
from enrich_pipeline.model import PROVIDERS, EnrichmentRequest, EnrichmentResult, WantedField

_FIELD_NAMES = {f.value for f in WantedField}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flatten = sub.add_parser(
        "flatten",
        help="turn raw provider payloads (webhook bodies, poll results, results pages) into records",
        description=(
            "lemlist: FILE is read as a stream (a JSON array, JSON lines or one JSON value) and "
            "flattened in batches by one DuckDB query (memory bounded by --batch-size, not by the "
            "file), each payload SQL cannot read exactly going through the Python reader; the "
            "records are the Python reader's. enrichso and thehog: FILE is one JSON value read whole "
            "(the per-record Python path)."
        ),
    )
    flatten.add_argument("--provider", required=True, choices=PROVIDERS)
    flatten.add_argument("file", type=Path, help="JSON file as received from the provider")
    flatten.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    flatten.add_argument("--out", type=Path, help="output file (default: standard output, jsonl)")
    flatten.add_argument(
        "--input",
        choices=["auto", "array", "lines"],
        default="auto",
        help="lemlist: how FILE holds its payloads (default: detected)",
    )
    flatten.add_argument(
        "--batch-size", type=int, default=4096, help="lemlist: payloads per batch (default 4096)"
    )
    flatten.add_argument(
        "--python-path",
        action="store_true",
        help="lemlist: read the whole file and flatten it record by record (the reference path)",
    )
    flatten.add_argument(
        "--sql",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="lemlist: flatten in DuckDB SQL, payloads SQL cannot read exactly going through the "
        "Python reader (the default; same records). --no-sql: every payload through the Python "
        "reader, still streamed",
    )
    flatten.add_argument(
        "--fetched-at",
        type=datetime.fromisoformat,
        help="ISO-8601 time stamped on every record (default: now), for reproducible output",
    )

    lookup = sub.add_parser(
        "lookup",
        help="one enrichment end to end (submit, wait, print the record); sandbox without a key",
    )
    lookup.add_argument("--provider", required=True, choices=PROVIDERS)
    lookup.add_argument("--email")
    lookup.add_argument("--linkedin-url")
    lookup.add_argument("--first-name")
    lookup.add_argument("--last-name")
    lookup.add_argument("--company-name")
    lookup.add_argument("--company-domain")
    lookup.add_argument(
        "--fields",
        default="email",
        help=f"comma-separated, from {', '.join(sorted(_FIELD_NAMES))} (default: email)",
    )
    lookup.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the job")


def _records_json(records: Sequence[EnrichmentResult]) -> list[dict[str, Any]]:
    return [record.model_dump(mode="json") for record in records]


def run_flatten(args: argparse.Namespace) -> int:
    fetched_at = args.fetched_at
    if fetched_at is not None and fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    if args.provider == "lemlist" and not args.python_path:
        return _run_bulk_flatten(args, fetched_at or datetime.now(UTC))
    try:
        payload = json.loads(args.file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"flatten: {args.file}: no such file", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(
            f"flatten: {args.file}: not JSON (line {exc.lineno}, column {exc.colno})",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"enrich_pipeline.providers.{args.provider}")
    results = module.flatten(payload)
    if fetched_at is not None:
        results = [r.model_copy(update={"fetched_at": fetched_at}) for r in results]
    records = _records_json(results)
    if args.format == "parquet":
        if args.out is None:
            print("flatten: --format parquet needs --out FILE.parquet", file=sys.stderr)
            return 2
        _write_parquet(records, args.out)
    else:
        lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
        if args.out is None:
            sys.stdout.write(lines)
        else:
            args.out.write_text(lines, encoding="utf-8")
    if args.out is not None:
        print(f"wrote {len(records)} records to {args.out}", file=sys.stderr)
    return 0


_INPUT_FORMATS = {"auto": "auto", "array": "array", "lines": "newline_delimited"}


def _run_bulk_flatten(args: argparse.Namespace, fetched_at: datetime) -> int:
    """lemlist: streamed, batched, columnar (`providers.lemlist.bulk`); same records."""
    import duckdb

    from enrich_pipeline.providers.lemlist import bulk

    if not args.file.is_file():
        print(f"flatten: {args.file}: no such file", file=sys.stderr)
        return 2
    if args.format == "parquet" and args.out is None:
        print("flatten: --format parquet needs --out FILE.parquet", file=sys.stderr)
        return 2
    options = {
        "fetched_at": fetched_at,
        "input_format": _INPUT_FORMATS[args.input],
        "batch_rows": max(1, args.batch_size),
        "sql": args.sql,
    }
    partial = None if args.out is None else args.out.with_name(args.out.name + ".partial")
    try:
        if args.format == "parquet":
            assert partial is not None
            count = bulk.write_parquet(args.file, partial, **options)
        elif partial is None:
            count = bulk.write_jsonl(args.file, sys.stdout, **options)
        else:
            partial.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("w", encoding="utf-8") as out:
                count = bulk.write_jsonl(args.file, out, **options)
    except (duckdb.Error, ValueError) as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        print(f"flatten: {args.file}: {_not_json(args.file, exc)}", file=sys.stderr)
        return 2
    if partial is not None and args.out is not None:
        partial.replace(args.out)
        print(f"wrote {count} records to {args.out}", file=sys.stderr)
    return 0


def _not_json(path: Path, exc: Exception) -> str:
    """Where the file stops being JSON, in the Python reader's words when it agrees."""
    try:
        with path.open(encoding="utf-8") as f:
            json.load(f)
    except json.JSONDecodeError as error:
        return f"not JSON (line {error.lineno}, column {error.colno})"
    except (OSError, ValueError):
        pass
    return f"not JSON lines nor a JSON value ({str(exc).splitlines()[0]})"


def _write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # `raw` has no fixed shape: kept as JSON text so the columns stay typed.
    rows = [{**r, "raw": json.dumps(r["raw"], ensure_ascii=False, sort_keys=True)} for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _request(args: argparse.Namespace) -> EnrichmentRequest | str:
    fields = {f.strip() for f in args.fields.split(",") if f.strip()}
    unknown = fields - _FIELD_NAMES
    if unknown:
        return (
            f"unknown --fields {', '.join(sorted(unknown))}; use {', '.join(sorted(_FIELD_NAMES))}"
        )
    key = person_key(
        linkedin_url=args.linkedin_url,
        email=args.email,
        first_name=args.first_name,
        last_name=args.last_name,
        company_domain=args.company_domain,
    )
    if key is None:
        return "give --linkedin-url, or --email, or --first-name --last-name --company-domain"
    return EnrichmentRequest(
        person_key=key,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email,
        company_name=args.company_name,
        company_domain=args.company_domain,
        linkedin_url=args.linkedin_url,
        fields=frozenset(WantedField(f) for f in fields),
    )


def run_lookup(args: argparse.Namespace) -> int:
    from enrich_pipeline.defs.resources import provider_resources
    from enrich_pipeline.providers.errors import ProviderError

    request = _request(args)
    if isinstance(request, str):
        print(f"lookup: {request}", file=sys.stderr)
        return 2
    resource = provider_resources()[args.provider].process_config_and_initialize()
    client = resource.get_client()
    try:
        records = client.enrich([request], timeout_s=args.timeout)
    except ProviderError as exc:
        print(f"lookup: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for record in _records_json(records):
        print(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


def env_summary() -> str:
    """Which providers run with real keys (names of variables only, never values)."""
    keys = {
        "lemlist": ["LEMLIST_API_KEY"],
        "enrichso": ["ENRICHSO_API_KEY"],
        "thehog": ["THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"],
    }
    return ", ".join(
        f"{p}={'real' if all(os.environ.get(k) for k in ks) else 'sandbox'}"
        for p, ks in keys.items()
    )
