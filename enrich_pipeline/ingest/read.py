"""Reading a day's raw prospect files as they are: tolerant CSV, Parquet, column aliases.

Nothing here cleans a value. Every row keeps its source file and row number; a row that cannot be
parsed becomes a *problem* (a dict) and the rest of its file is still read; a file that cannot be
read at all becomes one problem with field "<file>"; one value that cannot be used (larger than
MAX_FIELD_CHARS, or in a Parquet column of the wrong type) becomes a problem with its field's name
and the rest of its row is kept. Nothing here raises for bad input data.

Text encodings: a byte-order mark decides (UTF-8, UTF-16 and UTF-32, as Excel's "Unicode text"
export writes); without one, UTF-8 when the bytes are valid UTF-8, else the encoding
charset-normalizer finds most coherent (Windows-1252 when it reads as well, the code page of
Excel on Western European Windows). The encoding used is recorded per file.

Row numbers (`source_row`) follow the file as a person sees it in an editor: the header line is
row 0, the first data line row 1, so row N is physical line N + 1 (`sed -n "$((N+1))p" FILE`)
when the header is the first line (blank lines above a header are skipped and not counted).
A record whose quoted field spans several lines is numbered by its first line, and blank lines
count as lines. For Parquet, row N is the N-th record (1-based).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

CANONICAL_COLUMNS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "company_name",
    "company_domain",
    "linkedin_url",
    "job_title",
    "country",
    "crm_id",
)
RAW_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, "extra", "source_file", "source_row", "day")
PROBLEM_KEYS: tuple[str, ...] = ("day", "source_file", "source_row", "field", "reason", "raw_value")
FILE_SUFFIXES: frozenset[str] = frozenset({".csv", ".parquet"})
EMPTY_FILE = "empty file"
# A value longer than this is dropped as a field (with a problem), the rest of its row kept: no
# name, address, title or note is this long; a 20 MB cell is a paste gone wrong or an attack.
MAX_FIELD_CHARS = 65_536

# Header spellings seen in CRM, Sales Navigator, event-tool and enrichment-tool exports, compared
# after `header_token` (lower case, no spaces, underscores, hyphens, dots or slashes).
_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first name", "firstname", "first", "given name", "givenname", "forename", "fname",
        "contact first name", "lead first name", "person first name", "prenom", "prénom",
        "vorname", "nombre",
    ),
    "last_name": (
        "last name", "lastname", "last", "surname", "family name", "familyname", "lname",
        "contact last name", "lead last name", "person last name", "nom", "nom de famille",
        "nachname", "apellido", "apellidos",
    ),
    "email": (
        "email", "e-mail", "e mail", "email address", "e-mail address", "mail", "work email",
        "business email", "professional email", "primary email", "contact email", "lead email",
        "person email", "email work", "corporate email", "company email",
    ),
    "company_name": (
        "company", "company name", "account", "account name", "organization", "organisation",
        "organization name", "organisation name", "employer", "current company", "business name",
        "company/account", "firma", "entreprise", "empresa", "société",
    ),
    "company_domain": (
        "company domain", "domain", "website", "company website", "account website",
        "account domain", "website url", "company url", "company website url", "web site",
        "web", "homepage", "company homepage", "organization domain", "organisation domain",
        "organization website", "corporate website", "site web",
    ),
    "linkedin_url": (
        "linkedin url", "linkedin", "linkedin profile", "linkedin profile url", "profile url",
        "linkedin link", "linkedin profile link", "person linkedin url", "contact linkedin url",
        "lead linkedin url", "public profile url", "linkedin public url", "linkedin page",
        "li url", "linkedin member url",
    ),
    "job_title": (
        "job title", "title", "jobtitle", "position", "role", "job role", "job position",
        "current title", "current job title", "designation", "occupation", "job", "titre",
        "poste", "cargo",
    ),
    "country": (
        "country", "country code", "country name", "location country", "country/region",
        "country region", "company country", "person country", "contact country", "pays",
        "land", "país",
    ),
    "crm_id": (
        "record id", "crm id", "id", "lead id", "contact id", "external id", "hubspot id",
        "salesforce id", "sfdc id", "person id", "prospect id", "record", "contact record id",
    ),
}  # fmt: skip

_HEADER_NOISE = re.compile(r"[\s_\-./]+")


def header_token(header: str) -> str:
    """Case-, space-, underscore-, hyphen-, dot- and slash-insensitive form of a column header."""
    return _HEADER_NOISE.sub("", header.replace("\ufeff", "").strip().strip('"').lower())


ALIAS_TABLE: dict[str, str] = {
    header_token(alias): canonical
    for canonical, aliases in _ALIASES.items()
    for alias in (canonical, *aliases)
}


def canonical_column(header: str) -> str | None:
    """The canonical column a header stands for, or None when it is not a known one."""
    return ALIAS_TABLE.get(header_token(header))


@dataclass
class FileRead:
    """One file's columns as read (header order, `None` = no value) and its problems."""

    headers: list[str] = field(default_factory=list)
    columns: list[list[str | None]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # source_row of each record
    problems: list[dict[str, Any]] = field(default_factory=list)
    encoding: str | None = None  # CSV: the text encoding the file was read in


def problem(
    day: str, source_file: str, source_row: int | None, field_name: str, reason: str, raw: Any
) -> dict[str, Any]:
    text = None if raw is None else str(raw)
    if text is not None and len(text) > 1000:
        text = text[:1000] + "…"
    return {
        "day": day,
        "source_file": source_file,
        "source_row": source_row,
        "field": field_name,
        "reason": reason,
        "raw_value": text,
    }


# -- CSV -------------------------------------------------------------------------------------

_MAX_RECORD_LINES = 200  # a quoted field longer than this many lines is taken for a stray quote
_DELIMITERS = (",", ";", "\t", "|")


# (mark, codec that drops it, what the file summary says); UTF-32 first: its LE mark starts
# like UTF-16's.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le (BOM)"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be (BOM)"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8 (BOM)"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le (BOM)"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be (BOM)"),
)
_WIDE = ("utf_16", "utf_32")  # what NUL bytes in a text file without a BOM can mean


def _guess_encoding(data: bytes) -> str | None:
    """The encoding of text that has no BOM and is not UTF-8, or None when it is not text."""
    if b"\x00" in data[:65536]:
        best = from_bytes(data).best()
        return best.encoding if best is not None and best.encoding.startswith(_WIDE) else None
    best = from_bytes(data).best()
    western = from_bytes(data, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos):
        return "cp1252"
    return best.encoding if best is not None else "latin-1"


def _decode(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of a CSV file's bytes, None when they are not text (see the module
    docstring). The BOM is dropped."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None
            return None if "\x00" in text else (text, label)
    if b"\x00" not in data[:65536]:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    encoding = _guess_encoding(data)
    if encoding is None:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text, encoding.replace("_", "-")


_FIELD_LIMIT = threading.Lock()


@contextmanager
def _csv_field_limit(chars: int) -> Iterator[None]:
    """The csv module's field size limit raised to `chars` while one file is parsed (it guards
    memory, and the whole file is in memory already); MAX_FIELD_CHARS then drops oversize values
    as fields. The limit is process-wide: a lock keeps two parses from undoing each other."""
    with _FIELD_LIMIT:
        before = csv.field_size_limit()
        if chars <= before:
            yield
            return
        csv.field_size_limit(chars)
        try:
            yield
        finally:
            csv.field_size_limit(before)


def _physical_lines(text: str) -> list[str]:
    """Lines without their CRLF / LF / CR ending (`str.splitlines` would also split on U+2028
    and friends, which may sit inside a field)."""
    lines = text.replace("\r\n", "\n").split("\n") if "\n" in text else text.split("\r")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _unquoted_count(line: str, char: str) -> int:
    return sum(part.count(char) for part in line.split('"')[::2])


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: _unquoted_count(header_line, d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _parse(lines: Sequence[str], delimiter: str) -> list[str]:
    """Exactly one CSV record from these physical lines; csv.Error when they are not one."""
    records = list(csv.reader([line + "\n" for line in lines], delimiter=delimiter, strict=True))
    if len(records) != 1:
        raise csv.Error(f"{len(records)} records where one was expected")
    return records[0]


def _fit(fields: list[str], width: int) -> list[str] | None:
    """The record at the header's width; trailing empty extra fields (a habit of spreadsheet
    exports) are dropped. None when the count is wrong."""
    if len(fields) == width:
        return fields
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        return fields[:width]
    return None


def read_csv_file(path: Path, source_file: str, day: str) -> FileRead:
    """Every record of a CSV file; each unreadable record is one problem, the others are kept."""
    out = FileRead()
    data = path.read_bytes()
    decoded = _decode(data)
    if decoded is None:
        out.problems.append(
            problem(day, source_file, None, "<file>", "binary content: not a CSV text file", None)
        )
        return out
    text, out.encoding = decoded
    lines = _physical_lines(text)
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        out.problems.append(problem(day, source_file, None, "<file>", EMPTY_FILE, None))
        return out
    delimiter = _sniff_delimiter(lines[start])
    with _csv_field_limit(len(text) + 1):
        try:
            out.headers = _parse([lines[start]], delimiter)
        except csv.Error as error:
            out.problems.append(
                problem(day, source_file, 0, "<file>", f"unreadable header: {error}", lines[start])
            )
            return out
        width = len(out.headers)
        records = _records_in_bulk(lines, start, delimiter, width, out)
        if records is None:
            records = _records_line_by_line(lines, start, delimiter, width, out, day, source_file)
    out.columns = [[r[c] for r in records] for c in range(width)]
    return out


def _records_in_bulk(
    lines: list[str], start: int, delimiter: str, width: int, out: FileRead
) -> list[list[str]] | None:
    """The fast path for the common file: every line one record of the right width. None (and
    nothing recorded) when any line is not, so that the careful path reads the file instead."""
    body = lines[start + 1 :]
    if any(line.count('"') % 2 for line in body):
        return None  # a quoted field may span lines, or a quote is unbalanced
    try:
        parsed = list(csv.reader([line + "\n" for line in body], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    if len(parsed) != len(body):
        return None
    records: list[list[str]] = []
    rows: list[int] = []
    for offset, fields in enumerate(parsed, start=1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line
        fitted = _fit(fields, width)
        if fitted is None:
            return None
        records.append(fitted)
        rows.append(offset)
    out.rows = rows
    return records


def _records_line_by_line(
    lines: list[str],
    start: int,
    delimiter: str,
    width: int,
    out: FileRead,
    day: str,
    source_file: str,
) -> list[list[str]]:
    """Record by record; a record that cannot be read is a problem and reading resumes on the
    physical line after its first one."""
    records: list[list[str]] = []
    i = start + 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fields, used, reason = _read_record(lines, i, delimiter, width)
        row = i - start  # header = row 0
        if fields is None:
            out.problems.append(problem(day, source_file, row, "<row>", reason, line))
            i += 1  # resynchronise on the next physical line
            continue
        records.append(fields)
        out.rows.append(row)
        i += used
    return records


def _attempt(lines: Sequence[str], delimiter: str, width: int) -> tuple[list[str] | None, str]:
    """(fields, "") for a readable record, else (None, why not)."""
    try:
        fields = _parse(lines, delimiter)
    except csv.Error as error:
        return None, f"broken quoting: {error}"
    fitted = _fit(fields, width)
    if fitted is None:
        return None, f"wrong field count: expected {width}, found {len(fields)}"
    return fitted, ""


def _closing_line(lines: list[str], i: int) -> int | None:
    """The end (exclusive) of the lines that balance the odd quote count of line i, if near."""
    odd = True
    end = i + 1
    while end < len(lines) and end - i < _MAX_RECORD_LINES:
        odd ^= lines[end].count('"') % 2 == 1
        end += 1
        if not odd:
            return end
    return None


def _read_record(
    lines: list[str], i: int, delimiter: str, width: int
) -> tuple[list[str] | None, int, str]:
    """(fields, physical lines used, reason when unreadable) for the record starting at line i.
    On failure only line i is given up: the caller resynchronises on line i + 1."""
    fields, reason = _attempt(lines[i : i + 1], delimiter, width)
    if fields is not None or lines[i].count('"') % 2 == 0:
        return fields, 1, reason
    # An odd number of quotes: a quoted field may legitimately go on over the next lines.
    end = _closing_line(lines, i)
    if end is None:
        return None, 1, "unbalanced quote: a quoted field is never closed"
    fields, reason = _attempt(lines[i:end], delimiter, width)
    if fields is None:
        return None, 1, f"unbalanced quote: no well-formed record closes it ({reason})"
    return fields, end - i, ""


# -- Parquet ---------------------------------------------------------------------------------


# Columns that may hold numbers (a CRM's numeric record id); every other known column holds text.
_INTEGER_COLUMNS = frozenset({"crm_id"})


def _text_type(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _text_type(kind.value_type)
    return (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_null(kind)
    )


def _as_strings(column: pa.ChunkedArray) -> list[str | None]:
    if not pa.types.is_string(column.type):
        try:
            column = column.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in column.to_pylist()
            ]
    return column.to_pylist()


def _typed_column(
    column: pa.ChunkedArray, header: str, out: FileRead, source_file: str, day: str
) -> list[str | None]:
    """A Parquet column as strings. A known column of the wrong type (numbers where names belong)
    keeps no value: each value it holds is a problem naming the column's type."""
    values = _as_strings(column)
    target = canonical_column(header)
    kind = column.type
    if target is None or _text_type(kind):
        return values
    if target in _INTEGER_COLUMNS and pa.types.is_integer(kind):
        return values
    kind_text = str(kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return column.cast(pa.string()).to_pylist()  # bytes that are UTF-8 text
        except pa.ArrowInvalid:
            kind_text += " (not UTF-8 text)"
    expected = "text or integer" if target in _INTEGER_COLUMNS else "text"
    reason = (
        f"expected {expected}, Parquet column {header!r} is {kind_text}: value dropped "
        "(write the column as text in the export)"
    )
    for row, value in zip(out.rows, values, strict=True):
        if value is not None:
            out.problems.append(problem(day, source_file, row, target, reason, value))
    return [None] * len(values)


def read_parquet_file(path: Path, source_file: str, day: str) -> FileRead:
    out = FileRead()
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        out.problems.append(
            problem(day, source_file, None, "<file>", f"unreadable Parquet: {error}", None)
        )
        return out
    out.headers = [str(name) for name in table.column_names]
    out.rows = list(range(1, table.num_rows + 1))
    out.columns = [
        _typed_column(table.column(i), out.headers[i], out, source_file, day)
        for i in range(table.num_columns)
    ]
    return out


# -- to a frame ------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def file_frame(read: FileRead, source_file: str, day: str) -> pd.DataFrame | None:
    """The file's rows under canonical column names (see RAW_COLUMNS). Several headers meaning the
    same column are coalesced in header order (first non-blank wins) and also kept in `extra`."""
    targets = [canonical_column(h) for h in read.headers]
    if read.headers and not any(targets):
        read.problems.append(
            problem(
                day,
                source_file,
                0,
                "<file>",
                "no known column in the header (is the header missing?)",
                ",".join(read.headers),
            )
        )
        return None
    _drop_oversize(read, targets, source_file, day)
    n = len(read.rows)
    data: dict[str, list[str | None]] = {}
    extra_columns: list[tuple[str, list[str | None]]] = []
    for index, (header, target, values) in enumerate(
        zip(read.headers, targets, read.columns, strict=True)
    ):
        if target is None or target in data:
            extra_columns.append((header.strip() or f"column_{index + 1}", values))
        if target is None:
            continue
        if target in data:
            data[target] = [
                a if not _blank(a) else b for a, b in zip(data[target], values, strict=True)
            ]
        else:
            data[target] = values
    frame = pd.DataFrame(
        {col: data.get(col, [None] * n) for col in CANONICAL_COLUMNS}, dtype=object
    )
    frame["extra"] = _extra_json(extra_columns, n)
    frame["source_file"] = source_file
    frame["source_row"] = pd.Series(read.rows, dtype="int64")
    frame["day"] = day
    return frame


def _drop_oversize(read: FileRead, targets: list[str | None], source_file: str, day: str) -> None:
    """Each value longer than MAX_FIELD_CHARS becomes a problem naming its field, and None."""
    for index, values in enumerate(read.columns):
        if max(map(len, filter(None, values)), default=0) <= MAX_FIELD_CHARS:
            continue
        name = targets[index] or read.headers[index].strip() or f"column_{index + 1}"
        for i, value in enumerate(values):
            if value is not None and len(value) > MAX_FIELD_CHARS:
                reason = (
                    f"field too large: {len(value):,} characters (the limit is "
                    f"{MAX_FIELD_CHARS:,}): value dropped, the rest of the row is kept"
                )
                read.problems.append(problem(day, source_file, read.rows[i], name, reason, value))
                values[i] = None


def _extra_json(columns: list[tuple[str, list[str | None]]], n: int) -> list[str | None]:
    if not columns:
        return [None] * n
    names = [name for name, _ in columns]
    return [
        json.dumps(dict(zip(names, values, strict=True)), ensure_ascii=False)
        for values in zip(*(vals for _, vals in columns), strict=True)
    ]
