"""The fault soak at CI size (issue 26): 100 tasks through the operators, every request, response,
status-read, download and webhook fault of the simulator at once, 20 SIGKILLs of the process running a first try;
the zeros are counted from the simulator's own records (benchmarks/soak.py; the full run is SOAK.md)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.soak import ZEROS, soak


def test_the_soak_at_ci_size_keeps_every_zero(tmp_path: Path) -> None:
    report = soak(jobs=100, kills=20, seed=20261206, time_scale=0.005, workers=6, work=tmp_path, progress=False)
    assert {key: report[key] for key in ZEROS} == dict.fromkeys(ZEROS, 0), json.dumps(report, indent=1, default=str)
    assert report["tasks"] == 100 and sum(report["outcomes"].values()) == 100
    assert report["kills_landed"] >= 10, report["killed_in"]  # the kills happened, at several points
    assert sum(report["faults_fired"].values()) >= 30, report["faults_fired"]  # the faults happened
    assert sum(n for fault, n in report["faults_fired"].items() if fault.startswith("webhook_")) >= 3, report
    assert report["jobs_charged"] >= report["outcomes"].get("success", 0)
