"""Where deliveries are recorded: a table of their own in Airflow's metadata database.

Why there: every API server (however many, on whatever machines) already writes to that database, it
is durable and transactional, and it is the one store every Airflow deployment has. Triggers in
Airflow 3 have no database access, so they read it back through the receiver's own state endpoint on
the API server (one request per connection per tick, whatever the number of waiting jobs) -- the path
they already depend on for the execution API. A row per (service, connection, job) keeps the most
advanced status seen; a stale or duplicate delivery changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint, select

from ..catalog import Job

__all__ = ["DeliveryStore", "RANK"]

RANK = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2}

_METADATA = MetaData()
DELIVERIES = Table(
    "mediagen_webhook_delivery", _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(32), nullable=False),
    Column("conn_id", String(250), nullable=False),
    Column("job_id", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("job", Text, nullable=False),
    Column("deliveries", Integer, nullable=False, default=1),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("service", "conn_id", "job_id", name="mediagen_webhook_delivery_job"),
)


class DeliveryStore:
    """Record and read deliveries through a SQLAlchemy engine (Airflow's, in the API server)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        DELIVERIES.create(bind=engine, checkfirst=True)

    def record(self, service: str, conn_id: str, job: Job) -> str:
        """``"recorded"``, ``"duplicate"`` (same status again) or ``"stale"`` (an earlier status)."""
        payload = json.dumps(job.model_dump(mode="json", exclude={"raw"}) | {"raw": job.raw})
        with self.engine.begin() as db:
            row = db.execute(select(DELIVERIES.c.id, DELIVERIES.c.status, DELIVERIES.c.deliveries).where(
                DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id,
                DELIVERIES.c.job_id == job.id)).first()
            if row is None:
                db.execute(DELIVERIES.insert().values(service=service, conn_id=conn_id, job_id=job.id,
                                                      status=job.status.value, job=payload, deliveries=1,
                                                      updated_at=time.time()))
                return "recorded"
            verdict = "duplicate" if row.status == job.status.value else (
                "stale" if RANK[job.status.value] <= RANK[row.status] else "recorded")
            values: dict[str, Any] = {"deliveries": row.deliveries + 1}
            if verdict == "recorded":
                values |= {"status": job.status.value, "job": payload, "updated_at": time.time()}
            db.execute(DELIVERIES.update().where(DELIVERIES.c.id == row.id).values(**values))
            return verdict

    def states(self, service: str, conn_id: str, job_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(job_ids))
        found: list[dict[str, Any]] = []
        with self.engine.connect() as db:
            for start in range(0, len(ids), 500):
                rows = db.execute(select(DELIVERIES.c.job).where(
                    DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id,
                    DELIVERIES.c.job_id.in_(ids[start:start + 500])))
                found += [json.loads(row.job) for row in rows]
        return found

    def count(self, service: str, conn_id: str) -> int:
        with self.engine.connect() as db:
            return len(db.execute(select(DELIVERIES.c.id).where(
                DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id)).all())
