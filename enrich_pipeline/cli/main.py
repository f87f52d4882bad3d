"""The `enrich-pipeline` command: one module per command group; this one only dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from enrich_pipeline.cli import forget as forget_cli
from enrich_pipeline.cli import ledger as ledger_cli
from enrich_pipeline.cli import pipeline as pipeline_cli
from enrich_pipeline.cli import providers as provider_cli
from enrich_pipeline.cli import reconcile as reconcile_cli
from enrich_pipeline.cli import sandbox as sandbox_cli
from enrich_pipeline.cli import webhooks as webhooks_cli
from enrich_pipeline.mode import ModeError
from enrich_pipeline.spend.ledger import LedgerModeError
from enrich_pipeline.spend.ledger_schema import LedgerSchemaError
from enrich_pipeline.spend.ledger_sql import LedgerUnavailable

SETUP_ERRORS = (ModeError, LedgerModeError, LedgerSchemaError, LedgerUnavailable)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enrich-pipeline",
        description="Enrich prospect lists through lemlist, enrich.so and The Hog.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox_cli.add_parsers(sub)
    provider_cli.add_parsers(sub)
    pipeline_cli.add_parser(sub)
    pipeline_cli.add_estimate_parser(sub)
    forget_cli.add_forget_parser(sub)
    reconcile_cli.add_parser(sub)
    webhooks_cli.add_parser(sub)
    ledger_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "sandbox": sandbox_cli.run_sandbox,
        "demo": sandbox_cli.run_demo,
        "flatten": provider_cli.run_flatten,
        "lookup": provider_cli.run_lookup,
        "run": pipeline_cli.run_pipeline,
        "estimate": pipeline_cli.run_estimate,
        "forget": forget_cli.run_forget,
        "reconcile": reconcile_cli.run_reconcile,
        "webhooks": webhooks_cli.run_webhooks,
        "ledger": ledger_cli.run_ledger,
    }
    try:
        return handlers[args.command](args)
    except SETUP_ERRORS as exc:  # a setup to fix, not a crash: say what to do
        print(f"enrich-pipeline {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
