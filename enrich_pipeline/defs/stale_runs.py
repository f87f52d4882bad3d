"""Pool slots of runs whose process is gone.

A provider's pool admits one step at a time (config/dagster.yaml). Dagster frees a slot when the step
that claimed it ends, so a run killed with -9 (or a machine that lost power) keeps its slots, and
every later run waits for them forever. Runs started by `enrich-pipeline run` carry their process id
and host as tags; before a new run, each claim or queued step of a run whose process is gone is
released, and the run is marked failed, with a message. Runs launched elsewhere (the UI's run
launcher, a daemon) are left to Dagster's own run monitoring.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

PID_TAG = "enrich_pipeline/pid"
HOST_TAG = "enrich_pipeline/host"


def run_tags() -> dict[str, str]:
    """Tags for a run this process executes: who to ask whether it is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_gone(run: dg.DagsterRun) -> bool:
    pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
    if pid is None or host != socket.gethostname() or not pid.isdigit():
        return False  # not ours to judge
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class PoolHolder:
    pool: str
    run_id: str
    alive: bool


def pool_holders(instance: dg.DagsterInstance) -> list[PoolHolder]:
    """Every run that holds or waits for a pool slot, and whether its process is alive."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders: list[PoolHolder] = []
    for pool in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(pool)
        run_ids = {s.run_id for s in info.claimed_slots} | {p.run_id for p in info.pending_steps}
        for run_id in sorted(run_ids):
            run = instance.get_run_by_id(run_id)
            alive = run is not None and not run.is_finished and not _process_gone(run)
            holders.append(PoolHolder(pool, run_id, alive))
    return holders


def release_dead_runs(
    instance: dg.DagsterInstance, say: Callable[[str], None] = print
) -> list[str]:
    """Free the slots of runs whose process is gone (or that already ended); say so. Returns their
    run ids. Runs that are alive are named too, so a wait is never silent."""
    released: list[str] = []
    for holder in pool_holders(instance):
        if holder.alive:
            say(
                f"note: pool {holder.pool!r} is in use by run {holder.run_id[:8]}; steps of that "
                "provider wait for it to finish"
            )
            continue
        if holder.run_id in released:
            continue
        run = instance.get_run_by_id(holder.run_id)
        if run is not None and not run.is_finished:
            instance.report_run_failed(
                run, "its process is gone (killed or crashed); pool slots released"
            )
        instance.event_log_storage.free_concurrency_slots_for_run(holder.run_id)
        released.append(holder.run_id)
        say(
            f"released pool slots held by run {holder.run_id[:8]}, whose process is gone "
            "(killed or crashed); what it submitted is reconciled from the ledger"
        )
    return released
