"""Finding the job an interrupted submission may have created, through a service's list endpoint.

A worker killed between "about to POST" and "answer recorded" cannot know whether the service created
(and charged) a job. Submitting again could pay twice; giving up could lose a paid job. Where a service
lists recent jobs (the kind's ``JobKind.list`` endpoint, newest first, up to 50), the job can
be looked for: same kind, created within the submission's window, and no visible parameter that
contradicts the request. The verdict is one of three, never a guess:

- exactly one candidate: that is the job (reuse it);
- none, with the list covering the whole window: no job was created (submitting is safe);
- several, or a list too short to cover the window: uncertain (the caller fails and says why).

Services without a list endpoint cannot be reconciled: the caller reports the uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..catalog import Job, Service

__all__ = ["CLOCK_SKEW_SECONDS", "IN_FLIGHT_GRACE_SECONDS", "Reconciliation", "reconcile"]

#: Tolerance between this machine's clock and the service's ``created_at``.
CLOCK_SKEW_SECONDS = 30.0
#: How long after a submission began an empty list is not yet proof that nothing was created: the POST
#: may still be in flight, or held by the service, when its sender was killed, and the service creates the
#: job when it gets to it; a list may also lag a just-created job. Within this time the caller waits and
#: lists again before it submits.
IN_FLIGHT_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Reconciliation:
    """What the list says about one interrupted submission."""

    candidates: tuple[Job, ...]
    complete: bool  # the list reaches back past the start of the window

    @property
    def job(self) -> Job | None:
        """The job, when exactly one candidate exists."""
        return self.candidates[0] if len(self.candidates) == 1 else None

    @property
    def nothing_created(self) -> bool:
        return not self.candidates and self.complete


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def _listed_type(service: Service, job: Job) -> Any:
    """The kind a listed job names itself by, where the service's job shape declares such a field."""
    field = service.job_shape.kind_field
    return job.raw.get(field) if field is not None else None


def _echoed(job: Job, name: str) -> tuple[bool, Any]:
    """A request field as the listed job shows it, if it does (top level, ``metadata``, ``<name>_seconds``)."""
    raw, metadata = job.raw, job.metadata
    for where, key in ((raw, name), (metadata, name), (raw, f"{name}_seconds"), (metadata, f"{name}Seconds")):
        if key in where and where[key] is not None:
            return True, where[key]
    return False, None


def _same(wanted: Any, shown: Any) -> bool:
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        try:
            return float(wanted) == float(shown)
        except (TypeError, ValueError):
            return False
    return str(wanted) == str(shown)


def _matches(service: Service, kind: str, job: Job, wire: Mapping[str, Any], since: float, until: float) -> bool:
    created = _epoch(job.created_at)
    if created is not None and not since - CLOCK_SKEW_SECONDS <= created <= until + CLOCK_SKEW_SECONDS:
        return False
    listed_type = _listed_type(service, job)
    if listed_type is not None and str(listed_type) != service.kind(kind).api_type:
        return False
    for name, value in wire.items():
        if isinstance(value, (Mapping, list)):
            continue
        shown, echoed = _echoed(job, name)
        if shown and not _same(value, echoed):
            return False
    return True


def reconcile(service: Service, kind: str, listed: list[Job], wire: Mapping[str, Any], *, since: float,
              until: float, page_size: int = 50) -> Reconciliation:
    """Candidates for a submission of ``kind`` with body ``wire`` made between ``since`` and ``until``
    (epoch seconds), among the ``listed`` jobs (newest first)."""
    candidates = tuple(job for job in listed if _matches(service, kind, job, wire, since, until))
    oldest = min((t for t in (_epoch(j.created_at) for j in listed) if t is not None), default=None)
    complete = len(listed) < page_size or (oldest is not None and oldest < since - CLOCK_SKEW_SECONDS)
    return Reconciliation(candidates, complete)
