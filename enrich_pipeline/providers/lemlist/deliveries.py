"""Webhook deliveries as answers (providers.md 1.7): which of our enrichments a stored delivery
answers, and its record — built exactly as a poll answer is, so a run with webhooks records the
same values and the same credits as a run that polls.

The shape of an `enrichmentDone` / `enrichmentError` body is only partly documented, so this reader
tolerates every shape the doc leaves open:

* the envelope `{"type", "data": [item, …]}` with one or several items (ASSUMPTION (a): the array
  allows batching), `data` as a single object, a bare item `{"id", "data"}`, or a JSON array of any
  of these;
* the event name in any case/punctuation (`enrichmentDone`, `enrichment_done`, …); a body with no
  `type` is read by its item (an `error` makes it an error); other events (a team hook subscribed
  to more than enrichments) are ignored;
* the enrichment id as `id` (DOC), `enrichmentId` or `_id`; with no id at all, the echoed bulk
  `metadata` (ASSUMPTION (b), our person_key, as a string or inside an object) names the person;
* a team hook's `secret` in the body, never kept;
* not-found types omitted or carrying `{"notFound": true}` (ASSUMPTION (c)); `error` as a string
  on `enrichmentError` items (ASSUMPTION (d)), or none (then the event itself is the error).

An id names an enrichment: a delivery whose id we did not submit is someone else's (or a lost
submit's, which the runner adopts separately) and is never attributed by its metadata; one whose id
is ours but whose echoed metadata names someone else is not trusted either (an emulator reset
reuses ids; a forged body) — the straggler poll answers that enrichment instead.

What a record is made of (the union of the two answers): the delivery's `data` for the values —
it carries the email's deliverability `status`, which the documented poll answer (1.6) lacks — and
the submission for who asked and which workflows (what a poll's `input` echo gives). The webhook
carries no `input` echo; nothing in a record depends on it once the submission is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from enrich_pipeline.model import EnrichmentResult, Submission
from enrich_pipeline.providers.lemlist.correlate import _Context, _metadata_candidates
from enrich_pipeline.providers.lemlist.records import finished_result
from enrich_pipeline.providers.lemlist.values import _str

_DONE, _ERROR = "enrichmentdone", "enrichmenterror"


def _event(value: Any) -> str | None:
    text = _str(value)
    return "".join(c for c in text.lower() if c.isalnum()) if text else None


def delivered_items(body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, item) for each enrichment a delivery body reports; event is `enrichmentdone` or
    `enrichmenterror`. Anything else in the body is skipped."""
    if isinstance(body, list):
        for element in body:
            yield from delivered_items(element)
        return
    if not isinstance(body, dict):
        return
    event = _event(body.get("type") or body.get("event"))
    if event is not None and event not in (_DONE, _ERROR):
        return  # another event type (a team hook may subscribe to more)
    if event is None and ("id" in body or "enrichmentId" in body) and "data" in body:
        items: list[Any] = [body]  # a bare item
    else:
        data = body.get("data")
        items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = event or (_ERROR if item.get("error") else _DONE)
        yield kind, item


def item_ref(item: dict[str, Any]) -> str | None:
    return _str(item.get("id")) or _str(item.get("enrichmentId")) or _str(item.get("_id"))


class DeliveryReader:
    """Matches delivery bodies to `submissions` and builds each answered one's record.

    First terminal answer wins: an enrichment already answered (by an earlier delivery, a duplicate,
    or a poll — see `answered`) is not read again, so a duplicate or late delivery changes nothing.
    """

    def __init__(self, submissions: Sequence[Submission]) -> None:
        self.by_ref = {s.provider_ref: s for s in submissions if s.error is None and s.provider_ref}
        self.by_person: dict[str, list[str]] = {}
        for ref, submission in self.by_ref.items():
            self.by_person.setdefault(submission.person_key, []).append(ref)
        self.answered: set[str] = set()

    def read(self, bodies: Iterable[Any]) -> dict[str, list[EnrichmentResult]]:
        """Records of the enrichments these bodies answer for the first time, by enrichment id."""
        out: dict[str, list[EnrichmentResult]] = {}
        for body in bodies:
            for event, item in delivered_items(body):
                ref = self._ref_of(item)
                if ref is None or ref in self.answered:
                    continue
                self.answered.add(ref)
                out[ref] = [self._record(ref, event, item)]
        return out

    def _ref_of(self, item: dict[str, Any]) -> str | None:
        ref = item_ref(item)
        metadata = item.get("metadata")
        if ref is not None:
            submission = self.by_ref.get(ref)
            if submission is None:
                return None
            names = _metadata_candidates(metadata, _str(metadata))
            if names and not {submission.person_key, submission.correlation} & set(names):
                return None  # our enrichment id, someone else's metadata: not trusted as ours
            return ref
        for candidate in _metadata_candidates(metadata, _str(metadata)):
            refs = [r for r in self.by_person.get(candidate, ()) if r not in self.answered]
            if len(refs) == 1:  # only when it names one open enrichment of ours
                return refs[0]
        return None

    def _record(self, ref: str, event: str, item: dict[str, Any]) -> EnrichmentResult:
        item = {k: v for k, v in item.items() if k != "secret"}
        raw = {"type": "enrichmentError" if event == _ERROR else "enrichmentDone", "data": [item]}
        error = _str(item.get("error"))
        if error is None and event == _ERROR:
            error = "enrichment failed (enrichmentError)"
        return finished_result(_Context.of(self.by_ref[ref]), item.get("data"), raw, error=error)
