"""Ingestion on real files: the committed sample days, and small files written here by hand.

Row numbers: header = row 0, first data line = row 1 (row N is physical line N + 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from enrich_pipeline.identity import person_key
from enrich_pipeline.ingest.fields import fix_name_case
from enrich_pipeline.ingest.prospects import (
    CANONICAL_COLUMNS,
    PROSPECT_COLUMNS,
    RAW_COLUMNS,
    REJECT_COLUMNS,
    day_files,
    ingest_day,
    merge_with_earlier,
    normalise,
    read_raw_day,
)
from enrich_pipeline.ingest.read import canonical_column
from enrich_pipeline.sandbox.prospects import COLUMNS, STYLES, write_prospect_file

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "raw" / "prospects"
SAMPLE_DAYS = sorted(p.name for p in SAMPLE.iterdir() if p.is_dir())
BROKEN_FILE = "2026-11-05/event_signups.csv"

# Measured on the committed sample: (rows read, prospects, duplicates merged, rejected,
# field_dropped, unreadable).
SAMPLE_COUNTS = {
    "2026-11-02": (264, 250, 14, 0, 4, 0),
    "2026-11-03": (268, 266, 2, 0, 7, 0),
    "2026-11-04": (292, 285, 4, 3, 5, 0),
    "2026-11-05": (232, 224, 3, 5, 8, 1),
    "2026-11-06": (314, 312, 2, 0, 5, 0),
    "2026-11-07": (276, 270, 5, 1, 4, 0),
    "2026-11-08": (354, 348, 5, 1, 11, 0),
}


def _raw(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def _value(frame: pd.DataFrame, column: str, index: int = 0) -> str | None:
    value = frame[column].iloc[index]
    return None if pd.isna(value) else value


def _values(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in series]


def _normalised_csv(tmp_path: Path, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    _raw(tmp_path / "2026-12-01" / "leads.csv", text)
    day = ingest_day(tmp_path / "2026-12-01", day="2026-12-01")
    return day.prospects, day.rejects


# -- the sample days -------------------------------------------------------------------------


def test_the_sample_has_seven_days() -> None:
    assert list(SAMPLE_COUNTS) == SAMPLE_DAYS


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_every_sample_day_reads(day: str) -> None:
    raw = read_raw_day(SAMPLE / day, day=day)
    frame = raw.frame
    assert list(frame.columns) == list(RAW_COLUMNS)
    assert len(frame) == SAMPLE_COUNTS[day][0]
    assert set(frame["day"]) == {day}
    assert set(frame["source_file"]) == {f"{day}/{p.name}" for p in day_files(SAMPLE / day)}
    assert frame["source_row"].dtype == "int64"
    for _, rows in frame.groupby("source_file"):
        assert rows["source_row"].tolist() == list(range(1, len(rows) + 1))
    assert (raw.problems != []) == (day == "2026-11-05")


def test_the_broken_quote_row_is_exactly_one_problem_and_the_rest_of_its_file_is_read() -> None:
    raw = read_raw_day(SAMPLE / "2026-11-05", day="2026-11-05")
    assert raw.problems == [
        {
            "day": "2026-11-05",
            "source_file": BROKEN_FILE,
            "source_row": 78,
            "field": "<row>",
            "reason": "unbalanced quote: a quoted field is never closed",
            "raw_value": 'Yetunde,Nnamdi,,Nimbusfield Labs,Nimbusfield-Labs.Io,,"Head of Marketing, EMEA',
        }
    ]
    lines = (SAMPLE / BROKEN_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 78  # header + 77 good rows + the broken one
    rows = raw.frame[raw.frame["source_file"] == BROKEN_FILE]
    assert rows["source_row"].tolist() == list(range(1, 78))
    last = rows.iloc[-1]  # row 77 = physical line 78
    assert lines[77] == (
        "GRACE,EVERETT,everett.grace@mailbox-example.net,QUARRYMILL LEARNING,"
        "Quarrymilllearning.Dev,https://www.linkedin.com/in/grace-everett/,head of sales"
    )
    assert (last["first_name"], last["job_title"]) == ("GRACE", "head of sales")


def test_the_crm_export_bom_and_crlf_do_not_leak_into_names_or_values() -> None:
    path = SAMPLE / "2026-11-04" / "crm_export.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data  # the fixture is what we test
    frame = read_raw_day(SAMPLE / "2026-11-04", day="2026-11-04").frame
    rows = frame[frame["source_file"] == "2026-11-04/crm_export.csv"]
    assert len(rows) == 196
    assert (rows["first_name"] != "").sum() == 152  # "\ufeffFirst Name" was still mapped
    assert rows["crm_id"].str.fullmatch(r"CRM-\d{7}|").all()  # the last column: no "\r" left
    for column in CANONICAL_COLUMNS:
        assert not rows[column].str.contains("\r|\ufeff", regex=True).any()
    first = data.decode("utf-8-sig").split("\r\n")[1].split(",")
    assert rows.iloc[0][list(CANONICAL_COLUMNS)].tolist() == first


def test_parquet_missing_values_are_nulls_and_csv_ones_empty_strings_until_normalised() -> None:
    frame = read_raw_day(SAMPLE / "2026-11-05", day="2026-11-05").frame
    parquet = frame[frame["source_file"] == "2026-11-05/sales_nav_leads.parquet"]
    csv_rows = frame[frame["source_file"] == BROKEN_FILE]
    assert len(parquet) == 155
    assert parquet["email"].isna().sum() > 0 and not (parquet["email"] == "").any()
    assert (csv_rows["email"] == "").sum() > 0 and not csv_rows["email"].isna().any()
    assert csv_rows["country"].isna().all()  # the compact style has no country column
    result = normalise(frame, day="2026-11-05")
    for column in CANONICAL_COLUMNS:
        assert not (result.prospects[column] == "").any()


def test_every_prospect_key_is_identity_person_key_of_its_fields() -> None:
    for day in SAMPLE_DAYS:
        prospects = ingest_day(SAMPLE / day, day=day).prospects
        assert list(prospects.columns) == list(PROSPECT_COLUMNS)
        assert prospects["person_key"].is_unique
        for row in prospects.to_dict("records"):
            fields = {k: (None if pd.isna(v) else v) for k, v in row.items()}
            assert fields["person_key"] == person_key(
                linkedin_url=fields["linkedin_url"],
                email=fields["email"],
                first_name=fields["first_name"],
                last_name=fields["last_name"],
                company_domain=fields["company_domain"],
            )


def test_totals_over_the_seven_sample_days() -> None:
    """rows read = prospects + duplicates merged into them + rejected rows, day by day."""
    totals = [0] * 6
    for day in SAMPLE_DAYS:
        result = ingest_day(SAMPLE / day, day=day)
        severity = result.rejects["severity"].value_counts()
        counts = (
            len(result.raw.frame),
            len(result.prospects),
            int(result.prospects["duplicates"].sum()),
            int(severity.get("rejected", 0)),
            int(severity.get("field_dropped", 0)),
            int(severity.get("unreadable", 0)),
        )
        assert counts == SAMPLE_COUNTS[day], day
        assert counts[0] == counts[1] + counts[2] + counts[3]
        sources = [s for cell in result.prospects["sources"] for s in json.loads(cell)]
        assert len(sources) == counts[1] + counts[2]  # every kept row is listed exactly once
        assert len(set(sources)) == len(sources)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    assert totals == [2000, 1955, 35, 10, 44, 1]


# -- column aliases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("First Name", "first_name"), ("firstname", "first_name"), ("first_name", "first_name"),
        ("FIRST-NAME", "first_name"), ("Given name", "first_name"), ("Last Name", "last_name"),
        ("Surname", "last_name"), ("E-mail", "email"), ("Email address", "email"),
        (" Work Email ", "email"), ("Company", "company_name"), ("Account name", "company_name"),
        ("Organization", "company_name"), ("Website", "company_domain"),
        ("Account website", "company_domain"), ("company domain", "company_domain"),
        ("Domain", "company_domain"), ("LinkedIn URL", "linkedin_url"),
        ("linkedin profile", "linkedin_url"), ("Profile URL", "linkedin_url"),
        ("LinkedIn", "linkedin_url"), ("Title", "job_title"), ("Job Title", "job_title"),
        ("Position", "job_title"), ("Location country", "country"), ("Country/Region", "country"),
        ("Record ID", "crm_id"), ("Lead ID", "crm_id"), ("Contact ID", "crm_id"),
        ("Favourite colour", None), ("Notes", None),
    ],
)  # fmt: skip
def test_alias_table(header: str, canonical: str | None) -> None:
    assert canonical_column(header) == canonical


ROWS = [
    {
        "first_name": "Lina",
        "last_name": "Okafor",
        "email": "lina@northwind.io",
        "company_name": "Northwind",
        "company_domain": "northwind.io",
        "linkedin_url": "https://www.linkedin.com/in/lina-okafor",
        "job_title": "CTO",
        "country": "NG",
        "crm_id": "CRM-0000001",
    },
    dict.fromkeys(COLUMNS, "") | {"email": "sam@acme.dev", "job_title": "VP, Sales"},
]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_maps_to_the_canonical_columns(tmp_path: Path, style: str, suffix: str) -> None:
    write_prospect_file(ROWS, tmp_path / "2026-12-01" / f"leads{suffix}", style=style)
    raw = read_raw_day(tmp_path / "2026-12-01", day="2026-12-01")
    assert raw.problems == []
    frame = raw.frame
    assert frame["source_file"].tolist() == [f"2026-12-01/leads{suffix}"] * 2
    assert frame["source_row"].tolist() == [1, 2]
    assert frame["extra"].isna().all()
    for column in CANONICAL_COLUMNS:
        if column not in STYLES[style]:
            assert frame[column].isna().all(), column
            continue
        expected = [row[column] for row in ROWS]
        if suffix == ".parquet":  # missing values are nulls there
            expected = [v or None for v in expected]
        assert _values(frame[column]) == expected, column


def test_unknown_columns_go_to_extra_and_repeated_aliases_are_coalesced(tmp_path: Path) -> None:
    _raw(
        tmp_path / "2026-12-01" / "mixed.csv",
        "Email,Notes,Work Email,First Name\n,met at booth,ada@acme.dev,Ada\nbo@acme.dev,,x@y.io,Bo\n",
    )
    frame = read_raw_day(tmp_path / "2026-12-01", day="2026-12-01").frame
    assert frame["email"].tolist() == ["ada@acme.dev", "bo@acme.dev"]  # first non-blank wins
    assert [json.loads(e) for e in frame["extra"]] == [
        {"Notes": "met at booth", "Work Email": "ada@acme.dev"},
        {"Notes": "", "Work Email": "x@y.io"},
    ]


def test_semicolon_files_and_cp1252_files_read(tmp_path: Path) -> None:
    _raw(
        tmp_path / "2026-12-01" / "excel.csv",
        "Vorname;Nachname;E-Mail\r\nJürgen;Groß;j.gross@acme.de\r\n",
        encoding="cp1252",
    )
    frame = read_raw_day(tmp_path / "2026-12-01", day="2026-12-01").frame
    assert frame[["first_name", "last_name", "email"]].iloc[0].tolist() == [
        "Jürgen",
        "Groß",
        "j.gross@acme.de",
    ]


# -- broken files and rows -------------------------------------------------------------------


def test_a_stray_quote_mid_file_costs_one_row_and_multiline_fields_still_read(
    tmp_path: Path,
) -> None:
    _raw(
        tmp_path / "2026-12-01" / "leads.csv",
        "first_name,last_name,job_title\n"
        'Ada,Lovelace,"Head of ""Data"""\n'  # row 1: escaped quotes
        'Bo,Berg,"VP, Sales\n'  # row 2: a quote that is never closed
        "Cy,Chen,CTO\n"  # row 3
        'Di,Diaz,"Line one\nline two"\n'  # row 4: a legal two-line field (lines 5-6)
        "Ed,Eze,CEO,extra\n"  # row 6: one field too many
        "Fay,Fox\n"  # row 7: one field too few
        "\n"  # row 8: blank, skipped
        "Gus,Gray,COO,,\n",  # row 9: trailing empty fields, as spreadsheets write them
    )
    raw = read_raw_day(tmp_path / "2026-12-01", day="2026-12-01")
    frame = raw.frame
    assert frame["first_name"].tolist() == ["Ada", "Cy", "Di", "Gus"]
    assert frame["source_row"].tolist() == [1, 3, 4, 9]
    assert frame["job_title"].tolist() == ['Head of "Data"', "CTO", "Line one\nline two", "COO"]
    assert [(p["source_row"], p["field"], p["reason"].split(":")[0]) for p in raw.problems] == [
        (2, "<row>", "unbalanced quote"),
        (6, "<row>", "wrong field count"),
        (7, "<row>", "wrong field count"),
    ]
    assert raw.problems[1]["reason"] == "wrong field count: expected 3, found 4"
    assert raw.problems[1]["raw_value"] == "Ed,Eze,CEO,extra"


def test_files_that_cannot_be_read_are_one_problem_each_and_never_fail_the_day(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "2026-12-01"
    _raw(folder / "a_good.csv", "email\nada@acme.dev\n")
    (folder / "b_binary.csv").write_bytes(b"PK\x03\x04\x00\x00binary zip")
    (folder / "c_corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    _raw(folder / "d_empty.csv", "")
    _raw(folder / "e_no_header.csv", "Ada,Lovelace,ada@acme.dev\n")
    (folder / "f_leads.xlsx").write_bytes(b"PK\x03\x04")
    pq.write_table(pa.table({"Email": pa.array(["bo@acme.dev", None])}), folder / "g.PARQUET")
    result = ingest_day(folder, day="2026-12-01")
    assert _values(result.raw.frame["email"]) == ["ada@acme.dev", "bo@acme.dev", None]
    problems = {p["source_file"]: (p["field"], p["reason"]) for p in result.raw.problems}
    assert problems == {
        "2026-12-01/b_binary.csv": ("<file>", "binary content: not a CSV text file"),
        "2026-12-01/c_corrupt.parquet": ("<file>", problems["2026-12-01/c_corrupt.parquet"][1]),
        "2026-12-01/d_empty.csv": ("<file>", "empty file"),
        "2026-12-01/e_no_header.csv": (
            "<file>",
            "no known column in the header (is the header missing?)",
        ),
        "2026-12-01/f_leads.xlsx": ("<file>", "not a CSV or Parquet file"),
    }
    assert problems["2026-12-01/c_corrupt.parquet"][1].startswith("unreadable Parquet: ")
    unreadable = result.rejects[result.rejects["severity"] == "unreadable"]
    assert len(unreadable) == 5 and unreadable["source_row"].isna().sum() == 4
    assert list(result.rejects.columns) == list(REJECT_COLUMNS)
    assert result.prospects["email"].tolist() == ["ada@acme.dev", "bo@acme.dev"]


def test_normalise_takes_a_raw_frame_read_back_from_parquet_or_an_empty_one(
    tmp_path: Path,
) -> None:
    raw = read_raw_day(SAMPLE / "2026-11-05", day="2026-11-05").frame
    raw.to_parquet(tmp_path / "raw.parquet")
    again = normalise(pd.read_parquet(tmp_path / "raw.parquet"), day="2026-11-05")
    direct = normalise(raw, day="2026-11-05")
    pd.testing.assert_frame_equal(again.prospects, direct.prospects)
    pd.testing.assert_frame_equal(again.rejects, direct.rejects)
    empty = normalise(pd.DataFrame(), day="2026-11-05")
    assert list(empty.prospects.columns) == list(PROSPECT_COLUMNS) and len(empty.prospects) == 0
    assert list(empty.rejects.columns) == list(REJECT_COLUMNS) and len(empty.rejects) == 0


def test_an_empty_or_missing_day_folder_gives_empty_frames(tmp_path: Path) -> None:
    result = ingest_day(tmp_path / "2026-12-01", day="2026-12-01")
    assert len(result.raw.frame) == 0 and list(result.raw.frame.columns) == list(RAW_COLUMNS)
    assert len(result.prospects) == 0
    assert list(result.prospects.columns) == list(PROSPECT_COLUMNS)
    assert len(result.rejects) == 0 and list(result.rejects.columns) == list(REJECT_COLUMNS)


# -- normalisation ---------------------------------------------------------------------------


def test_linkedin_url_variants_become_one_canonical_url_and_one_person(tmp_path: Path) -> None:
    variants = [
        "https://www.linkedin.com/in/grace-everett",
        "https://www.linkedin.com/in/grace-everett/",
        "linkedin.com/in/grace-everett",
        " HTTPS://WWW.LINKEDIN.COM/IN/GRACE-EVERETT/",
        "https://uk.linkedin.com/in/grace-everett/?originalSubdomain=uk",
        "https://www.linkedin.com/in/grace-everett?utm_source=share&utm_medium=member_desktop",
        "https://www.linkedin.com/in/grace-everett/details/experience/",
        "https://www.linkedin.com/in/grace-everett#experience",
    ]
    body = "".join(f'"{v}"\n' for v in variants)
    prospects, rejects = _normalised_csv(tmp_path, "LinkedIn URL\n" + body)
    assert prospects["linkedin_url"].tolist() == ["https://www.linkedin.com/in/grace-everett"]
    assert prospects["person_key"].tolist() == ["li:/in/grace-everett"]
    assert prospects["duplicates"].tolist() == [7]
    assert len(rejects) == 0


def test_field_values_are_normalised(tmp_path: Path) -> None:
    prospects, rejects = _normalised_csv(
        tmp_path,
        "First Name,Last Name,Email,Company,Website,Job Title,Country\n"
        "  ANNE-SOPHIE ,VAN DER BERG,  Anne.Vdb@ACME-Corp.CO.UK ,  Acme   Corp ,"
        "http://www.Acme-Corp.co.uk/about,\tHead of  Sales ,germany\n"
        "o'brien,o'brien,,Zed,www.zed.io,,de\n"
        "Jürgen,ØDEGÅRD,,Yak,https://yak.no/,,\n"
        "李,陈,,Xu,XU.CN,,\n",
    )
    first = prospects.iloc[0]
    assert (first["first_name"], first["last_name"]) == ("Anne-Sophie", "van der Berg")
    assert first["email"] == "anne.vdb@acme-corp.co.uk"
    assert first["company_name"] == "Acme Corp"
    assert first["company_domain"] == "acme-corp.co.uk"
    assert first["job_title"] == "Head of Sales"
    assert first["country"] == "Germany"
    assert first["person_key"] == "em:anne.vdb@acme-corp.co.uk"
    assert prospects["first_name"].tolist()[1:] == ["O'Brien", "Jürgen", "李"]
    assert prospects["last_name"].tolist()[1:] == ["O'Brien", "Ødegård", "陈"]
    assert prospects["company_domain"].tolist()[1:] == ["zed.io", "yak.no", "xu.cn"]
    assert prospects["country"].tolist()[1] == "DE"
    assert prospects["person_key"].str.startswith("nd:").tolist()[1:] == [True] * 3
    assert len(rejects) == 0


@pytest.mark.parametrize(
    ("name", "surname", "fixed"),
    [
        ("ANNE-SOPHIE", False, "Anne-Sophie"), ("jean-luc", False, "Jean-Luc"),
        ("JI-WOO", False, "Ji-woo"), ("o'brien", True, "O'Brien"),
        ("MCALLISTER", True, "McAllister"), ("DE LA CRUZ", True, "de la Cruz"),
        ("VAN 'T HOF", True, "van 't Hof"), ("von der heide", True, "von der Heide"),
        ("DEL RÍO", True, "del Río"), ("DA SILVA", True, "da Silva"), ("LE", True, "Le"),
        ("de Vries", True, "de Vries"), ("MacLeod", True, "MacLeod"), ("ИВАНОВ", True, "Иванов"),
        ("山田", True, "山田"), ("große", True, "Große"),
    ],
)  # fmt: skip
def test_name_case(name: str, surname: bool, fixed: str) -> None:
    assert fix_name_case(name, surname=surname) == fixed


def test_invalid_email_is_dropped_with_a_reject_naming_file_row_and_field(tmp_path: Path) -> None:
    prospects, rejects = _normalised_csv(
        tmp_path,
        "first_name,last_name,email,company_domain\n"
        "Ada,Lovelace,ada@acme.dev,acme.dev\n"
        "Bo,Berg,bo.berg@@acme.dev,acme.dev\n",
    )
    assert prospects["person_key"].tolist()[0] == "em:ada@acme.dev"
    second = prospects.iloc[1]
    assert pd.isna(second["email"]) and second["person_key"].startswith("nd:")
    assert rejects[["source_file", "source_row", "field", "raw_value", "severity"]].to_dict(
        "records"
    ) == [
        {
            "source_file": "2026-12-01/leads.csv",
            "source_row": 2,
            "field": "email",
            "raw_value": "bo.berg@@acme.dev",
            "severity": "field_dropped",
        }
    ]
    assert rejects["reason"].iloc[0].startswith("invalid email address: ")


def test_bad_linkedin_url_and_bad_website_are_dropped_fields(tmp_path: Path) -> None:
    prospects, rejects = _normalised_csv(
        tmp_path,
        "email,linkedin_url,company_domain\n"
        "ada@acme.dev,https://www.linkedin.com/company/acme,n/a\n"
        "bo@acme.dev,,gmail.com\n",
    )
    assert prospects["person_key"].tolist() == ["em:ada@acme.dev", "em:bo@acme.dev"]
    assert prospects["linkedin_url"].isna().all()
    assert prospects["company_domain"].isna().all()  # no company name: not taken from the email
    assert rejects[["source_row", "field", "raw_value"]].values.tolist() == [
        [1, "company_domain", "n/a"],
        [1, "linkedin_url", "https://www.linkedin.com/company/acme"],
        [2, "company_domain", "gmail.com"],
    ]
    assert set(rejects["severity"]) == {"field_dropped"}


def test_company_domain_is_taken_from_a_work_email_only_with_a_matching_company_name(
    tmp_path: Path,
) -> None:
    prospects, _ = _normalised_csv(
        tmp_path,
        "email,company_name\n"
        "ada@mail.acme-corp.com,Acme Corp\n"  # a work address: acme-corp.com
        "bo@gmail.com,Acme Corp\n"  # free mail
        "cy@mailbox-example.net,Quarrymill Learning\n"  # personal mail the list does not know
        "di@thistledownmedia.io,Silverbirch Media\n"  # an old employer's address
        "ed@acme-corp.com,\n",  # no company name: unknown whose domain it is
    )
    assert _values(prospects["company_domain"]) == [
        "acme-corp.com",
        None,
        None,
        None,
        None,
    ]


def test_a_row_with_nothing_usable_is_rejected_with_what_is_missing(tmp_path: Path) -> None:
    prospects, rejects = _normalised_csv(
        tmp_path,
        "first_name,last_name,email,company_name,job_title\n"
        "Ada,Lovelace,ada@acme.dev,Acme,CTO\n"
        ",,,Acme,CTO\n"
        "Bo,Berg,not-an-email,Acme,\n",
    )
    assert prospects["person_key"].tolist() == ["em:ada@acme.dev"]
    rejected = rejects[rejects["severity"] == "rejected"]
    assert rejected["source_row"].tolist() == [2, 3]
    assert set(rejected["field"]) == {"<row>"}
    assert rejected["reason"].tolist() == [
        "no usable identity: LinkedIn URL missing, email missing, and no first name + last name"
        " + company domain (lacking first name, last name, company domain)",
        "no usable identity: LinkedIn URL missing, email invalid, and no first name + last name"
        " + company domain (lacking company domain)",
    ]
    assert json.loads(rejected["raw_value"].iloc[0]) == {"company_name": "Acme", "job_title": "CTO"}
    assert rejects[rejects["severity"] == "field_dropped"]["source_row"].tolist() == [3]


# -- merging ---------------------------------------------------------------------------------


def test_duplicates_within_the_day_merge_first_value_wins_and_later_rows_fill_gaps(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "2026-12-01"
    _raw(
        folder / "a.csv",
        "email,first_name,job_title,crm_id\n"
        "ada@acme.dev,Ada,,CRM-1\n"
        "bo@acme.dev,Bo,CEO,\n"
        "ADA@acme.dev ,Adaline,CTO,CRM-2\n",
    )
    write_prospect_file(
        [dict.fromkeys(COLUMNS, "") | {"email": "ada@acme.dev", "country": "GB"}],
        folder / "b.parquet",
        style="sales_nav",
    )
    prospects = ingest_day(folder, day="2026-12-01").prospects
    ada = prospects.iloc[0]
    assert prospects["person_key"].tolist() == ["em:ada@acme.dev", "em:bo@acme.dev"]
    assert (ada["first_name"], ada["job_title"], ada["crm_id"], ada["country"]) == (
        "Ada",
        "CTO",
        "CRM-1",
        "GB",
    )
    assert (ada["source_file"], ada["source_row"], ada["duplicates"]) == ("2026-12-01/a.csv", 1, 2)
    assert json.loads(ada["sources"]) == [
        "2026-12-01/a.csv:1",
        "2026-12-01/a.csv:3",
        "2026-12-01/b.parquet:1",
    ]
    assert prospects["duplicates"].tolist() == [2, 0]


def test_rows_with_different_keys_that_share_an_email_or_name_merge_into_one_person(
    tmp_path: Path,
) -> None:
    prospects, _ = _normalised_csv(
        tmp_path,
        "first_name,last_name,email,company_name,company_domain,linkedin_url,job_title\n"
        ",,jane@acme.dev,,,,\n"  # 1: only the email
        "Jane,Doe,,,acme.dev,,Head of Data\n"  # 2: only name + domain
        "Jane,Doe,jane@acme.dev,Acme,,linkedin.com/in/jane-doe,\n"  # 3: URL + email
        ",,,,,https://www.linkedin.com/in/jane-doe/,\n",  # 4: the URL again
    )
    assert len(prospects) == 1
    jane = prospects.iloc[0]
    assert jane["person_key"] == "li:/in/jane-doe"
    assert jane["linkedin_url"] == "https://www.linkedin.com/in/jane-doe"
    assert (jane["email"], jane["company_domain"], jane["job_title"]) == (
        "jane@acme.dev",
        "acme.dev",
        "Head of Data",
    )
    assert (jane["source_row"], jane["duplicates"]) == (1, 3)
    assert json.loads(jane["sources"]) == [f"2026-12-01/leads.csv:{n}" for n in (1, 2, 3, 4)]


def test_an_address_shared_by_two_profiles_merges_nobody_into_either(tmp_path: Path) -> None:
    prospects, _ = _normalised_csv(
        tmp_path,
        "email,linkedin_url\n"
        "team@acme.dev,linkedin.com/in/ann\n"
        "team@acme.dev,linkedin.com/in/ben\n"
        "team@acme.dev,\n",
    )
    assert prospects["person_key"].tolist() == ["li:/in/ann", "li:/in/ben", "em:team@acme.dev"]
    assert prospects["duplicates"].tolist() == [0, 0, 0]


def test_merge_with_earlier_marks_people_seen_on_earlier_days() -> None:
    earlier = ingest_day(SAMPLE / "2026-11-02", day="2026-11-02").prospects
    today = ingest_day(SAMPLE / "2026-11-03", day="2026-11-03").prospects
    marked = merge_with_earlier(today, set(earlier["person_key"]))
    assert marked["seen_before"].dtype == bool
    assert len(marked) == len(today)
    expected = today["person_key"].isin(set(earlier["person_key"]))
    assert marked["seen_before"].tolist() == expected.tolist()
    assert 0 < marked["seen_before"].sum() < len(marked)
    assert "seen_before" not in today.columns
