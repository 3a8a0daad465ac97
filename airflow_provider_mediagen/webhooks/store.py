"""Where deliveries are recorded: a table of their own in Airflow's metadata database.

Why there: every API server (however many, on whatever machines) already writes to that database, it
is durable and transactional, and it is the one store every Airflow deployment has. Triggers in
Airflow 3 have no database access, so they read it back through the receiver's own state endpoint on
the API server (one request per connection per tick, whatever the number of waiting jobs) -- the path
they already depend on for the execution API. A row per (service, connection, job) keeps the most
advanced status seen; a stale or duplicate delivery changes nothing.

A delivery may also name the *submission* it answers (``intent``, put in a per-request ``webhook_url`` by
the operator): for a service without a job list that is the only way a submission whose
answer was lost can learn its job id, and so never be paid for twice.

Several API servers share the store: a first delivery is an upsert (``INSERT ... ON CONFLICT DO NOTHING``
on PostgreSQL and SQLite, ``INSERT IGNORE`` on MySQL), never a select-then-insert that two servers can race
to a unique-constraint error; a later one updates the row it locked (``SELECT ... FOR UPDATE``). Signed
deliveries' message ids are kept here too, so a replay is refused by whichever server it reaches. Old rows
are pruned by the receiver itself (``[mediagen] webhook_retention_days``, batched, by indexed columns),
never by a separate process. The feed reads changes after a cursor (``changes``) so a trigger's read
costs what changed, not what waits.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from ..catalog import Job, NormalizedStatus
from .tokens import REPLAY_WINDOW

__all__ = ["DEFAULT_RETENTION_DAYS", "VERSION_TABLE", "DeliveryStore", "metadata"]

log = logging.getLogger("airflow_provider_mediagen.webhooks")

DEFAULT_RETENTION_DAYS = 7.0
#: Rows deleted per statement when pruning, and statements per pruning pass (a pass never holds long locks).
PRUNE_BATCH = 1000
PRUNE_BATCHES = 20
#: Seconds between two pruning passes of one process.
PRUNE_EVERY = 300.0

_METADATA = MetaData()
#: The tables' own Alembic version table (``webhooks/migrations``; Airflow's is ``alembic_version``).
VERSION_TABLE = "alembic_version_mediagen"
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
    # The feed's cursor (changes after (updated_at, id) of one connection) and the pruning's scan.
    Index("mediagen_webhook_delivery_changes", "service", "conn_id", "updated_at", "id"),
    Index("mediagen_webhook_delivery_age", "updated_at"),
)
metadata = _METADATA

#: Message ids of signed deliveries, kept for the replay window (a replay is refused on every server).
MESSAGES = Table(
    "mediagen_webhook_message", _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(32), nullable=False),
    Column("conn_id", String(250), nullable=False),
    Column("message_id", String(250), nullable=False),
    Column("received_at", Float, nullable=False, index=True),
    UniqueConstraint("service", "conn_id", "message_id", name="mediagen_webhook_message_once"),
)


def retention_days() -> float:
    """``[mediagen] webhook_retention_days`` (declared in the provider's config), 7 by default."""
    try:
        from airflow.configuration import conf

        return float(conf.getfloat("mediagen", "webhook_retention_days", fallback=DEFAULT_RETENTION_DAYS))
    except Exception:  # no Airflow config here (a receiver outside Airflow): the default
        return DEFAULT_RETENTION_DAYS


class DeliveryStore:
    """Record and read deliveries through a SQLAlchemy engine (Airflow's, in the API server)."""

    def __init__(self, engine: Any, *, retention: float | None = None, message_window: float = 2 * REPLAY_WINDOW) -> None:
        self.engine = engine
        self.retention = retention if retention is not None else retention_days() * 86400.0
        self.message_window = message_window
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()
        _METADATA.create_all(bind=engine, checkfirst=True)
        self._upgrade()

    def _upgrade(self) -> None:
        """Brings a table made by an earlier version to this one (idempotent, on every start)."""
        inspector = inspect(self.engine)
        if "intent_id" not in {c["name"] for c in inspector.get_columns(DELIVERIES.name)}:
            with self.engine.begin() as db:
                db.execute(text(f"ALTER TABLE {DELIVERIES.name} ADD COLUMN intent_id VARCHAR(64)"))
        have = {i["name"] for i in inspect(self.engine).get_indexes(DELIVERIES.name)}
        for index in DELIVERIES.indexes:
            if index.name not in have:
                index.create(bind=self.engine, checkfirst=True)

    # --- writes -----------------------------------------------------------------------------------

    def _insert_once(self, db: Any, table: Table, keys: list[str], values: dict[str, Any]) -> bool:
        """Insert unless a row with the same ``keys`` exists; ``True`` when this call inserted it. Two
        servers inserting the same row at once: one inserts, the other learns it exists; neither fails."""
        dialect = db.dialect.name
        if dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            insert = (postgresql if dialect == "postgresql" else sqlite).insert
            statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
            return db.execute(statement.returning(table.c.id)).first() is not None
        if dialect in ("mysql", "mariadb"):
            return db.execute(table.insert().prefix_with("IGNORE").values(**values)).rowcount == 1
        try:  # any other database: the constraint decides, inside a savepoint
            with db.begin_nested():
                db.execute(table.insert().values(**values))
            return True
        except IntegrityError:
            return False

    def record(self, service: str, conn_id: str, job: Job, intent_id: str | None = None) -> str:
        """``"recorded"``, ``"duplicate"`` (same status again) or ``"stale"`` (an earlier status). The
        submission's ``intent_id`` is kept once known, whichever delivery brought it."""
        payload = json.dumps(job.model_dump(mode="json", exclude={"raw"}) | {"raw": job.raw})
        now = time.time()
        with self.engine.begin() as db:
            if self._insert_once(db, DELIVERIES, ["service", "conn_id", "job_id"], dict(
                    service=service, conn_id=conn_id, job_id=job.id, status=job.status.value, job=payload,
                    deliveries=1, updated_at=now, intent_id=intent_id)):
                return "recorded"
            row = db.execute(select(DELIVERIES.c.id, DELIVERIES.c.status, DELIVERIES.c.deliveries).where(
                DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id,
                DELIVERIES.c.job_id == job.id).with_for_update()).one()
            verdict = "duplicate" if row.status == job.status.value else (
                "stale" if job.status.rank <= NormalizedStatus(row.status).rank else "recorded")
            values: dict[str, Any] = {"deliveries": row.deliveries + 1}
            if intent_id is not None:
                values["intent_id"] = intent_id
            if verdict == "recorded":
                values |= {"status": job.status.value, "job": payload, "updated_at": now}
            db.execute(DELIVERIES.update().where(DELIVERIES.c.id == row.id).values(**values))
            return verdict

    def first_message(self, service: str, conn_id: str, message_id: str) -> bool:
        """``True`` the first time a signed delivery's message id reaches any server."""
        with self.engine.begin() as db:
            return self._insert_once(db, MESSAGES, ["service", "conn_id", "message_id"], dict(
                service=service, conn_id=conn_id, message_id=message_id, received_at=time.time()))

    def prune(self, now: float | None = None) -> dict[str, int]:
        """Deletes deliveries not updated within the retention and message ids older than the replay
        window, in batches of :data:`PRUNE_BATCH` rows (at most :data:`PRUNE_BATCHES` per table and
        pass), by indexed columns. Returns the rows deleted per table."""
        now = time.time() if now is None else now
        deleted = {}
        for table, column, horizon in ((DELIVERIES, DELIVERIES.c.updated_at, now - self.retention),
                                       (MESSAGES, MESSAGES.c.received_at, now - self.message_window)):
            total = 0
            for _ in range(PRUNE_BATCHES):
                with self.engine.begin() as db:
                    ids = db.execute(select(table.c.id).where(column < horizon).limit(PRUNE_BATCH)).scalars().all()
                    if ids:
                        db.execute(delete(table).where(table.c.id.in_(ids)))
                total += len(ids)
                if len(ids) < PRUNE_BATCH:
                    break
            deleted[table.name] = total
        return deleted

    def prune_if_due(self) -> None:
        """One pruning pass per :data:`PRUNE_EVERY` seconds per process, after a delivery was answered."""
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._pruned_at = now
            deleted = self.prune(now)
            if any(deleted.values()):
                log.info("pruned webhook deliveries and message ids older than the retention: %s", deleted)
        except Exception:  # pruning must never cost a delivery
            log.exception("pruning webhook deliveries failed; trying again later")
        finally:
            self._prune_lock.release()

    # --- reads ------------------------------------------------------------------------------------

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

    def changes(self, service: str, conn_id: str, after: tuple[float, int] | None, limit: int) -> tuple[
            list[dict[str, Any]], tuple[float, int]]:
        """Jobs of one connection whose recorded state changed after the cursor ``after`` (``None``: the
        current end, nothing returned), oldest first, at most ``limit``; and the cursor to ask after."""
        where = [DELIVERIES.c.service == service, DELIVERIES.c.conn_id == conn_id]
        with self.engine.connect() as db:
            if after is None:
                last = db.execute(select(DELIVERIES.c.updated_at, DELIVERIES.c.id).where(*where).order_by(
                    DELIVERIES.c.updated_at.desc(), DELIVERIES.c.id.desc()).limit(1)).first()
                return [], (last.updated_at, last.id) if last is not None else (0.0, 0)
            stamp, row_id = after
            rows = db.execute(select(DELIVERIES.c.id, DELIVERIES.c.updated_at, DELIVERIES.c.job).where(
                *where, or_(DELIVERIES.c.updated_at > stamp,
                            and_(DELIVERIES.c.updated_at == stamp, DELIVERIES.c.id > row_id))).order_by(
                DELIVERIES.c.updated_at, DELIVERIES.c.id).limit(limit)).all()
        cursor = (rows[-1].updated_at, rows[-1].id) if rows else after
        return [json.loads(row.job) for row in rows], cursor

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
