"""`enrich-pipeline reconcile`: what is still unsettled in the ledger, and the user's decision.

A submit whose outcome is unknown (its answer was lost: a kill, a dropped connection, an unreadable
body) is never repeated blind: the provider may have accepted it and charged for it. The runs
resolve what a documented path can prove (The Hog: replay with the same Idempotency-Key); the rest
waits here. `--resubmit` is the explicit choice to send those people again on the next run, knowing
that the provider may charge twice.
"""

from __future__ import annotations

import argparse
from collections import Counter

from enrich_pipeline.settings import settings
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.ledger_claims import UnsettledAttempt

WHAT_IT_MEANS = {
    "unknown": "submit outcome unknown: may have been accepted and charged; not resubmitted",
    "submitted": "accepted, no final answer yet (job running or stuck): polled again next run",
    "intent": "being submitted by a run that is still alive",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reconcile = sub.add_parser(
        "reconcile",
        help="list submits of unknown outcome and open jobs; --resubmit to send them again",
    )
    reconcile.add_argument("--provider", choices=("lemlist", "enrichso", "thehog"))
    reconcile.add_argument("--day", help="only this day partition (YYYY-MM-DD)")
    reconcile.add_argument(
        "--resubmit",
        action="store_true",
        help="send the unknown ones again on the next run (they may be charged twice)",
    )
    reconcile.add_argument(
        "--show", type=int, default=5, help="people listed per group (default 5)"
    )


def describe(attempts: list[UnsettledAttempt], show: int) -> list[str]:
    if not attempts:
        return ["reconcile: nothing unsettled: every submit has its answer in the ledger"]
    lines: list[str] = []
    groups: dict[tuple[str, str, str], list[UnsettledAttempt]] = {}
    for attempt in attempts:
        groups.setdefault((attempt.provider, attempt.day, attempt.state), []).append(attempt)
    for (provider, day, state), members in groups.items():
        lines.append(f"{provider} {day}: {len(members)} {state} — {WHAT_IT_MEANS[state]}")
        reasons = Counter(m.reason for m in members if m.reason)
        for reason, count in reasons.most_common(3):
            lines.append(f"    {count}x {reason}")
        for member in members[:show]:
            refs = f" jobs {', '.join(member.provider_refs)}" if member.provider_refs else ""
            lines.append(f"    {member.person_key}{refs} (since {member.created_at[:19]})")
        if len(members) > show:
            lines.append(f"    … and {len(members) - show} more")
    return lines


def run_reconcile(args: argparse.Namespace) -> int:
    config = settings()
    ledger = Ledger(config.ledger_location, config.mode)
    try:
        attempts = ledger.unsettled(provider=args.provider, day=args.day)
        print("\n".join(describe(attempts, args.show)))
        unknown = {(a.provider, a.day) for a in attempts if a.state == "unknown"}
        if args.resubmit:
            total = sum(ledger.resubmit_unknown(p, d) for p, d in sorted(unknown))
            print(
                f"reconcile: {total} unknown attempts will be submitted again by the next run "
                "(a provider that had accepted them may charge twice)"
            )
        elif unknown:
            print(
                "reconcile: to send the unknown ones again, knowing they may be charged twice: "
                "enrich-pipeline reconcile --resubmit [--provider P] [--day D]"
            )
    finally:
        ledger.close()
    return 0
