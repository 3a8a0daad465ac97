"""The benchmark harness runs end to end on a tiny N and ours sends no 429 (no timing assertions)."""

from __future__ import annotations

import math

import pytest

from benchmarks.run import run_waits
from benchmarks.sim import SimProcess


@pytest.fixture(scope="module")
def sim():
    with SimProcess(0.01) as process:
        yield process


@pytest.mark.parametrize("scenario", ["apex", "mixed"])
def test_harness_runs_and_ours_sends_no_429(sim: SimProcess, scenario: str) -> None:
    ours = run_waits(sim, 0.01, scenario, 6, "ours", tag=f"smoke{scenario[:2]}")
    assert ours["r429"] == 0
    assert ours["detected"] == 6, ours
    assert ours["status_requests"] > 0
    assert not math.isnan(ours["p95"]) and ours["bound"] > 0
    base = run_waits(sim, 0.01, scenario, 6, "baseline", tag=f"smokeb{scenario[:2]}", cap=20.0)
    assert base["status_requests"] > 0
