"""One ledger entry per job a task paid for: the figures the services report (charged, refunded) next to
what the catalog estimated before the submission, so estimate-vs-charged can be read per task.

Why an XCom of its own and not only the return value: a failed task has no return value, and Airflow
clears a task instance's XComs when a new try starts, so each try pushes the whole list (the jobs of
earlier tries are carried in the task state store, :data:`EARLIER_KEY`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ..catalog import Job

__all__ = ["EARLIER_KEY", "XCOM_KEY", "LedgerEntry"]

XCOM_KEY = "mediagen_credits"
"""XCom key of a generation task's ledger entries (a JSON list of :class:`LedgerEntry`)."""

EARLIER_KEY = "mediagen_credits_earlier"
"""``task_state_store`` key holding the entries of jobs that earlier tries of the task instance paid for
and that will not be used again (they failed)."""


class LedgerEntry(BaseModel):
    """What one job cost. ``credits_refunded`` is None where the service does not report refunds;
    ``credits_charged`` is None where it does not report (and the catalog does not document) a price."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: str
    kind: str
    conn_id: str
    job_id: str
    status: str
    credits_estimated: float | None = None
    credits_charged: float | None = None
    credits_refunded: float | None = None

    @classmethod
    def of(cls, job: Job, conn_id: str, estimate: float | None, status: str | None = None) -> LedgerEntry:
        return cls(service=job.service, kind=job.kind, conn_id=conn_id, job_id=job.id,
                   status=status or job.status.value, credits_estimated=estimate,
                   credits_charged=job.credits_charged, credits_refunded=job.credits_refunded)

    @property
    def net(self) -> float:
        return (self.credits_charged or 0.0) - (self.credits_refunded or 0.0)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
