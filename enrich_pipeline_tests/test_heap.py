"""heap.settle: the run's collector settings (issue #12), checked in a fresh interpreter so the test
worker's own collector is left as it is."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc, weakref
import duckdb
from enrich_pipeline import heap
from enrich_pipeline.providers.lemlist import bulk_sql

connection = bulk_sql.connect()  # its UDF types are what nanobind reports if left frozen at exit

class Node:
    pass

before = gc.get_freeze_count()
heap.settle()
print(gc.get_threshold(), gc.get_freeze_count() > before)

# cyclic garbage made after settle() is still collected, only less often
node = Node(); node.self = node
gone = weakref.ref(node)
del node
junk = [[] for _ in range(heap.YOUNG_THRESHOLD * 2)]
print(gone() is None)
"""


def test_settle_freezes_the_imports_and_still_collects_cycles_and_exits_clean() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    out = done.stdout.split("\n")
    assert out[0] == "(50000, 20, 100) True"
    assert out[1] == "True"
    assert "leaked" not in done.stderr  # the frozen heap is freed at exit
