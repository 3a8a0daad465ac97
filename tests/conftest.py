"""Shared test fixtures: the project's own simulator on loopback, and the sample media files."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dags_examples" / "data"
TEST_DAGS = ROOT / "tests" / "airflow" / "dags"

# Airflow reads its configuration once, at first import: point it at a throwaway home before any test
# module imports it. Two DAG bundles: the tests' own DAGs and the shipped examples.
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="mediagen-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)
os.environ.update({
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS),
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([
        {"name": "tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(TEST_DAGS)}},
        {"name": "examples", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
         "kwargs": {"path": str(ROOT / "dags_examples")}},
    ]),
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
    "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
})

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
