"""The coverage and cost report: hand-built attempts with every expected number written out, and one
day of the real pipeline whose report must equal the live sandbox's own counters to the credit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from enrich_pipeline.definitions import build_definitions
from enrich_pipeline.defs.enrichment import attempts_partition
from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
from enrich_pipeline.defs.store import PipelineStore
from enrich_pipeline.model import (
    Attempt,
    CostBasis,
    EmailStatus,
    EnrichmentResult,
    LinkedinProfile,
    Outcome,
    Phone,
    RecordStatus,
    WantedField,
)
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.prospects import make_prospects, write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings
from enrich_pipeline.spend.runner import ProviderRun, outcome_of
from enrich_pipeline.warehouse.report import (
    REPORT_SCHEMA,
    provider_report,
    report_bar_chart,
    report_markdown,
    report_totals,
    report_vega_lite,
)
from enrich_pipeline.warehouse.storage import Warehouse, connect_readonly

DAY = "2026-11-03"
E, P, L, V = (
    WantedField.EMAIL,
    WantedField.PHONE,
    WantedField.LINKEDIN,
    WantedField.EMAIL_VERIFICATION,
)
COLUMNS = (
    "attempted",
    "cache_hits",
    "found",
    "find_rate",
    "verified_share",
    "credits",
    "credits_per_found",
    "marginal",
    "chosen",
)


def attempt(
    provider: str,
    key: str,
    fields: set[WantedField],
    status: RecordStatus = RecordStatus.FOUND,
    *,
    email: EmailStatus | None = None,
    phone: bool = False,
    profile: bool = False,
    cost: int | None = None,
    ref: str | None = None,
    cached: bool = False,
    outcome: Outcome | None = None,
    basis: CostBasis = CostBasis.UNKNOWN,
) -> Attempt:
    """One attempt as a provider asset records it; `email` is the status of a returned email."""
    result = EnrichmentResult(
        person_key=key,
        provider=provider,
        provider_ref=ref if ref is not None or outcome is not None else f"{provider}-{key}",
        record_status=status,
        email=f"{key}@example.com" if email is not None else None,
        email_status=email,
        phones=(Phone(number="+4915112345678"),) if phone else (),
        linkedin=LinkedinProfile(url=f"https://www.linkedin.com/in/{key}") if profile else None,
        cost_credits=cost,
        cost_basis=basis,
    )
    return Attempt(result, frozenset(fields), outcome or outcome_of(result), cached)


def day_attempts(*attempts: Attempt) -> pa.Table:
    """The day's attempts_<provider> partitions, concatenated as the report asset reads them."""
    providers = dict.fromkeys(a.result.provider for a in attempts)
    tables = [
        attempts_partition(
            ProviderRun(p, DAY, attempts=[a for a in attempts if a.result.provider == p]), DAY
        )
        for p in providers
    ]
    return pa.concat_tables(tables)


def by_row(report: pa.Table) -> dict[tuple[str, str], tuple[Any, ...]]:
    assert report.schema == REPORT_SCHEMA
    assert set(report.column("day").to_pylist()) <= {DAY}
    return {
        (row["provider"], row["field"]): tuple(row[c] for c in COLUMNS)
        for row in report.to_pylist()
    }


# ------------------------------------------------------------------------- hand-built attempts


def test_credits_are_split_by_list_price_and_every_number_is_as_defined() -> None:
    attempts = day_attempts(
        # lemlist bills find_email 5 (deliverable or risky), find_phone 20 when found, LinkedIn
        # enrichment 1 and a verification 1 found or not.
        attempt("lemlist", "p1", {E, L, P}, email=EmailStatus.DELIVERABLE, phone=True,
                profile=True, cost=26),  # 5 + 20 + 1
        attempt("lemlist", "p2", {E, L}, email=EmailStatus.UNKNOWN, cost=1),  # not billed: L
        attempt("lemlist", "p3", {V, P}, email=EmailStatus.RISKY, cost=1),  # the verification
        attempt("lemlist", "p4", {L}, RecordStatus.NOT_FOUND, cost=1),
        # One request per person and product: the reference names the field it paid for.
        attempt("enrichso", "p2", {E, P}, email=EmailStatus.DELIVERABLE, cost=10,
                ref="finder:b1"),
        attempt("enrichso", "p2", {E, P}, RecordStatus.NOT_FOUND, cost=0, ref="phones:b2"),
        # 9 is no sum of The Hog's list prices (1, 5): by price over the found fields,
        # floor(9*1/6) = 1 and floor(9*5/6) = 7, the remainder 1 to the dearest (phone).
        attempt("thehog", "p4", {E, P}, email=EmailStatus.DELIVERABLE, phone=True, cost=9),
    )  # fmt: skip
    rows = by_row(provider_report(attempts, None, day=DAY))
    # Email answers (deliverable only): lemlist p1, enrich.so p2, The Hog p4 - one provider each.
    # Phone answers: lemlist p1, The Hog p4. LinkedIn: lemlist p1.
    assert rows == {
        # (attempted, cache hits, found, find-rate, verified, credits, per found, marginal, chosen)
        ("lemlist", "email"): (3, 0, 3, 1.0, pytest.approx(1 / 3), 6, 2.0, 1, None),
        ("lemlist", "phone"): (2, 0, 1, 0.5, None, 20, 20.0, 1, None),
        ("lemlist", "linkedin"): (3, 0, 1, pytest.approx(1 / 3), None, 3, 3.0, 1, None),
        ("lemlist", "all"): (4, 0, 5, 5 / 8, None, 29, 29 / 5, 3, None),
        ("enrichso", "email"): (1, 0, 1, 1.0, 1.0, 10, 10.0, 1, None),
        ("enrichso", "phone"): (1, 0, 0, 0.0, None, 0, None, 0, None),
        ("enrichso", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
        ("enrichso", "all"): (2, 0, 1, 0.5, None, 10, 10.0, 1, None),
        ("thehog", "email"): (1, 0, 1, 1.0, 1.0, 1, 1.0, 1, None),
        ("thehog", "phone"): (1, 0, 1, 1.0, None, 8, 8.0, 1, None),
        ("thehog", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
        ("thehog", "all"): (1, 0, 2, 1.0, None, 9, 4.5, 2, None),
    }
    report = provider_report(attempts, None, day=DAY)
    assert report.column("provider").to_pylist()[::4] == ["lemlist", "enrichso", "thehog"]


def test_cache_hits_refusals_and_skips_are_not_attempted_and_shared_answers_are_not_marginal() -> (
    None
):
    attempts = day_attempts(
        # Answered from the ledger: free today, but still the only email answer p1 has.
        attempt("lemlist", "p1", {E}, email=EmailStatus.DELIVERABLE, cost=5, cached=True),
        attempt("lemlist", "p3", {P}, phone=True, cost=20),
        attempt("enrichso", "p1", {P}, RecordStatus.PENDING, outcome=Outcome.REFUSED),
        attempt("thehog", "p2", {E, P}, RecordStatus.PENDING, outcome=Outcome.SKIPPED_BUDGET),
        attempt("thehog", "p3", {P}, phone=True, cost=5),  # p3's phone: lemlist has it too
        attempt("thehog", "p4", {E}, email=EmailStatus.RISKY, cost=1),  # risky: not an answer
    )
    contacts = pa.table(
        {
            "person_key": ["p1", "p2", "p3", "p4"],
            "email_provider": ["lemlist", None, None, "thehog"],
            "phone_provider": [None, None, "lemlist", None],
            "linkedin_provider": pa.nulls(4, pa.string()),
        }
    )
    rows = by_row(provider_report(attempts, contacts, day=DAY))
    assert rows == {
        ("lemlist", "email"): (0, 1, 0, None, None, 0, None, 1, 1),
        ("lemlist", "phone"): (1, 0, 1, 1.0, None, 20, 20.0, 0, 1),
        ("lemlist", "linkedin"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("lemlist", "all"): (1, 1, 1, 1.0, None, 20, 20.0, 1, 2),
        ("enrichso", "email"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("enrichso", "phone"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("enrichso", "linkedin"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("enrichso", "all"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("thehog", "email"): (1, 0, 1, 1.0, 0.0, 1, 1.0, 0, 1),
        ("thehog", "phone"): (1, 0, 1, 1.0, None, 5, 5.0, 0, 0),
        ("thehog", "linkedin"): (0, 0, 0, None, None, 0, None, 0, 0),
        ("thehog", "all"): (2, 0, 2, 1.0, None, 6, 3.0, 0, 1),
    }


def test_a_day_without_attempts_gives_an_empty_typed_report() -> None:
    nobody_sent = attempts_partition(ProviderRun("lemlist", DAY), DAY)  # typed, no rows
    for attempts in (None, nobody_sent):
        report = provider_report(attempts, None, day=DAY)
        assert report.num_rows == 0 and report.schema == REPORT_SCHEMA
    assert report_markdown(report) == report_bar_chart(report) == "_no attempts this day_"


def test_markdown_chart_and_vega_lite_show_every_provider_and_field() -> None:
    attempts = day_attempts(
        attempt("lemlist", "p1", {E, L}, email=EmailStatus.DELIVERABLE, profile=True, cost=6),
        attempt("thehog", "p2", {P}, RecordStatus.NOT_FOUND, cost=0),
    )
    report = provider_report(attempts, None, day=DAY)
    table = report_markdown(report).splitlines()
    assert len(table) == 2 + report.num_rows
    assert "| lemlist | email | 1 | 0 | 1 | 100% | 100% | 5 | 5.0 | unknown | 1 |  |" in table
    assert "| lemlist | **all** | 1 | 0 | 2 | 100% |  | 6 | 3.0 | unknown | 2 |  |" in table
    chart = report_bar_chart(report, width=10)
    assert "  lemlist ██████████ 100%     1/1          5 cr  only here: 1" in chart
    assert "  thehog  ░░░░░░░░░░   0%     0/1          0 cr  only here: 0" in chart
    spec = report_vega_lite(report)
    values: Any = spec["data"]
    assert [(v["provider"], v["field"]) for v in values["values"]] == [
        (p, f) for p in ("lemlist", "thehog") for f in ("email", "phone", "linkedin")
    ]


def test_the_warehouse_has_a_typed_provider_report_view_before_the_first_day(
    tmp_path: Path,
) -> None:
    Warehouse(tmp_path).refresh_views()
    with connect_readonly(tmp_path) as con:
        columns = [row[0] for row in con.sql("DESCRIBE provider_report").fetchall()]
        assert con.sql("SELECT count(*) FROM provider_report").fetchall() == [(0,)]
    assert columns == [*REPORT_SCHEMA.names, "date"]


# -------------------------------------------------------------------------- the live sandbox


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> Iterator[SandboxServer]:
    for name in ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENRICH_SANDBOX_URL", sandbox.url)
    monkeypatch.setenv("ENRICH_SANDBOX_SPEED", "0.01")
    forget_sandbox_endpoint()
    yield sandbox
    forget_sandbox_endpoint()


def test_one_day_report_equals_the_sandboxs_own_counters(
    sandbox_env: SandboxServer, tmp_path: Path
) -> None:
    rows = make_prospects(sandbox_env.state.world, 80, seed=3)
    write_prospect_file(rows, tmp_path / "raw" / DAY / "prospects.csv", style="snake")
    warehouse_dir = tmp_path / "wh"
    store = PipelineStore(
        raw_dir=str(tmp_path / "raw"),
        warehouse_dir=str(warehouse_dir),
        state_dir=str(tmp_path / "state"),
    )
    result = dg.materialize(
        list(build_definitions(Settings()).assets or []),  # type: ignore[arg-type]
        partition_key=DAY,
        instance=dg.DagsterInstance.ephemeral(),
        resources={
            "store": store,
            "lemlist": LemlistResource(),
            "enrichso": EnrichsoResource(),
            "thehog": ThehogResource(),
        },
    )
    counters = sandbox_env.counters()

    report = Warehouse(warehouse_dir).read_partition("provider_report", DAY)
    assert report is not None
    rows_by = {(r["provider"], r["field"]): r for r in report.to_pylist()}
    providers = ("lemlist", "enrichso", "thehog")
    for provider in providers:
        total = rows_by[(provider, "all")]
        fields = [rows_by[(provider, f)] for f in ("email", "phone", "linkedin")]
        assert total["credits"] == counters["credits_net"][provider], provider
        assert total["attempted"] == sum(counters["submissions"][provider].values()), provider
        assert total["credits"] == sum(f["credits"] for f in fields) > 0, provider
        assert total["found"] == sum(f["found"] for f in fields) > 0, provider

    # The split follows the sandbox's billing field by field (providers.md 1.9, 2.2): lemlist bills
    # 20 per phone found and 1 per LinkedIn enrichment; enrich.so 500 per phone, 10 per profile.
    def cell(provider: str, field: str, column: str) -> Any:
        return rows_by[(provider, field)][column]

    assert cell("lemlist", "phone", "credits") == 20 * cell("lemlist", "phone", "found")
    assert cell("lemlist", "linkedin", "credits") == cell("lemlist", "linkedin", "attempted")
    assert cell("enrichso", "phone", "credits") == 500 * cell("enrichso", "phone", "found")
    assert cell("enrichso", "linkedin", "credits") == 10 * cell("enrichso", "linkedin", "found")

    metadata = {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }["provider_report"]
    assert metadata["credits_by_provider"].value == {
        p: counters["credits_net"][p] for p in providers
    }
    assert metadata["credits_spent"].value == sum(counters["credits_net"].values())
    assert "| lemlist | **all** |" in metadata["report"].value
    assert "```" in metadata["chart"].value
    with connect_readonly(warehouse_dir) as con:
        spent = con.sql("SELECT sum(credits) FROM provider_report WHERE field = 'all'").fetchall()
    assert spent == [(sum(counters["credits_net"].values()),)]


def test_estimated_credits_are_shown_apart_from_reported_and_table_ones() -> None:
    attempts = day_attempts(
        attempt("lemlist", "p1", {E}, email=EmailStatus.DELIVERABLE, cost=5, basis=CostBasis.TABLE),
        attempt("thehog", "p2", {P}, phone=True, cost=5, basis=CostBasis.ESTIMATED),
        attempt("enrichso", "p3", {P}, phone=True, cost=500, basis=CostBasis.REPORTED),
    )
    report = provider_report(attempts, None, day=DAY)
    bases = {(r["provider"], r["field"]): r["cost_basis"] for r in report.to_pylist()}
    assert bases[("lemlist", "all")] == "table"
    assert bases[("thehog", "phone")] == bases[("thehog", "all")] == "estimated"
    assert bases[("enrichso", "all")] == "reported"
    assert report_totals(report)["credits_estimated_by_provider"] == {"thehog": 5}
    assert "| thehog | **all** |" in report_markdown(report) and "estimated" in report_markdown(
        report
    )
