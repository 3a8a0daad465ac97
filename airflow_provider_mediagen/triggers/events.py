"""The contract between a trigger and the task that resumes from it: a small payload, validated on
resume, where anything unexpected (an unknown status, a missing field) is a failure, never success."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..catalog import Job
from ..client.secrets import scrub

__all__ = ["JobEvent", "parse_event"]


class JobEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["succeeded", "failed", "timeout", "error"]
    service: str
    kind: str
    job_id: str
    raw_status: str | None = None
    stage: str | None = None
    output_urls: tuple[str, ...] = ()
    credits: float | None = None
    credits_charged: float | None = None
    credits_refunded: float | None = None
    message: str | None = None
    elapsed: float | None = None
    # An error no retry can fix (the service refused the key, or answered a non-transient error):
    # the resuming task fails at once instead of spending its retries.
    final: bool | None = None

    @classmethod
    def from_job(cls, job: Job, elapsed: float | None = None) -> JobEvent:
        return cls(status="succeeded" if job.succeeded else "failed", service=job.service, kind=job.kind,
                   job_id=job.id, raw_status=job.raw_status, stage=job.stage,
                   # masked: the event is stored in Airflow's database; the task reads fresh ones
                   output_urls=tuple(scrub(u) for u in job.output_urls),
                   credits=job.credits, credits_charged=job.credits_charged,
                   credits_refunded=job.credits_refunded, message=job.error, elapsed=elapsed)

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def parse_event(event: Any) -> JobEvent:
    """The event a trigger sent, checked; raises ``ValueError`` naming what is wrong."""
    try:
        return JobEvent.model_validate(event)
    except ValidationError as exc:
        raise ValueError(f"the trigger sent an event this provider does not understand: {exc}") from None
