"""Which day folders hold prospect files, and what those files contain, as short strings.

Two fingerprints of a day folder, over the same list of files (the files `read_raw_day` reads):

* `day_stat_line`: names, sizes and modification times. Cheap (one `stat` a file), but a `touch`, a
  fresh clone or a copy changes it without changing a byte.
* `day_fingerprint`: a sha256 of the *content* (file names and bytes). A `touch`, a fresh clone or a
  copy leaves it unchanged, so a day whose files did not change is not enriched again.
  raw_prospects records it in its materialisation metadata; the sensor compares against that, and
  re-hashes a day only when its stat line changed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from enrich_pipeline.ingest.prospects import day_files
from enrich_pipeline.ingest.read import FILE_SUFFIXES

PROSPECT_SUFFIXES = tuple(sorted(FILE_SUFFIXES))  # the suffixes read_raw_day reads, any case
DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # data/raw/prospects/YYYY-MM-DD/
FINGERPRINT_KEY = "source_fingerprint"  # the metadata key raw_prospects records it under


def prospect_files(folder: Path) -> list[Path]:
    """The day's prospect files, sorted by name: exactly the files raw_prospects reads."""
    return day_files(folder)


def day_folders(raw_dir: Path) -> list[Path]:
    """The YYYY-MM-DD folders under `raw_dir`, sorted (whether or not they hold files)."""
    if not raw_dir.is_dir():
        return []
    return sorted(f for f in raw_dir.iterdir() if f.is_dir() and DAY_FOLDER.match(f.name))


def day_stat_line(folder: Path) -> str:
    """name:size:mtime_ns of each prospect file, in name order ("" for no files). A file removed
    while it is listed is left out; the next look sees the folder as it then is."""
    lines = []
    for path in prospect_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        lines.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(lines)


def day_stat_lines(raw_dir: Path) -> dict[str, str]:
    """day -> its stat line, for every day folder holding at least one prospect file."""
    days = {}
    for folder in day_folders(raw_dir):
        if line := day_stat_line(folder):
            days[folder.name] = line
    return days


def day_fingerprint(folder: Path) -> str:
    """sha256 over each file's name and content, in name order ("" for no files)."""
    files = prospect_files(folder)
    if not files:
        return ""
    digest = hashlib.sha256()
    for path in files:
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{path.name}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()[:16]
