"""The pieces of the columnar lemlist flatten (`bulk_sql`): the payload shapes DuckDB parses, the
SQL that writes `raw` back from them, the project's Python rules as Arrow UDFs (once per distinct
value), and the SQL macros reading JSON leaves as `values.py` reads Python values."""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

import pyarrow as pa

from enrich_pipeline.identity import linkedin_slug, person_key, registrable_domain
from enrich_pipeline.model import to_e164

# ------------------------------------------------------------------------------- the shapes

L = "leaf"  # a scalar (string, integer, boolean, null)
F = "flat"  # a scalar, or an object / array of scalars (metadata, input echo, skills)

DATE_PART = {"month": L, "year": L}
DATE = {"end": DATE_PART, "start": DATE_PART}
COMPANY = dict.fromkeys(
    (
        "description",
        "domain",
        "employeesOnLinkedin",
        "foundedOn",
        "headQuarter",
        "id",
        "industry",
        "linkedinUrl",
        "logo",
        "name",
        "size",
        "type",
        "website",
    ),
    L,
)
ROLE = {"companyName": L, "date": DATE, "description": L, "title": L}
GROUP = {"company": COMPANY, "date": DATE, "profilePositions": [ROLE]}
PROFILE: dict[str, Any] = {
    **dict.fromkeys(
        (
            "companyDescription",
            "companyDomain",
            "companyEmployeesOnLinkedin",
            "companyFoundedOn",
            "companyHeadQuarter",
            "companyId",
            "companyIndustry",
            "companyLinkedinUrl",
            "companyLogo",
            "companyName",
            "companySize",
            "companyType",
            "companyWebsite",
            "firstName",
            "industry",
            "lastName",
            "linkedinClassicId",
            "linkedinMemberId",
            "linkedinUrl",
            "locationName",
            "notFound",
            "occupation",
            "picture",
            "summary",
            "tagline",
        ),
        L,
    ),
    "languages": F,
    "skills": F,
    "positionGroups": [GROUP],
}
EMAIL = {"email": L, "notFound": L, "status": L}
PHONE = {"notFound": L, "phone": L}
VERIFY = {"email": L, "notFound": L, "result": L, "status": L}
DATA_WEBHOOK = {
    "find_email": EMAIL,
    "find_phone": PHONE,
    "linkedin_enrichment": PROFILE,
    "verify": VERIFY,
}
DATA_POLL = {"email": EMAIL, "phone": PHONE, "linkedin": PROFILE, "verify": VERIFY}
ITEM = {"data": DATA_WEBHOOK, "error": L, "id": L, "metadata": F}
# Every top-level key of the three shapes; a poll body's `data` (an object) is read by POLL.
TOP = {
    "data": [ITEM],
    "enrichmentStatus": L,
    "error": L,
    "id": L,
    "metadata": F,
    "secret": F,
    "type": L,
}
POLL = {"data": DATA_POLL, "enrichmentId": L, "enrichmentStatus": L, "error": L, "input": F}
SUBMIT = {"error": L, "id": L, "metadata": F}
ECHO = {k: L for k in ("companyDomain", "email", "firstName", "lastName", "linkedinUrl")}


def duckdb_type(shape: Any) -> str:
    """The `json_transform` structure of a shape (every scalar a JSON leaf)."""
    if isinstance(shape, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{duckdb_type(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list):
        return f"[{duckdb_type(shape[0])}]"
    return '"JSON"'


def render(expr: str, shape: Any, depth: int = 0) -> str:
    """SQL giving `json.dumps(value, ensure_ascii=False, sort_keys=True)` of `expr` (a struct of
    `shape`); NULL when the value is absent, and an element that cannot be rendered drops out (so
    the length check sees it)."""
    if isinstance(shape, dict):
        parts = ", ".join(
            f"""'"{key}": ' || {render(f'{expr}."{key}"', shape[key], depth)}"""
            for key in sorted(shape)
        )
        return f"CASE WHEN {expr} IS NOT NULL THEN '{{' || concat_ws(', ', {parts}) || '}}' END"
    if isinstance(shape, list):
        var = f"e{depth}"
        inner = render(var, shape[0], depth + 1)
        return (
            f"CASE WHEN {expr} IS NOT NULL THEN '[' || array_to_string("
            f"list_transform({expr}, lambda {var}: {inner}), ', ') || ']' END"
        )
    if shape == F:
        return f"lm_flat({expr}, ', ', ': ')"
    return f"{expr}::VARCHAR"  # checked once per row on the whole text (see RAW_SUSPECT)


# --------------------------------------------------------------------- Python rules, per value


def per_distinct(rule: Callable[..., str | None], arity: int) -> Callable[..., pa.Array]:
    """An Arrow UDF applying `rule` once per distinct value: each value of a vector is looked up in
    a cache (mapped in Python only the first time it is seen, NULL staying NULL), so a value seen
    before costs a dict lookup. The cache is bounded (it starts again when full), so memory does not
    grow with the input.

    Plain Python, no `pyarrow.compute`: deduplicating a vector with `pc.unique` + `index_in` +
    `take` cost more than the lookups, and held the GIL so long that DuckDB's second thread mostly
    waited for it. DuckDB may call this from both its threads, the GIL interleaving the calls: the
    cache stays consistent because a dict lookup or store is atomic, and a value computed twice, or
    a `clear` during another call, only costs time."""
    cache: dict[Any, str | None] = {}

    def apply1(column: pa.Array) -> pa.Array:
        if len(cache) > 100_000:  # bounded: start again
            cache.clear()
        get, miss = cache.get, cache
        mapped: list[str | None] = []
        append = mapped.append
        for key in column.to_pylist():
            if key is None:
                append(None)
                continue
            value = get(key, miss)
            if value is miss:
                value = cache[key] = _guarded(rule, (key,))
            append(value)
        return strings(mapped)

    def apply3(a: pa.Array, b: pa.Array, c: pa.Array) -> pa.Array:
        # several arguments (rare: the name + domain person_key): one tuple key per row, NULLs
        # passed to the rule as None
        if len(cache) > 100_000:
            cache.clear()
        mapped: list[str | None] = []
        for key in zip(a.to_pylist(), b.to_pylist(), c.to_pylist(), strict=True):
            value = cache.get(key, cache)
            if value is cache:
                value = cache[key] = _guarded(rule, key)
            mapped.append(value)
        return strings(mapped)

    return apply1 if arity == 1 else apply3


def strings(values: list[str | None]) -> pa.Array:
    """`pa.array(values, pa.string())`, built from its buffers: `pa.array` of a Python list imports
    pandas the first time (0.3 s of a 4 s run at 20k payloads), whose types it checks for."""
    data = [b"" if v is None else v.encode() for v in values]
    offsets = array("i", accumulate(map(len, data), initial=0))
    nulls = values.count(None)
    validity = None
    if nulls:
        bits = "".join("0" if v is None else "1" for v in reversed(values))
        validity = pa.py_buffer(int(bits, 2).to_bytes((len(values) + 7) // 8, "little"))
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    return pa.Array.from_buffers(pa.string(), len(values), buffers, null_count=nulls)


FAILED = "\x00"  # what a rule that raised gives: the row goes to Python (which keeps the error)


def _guarded(rule: Callable[..., str | None], args: tuple[Any, ...]) -> str | None:
    try:
        return rule(*args)
    except Exception:  # e.g. urlsplit on an odd URL: Python's flatten turns it into its record
        return FAILED


def _domain(text: str) -> str | None:
    """`parse._domain_of` of one already-stripped value."""
    return registrable_domain(text) or text.lower()


def _name_domain_key(first: str | None, last: str | None, domain: str | None) -> str | None:
    """person_key when neither a LinkedIn URL nor an email is known."""
    return person_key(first_name=first, last_name=last, company_domain=domain)


UDFS: dict[str, tuple[Callable[..., str | None], int]] = {
    "lm_slug": (linkedin_slug, 1),
    "lm_domain": (_domain, 1),
    "lm_e164": (to_e164, 1),
    "lm_nd_key": (_name_domain_key, 3),
}

# ---------------------------------------------------------------------------------- macros

MACROS = r"""
-- the JSON leaf of a present null (see the module doc)
CREATE OR REPLACE MACRO lm_null(x) AS x = '"\\"';
-- a scalar leaf as json.dumps writes it (a null still as the marker, replaced in the whole text);
-- NULL (drops out) for a float, a big or odd number, or a container where a scalar is expected
CREATE OR REPLACE MACRO lm_leaf(x) AS CASE
    WHEN left(x, 1) = '"' OR x = 'true' OR x = 'false' THEN x::VARCHAR
    WHEN regexp_full_match(x, '-?[0-9]{1,18}') THEN x::VARCHAR END;
CREATE OR REPLACE MACRO lm_is_str(x) AS left(x, 1) = '"' AND x <> '"\\"';
-- an integer leaf: a float or an integer of 19+ digits already sent the payload to Python
-- (RAW_SUSPECT), so the first character tells
CREATE OR REPLACE MACRO lm_is_int(x) AS ascii(x) BETWEEN 48 AND 57 OR ascii(x) = 45;
-- the text of a string leaf (an eligible string holds no quote: only the delimiters go)
CREATE OR REPLACE MACRO lm_inner(x) AS trim(x::VARCHAR, '"');
-- values._str: a string stripped (empty -> null), an integer as text, anything else null
CREATE OR REPLACE MACRO lm_str(x) AS CASE
    WHEN left(x, 1) = '"' THEN CASE WHEN x <> '"\\"' THEN nullif(trim(lm_inner(x)), '') END
    WHEN lm_is_int(x) THEN x::VARCHAR END;
-- values._int of an integer leaf (strings go to Python, see lm_int_ok)
CREATE OR REPLACE MACRO lm_int(x) AS CASE WHEN lm_is_int(x) THEN TRY_CAST(x AS BIGINT) END;
CREATE OR REPLACE MACRO lm_int_ok(x) AS x IS NULL OR lm_null(x) OR lm_is_int(x);
-- absent, null or a string
CREATE OR REPLACE MACRO lm_str_ok(x) AS x IS NULL OR lm_null(x) OR lm_is_str(x);
CREATE OR REPLACE MACRO lm_ascii(x) AS x IS NULL OR regexp_full_match(x, '[ -~]*');
-- a JSON text's length without whitespace, and its count of `{` (replace is faster than
-- translate; most payloads hold no newline or tab)
CREATE OR REPLACE MACRO lm_dense(x) AS strlen(replace(x, ' ', ''))
    - CASE WHEN contains(x, chr(10)) OR contains(x, chr(13)) OR contains(x, chr(9))
           THEN strlen(x) - strlen(replace(replace(replace(x, chr(10), ''), chr(13), ''), chr(9), ''))
           ELSE 0 END;
CREATE OR REPLACE MACRO lm_braces(x) AS strlen(x) - strlen(replace(x, '{', ''));
-- a flat object (sorted keys) or array of scalars, as json.dumps with these separators
CREATE OR REPLACE MACRO lm_flat(x, sep, kv) AS CASE
    WHEN left(x, 1) = '{' THEN '{' || array_to_string(list_transform(
        list_sort(map_entries(TRY_CAST(x::JSON AS MAP(VARCHAR, JSON)))),
        lambda f: '"' || f.key || '"' || kv || lm_leaf(f.value)), sep) || '}'
    WHEN left(x, 1) = '[' THEN '[' || array_to_string(list_transform(
        json_transform(x, '["JSON"]'), lambda f: lm_leaf(f)), sep) || ']'
    ELSE lm_leaf(x) END;
-- _metadata_text: a string as it is, an integer as text, an object or array as compact JSON
CREATE OR REPLACE MACRO lm_tag(x) AS CASE
    WHEN lm_is_str(x) THEN lm_inner(x)
    WHEN lm_is_int(x) THEN x::VARCHAR
    WHEN left(x, 1) IN ('{', '[') THEN replace(lm_flat(x, ',', ':'), '"\\"', 'null') END;
-- values._dict truthiness / parse._is_empty of a workflow struct
CREATE OR REPLACE MACRO lm_verdict(x) AS CASE WHEN lower(trim(x)) IN
    ('deliverable', 'risky', 'undeliverable', 'unknown') THEN lower(trim(x)) ELSE 'unknown' END;
-- json.dumps of one string (eligible payloads hold no character it would escape but these)
CREATE OR REPLACE MACRO lm_q(x) AS CASE WHEN x IS NULL THEN 'null'
    ELSE '"' || replace(replace(x, '\', '\\'), '"', '\"') || '"' END;
CREATE OR REPLACE MACRO lm_n(x) AS coalesce(CAST(x AS VARCHAR), 'null');
CREATE OR REPLACE MACRO lm_b(x) AS CASE WHEN x THEN 'true' ELSE 'false' END;
-- parse._split_list: a comma-separated string or a list
CREATE OR REPLACE MACRO lm_skills(x) AS CASE
    WHEN lm_is_str(x) THEN list_filter(list_transform(string_split(lm_inner(x), ','),
        lambda s: nullif(trim(s), '')), lambda s: s IS NOT NULL)
    WHEN left(x, 1) = '[' THEN list_filter(list_transform(json_transform(x, '["JSON"]'),
        lambda s: lm_str(s)), lambda s: s IS NOT NULL)
    ELSE []::VARCHAR[] END;
-- providers.md 4.2 from a LinkedIn URL, an email, or first + last + company domain
CREATE OR REPLACE MACRO lm_key(slug, email, first, last, domain) AS CASE
    WHEN slug IS NOT NULL THEN 'li:/in/' || slug
    WHEN email IS NOT NULL THEN 'em:' || email
    WHEN first IS NOT NULL AND last IS NOT NULL AND domain IS NOT NULL
        THEN lm_nd_key(first, last, domain) END;
"""

# A scalar leaf is written as DuckDB parsed it, so `raw` is checked once as a whole: the text
# after a key (`": `, and `"` cannot occur inside an eligible string) must not be a float, an
# integer of 19+ digits, a compact object (`":` without a space) or an array that is not a list of
# objects (`[1,2]`, `[{},{}]`): json.dumps would write those differently. Python gets them.
RAW_SUSPECT = r'":( (-?[0-9]+[.eE]|-?[0-9]{19}|\[[^{\]])|[^ ])'

# Python strips these, DuckDB's trim does not; control characters and escapes are left to Python.
BAD_CHARS = (
    r"[\x00-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
