"""Ddukddak (``/ddukddak/v1``): template images and videos, AI images and videos.

As documented, plus the project contract (docs/undocumented-behaviour.md):

- ``Authorization: Bearer dd_live_...``; errors ``{"error": "..."}``; 401 / 402 / 403 / 404 / 429.
- Plans ``free_trial`` < ``automate`` < ``scale`` < ``enterprise``: template video needs Automate+,
  AI endpoints (including their polls) Scale+.
- 30 requests per fixed 10 s window per key, all endpoints together; 429 with ``Retry-After: 10``
  (time-scaled). No X-RateLimit-* headers (none documented).
- 1 credit per generation, 402 when none are left; failed async jobs are refunded.
- ``POST /images`` answers 201 ``completed`` synchronously; the others 202 ``pending``. Statuses are
  ``pending`` -> ``completed`` (or ``failed`` with ``error``). ``POST /videos`` has no poll endpoint:
  its result arrives by ``webhook_url`` only.
- Every endpoint accepts ``webhook_url``: the result payload is POSTed there, retried 3 times at
  1 s, 3 s, 9 s (time-scaled). The URL must be an absolute http(s) URL; loopback and private
  addresses are refused only when the simulator runs with ``allow_loopback_webhooks`` off.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ServiceError, bad_request
from ..jobs import Job, Phase
from ..media import RESOLUTIONS, mp4_video, png_image
from ..ratelimit import Decision
from ..registry import DemoAccount, Simulated
from ..service import Ctx, EndpointDef, RequestContext, ServiceDef, read_json, validate
from ..templates import Template, find_template, render
from ..urls import webhook_url_problem
from ..webhooks import Delivery

RETRY_DELAYS = (1.0, 3.0, 9.0)
WEBHOOK_TIMEOUT = 10.0
TEMPLATE_VIDEO_SECONDS = 6.0
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "4:3": (4, 3),
    "3:4": (3, 4),
}


class Property(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)


class TemplateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    template: str = Field(min_length=1)
    properties: list[Property] = Field(default_factory=list)
    webhook_url: str | None = None


class AiImageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str = Field(min_length=1)
    model: str = Field(min_length=1)
    aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4"] = "1:1"
    image_size: str | None = None
    seed: int | None = None
    webhook_url: str | None = None

    @field_validator("image_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is None:
            return value
        width, sep, height = value.lower().partition("x")
        if not sep or not width.isdigit() or not height.isdigit():
            raise ValueError("must look like WIDTHxHEIGHT, e.g. 1024x1024")
        if not (64 <= int(width) <= 4096 and 64 <= int(height) <= 4096):
            raise ValueError("width and height must be between 64 and 4096")
        return value


class AiVideoRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str = Field(min_length=1)
    model: str = Field(min_length=1)
    aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4"] = "16:9"
    resolution: Literal["720p", "1080p"] = "720p"
    duration: str | int = "8"
    webhook_url: str | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | int) -> str:
        text = str(value)
        if not text.isdigit() or not 4 <= int(text) <= 8:
            raise ValueError('must be a whole number of seconds from 4 to 8, e.g. "8"')
        return text


class Ddukddak(ServiceDef):
    name = "ddukddak"
    prefix = "/ddukddak/v1"
    endpoints = (
        EndpointDef("GET", "/auth"),
        EndpointDef("POST", "/images"),
        EndpointDef("POST", "/videos", min_plan="automate"),
        EndpointDef("POST", "/ai/images", min_plan="scale"),
        EndpointDef("GET", "/ai/images/:uid", min_plan="scale"),
        EndpointDef("POST", "/ai/videos", min_plan="scale"),
        EndpointDef("GET", "/ai/videos/:uid", min_plan="scale"),
    )
    phases = (Phase(0.0, "pending"),)
    job_read_endpoints: ClassVar[dict[str, str]] = {"GET /ai/images/:uid": "uid", "GET /ai/videos/:uid": "uid"}
    LIMIT, WINDOW, RETRY_AFTER = 30, 10.0, 10.0

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        return {"error": message}

    def job_not_found(self, job_id: str) -> ServiceError:
        return ServiceError(404, f"Not found: {job_id}")

    def rate_limit(self, ctx: RequestContext) -> Decision:
        assert ctx.auth is not None and ctx.auth.key is not None
        return self.state.fixed_limiter.hit(f"ddukddak:{ctx.auth.key.id}", self.LIMIT, self.WINDOW)

    def rate_limited(self, ctx: RequestContext, decision: Decision) -> ServiceError:
        retry = self.state.clock.retry_after(self.state.clock.scaled(self.RETRY_AFTER))
        return ServiceError(429, "Rate limit exceeded, retry after 10 seconds", headers={"Retry-After": retry})

    def fault_retry_after(self) -> float:
        return self.RETRY_AFTER

    # --- helpers -------------------------------------------------------------------------------
    def check_webhook_url(self, url: str | None) -> None:
        if url is None:
            return
        problem = webhook_url_problem(url, self.state.config.allow_loopback_webhooks)
        if problem:
            raise bad_request("webhook_url", problem)

    def require_credit(self, ctx: RequestContext) -> None:
        if not self.has_funds(ctx.account, 1):
            raise ServiceError(402, "Credits exhausted - upgrade plan or wait for next billing cycle")

    def find_template(self, ref: str) -> Template:
        template = find_template(ref)
        if template is None:
            raise ServiceError(404, f"Template not found: {ref}")
        return template

    def job_view(self, job: Job) -> dict[str, Any]:
        """The poll/creation answer: ``uid``, ``status`` and the media URL field of its kind."""
        field = job.data["url_field"]
        view: dict[str, Any] = {"uid": job.id, "status": job.status, field: job.data.get("url")}
        if job.status == "failed":
            view["error"] = "Generation failed"
        return view

    def completed_payload(self, job: Job, url: str) -> dict[str, Any]:
        """The documented completion payload, with ``url`` as the media URL."""
        payload: dict[str, Any] = {"uid": job.id, "status": "completed", job.data["url_field"]: url}
        if job.kind in ("template_image", "ai_image"):
            payload["image_url_png"] = url
        if "template" in job.data:
            payload["template"], payload["template_name"] = job.data["template"], job.data["template_name"]
        return payload

    def webhook_target(self, job: Job) -> str | None:
        url: str | None = job.data.get("webhook_url")
        return url

    def forged_event(self, job: Job, output_url: str) -> dict[str, Any]:
        return self.completed_payload(job, output_url)

    def finish_job(self, job: Job) -> None:
        if job.status == "completed":
            job.data["url"] = self.output(job, *job.data["file"])
        url = self.webhook_target(job)
        if not url:
            return
        if job.status == "completed":
            payload = self.completed_payload(job, job.data["url"])
        else:
            payload = {"uid": job.id, "status": "failed", "error": "Generation failed"}
        stale = {"uid": job.id, "status": "pending", job.data["url_field"]: None}
        self.state.webhooks.send(
            Delivery(
                self.name,
                job.account.name,
                url,
                payload,
                RETRY_DELAYS,
                WEBHOOK_TIMEOUT,
                stale_payload=stale,
                after=job.data.get("forged_webhook"),
            )
        )

    def get_job(self, ctx: RequestContext, uid: str, kinds: tuple[str, ...]) -> Job:
        job = self.state.jobs.get(self.name, uid)
        if job is None or job.account is not ctx.account or job.kind not in kinds:
            raise self.job_not_found(uid)
        return job


router = APIRouter()


def _service(ctx: RequestContext) -> Ddukddak:
    assert isinstance(ctx.service, Ddukddak)
    return ctx.service


@router.get("/auth")
async def auth(ctx: Ctx) -> dict[str, Any]:
    return {"authenticated": True, "user_id": ctx.account.user_id}


@router.post("/images")
async def template_image(ctx: Ctx) -> JSONResponse:
    svc = _service(ctx)
    body = validate(TemplateRequest, await read_json(ctx.request))
    svc.check_webhook_url(body.webhook_url)
    template = svc.find_template(body.template)
    svc.require_credit(ctx)
    props = [p.model_dump() for p in body.properties]
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_id("img_"),
        kind="template_image",
        duration_kind=None,
        cost=1,
        synchronous=True,
        data={
            "url_field": "image_url",
            "webhook_url": body.webhook_url,
            "template": template.uid,
            "template_name": template.name,
            "file": ("image.png", "image/png", lambda: render(template, props)),
        },
    )
    return JSONResponse(svc.job_view(job), status_code=201)


@router.post("/videos")
async def template_video(ctx: Ctx) -> JSONResponse:
    svc = _service(ctx)
    body = validate(TemplateRequest, await read_json(ctx.request))
    svc.check_webhook_url(body.webhook_url)
    template = svc.find_template(body.template)
    svc.require_credit(ctx)
    props = [p.model_dump() for p in body.properties]
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_id("vid_"),
        kind="template_video",
        duration_kind="ddukddak.template_video",
        cost=1,
        data={
            "url_field": "video_url",
            "webhook_url": body.webhook_url,
            "template": template.uid,
            "template_name": template.name,
            "file": (
                "video.mp4",
                "video/mp4",
                lambda: mp4_video(
                    TEMPLATE_VIDEO_SECONDS, template.width, template.height, still=render(template, props)
                ),
            ),
        },
    )
    return JSONResponse(svc.job_view(job), status_code=202)


@router.post("/ai/images")
async def ai_image(ctx: Ctx) -> JSONResponse:
    svc = _service(ctx)
    body = validate(AiImageRequest, await read_json(ctx.request))
    svc.check_webhook_url(body.webhook_url)
    svc.require_credit(ctx)
    if body.image_size:
        width, height = (int(v) for v in body.image_size.lower().split("x"))
    else:
        w, h = ASPECT_RATIOS[body.aspect_ratio]
        width, height = (1024, 1024 * h // w) if w >= h else (1024 * w // h, 1024)
    seed_text = f"{body.prompt}|{body.seed}"
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_id("img_"),
        kind="ai_image",
        duration_kind="ddukddak.ai_image",
        cost=1,
        data={
            "url_field": "image_url",
            "webhook_url": body.webhook_url,
            "model": body.model,
            "file": ("image.png", "image/png", lambda: png_image(width, height, seed_text)),
        },
    )
    return JSONResponse(svc.job_view(job), status_code=202)


@router.get("/ai/images/{uid}")
async def ai_image_status(uid: str, ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    return svc.job_view(svc.get_job(ctx, uid, ("ai_image", "template_image")))


@router.post("/ai/videos")
async def ai_video(ctx: Ctx) -> JSONResponse:
    svc = _service(ctx)
    body = validate(AiVideoRequest, await read_json(ctx.request))
    svc.check_webhook_url(body.webhook_url)
    svc.require_credit(ctx)
    short = RESOLUTIONS[body.resolution][1]
    w, h = ASPECT_RATIOS[body.aspect_ratio]
    width, height = (short * w // h, short) if w >= h else (short, short * h // w)
    seconds = float(body.duration)
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_id("vid_"),
        kind="ai_video",
        duration_kind="ddukddak.ai_video",
        cost=1,
        data={
            "url_field": "video_url",
            "webhook_url": body.webhook_url,
            "model": body.model,
            "file": (
                "video.mp4",
                "video/mp4",
                lambda: mp4_video(seconds, width, height, f"{body.prompt}|{body.model}"),
            ),
        },
    )
    return JSONResponse(svc.job_view(job), status_code=202)


@router.get("/ai/videos/{uid}")
async def ai_video_status(uid: str, ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    return svc.job_view(svc.get_job(ctx, uid, ("ai_video",)))


SIMULATED = Simulated(
    service=Ddukddak, router=router, title="Ddukddak", key_prefix="dd_live_",
    plans=("free_trial", "automate", "scale", "enterprise"),
    # The documented monthly credits of each plan.
    default_credits={"free_trial": 30, "automate": 1_000, "scale": 10_000, "enterprise": 50_000},
    durations={"ai_image": 15.0, "ai_video": 240.0, "template_video": 60.0},
    demo=DemoAccount("dd_live_demo", "enterprise", 50_000), listed=1,
)
