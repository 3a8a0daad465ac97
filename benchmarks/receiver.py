"""The webhook receiver served for a run outside Airflow: the app the plugin mounts, on loopback, by uvicorn
in a thread, with the run's connections handed in and a SQLite file as the delivery store.

Used by the fault soak and by the receiver trust tests; in Airflow the plugin mounts the same app in the
API server, with connections from Airflow and the metadata database as the store."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from airflow_provider_mediagen.demo.stack import free_port
from airflow_provider_mediagen.hooks.connection import ConnectionSettings, settings_from_connection
from airflow_provider_mediagen.webhooks.urls import receiver_url, states_url


class ServedReceiver:
    """``with ServedReceiver(port, connections, db) as receiver:`` serves until the block ends.

    ``connections`` maps a connection id to its Airflow connection fields (``conn_type``, ``host``,
    ``password``, ``extra`` as a dict): the same values the workers get as ``AIRFLOW_CONN_*``."""

    def __init__(self, port: int, connections: dict[str, dict[str, Any]], db: Path) -> None:
        from airflow.sdk import Connection

        self.base_url = f"http://127.0.0.1:{port}"
        self.port = port
        self.connections = {
            conn_id: Connection(conn_id=conn_id, conn_type=fields["conn_type"], host=fields.get("host"),
                                password=fields.get("password"), extra=json.dumps(fields.get("extra") or {}))
            for conn_id, fields in connections.items()
        }
        self.db = db
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ServedReceiver:
        import uvicorn
        from fastapi import FastAPI
        from sqlalchemy import create_engine

        from airflow_provider_mediagen.webhooks.app import create_receiver_app
        from airflow_provider_mediagen.webhooks.urls import PREFIX

        self.engine = create_engine(f"sqlite:///{self.db}")
        app = FastAPI()
        app.mount(PREFIX, create_receiver_app(get_connection=self.connections.__getitem__,
                                              get_engine=lambda: self.engine))
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="receiver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        assert self._thread is not None
        self._thread.join(10)
        self.engine.dispose()

    def settings(self, service: str, conn_id: str) -> ConnectionSettings:
        return settings_from_connection(service, self.connections[conn_id])

    def delivery_url(self, service: str, conn_id: str) -> str:
        url = receiver_url(self.settings(service, conn_id), conn_id)
        assert url is not None, f"connection {conn_id!r} has no webhook setup"
        return url

    def states_url(self, service: str, conn_id: str) -> str:
        url = states_url(self.settings(service, conn_id), conn_id)
        assert url is not None, f"connection {conn_id!r} has no webhook setup"
        return url

    def recorded(self, service: str, conn_id: str, job_id: str) -> list[dict[str, Any]]:
        """What ``/states`` answers for one job (read with the read-only token, as triggers read it)."""
        import httpx

        answer = httpx.post(self.states_url(service, conn_id), json={"job_ids": [job_id]})
        answer.raise_for_status()
        jobs: list[dict[str, Any]] = answer.json()["jobs"]
        return jobs
