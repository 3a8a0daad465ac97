"""Shared test fixtures: the project's own simulator on loopback, and the sample media files; and the
network guard (``tests/netguard``): a test that resolves a name but ``localhost`` or connects beyond
loopback, itself or through a process it started, fails, naming the host and the call site."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .netguard import netguard

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

# The network guard, in this process and (through PYTHONPATH's sitecustomize and NODE_OPTIONS) in every
# Python and node process the suite starts; they all write their attempts to one log, read after each phase.
NETGUARD_DIR = Path(netguard.__file__).parent
NETGUARD_LOG = Path(tempfile.mkdtemp(prefix="mediagen-netguard-")) / "attempts.jsonl"
atexit.register(shutil.rmtree, NETGUARD_LOG.parent, ignore_errors=True)
os.environ[netguard.LOG_ENV] = str(NETGUARD_LOG)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD_DIR), os.environ.get("PYTHONPATH")) if p)
os.environ["NODE_OPTIONS"] = " ".join(
    p for p in (f"--require={NETGUARD_DIR / 'guard.js'}", os.environ.get("NODE_OPTIONS")) if p)
netguard.install()
_netguard_offset = 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Fail the phase during which anything tried to leave this host (in any process of the suite)."""
    global _netguard_offset
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    attempts, _netguard_offset = netguard.read_attempts(str(NETGUARD_LOG), _netguard_offset)
    if attempts and not report.failed:
        report.outcome = "failed"
        report.longrepr = "\n".join(
            [f"{item.nodeid} ({call.when}): {len(attempts)} attempt(s) to reach beyond loopback:"]
            + [f"  pid {a['pid']}: {a['kind']} of {a['target']} at {a['site']}" for a in attempts[:20]])
    elif attempts:
        report.sections.append(("network guard", "\n".join(f"{a['kind']} of {a['target']}" for a in attempts)))


_metadata_db_broken = False


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After each test module, ``PRAGMA quick_check`` of the metadata database the suite shares: a module
    that corrupts it (a file descriptor on it closed in this process drops SQLite's locks) is named here,
    instead of a later module failing with "database disk image is malformed"."""
    global _metadata_db_broken
    database = AIRFLOW_HOME / "airflow.db"
    if _metadata_db_broken or not database.exists() or (nextitem is not None and nextitem.module is item.module):
        return
    import sqlite3

    db = sqlite3.connect(database, timeout=120)  # SQLite shares this process's locks between its connections
    try:
        found = [row[0] for row in db.execute("PRAGMA quick_check").fetchmany(5)]
    except sqlite3.Error as e:
        found = [repr(e)]
    finally:
        db.close()
    if found != ["ok"]:
        _metadata_db_broken = True
        pytest.fail(f"{item.module.__name__ if item.module else item.nodeid} left the shared metadata database "
                    f"{database} broken: {found}", pytrace=False)

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
