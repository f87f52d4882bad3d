"""One run of a day, as the race test in test_ledger_backends.py starts many of them at once, each
in its own process with its own connection to one Postgres ledger. Kept apart from the test module
so that a process start imports only the ledger (the forkserver preloads this module)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Protocol

import psycopg  # noqa: F401  preloaded with this module by the forkserver: a start then imports nothing

from enrich_pipeline.mode import Mode
from enrich_pipeline.model import (
    CostBasis,
    EnrichmentRequest,
    EnrichmentResult,
    RecordStatus,
    Submission,
)
from enrich_pipeline.spend.ledger import Ledger

RACERS = 24
PEOPLE = [f"person-{n:03}" for n in range(60)]
CHUNK = 6
PROVIDER = "thehog"


class _Barrier(Protocol):
    def wait(self) -> object: ...


class _Queue(Protocol):
    def put(self, item: list[str]) -> None: ...


def start_a_run(
    url: str, planned_at: datetime, start: _Barrier, claims: _Queue, seed: int, day: str
) -> None:
    """Claim every person of the day in small chunks, in this run's own order, submit and answer
    each claim at once (so later claimers meet completed attempts, not only open ones), and report
    whom this run claimed."""
    ledger = Ledger(url, Mode.SANDBOX)
    people = PEOPLE[:]
    random.Random(seed).shuffle(people)
    start.wait()  # every run is connected: go
    mine: list[str] = []
    for chunk_start in range(0, len(people), CHUNK):
        chunk = [EnrichmentRequest(person_key=p) for p in people[chunk_start : chunk_start + CHUNK]]
        intents = ledger.record_intents(PROVIDER, day, chunk, planned_at=planned_at)
        ledger.record_submitted(
            intents,
            [Submission(person_key=i.request.person_key, provider=PROVIDER) for i in intents],
        )
        for intent in intents:
            answer = EnrichmentResult(
                person_key=intent.request.person_key,
                provider=PROVIDER,
                record_status=RecordStatus.FOUND,
                cost_credits=1,
                cost_basis=CostBasis.REPORTED,
            )
            ledger.record_results(intent.id, [answer])
        mine += [i.request.person_key for i in intents]
    ledger.close()
    claims.put(mine)
