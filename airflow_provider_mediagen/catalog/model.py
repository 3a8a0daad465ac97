"""The vocabulary every catalog module is written in.

A service is described as data: its endpoints (method, documented path, request/response models, plan,
credit cost, rate-limit class), its rate limits, its job kinds (how each one completes), and how its
raw job payloads map onto one normalized :class:`Job`. Generators (connectors, docs, operators) walk
these objects; nothing here knows about HTTP clients or Airflow.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .jobs import Job, JobShape, NormalizedStatus, UnknownStatusError, WebhookEnvelope

__all__ = [
    "Completion",
    "CreditCost",
    "Endpoint",
    "FileRule",
    "Job",
    "JobKind",
    "JobShape",
    "NormalizedStatus",
    "RateLimit",
    "RequestModel",
    "ResponseModel",
    "Service",
    "UnknownStatusError",
    "WebhookEnvelope",
]


class Completion(str, enum.Enum):
    """How the outcome of a job kind can be learned, as the docs allow."""

    SYNC = "sync"  # the submit answer already carries the result
    POLL = "poll"  # a status endpoint for one job
    LIST = "list"  # a list endpoint returning many jobs at once
    WEBHOOK = "webhook"  # the service POSTs to a URL
    SSE = "sse"  # a server-sent-event stream per job


class RequestModel(BaseModel):
    """Base of every request model: unknown fields are refused, so a typo costs nothing."""

    # defer_build: DAG files import the operators every parse; schemas are built on first use instead.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """The body as the service expects it: documented names, no unset optional fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ResponseModel(BaseModel):
    """Base of every response model: unknown fields are kept (services add fields), missing required
    fields are a protocol error."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


@dataclass(frozen=True)
class RateLimit:
    """A documented request budget: ``limit`` requests per ``window_seconds`` per API key."""

    name: str
    limit: int
    window_seconds: float
    sliding: bool = False
    description: str = ""

    @property
    def min_interval(self) -> float:
        """The steady-state spacing that spends this budget exactly."""
        return self.window_seconds / self.limit


@dataclass(frozen=True)
class CreditCost:
    """What a call costs, as documented. ``compute`` derives it from the request where it varies."""

    credits: int | None = None
    note: str = ""
    compute: Callable[[Mapping[str, Any]], int] | None = None

    def estimate(self, request: Mapping[str, Any] | BaseModel | None = None) -> int | None:
        if self.compute is not None:
            if isinstance(request, BaseModel):
                request = request.model_dump(by_alias=True)
            return self.compute(request or {})
        return self.credits

    def describe(self) -> str:
        if self.note:
            return self.note
        return "" if self.credits is None else f"{self.credits} credits"


@dataclass(frozen=True)
class FileRule:
    """An upload field's documented constraints, checked before a byte is sent."""

    field: str
    media_types: tuple[str, ...]
    extensions: tuple[str, ...]
    max_bytes: int
    # Leading bytes that identify each accepted type (offset, signature), to catch a renamed file.
    signatures: tuple[tuple[int, bytes], ...] = ()


_PATH_PARAM = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\}")


#: Request fields that hold a generation's prompt or script, wherever an endpoint has them.
PROMPT_FIELD_NAMES = ("prompt", "negative_prompt", "script", "text", "system_prompt")


@dataclass(frozen=True)
class Endpoint:
    """One documented endpoint.

    ``path`` is written exactly as the service's docs write it (``/ai/images/:uid``,
    ``/jobs/{job_id}``); :attr:`path_template` is the same path in ``{name}`` form for formatting.
    """

    name: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    summary: str
    rate_limit: str
    plan: str | None = None
    request: type[RequestModel] | None = None
    query: type[RequestModel] | None = None
    response: type[BaseModel] | None = None
    response_is_list: bool = False
    # When this query parameter is given the answer is one object, not a list (Apex GET /api/jobs?id=).
    one_by_query: str | None = None
    success_status: int = 200
    envelope: str | None = None
    encoding: Literal["json", "multipart", "none"] = "none"
    credit_cost: CreditCost | None = None
    job_kind: str | None = None
    stream: bool = False
    auth: Literal["api_key", "jwt_query"] = "api_key"
    # The request field (its Python name) that takes a URL to call back when this request's job is
    # done, where the service takes one per request.
    webhook_field: str | None = None
    files: tuple[FileRule, ...] = ()
    description: str = ""
    # The request fields holding the text a generation is made from (lineage reports their hash). None:
    # the request's fields named as in PROMPT_FIELD_NAMES.
    prompts: tuple[str, ...] | None = None

    @property
    def prompt_fields(self) -> tuple[str, ...]:
        if self.prompts is not None:
            return self.prompts
        names = self.request.model_fields if self.request is not None else {}
        return tuple(n for n in PROMPT_FIELD_NAMES if n in names)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(a or b for a, b in _PATH_PARAM.findall(self.path))

    @property
    def path_template(self) -> str:
        return _PATH_PARAM.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", self.path)

    @property
    def key(self) -> str:
        """``METHOD path`` as documented: the identity used by counters, docs and checks."""
        return f"{self.method} {self.path}"

    def render_path(self, **params: str) -> str:
        from urllib.parse import quote

        missing = set(self.path_params) - params.keys()
        if missing:
            raise ValueError(f"{self.key}: missing path parameter(s) {sorted(missing)}")
        return self.path_template.format(**{k: quote(str(v), safe="") for k, v in params.items()})



@dataclass(frozen=True)
class JobKind:
    """A kind of generation: which endpoint submits it and how its outcome is learned."""

    name: str
    title: str
    submit: str
    completion: tuple[Completion, ...]
    media: Literal["image", "video", "audio", "voice", "call", "agent"]
    extension: str | None
    status: str | None = None  # endpoint polling one job
    list: str | None = None  # endpoint listing recent jobs
    stream: str | None = None  # SSE endpoint
    typical_seconds: float = 60.0
    # The polling cadence the service's docs advise or show for this kind, if any: the default poll
    # interval then (else a tenth of ``typical_seconds``).
    poll_seconds: float | None = None
    description: str = ""
    # The request field asking for several output files (Apex photoshoot ``count``), if any: the
    # operators warn when a job returns fewer files than it asked for.
    outputs_field: str | None = None
    # What a listed or delivered job names this kind by, in the field ``JobShape.kind_field`` (Apex
    # reports ``type: "b-roll"``): lets one list or webhook serve every kind.
    api_type: str | None = None
    # For a kind answered at once: the field of the answer that identifies the result (a voice id, a
    # call id); the answer is the finished job.
    result_id: str | None = None
    # What the operators' reference adds where the docs are silent or a rule spans fields.
    notes: tuple[str, ...] = ()
    # Values the reference's example uses for these request fields; an optional field named here is shown.
    example: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def is_async(self) -> bool:
        return Completion.SYNC not in self.completion

    @property
    def pollable(self) -> bool:
        return self.status is not None or self.list is not None


@dataclass(frozen=True)
class Service:
    """Everything the docs say about one service, as data."""

    name: str
    title: str
    base_url: str
    key_prefix: str
    plans: tuple[str, ...]
    endpoints: Mapping[str, Endpoint]
    rate_limits: Mapping[str, RateLimit]
    kinds: Mapping[str, JobKind]
    status_map: Mapping[str, NormalizedStatus]
    error_codes: Mapping[int, str]
    error_shape: Mapping[str, str]
    job_shape: JobShape
    api_plan: str | None = None  # plan every API call needs
    check_endpoint: str | None = None  # cheapest read that proves a key works
    usage_endpoint: str | None = None
    balance: Callable[[Mapping[str, Any]], float] | None = None
    # The usage answer's field naming the account's plan (the credits ledger shows it), if it has one.
    usage_plan: str | None = None
    webhook: WebhookEnvelope | None = None
    # Endpoint that registers the account-level webhook URL (its request's only field is that URL).
    webhook_registration: str | None = None
    max_concurrent_jobs: int | None = None
    docs_note: str = ""
    # Where the service comes in every listing, generated file and doc (the order the services joined).
    listed: int = 0
    # Its icons' colours in the connectors, on a light background and on a dark one (n8n's linter wants
    # the two variants to differ).
    colours: tuple[str, str] = ("#444444", "#BBBBBB")

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise KeyError(f"{self.name} has no endpoint {name!r}") from None

    def kind(self, name: str) -> JobKind:
        try:
            return self.kinds[name]
        except KeyError:
            known = ", ".join(self.kinds)
            raise KeyError(f"{self.name} has no job kind {name!r} (known: {known})") from None

    def parse_job(self, kind: str, payload: Mapping[str, Any]) -> Job:
        """The normalized job of one of this service's payloads, read by its declared :attr:`job_shape`."""
        return self.job_shape.parse(self, kind, payload)

    @cached_property
    def kind_by_api_type(self) -> Mapping[str, str]:
        return {k.api_type: k.name for k in self.kinds.values() if k.api_type is not None}

    def normalize_status(self, raw: object) -> NormalizedStatus:
        try:
            return self.status_map[str(raw)]
        except KeyError:
            raise UnknownStatusError(self.name, raw) from None
