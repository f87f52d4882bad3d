"""`enrich-pipeline flatten --provider lemlist` against bare DuckDB and pandas on the same payloads.

Generates N varied lemlist payloads from the sandbox's world (the emulator's own webhook item and
profile builders, so shapes are realistic: rich and documented webhook bodies, enrichmentError,
poll bodies in both naming schemes, submit answers, a few odd shapes), writes them as JSON lines,
then measures, each in its own process (peak RSS from the child's rusage):

* project  — `enrich-pipeline flatten --provider lemlist FILE --format parquet --out OUT`
* duckdb   — bare `read_json` + `unnest(data)` of the same file, COPY to Parquet (the baseline)
* pandas   — `json_normalize` of the same file (record_path `data`), to Parquet

and prints each wall time and peak RSS (medians of --repeat runs, interleaved), then as its LAST
line `ratio=<project/duckdb>`. Payloads are generated and written one at a time (memory does not
grow with N), so 1,000,000 payloads fit; pandas holds every payload in memory (--skip-pandas).

    .venv/bin/python benchmarks/flatten_vs_duckdb.py 20000 --repeat 3
    .venv/bin/python benchmarks/flatten_vs_duckdb.py 200000 --skip-pandas
    .venv/bin/python benchmarks/flatten_vs_duckdb.py 1000000 --skip-pandas   # peak RSS at scale
    .venv/bin/python benchmarks/flatten_vs_duckdb.py 20000 --no-sql        # every payload in Python
    .venv/bin/python benchmarks/flatten_vs_duckdb.py 20000 --python-path   # the whole-file path
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# ------------------------------------------------------------------------------- payloads


def lemlist_payloads(n: int, seed: int = 7, *, people: int = 3000) -> Iterator[dict[str, Any]]:
    """`n` lemlist payloads drawn from a sandbox world: mostly webhook bodies (rich and documented
    shapes, enrichmentDone and enrichmentError), some poll bodies, submit answers and odd ones."""
    from enrich_pipeline.sandbox.providers.lemlist_answers import linkedin_profile
    from enrich_pipeline.sandbox.world import World

    world = World.build(seed=42, people=people, companies=max(50, people // 7))
    rng = random.Random(seed)
    profiles: dict[str, dict[str, Any]] = {}
    for i in range(n):
        person = world.people[rng.randrange(len(world.people))]
        knowledge = world.knowledge("lemlist", person)
        if person.person_id not in profiles:
            profiles[person.person_id] = linkedin_profile(world, person)
        profile = profiles[person.person_id]
        enr = f"enr_{i:017d}"
        roll = rng.random()
        if roll < 0.80:
            yield _webhook(rng, enr, person, knowledge, profile)
        elif roll < 0.93:
            yield _poll(rng, enr, person, knowledge, profile)
        elif roll < 0.98:
            yield _submit(rng, enr, person)
        else:
            yield _odd(rng, enr, person)


def _metadata(rng: random.Random, person: Any) -> Any:
    roll = rng.random()
    if roll < 0.6:
        return f"li:/in/{person.linkedin_slug}"
    if roll < 0.8:
        return {"crm_id": f"C-{rng.randrange(100000)}"}
    if roll < 0.9:
        return f"row-{rng.randrange(1000)}"
    return None


def _findings(rng: random.Random, knowledge: Any, profile: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if rng.random() < 0.9:
        if knowledge.email:
            status = knowledge.email_status or "unknown"
            found["find_email"] = {"email": knowledge.email, "status": status}
        else:
            found["find_email"] = None
    if rng.random() < 0.5:
        found["find_phone"] = {"phone": knowledge.phones[0].number} if knowledge.phones else None
    if rng.random() < 0.6:
        found["linkedin_enrichment"] = profile if knowledge.profile else None
    if rng.random() < 0.1:
        found["verify"] = {"email": knowledge.email or "x@example.test", "status": "risky"}
    return found


def _webhook(
    rng: random.Random, enr: str, person: Any, knowledge: Any, profile: dict[str, Any]
) -> dict[str, Any]:
    found = _findings(rng, knowledge, profile)
    documented = rng.random() < 0.4
    if documented:  # not-found types omitted (1.7 c)
        data = {k: v for k, v in found.items() if v is not None}
    else:  # not-found types as {"notFound": true}
        data = {k: (v if v is not None else {"notFound": True}) for k, v in found.items()}
    item: dict[str, Any] = {"id": enr}
    if rng.random() < 0.9:
        item["metadata"] = _metadata(rng, person)
    item["data"] = data
    error = rng.random() < 0.04
    if error:
        item["error"] = rng.choice(["Insufficient credits", "Enrichment failed"])
    body = {"type": "enrichmentError" if error else "enrichmentDone", "data": [item]}
    if rng.random() < 0.05:
        body["secret"] = "s3cret"
    return body


_POLL_KEYS = {
    "find_email": "email",
    "find_phone": "phone",
    "linkedin_enrichment": "linkedin",
    "verify": "verify",
}


def _poll(
    rng: random.Random, enr: str, person: Any, knowledge: Any, profile: dict[str, Any]
) -> dict[str, Any]:
    echo = {"firstName": person.first_name, "lastName": person.last_name}
    if rng.random() < 0.8:
        echo["linkedinUrl"] = person.linkedin_url
    echo["companyName"] = person.company.name
    echo["companyDomain"] = person.company.domain
    if rng.random() < 0.2:
        return {"enrichmentId": enr, "enrichmentStatus": "in-progress", "input": echo, "data": {}}
    data: dict[str, Any] = {}
    for workflow, value in _findings(rng, knowledge, profile).items():
        key = _POLL_KEYS[workflow]
        if value is None:
            data[key] = {"email": None, "notFound": True} if key == "email" else {"notFound": True}
        elif key == "email":
            data[key] = {"email": value["email"], "notFound": False}
        else:
            data[key] = {**value, "notFound": False}
    return {"enrichmentId": enr, "enrichmentStatus": "done", "input": echo, "data": data}


def _submit(rng: random.Random, enr: str, person: Any) -> Any:
    metadata = _metadata(rng, person)
    if rng.random() < 0.3:
        return {"error": "MISSING_INPUTS", "metadata": metadata}
    return {"id": enr, "metadata": metadata}


def _odd(rng: random.Random, enr: str, person: Any) -> Any:
    return rng.choice(
        [
            {"credits": 940, "details": {"remaining": {"total": 940}}},
            {"type": "emailsSent", "data": {}},
            {"enrichmentId": enr, "enrichmentStatus": "exploded", "data": {}},
            {"_id": enr, "status": "completed", "email": "G@H.io", "credits": 5},
            {"type": "enrichmentDone", "data": [7]},
            {"type": "enrichmentDone", "data": [{"id": enr, "data": {"emailFinder": {}}}]},
            {
                "type": "enrichmentDone",
                "data": [
                    {"id": enr, "data": {"find_phone": {"phone": ["+44 20 7946 0958", "12"]}}}
                ],
            },
        ]
    )


def write_jsonl(path: Path, n: int, seed: int = 7) -> int:
    with path.open("w", encoding="utf-8") as out:
        for payload in lemlist_payloads(n, seed):
            out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    return path.stat().st_size


# ------------------------------------------------------------------------------- measuring

_DUCKDB = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET preserve_insertion_order = true")
con.execute(f\"\"\"
COPY (
    SELECT type, unnest(from_json(data::JSON, '["JSON"]')) AS item
    FROM read_json('{sys.argv[1]}', format = 'newline_delimited', union_by_name = true,
                   sample_size = -1, maximum_object_size = 268435456)
    WHERE json_type(data::JSON) = 'ARRAY'
) TO '{sys.argv[2]}' (FORMAT parquet)
\"\"\")
"""

_PANDAS = """
import json, sys
import pandas as pd
with open(sys.argv[1], encoding='utf-8') as f:
    payloads = [json.loads(line) for line in f]
webhooks = [p for p in payloads if isinstance(p, dict) and isinstance(p.get('data'), list) and all(isinstance(i, dict) for i in p['data'])]
frame = pd.json_normalize(webhooks, record_path='data', meta=['type'], errors='ignore')
frame = frame.astype(str)
frame.to_parquet(sys.argv[2])
"""


def _measure_isolated(
    name: str, argv: list[str], env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Measures through a wrapper process so each child's peak RSS is its own (RUSAGE_CHILDREN
    of a fresh wrapper)."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:]).returncode\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': rc, 'wall': wall, 'peak_kib': peak}))\n"
    )
    done = subprocess.run(
        [PYTHON, "-c", wrapper, *argv], env=env, capture_output=True, text=True, check=False
    )
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}") from None
    if result["rc"] != 0:
        raise SystemExit(f"{name} failed ({result['rc']}):\n{done.stderr[-2000:]}")
    return result["wall"], result["peak_kib"] / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of payloads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--python-path", action="store_true", help="measure the whole-file Python path instead"
    )
    parser.add_argument(
        "--no-sql", action="store_true", help="measure the streamed per-payload Python reader"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each contender (median)")
    parser.add_argument("--out", choices=["parquet", "jsonl"], default="parquet")
    parser.add_argument("--keep", type=Path, help="keep the generated payloads in this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="flatten-bench-") as tmp:
        source = args.keep or Path(tmp) / "payloads.jsonl"
        started = time.perf_counter()
        size = write_jsonl(source, args.n, args.seed)
        print(
            f"payloads: {args.n} lemlist payloads, {size / 2**20:.1f} MiB of JSON lines "
            f"(generated in {time.perf_counter() - started:.1f}s)"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = [PYTHON, "-m", "enrich_pipeline.cli", "flatten", "--provider", "lemlist"]
        project = [*cli, str(source), "--format", args.out, "--out", f"{tmp}/project.{args.out}"]
        if args.python_path:
            project.append("--python-path")
        if args.no_sql:
            project.append("--no-sql")
        contenders = {
            "project": project,
            "duckdb": [PYTHON, "-c", _DUCKDB, str(source), f"{tmp}/duckdb.parquet"],
        }
        if not args.skip_pandas:
            contenders["pandas"] = [PYTHON, "-c", _PANDAS, str(source), f"{tmp}/pandas.parquet"]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(max(1, args.repeat)):  # interleaved, so a busy moment hits all alike
            for name, command in contenders.items():
                runs[name].append(_measure_isolated(name, command, env))
        results = {
            name: (statistics.median(w for w, _ in got), statistics.median(r for _, r in got))
            for name, got in runs.items()
        }
        for name, (wall, rss) in results.items():
            walls = " ".join(f"{w:.2f}" for w, _ in runs[name])
            print(f"{name:8s} wall={wall:7.2f}s peak_rss={rss:8.1f} MiB  (runs: {walls})")
        project_wall, duckdb_wall = results["project"][0], results["duckdb"][0]
        if "pandas" in results:
            faster = "yes" if project_wall < results["pandas"][0] else "no"
            print(f"project faster than pandas: {faster}")
        print(f"ratio={project_wall / duckdb_wall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
