"""Messy prospect files: content, variety, layout and reproducibility of the committed sample."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from enrich_pipeline.sandbox._text import is_valid_email_syntax, normalise_email
from enrich_pipeline.sandbox.prospects import (
    COLUMNS,
    STYLES,
    make_prospects,
    write_prospect_file,
    write_sample_days,
)
from enrich_pipeline.sandbox.world import Person, World

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "raw" / "prospects"


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(7, 1500, 200)


@pytest.fixture(scope="module")
def rows(world: World) -> list[dict[str, str]]:
    return make_prospects(world, 1000, seed=3)


def _resolve(world: World, row: dict[str, str]) -> Person | None:
    """Who a row is, by any identifier it carries (what a careful pipeline could find)."""
    person = world.find_by_linkedin(row["linkedin_url"]) if row["linkedin_url"] else None
    if person is None and row["email"]:
        person = world.find_by_email(row["email"])
    if person is None and row["first_name"] and row["last_name"]:
        person = world.find_by_name(
            row["first_name"],
            row["last_name"],
            domain=row["company_domain"] or None,
            company_name=row["company_name"] or None,
        )
    return person


def test_rows_have_canonical_string_fields(rows: list[dict[str, str]]) -> None:
    assert len(rows) == 1000
    for row in rows:
        assert tuple(row) == COLUMNS
        assert all(isinstance(v, str) for v in row.values())
        assert any(v.strip() for v in row.values())


def test_deterministic(world: World, rows: list[dict[str, str]]) -> None:
    assert make_prospects(world, 1000, seed=3) == rows
    assert make_prospects(world, 1000, seed=4) != rows


def test_most_rows_resolve_and_some_people_are_unknown(
    world: World, rows: list[dict[str, str]]
) -> None:
    resolved = [_resolve(world, r) for r in rows]
    unresolved = [r for r, p in zip(rows, resolved, strict=True) if p is None]
    assert 0.025 < len(unresolved) / len(rows) < 0.09
    # invented people: their domains are not in the world
    outside = [
        r
        for r in unresolved
        if r["company_domain"] and world.company_by_domain(r["company_domain"]) is None
    ]
    assert outside
    for r in outside:
        if r["email"] and is_valid_email_syntax(normalise_email(r["email"])):
            assert world.email_verdict(r["email"]) == "unknown"


def test_duplicates_present(world: World, rows: list[dict[str, str]]) -> None:
    counts = Counter(p.person_id for r in rows if (p := _resolve(world, r)) is not None)
    repeated = [pid for pid, n in counts.items() if n > 1]
    assert 0.03 < len(repeated) / len(counts) < 0.2
    # the same person appears with differing LinkedIn URL variants
    urls: dict[str, set[str]] = {}
    for r in rows:
        person = _resolve(world, r)
        if person and r["linkedin_url"]:
            urls.setdefault(person.person_id, set()).add(r["linkedin_url"])
    assert any(len(v) > 1 for v in urls.values())


def test_partial_rows(rows: list[dict[str, str]]) -> None:
    def present(row: dict[str, str]) -> frozenset[str]:
        return frozenset(k for k, v in row.items() if v.strip())

    shapes = Counter(present(r) for r in rows)
    assert shapes[frozenset({"email"})] > 30
    assert shapes[frozenset({"linkedin_url"})] > 30
    name_company = sum(
        n
        for s, n in shapes.items()
        if {"first_name", "last_name"} <= s
        and s & {"company_name", "company_domain"}
        and not s & {"email", "linkedin_url"}
    )
    assert name_company > 100


def test_messy_values(rows: list[dict[str, str]]) -> None:
    emails = [r["email"] for r in rows if r["email"]]
    invalid = [e for e in emails if not is_valid_email_syntax(normalise_email(e))]
    assert 3 <= len(invalid) <= 50
    assert any(e.endswith("@") for e in invalid) or any("@" not in e for e in invalid)
    assert any(e != e.strip() for e in emails)
    assert any(e != e.lower() for e in emails)
    names = [r["first_name"] for r in rows if r["first_name"]]
    assert any(n != n.strip() for n in names)
    assert any(n.isupper() for n in names)
    assert any(not n.isascii() for n in names)
    domains = [r["company_domain"] for r in rows if r["company_domain"]]
    assert any(d.startswith("www.") for d in domains)
    assert any(d.startswith(("http://", "https://")) for d in domains)
    assert any(d != d.lower() for d in domains)


def test_linkedin_url_variants(world: World, rows: list[dict[str, str]]) -> None:
    urls = [r["linkedin_url"] for r in rows if r["linkedin_url"]]
    checks = {
        "no scheme": lambda u: u.lower().startswith(("linkedin.com", "www.linkedin.com")),
        "no www": lambda u: "://linkedin.com" in u,
        "country subdomain": lambda u: re.search(r"://[a-z]{2}\.linkedin\.com", u) is not None,
        "trailing slash": lambda u: u.endswith("/"),
        "query": lambda u: "?" in u,
        "upper case": lambda u: "LINKEDIN" in u,
    }
    for name, check in checks.items():
        assert any(check(u) for u in urls), name
    known = [u for u in urls if world.find_by_linkedin(u)]
    assert len(known) / len(urls) > 0.9


def test_hundred_thousand_rows() -> None:
    # (how fast is a benchmark's question, never a timed assert: pipeline_scale.py --make-prospects)
    rows = make_prospects(World.build(), 100_000, seed=1)
    assert len(rows) == 100_000
    assert len({row["email"] for row in rows if row.get("email")}) > 1_000  # people, not one copy


# -- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("style", sorted(STYLES))
def test_write_csv_styles_round_trip(
    tmp_path: Path, rows: list[dict[str, str]], style: str
) -> None:
    path = write_prospect_file(rows[:50], tmp_path / f"{style}.csv", style=style)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        read = list(csv.DictReader(handle))
    mapping = STYLES[style]
    assert list(read[0]) == [mapping[k] for k in COLUMNS if k in mapping]
    for original, got in zip(rows[:50], read, strict=True):
        for key, header in mapping.items():
            assert got[header] == original[key]


def test_write_parquet(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = write_prospect_file(rows[:50], tmp_path / "x.parquet", style="crm_export")
    table = pq.read_table(path)
    assert table.num_rows == 50
    assert table.column_names[0] == "First Name"
    emails = table.column("Email").to_pylist()
    assert [e or "" for e in emails] == [r["email"] for r in rows[:50]]
    assert None in emails  # missing values are nulls in Parquet


def _csv_records(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _odd_quote_lines(path: Path) -> list[str]:
    return [
        line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.count('"') % 2
    ]


def _check_sample_layout(root: Path, total: int, days: int) -> None:
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(folders) == days
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", f.name) for f in folders)
    files = [p for f in folders for p in f.iterdir()]
    for folder in folders:
        assert 1 <= len(list(folder.iterdir())) <= 3
    assert any(p.suffix == ".parquet" for p in files)
    headers = set()
    rows = 0
    broken = []
    for path in files:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            headers.add(tuple(table.column_names))
            rows += table.num_rows
            continue
        records = _csv_records(path)
        headers.add(tuple(records[0]))
        rows += len(records) - 1
        odd = _odd_quote_lines(path)
        broken.extend(odd)
        if odd:
            with pytest.raises(csv.Error), path.open(encoding="utf-8", newline="") as handle:
                list(csv.reader(handle, strict=True))
    assert len(headers) >= 3
    assert len(broken) == 1, broken
    assert total <= rows <= total + 1  # the broken row repeats an earlier one


def test_write_sample_days(tmp_path: Path) -> None:
    small = World.build(5, 600, 90)
    paths = write_sample_days(small, tmp_path, start="2026-01-30", days=7, total=500, seed=1)
    assert all(p.exists() for p in paths)
    assert {p.parent.name for p in paths} == {
        "2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04",
        "2026-02-05",
    }  # fmt: skip
    _check_sample_layout(tmp_path, 500, 7)
    again = tmp_path / "again"
    write_sample_days(small, again, start="2026-01-30", days=7, total=500, seed=1)
    for path in paths:
        twin = again / path.parent.name / path.name
        if path.suffix == ".csv":
            assert twin.read_bytes() == path.read_bytes()
        else:
            assert pq.read_table(twin).equals(pq.read_table(path))


def test_duplicates_across_days(tmp_path: Path) -> None:
    small = World.build(5, 600, 90)
    write_sample_days(small, tmp_path, total=500, seed=1)
    seen: dict[str, set[str]] = {}
    for path in sorted(tmp_path.glob("*/*.csv")):
        for record in _csv_records(path)[1:]:
            for value in record:
                person = small.find_by_email(value) if "@" in value else None
                if person:
                    seen.setdefault(person.person_id, set()).add(path.parent.name)
    assert any(len(days) > 1 for days in seen.values())


@pytest.mark.skipif(not SAMPLE.exists() or not any(SAMPLE.iterdir()), reason="no committed sample")
def test_committed_sample_is_reproducible(tmp_path: Path) -> None:
    _check_sample_layout(SAMPLE, 2000, 7)
    write_sample_days(World.build(42, 5000, 800), tmp_path, start="2026-11-02", days=7,
                      total=2000, seed=7)  # fmt: skip
    committed = sorted(p.relative_to(SAMPLE) for p in SAMPLE.glob("*/*"))
    regenerated = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("*/*"))
    assert committed == regenerated
    for rel in committed:
        if rel.suffix == ".csv":
            assert (SAMPLE / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
        else:
            assert pq.read_table(SAMPLE / rel).equals(pq.read_table(tmp_path / rel)), rel
    size = sum(p.stat().st_size for p in SAMPLE.glob("*/*"))
    assert size < 1_000_000
