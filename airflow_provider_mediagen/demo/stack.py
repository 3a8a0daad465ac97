"""Real Airflow 3.3 processes in a throwaway home: ``api-server``, ``scheduler``, ``dag-processor`` and
``triggerer``, LocalExecutor, SQLite metadata DB, started and stopped by pid with bounded waits; or, with
a :class:`Shape`, the production shape: PostgreSQL, CeleryExecutor on Redis with its workers, and several
triggerers and API servers (``triggerer-2``, ``api-server-2``...).

Used by ``mediagen demo`` and by the system test. Every process gets its own session (process group),
so stopping one also stops the children it started (LocalExecutor workers, parsing processes,
uvicorn workers), and nothing else. Process output goes to ``<home>/logs/<name>.log``.

SQLite serves LocalExecutor in Airflow 3 (``airflow standalone`` runs that very combination): the
scheduler is the only process that schedules, workers report through the API server's Execution API,
and SQLite serialises the writes. It is a demo and test set-up; production wants PostgreSQL or MySQL.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["AirflowStack", "Shape", "StackError", "free_port", "kill_recorded"]

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
KINDS = (*COMPONENTS, "celery-worker")


@dataclass(frozen=True)
class Shape:
    """How many of each process, and what they share. The default is the demo's: one of each,
    LocalExecutor, SQLite in the home folder.

    :param database_url: the metadata DB (``postgresql+psycopg://...``); ``None``: SQLite.
    :param broker_url: Celery's broker (``redis://...``); with ``celery_workers`` > 0, CeleryExecutor.
    :param celery_concurrency: task slots per Celery worker.
    """

    api_servers: int = 1
    triggerers: int = 1
    celery_workers: int = 0
    celery_concurrency: int = 4
    database_url: str | None = None
    broker_url: str | None = None

    def __post_init__(self) -> None:
        if self.api_servers < 1 or self.triggerers < 0 or self.celery_workers < 0:
            raise ValueError(f"a stack needs an API server and no negative counts: {self}")
        if self.celery_workers and not (self.broker_url and self.database_url):
            raise ValueError("CeleryExecutor needs a broker_url and a database_url (SQLite cannot serve it)")

    def components(self) -> list[str]:
        """Process names in start order: the first of a kind has the kind's name, the next ``<kind>-2``..."""
        counts = {"api-server": self.api_servers, "scheduler": 1, "dag-processor": 1,
                  "triggerer": self.triggerers, "celery-worker": self.celery_workers}
        return [kind if n == 1 else f"{kind}-{n}" for kind, count in counts.items() for n in range(1, count + 1)]


def kind_of(name: str) -> str:
    """``triggerer-2`` -> ``triggerer``; ``api-server`` -> ``api-server``."""
    head, _, tail = name.rpartition("-")
    return head if tail.isdigit() else name
TERMINAL_RUN_STATES = {"success", "failed"}


def _common_prefix(names: Iterable[str]) -> str:
    return os.path.commonprefix(sorted(names))


class StackError(RuntimeError):
    """A process did not start, died, or a wait ran out of time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class AirflowStack:
    """One Airflow deployment on loopback.

    :param home: ``AIRFLOW_HOME`` (created; holds ``airflow.db`` and ``logs/``).
    :param dags_folder: the one DAG bundle (``examples``) the DAG processor parses.
    :param env: extra environment for every process (``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``...).
    :param parallelism: LocalExecutor worker processes (task slots).
    :param extra_bundles: more DAG bundles, ``name -> folder`` (a test's own DAGs beside the examples).
    :param shape: how many of each process and what they share (default: one of each, SQLite).
    """

    def __init__(self, home: Path, dags_folder: Path, env: Mapping[str, str] | None = None, *,
                 parallelism: int = 4, host: str = "127.0.0.1", port: int | None = None,
                 extra_bundles: Mapping[str, Path] | None = None, shape: Shape | None = None) -> None:
        self.shape = shape or Shape()
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.bundles = {"examples": self.dags_folder, **{k: Path(v) for k, v in (extra_bundles or {}).items()}}
        self.host = host
        self.port = port or free_port(host)
        #: Each API server's port (the first one's is ``port``); the REST calls here go to the first.
        self.ports = {name: self.port if name == "api-server" else free_port(host)
                      for name in self.shape.components() if kind_of(name) == "api-server"}
        self.parallelism = parallelism
        self.extra_env = dict(env or {})
        self.log_dir = self.home / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._generation: dict[str, int] = {}
        self._token: str | None = None
        self._http: httpx.Client | None = None

    # --- configuration --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_urls(self) -> list[str]:
        """Every API server's base URL (webhooks may go to any: they share the metadata DB)."""
        return [f"http://{self.host}:{port}" for port in self.ports.values()]

    @property
    def sqlite(self) -> bool:
        return self.shape.database_url is None

    def _shape_settings(self) -> dict[str, str]:
        shape = self.shape
        if shape.database_url is None:
            settings = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}"}
        else:  # Airflow 3's async engine reads its own URL; psycopg 3 serves both
            settings = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": shape.database_url,
                        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": shape.database_url}
        if shape.celery_workers:
            settings.update({
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": shape.broker_url or "",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + (shape.database_url or ""),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(shape.celery_concurrency),
                "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
            })
        return settings

    def environment(self) -> dict[str, str]:
        """The environment every process of this deployment runs with (nothing from the caller's
        ``AIRFLOW__*`` settings leaks in)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        self.home.mkdir(parents=True, exist_ok=True)
        secret_file = self.home / ".secrets.json"
        if not secret_file.exists():  # the same secrets for every process and every restart
            secret_file.write_text(json.dumps({"jwt": secrets.token_hex(32), "api": secrets.token_hex(32)}))
        keys = json.loads(secret_file.read_text())
        settings = {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([
                {"name": name, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                 "kwargs": {"path": str(folder)}} for name, folder in self.bundles.items()]),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": self.host,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__SECRET_KEY": keys["api"],
            "AIRFLOW__API__EXPOSE_CONFIG": "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt"],
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.log_dir),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            # A killed triggerer's triggers move to a live one once its heartbeat is this old.
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
            "AIRFLOW__TRIGGERER__CAPACITY": "200",
            "NO_PROXY": "*",
            "no_proxy": "*",
        }
        return {**base, **settings, **self._shape_settings(), **self.extra_env}

    # --- processes ------------------------------------------------------------------------------

    def _airflow(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "airflow", *args]

    def migrate(self, timeout: float = 300) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "db-migrate.log", "wb") as log:
            done = subprocess.run(self._airflow("db", "migrate"), env=self.environment(), stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        if done.returncode != 0:
            raise StackError(f"airflow db migrate failed; see {self.log_dir / 'db-migrate.log'}")
        if not self.sqlite:
            return
        # Write-ahead logging (a setting stored in the file): readers no longer block the writer, so four
        # processes and their task workers share one SQLite file without "database is locked".
        with sqlite3.connect(self.home / "airflow.db") as db:
            db.execute("PRAGMA journal_mode=WAL")

    def start(self, components: Iterable[str] | None = None) -> None:
        for name in self.shape.components() if components is None else components:
            self.start_process(name)

    def _arguments(self, name: str) -> list[str]:
        kind = kind_of(name)
        if kind == "api-server":
            return ["api-server", "--host", self.host, "--port", str(self.ports[name]), "--workers", "1"]
        if kind == "celery-worker":  # several on one host: own names, no log server each (one port)
            return ["celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs",
                    "--concurrency", str(self.shape.celery_concurrency)]
        if kind == "triggerer" and self.shape.triggerers > 1:
            return ["triggerer", "--skip-serve-logs"]  # the log server's port is one per host
        return [kind]

    def start_process(self, name: str) -> subprocess.Popen[bytes]:
        if name not in self.shape.components():
            raise ValueError(f"unknown component {name!r} (this stack has {', '.join(self.shape.components())})")
        if name in self.processes and self.processes[name].poll() is None:
            raise StackError(f"{name} is already running (pid {self.processes[name].pid})")
        args = self._arguments(name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        generation = self._generation[name] = self._generation.get(name, 0) + 1
        log_path = self.log_dir / (f"{name}.log" if generation == 1 else f"{name}-{generation}.log")
        with open(log_path, "wb") as log:
            # Its own session: the process group id is its pid, so stop() reaches its children too.
            proc = subprocess.Popen(self._airflow(*args), env=self.environment(), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = proc
        self._record_pids()
        return proc

    def _record_pids(self) -> None:
        """``<home>/pids.json``: the process groups this stack started, for a harness's last-resort cleanup."""
        pids = {name: proc.pid for name, proc in self.processes.items() if proc.poll() is None}
        (self.home / "pids.json").write_text(json.dumps(pids))

    def log_of(self, name: str) -> Path:
        generation = self._generation.get(name, 1)
        return self.log_dir / (f"{name}.log" if generation == 1 else f"{name}-{generation}.log")

    def kill(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Stop one component (its whole process group): ``sig`` first, SIGKILL after ``timeout``."""
        proc = self.processes.pop(name, None)
        if proc is None:
            return
        for signum, wait in ((sig, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, signum)
            except ProcessLookupError:
                pass
            try:
                proc.wait(wait)
                if signum == signal.SIGKILL or proc.returncode is not None:
                    break
            except subprocess.TimeoutExpired:
                continue
        # Whatever the group leader left behind in its group (a worker mid-task) goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._record_pids()

    def stop(self) -> None:
        """Stop everything this stack started: the API server last, as workers report through it."""
        # The triggerer spends ~10 s on a graceful SIGTERM; its triggers are read-only, so a short wait will do.
        graces = {"triggerer": 3.0, "celery-worker": 10.0, "scheduler": 15.0, "dag-processor": 10.0,
                  "api-server": 10.0}
        for kind, grace in graces.items():
            for name in [n for n in list(self.processes) if kind_of(n) == kind]:
                self.kill(name, timeout=grace)
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> AirflowStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = self.log_of(name).read_text(errors="replace")[-3000:] if self.log_of(name).exists() else ""
                raise StackError(f"airflow {name} exited with {proc.returncode}; its log ends:\n{tail}")

    # --- REST API -------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.base_url, timeout=30.0, trust_env=False)
        return self._http

    def token(self) -> str:
        """A JWT for the public API. With the SimpleAuthManager's ``all_admins`` mode, ``GET /auth/token``
        hands one out without credentials (with users configured, ``POST /auth/token`` takes them)."""
        if self._token is None:
            answer = self.http.get("/auth/token")
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, *, attempts: int = 4, **kwargs: Any) -> Any:
        """A public API call; a 5xx is tried again (up to ``attempts`` times).

        With SQLite, the API server's audit-log write for a POST/PATCH can meet another connection's
        write lock and give up after SQLite's 5 s busy timeout with a 500 ("Database error"); nothing
        of the request was committed then, so trying again is safe.
        """
        for attempt in range(1, attempts + 1):
            answer = self.http.request(method, "/api/v2" + path,
                                       headers={"Authorization": f"Bearer {self.token()}"}, **kwargs)
            if answer.status_code < 500 or attempt == attempts:
                break
            time.sleep(0.5 * attempt)
        if answer.status_code >= 400:
            raise StackError(f"{method} /api/v2{path}: HTTP {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
        """Poll ``check`` until it returns something truthy; fail after ``timeout`` or if a process died."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = check()
            except (httpx.HTTPError, StackError) as exc:
                last_error, result = exc, None
            if result:
                return result
            time.sleep(interval)
        raise StackError(f"timed out after {timeout:.0f} s waiting for {what}"
                         + (f" (last error: {last_error})" if last_error else ""))

    def wait_ready(self, dag_ids: Iterable[str], timeout: float = 180.0) -> None:
        """The API server answers and every DAG in ``dag_ids`` is parsed and known."""
        wanted = set(dag_ids)

        def healthy() -> bool:
            return self.http.get("/api/v2/monitor/health").status_code == 200

        self.wait_until("the API server", healthy, timeout)

        def parsed() -> bool:
            known = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 100})["dags"]}
            return wanted <= known

        self.wait_until(f"the DAG processor to parse {sorted(wanted)}", parsed, timeout)
        errors = self.api("GET", "/importErrors")
        if errors.get("total_entries"):
            raise StackError(f"DAG import errors: {errors['import_errors']}")

    def set_pool(self, name: str, slots: int, description: str, include_deferred: bool) -> None:
        body = {"name": name, "slots": slots, "description": description, "include_deferred": include_deferred}
        try:
            self.api("POST", "/pools", json=body)
        except StackError:
            self.api("PATCH", f"/pools/{name}", json=body)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def paged(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint: the API caps a page at ``[api] maximum_page_limit`` (100 by
        default) whatever ``limit`` asks, so a run of 200 mapped tasks takes several pages."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.api("GET", path, params={**(params or {}), "limit": 100, "offset": len(items)})
            items += page[key]
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.paged(f"/dags/{dag_id}/dagRuns", "dag_runs")

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        # Ordered by the unique id: the default order (map_index) ties across tasks, so pages could overlap.
        return self.paged(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", "task_instances", {"order_by": "id"})

    def all_runs(self, dag_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every run of these DAGs, by GETs (a GET writes no audit row: kinder to SQLite than POST .../list)."""
        wanted = set(dag_ids)
        runs = self.paged("/dags/~/dagRuns", "dag_runs", {"dag_id_pattern": _common_prefix(wanted)})
        return [r for r in runs if r["dag_id"] in wanted]

    def all_task_instances(self, dag_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every task instance of these DAGs' runs."""
        wanted = set(dag_ids)
        tis = self.paged("/dags/~/dagRuns/~/taskInstances", "task_instances",
                         {"dag_id_pattern": _common_prefix(wanted), "order_by": "id"})
        return [t for t in tis if t["dag_id"] in wanted]

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        entry = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                         params={"map_index": map_index, "deserialize": True, "stringify": False})
        return entry["value"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
        return self.wait_until(f"{dag_id} run {run_id} to finish",
                               lambda: (r := self.run(dag_id, run_id))["state"] in TERMINAL_RUN_STATES and r,
                               timeout, interval=1.0)


def kill_recorded(home: Path) -> list[int]:
    """Kill the process groups a stack in ``home`` recorded and that still run (a crashed harness's leftovers)."""
    try:
        pids = json.loads((Path(home) / "pids.json").read_text())
    except (OSError, ValueError):
        return []
    killed = []
    for pid in pids.values():
        try:
            os.killpg(int(pid), signal.SIGKILL)
            killed.append(int(pid))
        except (ProcessLookupError, PermissionError):
            pass
    return killed
