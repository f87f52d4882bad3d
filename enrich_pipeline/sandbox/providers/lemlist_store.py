"""The lemlist emulator's memory: enrichments, leads and team hooks, and how an enrichment finishes.

An enrichment's phase follows its JobTimer. When the timer says it is over, the enrichment is
*settled* exactly once: answers are looked up, credits charged (providers.md 1.9), the lead updated
and webhooks sent. Settling happens from a loop timer at the finish time, and also lazily on every
lemlist request, so a poll right at the finish line never sees a result that is not yet charged.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any

from enrich_pipeline.sandbox.clock import iso_now
from enrich_pipeline.sandbox.providers.lemlist_answers import find, resolve_person, webhook_item
from enrich_pipeline.sandbox.providers.lemlist_leads import record_outcome, seed_leads
from enrich_pipeline.sandbox.providers.lemlist_records import (
    ABSENT,
    ENRICHMENT_FAILED,
    INSUFFICIENT_CREDITS,
    Enrichment,
    Finding,
    Hook,
    IdSource,
    Lead,
    Outcome,
    Workflow,
)
from enrich_pipeline.sandbox.state import SandboxState


class LemlistStore:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        seed = state.config.seed
        self.enrichments: dict[str, Enrichment] = {}
        self.leads: dict[str, Lead] = seed_leads(state.world, seed)
        self.hooks: dict[str, Hook] = {}
        # Enrichments that will finish, by finish time (stuck ones never do and are not here).
        self._finishing: list[tuple[float, int, Enrichment]] = []
        self._order = itertools.count()
        self._enrichment_ids = IdSource(seed, "enr")
        self._hook_ids = IdSource(seed, "hoo")

    # ------------------------------------------------------------------------------ submit

    def submit(
        self,
        workflows: tuple[Workflow, ...],
        inputs: dict[str, str],
        key: str,
        *,
        webhook_url: str | None = None,
        metadata: Any = ABSENT,
        lead: Lead | None = None,
    ) -> Enrichment:
        """Accept one enrichment; must run on the server's event loop (it arms a timer)."""
        person = lead.person if lead is not None else resolve_person(self.state.world, inputs)
        enrichment = Enrichment(
            enrichment_id=self._enrichment_ids.next(),
            workflows=workflows,
            inputs=dict(inputs),
            person=person,
            timer=self.state.start_job("lemlist"),
            key=key,
            webhook_url=webhook_url,
            metadata=metadata,
            lead_id=lead.lead_id if lead is not None else None,
            documented=self.state.config.shape == "documented",
        )
        self.enrichments[enrichment.enrichment_id] = enrichment
        if lead is not None:
            lead.running = enrichment.enrichment_id
        self.state.counters.submitted("lemlist", person.person_id if person else None)
        if enrichment.timer.fate != "stuck":  # a stuck job never finishes: nothing to arm
            entry = (enrichment.timer.finishes_at, next(self._order), enrichment)
            heapq.heappush(self._finishing, entry)
            self._arm(enrichment, enrichment.timer.seconds_until_done())
        return enrichment

    def add_hook(self, target_url: str, event: str | None, secret: str | None) -> Hook:
        hook = Hook(self._hook_ids.next(), target_url, iso_now(), event, secret)
        self.hooks[hook.hook_id] = hook
        return hook

    # ------------------------------------------------------------------------------ settle

    def settle_due(self) -> None:
        """Settle every enrichment whose time is up, in finishing order (credits run out in order)."""
        while self._finishing and self._finishing[0][2].finished():
            _, _, enrichment = heapq.heappop(self._finishing)
            if enrichment.outcome is None:
                self._settle(enrichment)

    def _arm(self, enrichment: Enrichment, delay_s: float) -> None:
        asyncio.get_running_loop().call_later(delay_s, self._on_due, enrichment)

    def _on_due(self, enrichment: Enrichment) -> None:
        if self.state.stores.get("lemlist") is not self:
            return  # the sandbox was reset: this enrichment belongs to a forgotten world
        if enrichment.outcome is not None:
            return
        if not enrichment.finished():  # the loop may fire a hair early
            self._arm(enrichment, enrichment.timer.seconds_until_done() + 0.001)
            return
        self.settle_due()

    def _settle(self, enrichment: Enrichment) -> None:
        if enrichment.timer.phase() == "failed":
            nothing = {w: Finding.nothing() for w in enrichment.workflows}
            outcome = Outcome(nothing, ENRICHMENT_FAILED, failed=True)
        else:
            outcome = self._charge(enrichment, find(self.state.world, enrichment))
        enrichment.outcome = outcome
        if enrichment.lead_id is not None and enrichment.lead_id in self.leads:
            record_outcome(self.leads[enrichment.lead_id], enrichment.enrichment_id, outcome)
        self._notify(enrichment)

    def _charge(self, enrichment: Enrichment, findings: dict[Workflow, Finding]) -> Outcome:
        """Charge each workflow's price; one the wallet cannot cover comes back empty.

        lemlist documents no 402 (providers.md 1.9): the submit was already answered 200, so an
        unpaid workflow ends per `config.lemlist_out_of_credits` - as an error, or as not found.
        """
        wallet = self.state.wallets["lemlist"]
        unpaid: list[Workflow] = []
        for workflow, finding in list(findings.items()):
            description = f"{workflow} {enrichment.enrichment_id}"
            if not wallet.charge(finding.credits, enrichment.key, description):
                findings[workflow] = Finding.nothing()
                unpaid.append(workflow)
        as_error = bool(unpaid) and self.state.config.lemlist_out_of_credits == "error"
        return Outcome(findings, INSUFFICIENT_CREDITS if as_error else None, frozenset(unpaid))

    def _notify(self, enrichment: Enrichment) -> None:
        """One POST per finished enrichment to its webhookUrl and to each subscribed team hook."""
        assert enrichment.outcome is not None
        event = "enrichmentError" if enrichment.outcome.error else "enrichmentDone"
        body: dict[str, Any] = {"type": event, "data": [webhook_item(enrichment)]}
        delay_s = enrichment.timer.seconds_until_done()
        webhooks = self.state.webhooks
        if enrichment.webhook_url:
            webhooks.send("lemlist", enrichment.webhook_url, body, event=event, delay_s=delay_s)
        for hook in self.hooks.values():
            if hook.wants(event):
                signed = {**body, "secret": hook.secret} if hook.secret is not None else body
                webhooks.send("lemlist", hook.target_url, signed, event=event, delay_s=delay_s)
