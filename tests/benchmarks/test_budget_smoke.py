"""The shared-budget benchmark (``benchmarks/budget.py``) runs end to end on a few jobs: its processes,
the Redis it starts and the simulator's counts hold together (no timing assertions)."""

from __future__ import annotations

from benchmarks.budget import POLLERS, SUBMITTERS, run_budget


def test_budget_harness_runs_and_only_the_per_process_side_is_answered_429() -> None:
    per_process, shared = run_budget(0.1, ("per-process", "shared"), jobs_each=3)
    jobs = SUBMITTERS * 3
    # Four processes fire 3 submissions each at one instant: each limiter allows them (5 per window),
    # the service's one window of 5 cannot.
    assert per_process["submit_429"] > 0, per_process
    assert shared["submit_429"] == shared["read_429"] == 0, shared
    assert shared["accepted"] == jobs and shared["detected"] == jobs and shared["failed"] == 0, shared
    assert shared["processes"] == SUBMITTERS + POLLERS and shared["windows"] > 0
    assert shared["reads"] > 0 and shared["reads_per_window_max"] <= shared["read_limit"]
    assert shared["unreachable_warnings"] == 0
