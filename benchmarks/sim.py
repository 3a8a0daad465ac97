"""The simulator in its own process (so its CPU never counts against the measured event loop), pinned
to another CPU than the measured process when the machine has two, plus its control API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from .common import pin
from airflow_provider_mediagen.demo.servers import stop_process

SIM_CPU = 1
MEASURED_CPU = 0


class SimProcess:
    def __init__(self, time_scale: float, cpu: int | None = SIM_CPU) -> None:
        self.time_scale = time_scale
        self.cpu = cpu if (os.cpu_count() or 1) > 1 else None
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._http = httpx.Client(trust_env=False, timeout=60.0)

    def start(self, timeout: float = 60.0) -> SimProcess:
        cpu = self.cpu
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_mediagen.simulator", "--port", "0",
             "--time-scale", str(self.time_scale)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            preexec_fn=(lambda: pin(cpu)) if cpu is not None else None)  # noqa: PLW1509 (no threads yet)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            if line.startswith("READY "):
                self.base_url = line.split()[1].strip()
                break
            if time.monotonic() > deadline:
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError("the simulator did not start")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None
        self._http.close()

    def __enter__(self) -> SimProcess:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and control ------------------------------------------------------------------

    def url(self, service: str) -> str:
        return self.base_url + {"ddukddak": "/ddukddak/v1", "apex": "/apex", "facedub": "/facedub"}[service]

    def control(self, method: str, path: str, json: Any = None) -> Any:
        response = self._http.request(method, self.base_url + "/_sim" + path, json=json)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "/reset")

    def configure(self, **changes: Any) -> Any:
        return self.control("POST", "/config", changes)

    def add_account(self, service: str, key: str, plan: str, name: str, credits: int = 10**9) -> None:
        self.control("POST", "/accounts", {"service": service, "key": key, "plan": plan, "name": name,
                                           "credits": credits})

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "/counters")

    def jobs(self) -> list[dict[str, Any]]:
        return self.control("GET", "/jobs")
