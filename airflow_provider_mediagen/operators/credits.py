"""What a generation task paid for, pushed as its ledger entries (:mod:`..ledger`): the documented
estimate made before the submission, and what the service reports charged and refunded, for every job
the task instance paid for across its tries. Split from :mod:`.base`; the operator class mixes it in."""

from __future__ import annotations

from typing import Any

from airflow.sdk import NEVER_EXPIRE

from ..catalog import Endpoint, Job
from ..ledger.entries import EARLIER_KEY, XCOM_KEY, LedgerEntry
from .submission import STATE_KEY

__all__ = ["CreditsMixin"]


class CreditsMixin:
    """Mixed into :class:`.base.MediaGenerationOperator`."""

    # Set by the operator this is mixed into.
    service: str
    kind: str
    conn_id: str
    endpoint: Endpoint

    _estimate: float | None = None  # the catalog's estimate for this try's request
    _last_job: Job | None = None  # the job as last seen in this try (its status and charge so far)
    _ledger_pushed: bool = False  # this try pushed its entries (a later failure must not replace them)
    _last_entry: LedgerEntry | None = None  # this try's job's entry, as pushed (lineage reports its figures)

    def _estimated(self, request: Any) -> float | None:
        """The documented cost of ``request`` (None where the docs give none); kept for the ledger."""
        self._estimate = self.endpoint.credit_cost.estimate(request) if self.endpoint.credit_cost else None
        return self._estimate

    def _estimate_of(self, store: Any) -> float | None:
        """The estimate made when the current job was submitted (a resumed or retried try may have
        rendered its request differently), else this try's."""
        record = store.get(STATE_KEY) if store is not None else None
        if isinstance(record, dict) and isinstance(record.get("estimate"), (int, float)):
            return float(record["estimate"])
        return self._estimate

    @staticmethod
    def _earlier(store: Any) -> list[dict[str, Any]]:
        value = store.get(EARLIER_KEY) if store is not None else None
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []

    def _carry_failed(self, store: Any, record: dict[str, Any], job: Job) -> None:
        """An earlier try's job failed and a new one is about to be submitted: its entry is kept, since
        this try's XComs replace that try's."""
        if store is None:
            return
        estimate = record.get("estimate") if isinstance(record.get("estimate"), (int, float)) else None
        entry = LedgerEntry.of(job, self.conn_id, estimate).stored()
        kept = [e for e in self._earlier(store) if e.get("job_id") != job.id]
        store.set(EARLIER_KEY, [*kept, entry], retention=NEVER_EXPIRE)

    def _push_ledger(self, context: Any, entry: LedgerEntry | None) -> None:
        """Push the task instance's entries: earlier tries' failed jobs and the current one."""
        store = context.get("task_state_store")
        entries = [e for e in self._earlier(store) if entry is None or e.get("job_id") != entry.job_id]
        if entry is not None:
            entries.append(entry.stored())
        if entries:
            context["ti"].xcom_push(key=XCOM_KEY, value=entries)
        self._ledger_pushed = True
        self._last_entry = entry

    def _ledger_entry(self, context: Any, job: Job, status: str | None = None) -> LedgerEntry:
        entry = LedgerEntry.of(job, self.conn_id, self._estimate_of(context.get("task_state_store")), status)
        self._push_ledger(context, entry)
        return entry

    def _push_unfinished(self, context: Any, job_id: str | None) -> None:
        """The task ends without a finished job (a timeout, an error): the job, as last seen (or only its
        id, status ``unknown``), is still in the ledger, so nothing paid for goes unlisted. Never raises:
        the task's own error matters more."""
        if self._ledger_pushed:
            return
        try:
            last = self._last_job
            if last is not None and last.id == job_id:
                self._ledger_entry(context, last)
            elif job_id:
                estimate = self._estimate_of(context.get("task_state_store"))
                self._push_ledger(context, LedgerEntry(service=self.service, kind=self.kind, conn_id=self.conn_id,
                                                       job_id=job_id, status="unknown", credits_estimated=estimate))
            else:
                self._push_ledger(context, None)
        except Exception:  # noqa: BLE001 - the ledger must never hide why the task failed
            getattr(self, "log").warning("Could not record the ledger entry of job %s", job_id, exc_info=True)
