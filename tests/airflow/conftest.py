"""Real Airflow 3.3 (SQLite metadata DB in a throwaway home, see ``tests/conftest.py``) against the
simulator on loopback. Connections come from ``AIRFLOW_CONN_*`` environment variables, as users set
them; DAGs live in ``tests/airflow/dags`` and run with ``dag.test()``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import AIRFLOW_HOME, TEST_DAGS, start_simulator

TIME_SCALE = 0.01
CANARY_KEY = "sk_live_canary-7f3c9e1d5b2a4e6f8091"
CONNECTIONS = {
    "mediagen_ddukddak_default": ("ddukddak", "dd_live_demo"),
    "mediagen_apex_default": ("apex", "sk_live_demo"),
    "mediagen_facedub_default": ("facedub", "fdb_demo"),
    "mediagen_apex_badkey": ("apex", "sk_live_not-a-key"),
    "mediagen_apex_pro": ("apex", "sk_live_pro"),
    "mediagen_apex_broke": ("apex", "sk_live_broke"),
    "mediagen_apex_canary": ("apex", CANARY_KEY),
}


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def simulator(airflow_db: Path) -> Iterator[Any]:
    canary = {"service": "apex", "key": CANARY_KEY, "plan": "enterprise", "name": "canary"}
    for server in start_simulator(TIME_SCALE):
        server.add_account(**canary)
        for conn_id, (service, key) in CONNECTIONS.items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
                "conn_type": f"mediagen_{service}", "password": key, "host": server.urls[service],
                "extra": {"time_scale": TIME_SCALE}})
        server._canary = canary  # re-added after every reset
        yield server


@pytest.fixture(autouse=True)
def _fresh(simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simulator.reset()
    simulator.add_account(**simulator._canary)
    monkeypatch.setenv("MEDIAGEN_TEST_OUTPUT", str(tmp_path / "out"))


def load_dag(dag_id: str, file: str = "mediagen_test_dags.py") -> Any:
    """Parse the DAG file now (so this test's environment settings apply), as the DAG processor does."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(TEST_DAGS / file), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def run_dag(dag_id: str, file: str = "mediagen_test_dags.py") -> tuple[Any, dict[str, Any]]:
    """``dag.test()`` the DAG; returns the run and its task instances by ``task_id[map_index]``."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    dag = load_dag(dag_id, file)
    run = dag.test()
    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id,
                                                 TaskInstance.run_id == run.run_id).all()
        session.expunge_all()
    return run, {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti for ti in tis}
