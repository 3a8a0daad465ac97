"""Shared test fixtures: the project's own simulator on loopback, and the sample media files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dags_examples" / "data"

#: Extra accounts every suite may use: other plans, small balances.
EXTRA_ACCOUNTS = [
    {"service": "ddukddak", "key": "dd_live_free", "plan": "free_trial", "name": "free"},
    {"service": "ddukddak", "key": "dd_live_broke", "plan": "scale", "credits": 0, "name": "broke"},
    {"service": "apex", "key": "sk_live_pro", "plan": "pro", "name": "pro"},
    {"service": "apex", "key": "sk_live_broke", "plan": "enterprise", "credits": 15, "name": "broke"},
    {"service": "facedub", "key": "fdb_pro", "plan": "pro", "name": "pro"},
]


@pytest.fixture(scope="session")
def sample_photo() -> Path:
    return DATA / "character.jpg"


@pytest.fixture(scope="session")
def sample_video() -> Path:
    return DATA / "reference.mp4"


def start_simulator(time_scale: float = 0.01, **config: object) -> Iterator[object]:
    from airflow_provider_mediagen.simulator import SimulatorConfig, SimulatorServer

    with SimulatorServer(SimulatorConfig(time_scale=time_scale, accounts=EXTRA_ACCOUNTS, **config)) as server:
        yield server
