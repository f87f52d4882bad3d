"""`enrich-pipeline run`: materialise every asset for every sample day, headless, and summarise."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from enrich_pipeline.ledger import Ledger
from enrich_pipeline.settings import settings

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
    from enrich_pipeline.automation import day_fingerprints

    return sorted(day_fingerprints(raw_dir))


def _ledger_totals(path: Path) -> tuple[int, int]:
    """(accepted submissions, credits spent) so far."""
    ledger = Ledger(path)
    try:
        counts = ledger.counts()
        submitted = sum(n for state, n in counts.items() if state in ("submitted", "completed"))
        return submitted, ledger.credits_spent()
    finally:
        ledger.close()


def run_pipeline(args: argparse.Namespace) -> int:
    os.environ.setdefault("ENRICH_SANDBOX_SPEED", DEFAULT_RUN_SPEED)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import dagster as dg

    from enrich_pipeline.definitions import defs
    from enrich_pipeline.warehouse import Warehouse, connect_readonly

    config = settings()
    days = args.day or raw_days(config.raw_dir)
    if not days:
        print(f"run: no day folders with prospect files under {config.raw_dir}", file=sys.stderr)
        return 2
    submitted_before, credits_before = _ledger_totals(config.ledger_path)
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    job = defs.get_job_def("enrich_job")
    for number, day in enumerate(days, 1):
        print(f"[{number}/{len(days)}] {day}: materialising every asset ...", flush=True)
        result = job.execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False, run_config=QUIET
        )
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.is_step_failure]
            print(
                f"run: {day} failed in {', '.join(failed)}; see the Dagster logs above",
                file=sys.stderr,
            )
            return 1
    submitted_after, credits_after = _ledger_totals(config.ledger_path)
    print(
        summary_line(
            Warehouse(config.warehouse_dir),
            days,
            credits_after - credits_before,
            submitted_after - submitted_before,
        )
    )
    print(f'\nduckdb {config.warehouse_dir / "enrich.duckdb"} -readonly -c "{EXAMPLE_QUERY}"')
    with connect_readonly(config.warehouse_dir) as db:
        print(db.sql(EXAMPLE_QUERY))
    return 0


def summary_line(warehouse: object, days: list[str], credits: int, submissions: int) -> str:
    from enrich_pipeline.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
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
        f"linkedin_found={found['linkedin']} credits_spent={credits} new_submissions={submissions}"
    )
