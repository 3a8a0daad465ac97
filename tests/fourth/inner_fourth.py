"""The fourth-service proof, run by ``test_fourth_service.py`` in a process whose path holds the made-up
Lumen Stills modules (``tests/fourth/plugin``, registered by entry points): nothing here can pass without
them, and the package names none of it.

Not collected on its own (the file name does not start with ``test_``): it needs that path.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.catalog import SERVICES
from airflow_provider_mediagen.demo.stack import free_port
from tests.conftest import start_simulator

TIME_SCALE = 0.01
SECRET = "fourth-service-receiver-secret-5d1c"
DAGS = Path(__file__).parent / "dags"
PNG = b"\x89PNG\r\n\x1a\n"

# dag.test() runs DAGs of the configured bundles: add this folder's as a third one before Airflow reads
# its configuration (tests/conftest.py sets the other two; the tests' own DAG folder must not hold a DAG
# that imports without the fourth service on the path).
assert "airflow.configuration" not in sys.modules, "Airflow was configured before the fourth bundle was added"
_BUNDLES = json.loads(os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([*_BUNDLES, {
    "name": "fourth", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
    "kwargs": {"path": str(DAGS)}}])


@pytest.fixture(scope="module")
def simulator() -> Iterator[Any]:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    for server in start_simulator(TIME_SCALE):
        os.environ["AIRFLOW_CONN_MEDIAGEN_LUMEN_DEFAULT"] = json.dumps({
            "conn_type": "mediagen_lumen", "password": "lm_live_demo", "host": server.urls["lumen"],
            "extra": {"time_scale": TIME_SCALE}})
        yield server


@pytest.fixture(scope="module")
def api_server(simulator: Any) -> Iterator[str]:
    """The real Airflow API server app (the receiver is mounted by the provider's plugin) on loopback."""
    import uvicorn
    from airflow.api_fastapi.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ["AIRFLOW_CONN_MEDIAGEN_LUMEN_HOOKS"] = json.dumps({
        "conn_type": "mediagen_lumen", "password": "lm_live_demo", "host": simulator.urls["lumen"],
        "extra": {"time_scale": TIME_SCALE, "webhook_secret": SECRET, "webhook_base_url": base}})
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API server did not start"
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(10)


def test_fourth_service_is_found_by_every_registry() -> None:
    from airflow_provider_mediagen import hooks
    from airflow_provider_mediagen.provider_info import get_provider_info
    from airflow_provider_mediagen.simulator.registry import registered

    assert list(SERVICES)[-1] == "lumen" and list(registered())[-1] == "lumen"
    assert SERVICES["lumen"].title == registered()["lumen"].title == "Lumen Stills"
    info = get_provider_info()
    assert "mediagen_lumen" in [c["connection-type"] for c in info["connection-types"]]
    assert "Lumen Stills" in [i["integration-name"] for i in info["integrations"]]
    assert hooks.LumenHook(conn_id="mediagen_lumen_default").service == "lumen"  # type: ignore[attr-defined]


def test_fourth_operator_has_an_explicit_signature_and_checks_it_before_any_request() -> None:
    from airflow_provider_mediagen.operators import LumenStillOperator  # type: ignore[attr-defined]

    params = inspect.signature(LumenStillOperator).parameters
    assert params["prompt"].default is inspect.Parameter.empty and params["prompt"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["palette"].default == "warm" and params["width"].default == 768
    assert "str" in str(params["prompt"].annotation) and "int" in str(params["width"].annotation)
    with pytest.raises(Exception, match="width") as refused:
        LumenStillOperator(task_id="too_small", prompt="x", width=5)
    assert "2048" in str(refused.value) or "64" in str(refused.value)


def test_fourth_service_round_trip_through_the_client(simulator: Any) -> None:
    from airflow_provider_mediagen.client import MediaClient

    with MediaClient("lumen", "lm_live_demo", base_url=simulator.urls["lumen"], time_scale=TIME_SCALE) as lumen:
        job = lumen.submit_and_wait("still", prompt="a kite", width=128, height=96, poll_interval=0.05)
        assert job.succeeded and job.kind == "still" and job.credits == 2 and job.created_at is not None
        assert lumen.check()  # the declared check endpoint (GET /me)
        answer = httpx.get(job.output_urls[0])
    assert answer.status_code == 200 and answer.content.startswith(PNG)
    counted = simulator.counters()["lumen"]["demo"]
    assert counted["jobs_created"] == 1 and counted["credits_charged"] == 2


async def test_fourth_service_waits_share_one_poller_that_reads_the_list(simulator: Any) -> None:
    from airflow_provider_mediagen.client import MediaClient
    from airflow_provider_mediagen.triggers import MediaJobTrigger
    from airflow_provider_mediagen.triggers.pollers import pollers_of_this_loop

    simulator.reset()
    with MediaClient("lumen", "lm_live_demo", base_url=simulator.urls["lumen"], time_scale=TIME_SCALE) as lumen:
        job_ids = [lumen.submit("still", prompt=f"still {i}").id for i in range(4)]
    triggers = [MediaJobTrigger(conn_id="mediagen_lumen_default", service="lumen", kind="still", job_id=job_id,
                                deadline=time.time() + 60, poll_interval=0.05) for job_id in job_ids]

    async def first_event(trigger: MediaJobTrigger) -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    events = await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), 60)
    assert [e["status"] for e in events] == ["succeeded"] * 4
    assert sorted(e["job_id"] for e in events) == sorted(job_ids)
    [poller] = [p for key, p in pollers_of_this_loop().items() if key == ("lumen", "mediagen_lumen_default")]
    assert poller.stats.list_reads > 0  # GET /renders, the declared list endpoint, answered for all four


def test_fourth_service_deferred_task_finishes_and_its_callback_is_accepted(
        api_server: str, simulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_mediagen.webhooks.tokens import states_token

    simulator.reset()
    out = tmp_path / "out"
    monkeypatch.setenv("MEDIAGEN_TEST_OUTPUT", str(out))
    bag = DagBag(dag_folder=str(DAGS / "lumen_dags.py"), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    run = bag.dags["fourth_lumen_deferred"].test()
    assert run.state == "success"
    [written] = list(out.iterdir())
    assert written.suffix == ".png" and written.read_bytes().startswith(PNG)
    [job] = [j for j in simulator.jobs() if j["service"] == "lumen"]
    deadline = time.monotonic() + 30
    while simulator.counters()["lumen"]["demo"]["webhooks"]["delivered"] < 1:
        assert time.monotonic() < deadline, simulator.counters()["lumen"]["demo"]["webhooks"]
        time.sleep(0.1)
    token = states_token(SECRET, "lumen", "mediagen_lumen_hooks")
    recorded = httpx.post(f"{api_server}/mediagen/webhooks/lumen/mediagen_lumen_hooks/states?token={token}",
                          json={"job_ids": [job["id"]]})
    assert recorded.status_code == 200, recorded.text
    [state] = recorded.json()["jobs"]
    assert state["status"] == "succeeded" and state["id"] == job["id"]


def test_fourth_service_is_in_the_readme_table_and_the_parameter_reference() -> None:
    from airflow_provider_mediagen import param_reference, readme_table

    table = readme_table.render_table()
    assert "`LumenStillOperator`" in table and "Lumen" in table
    assert "LumenStillOperator" in param_reference.render()
