"""Files whole or not at all, through real Airflow (``dag.test()``) against the simulator's download faults
(issue: files whole): a download cut once is fetched again and the file is byte-identical to the simulator's;
a download cut every time fails the task naming the job and leaves nothing at the final name, nor any
temporary file beside it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_dag

MONEY = "mediagen_money_dags.py"


def _outputs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "out" / "image"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("mode", ["deferrable", "worker"])
def test_a_download_cut_once_is_written_whole(mode: str, simulator: Any, tmp_path: Path) -> None:
    simulator.set_faults([{"service": "apex", "fault": "truncate", "count": 1}])
    run, tis = run_dag(f"money_apex_{mode}", MONEY)
    assert run.state == "success" and tis["image"].try_number == 1
    [job] = [j for j in simulator.jobs() if j["service"] == "apex"]
    assert simulator.counters()["apex"]["demo"]["downloads_truncated"] == 1
    [written] = _outputs(tmp_path)  # no temporary left beside it
    assert hashlib.sha256(written.read_bytes()).hexdigest() == job["outputs"][0]["sha256"]
    assert written.name == f"{job['id']}-image.png"


def test_a_download_cut_every_time_fails_naming_the_job_and_leaves_nothing(simulator: Any,
                                                                            tmp_path: Path) -> None:
    simulator.set_faults([{"service": "apex", "fault": "truncate"}])
    run, tis = run_dag("money_apex_worker", MONEY)
    assert run.state == "failed"
    [job] = [j for j in simulator.jobs() if j["service"] == "apex"]  # paid once, over all tries
    message = (tmp_path / "out" / "failures" / "image.txt").read_text()
    assert job["id"] in message
    assert _outputs(tmp_path) == []
