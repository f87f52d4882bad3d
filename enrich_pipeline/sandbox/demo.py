"""`make run` (for now): start the sandbox, make one enrichment per provider over HTTP, stop."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from enrich_pipeline.sandbox.config import SandboxConfig
from enrich_pipeline.sandbox.server import SandboxServer
from enrich_pipeline.sandbox.world import Person, ProviderName, World

DEMO_SPEED = 0.05  # job delays of seconds become tenths of a second


def _known_person(world: World, provider: ProviderName) -> Person:
    """The first person this provider can give a correct email and a phone for."""
    for person in world.people:
        known = world.knowledge(provider, person)
        if known.email == person.work_email and known.phones and known.profile:
            return person
    raise RuntimeError(f"no person fully known to {provider} in this world")


def _show(title: str, response: httpx.Response) -> Any:
    body = response.json()
    text = json.dumps(body, ensure_ascii=False, indent=2)
    lines = text.splitlines()
    if len(lines) > 30:
        lines = [*lines[:30], f"  ... ({len(lines) - 30} more lines)"]
    print(f"\n== {title} -> HTTP {response.status_code}")
    print("\n".join(lines))
    return body


def _poll(
    client: httpx.Client, path: str, done: set[int], timeout_s: float = 20.0
) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(path)
        if response.status_code in done or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def run_demo() -> int:
    config = SandboxConfig(speed=DEMO_SPEED)
    with SandboxServer(config) as sandbox:
        world = sandbox.state.world
        print(
            f"sandbox up at {sandbox.url} ({len(world.people)} synthetic people, speed {DEMO_SPEED})"
        )
        print("serve it yourself in the foreground with: make sandbox   (port 8700)")

        person = _known_person(world, "lemlist")
        with httpx.Client(
            base_url=sandbox.base_url("lemlist"), auth=("", config.lemlist_api_key)
        ) as lemlist:
            submitted = lemlist.post(
                "/enrich",
                params={
                    "findEmail": "true",
                    "findPhone": "true",
                    "linkedinUrl": person.linkedin_url,
                },
            )
            enrichment = _show(f"lemlist POST /enrich ({person.linkedin_url})", submitted)
            _show("lemlist GET /enrich/{id}", _poll(lemlist, f"/enrich/{enrichment['id']}", {200}))

        person = _known_person(world, "enrichso")
        with httpx.Client(
            base_url=sandbox.base_url("enrichso"), headers={"x-api-key": config.enrichso_api_key}
        ) as enrichso:
            _show(
                f"enrich.so POST /email-finder ({person.first_name} {person.last_name})",
                enrichso.post(
                    "/email-finder",
                    json={
                        "firstName": person.first_name,
                        "lastName": person.last_name,
                        "domain": person.company.domain,
                    },
                ),
            )

        person = _known_person(world, "thehog")
        with httpx.Client(
            base_url=sandbox.base_url("thehog"),
            headers={
                "X-Access-Key": config.thehog_access_key,
                "X-Secret-Key": config.thehog_secret_key,
            },
        ) as thehog:
            _show(
                f"The Hog POST /api/enrichments ({person.linkedin_url})",
                thehog.post(
                    "/api/enrichments",
                    json={
                        "identifier": {"linkedin_url": person.linkedin_url},
                        "fields": ["contact.email", "contact.phone"],
                    },
                ),
            )
        credits = sandbox.counters()["credits_net"]
        print(f"\ncredits charged by the sandbox: {json.dumps(credits)}")
    print("sandbox stopped. Next: make test")
    return 0
