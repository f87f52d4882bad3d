"""The coverage and cost report: hand-built ledger requests and attempts with every expected number
written out (re-runs, cache hits from other days, found <= attempted), the ledger query it reads,
and one day of the real pipeline whose report must equal the live sandbox's own counters."""

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
from enrich_pipeline.mode import Mode
from enrich_pipeline.model import (
    Attempt,
    CostBasis,
    EmailStatus,
    EnrichmentRequest,
    EnrichmentResult,
    LinkedinProfile,
    Outcome,
    Phone,
    RecordStatus,
    Submission,
    WantedField,
)
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.prospects import make_prospects, write_prospect_file
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.settings import Settings
from enrich_pipeline.spend.ledger import Ledger, SentAnswer, SentRequest
from enrich_pipeline.spend.runner import outcome_of
from enrich_pipeline.warehouse.report import (
    REPORT_COLUMNS,
    REPORT_SCHEMA,
    credit_totals,
    provider_figures,
    provider_report,
    report_bar_chart,
    report_markdown,
    report_vega_lite,
)
from enrich_pipeline.warehouse.storage import Warehouse, connect_readonly
from enrich_pipeline_tests.pipeline_helpers import shared_instance

DAY = "2026-11-03"
LATER = "2026-11-04"
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
SENT_OUTCOMES = (Outcome.FOUND, Outcome.NOT_FOUND, Outcome.FAILED, Outcome.PENDING, Outcome.UNKNOWN)


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


def day_attempts(*attempts: Attempt, day: str = DAY) -> pa.Table:
    """The day's attempts_<provider> partitions, concatenated as the report asset reads them."""
    providers = dict.fromkeys(a.result.provider for a in attempts)
    tables = [
        attempts_partition([a for a in attempts if a.result.provider == p], day) for p in providers
    ]
    return pa.concat_tables(tables)


def ledger_of(*attempts: Attempt, day: str = DAY) -> list[SentRequest]:
    """What the ledger holds as sent for the day when these attempts were made (fresh ones only:
    a cached answer was bought by another request, refused and skipped ones were never sent)."""
    return [
        SentRequest(
            submission_id=i,
            day=day,
            provider=a.result.provider,
            person_key=a.result.person_key or "",
            state={Outcome.PENDING: "submitted", Outcome.UNKNOWN: "unknown"}.get(
                a.outcome, "completed"
            ),
            fields=a.fields,
            provider_ref=a.result.provider_ref,
            result=None
            if a.result.record_status is RecordStatus.PENDING
            else SentAnswer.of(a.result),
            cost_credits=a.result.cost_credits or 0,
        )
        for i, a in enumerate(attempts)
        if not a.from_cache and a.outcome in SENT_OUTCOMES
    ]


def reread(*attempts: Attempt) -> tuple[Attempt, ...]:
    """The same attempts as a re-run records them: every answer now comes from the ledger."""
    return tuple(
        Attempt(a.result, a.fields, a.outcome, True) for a in attempts if a.outcome in SENT_OUTCOMES
    )


def report_of(
    *attempts: Attempt, contacts: pa.Table | None = None, sent: list[SentRequest] | None = None
) -> pa.Table:
    """The report of a first run of DAY making these attempts (or of `sent` when given)."""
    return provider_report(
        ledger_of(*attempts) if sent is None else sent,
        day_attempts(*attempts),
        contacts,
        day=DAY,
    )


def by_row(report: pa.Table) -> dict[tuple[str, str], tuple[Any, ...]]:
    assert report.schema == REPORT_SCHEMA
    for row in report.to_pylist():
        assert row["found"] <= row["attempted"], row
        assert row["find_rate"] is None or 0 <= row["find_rate"] <= 1, row
    return {
        (row["provider"], row["field"]): tuple(row[c] for c in COLUMNS)
        for row in report.to_pylist()
    }


# ------------------------------------------------------------------------- hand-built attempts

SPLIT_ATTEMPTS = (
    # lemlist bills find_email 5 (deliverable or risky), find_phone 20 when found, LinkedIn
    # enrichment 1 and a verification 1 found or not.
    attempt("lemlist", "p1", {E, L, P}, email=EmailStatus.DELIVERABLE, phone=True, profile=True,
            cost=26),  # 5 + 20 + 1
    attempt("lemlist", "p2", {E, L}, email=EmailStatus.UNKNOWN, cost=1),  # not billed: L
    attempt("lemlist", "p3", {V, P}, email=EmailStatus.RISKY, cost=1),  # the verification
    attempt("lemlist", "p4", {L}, RecordStatus.NOT_FOUND, cost=1),
    # One request per person and product: the reference names the field it paid for.
    attempt("enrichso", "p2", {E, P}, email=EmailStatus.DELIVERABLE, cost=10, ref="finder:b1"),
    attempt("enrichso", "p2", {E, P}, RecordStatus.NOT_FOUND, cost=0, ref="phones:b2"),
    # 9 is no sum of The Hog's list prices (1, 5): by price over the found fields,
    # floor(9*1/6) = 1 and floor(9*5/6) = 7, the remainder 1 to the dearest (phone).
    attempt("thehog", "p4", {E, P}, email=EmailStatus.DELIVERABLE, phone=True, cost=9),
)  # fmt: skip
# Email answers (deliverable only): lemlist p1, enrich.so p2, The Hog p4 - one provider each.
# Phone answers: lemlist p1, The Hog p4. LinkedIn: lemlist p1.
SPLIT_REPORT = {
    # (attempted, cache hits, found, find-rate, verified, credits, per found, marginal, chosen)
    ("lemlist", "email"): (3, 0, 3, 1.0, pytest.approx(1 / 3), 6, 2.0, 1, None),
    ("lemlist", "phone"): (2, 0, 1, 0.5, None, 20, 20.0, 1, None),
    ("lemlist", "linkedin"): (3, 0, 1, pytest.approx(1 / 3), None, 3, 3.0, 1, None),
    # 4 requests, 3 returned a field (p4 none); marginal: people (p1 only)
    ("lemlist", "all"): (4, 0, 3, 0.75, None, 29, pytest.approx(29 / 3), 1, None),
    ("enrichso", "email"): (1, 0, 1, 1.0, 1.0, 10, 10.0, 1, None),
    ("enrichso", "phone"): (1, 0, 0, 0.0, None, 0, None, 0, None),
    ("enrichso", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
    ("enrichso", "all"): (2, 0, 1, 0.5, None, 10, 10.0, 1, None),
    ("thehog", "email"): (1, 0, 1, 1.0, 1.0, 1, 1.0, 1, None),
    ("thehog", "phone"): (1, 0, 1, 1.0, None, 8, 8.0, 1, None),
    ("thehog", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
    # one request returning two fields: found 1, not 2 (found never exceeds attempted)
    ("thehog", "all"): (1, 0, 1, 1.0, None, 9, 9.0, 1, None),
}


def test_credits_are_split_by_list_price_and_every_number_is_as_defined() -> None:
    report = report_of(*SPLIT_ATTEMPTS)
    assert by_row(report) == SPLIT_REPORT
    assert report.column("provider").to_pylist()[::4] == ["lemlist", "enrichso", "thehog"]


def test_a_re_run_served_from_the_ledger_gives_the_same_report() -> None:
    first = report_of(*SPLIT_ATTEMPTS)
    # The re-run re-reads every answer from the ledger; the ledger holds the same requests.
    again = provider_report(
        ledger_of(*SPLIT_ATTEMPTS), day_attempts(*reread(*SPLIT_ATTEMPTS)), None, day=DAY
    )
    assert again.equals(first)
    # A re-run before the attempts partitions exist (or after they were lost) too.
    assert provider_report(ledger_of(*SPLIT_ATTEMPTS), None, None, day=DAY).equals(first)


def test_answers_bought_on_an_earlier_day_are_cache_hits_with_no_credits() -> None:
    earlier = (
        attempt("lemlist", "p1", {E, P}, email=EmailStatus.DELIVERABLE, phone=True, cost=25),
        attempt("lemlist", "p2", {E, P}, RecordStatus.NOT_FOUND, cost=0),
        attempt("enrichso", "p2", {E}, email=EmailStatus.DELIVERABLE, cost=10, ref="finder:b1"),
    )
    # The later day holds the same people: everything is reused, nothing is sent.
    # The ledger's requests of DAY are passed too: another day's, they are not LATER's figures.
    later = provider_report(
        ledger_of(*earlier), day_attempts(*reread(*earlier), day=LATER), None, day=LATER
    )
    assert set(later.column("day").to_pylist()) == {LATER}
    rows = {(r["provider"], r["field"]): tuple(r[c] for c in COLUMNS) for r in later.to_pylist()}
    assert rows == {
        ("lemlist", "email"): (0, 2, 0, None, None, 0, None, 1, None),
        ("lemlist", "phone"): (0, 2, 0, None, None, 0, None, 1, None),
        ("lemlist", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
        ("lemlist", "all"): (0, 2, 0, None, None, 0, None, 1, None),
        ("enrichso", "email"): (0, 1, 0, None, None, 0, None, 1, None),
        ("enrichso", "phone"): (0, 0, 0, None, None, 0, None, 0, None),
        ("enrichso", "linkedin"): (0, 0, 0, None, None, 0, None, 0, None),
        ("enrichso", "all"): (0, 1, 0, None, None, 0, None, 1, None),
    }


def test_a_person_partly_bought_today_counts_only_the_reused_field_as_a_cache_hit() -> None:
    # p1's email was bought on an earlier day (reused); their phone is bought today. The runner
    # records both answers with the fields of today's request.
    reused = attempt("lemlist", "p1", {E, P}, email=EmailStatus.DELIVERABLE, cost=5,
                     ref="old", cached=True)  # fmt: skip
    bought = attempt("lemlist", "p1", {P}, phone=True, cost=20, ref="new")
    rows = by_row(report_of(reused, bought))
    assert rows[("lemlist", "email")] == (0, 1, 0, None, None, 0, None, 1, None)
    assert rows[("lemlist", "phone")] == (1, 0, 1, 1.0, None, 20, 20.0, 1, None)
    assert rows[("lemlist", "all")] == (1, 1, 1, 1.0, None, 20, 20.0, 1, None)
    # Re-run: both answers re-read; today's is no cache hit, the earlier one still is.
    again = provider_report(
        ledger_of(reused, bought), day_attempts(reused, *reread(bought)), None, day=DAY
    )
    assert by_row(again) == rows


def test_cache_hits_refusals_and_skips_are_not_attempted_and_shared_answers_are_not_marginal() -> (
    None
):
    attempts = (
        # Answered from the ledger (bought on an earlier day): free today, but still the only
        # email answer p1 has.
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
    rows = by_row(report_of(*attempts, contacts=contacts))
    assert rows == {
        ("lemlist", "email"): (0, 1, 0, None, None, 0, None, 1, 1),
        ("lemlist", "phone"): (1, 0, 1, 1.0, None, 20, 20.0, 0, 1),
        ("lemlist", "linkedin"): (0, 0, 0, None, None, 0, None, 0, 0),
        # chosen: contacts rows showing a lemlist value in any field (p1, p3)
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


def test_pending_and_unknown_requests_are_attempted_and_not_found() -> None:
    attempts = (
        attempt("lemlist", "p1", {E}, RecordStatus.PENDING, ref="enr_1", outcome=Outcome.PENDING),
        attempt("lemlist", "p2", {E}, RecordStatus.PENDING, outcome=Outcome.UNKNOWN),
        attempt("lemlist", "p3", {E}, email=EmailStatus.DELIVERABLE, cost=5),
    )
    rows = by_row(report_of(*attempts))
    assert rows[("lemlist", "email")] == (3, 0, 1, pytest.approx(1 / 3), 1.0, 5, 5.0, 1, None)
    assert rows[("lemlist", "all")] == (3, 0, 1, pytest.approx(1 / 3), None, 5, 5.0, 1, None)


def test_an_unattributed_answer_asks_the_field_its_product_names() -> None:
    stray = EnrichmentResult(
        person_key="unattributed:reverse:b9",
        provider="enrichso",
        provider_ref="reverse:b9",
        record_status=RecordStatus.FOUND,
        linkedin=LinkedinProfile(url="https://www.linkedin.com/in/someone"),
        cost_credits=10,
    )
    sent = [SentRequest(1, DAY, "enrichso", "unattributed:reverse:b9", "completed", frozenset(),
                        "reverse:b9", SentAnswer.of(stray), 10)]  # fmt: skip
    rows = by_row(provider_report(sent, None, None, day=DAY))
    assert rows[("enrichso", "linkedin")] == (1, 0, 1, 1.0, None, 10, 10.0, 1, None)
    assert rows[("enrichso", "all")][5] == 10


def test_provider_figures_are_flat_numbers_named_by_field() -> None:
    report = report_of(*SPLIT_ATTEMPTS)
    figures = provider_figures(report, "thehog")
    assert figures == {
        "email_attempted": 1,
        "email_cache_hits": 0,
        "email_found": 1,
        "email_find_rate": 1.0,
        "email_credits": 1,
        "email_verified_share": 1.0,
        "phone_attempted": 1,
        "phone_cache_hits": 0,
        "phone_found": 1,
        "phone_find_rate": 1.0,
        "phone_credits": 8,
        "linkedin_attempted": 0,
        "linkedin_cache_hits": 0,
        "linkedin_found": 0,
        "linkedin_find_rate": None,
        "linkedin_credits": 0,
        "requests_attempted": 1,
        "requests_found": 1,
        "requests_find_rate": 1.0,
        "cache_hits": 0,
        "credits": 9,
        "credits_per_found": 9.0,
    }
    assert all(isinstance(v, float) for k, v in figures.items() if k.endswith("rate") and v)
    assert provider_figures(report, "nobody") == {}
    contribution = provider_figures(report, "thehog", contribution=True)
    assert {k: v for k, v in contribution.items() if k not in figures} == {
        "email_marginal": 1,
        "phone_marginal": 1,
        "linkedin_marginal": 0,
        "marginal": 1,
    }  # no chosen: this report had no contacts
    assert set(REPORT_COLUMNS) == set(REPORT_SCHEMA.names)


def test_the_ledger_lists_what_the_day_sent_whichever_run_sent_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", Mode.SANDBOX)
    try:
        people = [EnrichmentRequest(person_key=k, fields=frozenset({E, P})) for k in "abcde"]
        intents = ledger.record_intents("enrichso", DAY, people)
        ledger.record_submitted(
            intents,
            [
                Submission(person_key="a", provider="enrichso", provider_ref="finder:b1"),
                Submission(person_key="a", provider="enrichso", provider_ref="phones:b2"),
                Submission(person_key="b", provider="enrichso", provider_ref="finder:b1"),
                Submission(person_key="c", provider="enrichso", error="missing domain"),
                Submission(person_key="d", provider="enrichso", provider_ref="finder:b1"),
            ],
        )
        found = EnrichmentResult(
            person_key="a", provider="enrichso", provider_ref="finder:b1",
            record_status=RecordStatus.FOUND, email="a@example.com", cost_credits=10,
        )  # fmt: skip
        pending = EnrichmentResult(
            person_key="a", provider="enrichso", provider_ref="phones:b2",
            record_status=RecordStatus.PENDING,
        )  # fmt: skip
        ledger.record_results(intents[0].id, [found, pending])  # phones:b2 still pending
        ledger.record_results(
            intents[1].id, [found.model_copy(update={"person_key": "b", "cost_credits": 0,
                                                     "record_status": RecordStatus.NOT_FOUND})]
        )  # fmt: skip
        ledger.mark([intents[4]], "unknown", "connection dropped")
        ledger.record_intents("enrichso", LATER, people[:1])  # another day: not listed
        sent = {
            (s.person_key, s.state, s.provider_ref, s.cost_credits, s.result is not None)
            for s in ledger.sent_requests(DAY)
        }
    finally:
        ledger.close()
    assert sent == {
        ("a", "submitted", "finder:b1", 10, True),
        ("a", "submitted", "phones:b2", 0, False),  # pending job: sent, not answered yet
        ("b", "completed", "finder:b1", 0, True),
        ("d", "submitted", "finder:b1", 0, False),
        ("e", "unknown", None, 0, False),  # may have been sent
    }  # c was refused: never charged, not listed


def test_a_day_without_attempts_gives_an_empty_typed_report() -> None:
    nobody_sent = attempts_partition([], DAY)  # typed, no rows
    for attempts in (None, nobody_sent):
        report = provider_report([], attempts, None, day=DAY)
        assert report.num_rows == 0 and report.schema == REPORT_SCHEMA
    assert report_markdown(report) == report_bar_chart(report) == "_no attempts this day_"


def test_markdown_chart_and_vega_lite_show_every_provider_and_field() -> None:
    report = report_of(
        attempt("lemlist", "p1", {E, L}, email=EmailStatus.DELIVERABLE, profile=True, cost=6),
        attempt("thehog", "p2", {P}, RecordStatus.NOT_FOUND, cost=0),
    )
    table = report_markdown(report).splitlines()
    assert len(table) == 2 + report.num_rows
    assert "| lemlist | email | 1 | 0 | 1 | 100% | 100% | 5 | 5.0 | unknown | 1 |  |" in table
    assert "| lemlist | **all** | 1 | 0 | 1 | 100% |  | 6 | 6.0 | unknown | 1 |  |" in table
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
        instance=shared_instance(),
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
        # found counts requests that returned something: at most one per request
        assert 0 < total["found"] <= total["attempted"], provider
        assert max(f["found"] for f in fields) <= total["found"] <= sum(f["found"] for f in fields)

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
    for provider in providers:
        assert metadata[f"credits_{provider}"].value == counters["credits_net"][provider]
        figures = provider_figures(report, provider)
        assert metadata[f"email_find_rate_{provider}"].value == figures["email_find_rate"]
    assert metadata["credits_spent"].value == sum(counters["credits_net"].values())
    assert metadata["dagster/row_count"].value == report.num_rows == 12
    schema = metadata["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == REPORT_SCHEMA.names
    assert all(c.description for c in schema.columns)
    assert not [k for k, v in metadata.items() if v.value is None]
    assert "| lemlist | **all** |" in metadata["report"].value
    assert "```" in metadata["chart"].value
    with connect_readonly(warehouse_dir) as con:
        spent = con.sql("SELECT sum(credits) FROM provider_report WHERE field = 'all'").fetchall()
    assert spent == [(sum(counters["credits_net"].values()),)]


def test_estimated_credits_are_shown_apart_from_reported_and_table_ones() -> None:
    report = report_of(
        attempt("lemlist", "p1", {E}, email=EmailStatus.DELIVERABLE, cost=5, basis=CostBasis.TABLE),
        attempt("thehog", "p2", {P}, phone=True, cost=5, basis=CostBasis.ESTIMATED),
        attempt("enrichso", "p3", {P}, phone=True, cost=500, basis=CostBasis.REPORTED),
    )
    bases = {(r["provider"], r["field"]): r["cost_basis"] for r in report.to_pylist()}
    assert bases[("lemlist", "all")] == "table"
    assert bases[("thehog", "phone")] == bases[("thehog", "all")] == "estimated"
    assert bases[("enrichso", "all")] == "reported"
    assert credit_totals(report) == {"credits_spent": 510, "credits_estimated": 5}
    assert "| thehog | **all** |" in report_markdown(report) and "estimated" in report_markdown(
        report
    )
