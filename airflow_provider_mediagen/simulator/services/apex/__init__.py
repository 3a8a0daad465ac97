"""Apex Studio (``/apex``): generation jobs, voice agents, keys, usage and the account webhook.

As documented, plus the project contract (docs/undocumented-behaviour.md):

- ``Authorization: Bearer sk_live_...``; the API is Enterprise-only (403 FORBIDDEN otherwise);
  errors ``{"error": "...", "code": "..."}`` with the documented codes (404 uses ``NOT_FOUND``).
- Rate-limit classes per key, fixed windows: generation (every ``POST /api/generate/*``) 5 / 10 s,
  read (every GET) 20 / 10 s, standard (other POSTs) 20 / 10 s, outbound calls 200 / 3,600 s.
  Every response carries ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (Unix seconds) of the
  request's class; answers that consume no quota (401, 404, faults) show the bucket's current state.
- Credits are charged at submission (documented cost per endpoint; instant-ad 500 / 1,000 / 1,250 for
  ``outputFormat`` image / video / both) and refunded when the job fails; 402 when short.
- Bodies are validated strictly, like Zod: wrong JSON types are 400, not coerced.
- Jobs go ``queued`` -> ``processing`` -> ``completed`` | ``failed``; ``GET /api/jobs`` lists them
  newest first (at most 50), ``GET /api/jobs?id=`` returns one or 404 ``NOT_FOUND``.
- ``POST /api/settings`` sets the account webhook (SSRF-checked, see ``urls.py``); ``job.completed`` /
  ``job.failed`` are POSTed there, retried at 10 s, 60 s, 300 s (time-scaled) when the receiver does
  not answer 2xx within 10 s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter

from ...errors import ServiceError, bad_request
from ...jobs import Job
from ...ratelimit import Decision
from ...registry import DemoAccount, Simulated
from ...service import Ctx, EndpointDef, RequestContext, ServiceDef, read_json, validate
from ...urls import webhook_url_problem
from ...webhooks import Delivery
from .generation import (
    AgentRequest,
    GENERATION,
    KeyRequest,
    OUTBOUND_CALL_COST,
    OutboundCallRequest,
    Output,
    SettingsRequest,
    VOICE_CLONE_COST,
    VoiceCloneRequest,
    iso,
)

RETRY_DELAYS = (10.0, 60.0, 300.0)
WEBHOOK_TIMEOUT = 10.0

#: Rate-limit classes: (limit, window in documented seconds).
RATE_CLASSES: dict[str, tuple[int, float]] = {
    "generation": (5, 10.0),
    "read": (20, 10.0),
    "standard": (20, 10.0),
    "upload": (10, 60.0),
    "destructive": (10, 60.0),
    "outbound": (200, 3600.0),
}

CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    402: "PAYMENT_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class Apex(ServiceDef):
    name = "apex"
    prefix = "/apex"
    endpoints = (
        *(EndpointDef("POST", f"/api/generate/{kind}", "enterprise", "generation") for kind in GENERATION),
        EndpointDef("POST", "/api/generate/voice-clone", "enterprise", "generation"),
        EndpointDef("POST", "/api/voice-agent/calls/outbound", "enterprise", "outbound"),
        EndpointDef("GET", "/api/voice-agent/calls", "enterprise", "read"),
        EndpointDef("POST", "/api/voice-agent/agents", "enterprise", "standard"),
        EndpointDef("GET", "/api/jobs", "enterprise", "read"),
        EndpointDef("GET", "/api/usage", "enterprise", "read"),
        EndpointDef("GET", "/api/keys", "enterprise", "read"),
        EndpointDef("POST", "/api/keys", "enterprise", "standard"),
        EndpointDef("POST", "/api/settings", "enterprise", "standard"),
    )

    def reset(self) -> None:
        self.webhook_urls: dict[str, str] = {}
        self.voices: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []

    # --- wire format ---------------------------------------------------------------------------
    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        return {"error": message, "code": code or CODES.get(status, "INTERNAL_ERROR")}

    def job_not_found(self, job_id: str) -> ServiceError:
        return ServiceError(404, "Job not found", "NOT_FOUND")

    def job_read_id(self, ctx: RequestContext, path: str, query_string: bytes) -> str | None:
        """``GET /api/jobs?id=`` reads one job; without ``id`` it is the list."""
        if ctx.endpoint is None or ctx.endpoint.template != "GET /api/jobs":
            return None
        return self.query_value(query_string, "id")

    def check_plan(self, ctx: RequestContext) -> ServiceError | None:
        if not ctx.account.plan_at_least("enterprise"):
            return ServiceError(403, "API access requires the Enterprise plan")
        return None

    # --- rate limits ---------------------------------------------------------------------------
    @staticmethod
    def rate_class(method: str, endpoint: EndpointDef | None) -> str:
        if endpoint is not None:
            return endpoint.rate_class
        return {"GET": "read", "DELETE": "destructive"}.get(method, "standard")

    def _bucket(self, ctx: RequestContext, rate_class: str) -> str:
        assert ctx.auth is not None and ctx.auth.key is not None
        return f"apex:{ctx.auth.key.id}:{rate_class}"

    def rate_limit(self, ctx: RequestContext) -> Decision:
        rate_class = self.rate_class("", ctx.endpoint)
        limit, window = RATE_CLASSES[rate_class]
        return self.state.fixed_limiter.hit(self._bucket(ctx, rate_class), limit, window)

    def rate_limited(self, ctx: RequestContext, decision: Decision) -> ServiceError:
        retry = self.state.clock.retry_after(decision.retry_after)
        return ServiceError(429, "Too many requests", "RATE_LIMITED", headers={"Retry-After": retry})

    def response_headers(self, ctx: RequestContext, decision: Decision | None) -> dict[str, str]:
        if decision is None:
            method = ctx.request.method if ctx.request else "GET"
            rate_class = self.rate_class(method, ctx.endpoint)
            limit, window = RATE_CLASSES[rate_class]
            if ctx.auth is not None and ctx.auth.key is not None:
                decision = self.state.fixed_limiter.peek(self._bucket(ctx, rate_class), limit, window)
            else:
                reset = self.state.clock.monotonic() + self.state.clock.scaled(window)
                decision = Decision(True, limit, limit, reset, 0.0)
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.state.clock.wall_at(decision.reset_at))),
        }

    # --- jobs ----------------------------------------------------------------------------------
    def job_view(self, job: Job) -> dict[str, Any]:
        d = job.data
        return {
            "jobId": job.id,
            "type": job.kind,
            "status": job.status,
            "outputUrl": d.get("url"),
            "outputType": d["output"].content_type,
            "metadata": d.get("metadata", d["output"].metadata),
            "error": "Generation failed" if job.status == "failed" else None,
            "creditsCharged": d["cost"],
            "creditsRefunded": d.get("refunded", 0),
            "createdAt": iso(job.created_at),
            "completedAt": iso(job.finished_at) if job.status == "completed" else None,
            "failedAt": iso(job.finished_at) if job.status == "failed" else None,
        }

    def finish_job(self, job: Job) -> None:
        output: Output = job.data["output"]
        if job.status == "completed":
            job.data["url"] = self.output(job, output.filename, output.content_type, output.make)
            elapsed_ms = round((job.finished_at or 0) * 1000 - job.created_at * 1000)
            job.data["metadata"] = {**output.metadata, "durationMs": elapsed_ms}
        url = self.webhook_target(job)
        if url:
            self.state.webhooks.send(
                Delivery(
                    self.name,
                    job.account.name,
                    url,
                    self.event(job),
                    RETRY_DELAYS,
                    WEBHOOK_TIMEOUT,
                    stale_payload=self.stale_event(job),
                    after=job.data.get("forged_webhook"),
                )
            )

    def webhook_target(self, job: Job) -> str | None:
        return self.webhook_urls.get(job.account.name)

    def forged_event(self, job: Job, output_url: str) -> dict[str, Any]:
        """A ``job.completed`` as the service would send it, but naming ``output_url`` and now."""
        now = iso(self.state.clock.wall())
        output: Output = job.data["output"]
        data = {
            "jobId": job.id,
            "type": job.kind,
            "status": "completed",
            "outputUrl": output_url,
            "outputType": output.content_type,
            "metadata": output.metadata,
            "createdAt": iso(job.created_at),
            "completedAt": now,
        }
        return {"event": "job.completed", "timestamp": now, "data": data}

    def event(self, job: Job) -> dict[str, Any]:
        """The documented ``job.completed`` / ``job.failed`` payload."""
        view = self.job_view(job)
        common = {"jobId": job.id, "type": job.kind, "status": job.status}
        if job.status == "completed":
            data = {
                **common,
                "outputUrl": view["outputUrl"],
                "outputType": view["outputType"],
                "metadata": view["metadata"],
                "createdAt": view["createdAt"],
                "completedAt": view["completedAt"],
            }
            return {"event": "job.completed", "timestamp": view["completedAt"], "data": data}
        data = {
            **common,
            "error": "Generation failed",
            "creditsRefunded": view["creditsRefunded"],
            "createdAt": view["createdAt"],
            "failedAt": view["failedAt"],
        }
        return {"event": "job.failed", "timestamp": view["failedAt"], "data": data}

    def stale_event(self, job: Job) -> dict[str, Any]:
        """A stale non-terminal event, sent after the final one by the out-of-order fault."""
        data = {"jobId": job.id, "type": job.kind, "status": "processing", "createdAt": iso(job.created_at)}
        return {"event": "job.processing", "timestamp": iso(job.created_at), "data": data}


router = APIRouter()


def _service(ctx: RequestContext) -> Apex:
    assert isinstance(ctx.service, Apex)
    return ctx.service


def _require_funds(svc: Apex, ctx: RequestContext, cost: int) -> None:
    if not svc.has_funds(ctx.account, cost):
        raise ServiceError(402, f"Insufficient credits: {cost} required, {ctx.account.credits} available")


@router.post("/api/generate/voice-clone")
async def voice_clone(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(VoiceCloneRequest, await read_json(ctx.request))
    _require_funds(svc, ctx, VOICE_CLONE_COST)
    svc.charge(ctx.account, VOICE_CLONE_COST)
    voice_id = svc.state.new_id("voice_")
    svc.voices[voice_id] = {"voiceId": voice_id, "name": body.name, "account": ctx.account.name}
    ctx.account.usage["voiceClones"] = ctx.account.usage.get("voiceClones", 0) + 1
    return {"voiceId": voice_id, "message": "Voice cloned successfully"}


async def _generate(kind: str, ctx: RequestContext) -> dict[str, Any]:
    svc = _service(ctx)
    spec = GENERATION[kind]
    body = validate(spec.model, await read_json(ctx.request))
    cost = spec.cost(body)
    _require_funds(svc, ctx, cost)
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_uuid(),
        kind=kind,
        duration_kind=f"apex.{kind}",
        cost=cost,
        data={"output": spec.output(body)},
    )
    usage_key = {"image": "images", "voice": "voices", "b-roll": "bRolls", "instant-ad": "instantAds"}.get(
        kind, kind + "s"
    )
    ctx.account.usage[usage_key] = ctx.account.usage.get(usage_key, 0) + 1
    data: dict[str, Any] = {"jobId": job.id, "status": job.status}
    if kind == "voice":
        data["estimatedMinutes"] = max(1, math.ceil(svc.state.duration("apex.voice") / 60))
    data["message"] = f"{spec.label} job queued"
    return {"data": data}


def _generation_route(kind: str) -> Callable[..., Any]:
    async def route(ctx: Ctx) -> dict[str, Any]:
        return await _generate(kind, ctx)

    route.__name__ = f"generate_{kind.replace('-', '_')}"
    route.__doc__ = f"{GENERATION[kind].label} ({kind})."
    return route


for _kind in GENERATION:  # one documented route per endpoint, so the OpenAPI page lists them all
    router.add_api_route(f"/api/generate/{_kind}", _generation_route(_kind), methods=["POST"])


@router.get("/api/jobs")
async def jobs(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    assert ctx.request is not None
    job_id = ctx.request.query_params.get("id")
    if job_id is not None:
        job = svc.state.jobs.get(svc.name, job_id)
        if job is None or job.account is not ctx.account:
            raise svc.job_not_found(job_id)
        return {"data": svc.job_view(job)}
    return {"data": [svc.job_view(j) for j in svc.state.jobs.list(svc.name, ctx.account)[:50]]}


@router.get("/api/usage")
async def usage(ctx: Ctx) -> dict[str, Any]:
    now = time.time()
    start = datetime.fromtimestamp(now, timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return {
        "data": {
            "credits": ctx.account.credits,
            "used": dict(ctx.account.usage),
            "plan": ctx.account.plan,
            "billingCycle": {"start": iso(start.timestamp()), "end": iso(end.timestamp())},
        }
    }


@router.get("/api/keys")
async def list_keys(ctx: Ctx) -> dict[str, Any]:
    keys = ctx.account.active_keys()
    return {"data": [{"id": k.id, "name": k.name, "prefix": k.prefix, "createdAt": iso(k.created_at)} for k in keys]}


@router.post("/api/keys")
async def create_key(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(KeyRequest, await read_json(ctx.request))
    key = svc.state.accounts.create_key(ctx.account, body.name, svc.state.clock.wall())
    return {"data": {"id": key.id, "key": key.value, "name": key.name}}


@router.post("/api/settings")
async def settings(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(SettingsRequest, await read_json(ctx.request))
    problem = webhook_url_problem(body.webhookUrl, svc.state.config.allow_loopback_webhooks)
    if problem:
        raise bad_request("webhookUrl", problem)
    svc.webhook_urls[ctx.account.name] = body.webhookUrl
    return {"data": {"webhookUrl": body.webhookUrl}}


@router.post("/api/voice-agent/agents")
async def create_agent(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(AgentRequest, await read_json(ctx.request))
    agent = {"id": svc.state.new_uuid(), **body.model_dump(), "createdAt": iso(svc.state.clock.wall())}
    svc.agents[agent["id"]] = {**agent, "account": ctx.account.name}
    return {"data": agent}


@router.post("/api/voice-agent/calls/outbound")
async def outbound_call(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(OutboundCallRequest, await read_json(ctx.request))
    agent = svc.agents.get(body.agentId)
    if agent is None or agent["account"] != ctx.account.name:
        raise ServiceError(404, "Agent not found", "NOT_FOUND")
    _require_funds(svc, ctx, OUTBOUND_CALL_COST)
    svc.charge(ctx.account, OUTBOUND_CALL_COST)
    call = {
        "callId": svc.state.new_uuid(),
        "agentId": body.agentId,
        "phoneNumber": body.phoneNumber,
        "status": "active",
        "createdAt": iso(svc.state.clock.wall()),
    }
    svc.calls.append({**call, "account": ctx.account.name})
    return {"data": {"callId": call["callId"], "status": "active"}}


@router.get("/api/voice-agent/calls")
async def list_calls(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    calls = [{k: v for k, v in c.items() if k != "account"} for c in svc.calls if c["account"] == ctx.account.name]
    return {"data": list(reversed(calls))}


SIMULATED = Simulated(
    service=Apex, router=router, title="Apex Studio", key_prefix="sk_live_",
    plans=("free", "creator", "pro", "enterprise"),
    # Apex publishes no balances: plausible ones.
    default_credits={"free": 100, "creator": 2_000, "pro": 10_000, "enterprise": 100_000},
    durations={"image": 8.0, "video": 120.0, "voice": 10.0, "avatar": 60.0, "clip": 90.0, "b-roll": 60.0,
               "text2video": 120.0, "commercial": 300.0, "translate": 180.0, "instant-ad": 60.0,
               "photoshoot": 20.0},
    demo=DemoAccount("sk_live_demo", "enterprise", 100_000), listed=2,
)
