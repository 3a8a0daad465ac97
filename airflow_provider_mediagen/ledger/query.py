"""The ledger query: the entries generation tasks pushed (XCom :data:`.entries.XCOM_KEY`), with their task
instances, summed per day, DAG, task, service or connection.

One SELECT over the XCom table's key index and the task instances' unique index, in any database Airflow
supports (the value column is JSON on SQLite and JSONB on PostgreSQL; both come back as Python values,
or as JSON text when a worker stored it serialized). The sums are made here, not in SQL, so the one
query is the same on every database and an entry a newer provider wrote (fields this one does not know)
is still read. Filtering by DAG (``dag_ids``) is how the API server applies a user's permissions."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from pydantic import BaseModel

from .entries import XCOM_KEY

__all__ = ["BY", "By", "EntryRow", "Group", "Ledger", "Totals", "ledger", "read_rows", "summarize"]

By = Literal["day", "dag", "task", "service", "connection"]
BY: tuple[str, ...] = get_args(By)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One job's entry with the task instance that pushed it."""

    day: str
    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    ti_state: str | None
    service: str
    kind: str
    conn_id: str
    job_id: str
    status: str
    estimated: float | None
    charged: float | None
    refunded: float | None

    def key(self, by: str) -> str:
        if by == "day":
            return self.day
        if by == "dag":
            return self.dag_id
        if by == "task":
            return f"{self.dag_id}.{self.task_id}"
        if by == "service":
            return self.service
        return self.conn_id


@dataclass(slots=True)
class _Sums:
    """The running sums (a plain dataclass: a pydantic model's attribute writes cost ~10x more over
    100,000 entries)."""

    jobs: int = 0
    failed: int = 0
    estimated: float = 0.0
    charged: float = 0.0
    refunded: float = 0.0
    estimate_gap: float = 0.0
    without_estimate: int = 0
    without_charge: int = 0
    failed_refund_unreported: int = 0

    def add(self, row: EntryRow) -> None:
        self.jobs += 1
        failed = row.status == "failed"
        self.failed += failed
        if row.estimated is None:
            self.without_estimate += 1
        else:
            self.estimated += row.estimated
        if row.charged is None:
            self.without_charge += 1
        else:
            self.charged += row.charged
            if row.estimated is not None:
                self.estimate_gap += row.charged - row.estimated
        if row.refunded is not None:
            self.refunded += row.refunded
        elif failed:
            self.failed_refund_unreported += 1

    def merge(self, other: _Sums) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__} | {"net": self.charged - self.refunded}


class Totals(BaseModel):
    """Sums over a set of jobs. ``net`` is charged less refunded; ``estimate_gap`` is charged less estimated
    over the jobs that have both (what the credit guard's estimates missed by). The counts say where a
    figure is unknown, so a sum is never read as complete when it is not."""

    jobs: int = 0
    failed: int = 0
    estimated: float = 0.0
    charged: float = 0.0
    refunded: float = 0.0
    net: float = 0.0
    estimate_gap: float = 0.0
    without_estimate: int = 0
    without_charge: int = 0
    failed_refund_unreported: int = 0


class Group(Totals):
    key: str


class Balance(BaseModel):
    """A connection's account as its service reports it now (cached briefly, :mod:`.balances`)."""

    conn_id: str
    service: str
    plan: str | None = None
    balance: float | None = None
    error: str | None = None
    read_at: datetime | None = None


class Ledger(BaseModel):
    since: datetime
    until: datetime | None = None
    by: str
    groups: list[Group]
    total: Totals
    balances: list[Balance] = []


def _value(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    return [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read_rows(session: Any, since: datetime, until: datetime | None = None,
              dag_ids: Collection[str] | None = None) -> Iterator[EntryRow]:
    """Every entry pushed from ``since`` (to ``until``), of the given DAGs only if ``dag_ids`` is given."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, select

    if dag_ids is not None and not dag_ids:
        return
    stmt = (
        select(XComModel.dag_id, XComModel.task_id, XComModel.run_id, XComModel.map_index, XComModel.timestamp,
               XComModel.value, TaskInstance.state)
        .outerjoin(TaskInstance, and_(TaskInstance.dag_id == XComModel.dag_id,
                                      TaskInstance.task_id == XComModel.task_id,
                                      TaskInstance.run_id == XComModel.run_id,
                                      TaskInstance.map_index == XComModel.map_index))
        .where(XComModel.key == XCOM_KEY, XComModel.timestamp >= since)
    )
    if until is not None:
        stmt = stmt.where(XComModel.timestamp < until)
    if dag_ids is not None:
        stmt = stmt.where(XComModel.dag_id.in_(sorted(dag_ids)))
    for dag_id, task_id, run_id, map_index, stamp, raw, state in session.execute(stmt):
        day = stamp.astimezone(timezone.utc).date().isoformat() if stamp.tzinfo else stamp.date().isoformat()
        for entry in _value(raw):
            yield EntryRow(day=day, dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index,
                           ti_state=None if state is None else str(getattr(state, "value", state)),
                           service=str(entry.get("service", "?")), kind=str(entry.get("kind", "?")),
                           conn_id=str(entry.get("conn_id", "?")), job_id=str(entry.get("job_id", "?")),
                           status=str(entry.get("status", "unknown")),
                           estimated=_number(entry.get("credits_estimated")),
                           charged=_number(entry.get("credits_charged")),
                           refunded=_number(entry.get("credits_refunded")))


def summarize(rows: Iterable[EntryRow], by: str) -> tuple[list[Group], Totals, set[tuple[str, str]]]:
    """The groups (sorted by key), the total, and the (service, conn_id) pairs seen."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    sums: dict[str, _Sums] = {}
    total = _Sums()
    connections: set[tuple[str, str]] = set()
    for row in rows:
        key = row.key(by)
        group = sums.get(key)
        if group is None:
            group = sums[key] = _Sums()
        group.add(row)
        total.add(row)
        connections.add((row.service, row.conn_id))
    return [Group(key=k, **sums[k].fields()) for k in sorted(sums)], Totals(**total.fields()), connections


def _sql_summary(session: Any, since: datetime, by: str, until: datetime | None,
                 dag_ids: Collection[str] | None) -> tuple[list[Group], Totals, set[tuple[str, str]]] | None:
    """The sums made by the database (SQLite's ``json_each``, PostgreSQL's ``jsonb_array_elements``): one
    row per (group, service, connection) comes back instead of one per task. None on another database."""
    from airflow.models.xcom import XComModel as X
    from sqlalchemy import Float, String, case, cast, column, func, literal_column, select

    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # A pushed value is stored as a JSON string holding the list's JSON: '$' unwraps it (and leaves a
        # list stored as such alone).
        entries = func.json_each(func.json_extract(X.value, "$")).table_valued(
            column("value", String), joins_implicitly=True).alias("e")

        def field(name: str) -> Any:
            return func.json_extract(entries.c.value, f"$.{name}")

        def number(name: str) -> Any:
            return cast(field(name), Float)

        day = func.date(X.timestamp)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        entries = func.jsonb_array_elements(cast(X.value.op("#>>")(literal_column("'{}'")), JSONB)).table_valued(
            column("value", JSONB), joins_implicitly=True).alias("e")

        def field(name: str) -> Any:
            return entries.c.value.op("->>")(literal_column(f"'{name}'"))

        def number(name: str) -> Any:
            return cast(field(name), Float)

        day = func.to_char(func.timezone("UTC", X.timestamp), "YYYY-MM-DD")
    else:
        return None
    key = {"day": day, "dag": X.dag_id, "task": X.dag_id + "." + X.task_id, "service": field("service"),
           "connection": field("conn_id")}[by]
    status, estimated, charged, refunded = field("status"), number("credits_estimated"), number(
        "credits_charged"), number("credits_refunded")
    failed = status == "failed"
    stmt = (
        select(key.label("k"), field("service").label("service"), field("conn_id").label("conn_id"),
               func.count().label("jobs"),
               func.sum(case((failed, 1), else_=0)).label("failed"),
               func.sum(estimated).label("estimated"), func.count(estimated).label("n_estimated"),
               func.sum(charged).label("charged"), func.count(charged).label("n_charged"),
               func.sum(refunded).label("refunded"),
               func.sum(case((estimated.is_not(None) & charged.is_not(None), charged - estimated),
                             else_=0.0)).label("gap"),
               func.sum(case((failed & refunded.is_(None), 1), else_=0)).label("unreported"))
        .select_from(X).join(entries, literal_column("1") == 1)
        .where(X.key == XCOM_KEY, X.timestamp >= since)
        .group_by(literal_column("k"), literal_column("service"), literal_column("conn_id"))
    )
    if until is not None:
        stmt = stmt.where(X.timestamp < until)
    if dag_ids is not None:
        stmt = stmt.where(X.dag_id.in_(sorted(dag_ids)))
    sums: dict[str, _Sums] = {}
    total = _Sums()
    connections: set[tuple[str, str]] = set()
    for row in session.execute(stmt):
        part = _Sums(jobs=row.jobs, failed=int(row.failed or 0), estimated=float(row.estimated or 0.0),
                     charged=float(row.charged or 0.0), refunded=float(row.refunded or 0.0),
                     estimate_gap=float(row.gap or 0.0), without_estimate=row.jobs - row.n_estimated,
                     without_charge=row.jobs - row.n_charged, failed_refund_unreported=int(row.unreported or 0))
        for target in (sums.setdefault(str(row.k), _Sums()), total):
            target.merge(part)
        connections.add((str(row.service), str(row.conn_id)))
    return [Group(key=k, **sums[k].fields()) for k in sorted(sums)], Totals(**total.fields()), connections


def ledger(session: Any, since: datetime, by: str = "day", until: datetime | None = None,
           dag_ids: Collection[str] | None = None,
           read_balances: Callable[[set[tuple[str, str]]], list[Balance]] | None = None,
           in_database: bool = True) -> Ledger:
    """The report; with ``read_balances``, the current balance of every connection in it. The sums are
    made by the database where it can (SQLite, PostgreSQL), else here (``in_database=False`` forces
    that; the benchmark checks the two agree)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    summary = None
    if in_database and (dag_ids is None or dag_ids):
        summary = _sql_summary(session, since, by, until, dag_ids)
    if summary is None:
        summary = summarize(read_rows(session, since, until, dag_ids), by)
    groups, total, connections = summary
    return Ledger(since=since, until=until, by=by, groups=groups, total=total,
                  balances=read_balances(connections) if read_balances else [])
