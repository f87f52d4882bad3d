"""Issue 10, the input half: keep every usable person, say exactly why a row or field is lost.

The files are the committed corpus (`corpus/2026-11-15/`, written by `hostile_corpus.py`); the
20 MB cell is written at test time. Every expectation below is written by hand: the people each
file must give and every reject as (file, row, field, reason substring, severity).
Row numbers: header = row 0, first data line = row 1; Parquet row N = the N-th record.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from enrich_pipeline.defs.prospects import prospects, raw_prospects
from enrich_pipeline.identity import name_domain_key
from enrich_pipeline.ingest import prospects as ingest_prospects
from enrich_pipeline.ingest.fingerprint import FINGERPRINT_KEY
from enrich_pipeline.ingest.guards import csv_safe, formula_reason
from enrich_pipeline.ingest.prospects import IngestedDay, ingest_day, read_raw_day
from enrich_pipeline_tests.ingest.hostile_corpus import (
    CORPUS,
    DAY,
    write_corpus,
    write_oversize_cell,
)
from enrich_pipeline_tests.pipeline_helpers import Pipeline, materialized_metadata

FOLDER = CORPUS / DAY
FORMULA = "like a spreadsheet formula"
LOOKALIKE = "look-alike domain"


@pytest.fixture(scope="module")
def corpus_day() -> IngestedDay:
    return ingest_day(FOLDER, day=DAY)


def _people(day: IngestedDay, name: str) -> pd.DataFrame:
    return day.prospects[day.prospects["source_file"] == f"{DAY}/{name}"]


def _rejects(day: IngestedDay, name: str) -> list[tuple[int | None, str, str, str]]:
    """(row, field, reason, severity) of a file's rejects, sorted by row and field."""
    rows = day.rejects[day.rejects["source_file"] == f"{DAY}/{name}"]
    found = [
        (None if pd.isna(r) else int(r), f, reason, s)
        for r, f, reason, s in zip(
            rows["source_row"], rows["field"], rows["reason"], rows["severity"], strict=True
        )
    ]
    return sorted(found, key=lambda item: (item[0] or 0, item[1]))


def _matches(found: list[tuple], expected: list[tuple]) -> bool:
    """Rows, fields and severities equal; each expected reason a substring of the found one."""
    return len(found) == len(expected) and all(
        (r, f, s) == (er, ef, es) and sub in reason
        for (r, f, reason, s), (er, ef, sub, es) in zip(found, expected, strict=True)
    )


def _values(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in series]


# -- the corpus ------------------------------------------------------------------------------


def test_the_committed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    written = write_corpus(tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in FOLDER.iterdir())
    for path in written:
        if path.suffix == ".parquet":
            assert pq.read_table(path).equals(pq.read_table(FOLDER / path.name)), path.name
        else:
            assert path.read_bytes() == (FOLDER / path.name).read_bytes(), path.name


def test_every_file_of_the_corpus_is_accounted_for(corpus_day: IngestedDay) -> None:
    files = {
        f.source_file.split("/")[1]: (f.rows, f.problems, f.status) for f in corpus_day.raw.files
    }
    assert files == {
        "excel_unicode.csv": (3, 0, "read"),
        "formulas.csv": (6, 0, "read"),
        "header_only.csv": (0, 0, "empty"),
        "lookalikes.csv": (6, 0, "read"),
        "utf32_bom.csv": (1, 0, "read"),
        "windows_1252.csv": (2, 0, "read"),
        "wrong_types.parquet": (3, 4, "read"),
    }
    severity = corpus_day.rejects["severity"].value_counts().to_dict()
    assert severity == {"field_dropped": 13, "rejected": 3}
    # rows read = people + duplicates merged + rejected rows
    assert len(corpus_day.raw.frame) == 21
    assert len(corpus_day.prospects) == 17
    assert int(corpus_day.prospects["duplicates"].sum()) == 1


# -- encodings -------------------------------------------------------------------------------


def test_excels_unicode_text_export_keeps_its_three_people(corpus_day: IngestedDay) -> None:
    people = _people(corpus_day, "excel_unicode.csv")
    assert people["first_name"].tolist() == ["Zoë", "Łucja", "Aiko"]
    assert people["last_name"].tolist() == ["Marrowfield", "Brennholt", "田辺"]
    assert people["job_title"].tolist() == ["Head of Data", "CFO", "エンジニア"]
    assert people["person_key"].tolist() == [
        "em:zoe.marrowfield@quillbank.io",
        "em:l.brennholt@quillbank.io",
        "em:aiko@tanpopo-works.jp",
    ]
    assert _rejects(corpus_day, "excel_unicode.csv") == []
    encodings = {f.source_file: f.encoding for f in corpus_day.raw.files}
    assert encodings[f"{DAY}/excel_unicode.csv"] == "utf-16-le (BOM)"
    assert encodings[f"{DAY}/utf32_bom.csv"] == "utf-32-le (BOM)"
    assert encodings[f"{DAY}/windows_1252.csv"] == "cp1252"
    assert _people(corpus_day, "utf32_bom.csv")["email"].tolist() == ["yara.voss@quillbank.io"]


def test_windows_1252_without_a_bom_keeps_its_accents(corpus_day: IngestedDay) -> None:
    people = _people(corpus_day, "windows_1252.csv")
    assert people["first_name"].tolist() == ["Élodie", "Søren"]
    assert people["last_name"].tolist() == ["Crèvecœur", "Ågesen"]
    assert people["company_name"].tolist() == ["Verrerie Crèvecœur", "Fjordkant ApS"]


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
    ],
)
def test_every_unicode_bom_is_read(tmp_path: Path, bom: bytes, codec: str) -> None:
    folder = tmp_path / DAY
    folder.mkdir()
    text = "First Name\tLast Name\tEmail\r\nZoë\tMarrowfield\tzoe@quillbank.io\r\n"
    (folder / "export.csv").write_bytes(bom + text.encode(codec))
    day = ingest_day(folder, day=DAY)
    assert day.raw.problems == []
    assert day.prospects[["first_name", "last_name", "email"]].values.tolist() == [
        ["Zoë", "Marrowfield", "zoe@quillbank.io"]
    ]
    assert day.raw.files[0].encoding == f"{codec} (BOM)"


def test_binary_content_is_still_one_file_problem(tmp_path: Path) -> None:
    folder = tmp_path / DAY
    folder.mkdir()
    (folder / "archive.csv").write_bytes(b"PK\x03\x04\x00\x00\x14\x00binary zip \x00\x01\x02")
    raw = read_raw_day(folder, day=DAY)
    assert [(p["field"], p["reason"]) for p in raw.problems] == [
        ("<file>", "binary content: not a CSV text file")
    ]
    assert raw.files[0].status == "unreadable"


# -- a 20 MB cell ----------------------------------------------------------------------------


def test_a_20_mb_cell_is_dropped_as_a_field_and_its_person_kept(tmp_path: Path) -> None:
    write_oversize_cell(tmp_path / DAY)
    day = ingest_day(tmp_path / DAY, day=DAY)
    assert day.prospects["email"].tolist() == [
        "ines.calder@brindlewood.io",
        "omar.pike@brindlewood.io",
        "uma.reed@brindlewood.io",
    ]
    assert _values(day.prospects["job_title"]) == ["CEO", None, "CFO"]
    assert day.prospects["source_row"].tolist() == [1, 2, 4]  # the big cell spans two lines
    found = [
        (int(r), f, reason, s)
        for r, f, reason, s in day.rejects[["source_row", "field", "reason", "severity"]].values
    ]
    assert _matches(
        found,
        [(2, "job_title", "field too large: 20,971,520 characters", "field_dropped")],
    )
    assert "field larger than field limit" not in found[0][2]
    assert len(day.rejects["raw_value"].iloc[0]) <= 1001  # the reject keeps only its start
    assert '"notes": "call back"' in day.raw.frame["extra"].iloc[1]  # the rest of the row


# -- formulas --------------------------------------------------------------------------------


def test_formula_cells_are_dropped_fields_never_prospect_values(corpus_day: IngestedDay) -> None:
    people = _people(corpus_day, "formulas.csv")
    assert people["person_key"].tolist() == [
        "em:ivo.marsh@quillfeather.io",
        "em:rhea.tamsin@quillfeather.io",
        "li:/in/mina-okonkwo-x1",
        "em:tobi.reyes@quillfeather.io",
        "em:lena.frost@quillfeather.io",
    ]
    assert _values(people["first_name"]) == [None, "Rhea", "Mina", "Tobi", "Lena"]
    assert _values(people["company_name"]) == ["Quillfeather", None, None, None, None]
    assert _values(people["job_title"]) == ["CTO", None, None, None, "COO"]
    assert _values(people["linkedin_url"])[3] is None
    assert _values(people["crm_id"]) == ["Q-1", "Q-2", "Q-4", "Q-5", None]
    for column in people.columns:
        for value in _values(people[column]):
            assert not (isinstance(value, str) and value[:1] in "=+-@\t\r"), (column, value)
    assert _matches(
        _rejects(corpus_day, "formulas.csv"),
        [
            (1, "first_name", "starts with '=' " + FORMULA, "field_dropped"),
            (2, "company_name", "starts with '+' " + FORMULA, "field_dropped"),
            (3, "<row>", "lacking last name (invalid)", "rejected"),
            (3, "last_name", "starts with '@' " + FORMULA, "field_dropped"),
            (4, "job_title", "starts with '-' " + FORMULA, "field_dropped"),
            (5, "linkedin_url", "starts with '=' " + FORMULA, "field_dropped"),
            (6, "crm_id", "starts with '=' " + FORMULA, "field_dropped"),
        ],
    )
    raw_values = corpus_day.rejects.set_index(["source_file", "source_row", "field"])["raw_value"]
    assert raw_values[f"{DAY}/formulas.csv", 6, "crm_id"] == "\t=1+2"  # kept as data, as given


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x.invalid")', '\'=HYPERLINK("http://x.invalid")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada", "Ada"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (42, 42),
    ],
)
def test_csv_safe_prefixes_a_single_quote_to_formula_cells(value: object, safe: object) -> None:
    assert csv_safe(value) == safe
    if isinstance(value, str):
        assert (formula_reason(value) is not None) == (safe != value)


# -- look-alike and internationalised domains ------------------------------------------------


def test_lookalike_domains_are_flagged_and_unicode_domains_have_one_form(
    corpus_day: IngestedDay,
) -> None:
    assert _matches(
        _rejects(corpus_day, "lookalikes.csv"),
        [
            (1, "<row>", "lacking company domain (invalid)", "rejected"),
            (1, "company_domain", LOOKALIKE + ": the label 'quill\u0430ank' mixes Cyrillic and Latin", "field_dropped"),
            (2, "email", LOOKALIKE + ": the label 'qu\u0456llbank' mixes Cyrillic and Latin", "field_dropped"),
            (6, "company_domain", "written in Cyrillic letters that all look Latin", "field_dropped"),
        ],
    )  # fmt: skip
    people = _people(corpus_day, "lookalikes.csv")
    assert people["person_key"].tolist() == [
        "li:/in/nia-holt-x2",
        name_domain_key("Greta", "Lindqvist", "bücherwald.de"),
        name_domain_key("Ada", "Kestrel", "zephyrloom.io"),  # ASCII: the key it always had
        "em:ravi.sen@zephyrloom.io",
    ]
    assert _values(people["company_domain"]) == [None, "bücherwald.de", "zephyrloom.io", None]
    greta = people.iloc[1]
    assert (greta["source_row"], greta["duplicates"]) == (3, 1)  # punycode + U-label: one person
    assert _values(people["email"]) == [None, None, None, "ravi.sen@zephyrloom.io"]


# -- Parquet types ---------------------------------------------------------------------------


def test_wrong_typed_parquet_columns_are_field_rejects_naming_the_type(
    corpus_day: IngestedDay,
) -> None:
    assert _matches(
        _rejects(corpus_day, "wrong_types.parquet"),
        [
            (1, "first_name", "expected text, Parquet column 'First name' is double", "field_dropped"),
            (1, "job_title", "expected text, Parquet column 'Title' is int64", "field_dropped"),
            (2, "first_name", "expected text, Parquet column 'First name' is double", "field_dropped"),
            (3, "<row>", "lacking first name, company domain", "rejected"),
            (3, "job_title", "expected text, Parquet column 'Title' is int64", "field_dropped"),
        ],
    )  # fmt: skip
    people = _people(corpus_day, "wrong_types.parquet")
    assert people["email"].tolist() == ["a.okoro@brindlewood.io", "t.vance@brindlewood.io"]
    assert people["first_name"].isna().all()  # never "1" or "1.5"
    assert people["crm_id"].tolist() == ["101", "102"]  # an integer id is fine


# -- header only -----------------------------------------------------------------------------


def test_a_header_only_file_is_an_empty_file_not_a_problem(corpus_day: IngestedDay) -> None:
    assert _people(corpus_day, "header_only.csv").empty
    assert _rejects(corpus_day, "header_only.csv") == []
    summary = next(f for f in corpus_day.raw.files if f.source_file.endswith("header_only.csv"))
    assert (summary.rows, summary.status) == (0, "empty")


# -- what is caught and what is not ----------------------------------------------------------


def test_an_input_error_is_a_file_problem_and_a_bug_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / DAY
    folder.mkdir()
    (folder / "leads.csv").write_text("email\nada@quillbank.io\n")

    def denied(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ingest_prospects, "read_csv_file", denied)
    raw = read_raw_day(folder, day=DAY)
    assert [(p["source_file"], p["field"], p["reason"]) for p in raw.problems] == [
        (f"{DAY}/leads.csv", "<file>", "cannot read the file: Permission denied")
    ]

    def bug(*_: object) -> None:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(ingest_prospects, "read_csv_file", bug)
    with pytest.raises(KeyError):
        read_raw_day(folder, day=DAY)


# -- through the real assets -----------------------------------------------------------------


def test_the_days_metadata_says_what_each_file_gave(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path)
    shutil.copytree(FOLDER, pipeline.raw_dir / DAY)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw_prospects, prospects],
        partition_key=DAY,
        instance=instance,
        resources={"store": pipeline.store()},
    )
    meta = materialized_metadata(result)
    raw = meta["raw_prospects"]
    assert raw["dagster/row_count"] == 21
    assert raw["dagster/column_schema"].columns
    assert raw[FINGERPRINT_KEY]
    assert (raw["files_read"], raw["empty_files"], raw["unreadable_files"]) == (7, 1, 0)
    assert raw["rows/excel_unicode.csv"] == 3 and raw["rows/header_only.csv"] == 0
    assert raw["rows/wrong_types.parquet"] == 3
    assert "| 2026-11-15/header_only.csv | 0 | 0 | utf-8 | empty |" in raw["rows_per_file"]
    assert (
        "| field_dropped | expected text, Parquet column 'First name' is double | 2 |"
        in (raw["problems_by_reason"])
    )
    assert (raw["unreadable_rows"], raw["fields_dropped_on_read"]) == (0, 4)
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING and "header_only.csv" in (entry.user_message or "")
    ]
    assert warnings == [f"{DAY}: {DAY}/header_only.csv has no data rows (a header only, or nothing): 0 people read from it"]  # fmt: skip
    rejects = meta["prospect_rejects"]
    assert (rejects["rejected_rows"], rejects["field_dropped"]) == (3, 13)
    assert f"| field_dropped | starts with '=' {FORMULA} | 3 |" in rejects["rejects_by_reason"]
    assert meta["prospects"]["dagster/row_count"] == 17
    assert "Marrowfield" not in meta["prospects"]["preview"]  # previews stay masked
