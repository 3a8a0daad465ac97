"""Fixtures for the simulator tests: one in-process simulator for the session, reset before every
test, a plain httpx client (never the project's client: the simulator is tested as the vendor), and
a tiny webhook receiver that can fail on purpose and records arrival times."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.simulator import SimulatorConfig, SimulatorServer

from .helpers import wait_for

#: Fast default: Apex image 0.08 s, FaceDub job 0.9 s, Ddukddak AI video 2.4 s.
TIME_SCALE = 0.01

EXTRA_ACCOUNTS: list[dict[str, Any]] = [
    {"service": "ddukddak", "key": "dd_live_free", "plan": "free_trial", "name": "free"},
    {"service": "ddukddak", "key": "dd_live_automate", "plan": "automate", "name": "automate"},
    {"service": "ddukddak", "key": "dd_live_broke", "plan": "scale", "credits": 0, "name": "broke"},
    {"service": "apex", "key": "sk_live_pro", "plan": "pro", "name": "pro"},
    {"service": "apex", "key": "sk_live_broke", "plan": "enterprise", "credits": 15, "name": "broke"},
    {"service": "facedub", "key": "fdb_pro", "plan": "pro", "name": "pro"},
    {"service": "facedub", "key": "fdb_small", "plan": "agency", "credits": 2, "name": "small"},
    {"service": "facedub", "key": "fdb_other", "plan": "agency", "name": "other"},
    {"service": "facedub", "key": "fdb_suspended", "plan": "agency", "name": "suspended", "suspended": True},
]


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(time_scale=TIME_SCALE, seed=7, accounts=EXTRA_ACCOUNTS)
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(sim: SimulatorServer) -> None:
    sim.reset()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0) as c:
        yield c


@pytest.fixture
def dd(sim: SimulatorServer) -> str:
    return sim.urls["ddukddak"]


@pytest.fixture
def apex(sim: SimulatorServer) -> str:
    return sim.urls["apex"]


@pytest.fixture
def fdb(sim: SimulatorServer) -> str:
    return sim.urls["facedub"]


# --- webhook receiver ----------------------------------------------------------------------------
@dataclass
class Arrival:
    at: float
    path: str
    body: Any
    status: int


@dataclass
class Receiver:
    """Records POSTs; answers 500 to the first ``fail_first`` and waits ``delay_first`` seconds
    before answering the first one."""

    url: str = ""
    fail_first: int = 0
    delay_first: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, count: int, timeout: float = 20.0) -> list[Arrival]:
        wait_for(lambda: len(self.arrivals) >= count, timeout)
        with self.lock:
            return list(self.arrivals)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            at = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                index = len(state.arrivals)
                status = 500 if index < state.fail_first else 200
                state.arrivals.append(Arrival(at, self.path, json.loads(raw or b"null"), status))
            if index == 0 and state.delay_first:
                time.sleep(state.delay_first)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
