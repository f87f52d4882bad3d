"""`enrich-pipeline ledger copy`: move the ledger (by default the SQLite file under
ENRICH_STATE_DIR) into Postgres, so that runs on several machines can share it (ENRICH_LEDGER_URL).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from enrich_pipeline.settings import settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ledger = sub.add_parser("ledger", help="ledger maintenance: copy it into Postgres")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)
    copy = commands.add_parser(
        "copy",
        help="copy every table of a SQLite ledger into an empty Postgres database, ids kept",
        description=(
            "Copies every row of the ledger (submissions, results, webhook deliveries, erasures "
            "and its mode stamp) into the target, in one transaction. The target must be empty, or "
            "hold an earlier copy of the same ledger (then nothing is done). Stop the runs first; "
            "then set ENRICH_LEDGER_URL to the target on every machine."
        ),
    )
    copy.add_argument(
        "--to",
        dest="target",
        help="postgresql://user:password@host:port/database (default: ENRICH_LEDGER_URL; prefer "
        "the variable: a password on the command line shows in the process list)",
    )
    copy.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="the SQLite ledger to copy (default: ENRICH_STATE_DIR/ledger.sqlite)",
    )


def run_ledger(args: argparse.Namespace) -> int:
    from enrich_pipeline.spend.ledger_copy import LedgerCopyError, copy_ledger

    config = settings()
    target = args.target or config.ledger_url
    if not target:
        print(
            "ledger copy: say where to copy to: --to postgresql://user:password@host/database, "
            "or set ENRICH_LEDGER_URL",
            file=sys.stderr,
        )
        return 2
    try:
        report = copy_ledger(args.source or config.ledger_path, target)
    except LedgerCopyError as exc:
        print(f"ledger copy: {exc}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{table} {count}" for table, count in report.rows.items())
    if report.already_copied:
        print(f"ledger copy: {report.target} already holds this ledger ({rows}); nothing to do")
    else:
        print(f"ledger copy: {report.source} -> {report.target}: {rows}")
    if target != config.ledger_url:
        print("ledger copy: now set ENRICH_LEDGER_URL to the target on every machine that runs")
    return 0
