"""Waterfall vs fan-out: find-rates and credits on a generated prospect set, against the sandbox.

Baseline (measured in the same run): the FAN-OUT — every provider gets every person for every
wanted field (email, phone, linkedin) it can produce from the prospect row alone, the email finder
included (the waterfall's "verify the email we hold instead" shortcut is undone: fan-out asks for
everything wanted). Candidate: the WATERFALL exactly as the enrichment assets chain it — lemlist,
then enrich.so, then The Hog, each planning with `plan_requests` on what the earlier providers'
attempts taught (`fold_attempts`).

Both run against one in-process sandbox (reset in between), each with a fresh ledger. Credits are
the sandbox's own counters (`credits_net`), cross-checked against the ledger. Find-rates come from
`build_contacts` over every prospect. Target (issue): the waterfall reaches the fan-out's find-rate
for at most 60 % of its credits. The PASS/MISS line is informational: the exit status is 0 either
way, 2 when the sandbox counters and a ledger disagree on credits.

    .venv/bin/python benchmarks/waterfall_vs_fanout.py              # 10,000 rows
    .venv/bin/python benchmarks/waterfall_vs_fanout.py --people 1000 --speed 0.005
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from enrich_pipeline.defs.enrichment import BATCH_MAX
from enrich_pipeline.ingest.prospects import normalise
from enrich_pipeline.model import Attempt, EnrichmentRequest, Outcome, WantedField
from enrich_pipeline.providers.enrichso import PRODUCT_OF_FIELD, EnrichsoClient
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.thehog import ThehogClient
from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.prospects import make_prospects
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.pricing import price
from enrich_pipeline.spend.runner import ProviderRun, RunSettings, run_provider
from enrich_pipeline.spend.waterfall import Known, fold_attempts, plan_requests
from enrich_pipeline.warehouse.flatten import attempts_table, build_contacts

E, P, L, V = (
    WantedField.EMAIL,
    WantedField.PHONE,
    WantedField.LINKEDIN,
    WantedField.EMAIL_VERIFICATION,
)
ORDER: tuple[str, ...] = ("lemlist", "enrichso", "thehog")
WANTED = frozenset({E, P, L})
DAY = "2026-11-02"
TARGET_RATIO = 0.60
RATES: tuple[tuple[str, str], ...] = (
    ("found_email", "email found"),
    ("deliverable_email", "  of which deliverable"),
    ("found_phone", "phone found"),
    ("found_linkedin", "linkedin found"),
)
FIELD_OF_PRODUCT = {product: f for f, product in PRODUCT_OF_FIELD.items()}
CREDITS = 1_000_000_000  # no wallet may run dry: a 402 / empty answer would skew the comparison


@dataclass
class ProviderFigures:
    provider: str
    people_sent: int
    fields_asked: Counter[WantedField]
    run: ProviderRun
    wall_s: float
    http_requests: int = 0
    credits_sandbox: int = 0
    credits_ledger: int = 0


@dataclass
class ModeFigures:
    name: str
    providers: list[ProviderFigures] = field(default_factory=list)
    wall_s: float = 0.0
    rates: dict[str, int] = field(default_factory=dict)  # rate name -> people
    prospects: int = 0

    @property
    def credits(self) -> int:
        return sum(p.credits_sandbox for p in self.providers)

    @property
    def credits_ledger(self) -> int:
        return sum(p.credits_ledger for p in self.providers)

    @property
    def people_sent(self) -> int:
        return sum(p.people_sent for p in self.providers)

    @property
    def http_requests(self) -> int:
        return sum(p.http_requests for p in self.providers)

    def rate(self, name: str) -> float:
        return self.rates[name] / self.prospects if self.prospects else 0.0

    def outcomes(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for figures in self.providers:
            counts.update(a.outcome.value for a in figures.run.attempts)
        return counts


# ------------------------------------------------------------------------------ input data


def prospect_set(sandbox: SandboxServer, n: int, seed: int) -> tuple[pa.Table, list[Known], int]:
    """`n` raw rows from the sandbox world, normalised as the prospects asset does it; the
    prospects table (as the warehouse holds it), the people as `known_people` builds them, and the
    number of raw rows rejected."""
    rows = make_prospects(sandbox.state.world, n, seed=seed)
    raw = pd.DataFrame(rows)
    raw["extra"] = None
    raw["source_file"] = "benchmark.csv"
    raw["source_row"] = range(1, len(raw) + 1)
    raw["day"] = DAY
    result = normalise(raw, day=DAY)
    table = pa.Table.from_pandas(result.prospects, preserve_index=False)
    rejected = (
        int((result.rejects["severity"] != "field_dropped").sum()) if len(result.rejects) else 0
    )
    people = [Known.from_prospect(row) for row in table.to_pylist()]
    return table, people, rejected


# ---------------------------------------------------------------------------------- driving


Client = LemlistClient | EnrichsoClient | ThehogClient


def make_client(provider: str, sandbox: SandboxServer, speed: float) -> Client:
    config = sandbox.state.config
    url = sandbox.base_url(provider)
    if provider == "lemlist":
        return LemlistClient.create(config.lemlist_api_key, base_url=url, speed=speed)
    if provider == "enrichso":
        # The sandbox's plan (default "growth"): the client paces itself at its documented limits.
        return EnrichsoClient.create(
            config.enrichso_api_key, base_url=url, plan=config.enrichso_plan, speed=speed
        )
    return ThehogClient.create(
        config.thehog_access_key, config.thehog_secret_key, base_url=url, speed=speed
    )


def drive(
    provider: str,
    sandbox: SandboxServer,
    ledger: Ledger,
    requests: Sequence[EnrichmentRequest],
    args: argparse.Namespace,
) -> ProviderFigures:
    client = make_client(provider, sandbox, args.speed)
    settings = RunSettings(
        batch_max=BATCH_MAX[provider],
        poll_timeout_s=args.poll_timeout,  # generous: a PENDING answer would skew the find-rates
    )
    started = time.perf_counter()
    try:
        run = run_provider(provider, client, ledger, DAY, requests, settings)
    finally:
        client.close()
    wall = time.perf_counter() - started
    asked: Counter[WantedField] = Counter(f for r in requests for f in r.fields)
    figures = ProviderFigures(provider, len(requests), asked, run, wall)
    print(
        f"  {provider:<9} {len(requests):>6} people sent, {run.credits_spent:>9,} credits, "
        f"{wall:6.1f} s" + (f"  (stopped: {run.stopped})" if run.stopped else ""),
        flush=True,
    )
    return figures


def run_waterfall(
    sandbox: SandboxServer, people: list[Known], ledger: Ledger, args: argparse.Namespace
) -> list[ProviderFigures]:
    """As the enrichment assets chain it: each provider plans on the earlier providers' attempts."""
    figures: list[ProviderFigures] = []
    earlier: list[Attempt] = []
    for provider in args.order:
        requests = plan_requests(provider, fold_attempts(people, earlier), WANTED)
        figures.append(drive(provider, sandbox, ledger, requests, args))
        earlier.extend(figures[-1].run.attempts)
    return figures


def fanout_requests(provider: str, people: list[Known]) -> list[EnrichmentRequest]:
    """Every wanted field the provider can produce from the prospect row alone. `plan_requests`
    swaps the email finder for the cheaper verification of an email we hold; the fan-out asks for
    everything, so such a person gets the finder back, on top of the verification."""
    requests = plan_requests(provider, people, WANTED)
    return [
        r.model_copy(update={"fields": r.fields | {E}}) if V in r.fields else r for r in requests
    ]


def run_fanout(
    sandbox: SandboxServer, people: list[Known], ledger: Ledger, args: argparse.Namespace
) -> list[ProviderFigures]:
    return [
        drive(provider, sandbox, ledger, fanout_requests(provider, people), args)
        for provider in ORDER
    ]


def measure(
    name: str,
    sandbox: SandboxServer,
    prospects: pa.Table,
    people: list[Known],
    args: argparse.Namespace,
    state_dir: Path,
) -> ModeFigures:
    print(f"{name}:", flush=True)
    sandbox.reset()
    ledger = Ledger(state_dir / f"{name}.sqlite")
    started = time.perf_counter()
    try:
        runner = run_waterfall if name == "waterfall" else run_fanout
        providers = runner(sandbox, people, ledger, args)
        wall = time.perf_counter() - started
        counters = sandbox.counters()
        for figures in providers:
            figures.credits_sandbox = int(counters["credits_net"].get(figures.provider, 0))
            figures.http_requests = int(counters["requests_total"].get(figures.provider, 0))
            figures.credits_ledger = ledger.credits_spent(day=DAY, provider=figures.provider)
    finally:
        ledger.close()
    results = [a.result for figures in providers for a in figures.run.attempts]
    contacts = build_contacts(
        prospects, attempts_table(results, day=DAY), provider_order=ORDER, day=DAY
    )
    deliverable = pc.equal(contacts.column("email_status"), "deliverable")
    rates = {
        "found_email": _count(contacts.column("found_email")),
        "deliverable_email": _count(pc.and_(contacts.column("found_email"), deliverable)),
        "found_phone": _count(contacts.column("found_phone")),
        "found_linkedin": _count(contacts.column("found_linkedin")),
    }
    return ModeFigures(name, providers, wall, rates, contacts.num_rows)


def _count(mask: Any) -> int:
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


# --------------------------------------------------------------------------------- printing


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        first = row[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def report(
    waterfall: ModeFigures, fanout: ModeFigures, args: argparse.Namespace, extra: dict[str, Any]
) -> int:
    modes = (waterfall, fanout)
    print()
    print(
        f"{args.people:,} raw prospect rows -> {waterfall.prospects:,} prospects "
        f"({extra['rejected']} rows rejected, the rest merged as duplicates); sandbox world "
        f"{extra['world_people']:,} people / {extra['world_companies']:,} companies, seed "
        f"{args.seed}, speed {args.speed:g}, enrich.so plan '{extra['plan']}' (client-paced); "
        f"waterfall order {' -> '.join(args.order)}"
    )

    print("\nFind-rates over all prospects (build_contacts)")
    rows = []
    for key, label in RATES:
        w, f = waterfall.rate(key), fanout.rate(key)
        diff = 100 * (w - f)
        verdict = (
            "equal"
            if waterfall.rates[key] == fanout.rates[key]
            else ("waterfall higher" if diff > 0 else "waterfall LOWER")
        )
        rows.append(
            [
                label,
                f"{_pct(w)} ({waterfall.rates[key]:,})",
                f"{_pct(f)} ({fanout.rates[key]:,})",
                f"{diff:+.2f} pp",
                verdict,
            ]
        )
    print(_table(["field", "waterfall", "fan-out", "difference", ""], rows))

    print(
        "\nCredits: the sandbox's credits_net, the ledger's credits_spent (must be equal) and the\n"
        "part attributed to a person sent (ProviderRun.credits_spent; the rest are paid answers\n"
        "the client could match to nobody, kept in the ledger as unattributed)"
    )
    rows = []
    mismatches = []
    for mode in modes:
        for p in mode.providers:
            ok = p.credits_sandbox == p.credits_ledger
            if not ok:
                mismatches.append(f"{mode.name}/{p.provider}")
            rows.append(
                [
                    f"{mode.name} {p.provider}",
                    f"{p.people_sent:,}",
                    f"{p.http_requests:,}",
                    f"{p.credits_sandbox:,}",
                    f"{p.credits_ledger:,}" + ("" if ok else "  MISMATCH"),
                    f"{p.run.credits_spent:,}",
                    f"{p.wall_s:.1f} s",
                ]
            )
        rows.append(
            [
                f"{mode.name} TOTAL",
                f"{mode.people_sent:,}",
                f"{mode.http_requests:,}",
                f"{mode.credits:,}",
                f"{mode.credits_ledger:,}",
                f"{sum(p.run.credits_spent for p in mode.providers):,}",
                f"{mode.wall_s:.1f} s",
            ]
        )
    print(
        _table(
            [
                "mode / provider",
                "people sent",
                "HTTP requests",
                "credits",
                "ledger",
                "attributed",
                "wall",
            ],
            rows,
        )
    )

    print("\nWhere the credits go (fields asked per provider; found x price is an estimate)")
    rows = []
    for mode in modes:
        for p in mode.providers:
            found = _found_by_field(p.run.attempts)
            for f in (E, V, P, L):
                if p.fields_asked[f]:
                    rows.append(
                        [
                            f"{mode.name} {p.provider} {f.value}",
                            f"{p.fields_asked[f]:,}",
                            f"{found[f]:,}",
                            price(p.provider, f),
                            f"{found[f] * price(p.provider, f):,}",
                        ]
                    )
    print(_table(["mode / provider / field", "asked", "found", "price", "found x price"], rows))

    for mode in modes:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(mode.outcomes().items()))
        print(f"{mode.name} outcomes: {outcomes}")

    ratio = waterfall.credits / fanout.credits if fanout.credits else float("inf")
    print(
        f"\nratio waterfall / fan-out: credits {ratio:.3f} "
        f"({waterfall.credits:,} / {fanout.credits:,}), "
        f"people sent {waterfall.people_sent / max(fanout.people_sent, 1):.3f}, "
        f"HTTP requests {waterfall.http_requests / max(fanout.http_requests, 1):.3f}, "
        f"wall time {waterfall.wall_s / max(fanout.wall_s, 1e-9):.3f}"
    )
    short = [label.strip() for key, label in RATES if waterfall.rates[key] < fanout.rates[key]]
    same_rate = not short
    verdict = "PASS" if same_rate and ratio <= TARGET_RATIO else "MISS"
    why = []
    if ratio > TARGET_RATIO:
        why.append(f"credits ratio {ratio:.3f} > {TARGET_RATIO:.2f}")
    if short:
        why.append(f"find-rate below the fan-out's for: {', '.join(short)}")
    print(
        f"{verdict}: waterfall reaches the fan-out's find-rate (every field) for at most "
        f"{TARGET_RATIO:.0%} of its credits -> ratio {ratio:.3f}"
        + (f" ({'; '.join(why)})" if why else "")
    )
    if mismatches:
        print(f"ERROR: sandbox credits and ledger disagree for {', '.join(mismatches)}")
        return 2
    return 0


def _found_by_field(attempts: Sequence[Attempt]) -> Counter[WantedField]:
    """Per requested field, the FOUND answers carrying it. enrich.so answers one record per
    product (its ref is `<product>:<batchId>`): such a record counts for its product's field only."""
    found: Counter[WantedField] = Counter()
    for a in attempts:
        if a.outcome is not Outcome.FOUND:
            continue
        r = a.result
        fields = a.fields
        product = (r.provider_ref or "").partition(":")[0]
        if r.provider == "enrichso" and product in FIELD_OF_PRODUCT:
            fields = fields & {FIELD_OF_PRODUCT[product]}
        for f in fields:
            if (
                (f is E and r.email)
                or (f is P and r.phones)
                or (f is L and r.linkedin is not None)
                or (f is V and r.email_status is not None)
            ):
                found[f] += 1
    return found


# ------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000, help="raw prospect rows (10000)")
    parser.add_argument(
        "--speed",
        type=float,
        default=0.002,
        help="sandbox clock and client pacing factor: job delays and rate windows x speed (0.002)",
    )
    parser.add_argument(
        "--order",
        default=",".join(Settings.from_env().provider_order),
        help="waterfall provider order, as ENRICH_PROVIDER_ORDER (default: the pipeline's); "
        "the fan-out does not depend on it",
    )
    parser.add_argument("--seed", type=int, default=42, help="sandbox world seed (42)")
    parser.add_argument("--prospect-seed", type=int, default=7, help="prospect draw seed (7)")
    parser.add_argument(
        "--poll-timeout", type=float, default=900.0, help="seconds a provider may poll (900)"
    )
    args = parser.parse_args(argv)
    if args.people < 1 or args.speed <= 0:
        parser.error("--people must be >= 1 and --speed > 0")
    args.order = tuple(p.strip() for p in args.order.split(",") if p.strip())
    if sorted(args.order) != sorted(ORDER):
        parser.error(f"--order must list each of {', '.join(ORDER)} once")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    world_people = max(12_000, args.people * 6 // 5)  # every row a distinct person where it can
    world_companies = max(1_800, world_people * 3 // 20)
    config = SandboxConfig(
        seed=args.seed,
        people=world_people,
        companies=world_companies,
        speed=args.speed,
        lemlist_credits=CREDITS,
        enrichso_credits=CREDITS,
        thehog_credits=CREDITS,
    )
    started = time.perf_counter()
    with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        prospects, people, rejected = prospect_set(sandbox, args.people, args.prospect_seed)
        print(
            f"setup: world + {args.people:,} rows -> {len(people):,} prospects in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        waterfall = measure("waterfall", sandbox, prospects, people, args, Path(tmp))
        fanout = measure("fan-out", sandbox, prospects, people, args, Path(tmp))
    extra = {
        "rejected": rejected,
        "world_people": world_people,
        "world_companies": world_companies,
        "plan": config.enrichso_plan,
    }
    status = report(waterfall, fanout, args, extra)
    print(f"total wall time {time.perf_counter() - started:.1f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
