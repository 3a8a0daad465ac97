"""Lumen Stills, simulated (docs: ``tests/fourth/lumen-api.md``): the fourth service's simulator module.

Written as a module of ``airflow_provider_mediagen.simulator.services`` would be, but registered through
the ``airflow_provider_mediagen.simulator`` entry point group from outside the package. Like the other
simulated services it reads only its docs, never the provider's catalog.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from airflow_provider_mediagen.simulator.errors import ServiceError, bad_request
from airflow_provider_mediagen.simulator.jobs import Job, Phase
from airflow_provider_mediagen.simulator.media import png_image
from airflow_provider_mediagen.simulator.ratelimit import Decision
from airflow_provider_mediagen.simulator.registry import DemoAccount, Simulated
from airflow_provider_mediagen.simulator.service import (
    Ctx,
    EndpointDef,
    RequestContext,
    ServiceDef,
    read_json,
    validate,
)
from airflow_provider_mediagen.simulator.urls import webhook_url_problem
from airflow_provider_mediagen.simulator.webhooks import Delivery

COST = 2
RETRY_DELAYS = (2.0, 10.0, 30.0)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class RenderBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str = Field(min_length=1, max_length=500)
    palette: Literal["warm", "cool", "mono"] = "warm"
    width: int = Field(768, ge=64, le=2048)
    height: int = Field(768, ge=64, le=2048)
    callback_url: str | None = None


class Lumen(ServiceDef):
    name = "lumen"
    prefix = "/lumen/v2"
    endpoints = (
        EndpointDef("GET", "/me"),
        EndpointDef("POST", "/renders"),
        EndpointDef("GET", "/renders/{render_id}"),
        EndpointDef("GET", "/renders"),
    )
    phases = (Phase(0.0, "waiting"), Phase(0.2, "rendering"))
    success_phase = Phase(1.0, "done")
    failure_phase = Phase(1.0, "error")
    job_read_endpoints: ClassVar[dict[str, str]] = {"GET /renders/{render_id}": "render_id"}
    LIMIT, WINDOW = 12, 10.0

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        return {"message": message}

    def rate_limit(self, ctx: RequestContext) -> Decision:
        assert ctx.auth is not None and ctx.auth.key is not None
        return self.state.fixed_limiter.hit(f"{self.name}:{ctx.auth.key.id}", self.LIMIT, self.WINDOW)

    def rate_limited(self, ctx: RequestContext, decision: Decision) -> ServiceError:
        retry = self.state.clock.retry_after(self.state.clock.scaled(self.WINDOW))
        return ServiceError(429, "Too many requests", headers={"Retry-After": retry})

    def view(self, job: Job) -> dict[str, Any]:
        return {"render_id": job.id, "state": job.status, "result_url": job.data.get("url"),
                "failure": "The render failed" if job.status == "error" else None, "cost": COST,
                "created": _iso(job.created_at)}

    def webhook_target(self, job: Job) -> str | None:
        url: str | None = job.data.get("callback_url")
        return url

    def forged_event(self, job: Job, output_url: str) -> dict[str, Any]:
        return {"kind": "render.done", "sent_at": _iso(job.created_at),
                "render": {**self.view(job), "state": "done", "result_url": output_url}}

    def finish_job(self, job: Job) -> None:
        if job.status == "done":
            job.data["url"] = self.output(job, "still.png", "image/png", job.data["make"])
        url = self.webhook_target(job)
        if url:
            event = {"kind": f"render.{job.status}", "sent_at": _iso(job.created_at), "render": self.view(job)}
            self.state.webhooks.send(Delivery(self.name, job.account.name, url, event, RETRY_DELAYS, 10.0,
                                              after=job.data.get("forged_webhook")))

    def own(self, ctx: RequestContext, render_id: str) -> Job:
        job = self.state.jobs.get(self.name, render_id)
        if job is None or job.account is not ctx.account:
            raise self.job_not_found(render_id)
        return job


router = APIRouter()


def _service(ctx: RequestContext) -> Lumen:
    assert isinstance(ctx.service, Lumen)
    return ctx.service


@router.get("/me")
async def me(ctx: Ctx) -> dict[str, Any]:
    return {"account_id": ctx.account.user_id, "credits": ctx.account.credits}


@router.post("/renders")
async def create_render(ctx: Ctx) -> JSONResponse:
    svc = _service(ctx)
    body = validate(RenderBody, await read_json(ctx.request))
    if body.callback_url is not None and (problem := webhook_url_problem(
            body.callback_url, svc.state.config.allow_loopback_webhooks)):
        raise bad_request("callback_url", problem)
    if not svc.has_funds(ctx.account, COST):
        raise ServiceError(402, "No credits left")
    job = svc.start_job(ctx, job_id=svc.state.new_id("rnd_"), kind="still", duration_kind="lumen.still", cost=COST,
                        data={"callback_url": body.callback_url,
                              "make": lambda: png_image(body.width, body.height, f"{body.prompt}|{body.palette}")})
    return JSONResponse({"render_id": job.id, "state": job.status, "cost": COST, "created": _iso(job.created_at)},
                        status_code=202)


@router.get("/renders/{render_id}")
async def get_render(render_id: str, ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    return svc.view(svc.own(ctx, render_id))


@router.get("/renders")
async def list_renders(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    return {"renders": [svc.view(j) for j in svc.state.jobs.list(svc.name, ctx.account)[:50]]}


SIMULATED = Simulated(
    service=Lumen, router=router, title="Lumen Stills", key_prefix="lm_live_", plans=("starter", "studio"),
    default_credits={"starter": 100, "studio": 1_000}, durations={"still": 6.0},
    demo=DemoAccount("lm_live_demo", "studio", 1_000), listed=4,
)
