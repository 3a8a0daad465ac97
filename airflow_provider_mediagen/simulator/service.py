"""What every simulated service is made of, so the gateway can treat the three alike.

A :class:`ServiceDef` names the service, its URL prefix, its endpoint table (in the docs' own path
notation, which is also what the counters and fault rules use), its error shape, its authentication,
its plan gating and its rate limits. The service modules subclass it and add their routes; the shared
request pipeline lives in ``gateway.py``.

Faults that need to know a service's wire format ask it through hooks here: which requests are
single-job status reads and what their "not found" looks like (``read_lag``), and where and in which
shape the service delivers webhooks (``webhook_forge``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qs

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from .accounts import Account, ApiKey, bearer_token
from .errors import ServiceError, bad_request
from .jobs import Job, Phase
from .ratelimit import Decision

if TYPE_CHECKING:
    from .state import SimState

ModelT = TypeVar("ModelT", bound=BaseModel)

_PARAM = re.compile(r":(\w+)|\{(\w+)\}")


@dataclass(frozen=True)
class EndpointDef:
    """One documented endpoint. ``path`` uses the docs' notation (``:uid`` or ``{job_id}``)."""

    method: str
    path: str
    min_plan: str | None = None
    rate_class: str = "default"

    @property
    def template(self) -> str:
        """``"GET /ai/images/:uid"``: the key used by counters and fault rules."""
        return f"{self.method} {self.path}"

    def regex(self) -> re.Pattern[str]:
        pattern = _PARAM.sub(
            lambda m: f"(?P<{m.group(1) or m.group(2)}>[^/]+)",
            re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}"),
        )
        return re.compile(f"^{pattern}/?$")


@dataclass
class Auth:
    account: Account
    key: ApiKey | None


@dataclass
class RequestContext:
    """What the gateway learned about a request, handed to the handler."""

    service: ServiceDef
    state: SimState
    endpoint: EndpointDef | None
    auth: Auth | None
    base_url: str
    #: The handler's request (set by the ``context`` dependency), for reading bodies and forms.
    request: Request | None = None

    @property
    def account(self) -> Account:
        assert self.auth is not None, "handlers only run for authenticated requests"
        return self.auth.account

    @property
    def account_name(self) -> str:
        return self.auth.account.name if self.auth else "anonymous"

    @property
    def template(self) -> str:
        return self.endpoint.template if self.endpoint else "<unknown>"


class ServiceDef:
    """Base class of the three services. Subclasses set the class attributes and override hooks."""

    name: str = ""
    prefix: str = ""
    endpoints: tuple[EndpointDef, ...] = ()
    #: Single-job status reads (``read_lag``): endpoint template -> the path parameter naming the job.
    job_read_endpoints: ClassVar[dict[str, str]] = {}

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._compiled = [(e, e.regex()) for e in self.endpoints]
        self.reset()

    # --- per-service state -------------------------------------------------------------------
    def reset(self) -> None:
        """Forget per-service data (webhook settings, voice agents, ...)."""

    # --- routing -------------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[EndpointDef | None, bool]:
        """The endpoint for ``method path``, and whether the path exists with another method."""
        path_exists = False
        for endpoint, regex in self._compiled:
            if regex.match(path):
                if endpoint.method == method or (method == "HEAD" and endpoint.method == "GET"):
                    return endpoint, True
                path_exists = True
        return None, path_exists

    def job_read_id(self, ctx: RequestContext, path: str, query_string: bytes) -> str | None:
        """The job id when the request is a single-job status read, else None."""
        if ctx.endpoint is None:
            return None
        param = self.job_read_endpoints.get(ctx.endpoint.template)
        if param is None:
            return None
        found = ctx.endpoint.regex().match(path)
        return found.group(param) if found else None

    @staticmethod
    def query_value(query_string: bytes, name: str) -> str | None:
        values = parse_qs(query_string.decode("latin-1")).get(name)
        return values[0] if values else None

    # --- wire format ---------------------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def job_not_found(self, job_id: str) -> ServiceError:
        """The service's answer to a read of an unknown job (also what ``read_lag`` answers)."""
        return ServiceError(404, "Job not found")

    def unauthorized(self) -> ServiceError:
        return ServiceError(401, "Missing or invalid API key")

    # --- policy hooks --------------------------------------------------------------------------
    def authenticate(self, request: Request, endpoint: EndpointDef | None) -> Auth | None:
        found = self.state.accounts.authenticate(self.name, bearer_token(request.headers.get("authorization")))
        return Auth(*found) if found else None

    def check_plan(self, ctx: RequestContext) -> ServiceError | None:
        endpoint = ctx.endpoint
        if endpoint is not None and endpoint.min_plan and not ctx.account.plan_at_least(endpoint.min_plan):
            return ServiceError(403, "Feature not available on current plan")
        return None

    def rate_limit(self, ctx: RequestContext) -> Decision:
        raise NotImplementedError

    def rate_limited(self, ctx: RequestContext, decision: Decision) -> ServiceError:
        raise NotImplementedError

    def response_headers(self, ctx: RequestContext, decision: Decision | None) -> dict[str, str]:
        """Headers added to every response of this service (Apex: X-RateLimit-*)."""
        return {}

    # --- credits -------------------------------------------------------------------------------
    def has_funds(self, account: Account, cost: int) -> bool:
        return account.credits >= cost

    def charge(self, account: Account, cost: int) -> None:
        """Deduct credits at submission (all three services charge before processing)."""
        account.credits -= cost
        self.state.counters.charged(self.name, account.name, cost)

    def refund(self, account: Account, cost: int) -> None:
        account.credits += cost
        self.state.counters.refunded(self.name, account.name, cost)

    # --- jobs ----------------------------------------------------------------------------------
    #: Phases before the terminal one, and the terminal phases; subclasses set their own.
    phases: tuple[Phase, ...] = (Phase(0.0, "queued"), Phase(0.1, "processing"))
    success_phase: Phase = Phase(1.0, "completed")
    failure_phase: Phase = Phase(1.0, "failed")

    def start_job(
        self,
        ctx: RequestContext,
        *,
        job_id: str,
        kind: str,
        duration_kind: str | None,
        cost: int,
        data: dict[str, Any],
        synchronous: bool = False,
    ) -> Job:
        """Charge, create and schedule a job; ``finish_job`` runs when it ends.

        ``job_fail`` faults only affect asynchronous jobs: a synchronous answer has already said
        "completed".
        """
        account = ctx.account
        will_fail = not synchronous and self.state.faults.job_fails(self.name, ctx.template, account.name)
        self.charge(account, cost)
        self.state.counters.job_created(self.name, account.name)
        job = self.state.jobs.create(
            service=self.name,
            job_id=job_id,
            kind=kind,
            account=account,
            endpoint=ctx.template,
            documented_seconds=0.0 if duration_kind is None else self.state.duration(duration_kind),
            phases=list(self.phases),
            success=self.success_phase,
            failure=self.failure_phase,
            will_fail=will_fail,
            data={**data, "cost": cost, "base_url": ctx.base_url},
            on_finish=self._on_finish,
        )
        self._forge_webhook(job)
        if synchronous:
            self.state.jobs.advance()
        return job

    # --- webhooks ------------------------------------------------------------------------------
    def webhook_target(self, job: Job) -> str | None:
        """The URL this service will deliver ``job``'s result to, if any (FaceDub: none)."""
        return None

    def forged_event(self, job: Job, output_url: str) -> dict[str, Any]:
        """A ``completed`` payload for ``job`` in this service's shape, pointing at ``output_url``."""
        raise NotImplementedError

    def _forge_webhook(self, job: Job) -> None:
        """``webhook_forge``: POST a forged completion before the real delivery (``faults.py``).

        Sent at creation, so it is first; the real delivery waits for it (``Delivery.after``)
        because a synchronous job finishes within this very call.
        """
        url = self.webhook_target(job)
        if not url:
            return
        rule = self.state.faults.webhook_rule("webhook_forge", self.name, job.account.name)
        if rule is None:
            return
        output_url = rule.value or f"{job.data['base_url']}/_sim/attacker/{job.id}.png"
        self.state.counters.fault(self.name, job.account.name, "webhooks_forged")
        job.data["forged_webhook"] = self.state.webhooks.send_forged(url, self.forged_event(job, output_url))

    def _on_finish(self, job: Job) -> None:
        if job.status == "failed":
            self.refund(job.account, job.data["cost"])
            job.data["refunded"] = job.data["cost"]
        self.finish_job(job)

    def finish_job(self, job: Job) -> None:
        """Attach outputs and send webhooks; called once when ``job`` reaches its terminal phase."""

    def output(self, job: Job, filename: str, content_type: str, make: Any) -> str:
        """Register a lazily generated output file of ``job`` and return its signed URL.

        The file remembers its job's service and account, which download faults match on, and the
        job its file ids, which ``GET /_sim/jobs`` reports with their digests.
        """
        file_id = self.state.files.register(filename, content_type, make, service=self.name, account=job.account.name)
        job.data.setdefault("file_ids", []).append(file_id)
        return self.state.files.url(job.data["base_url"], file_id)

    def fault_retry_after(self) -> float:
        """Default Retry-After (documented seconds) for a 429/503 fault that gives none."""
        return 1.0


async def read_json(request: Request | None) -> dict[str, Any]:
    """The JSON object body, or a 400 that says what is wrong with it."""
    assert request is not None
    raw = await request.body()
    if not raw.strip():
        raise bad_request("body", "a JSON object is required")
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("body", "invalid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body", "must be a JSON object")
    return body


def validate(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """Validate with pydantic; the first problem becomes a 400 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"]) or "body"
        message = error["msg"]
        if error["type"] == "missing":
            message = "is required"
        raise bad_request(loc, message) from None


def context(request: Request) -> RequestContext:
    """FastAPI dependency: the gateway's context for this request."""
    ctx: RequestContext = request.scope["sim.ctx"]
    ctx.request = request
    return ctx


#: Handler parameter type: ``async def handler(ctx: Ctx)``.
Ctx = Annotated[RequestContext, Depends(context)]
