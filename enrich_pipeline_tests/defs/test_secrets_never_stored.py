"""Issue 10, secrets: a provider that echoes the key it was sent gets it stored nowhere.

A local fake provider answers every request with 401 and a body that repeats the credentials in
every form they travel in (the header as sent, plain, base64 of `:key` / `key:` / `access:secret`,
URL-encoded, as a bearer token and an `api_key=` parameter). A day runs through the real pipeline
against it, with a Dagster instance on disk (run and event storage, compute logs); then every file
the run wrote, the captured output and the log records are searched for every form of every key.
Also: a refused key fails the step at once (no retry) naming its variable, a literal key in run
config is refused before a run exists, and configuration that mixes the modes is an error.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import dagster as dg
import httpx
import pyarrow.parquet as pq
import pytest

from enrich_pipeline.defs.resources import (
    EnrichsoResource,
    LemlistResource,
    LiteralKeyError,
    ThehogResource,
    provider_resources,
)
from enrich_pipeline.mode import ModeError
from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.providers.redaction import PLACEHOLDER, redact
from enrich_pipeline.sandbox.world import World
from enrich_pipeline.settings import Settings
from enrich_pipeline_tests.pipeline_helpers import Pipeline

DAY = "2026-11-03"
VARIABLES = ("LEMLIST_API_KEY", "ENRICHSO_API_KEY", "THEHOG_ACCESS_KEY", "THEHOG_SECRET_KEY")
VARIABLE_OF = {"lemlist": "LEMLIST_API_KEY", "enrichso": "ENRICHSO_API_KEY", "thehog": "THEHOG_"}


def _planted() -> dict[str, str]:
    """Distinct random keys, with characters that URL-encoding and base64 change."""
    return {
        name: f"{name[:2].lower()}_{secrets.token_hex(10)}/{secrets.token_urlsafe(6)}+{i}"
        for i, name in enumerate(VARIABLES)
    }


def forms(keys: dict[str, str]) -> dict[str, str]:
    """Every form of every key to search for (computed here, apart from the code under test)."""
    out: dict[str, str] = {}
    for name, key in keys.items():
        out[f"{name} plain"] = key
        out[f"{name} url"] = quote(key, safe="")
        out[f"{name} url+"] = quote_plus(key)
        for raw in (key, f":{key}", f"{key}:"):
            out[f"{name} base64({raw.replace(key, 'key')})"] = base64.b64encode(
                raw.encode()
            ).decode()
    pair = f"{keys['THEHOG_ACCESS_KEY']}:{keys['THEHOG_SECRET_KEY']}"
    out["access:secret base64"] = base64.b64encode(pair.encode()).decode()
    return out


class EchoingProvider:
    """Answers every request 401, repeating every credential it was sent in every form, in each
    provider's error format (lemlist text/plain, enrich.so problem+json, The Hog JSON)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                provider = self.path.strip("/").split("/")[0]
                outer.requests[provider] += 1
                sent = [
                    v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "x-api-key", "x-access-key", "x-secret-key")
                ]
                keys = []
                for value in sent:
                    scheme, _, credential = value.partition(" ")
                    if scheme == "Basic":
                        keys.append(base64.b64decode(credential).decode().partition(":")[2])
                    else:
                        keys.append(value)
                echo = [f"you sent {'; '.join(f'{k}: {v}' for k, v in self.headers.items())}"]
                for key in keys:
                    echo += [
                        f"invalid key {key}",
                        f"Bearer {key}",
                        f"?api_key={quote(key, safe='')}&token={quote_plus(key)}",
                        *(base64.b64encode(r.encode()).decode() for r in (f":{key}", f"{key}:")),
                    ]
                if len(keys) == 2:
                    echo.append(base64.b64encode(":".join(keys).encode()).decode())
                text = " | ".join(echo)
                if provider == "lemlist":
                    body, kind = text.encode(), "text/plain; charset=utf-8"
                elif provider == "enrichso":
                    problem = {"type": "https://enrich.so/errors/unauthorized", "detail": text}
                    body, kind = json.dumps(problem).encode(), "application/problem+json"
                else:
                    body, kind = (
                        json.dumps({"message": text, "code": 401}).encode(),
                        "application/json",
                    )
                self.send_response(401)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> EchoingProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    keys = _planted()
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    for name in ("ENRICH_MODE", "LEMLIST_BASE_URL", "ENRICHSO_BASE_URL", "THEHOG_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return keys


@pytest.fixture
def echoing() -> Iterator[EchoingProvider]:
    with EchoingProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(seed=11, people=300, companies=60)


def _resources(url: str) -> dict[str, object]:
    return {
        "lemlist": LemlistResource(api_key=dg.EnvVar("LEMLIST_API_KEY"), base_url=f"{url}/lemlist"),
        "enrichso": EnrichsoResource(
            api_key=dg.EnvVar("ENRICHSO_API_KEY"), base_url=f"{url}/enrichso"
        ),
        "thehog": ThehogResource(
            access_key=dg.EnvVar("THEHOG_ACCESS_KEY"),
            secret_key=dg.EnvVar("THEHOG_SECRET_KEY"),
            base_url=f"{url}/thehog",
        ),
    }


def _as_text(path: Path) -> bytes:
    """A file's bytes, plus a Parquet file's values as text (its pages may be compressed)."""
    content = path.read_bytes()
    if path.suffix == ".parquet":
        content += json.dumps(pq.read_table(path).to_pylist(), default=str).encode()
    return content


@pytest.mark.parametrize("provider", ["lemlist", "enrichso", "thehog"])
def test_a_key_echoed_in_a_401_is_stored_nowhere_and_fails_the_step_at_once(
    provider: str,
    planted: dict[str, str],
    echoing: EchoingProvider,
    world: World,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx included
    pipeline = Pipeline(
        tmp_path / "pipeline",
        settings=Settings(provider_order=(provider,)),
        providers=_resources(echoing.url),
    )
    pipeline.write_day(world, DAY, 8, seed=1)
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))

    started = time.monotonic()
    result = pipeline.materialize(DAY, instance=instance, raise_on_error=False)
    elapsed = time.monotonic() - started

    # failed at once: one request, no retry, well under the step's 30 s retry wait
    assert not result.success
    assert elapsed < 20, f"a refused key took {elapsed:.1f}s to fail"
    assert echoing.requests == {provider: 1}, "a 401 was retried"
    events = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in events and "STEP_RESTARTED" not in events
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == f"{provider}_enrichment"
    said = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert VARIABLE_OF[provider] in said and "refused" in said
    assert PLACEHOLDER in said  # the echo was there, and was cut out

    # stored nowhere: every file the run wrote, the captured output, the log records
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "ledger.sqlite" for p in written)
    assert any("compute_logs" in p.parts for p in written), "compute logs were captured"
    assert any(p.name == "runs.db" for p in written)
    captured = capfd.readouterr()
    texts = {str(p): _as_text(p) for p in written}
    texts |= {"stdout": captured.out.encode(), "stderr": captured.err.encode()}
    texts["caplog"] = "\n".join(
        [
            caplog.text,
            *(str(r.args) for r in caplog.records),
            *(r.getMessage() for r in caplog.records),
        ]
    ).encode()
    assert b"refused the key" in texts["caplog"] + texts["stderr"]  # the error was logged
    leaks = [
        f"{what} in {where}"
        for what, form in forms(planted).items()
        for where, content in texts.items()
        if form.encode() in content
    ]
    assert not leaks


def test_a_literal_key_in_run_config_is_refused_before_a_run_exists(
    planted: dict[str, str], echoing: EchoingProvider, world: World, tmp_path: Path
) -> None:
    literal = f"lk_typed_{secrets.token_hex(12)}"
    pipeline = Pipeline(
        tmp_path / "pipeline",
        settings=Settings(provider_order=("lemlist",)),
        providers=_resources(echoing.url),
    )
    pipeline.write_day(world, DAY, 4, seed=1)
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    typed = {"resources": {"lemlist": {"config": {"api_key": literal}}}}
    with pytest.raises(dg.DagsterInvalidConfigError) as refused:
        dg.materialize(
            pipeline.assets(),
            partition_key=DAY,
            instance=instance,
            resources={"store": pipeline.store(), **pipeline.providers},
            run_config=typed,
        )
    message = str(refused.value)
    assert "api_key" in message and "{ env: LEMLIST_API_KEY }" in message
    assert literal not in message
    assert instance.get_runs() == []  # refused before the run was created
    assert echoing.requests == {}
    stored = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "runs.db" for p in stored)
    assert not [p for p in stored if literal.encode() in p.read_bytes()]

    # the form that works: the variable's name, the key from the environment
    job = dg.Definitions(
        assets=pipeline.assets(), resources={"store": pipeline.store(), **pipeline.providers}
    ).resolve_implicit_global_asset_job_def()
    by_name = {"resources": {"lemlist": {"config": {"api_key": {"env": "LEMLIST_API_KEY"}}}}}
    dg.validate_run_config(job, by_name)

    # in code: refused with the message that says how, never echoing the value
    with pytest.raises(LiteralKeyError) as in_code:
        LemlistResource(api_key=literal)
    assert "set LEMLIST_API_KEY in the environment; in run config use {env: LEMLIST_API_KEY}" in (
        str(in_code.value)
    )
    assert literal not in str(in_code.value)
    with pytest.raises(LiteralKeyError, match="THEHOG_SECRET_KEY"):
        ThehogResource(access_key=dg.EnvVar("THEHOG_ACCESS_KEY"), secret_key=literal)
    with pytest.raises(LiteralKeyError) as other:
        EnrichsoResource(api_key=dg.EnvVar(literal))  # a "variable name" that is a key
    assert literal not in str(other.value)


def test_configuration_that_mixes_sandbox_and_live_is_an_error_that_says_what_to_set(
    planted: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # run config replaces a resource's configuration as a whole: only base_url given, the key
    # and the live mode are still taken from the environment (they used to be dropped, and the
    # run fell back to the sandbox without a word)
    live = LemlistResource(api_key=dg.EnvVar("LEMLIST_API_KEY"), mode="live")
    with dg.build_resources(
        {"lemlist": live},
        resource_config={"lemlist": {"config": {"base_url": "http://127.0.0.1:9/lemlist"}}},
    ) as built:
        client = built.lemlist.get_client()
        assert client.transport.base_url == "http://127.0.0.1:9/lemlist"
        request = client.transport.client.build_request("GET", "/team/credits")  # type: ignore[union-attr]
        sent = next(client.transport.auth.auth_flow(request))
        expected = base64.b64encode(f":{planted['LEMLIST_API_KEY']}".encode()).decode()
        assert sent.headers["authorization"] == f"Basic {expected}"
        client.close()

    # base_url set but the mode is sandbox (no key, or ENRICH_MODE=sandbox): an error, not ignored
    with pytest.raises(ModeError, match="base_url is set but the mode is sandbox") as mixed:
        LemlistResource(base_url="https://proxy.example.test", mode="sandbox").get_client()
    assert "set LEMLIST_API_KEY in the environment" in str(mixed.value)
    for name in VARIABLES:
        monkeypatch.delenv(name)
    with pytest.raises(ModeError, match="To go live: set LEMLIST_API_KEY"):
        LemlistResource(base_url="https://proxy.example.test").get_client()
    sandbox_only = LemlistResource(mode="sandbox")
    with (
        pytest.raises(dg.DagsterResourceFunctionError) as at_init,
        dg.build_resources(
            {"lemlist": sandbox_only},
            resource_config={"lemlist": {"config": {"base_url": "https://proxy.example.test"}}},
        ),
    ):
        pass
    assert "base_url is set but the mode is sandbox" in str(at_init.value.__cause__)
    monkeypatch.setenv("ENRICHSO_BASE_URL", "https://proxy.example.test/enrichso")
    with pytest.raises(ModeError, match="ENRICHSO_BASE_URL is set but the mode is sandbox"):
        Settings.from_env()
    monkeypatch.delenv("ENRICHSO_BASE_URL")

    # live mode without the key: an error naming the variable and how to pass it
    with pytest.raises(ModeError, match="live mode needs ENRICHSO_API_KEY: set ENRICHSO_API_KEY"):
        EnrichsoResource(mode="live").get_client()
    with pytest.raises(ModeError, match="live mode"):
        Settings.from_env({"ENRICH_MODE": "live", "ENRICH_PROVIDER_ORDER": "thehog"})
    assert all(
        r.process_config_and_initialize().uses_sandbox for r in provider_resources().values()
    )


def test_one_redaction_removes_every_form_of_the_keys_and_anything_shaped_like_one() -> None:
    key = f"lk_{secrets.token_hex(12)}/+="
    client = LemlistClient.create(key, base_url="http://fake.test")

    def answer(request: httpx.Request) -> httpx.Response:
        basic = base64.b64encode(f":{key}".encode()).decode()
        if request.url.path == "/echo-ok":  # an answer (data): only our key's forms go
            return httpx.Response(200, json={"note": f"key {key} / {basic}", "id": "enr_1"})
        return httpx.Response(401, text=f"bad {quote(key, safe='')} Authorization: Basic {basic}")

    transport = client.transport
    transport.client = httpx.Client(
        base_url="http://fake.test", auth=transport.auth, transport=httpx.MockTransport(answer)
    )
    _, body = transport.request_json("GET", "/echo-ok", idempotent=True)
    assert body == {"note": f"key {PLACEHOLDER} / {PLACEHOLDER}", "id": "enr_1"}
    with pytest.raises(Exception) as refused:
        transport.request_json("GET", "/echo-401", idempotent=True)
    assert key not in str(refused.value) and quote(key, safe="") not in str(refused.value)
    assert "LEMLIST_API_KEY" in str(refused.value)
    client.close()

    shaped = {
        "Authorization: Bearer abcDEF0123456789xyz": f"Authorization: {PLACEHOLDER}",
        '{"x-api-key": "fake_0123456789abcdef"}': f'{{"x-api-key": "{PLACEHOLDER}"}}',
        "GET /v1?api_key=9f8e7d6c5b4a39281706f&page=2": f"GET /v1?api_key={PLACEHOLDER}&page=2",
        "token=A1b2C3d4E5f6G7h8I9j0": f"token={PLACEHOLDER}",
        "use Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig": f"use Bearer {PLACEHOLDER}",
    }
    for text, expected in shaped.items():
        assert redact(text) == expected
        assert redact(expected) == expected  # idempotent
    for harmless in (
        "Basic authentication required",
        "The authentication you supplied is incorrect",
        "batch 65f1c2d3e4f5a6b7c8d9e0f1 failed",
        "person_key=li:/in/some-slug-1234",
    ):
        assert redact(harmless) == harmless
