"""`enrich-pipeline run`: materialise every asset for every sample day, headless, and summarise."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from enrich_pipeline.mode import Mode
from enrich_pipeline.model import CostBasis
from enrich_pipeline.settings import settings
from enrich_pipeline.spend.ledger import Ledger

if TYPE_CHECKING:  # pyarrow/duckdb load only for the commands that need them
    from enrich_pipeline.warehouse.storage import Warehouse

# The demo's embedded sandbox pace: job delays of seconds become tenths (real-key mode ignores it).
DEFAULT_RUN_SPEED = "0.05"
EXAMPLE_QUERY = (
    "SELECT email_status, count(*) AS people, count(phone) AS with_phone "
    "FROM contacts_latest GROUP BY email_status ORDER BY people DESC"
)


# Dagster's console logger at INFO: the assets' own progress lines, not every engine event.
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run", help="materialise every asset for every day folder (or --day), then print a summary"
    )
    run.add_argument("--day", action="append", help="only this day (repeatable)")


def raw_days(raw_dir: Path) -> list[str]:
    """The day folders holding prospect files (the files raw_prospects reads), oldest first."""
    from enrich_pipeline.ingest.fingerprint import day_stat_lines

    return sorted(day_stat_lines(raw_dir))


@dataclass(frozen=True)
class LedgerTotals:
    submitted: int  # accepted submissions so far
    credits: int  # reported by the providers or priced from their documented tables
    estimated: int  # priced from a table the provider does not publish (The Hog)

    def __sub__(self, before: LedgerTotals) -> LedgerTotals:
        return LedgerTotals(
            self.submitted - before.submitted,
            self.credits - before.credits,
            self.estimated - before.estimated,
        )


def _ledger_totals(where: Path | str, mode: Mode) -> LedgerTotals:
    ledger = Ledger(where, mode)
    try:
        counts = ledger.counts()
        by_basis = ledger.credits_by_basis()
        return LedgerTotals(
            sum(n for state, n in counts.items() if state in ("submitted", "completed")),
            by_basis[CostBasis.REPORTED] + by_basis[CostBasis.TABLE] + by_basis[CostBasis.UNKNOWN],
            by_basis[CostBasis.ESTIMATED],
        )
    finally:
        ledger.close()


INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C


def _interrupted(day: str) -> int:
    print(
        f"run: interrupted during {day}; stopped. Every submit made so far is recorded in the "
        "ledger: run again to resume (nothing is paid twice)",
        file=sys.stderr,
    )
    return INTERRUPTED


def _was_interrupted(result: object) -> bool:
    """Whether a failed in-process run failed because it was interrupted (Ctrl-C, SIGTERM)."""
    for event in getattr(result, "all_events", []):
        error = getattr(event.event_specific_data, "error", None)
        while event.is_step_failure and error is not None:
            if error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
                return True
            error = error.cause
    return False


def run_pipeline(args: argparse.Namespace) -> int:
    os.environ.setdefault("ENRICH_SANDBOX_SPEED", DEFAULT_RUN_SPEED)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM stops a run like Ctrl-C does: submits in flight are recorded first (spend.interrupts)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    import dagster as dg

    from enrich_pipeline import heap
    from enrich_pipeline.definitions import defs
    from enrich_pipeline.defs.stale_runs import release_dead_runs, run_tags
    from enrich_pipeline.warehouse.storage import Warehouse, connect_readonly

    config = settings()
    days = args.day or raw_days(config.raw_dir)
    if not days:
        print(f"run: no day folders with prospect files under {config.raw_dir}", file=sys.stderr)
        return 2
    before = _ledger_totals(config.ledger_location, config.mode)
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    release_dead_runs(instance)
    job = defs.resolve_job_def("enrich_job")
    heap.settle()  # the imports and definitions are loaded: the collector skips them from now
    for number, day in enumerate(days, 1):
        print(f"[{number}/{len(days)}] {day}: materialising every asset ...", flush=True)
        try:
            result = job.execute_in_process(
                partition_key=day,
                instance=instance,
                raise_on_error=False,
                run_config=QUIET,
                tags=run_tags(),
            )
        except KeyboardInterrupt:
            return _interrupted(day)
        if not result.success and _was_interrupted(result):
            return _interrupted(day)
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            print(
                f"run: {day} failed in {', '.join(failed)}; see the Dagster logs above",
                file=sys.stderr,
            )
            return 1
    spent = _ledger_totals(config.ledger_location, config.mode) - before
    print(summary_line(Warehouse(config.warehouse_dir), days, spent))
    print(f'\nduckdb {config.warehouse_dir / "enrich.duckdb"} -readonly -c "{EXAMPLE_QUERY}"')
    with connect_readonly(config.warehouse_dir) as db:
        print(db.sql(EXAMPLE_QUERY))
    return 0


def summary_line(warehouse: Warehouse, days: list[str], spent: LedgerTotals) -> str:
    """The one machine-readable line `make run` ends with. `credits_spent` is what providers
    reported or their documented prices say; `credits_estimated` is apart: our guess of The Hog's
    charges (it publishes no prices), never added in as if it were known."""
    prospects = rejects = contacts = 0
    found = {"email": 0, "phone": 0, "linkedin": 0}
    for day in days:
        people = warehouse.read_partition("prospects", day)
        prospects += people.num_rows if people is not None else 0
        rejected = warehouse.read_partition("prospect_rejects", day)
        if rejected is not None:
            rejects += sum(
                1 for s in rejected.column("severity").to_pylist() if s != "field_dropped"
            )
        table = warehouse.read_partition("contacts", day)
        if table is None:
            continue
        contacts += table.num_rows
        for field in found:
            found[field] += table.column(f"found_{field}").to_pylist().count(True)
    return (
        f"SUMMARY days={len(days)} prospects={prospects} rejects={rejects} contacts={contacts} "
        f"email_found={found['email']} phone_found={found['phone']} "
        f"linkedin_found={found['linkedin']} credits_spent={spent.credits} "
        f"credits_estimated={spent.estimated} new_submissions={spent.submitted}"
    )


def add_estimate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    estimate = sub.add_parser(
        "estimate",
        help="what enriching these prospect files or day folders would cost, before spending",
    )
    estimate.add_argument("paths", nargs="+", type=Path, help="prospect files or day folders")


def _people_of(paths: list[Path]) -> tuple[list[object], list[str]]:
    import pandas as pd

    from enrich_pipeline.ingest.prospects import normalise, read_raw_day

    frames, problems = [], []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        if not path.exists():
            problems.append(f"{path}: no such file or folder")
            continue
        raw = read_raw_day(folder, day=folder.name)
        frame = raw.frame
        if not path.is_dir():
            frame = frame[frame["source_file"].str.endswith("/" + path.name)]
        frames.append(normalise(frame, day=folder.name).prospects)
    people = pd.concat(frames, ignore_index=True).drop_duplicates("person_key") if frames else None
    return ([] if people is None else people.to_dict("records")), problems


def run_estimate(args: argparse.Namespace) -> int:
    from enrich_pipeline.spend.estimate import estimate_run, render
    from enrich_pipeline.spend.waterfall import Known

    config = settings()
    rows, problems = _people_of(args.paths)
    for problem in problems:
        print(f"estimate: {problem}", file=sys.stderr)
    if not rows:
        print("estimate: no usable prospects in the given paths", file=sys.stderr)
        return 2
    people = [Known.from_prospect(r) for r in rows]
    from enrich_pipeline.spend.suppression import SuppressionList

    suppressed = SuppressionList.load(config.suppression_file).screen(people)
    people = [p for p in people if p.person_key not in suppressed]  # they are never sent
    ledger = Ledger(config.ledger_location, config.mode)
    try:
        lines = estimate_run(
            people, config.provider_order, config.wanted_fields, ledger, config.ttl
        )
    finally:
        ledger.close()
    print(
        f"{len(people)} people ({len(suppressed)} suppressed, not counted); "
        f"providers in order {', '.join(config.provider_order)}; "
        f"fields {', '.join(sorted(f.value for f in config.wanted_fields))}"
    )
    print(render(lines))
    worst = sum(line.worst_case for line in lines)
    expected = sum(line.expected for line in lines)
    print(f"total: worst case {worst} credits, expected {expected} credits (nothing was spent)")
    return 0
