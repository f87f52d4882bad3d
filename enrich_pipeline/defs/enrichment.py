"""One enrichment asset per provider, made by one factory and chained in the waterfall order."""

import json
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg
import pyarrow as pa

from enrich_pipeline.defs.metadata import OWNERS, figures, partition_metadata, preview
from enrich_pipeline.defs.store import DAILY, ONE_DAY_PER_RUN, PipelineStore
from enrich_pipeline.mode import host_of, origin
from enrich_pipeline.model import Attempt, EnrichmentResult, Outcome, WantedField
from enrich_pipeline.providers.errors import ProviderError
from enrich_pipeline.providers.polling import PollProgress
from enrich_pipeline.settings import Settings
from enrich_pipeline.spend.budgets import allowance
from enrich_pipeline.spend.runner import ProviderRun, RunSettings, run_provider
from enrich_pipeline.spend.suppression import SuppressionList, suppressed_attempts
from enrich_pipeline.spend.waterfall import Known, fold_attempts, plan_requests
from enrich_pipeline.warehouse.flatten import attempts_table
from enrich_pipeline.warehouse.report import provider_figures, provider_report
from enrich_pipeline.webhooks.receiver import webhook_url

BATCH_MAX = {"lemlist": 500, "enrichso": 10_000, "thehog": 100}
# A step is retried only for errors that are safe to retry (a provider outage outlasting the
# transport's own retries, while polling): never after Ctrl-C/SIGTERM, a bad key or a bug. That is
# why the step raises RetryRequested itself instead of declaring a RetryPolicy, which would retry
# anything, an interrupt included.
OUTAGE_RETRIES = 2
OUTAGE_WAIT_S = 30


# Each answer again as JSON, for the next provider's planning: what is built from the attempts
# (report, contacts) reads their typed columns, so this one it does not read at all.
HEAVY = ("result_json",)


def attempts_table_name(provider: str) -> str:
    return f"attempts_{provider}"


def known_people(store: PipelineStore, day: str) -> list[Known]:
    table = store.warehouse().read_partition("prospects", day)
    if table is None:
        return []
    return [Known.from_prospect(row) for row in table.to_pylist()]


def stored_attempts(store: PipelineStore, providers: Sequence[str], day: str) -> Iterator[Attempt]:
    """Earlier providers' attempts of the day, exactly as their assets recorded them, minus each
    answer's raw payload: planning reads the normalised fields only, and on a large day the raw
    bodies were most of what this held (they stay in the partition and the ledger). Read as they
    are folded, a batch of rows at a time: never the whole day's attempts at once."""
    warehouse = store.warehouse()
    columns = ["result_json", "fields_requested", "outcome", "from_cache"]
    for provider in providers:
        table = warehouse.read_partition(attempts_table_name(provider), day, columns=columns)
        if table is None:
            continue
        for batch in table.to_batches(max_chunksize=2_000):
            for row in batch.to_pylist():
                record = json.loads(row["result_json"])
                record.pop("raw", None)
                yield Attempt(
                    EnrichmentResult.model_validate(record),
                    frozenset(WantedField(f) for f in row["fields_requested"]),
                    Outcome(row["outcome"]),
                    bool(row["from_cache"]),
                )


def attempts_partition(attempts: Sequence[Attempt], day: str) -> pa.Table:
    """The flat attempts table plus what the next provider in the chain needs to continue."""
    table = attempts_table(
        [a.result for a in attempts],
        day=day,
        cache_hits={a.result.person_key for a in attempts if a.from_cache and a.result.person_key},
    )
    extra = {
        "outcome": pa.array([a.outcome.value for a in attempts], pa.string()),
        "fields_requested": pa.array(
            [sorted(f.value for f in a.fields) for a in attempts], pa.list_(pa.string())
        ),
        # The raw payload stays in the ledger only (as attempts_table says): here it would double
        # the file, the next provider's read and what erasure has to scrub.
        "result_json": pa.array(
            [a.result.model_dump_json(exclude={"raw"}) for a in attempts], pa.string()
        ),
    }
    for name, column in extra.items():
        table = table.append_column(name, column)
    return table


PREVIEW_COLUMNS = ["person_key", "outcome", "email", "email_status", "phones", "linkedin", "cached"]
PREVIEW_ROWS = 5


def preview_row(attempt: Attempt) -> dict[str, object]:
    return {
        "person_key": attempt.result.person_key,
        "outcome": attempt.outcome.value,
        "email": attempt.result.email,
        "email_status": attempt.result.email_status,
        "phones": len(attempt.result.phones),
        "linkedin": bool(attempt.result.linkedin),
        "cached": attempt.from_cache,
    }


def run_metadata(
    run: ProviderRun,
    people: int,
    asked: int,
    day_figures: Mapping[str, object],
    preview_rows: Sequence[Mapping[str, object]],
    *,
    full: bool,
) -> dict[str, object]:
    """What this step did, in figures the UI can plot (definitions in the README).

    This run: people_open (people of the day still missing a wanted field when this provider's turn
    came); people_asked (those of them this provider can answer: the plan); new_submissions
    (requests the provider accepted in this run: 0 when everything came from the ledger);
    answered_from_ledger (people answered in full, free, by answers already bought: earlier days',
    or this day's on a re-run); resumed_jobs (people submitted by an earlier run, collected now);
    credits_spent (credits of the answers this run received); jobs_by_webhook (with webhooks on:
    jobs whose answer came by delivery; the other collected jobs were polled).
    The day (`day_figures`, from provider_report's definitions, the same whatever run it is):
    <field>_attempted / _found / _find_rate / _credits / _cache_hits, requests_*, credits.
    """
    outcomes = {f"outcome_{o.value}": run.count(o) for o in Outcome if run.count(o)}
    return figures(
        {
            "people_open": people,
            "people_asked": asked,
            "new_submissions": run.new_submissions,
            "answered_from_ledger": run.cache_hits,
            "resumed_jobs": run.resumed,
            "credits_spent": run.credits_spent,
            "jobs_by_webhook": run.by_webhook,  # None (left out) when results were polled
            **outcomes,
            **day_figures,
            "stopped": run.stopped or None,
            "preview": preview(preview_rows, PREVIEW_COLUMNS, full=full, limit=PREVIEW_ROWS),
        }
    )


class EnrichmentConfig(dg.Config):
    """Run config of one provider asset (everything else comes from ENRICH_* settings)."""

    max_credits: int | None = None  # a cap for this provider in this run, on top of the budgets


def build_enrichment_asset(
    provider: str, earlier: Sequence[str], settings: Settings
) -> dg.AssetsDefinition:
    upstream = [dg.AssetKey("prospects")] + [dg.AssetKey(f"{p}_enrichment") for p in earlier[-1:]]

    @dg.asset(
        name=f"{provider}_enrichment",
        partitions_def=DAILY,
        backfill_policy=ONE_DAY_PER_RUN,
        group_name="enrichment",
        deps=upstream,
        pool=provider,  # one key is never driven by two runs at once (pool limit in dagster.yaml)
        kinds={"python", "parquet"},
        owners=OWNERS,
        required_resource_keys={"store", provider},
        description=(
            f"People still missing a wanted field that {provider} can produce from what is known so "
            f"far ({', '.join(earlier) or 'the prospect row'}), sent in batches; one row per person "
            "and attempt. Answers within the TTL come from the ledger at no cost."
        ),
    )
    def _enrichment(
        context: dg.AssetExecutionContext, config: EnrichmentConfig
    ) -> dg.MaterializeResult:
        day = context.partition_key
        store: PipelineStore = context.resources.store
        prospects = known_people(store, day)
        people = fold_attempts(
            prospects, stored_attempts(store, earlier, day), failover=settings.failover
        )
        # Suppressed people never leave the machine: screened out before planning, at every provider
        # (on the file's data and on what earlier providers found), recorded as skipped_suppressed.
        suppressed = SuppressionList.load(settings.suppression_file).screen([*prospects, *people])
        people = [known for known in people if known.person_key not in suppressed]
        later = settings.provider_order[settings.provider_order.index(provider) + 1 :]
        requests = plan_requests(provider, people, settings.wanted_fields, later)
        context.log.info("%s %s: %d of %d people to ask", provider, day, len(requests), len(people))
        client = getattr(context.resources, provider).get_client()
        ledger = store.ledger()

        def progress(p: PollProgress) -> None:
            # the answers' own credits: they reach the ledger when the wait ends, not before
            credits = "" if p.credits is None else f", {p.credits} credits in the answers so far"
            hooks = "" if p.delivered is None else f", {p.delivered} by webhook"
            window = "" if p.window is None else f" (window {p.window[0]} of {p.window[1]})"
            context.log.info(
                "%s %s: %d/%d jobs done%s%s%s",
                provider,
                day,
                p.done,
                p.total,
                window,
                hooks,
                credits,
            )

        run_record = context.instance.get_run_record_by_id(context.run.run_id)
        started = run_record.create_timestamp if run_record is not None else None
        allowed = allowance(
            settings.budget, provider, ledger, day, started, override=config.max_credits
        )
        if allowed.credits is not None:
            context.log.info(
                "%s %s: %d credits may be spent (%s)",
                provider,
                day,
                allowed.credits,
                allowed.binding,
            )
        warehouse = store.warehouse()
        schema = attempts_partition([], day).schema
        preview_rows: list[dict[str, object]] = []

        try:
            with warehouse.partition_writer(
                attempts_table_name(provider),
                day,
                schema,
                origin=origin(store.mode, client.transport.base_url),  # e.g. live:api.lemlist.com
            ) as append:

                def sink(attempts: Sequence[Attempt]) -> None:
                    """A window's attempts go to the partition file as they are made, not held."""
                    append(attempts_partition(attempts, day))
                    room = PREVIEW_ROWS - len(preview_rows)
                    preview_rows.extend(preview_row(a) for a in attempts[:room])

                run = run_provider(
                    provider,
                    client,
                    ledger,
                    day,
                    requests,
                    RunSettings(
                        ttl=settings.ttl,
                        retry_failed_after=settings.retry_failed_after,
                        batch_max=BATCH_MAX[provider],
                        poll_timeout_s=settings.poll_timeout_s,
                        webhook_url=webhook_url(settings.webhook_url, provider),
                        webhook_grace_s=settings.webhook_grace_s,
                        host=host_of(client.transport.base_url),
                    ),
                    on_progress=progress,
                    budget_credits=allowed.credits,
                    budget_reason=allowed.binding,
                    sink=sink,
                )
                sink(suppressed_attempts(provider, suppressed))
        except ProviderError as exc:
            from enrich_pipeline.providers.errors import AuthenticationError

            if isinstance(exc, AuthenticationError):
                # A refused key fails the step at once, whatever retry policy it may be given:
                # waiting does not fix a key. The message names the variable (never its value).
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            if not exc.retryable:
                raise
            context.log.warning("%s %s: %s; the step will be retried", provider, day, exc)
            raise dg.RetryRequested(
                max_retries=OUTAGE_RETRIES, seconds_to_wait=OUTAGE_WAIT_S
            ) from exc
        finally:
            client.close()
            ledger.close()
        table = warehouse.read_partition(attempts_table_name(provider), day, without=HEAVY)
        assert table is not None  # just written
        context.log.info(
            "%s %s: %d credits spent, %d people answered from the ledger",
            provider,
            day,
            run.credits_spent,
            run.cache_hits,
        )
        day_ledger = store.ledger()
        try:
            day_report = provider_report(
                day_ledger.iter_sent_requests(day, provider),
                table,
                None,
                day=day,
                provider_order=settings.provider_order,
            )
        finally:
            day_ledger.close()
        metadata = run_metadata(
            run,
            len(people),
            len(requests),
            provider_figures(day_report, provider),
            preview_rows,
            full=settings.full_previews,
        )
        if suppressed:
            metadata["suppressed"] = len(suppressed)  # a count only: never who
        return dg.MaterializeResult(
            metadata={**partition_metadata(schema, table.num_rows), **metadata}
        )

    return _enrichment


def build_enrichment_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    order = settings.provider_order
    return [build_enrichment_asset(p, order[:i], settings) for i, p in enumerate(order)]
