"""The shipped example DAGs (``dags_examples/``) on real Airflow 3.3 with ``dag.test()``, against the
simulator: connections, the output Variable and the FaceDub pool set up as the demo sets them up
(:mod:`airflow_provider_mediagen.demo.environment`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.demo.environment import EXAMPLE_ACCOUNTS, POOLS, connection_env, variable_env

from ..conftest import AIRFLOW_HOME, ROOT, start_simulator

EXAMPLES = ROOT / "dags_examples"
TIME_SCALE = 0.01


@pytest.fixture(scope="session")
def examples_db() -> Path:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    from airflow.models.pool import Pool

    for name, slots, description, include_deferred in POOLS:
        Pool.create_or_update_pool(name, slots, description, include_deferred)
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def example_simulator(examples_db: Path) -> Iterator[Any]:
    for server in start_simulator(TIME_SCALE):
        for account in EXAMPLE_ACCOUNTS:
            server.add_account(**account)
        yield server


@pytest.fixture
def sim(example_simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The simulator, fresh for this test, with the examples' connections and output folder set."""
    example_simulator.reset()
    for account in EXAMPLE_ACCOUNTS:
        example_simulator.add_account(**account)
    env = {**connection_env(example_simulator.urls, example_simulator.keys, TIME_SCALE),
           **variable_env(str(tmp_path / "out"))}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return example_simulator


def load_dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def run_dag(dag_id: str, **test_kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """``dag.test()`` one example; returns the run and its task instances by ``task_id[map_index]``."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    run = load_dag(dag_id).test(**test_kwargs)
    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id,
                                                 TaskInstance.run_id == run.run_id).all()
        session.expunge_all()
    return run, {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): ti for ti in tis}


def xcom(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id,
                                                 map_index=map_index, key="return_value").one()
        return XComModel.deserialize_value(row)


RUN_IN_SUBPROCESS = ("import sys\nfrom airflow.dag_processing.dagbag import DagBag\n"
                     "bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)\n"
                     "print('RUN STATE', bag.dags[sys.argv[2]].test().state)\n")


def run_dag_in_subprocess(dag_id: str, env: dict[str, str] | None = None) -> None:
    """``dag.test()`` one example in a fresh interpreter (as a worker runs tasks: what it wrote is
    committed when it exits, and it starts with its own configuration); asserts the run succeeded."""
    done = subprocess.run([sys.executable, "-c", RUN_IN_SUBPROCESS, str(EXAMPLES), dag_id], capture_output=True,
                          text=True, env=os.environ.copy() if env is None else env, timeout=600)
    assert "RUN STATE success" in done.stdout, (dag_id, (done.stdout + done.stderr)[-5000:])
