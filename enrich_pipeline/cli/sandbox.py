"""`enrich-pipeline sandbox` and `demo`: the provider emulator. Its modules are imported inside the
commands, so the other commands (the live path) never load it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enrich_pipeline.sandbox.config import SandboxConfig
    from enrich_pipeline.sandbox.faults import FaultRule


def _fault(spec: str) -> FaultRule:
    """PROVIDER:KIND[:COUNT], e.g. lemlist:rate_limit:5 or enrichso:error_503."""
    from enrich_pipeline.sandbox.faults import FaultRule

    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--fault {spec!r}: expected PROVIDER:KIND[:COUNT]")
    try:
        return FaultRule(
            provider=parts[0],  # type: ignore[arg-type]
            kind=parts[1],  # type: ignore[arg-type]
            count=int(parts[2]) if len(parts) == 3 else None,
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--fault {spec!r}: {exc}") from exc


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sandbox",
        help="serve the local provider emulator (lemlist, enrich.so, The Hog) or export its data",
        description="Serves all three providers on one port: /lemlist/api, /enrichso/api/v3, "
        "/thehog, plus /_sandbox/ (counters, faults, credits, reset, truth). Settings also come "
        "from SANDBOX_* environment variables (e.g. SANDBOX_SPEED=0.1).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--seed", type=int, help="world seed (default 42)")
    p.add_argument("--people", type=int, help="people in the world (default 5000)")
    p.add_argument("--companies", type=int, help="companies in the world (default 800)")
    p.add_argument("--speed", type=float, help="multiplies every delay and rate window (default 1)")
    p.add_argument("--enrichso-plan", choices=["free", "growth", "scale", "pro", "enterprise"])
    p.add_argument(
        "--shape",
        choices=["rich", "documented"],
        help="rich (default): answers fill what providers.md leaves open with our guesses; "
        "documented: only what providers.md marks DOC",
    )
    p.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="PROVIDER:KIND[:COUNT]",
        help="inject a fault from the start, e.g. lemlist:rate_limit:5 (repeatable); "
        "SANDBOX_FAULTS may hold a JSON list of rules too",
    )
    p.add_argument(
        "--export-truth", type=Path, metavar="FILE", help="write ground truth JSON, exit"
    )
    p.add_argument(
        "--make-prospects", type=int, metavar="N", help="write N raw prospect rows, exit"
    )
    p.add_argument("--out", type=Path, help="output file or folder for --make-prospects")
    p.add_argument(
        "--make-samples", type=Path, metavar="DIR", help="write the 7 sample day folders, exit"
    )
    sub.add_parser("demo", help="start the sandbox and run one enrichment per provider over HTTP")


def _config(args: argparse.Namespace) -> SandboxConfig:
    from enrich_pipeline.sandbox.config import SandboxConfig

    return SandboxConfig.from_env(
        seed=args.seed,
        people=args.people,
        companies=args.companies,
        speed=args.speed,
        enrichso_plan=args.enrichso_plan,
        shape=args.shape,
    )


def run_sandbox(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.export_truth or args.make_prospects or args.make_samples:
        return _export(args, config)
    from enrich_pipeline.sandbox.faults import FaultRule
    from enrich_pipeline.sandbox.server import serve_forever

    faults = list(args.fault)
    if raw := os.environ.get("SANDBOX_FAULTS"):
        faults += [FaultRule.model_validate(rule) for rule in json.loads(raw)]
    base = f"http://{args.host}:{args.port}"
    print(f"sandbox: lemlist  {base}/lemlist/api   (Basic ':{config.lemlist_api_key}')")
    print(f"sandbox: enrichso {base}/enrichso/api/v3   (x-api-key: {config.enrichso_api_key})")
    print(
        f"sandbox: thehog   {base}/thehog   (X-Access-Key: {config.thehog_access_key}, "
        f"X-Secret-Key: {config.thehog_secret_key})"
    )
    print(f"sandbox: admin    {base}/_sandbox/counters | faults | credits | reset | truth")
    serve_forever(config, args.host, args.port, faults)
    return 0


def _export(args: argparse.Namespace, config: SandboxConfig) -> int:
    from enrich_pipeline.sandbox.world import World

    world = World.build(config.seed, config.people, config.companies)
    if args.export_truth:
        args.export_truth.parent.mkdir(parents=True, exist_ok=True)
        args.export_truth.write_text(
            json.dumps(world.truth(), ensure_ascii=False, sort_keys=True, indent=1)
        )
        print(f"wrote ground truth of {len(world.people)} people to {args.export_truth}")
    if args.make_prospects or args.make_samples:
        from enrich_pipeline.sandbox import prospects
    if args.make_prospects:
        if args.out is None:
            print("--make-prospects needs --out FILE.csv|FILE.parquet", file=sys.stderr)
            return 2
        rows = prospects.make_prospects(world, args.make_prospects, seed=config.seed)
        prospects.write_prospect_file(rows, args.out, style="snake")
        print(f"wrote {len(rows)} prospect rows to {args.out}")
    if args.make_samples:
        prospects.write_sample_days(world, args.make_samples)
        print(f"wrote sample day folders under {args.make_samples}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from enrich_pipeline.sandbox.demo import run_demo as demo

    return demo()
