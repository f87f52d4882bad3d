"""`enrich-pipeline forget`: erase one person everywhere the pipeline stored them, and say where
they still are (the user's own raw files)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from enrich_pipeline.identity import canonical_linkedin_url, normalise_email
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.warehouse.erasure import ErasureError, ErasureReport, Person, forget
from enrich_pipeline.warehouse.storage import Warehouse


def add_forget_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = sub.add_parser(
        "forget",
        help="erase one person from the ledger and every warehouse table (audited)",
        description="Removes every row about the person from the warehouse (rewriting the "
        "partitions) and from the ledger (their requests, answers and raw payloads; mentions in "
        "other payloads are redacted), and records who asked and when in the ledger's `erasures` "
        "table. Your own raw prospect files are not edited: the files still holding the person "
        "are listed.",
    )
    forget.add_argument("--email", help="the person's email address")
    forget.add_argument("--linkedin-url", help="the person's LinkedIn profile URL")
    forget.add_argument(
        "--by",
        metavar="NAME",
        help="who asked for the erasure, for the audit (default: $USER, else 'cli')",
    )
    forget.set_defaults(forget_parser=forget)


def run_forget(args: argparse.Namespace) -> int:
    from enrich_pipeline.settings import settings

    if not args.email and not args.linkedin_url:
        args.forget_parser.error("one of --email or --linkedin-url is required")
    try:
        Person.of(args.email, args.linkedin_url)  # refuse a bad identifier before opening anything
    except ErasureError as exc:
        args.forget_parser.error(str(exc))
    config = settings()
    actor = args.by or os.environ.get("USER") or "cli"
    ledger = Ledger(config.ledger_location)
    try:
        report = forget(
            email=args.email,
            linkedin_url=args.linkedin_url,
            ledger=ledger,
            warehouse=Warehouse(config.warehouse_dir),
            actor=actor,
            raw_dir=config.raw_dir,
        )
    finally:
        ledger.close()
    print("\n".join(describe(report)))
    if report.raw_files:
        print("\n".join(raw_file_warning(report, args, config.suppression_file)), file=sys.stderr)
    return 0


def describe(report: ErasureReport) -> list[str]:
    audit = report.erasure
    lines = [
        f"forget: {report.person_keys} stored person key(s) matched; "
        f"{report.rows_removed} rows removed",
        f"  warehouse: {report.warehouse_rows_removed} rows removed and "
        f"{report.values_redacted} values redacted in {report.partitions_rewritten} partitions "
        f"of {len(report.tables_rewritten)} tables"
        + (f" ({', '.join(report.tables_rewritten)})" if report.tables_rewritten else "")
        + "; views refreshed",
        f"  ledger: {report.ledger_rows_removed} submission/result rows removed, "
        f"{report.payloads_redacted} other payloads redacted"
        + ("; file compacted" if report.ledger_compacted else ""),
        f"  audit: erasure #{audit.id} recorded in `erasures` "
        f"(by {audit.requested_by} at {audit.requested_at})",
    ]
    if not report.ledger_compacted:
        lines.append(
            "  note: another process holds the ledger open, so it could not be compacted; deleted "
            "bytes may stay in its free pages or write-ahead log until it is (re-run forget later)"
        )
    if not report.rows_removed and not report.values_redacted and not report.payloads_redacted:
        lines.append("  nothing about this person was stored")
    return lines


def raw_file_warning(
    report: ErasureReport, args: argparse.Namespace, suppression_file: Path
) -> list[str]:
    lines = [
        "warning: forget does not edit your raw prospect files; these still hold the person:",
        *(
            f"  {path} (rows {', '.join(str(r) for r in rows)})"
            for path, rows in sorted(report.raw_files.items())
        ),
        "Remove those rows, or a re-run of their day will load the person again. To be safe, also "
        f"add them to the suppression list ({suppression_file}) so they are never sent to a "
        "provider:",
    ]
    if args.email:
        lines.append(f"  email,{normalise_email(args.email)}")
    if args.linkedin_url:
        lines.append(f"  linkedin,{canonical_linkedin_url(args.linkedin_url)}")
    return lines
