"""Where deliveries are recorded: a table of their own in Airflow's metadata database.

Why there: every API server (however many, on whatever machines) already writes to that database, it
is durable and transactional, and it is the one store every Airflow deployment has. Triggers in
Airflow 3 have no database access, so they read it back through the receiver's own state endpoint on
the API server (one request per connection per tick, whatever the number of waiting jobs) -- the path
they already depend on for the execution API. A row per (service, connection, job) keeps the most
advanced status seen; a stale or duplicate delivery changes nothing.

A delivery may also name the *submission* it answers (``intent``, put in a per-request ``webhook_url`` by
the operator): for a service without a job list (Ddukddak) that is the only way a submission whose
answer was lost can learn its job id, and so never be paid for twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint, inspect, select, text

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
    Column("intent_id", String(64), nullable=True, index=True),
    UniqueConstraint("service", "conn_id", "job_id", name="mediagen_webhook_delivery_job"),
)


class DeliveryStore:
    """Record and read deliveries through a SQLAlchemy engine (Airflow's, in the API server)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        DELIVERIES.create(bind=engine, checkfirst=True)
        if "intent_id" not in {c["name"] for c in inspect(engine).get_columns(DELIVERIES.name)}:
            with engine.begin() as db:  # a table made by an earlier version: the one column added since
                db.execute(text(f"ALTER TABLE {DELIVERIES.name} ADD COLUMN intent_id VARCHAR(64)"))

    def record(self, service: str, conn_id: str, job: Job, intent_id: str | None = None) -> str:
        """``"recorded"``, ``"duplicate"`` (same status again) or ``"stale"`` (an earlier status). The
        submission's ``intent_id`` is kept once known, whichever delivery brought it."""
        payload = json.dumps(job.model_dump(mode="json", exclude={"raw"}) | {"raw": job.raw})
        with self.engine.begin() as db:
            row = db.execute(select(DELIVERIES.c.id, DELIVERIES.c.status, DELIVERIES.c.deliveries).where(
                DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id,
                DELIVERIES.c.job_id == job.id)).first()
            if row is None:
                db.execute(DELIVERIES.insert().values(service=service, conn_id=conn_id, job_id=job.id,
                                                      status=job.status.value, job=payload, deliveries=1,
                                                      updated_at=time.time(), intent_id=intent_id))
                return "recorded"
            verdict = "duplicate" if row.status == job.status.value else (
                "stale" if RANK[job.status.value] <= RANK[row.status] else "recorded")
            values: dict[str, Any] = {"deliveries": row.deliveries + 1}
            if intent_id is not None:
                values["intent_id"] = intent_id
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

    def by_intent(self, service: str, conn_id: str, intent_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The recorded job of each submission a delivery named, by intent id."""
        ids = list(dict.fromkeys(intent_ids))
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as db:
            for start in range(0, len(ids), 500):
                rows = db.execute(select(DELIVERIES.c.intent_id, DELIVERIES.c.job).where(
                    DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id,
                    DELIVERIES.c.intent_id.in_(ids[start:start + 500])))
                found |= {row.intent_id: json.loads(row.job) for row in rows}
        return found

    def count(self, service: str, conn_id: str) -> int:
        with self.engine.connect() as db:
            return len(db.execute(select(DELIVERIES.c.id).where(
                DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id)).all())
