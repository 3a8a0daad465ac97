"""Submit once: the part of the operators' lifecycle that makes sure a job is paid for at most once.

An earlier try's job (recorded in ``task_state_store``) is reused; an earlier try interrupted between
its submission and the answer is reconciled through the service's list endpoint or, for a service
without one, through the receiver's deliveries that name the submission; the intent is recorded before
the submission and the job id at once after it. Split from :mod:`.base` along that seam; the operator
class mixes it in."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import NEVER_EXPIRE
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..catalog import SERVICES, Job, NormalizedStatus
from ..client import MediaClient, MediaGenError, NotFoundError, SubmissionUncertainError
from ..client.reconcile import IN_FLIGHT_GRACE_SECONDS, Reconciliation, reconcile
from ..webhooks.feed import job_of_intent_sync
from ..webhooks.urls import new_intent_id, states_url, with_intent

__all__ = ["STATE_KEY", "SubmitOnceMixin"]

STATE_KEY = "mediagen_job"
"""``task_state_store`` key holding the job an earlier try of this task instance submitted (or, with
``phase: "intent"`` and no ``job_id``, the submission it began and never saw answered)."""

# A job just recorded may not be readable at once (read-after-write lag): its 404 is read again this many
# times, at these delays (real seconds: storage lag does not follow a simulator's time scale), before it
# counts as unknown; together they stay within errors.READ_LAG_GRACE.
_LAG_READS = (0.5, 1.0, 2.0, 4.0)


class SubmitOnceMixin:
    """Mixed into :class:`.base.MediaGenerationOperator`: reuse, reconcile, record and submit."""

    # Set by the operator this is mixed into.
    service: str
    kind: str
    conn_id: str
    _estimate: float | None

    if TYPE_CHECKING:  # provided by CreditsMixin (a stub here would shadow it in the operator's MRO)
        def _carry_failed(self, store: Any, record: dict[str, Any], job: Job) -> None: ...

    def _reuse(self, client: MediaClient, store: Any, request: Any, context: Any) -> Job | None:
        """The job an earlier try submitted, if it can still be used; ``None`` when a new one may be
        submitted. Raises :class:`SubmissionUncertainError` when an earlier try may have paid for a job
        that cannot be found: resubmitting is then the user's decision, never this code's."""
        if store is None:
            self.log.warning("task_state_store is not available: a retry would submit a new job")
            return None
        record = store.get(STATE_KEY)
        if not record or record.get("service") != self.service or record.get("kind") != self.kind:
            return None
        job_id = record.get("job_id")
        if not job_id:
            return self._reconcile(client, store, record, request, context)
        self._job_id = job_id
        if record.get("phase") == "done":
            self.log.warning("Reusing the finished %s %s job %s of an earlier try of this task instance instead "
                             "of paying again. %s With [state_store] clear_on_success = True, clearing a "
                             "successful task generates again.", self.service, self.kind, job_id,
                             self._resubmit_hint(context).replace("submit again", "generate again"))
        if record.get("job") is not None and not self.job_kind.pollable:
            # The normalized job, not the vendor's answer: that came from a submit answer, a status read, a
            # list item or a trigger event, each of another shape, and would be misread as a submit answer.
            self.log.info("Reusing %s %s result %s recorded by an earlier try", self.service, self.kind, job_id)
            return Job.model_validate(record["job"])
        if not self.job_kind.pollable:
            self.log.info("Reusing %s %s job %s recorded by an earlier try", self.service, self.kind, job_id)
            return Job(service=self.service, kind=self.kind, id=job_id, status=NormalizedStatus.QUEUED,
                       raw_status=str(record.get("status") or "pending"))
        job = self._read_recorded(client, job_id, context)
        if job.status is NormalizedStatus.FAILED:
            self.log.warning("Job %s from an earlier try failed (%s; %s); submitting a new one", job_id,
                             job.error or job.raw_status, "its credits are refunded" if job.credits_refunded
                             else "the service reports no refund of its credits"
                             if job.credits_refunded is not None else "the service does not report refunds")
            self._carry_failed(store, record, job)
            return None
        self.log.info("Reusing %s %s job %s (%s) submitted by an earlier try", self.service, self.kind, job_id,
                      job.raw_status)
        return job

    def _read_recorded(self, client: MediaClient, job_id: str, context: Any) -> Job:
        """Read a recorded job, allowing for read-after-write lag; a job that stays unknown is never
        replaced by a new submission on its own."""
        for delay in (*_LAG_READS, None):
            try:
                return client.get_job(self.kind, job_id)
            except NotFoundError:
                if delay is None:
                    break
                time.sleep(delay)
        raise SubmissionUncertainError(
            f"job {job_id}, recorded by an earlier try, is unknown to {SERVICES[self.service].title} (404 after "
            f"{len(_LAG_READS) + 1} reads): it may belong to another account (was the connection's key "
            "changed?) or have been deleted. Nothing was submitted again. " + self._resubmit_hint(context),
            service=self.service, job_id=job_id)

    def _resubmit_hint(self, context: Any) -> str:
        ti = context.get("ti")
        dag_id, run_id = getattr(ti, "dag_id", "<dag_id>"), getattr(ti, "run_id", "<run_id>")
        map_index = getattr(ti, "map_index", -1)
        query = f"?map_index={map_index}" if isinstance(map_index, int) and map_index >= 0 else ""
        return ("To submit again on purpose, delete this task instance's state-store key "
                f"{STATE_KEY!r} (REST API: DELETE /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                f"{self.task_id}/state-store/{STATE_KEY}{query}) and clear the task.")

    def _reconcile(self, client: MediaClient, store: Any, record: dict[str, Any], request: Any,
                   context: Any, grace: bool = True) -> Job | None:
        """An earlier try (or this one) began a submission and recorded no answer: find its job in the
        service's list, or say why it cannot be known. With ``grace``, an empty list within
        :data:`IN_FLIGHT_GRACE_SECONDS` of the submission's start is read again once that time has passed
        (a POST still in flight when its sender died creates its job later)."""
        since = float(record.get("intent_at") or 0.0)
        title = SERVICES[self.service].title
        began = datetime.fromtimestamp(since, timezone.utc).isoformat(timespec="seconds")
        window = f"submission window from {began}"
        if self.job_kind.list is None:
            if record.get("intent_id") and states_url(self.hook.settings, self.conn_id):
                return self._await_intent(client, store, record, context)
            raise SubmissionUncertainError(
                f"a submission of a {title} {self.job_kind.title} job began at {began} and no answer was recorded "
                "(the worker was killed, or the answer was lost). "
                f"{title} documents no endpoint listing jobs, so whether a job was created (and charged) "
                "cannot be checked; nothing was submitted again. " + self._resubmit_hint(context),
                service=self.service)
        def look() -> Reconciliation:
            return reconcile(SERVICES[self.service], self.kind, client.list_jobs(self.kind), request.to_wire(),
                             since=since, until=time.time())

        found = look()
        wait = since + IN_FLIGHT_GRACE_SECONDS - time.time()
        if grace and found.nothing_created and wait > 0:
            self.log.info("%s lists no job of the submission that began at %s yet; a request still in flight "
                          "could create one, so listing again in %.0f s", title, began, wait)
            time.sleep(wait)
            found = look()
        if found.job is not None:
            job = found.job.model_copy(update={"kind": self.kind})
            self.log.warning("Reconciled the interrupted submission with %s job %s (%s), found by the %s; "
                             "reusing it", title, job.id, job.raw_status, window)
            self._record(store, {**record, "job_id": job.id, "status": job.raw_status, "phase": "submitted",
                                 "reconciled": True, "submitted_at": since})
            self._job_id = job.id
            return job
        if found.nothing_created:
            self.log.warning("An earlier try began a submission at %s and recorded no answer; %s lists no "
                             "matching job, so none was created: submitting", began, title)
            return None
        ids = ", ".join(j.id for j in found.candidates) or "none in view"
        raise SubmissionUncertainError(
            f"a submission of a {title} {self.job_kind.title} job began at {began} and no answer was recorded; "
            f"{title}'s job list cannot tell which job it created (candidates in the {window}: {ids}"
            f"{'' if found.complete else '; the list does not reach back to the window'}). Nothing was "
            "submitted again. " + self._resubmit_hint(context), service=self.service)

    def _await_intent(self, client: MediaClient, store: Any, record: dict[str, Any], context: Any) -> Job:
        """A service without a job list, a submission without a recorded answer, and a receiver URL that
        named the submission: its delivery (sent when the job finishes) says which job it created. Asked
        of the receiver until the task's timeout, counted from the submission; none by then is uncertain
        (the POST may never have arrived), never a reason to pay again on our own."""
        url = states_url(self.hook.settings, self.conn_id)
        assert url is not None and record.get("intent_id")
        since = float(record.get("intent_at") or time.time())
        deadline = since + self.timeout
        title = SERVICES[self.service].title
        self.log.info("Waiting up to %.0f s for the webhook delivery naming the submission that began at %s",
                      max(0.0, deadline - time.time()),
                      datetime.fromtimestamp(since, timezone.utc).isoformat(timespec="seconds"))
        while True:
            found = job_of_intent_sync(url, record["intent_id"])
            if found is not None:
                break
            if time.time() >= deadline:
                began = datetime.fromtimestamp(since, timezone.utc).isoformat(timespec="seconds")
                raise SubmissionUncertainError(
                    f"a submission of a {title} {self.job_kind.title} job began at {began} and no answer was "
                    f"recorded; no webhook delivery named it within the task's timeout ({self.timeout:.0f} s), "
                    f"and {title} documents no endpoint listing jobs, so whether a job was created (and "
                    "charged) cannot be checked; nothing was submitted again. " + self._resubmit_hint(context),
                    service=self.service)
            time.sleep(min(2.0, max(0.05, self.timeout / 100)))
        self._job_id = found.id
        self.log.warning("The webhook delivery for the submission that began at %s names %s job %s (%s); "
                         "reusing it", datetime.fromtimestamp(since, timezone.utc).isoformat(timespec="seconds"),
                         title, found.id, found.raw_status)
        self._record(store, {**record, "phase": "submitted", "job_id": found.id, "status": found.raw_status,
                             "reconciled": True, "submitted_at": since})
        if self.job_kind.pollable:  # the delivery is a wake-up: the service's own read says how the job stands
            return Job(service=self.service, kind=self.kind, id=found.id, status=NormalizedStatus.QUEUED,
                       raw_status="unknown")
        return found.model_copy(update={"kind": self.kind})

    def _guard_credits(self, client: MediaClient, request: Any) -> None:
        if not (self.check_credits or self.max_credits is not None):
            return
        cost = self._estimate
        if cost is None:
            self.log.info("%s documents no cost for %s; no credit guard applied", self.service, self.kind)
            return
        if self.max_credits is not None and cost > self.max_credits:
            raise AirflowFailException(
                f"{self.service} {self.kind} costs {cost} credits, over max_credits={self.max_credits}; nothing "
                "was submitted")
        if self.check_credits:
            balance = client.balance()
            if balance - cost < self.reserve_credits:
                raise AirflowFailException(
                    f"{self.service} balance is {balance:g} credits; {self.kind} costs {cost} credits"
                    + (f" and {self.reserve_credits:g} must stay in reserve" if self.reserve_credits else "")
                    + "; nothing was submitted")
            self.log.info("Credit check: balance %g covers %s credits", balance, cost)

    def _record(self, store: Any, record: dict[str, Any]) -> None:
        if store is not None:
            store.set(STATE_KEY, record, retention=NEVER_EXPIRE)

    def _submit(self, client: MediaClient, request: Any, store: Any, context: Any) -> Job:
        """Record the intent, submit, record the job id. A crash anywhere in between leaves the intent,
        which the next try reconciles; an answer that cannot be read is never a reason to submit again."""
        base = {"service": self.service, "kind": self.kind, "estimate": self._estimate}
        intent_at = time.time()
        intent_id = None
        field = self.endpoint.webhook_field
        if self._receiver is not None and field is not None and getattr(request, field, None) == self._receiver:
            # The delivery names this submission: the one way a service without a job list can tell
            # which job a lost answer created.
            intent_id = new_intent_id()
            request = request.model_copy(update={field: with_intent(self._receiver, intent_id)})
        intent = {**base, "phase": "intent", "job_id": None, "intent_at": intent_at, "intent_id": intent_id}
        self._record(store, intent)
        try:
            with self._open_files() as files:
                job = client.submit(self.kind, request, **files)
        except SubmissionUncertainError as exc:
            if exc.job_id:  # the answer named its job: keep it before anything else
                self._record(store, {**base, "phase": "submitted", "job_id": exc.job_id, "status": "unknown",
                                     "intent_at": intent_at, "submitted_at": intent_at})
                self._job_id = exc.job_id
                if not self.job_kind.pollable:
                    raise
                self.log.warning("%s; reading job %s for its real status", exc, exc.job_id)
                return Job(service=self.service, kind=self.kind, id=exc.job_id, status=NormalizedStatus.QUEUED,
                           raw_status="unknown")
            if self.job_kind.list is None and intent_id is not None:
                self.log.warning("%s; waiting for the webhook delivery that names this submission", exc)
                return self._await_intent(client, store, intent, context)
            if self.job_kind.list is None or store is None:
                raise
            self.log.warning("%s; looking for the job in %s's job list", exc, SERVICES[self.service].title)
            found = self._reconcile(client, store, store.get(STATE_KEY) or {}, request, context, grace=False)
            if found is None:
                raise AirflowException(  # the next try lists again (after the in-flight grace), then submits
                    f"{self._where()}: the submission's answer was lost ({exc}) and "
                    f"{SERVICES[self.service].title} lists no matching job yet; the next try looks again "
                    f"once {IN_FLIGHT_GRACE_SECONDS:g} s have passed since the submission began, and submits "
                    "only if there is still none") from None
            return found
        except MediaGenError:
            # The service answered with an error (or the request never left): nothing was created.
            self._forget(store)
            raise
        self._job_id = job.id
        self.log.info("Submitted %s %s job %s (%s)", self.service, self.kind, job.id, job.raw_status)
        record: dict[str, Any] = {**base, "phase": "submitted", "job_id": job.id, "status": job.raw_status,
                                  "intent_at": intent_at, "submitted_at": time.time()}
        if job.terminal:
            record["job"] = self._storable(job)
        self._record(store, record)
        return job

    @staticmethod
    def _forget(store: Any) -> None:
        if store is not None:
            store.delete(STATE_KEY)
