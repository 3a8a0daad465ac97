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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..errors import ServiceError, bad_request
from ..jobs import Job
from ..media import RESOLUTIONS, mp4_video, png_image, speech_seconds, wav_audio
from ..ratelimit import Decision
from ..registry import DemoAccount, Simulated
from ..service import Ctx, EndpointDef, RequestContext, ServiceDef, read_json, validate
from ..urls import is_http_url, is_https_url, webhook_url_problem
from ..webhooks import Delivery

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


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with a ``Z``, as in the docs' examples."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _https(value: str) -> str:
    if not is_https_url(value):
        raise ValueError("must be an HTTPS URL")
    return value


def _http(value: str) -> str:
    if not is_http_url(value):
        raise ValueError("must be an http(s) URL")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https)]
HttpUrl = Annotated[str, AfterValidator(_http)]
Number = float


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ImageRequest(_Body):
    prompt: str = Field(min_length=1, max_length=2000)
    width: int = Field(default=1024, ge=256, le=2048)
    height: int = Field(default=1024, ge=256, le=2048)
    steps: int = Field(default=4, ge=1, le=50)
    seed: int | None = None
    style: Literal["photorealistic", "illustration", "3d", "flat"] | None = None
    model: Literal["grok-imagine", "flux-2-dev", "flux-2-pro", "ideogram-v3", "flux-kontext-max"] | None = None
    negativePrompt: str | None = None


VideoModel = Literal["wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"]


class VideoRequest(_Body):
    script: str = Field(min_length=1, max_length=5000)
    avatarImage: HttpsUrl | None = None
    voiceId: str | None = None
    duration: Number | None = Field(default=None, ge=3, le=60)
    resolution: Literal["720p", "1080p"] = "720p"
    style: Literal["professional", "casual", "energetic"] | None = None
    model: VideoModel | None = None


class VoiceRequest(_Body):
    text: str = Field(min_length=1, max_length=10000)
    voiceId: str | None = None
    speed: Number = Field(default=1.0, ge=0.5, le=2.0)
    language: str = Field(default="en", min_length=2, max_length=16)
    model: Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"] | None = None


class VoiceCloneRequest(_Body):
    name: str = Field(min_length=1, max_length=100)
    sampleAudioUrl: HttpsUrl


class AvatarRequest(_Body):
    image: HttpsUrl
    resolution: Literal["480p", "720p", "1080p"]
    model: Literal["veed-fabric", "creatify-aurora", "kling-avatar-v2", "omnihuman-1.5"]
    audio: HttpUrl | None = None
    text: str | None = Field(default=None, min_length=1, max_length=10000)
    voiceId: str | None = None

    @model_validator(mode="after")
    def _speech(self) -> AvatarRequest:
        if self.audio is None and self.text is None:
            raise ValueError("text or audio is required")
        return self


class ClipRequest(_Body):
    sourceVideoUrl: HttpsUrl
    maxClips: int | None = Field(default=None, ge=1, le=20)
    minDuration: Number | None = Field(default=None, gt=0)
    maxDuration: Number | None = Field(default=None, gt=0)
    addCaptions: bool | None = None
    aspectRatio: Literal["9:16", "1:1", "16:9"] | None = None
    viralScoreThreshold: Number | None = Field(default=None, ge=1, le=10)


class BRollRequest(_Body):
    prompt: str = Field(min_length=1, max_length=5000)
    duration: Number | None = Field(default=None, ge=3, le=6)
    resolution: Literal["480p", "720p"] | None = None
    model: Literal["wan-2.6", "kling-2.6-pro"] | None = None


class Text2VideoRequest(_Body):
    script: str = Field(min_length=1, max_length=5000)
    duration: Number | None = Field(default=None, gt=0, le=120)
    resolution: Literal["720p", "1080p"] | None = None
    style: Literal["cinematic", "documentary", "animation", "aerial"] | None = None
    model: VideoModel | None = None


class CommercialRequest(_Body):
    product: str = Field(min_length=1)
    platform: Literal["tiktok", "youtube", "instagram", "tv"]
    duration: Literal[15, 30, 60]
    tone: Literal["professional", "energetic", "casual", "luxury", "funny"]
    targetAudience: str | None = None
    spokespersonImage: HttpUrl | None = None
    productImages: list[HttpUrl] | None = None
    voiceId: str | None = None
    voiceModel: str | None = None
    musicMood: str | None = None
    videoModel: str | None = None


class TranslateRequest(_Body):
    videoUrl: HttpsUrl
    outputLanguage: str = Field(min_length=2, max_length=16)
    preserveOriginalVoice: bool | None = None


class InstantAdRequest(_Body):
    websiteUrl: HttpUrl
    platform: Literal["tiktok", "youtube", "instagram", "facebook", "linkedin"]
    count: int = Field(ge=1, le=4)
    style: Literal["modern", "bold", "minimal", "luxury", "playful"]
    outputFormat: Literal["image", "video", "both"] = "image"
    brandProfileId: str | None = None


class PhotoshootRequest(_Body):
    productImage: HttpUrl
    background: Literal["studio-white", "lifestyle", "outdoor", "flat-lay", "custom"]
    angle: Literal["front", "hero", "45-degree", "top-down", "lifestyle"]
    lighting: Literal["studio", "natural", "dramatic", "soft", "golden-hour"]
    count: int = Field(ge=1, le=4)
    customBackground: str | None = None
    model: str | None = None

    @model_validator(mode="after")
    def _custom(self) -> PhotoshootRequest:
        if self.background == "custom" and not self.customBackground:
            raise ValueError("customBackground is required when background is custom")
        return self


class AgentRequest(_Body):
    name: str = Field(min_length=1, max_length=100)
    systemPrompt: str = Field(min_length=1)
    greeting: str = Field(min_length=1)
    ttsModel: Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"]
    llmModel: str = Field(min_length=1)


class OutboundCallRequest(_Body):
    agentId: str = Field(min_length=1)
    phoneNumber: str = Field(pattern=r"^\+[1-9]\d{1,14}$")


class KeyRequest(_Body):
    name: str = Field(min_length=1, max_length=100)


class SettingsRequest(_Body):
    webhookUrl: str = Field(min_length=1, max_length=2048)


# --- outputs per job type ------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    filename: str
    content_type: str
    make: Callable[[], bytes]
    metadata: dict[str, Any]


def _vertical(platform: str) -> tuple[int, int]:
    return (720, 1280) if platform in ("tiktok", "instagram") else (1280, 720)


def _image(b: ImageRequest) -> Output:
    seed = f"{b.prompt}|{b.seed}|{b.model}|{b.style}"
    meta = {"model": b.model or "flux-2-dev", "width": b.width, "height": b.height}
    return Output("output.png", "image/png", lambda: png_image(b.width, b.height, seed), meta)


def _video(b: VideoRequest) -> Output:
    seconds = float(b.duration or 10)
    w, h = RESOLUTIONS[b.resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": b.resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.script), meta)


def _voice(b: VoiceRequest) -> Output:
    seconds = round(speech_seconds(b.text, b.speed), 3)
    meta = {"model": b.model or "kokoro", "durationSeconds": seconds, "language": b.language}
    return Output("output.wav", "audio/wav", lambda: wav_audio(seconds, b.text), meta)


def _avatar(b: AvatarRequest) -> Output:
    seconds = round(speech_seconds(b.text), 3) if b.text else 10.0
    w, h = RESOLUTIONS[b.resolution]
    meta = {"model": b.model, "durationSeconds": seconds, "resolution": b.resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.image), meta)


def _clip(b: ClipRequest) -> Output:
    count = b.maxClips or 3
    seconds = float(min(b.maxDuration or 30, 60))
    if b.minDuration:
        seconds = max(seconds, float(min(b.minDuration, 60)))
    floor = b.viralScoreThreshold or 5
    scores = [round(min(10.0, floor + (10 - floor) * (count - i) / (count + 1)), 1) for i in range(count)]
    w, h = {"9:16": (720, 1280), "1:1": (720, 720), "16:9": (1280, 720)}[b.aspectRatio or "9:16"]
    meta = {"clipCount": count, "viralScores": scores}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.sourceVideoUrl), meta)


def _b_roll(b: BRollRequest) -> Output:
    seconds = float(b.duration or 5)
    resolution = b.resolution or "720p"
    w, h = RESOLUTIONS[resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.prompt), meta)


def _text2video(b: Text2VideoRequest) -> Output:
    seconds = float(b.duration or 10)
    resolution = b.resolution or "720p"
    w, h = RESOLUTIONS[resolution]
    meta = {"model": b.model or "wan-2.6", "durationSeconds": seconds, "resolution": resolution}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.script), meta)


def _commercial(b: CommercialRequest) -> Output:
    seconds = float(b.duration)
    w, h = _vertical(b.platform)
    scenes = [f"scene-{i + 1}" for i in range(max(1, b.duration // 5))]
    meta = {"sceneClips": scenes, "platform": b.platform, "duration": b.duration}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(seconds, w, h, b.product), meta)


def _translate(b: TranslateRequest) -> Output:
    meta = {"outputLanguage": b.outputLanguage, "durationSeconds": 10.0}
    return Output("output.mp4", "video/mp4", lambda: mp4_video(10.0, 1280, 720, b.videoUrl), meta)


def _instant_ad(b: InstantAdRequest) -> Output:
    meta = {"variationCount": b.count, "platform": b.platform, "format": b.outputFormat}
    if b.outputFormat == "image":
        return Output("output.png", "image/png", lambda: png_image(1080, 1080, b.websiteUrl), meta)
    w, h = _vertical(b.platform)
    return Output("output.mp4", "video/mp4", lambda: mp4_video(15.0, w, h, b.websiteUrl), meta)


def _photoshoot(b: PhotoshootRequest) -> Output:
    meta = {"photoCount": b.count, "background": b.background, "lighting": b.lighting}
    seed = f"{b.productImage}|{b.background}|{b.angle}|{b.lighting}"
    return Output("output.png", "image/png", lambda: png_image(1024, 1024, seed), meta)


@dataclass(frozen=True)
class GenerationKind:
    model: type[_Body]
    cost: Callable[[Any], int]
    label: str
    output: Callable[[Any], Output]


INSTANT_AD_COSTS = {"image": 500, "video": 1000, "both": 1250}

GENERATION: dict[str, GenerationKind] = {
    "image": GenerationKind(ImageRequest, lambda b: 10, "Image generation", _image),
    "video": GenerationKind(VideoRequest, lambda b: 250, "Video generation", _video),
    "voice": GenerationKind(VoiceRequest, lambda b: 80, "Voice generation", _voice),
    "avatar": GenerationKind(AvatarRequest, lambda b: 750, "Avatar video generation", _avatar),
    "clip": GenerationKind(ClipRequest, lambda b: 30, "Auto-clip", _clip),
    "b-roll": GenerationKind(BRollRequest, lambda b: 150, "B-roll generation", _b_roll),
    "text2video": GenerationKind(Text2VideoRequest, lambda b: 250, "Text to video", _text2video),
    "commercial": GenerationKind(CommercialRequest, lambda b: 3000, "Commercial generation", _commercial),
    "translate": GenerationKind(TranslateRequest, lambda b: 1800, "Video translation", _translate),
    "instant-ad": GenerationKind(
        InstantAdRequest, lambda b: INSTANT_AD_COSTS[b.outputFormat], "Instant ad", _instant_ad
    ),
    "photoshoot": GenerationKind(PhotoshootRequest, lambda b: 30, "Product photoshoot", _photoshoot),
}
VOICE_CLONE_COST = 80
OUTBOUND_CALL_COST = 10


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
