"""Every page of a batch's results (providers.md 2.3). No HTTP here: `fetch` does it.

enrich.so documents `page` / `limit` (1-1000, default 100) and no total-pages field; the results
carry counts instead: `processedCount` (validation, finder) or `processedItems` (phones, reverse
lookup) and `totalItems`, and phones and reverse lookup also echo `page`, `limit`, `successful`.
A server that serves fewer rows per page than asked (a cap below 1000) must not end the read
early: rows on unread pages were paid for, and a reverse-lookup email missing from the rows reads
as "no profile" (NOT_FOUND). So a read ends only when

* a page is empty, or
* the rows read cover what the counts say the results hold, or
* no count is given and a page is shorter than the server's page size — the echoed `limit`, else
  the size of a first page that came back shorter than asked (one more page is read to tell a
  cap from a last page: at most one request more than a plain "stop when short" reader).

With counts (always sent, per the docs) a normal server costs no extra request. A read that ends
short of its counts is reported (`Pages.short`), so that nobody is declared not found from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from enrich_pipeline.providers.enrichso.parse import PROVIDER
from enrich_pipeline.providers.errors import MalformedResponseError

RESULTS_LIMIT = 1000  # the largest documented results page
MAX_PAGES = 10_000  # without counts: 500,000 rows (the largest batch) at a cap of 50 rows a page

Fetch = Callable[[int, int], Any]  # (page, limit) -> the results body


@dataclass
class Pages:
    rows: list[Any]
    meta: dict[str, Any]  # the first page's meta: the settlement receipt
    pages: int  # results requests made
    short: str | None = None  # why the rows may be fewer than the results hold, or None


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None


def expected_rows(product: str, data: Mapping[str, Any], status_total: int | None) -> int | None:
    """How many rows the results hold in all, from their counts. Reverse lookup omits emails
    without a profile, so fewer rows than items is normal there: its rows are the `successful`
    items. Every other product has a row per item (phones: misses carry `error`, providers.md 2.7),
    so `processedCount` / `processedItems`, else `totalItems`, else the status's `totalItems`."""
    if product == "reverse":
        return _count(data.get("successful"))
    for name in ("processedCount", "processedItems", "totalItems"):
        found = _count(data.get(name))
        if found is not None:
            return found
    return status_total


def _page(body: Any, where: str) -> tuple[Mapping[str, Any], dict[str, Any], list[Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(results, list):
        raise MalformedResponseError(
            PROVIDER, f"GET {where}: no data.results list in {str(body)[:120]}"
        )
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    return data, meta, results


def read_pages(fetch: Fetch, product: str, status_total: int | None, where: str) -> Pages:
    """Every row of a terminal batch's results, asking `RESULTS_LIMIT` rows a page."""
    out = Pages([], {}, 0)
    size: int | None = None  # rows a page the server serves, once known (echoed or inferred)
    previous: list[Any] | None = None
    expected: int | None = None
    while True:
        out.pages += 1
        data, meta, results = _page(fetch(out.pages, RESULTS_LIMIT), where)
        out.meta = out.meta or meta
        if not results:
            break
        if results == previous:  # the server ignores `page`: nothing more can be read
            out.short = f"page {out.pages} repeats page {out.pages - 1}"
            break
        out.rows.extend(results)
        previous = results
        expected = expected_rows(product, data, status_total)
        size = _count(data.get("limit")) or size
        if expected is not None:
            if len(out.rows) >= expected:
                return out
            continue  # the counts say more: a short page is a capped page, not the last
        if len(results) < (size or RESULTS_LIMIT):
            if size is not None:
                return out
            size = len(results)  # the last page, or the server's cap: one more page tells
        if out.pages >= MAX_PAGES:
            out.short = f"gave up after {MAX_PAGES} pages"
            return out
    if out.short is None and expected is not None and len(out.rows) < expected:
        out.short = f"{len(out.rows)} rows read, the counts say {expected}"
    return out
