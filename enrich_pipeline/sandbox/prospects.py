"""Messy prospect files drawn from the synthetic world: the pipeline's raw input.

`make_prospects` draws rows (canonical keys, all strings, "" for missing) from a `World`, messy on
purpose: stray whitespace and case, LinkedIn URL variants, partial rows, invalid emails, duplicates
and ~5 % people that no provider knows (invented, at domains outside the world).
`write_prospect_file` writes rows as CSV in one of several column-name styles, or as Parquet.
`write_sample_days` lays out day folders `YYYY-MM-DD/` as the pipeline expects them.

The committed sample under `data/raw/prospects/` is exactly::

    write_sample_days(World.build(42, 5000, 800), "data/raw/prospects",
                      start="2026-11-02", days=7, total=2000, seed=7)

(also: `python -m enrich_pipeline.sandbox.prospects data/raw/prospects`). It contains exactly one
row with broken CSV quoting: the last line of `2026-11-05/event_signups.csv`, whose `job_title`
field opens a double quote that is never closed (strict parsers fail with "EOF inside string";
lenient ones read the rest of the line as one field).
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from enrich_pipeline.sandbox import _world_data as D
from enrich_pipeline.sandbox._text import ascii_name, email_token, slug_token
from enrich_pipeline.sandbox.world import Person, World, company_base_name, romanised_name

COLUMNS: tuple[str, ...] = (
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

# Column-name styles seen in real exports: canonical key -> header (a style may lack columns).
STYLES: dict[str, dict[str, str]] = {
    "crm_export": {
        "first_name": "First Name", "last_name": "Last Name", "email": "Email",
        "company_name": "Company", "company_domain": "Website", "linkedin_url": "LinkedIn URL",
        "job_title": "Job Title", "country": "Country", "crm_id": "Record ID",
    },
    "snake": {key: key for key in COLUMNS},
    "compact": {
        "first_name": "firstname", "last_name": "lastname", "email": "e-mail",
        "company_name": "company", "company_domain": "company domain",
        "linkedin_url": "linkedin profile", "job_title": "title",
    },
    "sales_nav": {
        "first_name": "First name", "last_name": "Last name", "email": "Email address",
        "company_name": "Account name", "company_domain": "Account website",
        "linkedin_url": "Profile URL", "job_title": "Title", "country": "Location country",
        "crm_id": "Lead ID",
    },
}  # fmt: skip

# What a row carries, by kind of source row; weights sum to 100.
_SHAPES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("full", 42, COLUMNS),
    ("name_company", 18, ("first_name", "last_name", "company_name", "company_domain",
                          "job_title", "country")),
    ("name_domain", 6, ("first_name", "last_name", "company_domain")),
    ("email_only", 10, ("email",)),
    ("linkedin_only", 10, ("linkedin_url",)),
    ("name_linkedin", 7, ("first_name", "last_name", "linkedin_url", "job_title")),
    ("name_email", 7, ("first_name", "last_name", "email", "company_name")),
)  # fmt: skip
_SHAPE_CUM = []
_total = 0
for _name, _weight, _keys in _SHAPES:
    _total += _weight
    _SHAPE_CUM.append((_total, _keys))

_LINKEDIN_VARIANTS = (
    "https://www.linkedin.com/in/{slug}",
    "https://www.linkedin.com/in/{slug}/",
    "http://www.linkedin.com/in/{slug}",
    "linkedin.com/in/{slug}",
    "www.linkedin.com/in/{slug}/",
    "https://linkedin.com/in/{slug}?trk=abc",
    "https://{cc}.linkedin.com/in/{slug}",
    "https://{cc}.linkedin.com/in/{slug}/?originalSubdomain={cc}",
    "HTTPS://WWW.LINKEDIN.COM/IN/{SLUG}/",
    "https://www.linkedin.com/in/{slug}?utm_source=share&utm_medium=member_desktop",
    "https://www.linkedin.com/in/{slug}/details/experience/",
    "https://www.linkedin.com/in/{slug}#experience",
)
_LINKEDIN_WEIGHTS = (30, 12, 4, 8, 6, 6, 6, 3, 4, 10, 3, 3)
_LINKEDIN_CUM = [sum(_LINKEDIN_WEIGHTS[: i + 1]) for i in range(len(_LINKEDIN_WEIGHTS))]
_CC = ("uk", "de", "fr", "es", "nl", "br", "in", "ca", "au")
_INVALID_EMAILS = ("{f}.{l}@", "{f}.{l}.{domain}", "{f}@{l}@{domain}", "{f}.{l}@{label}",
                   "{f} {l}@{domain}", "@{domain}", "{f}.{l}@@{domain}")  # fmt: skip
_UNKNOWN_WORDS = ("Stillwater", "Brambleton", "Cinderpath", "Gullwing", "Hazelbrook",
                  "Morrowind", "Pebblestone", "Sablecrest", "Tinderbox", "Wisteria",
                  "Quietharbor", "Ravelstone")  # fmt: skip
_UNKNOWN_TLDS = (".com", ".io", ".de", ".co.uk", ".fr", ".net", ".app")
_COUNTRY_NAMES = {code: str(info["name"]) for code, info in D.COUNTRIES.items()}
_COUNTRY_BY_NAME = {name: code for code, name in _COUNTRY_NAMES.items()}

UNKNOWN_RATE = 0.05
DUPLICATE_RATE = 0.08
INVALID_EMAIL_RATE = 0.02


def make_prospects(world: World, n: int, *, seed: int) -> list[dict[str, str]]:
    """`n` raw prospect rows drawn from `world` (canonical keys, "" when missing), messy on
    purpose. Deterministic in (world, n, seed)."""
    rng = random.Random(f"prospects:{world.seed}:{seed}")
    people = world.people
    order = rng.sample(range(len(people)), min(n, len(people)))
    emitted: list[tuple[Person | dict[str, str], str]] = []  # (person or unknown, crm_id)
    rows: list[dict[str, str]] = []
    next_fresh = 0
    for _ in range(n):
        roll = rng.random()
        if emitted and roll < DUPLICATE_RATE:
            who, crm_id = emitted[rng.randrange(len(emitted))]
            if rng.random() < 0.5:
                crm_id = _crm_id(rng)
        elif roll < DUPLICATE_RATE + UNKNOWN_RATE or not people:
            who, crm_id = _unknown_person(rng, world), _crm_id(rng)
            emitted.append((who, crm_id))
        else:
            if next_fresh < len(order):
                person = people[order[next_fresh]]
                next_fresh += 1
            else:
                person = people[rng.randrange(len(people))]
            who, crm_id = person, _crm_id(rng)
            emitted.append((who, crm_id))
        if isinstance(who, Person):
            rows.append(_known_row(rng, who, crm_id))
        else:
            rows.append(_mess_row(rng, dict(who), crm_id))
    return rows


def _crm_id(rng: random.Random) -> str:
    return "" if rng.random() < 0.1 else f"CRM-{rng.randrange(10**7):07d}"


def _shape(rng: random.Random) -> tuple[str, ...]:
    draw = rng.random() * 100
    for cum, keys in _SHAPE_CUM:
        if draw < cum:
            return keys
    return COLUMNS  # pragma: no cover


def _known_row(rng: random.Random, person: Person, crm_id: str) -> dict[str, str]:
    company = person.company
    first, last = person.first_name, person.last_name
    if any(ord(c) > 0x24F for c in first + last):  # non-Latin script: often exported romanised
        if rng.random() < 0.6:
            first, last = romanised_name(first), romanised_name(last)
    elif not (first + last).isascii() and rng.random() < 0.12:  # accents lost by an ASCII tool
        first, last = ascii_name(first), ascii_name(last)
    email = person.work_email
    roll = rng.random()
    if person.personal_email and roll < 0.08:
        email = person.personal_email
    elif person.stale_emails and roll < 0.15:
        email = person.stale_emails[0]
    title = person.title
    if len(person.positions) > 1 and rng.random() < 0.08:
        title = person.positions[1].title  # an outdated CRM record
    full = {
        "first_name": first,
        "last_name": last,
        "email": email,
        "company_name": company.name if rng.random() < 0.6 else company_base_name(company),
        "company_domain": company.domain,
        "linkedin_url": person.linkedin_slug,
        "job_title": title,
        "country": company.country,
    }
    return _mess_row(rng, full, crm_id)


def _unknown_person(rng: random.Random, world: World) -> dict[str, str]:
    """A plausible prospect that is not in the world, at a domain the world does not know."""
    cultures = tuple(c for c in D.CULTURES if c not in ("chinese", "japanese", "russian"))
    pools = D.CULTURES[rng.choice(cultures)]
    first = rng.choice(pools[rng.choice(("male", "female"))])[0]
    last = rng.choice(pools["last"])[0]
    while True:
        base = f"{rng.choice(_UNKNOWN_WORDS)} {rng.choice(D.COMPANY_SECOND)}"
        domain = f"{slug_token(base)}{rng.choice(_UNKNOWN_TLDS)}"
        if world.company_by_domain(domain) is None:
            break
    slug = f"{slug_token(ascii_name(first + ' ' + last))}-{rng.getrandbits(32):08x}"
    local = f"{email_token(ascii_name(first))}.{email_token(ascii_name(last))}"
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{local}@{domain}",
        "company_name": base,
        "company_domain": domain,
        "linkedin_url": slug,
        "job_title": rng.choice(rng.choice(tuple(D.DEPARTMENTS.values()))[0]),
        "country": rng.choice(tuple(D.COUNTRIES)),
    }


def _mess_row(rng: random.Random, full: dict[str, str], crm_id: str) -> dict[str, str]:
    """Keep the fields of a random row shape and make each one messy."""
    keys = _shape(rng)
    row = dict.fromkeys(COLUMNS, "")
    for key in keys:
        value = full.get(key, "")
        if not value and key != "crm_id":
            continue
        if key in ("first_name", "last_name", "company_name", "job_title"):
            value = _mess_text(rng, value)
        elif key == "email":
            value = _mess_email(rng, value, full)
        elif key == "company_domain":
            value = _mess_domain(rng, value)
        elif key == "linkedin_url":
            value = _linkedin_variant(rng, value)
        elif key == "country":
            value = _mess_country(rng, value)
        elif key == "crm_id":
            value = crm_id
        row[key] = value
    if keys == COLUMNS and rng.random() < 0.1:  # even "full" exports have holes
        row[rng.choice(("job_title", "company_domain", "linkedin_url", "country"))] = ""
    return row


def _mess_text(rng: random.Random, value: str) -> str:
    roll = rng.random()
    if roll < 0.08:
        value = value.upper()
    elif roll < 0.16:
        value = value.lower()
    roll = rng.random()
    if roll < 0.07:
        value = f" {value}"
    elif roll < 0.14:
        value = f"{value}  "
    elif roll < 0.16:
        value = f"\t{value} "
    return value


def _mess_email(rng: random.Random, email: str, full: dict[str, str]) -> str:
    if rng.random() < INVALID_EMAIL_RATE / 0.6:  # about 60 % of rows carry an email
        domain = email.partition("@")[2]
        first = email_token(romanised_name(full.get("first_name", ""))) or "john"
        last = email_token(romanised_name(full.get("last_name", ""))) or "doe"
        pattern = rng.choice(_INVALID_EMAILS)
        return pattern.format(f=first, l=last, domain=domain, label=domain.split(".")[0])
    roll = rng.random()
    if roll < 0.06:
        email = email.upper()
    elif roll < 0.14:
        local, _, domain = email.partition("@")
        email = f"{local.title()}@{domain}"
    elif roll < 0.2:
        email = f" {email} "
    return email


def _mess_domain(rng: random.Random, domain: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return domain
    if roll < 0.6:
        return f"www.{domain}"
    if roll < 0.72:
        return f"https://{domain}/"
    if roll < 0.8:
        return f"https://www.{domain}"
    if roll < 0.86:
        return f"http://www.{domain}/about"
    if roll < 0.93:
        return domain.upper() if rng.random() < 0.5 else domain.title()
    return f" {domain} "


def _linkedin_variant(rng: random.Random, slug: str) -> str:
    draw = rng.random() * _LINKEDIN_CUM[-1]
    index = next(i for i, cum in enumerate(_LINKEDIN_CUM) if draw < cum)
    url = _LINKEDIN_VARIANTS[index].format(slug=slug, SLUG=slug.upper(), cc=rng.choice(_CC))
    return f" {url}" if rng.random() < 0.03 else url


def _mess_country(rng: random.Random, code: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return code
    if roll < 0.8:
        return _COUNTRY_NAMES.get(code, code)
    if roll < 0.9:
        return _COUNTRY_NAMES.get(code, code).lower()
    return code.lower()


# -- files ---------------------------------------------------------------------------------


def write_prospect_file(rows: Sequence[dict[str, str]], path: str | Path, *, style: str) -> Path:
    """Write rows with the headers of `style` (see STYLES): CSV, or Parquet when `path` ends
    with .parquet (missing values become nulls there). Returns the path."""
    mapping = STYLES[style]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    keys = [key for key in COLUMNS if key in mapping]
    if target.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {mapping[k]: pa.array([row.get(k) or None for row in rows], pa.string()) for k in keys}
        )
        pq.write_table(table, target)
        return target
    encoding = "utf-8-sig" if style == "crm_export" else "utf-8"  # Excel-style BOM
    with target.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n" if style == "crm_export" else "\n")
        writer.writerow([mapping[k] for k in keys])
        for row in rows:
            writer.writerow([row.get(k, "") for k in keys])
    return target


_DAY_FILES = (
    ("crm_export", "crm_export.csv"),
    ("sales_nav", "sales_nav_leads.parquet"),
    ("compact", "event_signups.csv"),
    ("snake", "enrichment_requests.csv"),
    ("sales_nav", "sales_nav_leads.csv"),
)
BROKEN_QUOTE_FILE = ("2026-11-05", "event_signups.csv")


def write_sample_days(
    world: World,
    out_dir: str | Path,
    *,
    start: str = "2026-11-02",
    days: int = 7,
    total: int = 2000,
    seed: int = 7,
) -> list[Path]:
    """Day folders `YYYY-MM-DD/` under `out_dir`, each with 1-3 files in differing column
    styles (at least one Parquet file overall), `total` rows in all, duplicates within and across
    days, and exactly one CSV row with an unbalanced quote (the last line of a CSV file, on the
    fourth day when there is one, written raw). Returns the written paths."""
    rng = random.Random(f"sample-days:{world.seed}:{seed}")
    rows = make_prospects(world, total, seed=seed)
    first_day = date.fromisoformat(start)
    weights = [rng.uniform(0.6, 1.4) for _ in range(days)]
    counts = [int(total * w / sum(weights)) for w in weights]
    counts[-1] += total - sum(counts)
    broken_day = min(3, days - 1)
    written: list[Path] = []
    cursor = 0
    for day_index, count in enumerate(counts):
        day_rows = rows[cursor : cursor + count]
        cursor += count
        folder = Path(out_dir) / (first_day + timedelta(days=day_index)).isoformat()
        n_files = rng.randint(1, 3)
        picks = rng.sample(range(len(_DAY_FILES)), n_files)
        if day_index == 1 and not any(_DAY_FILES[i][1].endswith(".parquet") for i in picks):
            picks[0] = 1  # guarantee a Parquet file in the sample
        if day_index == broken_day and 2 not in picks:
            picks[-1] = 2  # the file that gets the broken row
        bounds = (
            sorted(rng.sample(range(1, max(2, len(day_rows))), n_files - 1)) if n_files > 1 else []
        )
        chunks = [
            day_rows[a:b] for a, b in zip([0, *bounds], [*bounds, len(day_rows)], strict=True)
        ]
        for pick, chunk in zip(picks, chunks, strict=True):
            style, name = _DAY_FILES[pick]
            path = write_prospect_file(chunk, folder / name, style=style)
            if day_index == broken_day and pick == 2:
                _append_broken_row(path, chunk, style)
            written.append(path)
    return written


def _append_broken_row(path: Path, chunk: Sequence[dict[str, str]], style: str) -> None:
    """Append one raw CSV line whose job_title opens a quote that never closes."""
    mapping = STYLES[style]
    keys = [key for key in COLUMNS if key in mapping]
    source = next((r for r in chunk if r["first_name"] and r["job_title"]), None) or {
        "first_name": "Marit", "last_name": "Ødegård", "job_title": "Head of Sales",
    }  # fmt: skip
    values = []
    for key in keys:
        value = source.get(key, "").strip()
        if key == "job_title":
            value = f'"{value or "Head of Sales"}, EMEA'
        values.append(value)
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(",".join(values) + "\n")


def iter_sample_paths(out_dir: str | Path) -> Iterable[Path]:
    """Every prospect file under `out_dir` (day folders), sorted."""
    root = Path(out_dir)
    return sorted(p for p in root.glob("*/*") if p.suffix in (".csv", ".parquet"))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out_dir = args[0] if args else "data/raw/prospects"
    paths = write_sample_days(World.build(42, 5000, 800), out_dir, start="2026-11-02", days=7,
                              total=2000, seed=7)  # fmt: skip
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
