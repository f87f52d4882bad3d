"""EnrichsoClient: submit enrich.so batches, poll them, read their results; single lookups.

A batch is submitted (credits reserved), its status polled until `completed`/`failed`, then every
results page fetched: the first results fetch settles the credits, later fetches are free and
return the same settlement (providers.md 2.3, 2.11). Nothing here is idempotent on the provider's
side: a submit or single lookup that may have reached enrich.so is never retried blindly (the
transport raises SubmitOutcomeUnknownError); status and results reads are retried freely.

Results rows are matched back to requests by their input, or (reverse-lookup bulk rows do NOT
echo their email) by the profile they show — see correlate.py. A profile row that cannot be
attributed is still returned (it was paid for), and a request that a leftover row might belong to
is FAILED, not NOT_FOUND, so the waterfall does not pay twice.

A submit refused as a duplicate (409) is linked to the batch the answer names, else its people
are of unknown outcome (`_duplicate`); it never refuses them.

The client does the HTTP; what it sends is planned in items.py (endpoints and limits in api.py),
and what comes back is read in batches.py (rows: parse.py, costs.py, correlate.py; every results
page: paging.py). One module,
past the usual length, because EnrichsoClient is one class whose methods share its batch memory
(`_finished`, `_known`, `_item_count`); the records it makes of unanswered submissions follow it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, Self

import httpx

from enrich_pipeline.identity import person_key
from enrich_pipeline.model import (
    CostBasis,
    EnrichmentRequest,
    EnrichmentResult,
    RecordStatus,
    Submission,
)
from enrich_pipeline.providers.enrichso.adoption import lost_batches, plan_items, products_needed
from enrich_pipeline.providers.enrichso.api import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    DEFAULT_PLAN,
    SINGLE_PATHS,
    SUBMIT_PATHS,
    conflict_batch_id,
    parse_enrichso_error,
    plan_rate_limits,
)
from enrich_pipeline.providers.enrichso.batches import (
    DONE_STATUSES,
    FAILED_STATUSES,
    BatchView,
    Emit,
    batch_id_of,
    batch_records,
    flatten_payload,
)
from enrich_pipeline.providers.enrichso.correlate import wanted_from_request
from enrich_pipeline.providers.enrichso.costs import single_record
from enrich_pipeline.providers.enrichso.items import (
    _body,
    _chunks,
    _culprit,
    _identity,
    _Item,
    _person,
    _products,
    _wanted,
    plan_item,
    split_ref,
)
from enrich_pipeline.providers.enrichso.paging import Pages, read_pages
from enrich_pipeline.providers.enrichso.parse import (
    PRODUCTS,
    PROVIDER,
    text,
)
from enrich_pipeline.providers.enrichso.webhooks import completed_batches
from enrich_pipeline.providers.errors import (
    BadRequestError,
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitedError,
    SubmitOutcomeUnknownError,
)
from enrich_pipeline.providers.pacing import RateLimit
from enrich_pipeline.providers.polling import (
    ProgressCallback,
    answers_cost,
    poll_until_done,
    wait_for_deliveries,
)
from enrich_pipeline.providers.transport import (
    RetryPolicy,
    SecretAuth,
    Transport,
    TransportClient,
)

__all__ = ["EnrichsoClient", "flatten"]

log = logging.getLogger("enrich_pipeline.providers")

POLL_INTERVAL_S = 5.0  # the docs ask for 5-10 s between status polls
COLLECT_TIMEOUT_S = 3600.0
# Webhooks (ENRICH_WEBHOOK_URL): a batch's completion callback (2.9) says when to read it (one status
# check, which says how it ended, then its results), so its status is not polled meanwhile. Batches with no callback after this much silence (lost, or
# a failed batch that sends none: UNKNOWN) are polled as before, oldest first.
WEBHOOK_GRACE_S = 30.0
DELIVERY_CHECK_S = 0.5
MAX_REFUSED_PER_CHUNK = 25  # 400s naming one bad item: drop it and resubmit, at most this often


# -------------------------------------------------------------------------------------- client


class EnrichsoClient(TransportClient):
    # collect() waits for batch completion callbacks (`deliveries=`) instead of polling status.
    takes_deliveries = True

    def __init__(
        self,
        transport: Transport,
        *,
        speed: float = 1.0,
        batch_max: dict[str, int] | None = None,
        single_lookup_max: int = 1,
    ) -> None:
        self.transport = transport
        self.speed = speed
        self.batch_max = {**BATCH_MAX, **(batch_max or {})}
        # enrich() sends this few requests through the synchronous lookups instead of batches.
        self.single_lookup_max = single_lookup_max
        self._finished: dict[str, BatchView] = {}  # settled batches by ref (results are final)
        self._known: dict[str, dict[tuple[str, str | None, str], Submission]] = {}
        self._item_count: dict[str, int] = {}

    @classmethod
    def create(
        cls,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        plan: str = DEFAULT_PLAN,
        rate_limits: dict[str, list[RateLimit]] | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
        speed: float = 1.0,
        batch_max: dict[str, int] | None = None,
    ) -> Self:
        """A client paced at `plan`'s documented limits; `speed` scales their windows (sandbox)."""

        def add_key(request: httpx.Request) -> None:
            request.headers["x-api-key"] = api_key

        transport = Transport(
            provider=PROVIDER,
            base_url=base_url,
            auth=SecretAuth(add_key),
            credential_id=api_key,
            rate_limits=rate_limits if rate_limits is not None else plan_rate_limits(plan, speed),
            retry=retry if retry is not None else RetryPolicy.for_speed(speed),
            timeout_s=timeout_s,
            error_parser=parse_enrichso_error,
        )
        return cls(transport, speed=speed, batch_max=batch_max)

    # ------------------------------------------------------------------------------- submit

    def submit(
        self, requests: Sequence[EnrichmentRequest], *, webhook_url: str | None = None
    ) -> list[Submission]:
        """One Submission per (request, product) pair. Inputs a product cannot use come back refused
        without an HTTP call; duplicates share one batch item (billed once), as enrich.so would
        dedupe them — done here too so that a duplicate split across chunks is not billed twice.

        A 402 / outcome-unknown / auth failure part-way raises, with the submissions accepted so
        far on the exception as `accepted_submissions` (live batches: record them first)."""
        out, items = plan_items(requests)
        try:
            for product in PRODUCTS:
                for chunk in _chunks(list(items[product].values()), self.batch_max[product]):
                    out.extend(self._submit_chunk(product, chunk, webhook_url))
        except ProviderError as error:
            accepted = [s for s in out if s.error is None]
            error.accepted_submissions = accepted  # type: ignore[attr-defined]
            raise
        return out

    def adopt(
        self,
        requests: Sequence[EnrichmentRequest],
        deliveries: Sequence[Any],
        *,
        known_refs: Collection[str] = (),
    ) -> list[Submission]:
        """Submissions for `requests` whose batch submit answer was lost but whose batch a webhook
        names (providers.md 2.9: each per-result callback carries `job_id` and `result_id`, the
        email or profile URL of the item). A batch not already known to the caller is adopted for
        a product when every result id it reported is one of the items planned for that product,
        or — the finder, whose result id is the found email — when its completion tally counts
        exactly the planned items. Nothing is sent; the batch is then collected (and settled)
        like any other. ASSUMPTION: the callbacks' shapes as documented; a webhook that names no
        job proves nothing, and those people stay unknown."""
        _, items = plan_items(requests)
        batches = lost_batches(items, deliveries, known_refs)
        found: list[Submission] = []
        for product, job_id in batches.items():
            planned = list(items[product].values())
            answer = {"data": {"batchId": job_id, "itemCount": len(planned)}}
            found += self._accepted(product, planned, answer)
        # A person is adopted only when every batch their attempt needed is found: one whose other
        # product was never submitted (the run died first) stays unknown, and the adopted batch's
        # answer about them is kept by the runner as unattributed, not lost.
        needs = products_needed(items)
        return [s for s in found if needs[s.person_key] <= batches.keys()]

    def _submit_chunk(
        self, product: str, chunk: list[_Item], webhook_url: str | None
    ) -> list[Submission]:
        refused: list[Submission] = []
        for _ in range(MAX_REFUSED_PER_CHUNK + 1):
            try:
                status, body = self.transport.request_json(
                    "POST",
                    SUBMIT_PATHS[product],
                    json_body=_body(product, chunk, webhook_url),
                    idempotent=False,
                    bucket="bulk",
                    accept=frozenset({409}),  # a duplicate: read below, never refused
                )
                break
            except BadRequestError as error:
                # Refused as a whole (400 / 404 / 422): nothing was reserved. A 400 naming one
                # item is resubmitted without that item; anything else refuses the chunk.
                culprit = _culprit(product, chunk, error.message) if error.status == 400 else None
                if culprit is None:
                    return refused + self._refuse_all(chunk, str(error))
                bad = chunk.pop(culprit)
                refused += self._refuse_all([bad], str(error))
                if not chunk:
                    return refused
        else:
            return refused + self._refuse_all(chunk, "too many invalid items in this batch")
        if status == 409:
            return refused + self._duplicate(product, chunk, body)
        return refused + self._accepted(product, chunk, body)

    def _duplicate(self, product: str, chunk: list[_Item], problem: Any) -> list[Submission]:
        """409 "Duplicate batch submission detected" (providers.md 2.1, 2.10): enrich.so already
        holds a batch of exactly these items, and this call reserved nothing. Refusing the people
        would send them to the next provider although that batch answers (and bills) them;
        sending them again would hit the same 409, or reserve twice once it ends. So they are
        linked to the batch the 409 names, and polled and settled like a normal submit. A 409
        naming no batch leaves their batch unknown: like a lost submit answer, their outcome is
        unknown (the runner records them `unknown`, for `enrich-pipeline reconcile`)."""
        path = SUBMIT_PATHS[product]
        batch_id = conflict_batch_id(problem)
        if batch_id is None:
            detail = problem.get("detail") if isinstance(problem, dict) else None
            raise SubmitOutcomeUnknownError(
                PROVIDER,
                f"POST {path}: 409 {detail if isinstance(detail, str) else 'Conflict'}; the "
                f"answer names no batch, so the batch holding these {len(chunk)} items is unknown",
                status=409,
                code="conflict",
                hint="do not resubmit: an identical batch was accepted earlier (credits reserved);"
                " find it in GET /wallets/transactions or its webhooks, then reconcile",
            )
        log.warning("enrichso: %s submit is a duplicate (409) of batch %s", product, batch_id)
        linked = {"data": {"batchId": batch_id, "itemCount": len(chunk)}, "conflict": problem}
        return self._accepted(product, chunk, linked)

    def _refuse_all(self, chunk: Sequence[_Item], reason: str) -> list[Submission]:
        return [
            Submission.refused(r, PROVIDER, reason, {"input": item.payload})
            for item in chunk
            for r in item.requests
        ]

    def _accepted(self, product: str, chunk: Sequence[_Item], body: Any) -> list[Submission]:
        data = body.get("data") if isinstance(body, dict) else None
        batch_id = batch_id_of(data) if isinstance(data, dict) else None
        if batch_id is None:
            raise SubmitOutcomeUnknownError(
                PROVIDER,
                f"POST {SUBMIT_PATHS[product]}: 200 without a batchId ({str(body)[:120]})",
                hint="credits may be reserved; check GET /wallets/transactions before resubmitting",
            )
        ref = f"{product}:{batch_id}"
        count = data.get("itemCount") if isinstance(data.get("itemCount"), int) else len(chunk)
        self._item_count[ref] = count
        log.info("enrichso: %s batch %s accepted with %d items", product, batch_id, count)
        out = []
        for item in chunk:
            for request in item.requests:
                raw = {
                    "product": product,
                    "batchId": batch_id,
                    "key": item.key,
                    "input": item.payload,
                    "itemCount": count,
                    "person": _person(request),
                    "submit": body,
                }
                submission = Submission(
                    person_key=request.person_key,
                    provider=PROVIDER,
                    provider_ref=ref,
                    correlation=request.correlation,
                    raw=raw,
                )
                self._remember(submission)
                out.append(submission)
        return out

    def _remember(self, submission: Submission) -> None:
        if submission.provider_ref and submission.error is None:
            known = self._known.setdefault(submission.provider_ref, {})
            known.setdefault(_identity(submission), submission)
            count = submission.raw.get("itemCount")
            if isinstance(count, int):
                self._item_count.setdefault(submission.provider_ref, count)

    # --------------------------------------------------------------------------------- poll

    def poll(self, submission: Submission) -> list[EnrichmentResult] | None:
        """This submission's records once its batch is terminal (settling it), else None."""
        if submission.error is not None or not submission.provider_ref:
            return [refused_record(submission)]
        self._remember(submission)
        view = self._outcome(submission.provider_ref)
        if view is None:
            return None
        return self._records(view, [submission], leftovers=False)

    @staticmethod
    def delivery_refs(body: Any) -> list[str]:
        """The batch a completion callback is about; per-item callbacks are not read by collect."""
        return list(completed_batches([body]))

    def collect(
        self,
        submissions: Sequence[Submission],
        *,
        interval_s: float | None = None,
        timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
        deliveries: Callable[[], Sequence[Any]] | None = None,
        grace_s: float | None = None,
    ) -> list[EnrichmentResult]:
        """Poll every batch to its end (status every `interval_s`, default 5 s times speed) and read
        all its results; a batch unfinished after `timeout_s` leaves its records PENDING.

        With `deliveries` (the webhook bodies received since its last call; the batches were
        submitted with a webhookUrl), a batch's results are fetched when its completion callback
        arrives, and only batches still without one after `grace_s` of silence are polled
        (`wait_for_deliveries`). The per-item callbacks are not used as answers: they settle no
        credits (2.9), while the results fetch does and returns the same rows."""
        interval = POLL_INTERVAL_S * self.speed if interval_s is None else interval_s
        timeout = COLLECT_TIMEOUT_S * self.speed if timeout_s is None else timeout_s
        out = [refused_record(s) for s in submissions if s.error is not None or not s.provider_ref]
        groups: dict[str, list[Submission]] = {}
        for submission in submissions:
            if submission.error is None and submission.provider_ref:
                self._remember(submission)
                groups.setdefault(submission.provider_ref, []).append(submission)
        trouble: dict[str, str] = {}

        def poll_once(ref: str) -> BatchView | None:
            try:
                return self._outcome(ref)
            except (ProviderUnavailableError, RateLimitedError) as error:
                trouble[ref] = str(error)  # an outage is not an answer: try again next round
                return None

        def cost_of(ref: str, view: BatchView) -> int:
            return answers_cost(ref, self._records(view, groups[ref], leftovers=True))

        if deliveries is None:
            finished, _ = poll_until_done(
                PROVIDER,
                groups,
                poll_once,
                interval_s=interval,
                timeout_s=timeout,
                on_progress=on_progress,
                cost_of=cost_of,
            )
        else:
            announced: dict[str, float] = {}  # batches said to be over, not read yet: last look

            def completed() -> dict[str, BatchView]:
                """Batches a completion callback announced, read now. One the API does not show
                as over yet (or a 429/503 on the read) is looked at again every `interval`."""
                now = time.monotonic()
                for ref in completed_batches(deliveries()):
                    if ref in groups:
                        announced.setdefault(ref, now - interval)
                done = {}
                for ref, looked in list(announced.items()):
                    if now - looked < interval:
                        continue
                    if (view := poll_once(ref)) is None:
                        announced[ref] = now
                    else:
                        done[ref] = view
                        del announced[ref]
                return done

            finished, _ = wait_for_deliveries(
                PROVIDER,
                groups,
                completed,
                poll_once,
                grace_s=WEBHOOK_GRACE_S * self.speed if grace_s is None else grace_s,
                timeout_s=timeout,
                check_every_s=max(DELIVERY_CHECK_S * self.speed, 0.002),
                on_progress=on_progress,
                cost_of=cost_of,
            )
        for ref, group in groups.items():
            view = finished.get(ref)
            if view is None:
                note = f"; last error: {trouble[ref]}" if ref in trouble else ""
                reason = f"enrich.so batch still running after {timeout:g}s{note}"
                out.extend(pending_record(s, reason) for s in group)
            else:
                out.extend(self._records(view, group, leftovers=True))
        return out

    def enrich(
        self,
        requests: Sequence[EnrichmentRequest],
        *,
        webhook_url: str | None = None,
        **collect_kw: Any,
    ) -> list[EnrichmentResult]:
        """Submit and collect. A handful of requests (≤ single_lookup_max) and no webhook go
        through the synchronous lookups instead: same price, no batch to wait for."""
        if webhook_url is None and 0 < len(requests) <= self.single_lookup_max:
            return [record for request in requests for record in self.lookup(request)]
        return self.collect(self.submit(requests, webhook_url=webhook_url), **collect_kw)

    def credits_remaining(self) -> int | None:
        _, body = self.transport.request_json("GET", "/wallets/balance", idempotent=True)
        data = body.get("data") if isinstance(body, dict) else None
        balance = data.get("balance") if isinstance(data, dict) else None
        return balance if isinstance(balance, int) and not isinstance(balance, bool) else None

    def _records(
        self, view: BatchView, group: Sequence[Submission], *, leftovers: bool
    ) -> list[EnrichmentResult]:
        """Records for `group`, correlated against every submission known for the batch (so that
        elimination and duplicate billing see the whole batch)."""
        ref = view.ref or ""
        known = list(self._known.get(ref, {}).values())
        all_known = len({_identity(s)[2] for s in known}) >= self._item_count.get(ref, 1 << 62)
        asked = {_identity(s) for s in group}
        report = {i for i, s in enumerate(known) if _identity(s) in asked}
        # Rows nobody can claim are returned once everything the batch held is known (paid for).
        emit = Emit(missing=True, keyed_leftovers=False, unkeyed_leftovers=leftovers and all_known)
        wanted = [_wanted(s) for s in known]
        return batch_records(view, wanted, emit, all_known=all_known, report=report)

    def _outcome(self, ref: str) -> BatchView | None:
        """The settled batch, or None while it runs. Status polls and results pages are free and
        idempotent; the first results fetch after a terminal status settles the credits."""
        if ref in self._finished:
            return self._finished[ref]
        product, batch_id = split_ref(ref)
        path = f"{SUBMIT_PATHS[product]}/{batch_id}"
        status, body = self.transport.request_json(
            "GET", path, idempotent=True, accept=frozenset({404})
        )
        if status == 404:  # unknown to enrich.so (or another organisation's): nothing to wait for
            view = BatchView(product, batch_id, "failed", [], {}, complete=True)
            view.meta = {"error": "enrich.so does not know this batch (404)", "body": body}
            self._finished[ref] = view
            return view
        data = body.get("data") if isinstance(body, dict) else None
        state = text(data.get("status")) if isinstance(data, dict) else None
        if state is None:
            raise MalformedResponseError(
                PROVIDER, f"GET {path}: no data.status in {str(body)[:120]}", status=status
            )
        if state.lower() not in DONE_STATUSES | FAILED_STATUSES:
            return None
        total = data.get("totalItems") if isinstance(data.get("totalItems"), int) else None
        read = self._results(product, path, total)
        meta = {**read.meta, "pages": read.pages}
        view = BatchView(product, batch_id, state, read.rows, meta, complete=True)
        if read.short is not None and not view.failed:
            # Every row the server would give, yet fewer than its counts: nobody missing from
            # them is declared not found (batches._missing), and a later poll reads again.
            log.warning("enrichso: batch %s results read short: %s", ref, read.short)
            meta["incomplete"] = read.short
            return view
        self._finished[ref] = view
        return view

    def _results(self, product: str, path: str, total: int | None) -> Pages:
        """Every results page (paging.py: until the rows cover the counts, or an empty or short
        page). The first page's meta is the settlement receipt (creditsUsed / creditsRefunded)."""

        def fetch(page: int, limit: int) -> Any:
            params = {"page": page, "limit": limit}
            _, body = self.transport.request_json(
                "GET", f"{path}/results", params=params, idempotent=True
            )
            return body

        return read_pages(fetch, product, total, f"{path}/results")

    # ------------------------------------------------------------------------ single lookups

    def _single(
        self, product: str, *, json_body: Any = None, params: Any = None
    ) -> EnrichmentResult:
        """One synchronous paid lookup: billed at once, so never retried once it may have been
        sent (SubmitOutcomeUnknownError); `meta.creditsUsed` is the receipt."""
        method = "GET" if product == "phones" else "POST"
        _, body = self.transport.request_json(
            method,
            SINGLE_PATHS[product],
            json_body=json_body,
            params=params,
            idempotent=False,
            bucket="enrichment",
        )
        return single_record(product, body)

    def validate_email(self, email: str) -> EnrichmentResult:
        record = self._single("validation", json_body={"email": email})
        return _keyed(record, email=email)

    def find_email(self, first_name: str, last_name: str, domain: str) -> EnrichmentResult:
        lead = {"firstName": first_name, "lastName": last_name, "domain": domain}
        record = self._single("finder", json_body=lead)
        return _keyed(record, first_name=first_name, last_name=last_name, company_domain=domain)

    def reverse_lookup(self, email: str) -> EnrichmentResult:
        record = self._single("reverse", json_body={"email": email})
        return _keyed(record, email=email)

    def find_phones(
        self, email: str | None = None, linkedin: str | None = None
    ) -> EnrichmentResult:
        if not email and not linkedin:
            raise ValueError("find_phones needs an email or a LinkedIn URL")
        params = {k: v for k, v in (("email", email), ("linkedin", linkedin)) if v}
        record = self._single("phones", params=params)
        return _keyed(record, linkedin_url=linkedin, email=email)

    def lookup(self, request: EnrichmentRequest) -> list[EnrichmentResult]:
        """Every wanted field of one person through the synchronous lookups, one record each.
        A refused input is a FAILED record; a 402 or an unknown outcome raises."""
        out = []
        for product in _products(request):
            plan = plan_item(product, request)
            if isinstance(plan, str):
                out.append(refused_record(Submission.refused(request, PROVIDER, plan)))
                continue
            try:
                record = self._lookup_one(product, plan[1])
            except BadRequestError as error:
                record = refused_record(Submission.refused(request, PROVIDER, str(error)))
            update = {"person_key": request.person_key, "request_correlation": request.correlation}
            out.append(record.model_copy(update=update))
        return out

    def _lookup_one(self, product: str, payload: Any) -> EnrichmentResult:
        if product == "validation":
            return self.validate_email(payload)
        if product == "reverse":
            return self.reverse_lookup(payload)
        if product == "finder":
            return self.find_email(payload["firstName"], payload["lastName"], payload["domain"])
        kind, value = payload
        return self.find_phones(**{kind: value})


# ------------------------------------------------------------------------------------ records


def _keyed(record: EnrichmentResult, **identity: Any) -> EnrichmentResult:
    """A single lookup's record keyed from its inputs when the payload did not show who it is."""
    if record.person_key is not None:
        return record
    return record.model_copy(update={"person_key": person_key(**identity)})


def refused_record(submission: Submission) -> EnrichmentResult:
    """A submission enrich.so never accepted: FAILED with the reason; nothing was charged."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=submission.correlation,
        record_status=RecordStatus.FAILED,
        reason=submission.error or "submission has no provider reference",
        cost_credits=0,
        cost_basis=CostBasis.TABLE,
        raw={"submission": submission.raw},
    )


def pending_record(submission: Submission, reason: str) -> EnrichmentResult:
    """Still running at the deadline: pending, never not-found (the batch may yet answer)."""
    return EnrichmentResult(
        person_key=submission.person_key,
        provider=PROVIDER,
        provider_ref=submission.provider_ref,
        request_correlation=submission.correlation,
        record_status=RecordStatus.PENDING,
        reason=reason,
        raw={"submission": submission.raw},
    )


def flatten(payload: Any, *, requests: Sequence[EnrichmentRequest] = ()) -> list[EnrichmentResult]:
    """Any enrich.so payload → records: single-lookup responses, results pages, status and submit
    bodies (no records: they say nothing about a person), webhook callbacks (completion events:
    none), or a list of these. `requests` (taken to be the batch's) lend their person_key and
    correlation to the rows that match them; rows nobody asked for keep a key computed from the
    payload. Never raises: an unexpected shape is one FAILED record keeping the payload."""
    return flatten_payload(payload, [wanted_from_request(r) for r in requests])
