"""Driving the whole Dagster pipeline in tests: tmp data folders, the sandbox env, materialise, read.

`Pipeline` holds one set of folders (raw, warehouse, state) and the resources that point at them;
the provider resources run in sandbox mode, so the test must have set ENRICH_SANDBOX_URL (see the
`pipeline_env` fixture in test_pipeline.py). `materialize_day` is the target of a separate process
that materialises one day.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from enrich_pipeline.defs.contacts import build_contacts_asset
from enrich_pipeline.defs.enrichment import build_enrichment_assets
from enrich_pipeline.defs.prospects import prospects, raw_prospects
from enrich_pipeline.defs.resources import EnrichsoResource, LemlistResource, ThehogResource
from enrich_pipeline.defs.store import PipelineStore
from enrich_pipeline.mode import Mode
from enrich_pipeline.model import EnrichmentRequest, WantedField
from enrich_pipeline.sandbox.endpoint import forget_sandbox_endpoint
from enrich_pipeline.sandbox.prospects import make_prospects, write_prospect_file
from enrich_pipeline.sandbox.world import World
from enrich_pipeline.settings import Settings
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.warehouse.storage import Warehouse

PROVIDERS = ("lemlist", "enrichso", "thehog")
KEY_VARIABLES = ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY")
SPEED = "0.01"
CONTACT_TABLES = ("contacts", "positions", "contact_channels")
REPO = Path(__file__).resolve().parents[1]


def cli_env(root: Path, sandbox_url: str) -> dict[str, str]:
    """The environment of a real pipeline process (`enrich-pipeline run`, `dagster job execute`)
    under `root`: its own Dagster home with the project's dagster.yaml (pools), folders, no keys,
    the test's sandbox at test speed."""
    home = root / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPO / "config" / "dagster.yaml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    return env | {
        "DAGSTER_HOME": str(home),
        "ENRICH_RAW_DIR": str(root / "raw"),
        "ENRICH_WAREHOUSE_DIR": str(root / "wh"),
        "ENRICH_STATE_DIR": str(root / "state"),
        "ENRICH_FIRST_DAY": "2026-11-01",
        "ENRICH_SANDBOX_URL": sandbox_url,
        "ENRICH_SANDBOX_SPEED": SPEED,
    }


@functools.cache
def shared_instance() -> dg.DagsterInstance:
    """One in-memory Dagster instance for every run of this process that brings none of its own:
    each new one costs ~0.1 s (its storage schema), and these runs read back only their own
    result. A test that inspects the instance's history passes its own."""
    return dg.DagsterInstance.ephemeral()


@contextmanager
def sandbox_env(sandbox_url: str) -> Iterator[None]:
    """The environment the `pipeline_env` fixture gives a test (no keys, this sandbox at test
    speed), for a module-scoped fixture that runs the pipeline once for several tests."""
    with pytest.MonkeyPatch.context() as env:
        for name in KEY_VARIABLES:
            env.delenv(name, raising=False)
        env.setenv("ENRICH_SANDBOX_URL", sandbox_url)
        env.setenv("ENRICH_SANDBOX_SPEED", SPEED)
        forget_sandbox_endpoint()
        try:
            yield
        finally:
            forget_sandbox_endpoint()


def sandbox_resources() -> dict[str, Any]:
    """Provider resources without keys: every client talks to ENRICH_SANDBOX_URL."""
    return {
        "lemlist": LemlistResource(),
        "enrichso": EnrichsoResource(),
        "thehog": ThehogResource(),
    }


@dataclass
class Pipeline:
    """One pipeline installation under `root`: raw/, wh/ (warehouse), state/ (ledger)."""

    root: Path
    settings: Settings = field(default_factory=Settings)
    providers: Mapping[str, Any] = field(default_factory=sandbox_resources)
    mode: Mode = Mode.SANDBOX

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "wh"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def store(self) -> PipelineStore:
        return PipelineStore(
            raw_dir=str(self.raw_dir),
            warehouse_dir=str(self.warehouse_dir),
            state_dir=str(self.state_dir),
            mode=self.mode.value,
        )

    def assets(self) -> list[dg.AssetsDefinition]:
        return [
            raw_prospects,
            prospects,
            *build_enrichment_assets(self.settings),
            build_contacts_asset(self.settings),
        ]

    def materialize(
        self,
        day: str,
        *,
        raise_on_error: bool = True,
        instance: dg.DagsterInstance | None = None,
    ) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.assets(),
            partition_key=day,
            instance=instance or shared_instance(),
            resources={"store": self.store(), **self.providers},
            raise_on_error=raise_on_error,
        )

    def write_day(self, world: World, day: str, n: int, *, seed: int) -> list[dict[str, str]]:
        """`n` messy prospect rows of `world`, as one snake_case CSV in the day's folder."""
        rows = make_prospects(world, n, seed=seed)
        write_prospect_file(rows, self.raw_dir / day / "prospects.csv", style="snake")
        return rows

    def warehouse(self) -> Warehouse:
        return Warehouse(self.warehouse_dir)

    def table(self, name: str, day: str) -> pa.Table:
        table = self.warehouse().read_partition(name, day)
        assert table is not None, f"{name} has no partition {day} under {self.warehouse_dir}"
        return table

    def tables(self, day: str, names: tuple[str, ...] = CONTACT_TABLES) -> dict[str, pa.Table]:
        return {name: self.table(name, day) for name in names}

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        ledger = Ledger(self.state_dir / "ledger.sqlite", self.mode)
        try:
            yield ledger
        finally:
            ledger.close()


def materialized_metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """asset key -> {metadata name: plain value} of every materialisation of the run."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        out[materialization.asset_key.to_user_string()] = {
            name: value.value for name, value in materialization.metadata.items()
        }
    return out


def submit_calls(counters: Mapping[str, Any], provider: str) -> int:
    """POST requests the sandbox saw for a provider: its submits (polls and results are GETs)."""
    routes = counters["requests"].get(provider, {})
    return sum(
        sum(by_status.values()) for route, by_status in routes.items() if route[:5] == "POST "
    )


def people_submitted(counters: Mapping[str, Any], provider: str) -> int:
    """People the sandbox accepted in submits of a provider (its own count, per person)."""
    return sum(counters["submissions"].get(provider, {}).values())


def materialize_day(root: str, day: str, sandbox_url: str, webhook_url: str | None = None) -> None:
    """Materialise every asset of one day under `root` in THIS process, against `sandbox_url`;
    the target of a separate process. Exits 1 with the failures in `root/<day>.failed`."""
    for name in KEY_VARIABLES:
        os.environ.pop(name, None)
    os.environ |= {"ENRICH_SANDBOX_URL": sandbox_url, "ENRICH_SANDBOX_SPEED": SPEED}
    forget_sandbox_endpoint()
    pipeline = Pipeline(Path(root), settings=Settings(webhook_url=webhook_url))
    result = pipeline.materialize(day, raise_on_error=False)
    if not result.success:
        failures = [e.message or "" for e in result.all_events if e.is_failure]
        (Path(root) / f"{day}.failed").write_text("\n".join(failures))
        raise SystemExit(1)


def requests_for(
    world: World, n: int, fields: Iterable[WantedField], *, skip: int = 0
) -> list[EnrichmentRequest]:
    """Requests for `n` people of the sandbox world (after the first `skip`), by LinkedIn URL, name
    and company, for `fields`: what a waterfall step would ask of a provider."""
    return [
        EnrichmentRequest(
            person_key=f"li:/in/{p.linkedin_slug}",
            linkedin_url=p.linkedin_url,
            first_name=p.first_name,
            last_name=p.last_name,
            company_name=p.company.name,
            company_domain=p.company.domain,
            fields=frozenset(fields),
        )
        for p in world.people[skip : skip + n]
    ]
