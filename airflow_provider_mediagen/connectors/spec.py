"""One declarative walk of the catalog into a platform-neutral description of every connector.

Every platform module (OpenAPI, n8n, Zapier, Make) reads only these objects: a
:class:`ServiceSpec` per service with its :class:`Operation` list (one per documented endpoint, two for
an endpoint that answers one object when a query parameter is given) and its :class:`JobSpec` list
(how each kind of generation is submitted, identified, polled and finished). Nothing here is written
per endpoint: field types, bounds, enums and defaults come from the request models' JSON schema (wire
names are the aliases), and the shape of a job (which field holds its id, its status, its output URL,
its error) is the catalog's declared job shape, so the connectors read a job exactly the way the
Python client does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel

from ..catalog import SERVICES, Completion, Endpoint, JobKind, NormalizedStatus, Service
from ..naming import ACRONYMS, camel, pascal, service_prefix, snake, title_case, words
from .fields import FieldSpec, model_fields, response_schema, webhook_field_of

#: How every service documents its key: ``Authorization: Bearer <key>``.
AUTH_SCHEME = "Bearer"

#: Longest an in-platform wait may block by default, whatever the kind's typical duration.
MAX_DEFAULT_WAIT_SECONDS = 1800


# --- operations and jobs ----------------------------------------------------------------------------

@dataclass
class Operation:
    """One callable thing: an endpoint (or an endpoint read one way, for ``one_by_query``)."""

    id: str  # snake_case, unique per service
    endpoint: Endpoint
    title: str  # "Create AI Image"
    role: str  # submit | status | list | stream | action | read
    resource: str  # generation | job | account
    path_params: list[FieldSpec]
    query: list[FieldSpec]
    body: list[FieldSpec]
    files: list[FieldSpec]
    single: bool = False  # the answer is one object even though the endpoint can list
    kind: str | None = None  # the job kind submitted (submit) or read (status/list)

    @property
    def method(self) -> str:
        return self.endpoint.method

    @property
    def path(self) -> str:
        return self.endpoint.path_template

    @property
    def encoding(self) -> str:
        return self.endpoint.encoding

    @property
    def envelope(self) -> str | None:
        return self.endpoint.envelope

    @property
    def returns_list(self) -> bool:
        return self.endpoint.response_is_list and not self.single

    @property
    def inputs(self) -> list[FieldSpec]:
        return [*self.path_params, *self.query, *self.body, *self.files]

    @property
    def camel(self) -> str:
        return camel(self.id)

    @property
    def description(self) -> str:
        parts = [self.title if self.endpoint.one_by_query else self.endpoint.summary.rstrip(".")]
        if self.endpoint.credit_cost is not None and self.endpoint.credit_cost.describe():
            parts.append(f"costs {self.endpoint.credit_cost.describe()}")
        if self.endpoint.plan:
            parts.append(f"needs the {title_case(self.endpoint.plan)} plan or higher")
        return "; ".join(parts)

    @property
    def response_item_schema(self) -> dict[str, Any]:
        return response_schema(self.endpoint.response)


@dataclass
class JobShape:
    """Where one documented answer keeps a job's id, status, output and error."""

    id_field: str
    status_field: str
    output_fields: list[str]
    error_field: str | None


@dataclass
class JobSpec:
    name: str
    title: str
    kind: JobKind
    submit: Operation
    status: Operation | None
    list: Operation | None
    submit_shape: JobShape | None
    job_shape: JobShape | None
    webhook_field: str | None  # per-request webhook field of the submit body

    @property
    def is_async(self) -> bool:
        return self.kind.is_async

    @property
    def pollable(self) -> bool:
        return self.status is not None

    @property
    def webhook_only(self) -> bool:
        return self.is_async and not self.pollable and Completion.WEBHOOK in self.kind.completion

    @property
    def status_param(self) -> FieldSpec | None:
        """The input of the status operation that carries the job id."""
        if self.status is None:
            return None
        for f in self.status.inputs:
            if f.required:
                return f
        return None

    @property
    def typical_seconds(self) -> float:
        return float(self.kind.typical_seconds)

    @property
    def default_max_wait(self) -> int:
        return int(min(MAX_DEFAULT_WAIT_SECONDS, max(60, math.ceil(self.typical_seconds * 3 / 60) * 60)))

    @property
    def default_interval(self) -> int:
        return int(min(30, max(2, round(self.typical_seconds / 8))))

    @property
    def short(self) -> bool:
        """Short enough to wait for inside one platform step that has a hard time limit."""
        return self.pollable and self.typical_seconds <= 20


@dataclass
class WebhookSpec:
    """What a service POSTs when a job finishes."""

    events: dict[str, dict[str, Any]]  # event name -> JSON schema of the payload
    job_path: str | None  # where the job sits in the payload (the catalog's WebhookEnvelope.job_path)
    shape: JobShape | None
    event_field: str | None  # a field naming the event (WebhookEnvelope.event_field)
    register: Operation | None  # account-level registration (Service.webhook_registration's endpoint)
    register_field: str | None


@dataclass
class ServiceSpec:
    service: Service
    operations: list[Operation]
    jobs: list[JobSpec]
    webhook: WebhookSpec | None

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def title(self) -> str:
        return self.service.title

    @property
    def base_url(self) -> str:
        return self.service.base_url

    @property
    def pascal(self) -> str:
        return pascal(self.service.name)

    @cached_property
    def check(self) -> Operation:
        name = self.service.check_endpoint
        return next(op for op in self.operations if op.endpoint.name == name)

    @property
    def error_message_field(self) -> str:
        return self.service.error_shape.get("message", "error")

    @property
    def error_code_field(self) -> str | None:
        return self.service.error_shape.get("code")

    def op(self, op_id: str) -> Operation:
        return next(op for op in self.operations if op.id == op_id)

    def job(self, name: str) -> JobSpec:
        return next(j for j in self.jobs if j.name == name)

    def job_for(self, op: Operation) -> JobSpec | None:
        return next((j for j in self.jobs if j.name == op.kind), None) if op.kind else None

    @property
    def raw_statuses(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s.value: [] for s in NormalizedStatus}
        for raw, norm in self.service.status_map.items():
            out[norm.value].append(raw)
        return out

    @property
    def status_map(self) -> dict[str, str]:
        return {raw: norm.value for raw, norm in self.service.status_map.items()}

    @property
    def unexpressible(self) -> list[tuple[Operation, str]]:
        """Operations a no-code platform cannot run, and why."""
        why = ("a server-sent-event stream authenticated by a short-lived JWT in the query: the no-code "
               "platforms' HTTP steps read one response and end, so they use the job's status endpoint "
               "(or list endpoint) instead")
        return [(op, why)
                for op in self.operations if op.role == "stream"]


# --- the declared job shape, per documented answer ------------------------------------------------------

def payload_shape(service: Service, model: Any) -> JobShape | None:
    """Which fields of ``model`` hold the id, status, output and error, read from the service's declared
    :class:`~..catalog.JobShape`: the id and status among the fields the answer always carries, the
    outputs (in the declared order of preference) and the error among all of its fields. ``None`` when
    the answer cannot show a job."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    required = set(schema.get("required", ()))
    present = set(schema.get("properties", {}))
    declared = service.job_shape
    id_field = next((f for f in declared.id if f in required), None)
    if id_field is None or declared.status not in required:
        return None
    return JobShape(id_field=id_field, status_field=declared.status,
                    output_fields=[f for f in declared.outputs if f in present],
                    error_field=declared.error if declared.error in present else None)


# --- the walk -------------------------------------------------------------------------------------------

def _files(endpoint: Endpoint) -> list[FieldSpec]:
    return [FieldSpec(name=rule.field, location="file", type="file", required=True,
                      description=f"{title_case(rule.field)} file", file_rule=rule,
                      schema={"type": "string", "format": "binary",
                              "contentMediaType": rule.media_types[0]})
            for rule in endpoint.files]


def _path_params(endpoint: Endpoint, status_of: JobKind | None) -> list[FieldSpec]:
    out = []
    for name in endpoint.path_params:
        desc = f"{status_of.title} job ID" if status_of else f"{title_case(name)}"
        out.append(FieldSpec(name=name, location="path", type="string", required=True, description=desc,
                             min_length=1, schema={"type": "string", "minLength": 1}))
    return out


_VERBS = {"generate", "create", "clone", "translate", "start", "auto", "verify", "get", "list", "configure",
          "revoke", "poll"}
_SMALL = {"a", "an", "the", "and", "or", "of", "to", "from", "in", "on", "for", "with", "by", "at"}


def display_title(text: str) -> str:
    """Title case that keeps the catalog's own spelling (``B-Roll``, ``UGC``) and drops parentheses."""
    text = re.sub(r"\s*\([^)]*\)", "", text).strip()
    out = []
    for i, token in enumerate(text.split()):
        low = token.lower()
        if low in ACRONYMS and low not in ("b",):
            out.append(ACRONYMS[low])
        elif i and low in _SMALL:
            out.append(low)
        elif token.islower():
            out.append(token[:1].upper() + token[1:])
        else:
            out.append(token)
    return " ".join(out)


def _starts_with_verb(text: str) -> bool:
    ws = words(text)
    return bool(ws) and ws[0] in _VERBS


def _op_title(endpoint: Endpoint, role: str, kind: JobKind | None, service: Service) -> str:
    summary = re.sub(r"\s*\([^)]*\)", "", endpoint.summary).strip()
    if role == "submit" and kind is not None:
        if _starts_with_verb(summary) and len(summary.split()) <= 4:
            return display_title(summary)
        if _starts_with_verb(kind.title):
            return display_title(kind.title)
        return display_title(f"Create {kind.title}")
    if role == "status" and kind is not None:
        return display_title(f"Get {kind.title}") if _status_kinds(service, endpoint) == [kind] else "Get Job"
    if role == "list" and kind is not None:
        return "List Jobs"
    return display_title(summary)


def _status_kinds(service: Service, endpoint: Endpoint) -> list[JobKind]:
    return [k for k in service.kinds.values() if k.status == endpoint.name]


def _list_kinds(service: Service, endpoint: Endpoint) -> list[JobKind]:
    return [k for k in service.kinds.values() if k.list == endpoint.name]


def _is_generation(kind: JobKind) -> bool:
    return kind.is_async or kind.extension is not None


def build_service(service: Service) -> ServiceSpec:
    ops: list[Operation] = []
    for ep in service.endpoints.values():
        status_kinds = _status_kinds(service, ep)
        list_kinds = _list_kinds(service, ep)
        kind = service.kinds.get(ep.job_kind) if ep.job_kind else None
        body = model_fields(ep.request, "form" if ep.encoding == "multipart" else "body", webhook_field_of(service, ep))
        query = model_fields(ep.query, "query")
        if ep.stream:
            ops.append(Operation(ep.name, ep, ep.summary, "stream", "job", _path_params(ep, None),
                                 [FieldSpec(name="token", location="query", type="string", required=True,
                                            description="JWT for the stream (not the API key)",
                                            schema={"type": "string"})], [], []))
            continue
        if ep.one_by_query and status_kinds:
            # One endpoint, two operations: "get one" (query parameter required) and "list".
            one_kind = status_kinds[0]
            single_q = [FieldSpec(**{**f.__dict__, "required": True, "description": f"{'Job' if len(status_kinds) > 1 else one_kind.title} ID"})
                        for f in query if f.name == ep.one_by_query]
            ops.append(Operation(f"get_{snake(ep.name)}" if not ep.name.startswith("get") else ep.name, ep,
                                 "Get Job", "status", "job", [], single_q, [], [], single=True,
                                 kind=one_kind.name))
            rest_q = [f for f in query if f.name != ep.one_by_query]
            ops.append(Operation(f"list_{snake(ep.name)}", ep, "List Jobs", "list", "job", [], rest_q, [], [],
                                 kind=(list_kinds or status_kinds)[0].name))
            continue
        if kind is not None and ep.method != "GET":
            role = "submit"
            resource = "generation" if _is_generation(kind) else "account"
        elif status_kinds:
            role, resource, kind = "status", "job", status_kinds[0]
        elif list_kinds:
            role, resource, kind = "list", "job", list_kinds[0]
        else:
            role, resource = ("read" if ep.method == "GET" else "action"), "account"
        ops.append(Operation(ep.name, ep, _op_title(ep, role, kind, service), role, resource,
                             _path_params(ep, kind if role == "status" else None), query,
                             body, _files(ep),
                             kind=kind.name if kind else None))

    jobs: list[JobSpec] = []
    for kind in service.kinds.values():
        submit = next(op for op in ops if op.endpoint.name == kind.submit and op.role == "submit")
        status = next((op for op in ops if op.role == "status" and op.endpoint.name == kind.status), None)
        lister = next((op for op in ops if op.role == "list" and op.endpoint.name == kind.list), None)
        callback_field = next((f.name for f in submit.body if f.is_webhook_url), None)
        submit_shape = payload_shape(service, submit.endpoint.response) if kind.is_async else None
        job_shape = None
        if status is not None:
            job_shape = payload_shape(service, status.endpoint.response)
        elif kind.is_async or kind.extension:
            job_shape = payload_shape(service, submit.endpoint.response)
        jobs.append(JobSpec(kind.name, kind.title, kind, submit, status, lister, submit_shape, job_shape,
                            callback_field))
    return ServiceSpec(service, ops, jobs, _webhook_spec(service, ops, jobs))


def _webhook_spec(service: Service, ops: list[Operation], jobs: list[JobSpec]) -> WebhookSpec | None:
    envelope = service.webhook
    if envelope is None:
        return None
    events = {name: response_schema(model) for name, model in envelope.events.items()}
    shape = payload_shape(service, envelope.job_model)
    register = next((op for op in ops if op.endpoint.name == service.webhook_registration), None)
    register_field = next((f.name for f in register.body if f.is_webhook_url), None) if register else None
    return WebhookSpec(events, envelope.job_path, shape, envelope.event_field, register, register_field)


def webhook_only_kinds(specs: list[ServiceSpec]) -> str:
    """``<Service> <kind title>s`` names of every kind that completes by webhook only, for docs."""
    return ", ".join(f"{s.title} {j.title.lower()}s" for s in specs for j in s.jobs if j.webhook_only)


def account_webhook_services(specs: list[ServiceSpec]) -> str:
    """The services whose webhook URL is set once per account (by their registration endpoint), for docs."""
    return " and ".join(service_prefix(s.service) for s in specs if s.webhook is not None and s.webhook.register)


def build_all() -> dict[str, ServiceSpec]:
    return {name: build_service(svc) for name, svc in SERVICES.items()}
