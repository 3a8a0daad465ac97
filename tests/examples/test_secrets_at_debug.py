"""Nothing secret is written anywhere at DEBUG (issue 25, item 4): every example DAG runs with Airflow's
logging at DEBUG, with connections carrying API keys, a FaceDub JWT and a webhook secret (whose derived
tokens go out in Ddukddak's per-request ``webhook_url``), and every byte Airflow wrote is searched: the
run's output, every log file, and a dump of the metadata database (XCom, rendered fields, trigger rows,
the task state store, asset events...). Unmasked signed-URL signatures are searched by pattern.

Airflow's own supervisor logs, at DEBUG, each value a task asks it to mask as ``MaskSecret(value=...)``:
those lines are Airflow's, counted apart and named in the README; everything else must hold 0."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mediagen.demo.environment import BUDGET_ACCOUNT, EXAMPLE_ACCOUNTS, connections, variable_env
from airflow_provider_mediagen.webhooks.tokens import receiver_token, states_token

from ..conftest import start_simulator
from .conftest import EXAMPLES, TIME_SCALE

SECRET = "whsec-debug-7d21c9"
SIGNATURE = re.compile(r"sig=[0-9a-f]{16,}")


@pytest.fixture(scope="module")
def debug_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("debug-airflow")
    for server in start_simulator(TIME_SCALE):
        for account in EXAMPLE_ACCOUNTS:
            server.add_account(**account)
        jwt = server.facedub_jwt(ttl=3600)
        conns = connections(server.urls, server.keys, TIME_SCALE)
        conns["mediagen_facedub_default"]["extra"] = {**conns["mediagen_facedub_default"]["extra"], "jwt": jwt}
        conns["mediagen_ddukddak_default"]["extra"] = {**conns["mediagen_ddukddak_default"]["extra"],
                                                       "webhook_secret": SECRET,
                                                       "webhook_base_url": "http://127.0.0.1:9"}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        env |= {
            "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"), "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([
                {"name": "examples", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                 "kwargs": {"path": str(EXAMPLES)}}]),
            **{f"AIRFLOW_CONN_{c.upper()}": json.dumps(v) for c, v in conns.items()},
            **variable_env(str(home / "out")),
        }
        run = {"check": True, "env": env, "timeout": 600, "capture_output": True, "text": True}
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], **run)
        subprocess.run([sys.executable, "-m", "airflow", "pools", "set", "facedub", "2", "FaceDub",
                        "--include-deferred"], **run)
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("debug_examples.py")), str(EXAMPLES)],
                              **{**run, "timeout": 900, "check": False})
        secrets = {
            **{f"{service} key": key for service, key in server.keys.items()},
            "budget key": BUDGET_ACCOUNT["key"], "FaceDub JWT": jwt, "webhook secret": SECRET,
            "delivery token": receiver_token(SECRET, "ddukddak", "mediagen_ddukddak_default"),
            "states token": states_token(SECRET, "ddukddak", "mediagen_ddukddak_default"),
        }
        with sqlite3.connect(home / "airflow.db") as db:
            dump = list(db.iterdump())
        logs = {str(p): p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file()}
        return {"done": done, "secrets": secrets, "dump": dump, "logs": logs}
    raise AssertionError("the simulator did not start")


def test_the_examples_ran_at_debug(debug_run: dict[str, Any]) -> None:
    done = debug_run["done"]
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    [line] = [l for l in done.stdout.splitlines() if l.startswith("RESULTS ")]
    assert set(json.loads(line.removeprefix("RESULTS ")).values()) == {"success"}, line
    output = done.stdout + done.stderr
    assert " DEBUG " in output or "[debug" in output, "the run did not log at DEBUG"


def _lines_with(texts: dict[str, str], needle: str | re.Pattern[str]) -> list[tuple[str, str]]:
    found = []
    for where, text in texts.items():
        for line in text.splitlines():
            if (needle.search(line) if isinstance(needle, re.Pattern) else needle in line):
                found.append((where, line[:300]))
    return found


def test_no_secret_in_any_output_log_or_database_row(debug_run: dict[str, Any]) -> None:
    done = debug_run["done"]
    texts = {"stdout": done.stdout, "stderr": done.stderr, **debug_run["logs"], "database": "\n".join(debug_run["dump"])}
    leaks, airflows_own = {}, {}
    for name, value in debug_run["secrets"].items():
        found = _lines_with(texts, value)
        airflows_own[name] = [f for f in found if "MaskSecret(" in f[1]]
        leaks[name] = [f for f in found if "MaskSecret(" not in f[1]]
    assert not any(leaks.values()), {k: v[:3] for k, v in leaks.items() if v}
    print("Airflow's own MaskSecret(value=...) DEBUG lines:", {k: len(v) for k, v in airflows_own.items()})


def test_no_signed_url_signature_outside_the_records_that_need_it(debug_run: dict[str, Any]) -> None:
    """A signature may stay only in the state-store record of a kind the service gives no way to read
    back (Ddukddak's template images): the one way to its file on a retry. Airflow's supervisor logs, at
    DEBUG, each state-store write it forwards (``SetTaskState...``): the same record, counted apart."""
    done = debug_run["done"]
    texts = {"stdout": done.stdout, "stderr": done.stderr, **debug_run["logs"]}
    found = _lines_with(texts, SIGNATURE)
    airflows_own = [f for f in found if "msg=SetTask" in f[1] and "'kind': 'template_image'" in f[1]]
    assert [f for f in found if f not in airflows_own] == []
    kept = [row for row in debug_run["dump"] if SIGNATURE.search(row)]
    assert kept, "the run wrote no template image record: the exception below was not exercised"
    assert all(row.startswith('INSERT INTO "task_state_store"') and "template_image" in row for row in kept), (
        [row[:400] for row in kept if "template_image" not in row][:3])
    print(f"signed URLs kept: {len(kept)} state-store rows, {len(airflows_own)} supervisor DEBUG lines")
