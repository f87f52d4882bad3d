"""Helpers shared by the enrich.so sandbox tests: people picked from the world, polling, shapes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Knowledge, Person, World

PROVIDER = "enrichso"
HEX24 = re.compile(r"^[a-f0-9]{24}$")
ERROR_BASE = "https://dev.enrich.so/errors/"


def knows(world: World, person: Person) -> Knowledge:
    return world.knowledge(PROVIDER, person)


def person_where(world: World, test: Callable[[Person, Knowledge], bool], skip: int = 0) -> Person:
    """The (skip+1)-th person of the world for whom `test(person, enrich.so knowledge)` holds."""
    matches = (p for p in world.people if test(p, knows(world, p)))
    for _ in range(skip):
        next(matches)
    return next(matches)


def reachable(world: World) -> Person:
    """Someone enrich.so knows well: a deliverable work email, a profile and phones."""
    return person_where(
        world,
        lambda p, k: (
            k.email == p.work_email
            and k.email_status == "deliverable"
            and not p.company.catch_all
            and k.profile
            and bool(k.phones)
        ),
    )


def catch_all_person(world: World) -> Person:
    return person_where(world, lambda p, k: p.company.catch_all)


def without_profile(world: World) -> Person:
    return person_where(world, lambda p, k: not k.profile and not k.phones and k.email is None)


def balance(sandbox: SandboxServer) -> int:
    return sandbox.state.wallets[PROVIDER].balance


def credits_net(sandbox: SandboxServer) -> int:
    return int(sandbox.counters()["credits_net"].get(PROVIDER, 0))


def submissions(sandbox: SandboxServer) -> dict[str, int]:
    return dict(sandbox.counters()["submissions"].get(PROVIDER, {}))


def poll_until(
    client: httpx.Client, path: str, done: Callable[[dict[str, Any]], bool], timeout_s: float = 5.0
) -> tuple[dict[str, Any], list[str]]:
    """Poll a status endpoint until `done(body)`; returns the last body and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(path)
        if response.status_code == 429:  # polls count toward the rate limit: back off as told
            time.sleep(float(response.headers["Retry-After"]))
            continue
        body = response.json()
        seen.append(body["data"]["status"])
        if done(body):
            return body, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still {seen[-1]} after {timeout_s}s")
        time.sleep(0.005)


def wait_terminal(client: httpx.Client, status_path: str) -> dict[str, Any]:
    body, _ = poll_until(
        client, status_path, lambda b: b["data"]["status"] in ("completed", "failed")
    )
    return body


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """RFC 9457 body served as application/problem+json (providers.md 2.10)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == ERROR_BASE + slug
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    assert body["instance"].startswith("/requests/")
    return body


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(example: Any, actual: Any, path: str = "$", *, exact: bool = False) -> None:
    """`actual` has every key of `example`, recursively, with the same JSON types; lists compare
    element by element (tests arrange the same kinds of rows in the same order), lists of scalars
    by element type only. With `exact`,
    objects must have exactly the example's keys."""
    assert _kind(actual) == _kind(example), f"{path}: {_kind(actual)} != {_kind(example)}"
    if isinstance(example, dict):
        missing = set(example) - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)}"
        if exact:
            extra = set(actual) - set(example)
            assert not extra, f"{path}: unexpected {sorted(extra)}"
        for key, value in example.items():
            assert_shape(value, actual[key], f"{path}.{key}", exact=exact)
    elif isinstance(example, list) and example and not isinstance(example[0], dict | list):
        # A list of scalars (skills, phones): any length, every element of the example's type.
        for i, got in enumerate(actual):
            assert _kind(got) == _kind(example[0]), f"{path}[{i}]: {_kind(got)}"
    elif isinstance(example, list):
        assert len(actual) == len(example), f"{path}: {len(actual)} items != {len(example)}"
        for i, (want, got) in enumerate(zip(example, actual, strict=True)):
            assert_shape(want, got, f"{path}[{i}]", exact=exact)
