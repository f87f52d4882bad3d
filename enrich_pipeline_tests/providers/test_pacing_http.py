"""The client's own pace against the live sandbox: a long run at the documented limit meets no 429
and still uses at least 90 % of the allowed rate (counted by the sandbox)."""

from __future__ import annotations

import time

from enrich_pipeline.providers.lemlist import LemlistClient
from enrich_pipeline.sandbox.server import SandboxServer

SPEED = 0.2  # lemlist's 20 requests / 2 s becomes 20 / 400 ms: 50 requests a second allowed


def test_several_hundred_requests_at_the_limit_meet_no_429_and_use_90_percent_of_the_rate(
    sandbox: SandboxServer,
) -> None:
    sandbox.admin("POST", "config", json={"speed": SPEED})
    client = LemlistClient.create(
        sandbox.state.config.lemlist_api_key, base_url=sandbox.base_url("lemlist"), speed=SPEED
    )
    requests, limit, window_s = 200, 20, 2.0 * SPEED
    started = time.monotonic()
    for _ in range(requests):
        assert client.credits_remaining() == 100_000
    elapsed = time.monotonic() - started
    client.close()

    served = sandbox.counters()["requests"]["lemlist"]["GET /team/credits"]
    assert served == {"200": requests}, "no 429: the client paced itself"
    # The first window's burst is free; after it, the sandbox allows limit/window requests a second.
    sustained_rate = (requests - limit) / elapsed
    allowed_rate = limit / window_s
    assert sustained_rate >= 0.9 * allowed_rate, f"{sustained_rate:.0f}/s of {allowed_rate:.0f}/s"
