"""FaceDub (``/facedub``): face-swap video jobs, their SSE stream, usage and API keys.

As documented, plus the project contract (docs/undocumented-behaviour.md):

- ``Authorization: Bearer fdb_...``; the SSE stream takes a JWT in ``?token=`` instead (HS256,
  ``sub`` = user id, ``exp``), minted by ``POST /_sim/facedub/jwt``. Errors ``{"detail": "..."}``.
- Agency plan only (403 otherwise, also for a suspended account).
- Sliding one-minute windows per user: ``POST /jobs`` 10, ``GET /jobs*`` 60, everything else 120;
  429 with ``Retry-After`` (time until the oldest counted request leaves the window).
- At most 2 jobs per user ``queued`` or ``processing``; a third ``POST /jobs`` gets 429 with a
  ``Retry-After`` of the time until the earlier of them finishes.
- ``ceil(duration / 5)`` credits per job; past ``credits_limit + bonus_credits`` jobs are still
  accepted with ``is_overage: true`` (no 402 is documented). A failed job is refunded.
- Stages ``queued`` -> ``analyzing_motion`` -> ``generating_views`` -> ``rendering`` -> ``done``
  (``failed`` on failure); statuses ``queued``, ``processing``, ``completed``, ``failed``.
- Keys: at most 5 active (a 6th -> 400); the full key only in the create answer; a revoked key
  answers 401 at once.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import jwt
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from ..accounts import Account
from ..control import invalid, json_body, state_of
from ..errors import ServiceError, bad_request
from ..jobs import TERMINAL, Job, Phase
from ..media import mp4_video
from ..ratelimit import Decision
from ..registry import DemoAccount, Simulated
from ..service import Auth, Ctx, EndpointDef, RequestContext, ServiceDef, read_json, validate

MAX_ACTIVE_KEYS = 5
MAX_CONCURRENT_JOBS = 2
WINDOW = 60.0
OUTPUT_SIZE = (720, 1280)  # vertical UGC video

PHOTO_TYPES = ({".jpg", ".jpeg", ".png", ".webp"}, {"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = ({".mp4", ".mov", ".webm"}, {"video/mp4", "video/quicktime", "video/webm"})
PHOTO_MAX, VIDEO_MAX = 10 * 1024 * 1024, 100 * 1024 * 1024


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=100)


def _sniff(head: bytes) -> str | None:
    """Media type from magic bytes, for uploads sent without a usable name or content type."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


async def _check_upload(
    form_value: Any, field: str, allowed: tuple[set[str], set[str]], max_bytes: int, label: str
) -> None:
    if not isinstance(form_value, UploadFile):
        raise bad_request(field, "a file is required")
    data = await form_value.read()
    if not data:
        raise bad_request(field, "the file is empty")
    if len(data) > max_bytes:
        raise bad_request(field, f"the file exceeds {max_bytes // (1024 * 1024)} MB")
    name = (form_value.filename or "").lower()
    extensions, types = allowed
    ctype = (form_value.content_type or "").split(";")[0].strip().lower()
    if not (any(name.endswith(ext) for ext in extensions) or ctype in types or _sniff(data[:16]) in types):
        raise bad_request(field, f"must be {label}")


class FaceDub(ServiceDef):
    name = "facedub"
    prefix = "/facedub"
    endpoints = (
        EndpointDef("POST", "/jobs", "agency", "create"),
        EndpointDef("GET", "/jobs", "agency", "read"),
        EndpointDef("GET", "/jobs/{job_id}", "agency", "read"),
        EndpointDef("GET", "/jobs/{job_id}/stream", "agency", "read"),
        EndpointDef("GET", "/usage", "agency"),
        EndpointDef("POST", "/api-keys", "agency"),
        EndpointDef("GET", "/api-keys", "agency"),
        EndpointDef("DELETE", "/api-keys/{key_id}", "agency"),
    )
    phases = (
        Phase(0.0, "queued", "queued"),
        Phase(0.1, "processing", "analyzing_motion"),
        Phase(0.35, "processing", "generating_views"),
        Phase(0.7, "processing", "rendering"),
    )
    success_phase = Phase(1.0, "completed", "done")
    failure_phase = Phase(1.0, "failed", "failed")
    LIMITS: ClassVar[dict[str, int]] = {"create": 10, "read": 60, "default": 120}
    job_read_endpoints: ClassVar[dict[str, str]] = {"GET /jobs/{job_id}": "job_id"}

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        return {"detail": message}

    def unauthorized(self) -> ServiceError:
        return ServiceError(401, "Invalid or missing API key")

    # --- auth: API key, or JWT for the stream --------------------------------------------------
    def authenticate(self, request: Request, endpoint: EndpointDef | None) -> Auth | None:
        if endpoint is None or not endpoint.path.endswith("/stream"):
            return super().authenticate(request, endpoint)
        token = request.query_params.get("token")
        if not token:
            return None
        try:
            claims = jwt.decode(token, self.state.jwt_secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return None
        account = self.state.accounts.by_user_id(self.name, str(claims["sub"]))
        return Auth(account, None) if account is not None else None

    def mint_jwt(self, account: Account, ttl: float) -> str:
        now = self.state.clock.wall()
        claims = {"sub": account.user_id, "iat": int(now), "exp": int(now + ttl)}
        return jwt.encode(claims, self.state.jwt_secret, algorithm="HS256")

    def check_plan(self, ctx: RequestContext) -> ServiceError | None:
        if ctx.account.suspended:
            return ServiceError(403, "Account suspended")
        if not ctx.account.plan_at_least("agency"):
            return ServiceError(403, "API access requires an Agency plan")
        return None

    # --- limits ---------------------------------------------------------------------------------
    def rate_limit(self, ctx: RequestContext) -> Decision:
        rate_class = ctx.endpoint.rate_class if ctx.endpoint else "default"
        return self.state.sliding_limiter.hit(
            f"facedub:{ctx.account.user_id}:{rate_class}", self.LIMITS[rate_class], WINDOW
        )

    def rate_limited(self, ctx: RequestContext, decision: Decision) -> ServiceError:
        return ServiceError(
            429, "Rate limit exceeded", headers={"Retry-After": self.state.clock.retry_after(decision.retry_after)}
        )

    def fault_retry_after(self) -> float:
        return 60.0

    # --- credits: a monthly limit that may be exceeded ---------------------------------------
    def has_funds(self, account: Account, cost: int) -> bool:
        return True

    def charge(self, account: Account, cost: int) -> None:
        account.credits_used += cost
        self.state.counters.charged(self.name, account.name, cost)

    def refund(self, account: Account, cost: int) -> None:
        account.credits_used -= cost
        self.state.counters.refunded(self.name, account.name, cost)

    @staticmethod
    def remaining(account: Account) -> int:
        return max(0, account.credits + account.bonus_credits - account.credits_used)

    # --- jobs ----------------------------------------------------------------------------------
    def job_view(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "status": job.status,
            "stage": job.stage,
            "output_url": job.data.get("url"),
            "created_at": int(job.created_at),
            "error": "Generation failed" if job.status == "failed" else None,
            "duration_seconds": job.data["duration"],
            "credits_charged": job.data["cost"],
        }

    def finish_job(self, job: Job) -> None:
        if job.status == "completed":
            seconds, seed = float(job.data["duration"]), job.id
            job.data["url"] = self.output(
                job, "output.mp4", "video/mp4", lambda: mp4_video(seconds, *OUTPUT_SIZE, seed)
            )

    def own_job(self, ctx: RequestContext, job_id: str) -> Job:
        job = self.state.jobs.get(self.name, job_id)
        if job is None or job.account is not ctx.account:
            raise self.job_not_found(job_id)
        return job


router = APIRouter()


def _service(ctx: RequestContext) -> FaceDub:
    assert isinstance(ctx.service, FaceDub)
    return ctx.service


@router.post("/jobs")
async def create_job(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    assert ctx.request is not None
    try:
        form = await ctx.request.form(max_part_size=VIDEO_MAX + 1)
    except Exception:  # noqa: BLE001 - any parse failure is the client's bad request
        raise bad_request("body", "multipart/form-data with character_photo and reference_video is required") from None
    await _check_upload(
        form.get("character_photo"), "character_photo", PHOTO_TYPES, PHOTO_MAX, "a JPG, PNG or WebP image"
    )
    await _check_upload(
        form.get("reference_video"), "reference_video", VIDEO_TYPES, VIDEO_MAX, "an MP4, MOV or WebM video"
    )
    raw_duration = form.get("duration", "5")
    if not isinstance(raw_duration, str) or not raw_duration.strip().isdigit() or not 1 <= int(raw_duration) <= 30:
        raise bad_request("duration", "must be a whole number of seconds from 1 to 30")
    duration = int(raw_duration)
    running = svc.state.jobs.running(svc.name, ctx.account)
    if len(running) >= MAX_CONCURRENT_JOBS:
        now = svc.state.clock.monotonic()
        wait = min(j.created_mono + j.duration for j in running) - now
        raise ServiceError(
            429,
            f"Concurrency limit reached: at most {MAX_CONCURRENT_JOBS} jobs may be processing",
            headers={"Retry-After": svc.state.clock.retry_after(wait)},
        )
    cost = math.ceil(duration / 5)
    is_overage = svc.remaining(ctx.account) < cost
    job = svc.start_job(
        ctx,
        job_id=svc.state.new_id("", 12),
        kind="job",
        duration_kind="facedub.job",
        cost=cost,
        data={"duration": duration},
    )
    return {"job_id": job.id, "status": job.status, "credits_charged": cost, "is_overage": is_overage}


@router.get("/jobs")
async def list_jobs(ctx: Ctx) -> list[dict[str, Any]]:
    svc = _service(ctx)
    return [svc.job_view(j) for j in svc.state.jobs.list(svc.name, ctx.account)[:50]]


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    return svc.job_view(svc.own_job(ctx, job_id))


@router.get("/jobs/{job_id}/stream")
async def stream_job(job_id: str, ctx: Ctx) -> StreamingResponse:
    """``event: status`` with the job JSON now and at every status/stage change; ends when terminal."""
    svc = _service(ctx)
    job = svc.own_job(ctx, job_id)
    queue: asyncio.Queue[None] = asyncio.Queue()
    job.watchers.add(queue)

    async def events() -> AsyncIterator[str]:
        last: tuple[str, str | None] | None = None
        try:
            while True:
                svc.state.jobs.advance()
                current = (job.status, job.stage)
                if current != last:
                    last = current
                    yield f"event: status\ndata: {json.dumps(svc.job_view(job))}\n\n"
                if job.status in TERMINAL or svc.state.jobs.get(svc.name, job.id) is not job:
                    return
                try:
                    await asyncio.wait_for(queue.get(), timeout=15.0)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            job.watchers.discard(queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/usage")
async def usage(ctx: Ctx) -> dict[str, Any]:
    account = ctx.account
    return {
        "plan": account.plan,
        "credits_used": account.credits_used,
        "credits_limit": account.credits,
        "bonus_credits": account.bonus_credits,
        "credits_remaining": FaceDub.remaining(account),
    }


@router.post("/api-keys")
async def create_key(ctx: Ctx) -> dict[str, Any]:
    svc = _service(ctx)
    body = validate(KeyRequest, await read_json(ctx.request))
    if len(ctx.account.active_keys()) >= MAX_ACTIVE_KEYS:
        raise bad_request("name", f"at most {MAX_ACTIVE_KEYS} active API keys; revoke one first")
    key = svc.state.accounts.create_key(ctx.account, body.name, svc.state.clock.wall())
    return {"id": key.id, "name": key.name, "key": key.value, "prefix": key.prefix, "created_at": int(key.created_at)}


@router.get("/api-keys")
async def list_keys(ctx: Ctx) -> list[dict[str, Any]]:
    return [
        {"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": int(k.created_at)}
        for k in ctx.account.active_keys()
    ]


@router.delete("/api-keys/{key_id}")
async def revoke_key(key_id: str, ctx: Ctx) -> dict[str, Any]:
    key = next((k for k in ctx.account.active_keys() if k.id == key_id), None)
    if key is None:
        raise ServiceError(404, "API key not found")
    key.revoked = True
    return {"id": key.id, "revoked": True}


# --- control API: a JWT for the SSE stream (a real account gets one from FaceDub's dashboard) ----------

control = APIRouter(prefix="/_sim")


class JwtRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    ttl: float = Field(default=3600.0)


@control.post("/facedub/jwt")
async def facedub_jwt(request: Request) -> dict[str, str]:
    try:
        body = JwtRequest.model_validate(await json_body(request))
    except ValidationError as exc:
        raise invalid(exc) from None
    state = state_of(request)
    found = state.accounts.authenticate(FaceDub.name, body.key)
    if found is None:
        raise HTTPException(404, "no active FaceDub key with that value")
    service = state.services[FaceDub.name]
    assert isinstance(service, FaceDub)
    return {"token": service.mint_jwt(found[0], body.ttl)}

SIMULATED = Simulated(
    service=FaceDub, router=router, title="FaceDub", key_prefix="fdb_", plans=("creator", "pro", "agency"),
    # FaceDub publishes none: plausible monthly credits_limit values.
    default_credits={"creator": 30, "pro": 60, "agency": 150},
    durations={"job": 90.0},
    demo=DemoAccount("fdb_demo", "agency", 150), listed=3, control=control,
)
