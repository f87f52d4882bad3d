"""The client's own pace: a sliding-window log that never lets more than `limit` through per window."""

from __future__ import annotations

from enrich_pipeline.providers.pacing import SlidingWindowPacer
from enrich_pipeline.providers.transport import parse_error, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_pacer_lets_a_full_window_through_then_waits_for_the_oldest_to_expire() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(20, 2.0, margin=0.0, margin_s=0.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(60):
        pacer.acquire()
        sent.append(clock.t)
    assert sent[:20] == [0.0] * 20
    for i in range(20, 60):  # never 21 inside any 2 s window
        assert sent[i] - sent[i - 20] >= 2.0
    assert sent[-1] == 4.0  # 60 requests at 20 / 2 s take exactly two more windows


def test_pacer_hold_blocks_everyone_until_retry_after() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(5, 1.0, margin=0.0, margin_s=0.0, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.hold(3.5)
    pacer.acquire()
    assert clock.t == 3.5


def test_margin_stretches_the_window() -> None:
    clock = FakeClock()
    pacer = SlidingWindowPacer(1, 1.0, margin=0.05, margin_s=0.0, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    pacer.acquire()
    assert abs(clock.t - 1.05) < 1e-9


def test_parse_retry_after_accepts_seconds_decimals_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.020") == 0.02
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_parse_error_reads_every_provider_error_format() -> None:
    import httpx

    def response(status: int, body: str, content_type: str) -> httpx.Response:
        return httpx.Response(status, content=body.encode(), headers={"content-type": content_type})

    text = parse_error(response(401, "The authentication you supplied is incorrect", "text/plain"))
    assert text.message == "The authentication you supplied is incorrect" and text.code is None
    lemlist_json = parse_error(
        response(404, '{"error": "Lead not found", "code": "LEAD_NOT_FOUND"}', "application/json")
    )
    assert (lemlist_json.message, lemlist_json.code) == ("Lead not found", "LEAD_NOT_FOUND")
    bulk = parse_error(response(400, '{"error": "NO_ENRICHMENTS_REQUESTED"}', "application/json"))
    assert bulk.code == "NO_ENRICHMENTS_REQUESTED"
    problem = parse_error(
        response(
            402,
            '{"type": "https://dev.enrich.so/errors/insufficient-credits", "title": "Insufficient '
            'Credits", "status": 402, "detail": "Not enough credits. Required: 10, available: 3"}',
            "application/problem+json",
        )
    )
    assert problem.code == "insufficient-credits" and problem.message.startswith("Not enough")
    legacy = parse_error(
        response(
            402,
            '{"error": "Payment Required", "message": "Insufficient credits", "statusCode": 402}',
            "application/json",
        )
    )
    assert legacy.message == "Insufficient credits"
    hog = parse_error(
        response(
            400,
            '{"statusCode": 400, "error": "Bad Request", "message": "Validation failed", '
            '"path": "/api/enrichments", "timestamp": "2026-03-02T10:40:11.000Z"}',
            "application/json",
        )
    )
    assert hog.message == "Validation failed"
