"""A job in one shape for every service, and how each service's payloads are read into it: the
normalized statuses and their one order, :class:`Job`, the declared :class:`JobShape` (with the one
parser) and :class:`WebhookEnvelope`. Split from :mod:`.model`, which re-exports all of it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .fields import iso_datetime

if TYPE_CHECKING:
    from .model import Service

__all__ = ["Job", "JobShape", "NormalizedStatus", "UnknownStatusError", "WebhookEnvelope"]


class NormalizedStatus(str, enum.Enum):
    """The four states every service's job statuses collapse into."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (NormalizedStatus.SUCCEEDED, NormalizedStatus.FAILED)

    @property
    def rank(self) -> int:
        """The one order of progress: a job never moves to a lower rank (both outcomes are final, so
        they share the top one and neither replaces the other)."""
        return _RANK[self]


_RANK = {NormalizedStatus.QUEUED: 0, NormalizedStatus.RUNNING: 1, NormalizedStatus.SUCCEEDED: 2,
         NormalizedStatus.FAILED: 2}


class UnknownStatusError(ValueError):
    """A service answered with a status the catalog does not know: never treated as success."""

    def __init__(self, service: str, status: object) -> None:
        super().__init__(f"{service} reported an unknown job status {status!r}")
        self.service = service
        self.status = status


class Job(BaseModel):
    """A generation job in one shape for every service, so the layers above never branch on vendor."""

    model_config = ConfigDict(frozen=True)

    service: str
    kind: str
    id: str
    status: NormalizedStatus
    raw_status: str
    stage: str | None = None
    output_urls: tuple[str, ...] = ()
    # Net credits (charged less refunded), and the two as the service reports them; a refund the service
    # does not report is None (unknown), never 0.
    credits: float | None = None
    credits_charged: float | None = None
    credits_refunded: float | None = None
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    # The media type the service reports for the output, when it does (it names the file's extension).
    media_type: str | None = None
    # What the service reports about the job beyond the normalized fields (passed on to the next task).
    metadata: dict[str, Any] = {}
    raw: dict[str, Any] = {}

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    @property
    def succeeded(self) -> bool:
        return self.status is NormalizedStatus.SUCCEEDED


@dataclass(frozen=True)
class JobShape:
    """Where a service's job payloads (submit answers, status reads, listed jobs, webhook bodies) keep
    each part of a job, as the docs show them. The parser, the reconciliation of a lost submission,
    the operators' output naming and the connectors all read this one declaration.

    Field names are the wire names. Where several are given the first present (non-empty) one wins,
    so one shape reads both a create answer and a job object (FaceDub ``job_id`` / ``id``)."""

    id: tuple[str, ...]
    status: str
    # The output URL fields, in order of preference: a job has one output, the first present.
    outputs: tuple[str, ...] = ()
    error: str | None = None
    stage: str | None = None
    created_at: str | None = None
    finished_at: tuple[str, ...] = ()
    # Credits: a field charged (less a field refunded), or a fixed documented price per job.
    credits: str | None = None
    credits_refunded: str | None = None
    fixed_credits: float | None = None
    # A field naming the job's kind by its ``JobKind.api_type`` (one list or webhook serves all kinds).
    kind_field: str | None = None
    media_type: str | None = None
    metadata: str | None = None

    def _id(self, payload: Mapping[str, Any]) -> str:
        for name in self.id[:-1]:
            if payload.get(name):
                return str(payload[name])
        return str(payload[self.id[-1]])

    def _credits(self, payload: Mapping[str, Any]) -> tuple[float | None, float | None]:
        """(charged, refunded). A declared refund field that is absent reads 0 (nothing refunded yet);
        without one the refund is unknown."""
        if self.fixed_credits is not None:
            return self.fixed_credits, None
        charged = payload.get(self.credits) if self.credits else None
        if charged is None:
            return None, None
        refunded = float(payload.get(self.credits_refunded) or 0) if self.credits_refunded else None
        return float(charged), refunded

    def parse(self, service: Service, kind: str, payload: Mapping[str, Any]) -> Job:
        """The normalized job of one payload. A missing id or status, or a status the service does not
        document, raises (``KeyError`` / :class:`UnknownStatusError`): never read as success."""
        declared = service.kinds.get(kind)
        charged, refunded = self._credits(payload)
        if declared is not None and declared.result_id is not None:
            return Job(service=service.name, kind=kind, id=str(payload[declared.result_id]),
                       status=NormalizedStatus.SUCCEEDED,
                       raw_status=str(payload.get(self.status) or "completed"), raw=dict(payload),
                       credits=charged, credits_charged=charged, credits_refunded=refunded)
        status = service.normalize_status(payload.get(self.status))
        urls = tuple(dict.fromkeys(u for u in (payload.get(f) for f in self.outputs) if u))[:1]
        finished = next((payload[f] for f in self.finished_at if payload.get(f)), None)
        metadata = payload.get(self.metadata) if self.metadata else None
        media_type = payload.get(self.media_type) if self.media_type else None
        if self.kind_field is not None:
            kind = service.kind_by_api_type.get(str(payload.get(self.kind_field)), kind)
        return Job(
            service=service.name,
            kind=kind,
            id=self._id(payload),
            status=status,
            raw_status=str(payload[self.status]),
            stage=payload.get(self.stage) if self.stage else None,
            output_urls=urls if status is NormalizedStatus.SUCCEEDED else (),
            credits=None if charged is None else charged - (refunded or 0.0),
            credits_charged=charged,
            credits_refunded=refunded,
            error=payload.get(self.error) if self.error else None,
            created_at=iso_datetime(payload.get(self.created_at)) if self.created_at else None,
            finished_at=iso_datetime(finished),
            media_type=media_type if isinstance(media_type, str) else None,
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            raw=dict(payload),
        )


@dataclass(frozen=True)
class WebhookEnvelope:
    """What a service POSTs when a job finishes, as its docs show it: the receiver validates a delivery
    against these models and reads the job out of it with the service's :class:`JobShape`; the
    connectors describe the same events."""

    # Event name -> the documented body. A service that names no events has one entry, its name ours.
    events: Mapping[str, type[BaseModel]]
    # The body field naming the event (Apex ``event``), if the body names one.
    event_field: str | None = None
    # The body field the job sits in (Apex ``data``); ``None`` when the body is the job itself.
    job_path: str | None = None

    def model_for(self, body: Mapping[str, Any]) -> type[BaseModel]:
        """The documented model of one delivery: the one its event names, else the first."""
        if self.event_field is not None:
            named = self.events.get(body.get(self.event_field))  # type: ignore[arg-type]
            if named is not None:
                return named
        return next(iter(self.events.values()))

    def job_of(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The job part of a validated delivery."""
        return payload[self.job_path] if self.job_path is not None else payload

    @property
    def job_model(self) -> type[BaseModel]:
        """The model of the job part of a delivery (the body's, or its ``job_path`` field's)."""
        model = next(iter(self.events.values()))
        if self.job_path is None:
            return model
        for name, info in model.model_fields.items():
            if (info.alias or name) == self.job_path and isinstance(info.annotation, type):
                return info.annotation
        raise ValueError(f"{model.__name__} has no field {self.job_path!r}")
