"""The ledger query: the entries generation tasks pushed (XCom :data:`.entries.XCOM_KEY`), summed per
day, DAG, task, service or connection.

The database makes the sums where it can (SQLite's ``json_each``, PostgreSQL's ``jsonb_array_elements``):
one row per (day, DAG, task, service, connection) comes back, and every grouping is folded from those
(the Credits page asks for all of them at once). On another database, or with ``in_database=False``,
the same sums are made here from every entry (the benchmark checks the two agree). Filtering by DAG
(``dag_ids``) is how the API server applies a user's permissions."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, get_args

from pydantic import BaseModel

from .entries import XCOM_KEY, LedgerEntry

__all__ = ["BY", "By", "EntryRow", "Group", "JobLine", "Ledger", "Overview", "Totals", "ledger", "notable_jobs",
           "overview", "read_rows"]

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
    dag_id: str | None = None  # grouped by DAG or task
    task_id: str | None = None  # grouped by task


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


class JobLine(LedgerEntry):
    """A failed or refunded job's ledger entry, with the task instance that paid for it (the page links to it)."""

    at: datetime
    dag_id: str
    task_id: str
    run_id: str
    map_index: int


class Overview(BaseModel):
    """Every grouping at once, from one pass (the Credits page), with the failed and refunded jobs."""

    since: datetime
    until: datetime | None = None
    groups: dict[str, list[Group]]
    total: Totals
    balances: list[Balance] = []
    jobs: list[JobLine] = []
    jobs_limit: int


#: (day, dag_id, task_id, service, conn_id): the finest grouping every other one is folded from.
Part = tuple[str, str, str, str, str]


def _json_entries(dialect: str) -> tuple[Any, Any, Any, Any] | None:
    """(entries, field, number, day) for the database: the table-valued expansion of each XCom's list,
    a text field of an entry, a numeric one, and the XCom's UTC day. None for other databases."""
    from airflow.models.xcom import XComModel as X
    from sqlalchemy import Float, String, cast, column, func, literal_column

    if dialect == "sqlite":
        # A pushed value is stored as a JSON string holding the list's JSON: '$' unwraps it (and leaves a
        # list stored as such alone).
        entries = func.json_each(func.json_extract(X.value, "$")).table_valued(
            column("value", String), joins_implicitly=True).alias("e")

        def field(name: str) -> Any:
            return func.json_extract(entries.c.value, f"$.{name}")

        day = func.date(X.timestamp)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        entries = func.jsonb_array_elements(cast(X.value.op("#>>")(literal_column("'{}'")), JSONB)).table_valued(
            column("value", JSONB), joins_implicitly=True).alias("e")

        def field(name: str) -> Any:
            return entries.c.value.op("->>")(literal_column(f"'{name}'"))

        day = func.to_char(func.timezone("UTC", X.timestamp), "YYYY-MM-DD")
    else:
        return None

    def number(name: str) -> Any:
        return cast(field(name), Float)

    return entries, field, number, day


def _filtered(stmt: Any, since: datetime, until: datetime | None, dag_ids: Collection[str] | None) -> Any:
    from airflow.models.xcom import XComModel as X

    stmt = stmt.where(X.key == XCOM_KEY, X.timestamp >= since)
    if until is not None:
        stmt = stmt.where(X.timestamp < until)
    if dag_ids is not None:
        stmt = stmt.where(X.dag_id.in_(sorted(dag_ids)))
    return stmt


def _sql_parts(session: Any, since: datetime, until: datetime | None,
               dag_ids: Collection[str] | None) -> dict[Part, _Sums] | None:
    """The sums made by the database (SQLite's ``json_each``, PostgreSQL's ``jsonb_array_elements``), one
    row per (day, DAG, task, service, connection) instead of one per entry. None on another database."""
    from airflow.models.xcom import XComModel as X
    from sqlalchemy import case, func, literal_column, select

    found = _json_entries(session.get_bind().dialect.name)
    if found is None:
        return None
    entries, field, number, day = found
    status, estimated, charged, refunded = (field("status"), number("credits_estimated"),
                                            number("credits_charged"), number("credits_refunded"))
    failed = status == "failed"
    stmt = _filtered(
        select(day.label("day"), X.dag_id, X.task_id, field("service").label("service"),
               field("conn_id").label("conn_id"), func.count().label("jobs"),
               func.sum(case((failed, 1), else_=0)).label("failed"),
               func.sum(estimated).label("estimated"), func.count(estimated).label("n_estimated"),
               func.sum(charged).label("charged"), func.count(charged).label("n_charged"),
               func.sum(refunded).label("refunded"),
               func.sum(case((estimated.is_not(None) & charged.is_not(None), charged - estimated),
                             else_=0.0)).label("gap"),
               func.sum(case((failed & refunded.is_(None), 1), else_=0)).label("unreported"))
        .select_from(X).join(entries, literal_column("1") == 1), since, until, dag_ids,
    ).group_by(literal_column("day"), X.dag_id, X.task_id, literal_column("service"), literal_column("conn_id"))
    parts: dict[Part, _Sums] = {}
    for row in session.execute(stmt):
        parts[(str(row.day), row.dag_id, row.task_id, str(row.service), str(row.conn_id))] = _Sums(
            jobs=row.jobs, failed=int(row.failed or 0), estimated=float(row.estimated or 0.0),
            charged=float(row.charged or 0.0), refunded=float(row.refunded or 0.0),
            estimate_gap=float(row.gap or 0.0), without_estimate=row.jobs - row.n_estimated,
            without_charge=row.jobs - row.n_charged, failed_refund_unreported=int(row.unreported or 0))
    return parts


def _python_parts(rows: Iterable[EntryRow]) -> dict[Part, _Sums]:
    parts: dict[Part, _Sums] = {}
    for row in rows:
        key = (row.day, row.dag_id, row.task_id, row.service, row.conn_id)
        part = parts.get(key)
        if part is None:
            part = parts[key] = _Sums()
        part.add(row)
    return parts


_KEY_OF = {"day": lambda p: p[0], "dag": lambda p: p[1], "task": lambda p: f"{p[1]}.{p[2]}",
           "service": lambda p: p[3], "connection": lambda p: p[4]}


def _fold(parts: dict[Part, _Sums], by: str) -> list[Group]:
    sums: dict[str, _Sums] = {}
    ids: dict[str, dict[str, str]] = {}  # a DAG's or task's group names them apart (ids may hold dots)
    key_of = _KEY_OF[by]
    for part, part_sums in parts.items():
        key = key_of(part)
        sums.setdefault(key, _Sums()).merge(part_sums)
        if by in ("dag", "task"):
            ids[key] = {"dag_id": part[1]} | ({"task_id": part[2]} if by == "task" else {})
    return [Group(key=k, **ids.get(k, {}), **sums[k].fields()) for k in sorted(sums)]


def _parts(session: Any, since: datetime, until: datetime | None, dag_ids: Collection[str] | None,
           in_database: bool) -> dict[Part, _Sums]:
    if dag_ids is not None and not dag_ids:
        return {}
    parts = _sql_parts(session, since, until, dag_ids) if in_database else None
    return parts if parts is not None else _python_parts(read_rows(session, since, until, dag_ids))


def _total(parts: dict[Part, _Sums]) -> Totals:
    total = _Sums()
    for part_sums in parts.values():
        total.merge(part_sums)
    return Totals(**total.fields())


def _connections(parts: dict[Part, _Sums]) -> set[tuple[str, str]]:
    return {(p[3], p[4]) for p in parts}


def ledger(session: Any, since: datetime, by: str = "day", until: datetime | None = None,
           dag_ids: Collection[str] | None = None,
           read_balances: Callable[[set[tuple[str, str]]], list[Balance]] | None = None,
           in_database: bool = True) -> Ledger:
    """The report; with ``read_balances``, the current balance of every connection in it. The sums are
    made by the database where it can (SQLite, PostgreSQL), else here (``in_database=False`` forces
    that; the benchmark checks the two agree)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    parts = _parts(session, since, until, dag_ids, in_database)
    return Ledger(since=since, until=until, by=by, groups=_fold(parts, by), total=_total(parts),
                  balances=read_balances(_connections(parts)) if read_balances else [])


def notable_jobs(session: Any, since: datetime, until: datetime | None = None,
                 dag_ids: Collection[str] | None = None, limit: int = 500) -> list[JobLine]:
    """The newest failed or refunded jobs (at most ``limit``), each with its task instance."""
    from airflow.models.xcom import XComModel as X
    from sqlalchemy import literal_column, or_, select

    if dag_ids is not None and not dag_ids:
        return []
    found = _json_entries(session.get_bind().dialect.name)
    if found is None:
        rows = [r for r in read_rows(session, since, until, dag_ids) if r.status == "failed" or (r.refunded or 0) > 0]
        return [JobLine(at=datetime.fromisoformat(r.day).replace(tzinfo=timezone.utc), dag_id=r.dag_id,
                        task_id=r.task_id, run_id=r.run_id, map_index=r.map_index, service=r.service, kind=r.kind,
                        conn_id=r.conn_id, job_id=r.job_id, status=r.status, credits_estimated=r.estimated,
                        credits_charged=r.charged, credits_refunded=r.refunded) for r in rows[-limit:]][::-1]
    entries, field, number, _ = found
    stmt = _filtered(
        select(X.timestamp, X.dag_id, X.task_id, X.run_id, X.map_index, field("service"), field("kind"),
               field("conn_id"), field("job_id"), field("status"), number("credits_estimated"),
               number("credits_charged"), number("credits_refunded"))
        .select_from(X).join(entries, literal_column("1") == 1), since, until, dag_ids,
    ).where(or_(field("status") == "failed", number("credits_refunded") > 0)).order_by(X.timestamp.desc()).limit(limit)
    out = []
    for (at, dag_id, task_id, run_id, map_index, service, kind, conn_id, job_id, status, estimated, charged,
         refunded) in session.execute(stmt):
        out.append(JobLine(at=at if at.tzinfo else at.replace(tzinfo=timezone.utc), dag_id=dag_id, task_id=task_id,
                           run_id=run_id, map_index=map_index, service=str(service), kind=str(kind),
                           conn_id=str(conn_id), job_id=str(job_id), status=str(status),
                           credits_estimated=estimated, credits_charged=charged, credits_refunded=refunded))
    return out


def overview(session: Any, since: datetime, until: datetime | None = None, dag_ids: Collection[str] | None = None,
             read_balances: Callable[[set[tuple[str, str]]], list[Balance]] | None = None,
             jobs_limit: int = 500) -> Overview:
    """Every grouping from one pass, the failed and refunded jobs, and the balances (the Credits page)."""
    parts = _parts(session, since, until, dag_ids, True)
    return Overview(since=since, until=until, groups={by: _fold(parts, by) for by in BY}, total=_total(parts),
                    balances=read_balances(_connections(parts)) if read_balances else [],
                    jobs=notable_jobs(session, since, until, dag_ids, jobs_limit), jobs_limit=jobs_limit)
