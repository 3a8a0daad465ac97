"""Unit tests of the shared mechanisms, with a fake clock where time matters."""

from __future__ import annotations

import pytest

from airflow_provider_mediagen.simulator.clock import Clock, format_seconds
from airflow_provider_mediagen.simulator.faults import FaultInjector, FaultRule
from airflow_provider_mediagen.simulator.ratelimit import FixedWindowLimiter, SlidingWindowLimiter
from airflow_provider_mediagen.simulator.templates import find_template
from airflow_provider_mediagen.simulator.urls import webhook_url_problem


class FakeClock(Clock):
    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(scale)
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now


def test_fixed_window() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(clock)
    decisions = [limiter.hit("k", 3, 10) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after == pytest.approx(10)
    clock.now += 9.9
    assert not limiter.hit("k", 3, 10).allowed
    clock.now += 0.1
    assert limiter.hit("k", 3, 10).remaining == 2
    assert limiter.hit("other", 3, 10).remaining == 2


def test_fixed_window_is_time_scaled() -> None:
    clock = FakeClock(scale=0.01)
    limiter = FixedWindowLimiter(clock)
    assert limiter.hit("k", 1, 10).allowed and not limiter.hit("k", 1, 10).allowed
    clock.now += 0.1
    assert limiter.hit("k", 1, 10).allowed


def test_sliding_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(clock)
    for step in range(3):
        assert limiter.hit("u", 3, 60).allowed
        clock.now += 10
    refused = limiter.hit("u", 3, 60)
    assert not refused.allowed and refused.retry_after == pytest.approx(30)  # oldest hit leaves at +60
    clock.now += 30
    assert limiter.hit("u", 3, 60).allowed
    assert not limiter.hit("u", 3, 60).allowed


@pytest.mark.parametrize(
    ("seconds", "scale", "text"),
    [
        (10, 1, "10"),
        (7.2, 1, "8"),
        (0.2, 1, "1"),
        (0.1, 0.01, "0.1"),
        (0.0001, 0.01, "0.001"),
        (3.0004, 0.5, "3.001"),
        (0, 0.01, "0"),
    ],
)
def test_retry_after_format(seconds: float, scale: float, text: str) -> None:
    assert format_seconds(seconds, scale) == text


def test_fault_rules_are_independent_streams() -> None:
    rule = FaultRule(service="apex", fault="status", status=500, probability=0.5)
    other = FaultRule(service="facedub", fault="status", status=500, probability=0.5)

    def run(interleave: bool) -> list[bool]:
        injector = FaultInjector(seed=42)
        injector.set_rules([rule, other])
        out = []
        for _ in range(50):
            if interleave:
                injector.request_fault("facedub", "GET /usage", "demo")
            out.append(injector.request_fault("apex", "GET /api/jobs", "demo") is not None)
        return out

    assert run(False) == run(True)
    assert 10 < sum(run(False)) < 40


def test_fault_count() -> None:
    injector = FaultInjector(seed=0)
    injector.set_rules([FaultRule(service="apex", fault="job_fail", count=2)])
    assert [injector.job_fails("apex", "POST /api/generate/image", "demo") for _ in range(4)] == [
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("url", "loopback", "ok"),
    [
        ("http://127.0.0.1:8080/x", True, True),
        ("http://localhost:8080/x", True, True),
        ("http://127.0.0.1:8080/x", False, False),
        ("https://example.com/hook", False, True),
        ("https://100.64.1.1/x", False, False),
        ("https://[fd00::1]/x", False, False),
        ("https://intranet/x", False, False),
        ("https://example.com:99999/x", False, False),
    ],
)
def test_webhook_url_rules(url: str, loopback: bool, ok: bool) -> None:
    assert (webhook_url_problem(url, loopback) is None) is ok


def test_templates_by_slug_or_uuid() -> None:
    banner = find_template("summer-sale-banner")
    assert banner is not None and find_template(banner.uid.upper()) is banner
    assert find_template("product-card") and find_template("quote-square") and find_template("nope") is None
