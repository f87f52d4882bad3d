"""Merging the rows of one day that describe the same person.

Pass 1 groups rows by `person_key`. Pass 2 re-points keys that are weaker than another row's:
* an `em:` row whose address also appears on exactly one `li:` person joins that person
  (one row has only the email, another the URL and the email → one person keyed by the URL);
* an `nd:` row (name + domain only) whose first name, last name and domain match exactly one
  `li:`/`em:` person joins that person.
A link that points at two or more different people is ambiguous and is not followed: two
LinkedIn profiles that share an address (say a team inbox) stay two people.

Within a merged person the first row (file order) wins per field and later rows fill the fields
it lacks; `duplicates` counts the rows merged into the first one, `sources` lists them all.
"""

from __future__ import annotations

import json

import pandas as pd

from enrich_pipeline.ingest.fields import as_objects
from enrich_pipeline.ingest.read import CANONICAL_COLUMNS

MERGED_FIELDS: tuple[str, ...] = (*CANONICAL_COLUMNS, "source_file", "source_row")


def _unique_targets(links: pd.Series, targets: pd.Series) -> pd.Series:
    """link value → target key, for link values that point at exactly one target."""
    pairs = pd.DataFrame({"link": links, "target": targets}).dropna().drop_duplicates()
    counts = pairs["link"].value_counts()
    single = pairs[pairs["link"].isin(counts[counts == 1].index)]
    return single.set_index("link")["target"]


def _follow(links: pd.Series, owner: pd.Series, keys: pd.Series) -> pd.Series:
    """The owner's key where a link leads to one, else the row's own key."""
    target = as_objects(links.map(owner))
    return target.where(target.notna(), keys)


def _name_domain_text(rows: pd.DataFrame) -> pd.Series:
    """What an `nd:` key hashes (lower first | lower last | domain), None when incomplete."""
    text = (rows["first_name"].str.lower() + "|" + rows["last_name"].str.lower() + "|") + rows[
        "company_domain"
    ]
    return as_objects(text)


def resolve_keys(rows: pd.DataFrame) -> pd.Series:
    """Each row's merged person key (pass 2 above), from `person_key`, `email`, names and domain."""
    key = as_objects(rows["person_key"])
    by_linkedin = key.str.startswith("li:").astype(bool)
    email_owner = _unique_targets(rows.loc[by_linkedin, "email"], key[by_linkedin])
    by_email = key.str.startswith("em:").astype(bool)
    resolved = key.copy()
    resolved[by_email] = _follow(rows.loc[by_email, "email"], email_owner, key[by_email])

    by_name = key.str.startswith("nd:").astype(bool)
    if by_name.any():
        identity = _name_domain_text(rows)
        name_owner = _unique_targets(identity[~by_name], resolved[~by_name])
        resolved[by_name] = _follow(identity[by_name], name_owner, key[by_name])
    return as_objects(resolved)


def _sources(resolved: pd.Series, rows: pd.DataFrame) -> dict[str, str]:
    """person key → JSON list of "file:row" of its rows, in file order."""
    labels = as_objects(rows["source_file"]) + ":" + rows["source_row"].astype(str).astype(object)
    grouped: dict[str, list[str]] = {}
    for key, label in zip(resolved, labels, strict=True):
        grouped.setdefault(key, []).append(label)
    return {key: json.dumps(items, ensure_ascii=False) for key, items in grouped.items()}


def merge_people(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per person (order of first appearance) with `duplicates` and `sources` added."""
    rows = rows.reset_index(drop=True)
    resolved = resolve_keys(rows)
    groups = rows[list(MERGED_FIELDS)].groupby(resolved.rename("person_key"), sort=False)
    merged = groups.first()  # first non-missing value per field, in file order
    merged["duplicates"] = (groups.size() - 1).astype("int64")
    merged["sources"] = merged.index.map(_sources(resolved, rows))
    merged = merged.reset_index()
    merged["source_row"] = merged["source_row"].astype("int64")
    return merged
