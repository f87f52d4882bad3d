"""The tree's dependency rules, checked in fresh interpreters (sys.modules after the imports):
plain-Python stages never load Dagster, providers never load spend or the warehouse, and the live
path (every key set) never loads the sandbox emulator."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import enrich_pipeline

PLAIN_PACKAGES = ("ingest", "spend", "providers", "warehouse", "webhooks")


def _modules(package: str) -> list[str]:
    path = [os.path.join(enrich_pipeline.__path__[0], package)]
    return sorted(m.name for m in pkgutil.walk_packages(path, prefix=f"enrich_pipeline.{package}."))


def _loaded_after(code: str, env: dict[str, str] | None = None) -> list[str]:
    script = code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plain_python_stages_never_import_dagster_nor_the_sandbox() -> None:
    modules = [m for p in PLAIN_PACKAGES for m in _modules(p)]
    assert len(modules) > 20
    loaded = _loaded_after("\n".join(f"import {m}" for m in modules))
    assert not [m for m in loaded if m == "dagster" or m.startswith("dagster.")]
    assert not [m for m in loaded if m.startswith("enrich_pipeline.sandbox")]
    assert not [m for m in loaded if m.startswith("enrich_pipeline.defs")]


def test_providers_depend_on_the_model_only_never_on_spend_or_the_warehouse() -> None:
    loaded = _loaded_after("\n".join(f"import {m}" for m in _modules("providers")))
    stages = ("enrich_pipeline.spend", "enrich_pipeline.warehouse", "enrich_pipeline.ingest")
    assert not [m for m in loaded if m.startswith(stages)]


def test_the_live_path_never_loads_the_sandbox() -> None:
    keys = {
        "LEMLIST_API_KEY": "live-lemlist-key",
        "ENRICHSO_API_KEY": "live-enrichso-key",
        "THEHOG_ACCESS_KEY": "live-hog-access",
        "THEHOG_SECRET_KEY": "live-hog-secret",
    }
    code = (
        "from enrich_pipeline.defs.resources import provider_resources\n"
        "import enrich_pipeline.definitions\n"
        "for resource in provider_resources().values():\n"
        "    resource.process_config_and_initialize().get_client()\n"
    )
    loaded = _loaded_after(code, keys)
    assert "enrich_pipeline.definitions" in loaded
    assert not [m for m in loaded if m.startswith("enrich_pipeline.sandbox")]
