"""Matching enrich.so result rows back to the requests they answer.

Rows are matched by their input key first (finder: name + domain; validation: email; phones:
email or LinkedIn URL). Reverse-lookup bulk rows do NOT echo their email (and rows without a
profile are omitted), and finder callbacks may not either, so those are matched on what the profile
shows: URL, name + company, name, the address's local part against the name's spellings, then the
last one left (`_fuzzy`). `correlate` also says which unmatched requests a leftover row might
belong to, so that they are FAILED rather than NOT_FOUND and the waterfall does not pay twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrich_pipeline.identity import linkedin_slug, normalise_email, registrable_domain
from enrich_pipeline.model import LinkedinProfile
from enrich_pipeline.providers.enrichso.parse import (
    Parsed,
    email_domain,
    email_key,
    lead_key,
    linkedin_key,
)


@dataclass(frozen=True)
class Wanted:
    """One request as a batch item: the input keys it may appear under in the results, and what
    else is known about the person (to match rows that do not echo their input)."""

    keys: tuple[str, ...]
    person_key: str | None
    correlation: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    domain: str | None = None
    linkedin_slug: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # kept in the record (e.g. the submission)


def fold(value: str | None) -> str:
    """Comparison form of a name: accents stripped, case-folded, letters and digits only."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", "", bare)


# Latin letters NFKD does not decompose (what an address would spell them as).
_ASCII_EXTRA = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",
    }
)


def _ascii(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", fold((value or "").casefold().translate(_ASCII_EXTRA)))


def _locals(email: str | None) -> list[str]:
    """The local part, and without a trailing number (`ananya.iyer73` → `ananyaiyer`)."""
    if not email or "@" not in email:
        return []
    local = re.sub(r"[^a-z0-9]", "", email.split("@", 1)[0].lower())
    bare = re.sub(r"\d+$", "", local)
    return [x for x in dict.fromkeys((local, bare)) if len(x) >= 2]


def _name_pairs(first: str | None, last: str | None, slug: str | None) -> list[tuple[str, str]]:
    """ASCII (first, last) spellings of a person: from the names, and from the profile slug
    (`lei-liu-4821`), which is how non-Latin names show up in an address."""
    pairs = [(_ascii(first), _ascii(last))]
    # Segments with digits are LinkedIn's disambiguating suffix (`-2bb5d3`), not names.
    segments = [t for t in (slug or "").lower().split("-") if not re.search(r"\d", t)]
    tokens = [t for t in (re.sub(r"[^a-z]", "", t) for t in segments) if t]
    if len(tokens) >= 2:
        pairs += [(tokens[0], tokens[-1]), (tokens[0], "".join(tokens[1:]))]
    return list(dict.fromkeys((f, la) for f, la in pairs if f and la))


@dataclass(frozen=True)
class _Side:
    """What one row or one wanted item shows about the person, to match rows without an input
    key. `spellings` maps each local part the names could have to its strength."""

    email: str | None
    name: str  # folded "first|last", sorted, or ""
    companies: tuple[str, ...]  # folded; a row lists its current employer, then its history
    domain: str | None
    slug: str | None
    spellings: dict[str, float]


def _spellings(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """first.last / lastfirst 3, flast / firstl / lastf 2, bare first name 1, initials 0.5."""
    out: dict[str, float] = {}
    for f, la in pairs:
        shapes = {f + la: 3.0, la + f: 3.0, f[0] + la: 2.0, f + la[0]: 2.0, la + f[0]: 2.0}
        for shape, weight in {**shapes, f: 1.0, f[0] + la[0]: 0.5}.items():
            out[shape] = max(out.get(shape, 0.0), weight)
    return out


def _side(
    email: str | None,
    first: str | None,
    last: str | None,
    companies: Iterable[str | None],
    domain: str | None,
    slug: str | None,
) -> _Side:
    f, la = fold(first), fold(last)
    folded = tuple(dict.fromkeys(c for c in (fold(c) for c in companies) if c))
    name = "|".join(sorted((f, la))) if f and la else ""
    return _Side(email, name, folded, domain, slug, _spellings(_name_pairs(first, last, slug)))


def _row_side(parsed: Parsed) -> _Side:
    record = parsed.record
    profile = record.linkedin or LinkedinProfile()
    # Former employers count too: a stale address at one still finds today's profile.
    companies = [profile.company_name, *(p.company_name for p in profile.positions)]
    slug, domain = linkedin_slug(profile.url), email_domain(record.email)
    return _side(record.email, profile.first_name, profile.last_name, companies, domain, slug)


def _item_side(w: Wanted) -> _Side:
    return _side(w.email, w.first_name, w.last_name, [w.company_name], w.domain, w.linkedin_slug)


Employers = Callable[[str], bool]  # whether a domain label names an employer seen in the batch


def _employer(item: _Side, row: _Side, employers: Employers) -> float:
    """+2 the item's company / address domain is the row's current employer, +1 a former one,
    -2 another employer, 0 nothing to compare (a domain naming no employer in the batch is
    likely personal mail). A namesake at another employer must not take the answer."""
    if item.domain and row.domain:  # a finder callback shows the found address's domain
        return 2.0 if item.domain == row.domain else -2.0
    label = fold((item.domain or "").split(".", 1)[0])
    evidence = item.companies[0] if item.companies else label
    if len(evidence) < 3 or not row.companies:
        return 0.0
    fits = [evidence in c or c in evidence for c in row.companies]
    if any(fits):
        return 2.0 if fits[0] else 1.0
    return -2.0 if item.companies or employers(label) else 0.0


def _score(item: _Side, row: _Side, employers: Employers) -> float | None:
    """How well a row fits an item; None when they are evidently different people."""
    if item.slug and row.slug:
        return 10.0 if item.slug == row.slug else None
    if item.name and row.name:
        if item.name == row.name:
            return 6.0 + _employer(item, row, employers)
        if item.name.isascii() and row.name.isascii():
            return None
        # One name is in another script (强 李 / Qiang Li): not evidence of a different person;
        # compare the address with the spellings (the profile slug romanises the name).
    address, named = (item, row) if item.email and row.spellings else (row, item)
    if not (address.email and named.spellings):
        return 0.0  # nothing to compare either way
    spelled = max((named.spellings.get(x, -1.0) for x in _locals(address.email)), default=-1.0)
    return None if spelled < 0 else spelled + _employer(item, row, employers)


class _Candidates:
    """Index of items by what a row could be matched on (addresses, spellings, names)."""

    def __init__(self, items: dict[str, _Side], employers: Employers) -> None:
        self.items = items
        self.employers = employers
        self.index: dict[str, set[str]] = {}
        self.loose: set[str] = set()  # items with neither an address nor a name
        for key, item in items.items():
            tags = [f"a:{x}" for x in _locals(item.email)] + [f"b:{x}" for x in item.spellings]
            tags += [f"n:{item.name}"] * bool(item.name) + [f"s:{item.slug}"] * bool(item.slug)
            for tag in tags:
                self.index.setdefault(tag, set()).add(key)
            if not tags:
                self.loose.add(key)

    def scores(self, row: _Side) -> list[tuple[float, str]]:
        tags = [f"a:{x}" for x in row.spellings] + [f"b:{x}" for x in _locals(row.email)]
        tags += [f"n:{row.name}"] * bool(row.name) + [f"s:{row.slug}"] * bool(row.slug)
        keys = set(self.items) if not tags else set(self.loose)
        for tag in tags:
            keys |= self.index.get(tag, set())
        scored = ((_score(self.items[k], row, self.employers), k) for k in keys if k in self.items)
        return sorted(((sc, k) for sc, k in scored if sc is not None), reverse=True)


PROOF = 8.0  # a shared profile URL, or the same name at the current employer
PLAUSIBLE = 2.5  # e.g. first.last@ at a personal domain, a bare first name at the current employer
DOUBT = 0.0  # below this a leftover row is not thought to be an unmatched item's


def _employers(rows: Iterable[_Side]) -> Employers:
    seen = {c for row in rows for c in row.companies if len(c) >= 3}
    cache: dict[str, bool] = {}

    def names_one(label: str) -> bool:
        if label not in cache:
            cache[label] = len(label) >= 3 and any(label in c or c in label for c in seen)
        return cache[label]

    return names_one


def _fuzzy(
    items: dict[str, _Side],
    rows: dict[int, _Side],
    all_known: bool,
    employers: Employers,
    eliminate: bool,
) -> dict[str, int]:
    """Pair rows that do not echo their input (reverse-lookup bulk rows, finder callbacks) with
    items: a row goes to its best-scoring item when that item beats every other open item for
    the row, and the row beats every other open row for the item. Without every item of the
    batch at hand only proof pairs: the real owner of a row might be an item we do not see."""
    floor = PLAUSIBLE if all_known else PROOF
    index = _Candidates(items, employers)
    found: dict[str, int] = {}
    ranked = {i: index.scores(row) for i, row in rows.items()}
    best_row: dict[str, list[tuple[float, int]]] = {}
    for i, scored in ranked.items():
        for score, key in scored:
            best_row.setdefault(key, []).append((score, i))
    changed = True
    while changed:
        changed = False
        for i in list(rows):
            scored = [(sc, k) for sc, k in ranked[i] if k in items]
            if (
                not scored
                or scored[0][0] < floor
                or (len(scored) > 1 and scored[1][0] >= scored[0][0])
            ):
                continue
            key = scored[0][1]
            others = [sc for sc, j in best_row[key] if j != i and j in rows]
            if others and max(others) >= scored[0][0]:
                continue
            found[key] = i
            del items[key], rows[i]
            changed = True
    if eliminate and len(items) == 1 and len(rows) == 1:
        (key, item), (i, row) = next(iter(items.items())), next(iter(rows.items()))
        if _score(item, row, employers) is not None:  # the last one left can only be its own
            found[key] = i
    return found


@dataclass
class Correlation:
    matches: dict[int, int]  # wanted index -> row index
    leftovers: list[int]  # rows no wanted item claimed
    ambiguous: set[int]  # unmatched wanted indexes that a leftover row might belong to


def correlate(
    rows: Sequence[Parsed],
    wanted: Sequence[Wanted],
    all_known: bool,
    eliminate: bool | None = None,
) -> Correlation:
    """Rows to wanted items: by input key, then (rows without one) by what the profile shows.
    `all_known`: `wanted` holds every item of the batch (plausible matches are then safe);
    `eliminate` (default: all_known): a last row left over goes to the last item left over."""
    by_key: dict[str, int] = {}
    for i, parsed in enumerate(rows):
        if parsed.key is not None:
            by_key.setdefault(parsed.key, i)
    matches: dict[int, int] = {}
    for wi, w in enumerate(wanted):
        hit = next((by_key[k] for k in w.keys if k in by_key), None)
        if hit is not None:
            matches[wi] = hit
    claimed = set(matches.values())
    open_rows = {i: _row_side(p) for i, p in enumerate(rows) if p.key is None and i not in claimed}
    items: dict[str, _Side] = {}
    for wi, w in enumerate(wanted):
        if wi not in matches and w.keys:
            items.setdefault(w.keys[0], _item_side(w))
    unpaired = dict(items)
    employers = _employers(open_rows.values())
    last_one = all_known if eliminate is None else eliminate
    fuzzy = (
        _fuzzy(unpaired, dict(open_rows), all_known, employers, last_one)
        if open_rows and items
        else {}
    )
    for wi, w in enumerate(wanted):
        if wi not in matches and w.keys and w.keys[0] in fuzzy:
            matches[wi] = fuzzy[w.keys[0]]
    claimed = set(matches.values())
    leftovers = [i for i in range(len(rows)) if i not in claimed]
    index = _Candidates(unpaired, employers)
    doubtful = {
        key
        for i in leftovers
        if i in open_rows
        for score, key in index.scores(open_rows[i])
        if score >= DOUBT
    }
    ambiguous = {
        wi for wi, w in enumerate(wanted) if wi not in matches and w.keys and w.keys[0] in doubtful
    }
    return Correlation(matches, leftovers, ambiguous)


def wanted_from_request(request: Any) -> Wanted:
    """An EnrichmentRequest as it may show up in any product's results (every input key)."""
    domain = registrable_domain(request.company_domain)
    keys = (
        email_key(request.email),
        lead_key(request.first_name, request.last_name, domain),
        linkedin_key(request.linkedin_url),
    )
    return Wanted(
        keys=tuple(k for k in keys if k),
        person_key=request.person_key,
        correlation=request.correlation,
        email=normalise_email(request.email),
        first_name=request.first_name,
        last_name=request.last_name,
        company_name=request.company_name,
        domain=domain or email_domain(request.email),
        linkedin_slug=linkedin_slug(request.linkedin_url),
    )
