"""Ingestion: a day's raw prospect files → `raw_prospects` → `prospects` + `prospect_rejects`.

Plain functions on pandas DataFrames, no Dagster. The steps:

* `read_raw_day` reads every CSV/Parquet file of a day folder as is (strings, no cleaning) under
  canonical column names (tolerant alias table, see `ingest_read`), with `source_file`,
  `source_row` and `day`; what the input makes unreadable (a file, a row, or one field: too
  large, a Parquet column of the wrong type) becomes a problem naming file, row and field. Only
  errors the input can cause are caught: a bug of ours fails the step.
* `normalise` drops values that start a spreadsheet formula and look-alike domains
  (`ingest_guards`), cleans each field (`ingest_fields`), computes `identity.person_key`, rejects rows
  that identify nobody, drops single bad fields with a reject row each, and merges the rows of
  the day that describe the same person (`ingest_merge`).
* `merge_with_earlier` marks the people already seen on earlier days.

Every raw row ends up in exactly one place: a prospect (first row of its person), a duplicate
merged into one, or a reject with severity "rejected". So, per day:
rows read = len(prospects) + prospects.duplicates.sum() + rejected rows.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from enrich_pipeline.identity import person_key
from enrich_pipeline.ingest.fields import (
    as_objects,
    as_text,
    clean_text,
    company_domains,
    country_case,
    domains_from_emails,
    emails,
    linkedin_urls,
    map_unique,
    name_case,
)
from enrich_pipeline.ingest.guards import formula_reason
from enrich_pipeline.ingest.merge import merge_people
from enrich_pipeline.ingest.read import (
    CANONICAL_COLUMNS,
    EMPTY_FILE,
    FILE_SUFFIXES,
    PROBLEM_KEYS,
    RAW_COLUMNS,
    FileRead,
    file_frame,
    problem,
    read_csv_file,
    read_parquet_file,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "PROSPECT_COLUMNS",
    "RAW_COLUMNS",
    "REJECT_COLUMNS",
    "FileSummary",
    "IngestedDay",
    "Normalised",
    "RawDay",
    "day_files",
    "ingest_day",
    "merge_with_earlier",
    "normalise",
    "problems_as_rejects",
    "read_raw_day",
]

PROSPECT_COLUMNS: tuple[str, ...] = (
    "person_key",
    *CANONICAL_COLUMNS,
    "source_file",
    "source_row",
    "day",
    "duplicates",
    "sources",
)
REJECT_COLUMNS: tuple[str, ...] = (*PROBLEM_KEYS, "severity")
REJECTED, FIELD_DROPPED, UNREADABLE = "rejected", "field_dropped", "unreadable"


@dataclass
class FileSummary:
    """What became of one file of the day: for the day's metadata (rows per file, empty files)."""

    source_file: str
    rows: int = 0  # rows read (kept in raw_prospects)
    problems: int = 0  # unreadable rows, dropped fields and file problems
    encoding: str | None = None  # CSV: the text encoding it was read in
    status: str = "read"  # read | empty (no data rows) | unreadable | not read (not CSV/Parquet)


@dataclass
class RawDay:
    frame: pd.DataFrame  # RAW_COLUMNS, one row per readable source row
    problems: list[dict[str, Any]] = field(default_factory=list)  # PROBLEM_KEYS each
    files: list[FileSummary] = field(default_factory=list)  # every file of the day folder


@dataclass
class Normalised:
    prospects: pd.DataFrame  # PROSPECT_COLUMNS, one row per person of the day
    rejects: pd.DataFrame  # REJECT_COLUMNS


@dataclass
class IngestedDay:
    raw: RawDay
    prospects: pd.DataFrame
    rejects: pd.DataFrame  # unreadable rows/files first, then normalise's rejects


# -- reading ---------------------------------------------------------------------------------


def day_files(day_dir: Path) -> list[Path]:
    """The day's *.csv and *.parquet files (any case of suffix), sorted by name."""
    if not day_dir.is_dir():
        return []
    return sorted(p for p in day_dir.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)


def _stray_files(day_dir: Path) -> list[Path]:
    """Files in the day folder that are neither CSV nor Parquet (hidden files aside)."""
    if not day_dir.is_dir():
        return []
    return sorted(
        p
        for p in day_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in FILE_SUFFIXES
    )


# What the input can do to a file read: vanish or be unreadable on disk (OSError), or defeat a
# parser that our readers do not already turn into problems. Anything else is a bug of ours and
# fails the step.
_INPUT_ERRORS = (OSError, UnicodeError, csv.Error, pa.ArrowInvalid, pa.ArrowNotImplementedError)


def _file_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"cannot read the file: {error.strerror}"
    return f"cannot read the file: {type(error).__name__}: {error}"


def read_raw_day(day_dir: Path, *, day: str) -> RawDay:
    """Every row of every file of the day, as read. `source_file` is relative to the raw root
    (the parent of `day_dir`), e.g. "2026-11-05/event_signups.csv"."""
    day_dir = Path(day_dir)
    frames: list[pd.DataFrame] = []
    problems: list[dict[str, Any]] = []
    files: list[FileSummary] = []
    for path in _stray_files(day_dir):
        name = path.relative_to(day_dir.parent).as_posix()
        problems.append(problem(day, name, None, "<file>", "not a CSV or Parquet file", None))
        files.append(FileSummary(name, problems=1, status="not read"))
    for path in day_files(day_dir):
        name = path.relative_to(day_dir.parent).as_posix()
        try:
            if path.suffix.lower() == ".parquet":
                read = read_parquet_file(path, name, day)
            else:
                read = read_csv_file(path, name, day)
            frame = file_frame(read, name, day)
        except _INPUT_ERRORS as error:  # unreadable input is a problem row; a bug fails the step
            problems.append(problem(day, name, None, "<file>", _file_error(error), None))
            files.append(FileSummary(name, problems=1, status="unreadable"))
            continue
        problems.extend(read.problems)
        rows = len(frame) if frame is not None else 0
        files.append(
            FileSummary(name, rows, len(read.problems), read.encoding, _status(read, rows))
        )
        if frame is not None and len(frame):
            frames.append(frame)
    if frames:
        frame = pd.concat(frames, ignore_index=True)
    else:
        frame = pd.DataFrame({col: pd.Series(dtype=object) for col in RAW_COLUMNS})
    frame = as_text(frame, tuple(c for c in RAW_COLUMNS if c != "source_row"))
    return RawDay(frame.astype({"source_row": "int64"}), problems, files)


def _status(read: FileRead, rows: int) -> str:
    if any(p["field"] == "<file>" and p["reason"] != EMPTY_FILE for p in read.problems):
        return "unreadable"
    return "read" if rows else "empty"


def problems_as_rejects(problems: list[dict[str, Any]]) -> pd.DataFrame:
    """`read_raw_day` problems as reject rows: severity "unreadable" for a file or row that could
    not be read, "field_dropped" for one value dropped from a row that was read (too large, a
    Parquet column of the wrong type)."""
    frame = pd.DataFrame(problems, columns=list(PROBLEM_KEYS))
    whole = frame["field"].isin(["<file>", "<row>"])
    frame["severity"] = whole.map({True: UNREADABLE, False: FIELD_DROPPED}).astype(object)
    return _combined_rejects([frame])


# -- normalising -----------------------------------------------------------------------------


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    if name in raw.columns:
        return as_objects(raw[name])
    return pd.Series([None] * len(raw), index=raw.index, dtype=object)


def _field_rejects(raw: pd.DataFrame, field_name: str, reason: pd.Series, day: str) -> pd.DataFrame:
    dropped = reason.notna()
    return pd.DataFrame(
        {
            "day": day,
            "source_file": raw.loc[dropped, "source_file"],
            "source_row": raw.loc[dropped, "source_row"],
            "field": field_name,
            "reason": reason[dropped],
            "raw_value": _column(raw, field_name)[dropped],
            "severity": FIELD_DROPPED,
        }
    )


def _why_nobody(clean: pd.DataFrame, dropped: dict[str, pd.Series]) -> list[str]:
    """For each row of `clean`: why it identifies nobody, in words a person can act on."""

    def state(name: str) -> list[str]:
        invalid = dropped[name].loc[clean.index].notna()
        return ["invalid" if bad else "missing" for bad in invalid]

    def gone(name: str, label: str) -> list[str | None]:
        """What is lacking of a name-or-domain field, None when it is there."""
        bad = dropped[name].loc[clean.index].notna()
        return [
            None if present else f"{label} (invalid)" if invalid else label
            for present, invalid in zip(clean[name].notna(), bad, strict=True)
        ]

    reasons = []
    for li, em, *parts in zip(
        state("linkedin_url"),
        state("email"),
        gone("first_name", "first name"),
        gone("last_name", "last name"),
        gone("company_domain", "company domain"),
        strict=True,
    ):
        lacking = [part for part in parts if part]
        reasons.append(
            f"no usable identity: LinkedIn URL {li}, email {em}, and no first name + last name"
            f" + company domain (lacking {', '.join(lacking)})"
        )
    return reasons


def _rejected_rows(
    raw: pd.DataFrame, clean: pd.DataFrame, dropped: dict[str, pd.Series], day: str
) -> pd.DataFrame:
    nobody = clean["person_key"].isna()
    shown = raw.loc[nobody, [c for c in CANONICAL_COLUMNS if c in raw.columns]]
    raw_values = [
        json.dumps(
            {k: v for k, v in record.items() if isinstance(v, str) and v.strip()},
            ensure_ascii=False,
        )
        for record in shown.to_dict("records")
    ]
    return pd.DataFrame(
        {
            "day": day,
            "source_file": raw.loc[nobody, "source_file"],
            "source_row": raw.loc[nobody, "source_row"],
            "field": "<row>",
            "reason": _why_nobody(clean[nobody], dropped),
            "raw_value": raw_values,
            "severity": REJECTED,
        },
        index=raw.index[nobody],
    )


def _person_keys(clean: pd.DataFrame) -> pd.Series:
    """identity.person_key of each row, computed once per distinct identity."""
    columns = [clean[name] for name in _IDENTITY_FIELDS]
    known: dict[tuple[str | None, ...], str | None] = {}
    keys = []
    for values in zip(*columns, strict=True):
        if values not in known:
            known[values] = person_key(**dict(zip(_IDENTITY_FIELDS, values, strict=True)))
        keys.append(known[values])
    return pd.Series(keys, index=clean.index, dtype=object)


_IDENTITY_FIELDS = ("linkedin_url", "email", "first_name", "last_name", "company_domain")


def _formula_free(text: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """For each field, the reason each value that starts a spreadsheet formula is dropped (None
    elsewhere); those values are removed from `text` in place, so no later step sees them."""
    reasons = {}
    for name, values in text.items():
        reason = map_unique(values, formula_reason)
        text[name] = values.where(reason.isna(), None)
        reasons[name] = reason
    return reasons


def clean_fields(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Cleaned canonical columns + person_key (object dtype, None = missing), and for each
    canonical field the reason it was dropped from each row (None = kept or absent). A value
    that starts a spreadsheet formula is dropped from every field (`guards.formula_reason`)."""
    text = {name: clean_text(_column(raw, name)) for name in CANONICAL_COLUMNS}
    dropped = _formula_free(text)
    email, email_reason = emails(text["email"])
    domain, domain_reason = company_domains(text["company_domain"])
    inferred = domains_from_emails(email, text["company_name"])
    linkedin, linkedin_reason = linkedin_urls(text["linkedin_url"])
    columns = {
        "first_name": name_case(text["first_name"], surname=False),
        "last_name": name_case(text["last_name"], surname=True),
        "email": email,
        "company_name": text["company_name"],
        "company_domain": domain.where(domain.notna(), inferred),
        "linkedin_url": linkedin,
        "job_title": text["job_title"],
        "country": map_unique(text["country"], country_case),
        "crm_id": text["crm_id"],
    }
    clean = pd.DataFrame({name: as_objects(col) for name, col in columns.items()}, dtype=object)
    clean["person_key"] = _person_keys(clean)
    for name, reason in (
        ("email", email_reason),
        ("company_domain", domain_reason),
        ("linkedin_url", linkedin_reason),
    ):
        dropped[name] = as_objects(dropped[name].where(dropped[name].notna(), reason))
    return clean, dropped


def normalise(raw: pd.DataFrame, *, day: str) -> Normalised:
    """Clean, key, reject and merge one day's raw rows (see the module docstring). `raw` has
    RAW_COLUMNS (as from `read_raw_day`, or read back from its Parquet); a missing column is
    taken as empty, so an empty frame without columns gives empty results."""
    raw = raw.reset_index(drop=True)
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raw = raw.assign(**dict.fromkeys(missing))
    clean, dropped = clean_fields(raw)
    rejects = [_field_rejects(raw, name, reason, day) for name, reason in dropped.items()]
    rejects.append(_rejected_rows(raw, clean, dropped, day))
    keyed = clean["person_key"].notna()
    rows = clean[keyed].copy()
    rows["source_file"] = as_objects(raw.loc[keyed, "source_file"])
    rows["source_row"] = raw.loc[keyed, "source_row"].astype("int64")
    prospects = merge_people(rows) if len(rows) else _empty_prospects()
    prospects["day"] = day
    prospects = as_text(prospects[list(PROSPECT_COLUMNS)], _PROSPECT_TEXT)
    return Normalised(prospects.astype(_PROSPECT_INTS), _combined_rejects(rejects))


_PROSPECT_TEXT = tuple(c for c in PROSPECT_COLUMNS if c not in ("source_row", "duplicates"))
_PROSPECT_INTS = {"source_row": "int64", "duplicates": "int64"}
_REJECT_TEXT = tuple(c for c in REJECT_COLUMNS if c != "source_row")


def _empty_prospects() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype=object) for col in PROSPECT_COLUMNS})


def _combined_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One reject frame; rows in raw row order (then field order as listed) when indexed by it."""
    parts = [p for p in parts if len(p)]
    if parts:
        frame = pd.concat(parts)
        frame = frame.iloc[frame.index.argsort(kind="stable")].reset_index(drop=True)
    else:
        frame = pd.DataFrame({col: pd.Series(dtype=object) for col in REJECT_COLUMNS})
    frame["source_row"] = frame["source_row"].astype("Int64")  # a file problem has no row
    return as_text(frame[list(REJECT_COLUMNS)].copy(), _REJECT_TEXT)


def merge_with_earlier(today: pd.DataFrame, earlier_keys: set[str]) -> pd.DataFrame:
    """`today` with a boolean `seen_before`: whether its person_key appeared on an earlier day."""
    out = today.copy()
    out["seen_before"] = out["person_key"].isin(earlier_keys).astype(bool)
    return out


def ingest_day(day_dir: Path, *, day: str) -> IngestedDay:
    """read_raw_day + normalise, with the unreadable rows and files first among the rejects."""
    raw = read_raw_day(day_dir, day=day)
    result = normalise(raw.frame, day=day)
    unreadable = problems_as_rejects(raw.problems)
    rejects = (
        pd.concat([unreadable, result.rejects], ignore_index=True)
        if len(unreadable)
        else result.rejects
    )
    return IngestedDay(raw, result.prospects, rejects)
