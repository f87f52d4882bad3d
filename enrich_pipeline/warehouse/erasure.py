"""Erasure: remove one person from the ledger and from every warehouse table, and say so in an audit.

`forget(email=..., linkedin_url=...)` works in four steps:

1. **Find the person.** Their person keys: `em:<email>` and `li:/in/<slug>` of what was given, the
   key of every row whose identity values (an email column, a LinkedIn URL, a found email, ...)
   *are* that email or profile, and of every ledger answer that names them in its answer (not in
   its raw payload). Each key found brings its own identifiers (an `li:` key its slug, an `em:` key
   its address, a prospect row its name-and-domain key), until nothing new turns up.
2. **Rewrite the warehouse.** Every partition of every table folder that holds them is rewritten
   (atomically, `Warehouse.write_partition`) without their rows: rows of their person keys, and in
   tables without a person key (raw_prospects, raw_problems, prospect_rejects) the rows read from
   their source rows or carrying their identifiers. Mentions left in other rows (an email inside
   another person's raw payload) are redacted to "[erased]". Then the DuckDB views are refreshed.
3. **Clean the ledger**, in one transaction: their submissions and results are deleted; other rows
   whose payloads mention them (an enrich.so batch page stored with another person's answer) are
   redacted: the page's record about them is replaced by "[erased]", loose values too. The audit
   row goes into `erasures` (who asked, when, how much was removed; never whom). The SQLite file is
   then compacted so that no deleted byte survives in free pages or in the write-ahead log.
4. **Report raw files.** The user's own prospect files are not ours to edit: every file under the
   raw folder that still holds the person is listed, so that the user can remove them there (and
   put them on the suppression list, so that a re-run never sends them to a provider again).

Redaction never prints or stores the identifiers it looks for; the report holds counts only.
Not covered: copies outside the pipeline's folders (Dagster's run history keeps the small metadata
previews of earlier materialisations; backups; exports).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from enrich_pipeline.identity import (
    linkedin_slug,
    name_domain_key,
    normalise_email,
    registrable_domain,
)
from enrich_pipeline.model import EnrichmentResult
from enrich_pipeline.spend.ledger import Ledger
from enrich_pipeline.spend.ledger_erasure import Erasure, LedgerRow
from enrich_pipeline.warehouse.storage import Warehouse

ERASED = "[erased]"
MAX_ROUNDS = 10  # finding the person's keys converges in two or three rounds
_NAME_COLUMNS = ("first_name", "last_name", "company_domain")
_SOURCE_COLUMNS = ("source_file", "source_row")


class ErasureError(ValueError):
    """The request cannot be carried out as given (no identifier, or not a valid one)."""


@dataclass
class Person:
    """What identifies the person being erased. Grows while they are being found."""

    emails: set[str] = field(default_factory=set)
    slugs: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    sources: set[tuple[str, int]] = field(default_factory=set)  # raw (file, row) they came from
    stored: set[str] = field(default_factory=set)  # the keys actually found in stored rows

    @classmethod
    def of(cls, email: str | None, linkedin_url: str | None) -> Person:
        person = cls()
        if email is not None:
            address = normalise_email(email)
            if not address or "@" not in address:
                raise ErasureError(f"--email {email!r} is not an email address")
            person.add_key(f"em:{address}")
        if linkedin_url is not None:
            slug = _slug(linkedin_url)
            if not slug:
                raise ErasureError(
                    f"--linkedin-url {linkedin_url!r} is not a LinkedIn profile URL "
                    "(expected https://www.linkedin.com/in/<name>)"
                )
            person.add_key(f"li:/in/{slug}")
        if not person.keys:
            raise ErasureError("give --email or --linkedin-url (or both) of the person to forget")
        return person

    def add_key(self, key: str | None) -> bool:
        """Adds a person key and the identifier it is made of; True when it was new."""
        if not key or key in self.keys:
            return False
        self.keys.add(key)
        if key.startswith("li:/in/"):
            self.slugs.add(key.removeprefix("li:/in/"))
        elif key.startswith("em:"):
            self.emails.add(key.removeprefix("em:"))
        return True


class Matcher:
    """Recognises a person's identifiers in text: `identifies` when a value *is* one of them (a
    cell holding their email or profile URL, any spelling), `mentions` when it appears anywhere."""

    def __init__(self, person: Person) -> None:
        self.emails = frozenset(person.emails)
        self.slugs = frozenset(person.slugs)
        self.keys = frozenset(person.keys)
        slug_forms = {form for slug in self.slugs for form in _slug_forms(slug)}
        patterns = [rf"(?<![\w.%+-]){re.escape(e)}(?![\w-]|\.\w)" for e in sorted(self.emails)]
        patterns += [
            rf"/in/{re.escape(form)}(?=$|[/?#\s\"'&,;<>)\]}}|\\])" for form in sorted(slug_forms)
        ]
        patterns += [re.escape(k) for k in sorted(self.keys) if k.startswith("nd:")]
        self._pattern = re.compile("|".join(patterns)) if patterns else None
        plain = {*self.emails, *slug_forms, *(k for k in self.keys if k.startswith("nd:"))}
        # Substrings for cheap pre-filters (lower case; JSON-escaped spellings too).
        self.needles = sorted(plain | {json.dumps(n)[1:-1] for n in plain})

    def identifies(self, value: str) -> bool:
        text = value.strip().lower()
        if not text:
            return False
        if text in self.keys:
            return True
        if "@" in text:
            return normalise_email(text.removeprefix("mailto:").strip("<>")) in self.emails
        if text.strip("/") in self.slugs:
            return True
        return "linkedin" in text and " " not in text and _slug(text) in self.slugs

    def mentions(self, value: str) -> bool:
        if self.identifies(value):
            return True
        return self._pattern is not None and self._pattern.search(value.lower()) is not None


def _slug(text: str) -> str | None:
    try:
        return linkedin_slug(text)
    except ValueError:  # not a URL at all (urlsplit refuses e.g. an unbalanced "[")
        return None


def _slug_forms(slug: str) -> set[str]:
    return {slug, quote(slug, safe="").lower(), quote(slug, safe="-_.~%").lower()}


# ---------------------------------------------------------------------------------- redaction


def redact_text(text: str, matcher: Matcher) -> str:
    """`text` without the person: a JSON payload keeps its shape with their records and values
    replaced by "[erased]"; plain text that mentions them becomes "[erased]"."""
    if not matcher.mentions(text):
        return text
    if text.lstrip()[:1] in ("{", "["):
        try:
            payload = json.loads(text)
        except ValueError:
            return ERASED
        redacted = _redact(payload, matcher, records=True)
        if _is_result(payload):
            try:
                EnrichmentResult.model_validate(redacted)
            except ValidationError:  # a typed field lost its shape: redact values only
                redacted = _redact(payload, matcher, records=False)
        return json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
    return ERASED


def _is_result(payload: Any) -> bool:
    return isinstance(payload, dict) and "record_status" in payload and "provider" in payload


def _redact(value: Any, matcher: Matcher, *, records: bool) -> Any:
    """Strings that mention the person become "[erased]", keys that mention them are dropped, and
    (with `records`) a list item that is a record about them (e.g. their row of a batch page) is
    replaced whole — the innermost such item, so the page's other rows stay."""
    if isinstance(value, str):
        return ERASED if matcher.mentions(value) else value
    if isinstance(value, dict):
        return {
            k: _redact(v, matcher, records=records)
            for k, v in value.items()
            if not (isinstance(k, str) and matcher.mentions(k))
        }
    if isinstance(value, list):
        out = []
        for item in value:
            whole = (
                records
                and isinstance(item, dict | list)
                and _mentions_deep(item, matcher)
                and not _record_inside(item, matcher)
            )
            out.append(ERASED if whole else _redact(item, matcher, records=records))
        return out
    return value


def _mentions_deep(value: Any, matcher: Matcher) -> bool:
    return any(matcher.mentions(text) for text in _strings(value, keys=True))


def _record_inside(value: Any, matcher: Matcher) -> bool:
    """Whether a list nested in `value` holds a container item that mentions the person."""
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if isinstance(child, list):
            if any(isinstance(i, dict | list) and _mentions_deep(i, matcher) for i in child):
                return True
            if any(_record_inside(i, matcher) for i in child if isinstance(i, dict | list)):
                return True
        elif isinstance(child, dict) and _record_inside(child, matcher):
            return True
    return False


def _strings(value: Any, *, keys: bool = False) -> Iterator[str]:
    """Every string inside a JSON-like value (dict keys too with `keys`)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if keys and isinstance(k, str):
                yield k
            yield from _strings(v, keys=keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, keys=keys)


def _plain_strings(row: Mapping[str, Any], *, parse_json: bool) -> Iterator[str]:
    """A row's string values; JSON text is either parsed (`parse_json`) or skipped (a payload)."""
    for text in _strings(dict(row)):
        if text.lstrip()[:1] in ("{", "["):
            if parse_json:
                try:
                    yield from _strings(json.loads(text))
                except ValueError:
                    yield text
            continue
        yield text


# ---------------------------------------------------------------------------- finding the person


def _name_key(row: Mapping[str, Any]) -> str | None:
    first, last, domain = (row.get(c) for c in _NAME_COLUMNS)
    if not (isinstance(first, str) and isinstance(last, str) and isinstance(domain, str)):
        return None
    registrable = registrable_domain(domain)
    if not (first.strip() and last.strip() and registrable):
        return None
    return name_domain_key(first, last, registrable)


def _row_sources(row: Mapping[str, Any]) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    if isinstance(row.get("source_file"), str) and isinstance(row.get("source_row"), int):
        found.add((row["source_file"], row["source_row"]))
    try:
        labels = json.loads(row["sources"]) if isinstance(row.get("sources"), str) else []
    except ValueError:
        labels = []
    for label in labels if isinstance(labels, list) else []:
        file, _, number = str(label).rpartition(":")
        if file and number.isdigit():
            found.add((file, int(number)))
    return found


def _partitions(warehouse: Warehouse) -> Iterator[tuple[str, str]]:
    for table in warehouse.tables():
        for day in warehouse.days(table):
            yield table, day


def _may_hold(table: pa.Table, person: Person, matcher: Matcher) -> bool:
    """Cheap columnar pre-filter: False only when no row of `table` can be theirs or mention them."""
    names = set(table.column_names)
    if "person_key" in names and person.keys:
        hits = pc.is_in(table["person_key"], value_set=pa.array(sorted(person.keys), pa.string()))
        if pc.any(hits).as_py():
            return True
    elif person.sources and set(_SOURCE_COLUMNS) <= names:
        files = pa.array(sorted({file for file, _ in person.sources}), pa.string())
        if pc.any(pc.is_in(pc.cast(table["source_file"], pa.string()), value_set=files)).as_py():
            return True
    name_keys = any(k.startswith("nd:") for k in person.keys)
    if name_keys and "person_key" not in names and set(_NAME_COLUMNS) <= names:
        return True  # name-and-domain keys are computed row by row
    for column in table.columns:
        for chunk in column.chunks:
            for strings in _leaf_arrays(chunk):
                lowered = pc.utf8_lower(pc.cast(strings, pa.large_string()))
                for needle in matcher.needles:
                    if pc.any(pc.match_substring(lowered, needle)).as_py():
                        return True
    return False


def _leaf_arrays(array: pa.Array) -> Iterator[pa.Array]:
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield array
    elif pa.types.is_struct(kind):
        for index in range(kind.num_fields):
            yield from _leaf_arrays(array.field(index))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _leaf_arrays(array.flatten())
    elif pa.types.is_dictionary(kind):
        yield from _leaf_arrays(array.dictionary)


def _is_theirs(row: Mapping[str, Any], person: Person, matcher: Matcher) -> bool:
    """A row about the person: of one of their keys, or (in a table without person keys) read from
    one of their source rows, or carrying one of their identifiers as a value."""
    if "person_key" in row:
        return row["person_key"] in person.keys
    if (row.get("source_file"), row.get("source_row")) in person.sources:
        return True
    if _name_key(row) in person.keys:
        return True
    return any(matcher.identifies(text) for text in _plain_strings(row, parse_json=True))


def find_person(person: Person, ledger: Ledger, warehouse: Warehouse) -> Person:
    """Grows `person` to every key, identifier and source row that belongs to them (step 1)."""
    for _ in range(MAX_ROUNDS):
        before = (len(person.keys), len(person.sources))
        matcher = Matcher(person)
        for table_name, day in _partitions(warehouse):
            table = warehouse.read_partition(table_name, day)
            if table is None or "person_key" not in table.column_names:
                continue
            if not _may_hold(table, person, matcher):
                continue
            for row in table.to_pylist():
                key = row["person_key"]
                if key not in person.keys and not any(
                    matcher.identifies(t) for t in _plain_strings(row, parse_json=False)
                ):
                    continue
                person.add_key(key)
                person.add_key(_name_key(row))
                person.stored.add(key)
                person.sources |= _row_sources(row)
        for row in ledger.rows_mentioning(sorted(person.keys), matcher.needles):
            if row.person_key in person.keys or _names_them(row, matcher):
                person.add_key(row.person_key)
                person.stored.add(row.person_key)
        if (len(person.keys), len(person.sources)) == before:
            return person
    return person


def _names_them(row: LedgerRow, matcher: Matcher) -> bool:
    """A ledger row whose request or answer (not its raw payload) is about the person."""
    column = "result_json" if row.table == "results" else "request_json"
    try:
        payload = json.loads(row.texts.get(column) or "{}")
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    answer = {k: v for k, v in payload.items() if k != "raw"}
    return any(matcher.identifies(text) for text in _strings(answer))


# ------------------------------------------------------------------------------- the erasure


@dataclass
class ErasureReport:
    """What `forget` did, in counts (it never holds the identifiers it erased)."""

    erasure: Erasure  # the audit row
    person_keys: int  # distinct person keys found in stored rows and erased
    warehouse_rows_removed: int
    ledger_rows_removed: int
    tables_rewritten: list[str]
    partitions_rewritten: int
    values_redacted: int  # warehouse values redacted in rows that stay
    payloads_redacted: int  # ledger rows redacted in place
    ledger_compacted: bool
    raw_files: dict[str, list[int]]  # raw file -> rows that still hold the person

    @property
    def rows_removed(self) -> int:
        return self.warehouse_rows_removed + self.ledger_rows_removed


@dataclass
class _WarehouseChanges:
    tables: set[str] = field(default_factory=set)
    partitions: int = 0
    rows_removed: int = 0
    values_redacted: int = 0


def forget(
    *,
    email: str | None = None,
    linkedin_url: str | None = None,
    ledger: Ledger,
    warehouse: Warehouse,
    actor: str,
    raw_dir: Path | None = None,
) -> ErasureReport:
    """Removes the person with this email and/or LinkedIn profile from every warehouse table and
    from the ledger, and records the erasure (who, when, counts) in the ledger's `erasures` table.
    Safe to repeat: a second call finds nothing more to remove (and is audited too)."""
    person = find_person(Person.of(email, linkedin_url), ledger, warehouse)
    matcher = Matcher(person)
    changes = _rewrite_warehouse(warehouse, person, matcher)
    if warehouse.root.is_dir():
        warehouse.refresh_views()
    rewrites = []
    for row in ledger.rows_mentioning(sorted(person.keys), matcher.needles):
        if row.person_key in person.keys:
            continue  # deleted whole below
        redacted = {c: redact_text(t, matcher) for c, t in row.texts.items() if t is not None}
        texts = {column: text for column, text in redacted.items() if text != row.texts[column]}
        if texts:
            rewrites.append((row.table, row.id, texts))
    erasure = ledger.erase(
        person_keys=sorted(person.keys),
        rewrites=rewrites,
        requested_by=actor,
        tables_rewritten=len(changes.tables),
        rows_removed=changes.rows_removed,
        payloads_redacted=changes.values_redacted,
    )
    return ErasureReport(
        erasure=erasure,
        person_keys=len(person.stored),
        warehouse_rows_removed=changes.rows_removed,
        ledger_rows_removed=erasure.ledger_rows_removed or 0,
        tables_rewritten=sorted(changes.tables),
        partitions_rewritten=changes.partitions,
        values_redacted=changes.values_redacted,
        payloads_redacted=len(rewrites),
        ledger_compacted=bool(erasure.compacted),
        raw_files=raw_files_holding(raw_dir, person, matcher) if raw_dir else {},
    )


def _rewrite_warehouse(warehouse: Warehouse, person: Person, matcher: Matcher) -> _WarehouseChanges:
    changes = _WarehouseChanges()
    # Unfinished writes of killed steps may hold them too: removed, whatever their age.
    warehouse.sweep_unfinished()
    for table_name, day in _partitions(warehouse):
        table = warehouse.read_partition(table_name, day, with_origin=True)  # kept on rewrite
        if table is None or not _may_hold(table, person, matcher):
            continue
        kept, removed, redacted = [], 0, 0
        for row in table.to_pylist():
            if _is_theirs(row, person, matcher):
                removed += 1
                continue
            clean = {name: _redact_cell(value, matcher) for name, value in row.items()}
            redacted += sum(1 for name in row if clean[name] != row[name])
            kept.append(clean)
        if not removed and not redacted:
            continue
        warehouse.write_partition(table_name, day, pa.Table.from_pylist(kept, schema=table.schema))
        changes.tables.add(table_name)
        changes.partitions += 1
        changes.rows_removed += removed
        changes.values_redacted += redacted
    return changes


def _redact_cell(value: Any, matcher: Matcher) -> Any:
    if isinstance(value, str):
        return redact_text(value, matcher)
    if isinstance(value, dict | list):
        return _redact(value, matcher, records=False)  # typed Arrow values keep their shape
    return value


def raw_files_holding(raw_dir: Path, person: Person, matcher: Matcher) -> dict[str, list[int]]:
    """Raw prospect files (under `raw_dir`) with rows about the person: file -> row numbers."""
    from enrich_pipeline.ingest.prospects import read_raw_day

    found: dict[str, list[int]] = {}
    if not raw_dir.is_dir():
        return found
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir()):
        frame = read_raw_day(folder, day=folder.name).frame
        for row in frame.to_dict("records"):
            clean = {k: (v if isinstance(v, str) else None) for k, v in row.items()}
            clean["source_row"] = int(row["source_row"])
            if _is_theirs(clean, person, matcher) or any(
                matcher.mentions(text) for text in _plain_strings(clean, parse_json=True)
            ):
                path = str(raw_dir / str(row["source_file"]))
                found.setdefault(path, []).append(clean["source_row"])
    return found
