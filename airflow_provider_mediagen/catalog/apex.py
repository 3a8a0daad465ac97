"""Apex Studio: images, video, voice, avatars, clips, ads, photoshoots and voice agents
(docs: ``apex-studio.txt``).

Quirks worth knowing: success bodies are wrapped in ``{"data": ...}`` except voice-clone's; every
generation is a queued job learned by ``GET /api/jobs?id=`` or the account-level webhook; credits are
charged at submission and refunded on failure; rate limits are per endpoint class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from .fields import E164, HttpsUrl, LanguageCode, NonEmpty, Url, WebhookUrl, text
from .model import (
    Completion,
    CreditCost,
    Endpoint,
    JobKind,
    JobShape,
    NormalizedStatus,
    RateLimit,
    RequestModel,
    ResponseModel,
    Service,
    WebhookEnvelope,
)

NAME = "apex"

ImageModel = Literal["grok-imagine", "flux-2-dev", "flux-2-pro", "ideogram-v3", "flux-kontext-max"]
VideoModel = Literal["wan-2.6", "kling-2.6-pro", "kling-3.0-pro", "veo-3.1"]
TTSModel = Literal["kokoro", "elevenlabs-v3", "fish-audio-s1"]
Platform = Literal["tiktok", "youtube", "instagram", "tv"]


# --- generation requests -------------------------------------------------------------------------

class ImageRequest(RequestModel):
    """POST /api/generate/image."""

    prompt: str = text(1, 2000, "Text prompt (1-2,000 chars)")
    width: int = Field(1024, ge=256, le=2048, description="Image width 256-2048")
    height: int = Field(1024, ge=256, le=2048, description="Image height 256-2048")
    steps: int = Field(4, ge=1, le=50, description="Inference steps 1-50")
    seed: int | None = Field(None, description="Reproducibility seed")
    style: Literal["photorealistic", "illustration", "3d", "flat"] | None = Field(None, description="Style")
    model: ImageModel | None = Field(None, description="Image model")
    negative_prompt: str | None = Field(None, alias="negativePrompt", description="What to avoid in the image")


class VideoRequest(RequestModel):
    """POST /api/generate/video."""

    script: str = text(1, 5000, "Video script (1-5,000 chars)")
    avatar_image: HttpsUrl | None = Field(None, alias="avatarImage", description="HTTPS URL of face image")
    voice_id: str | None = Field(None, alias="voiceId", description="Cloned voice ID")
    duration: float | None = Field(None, ge=3, le=60, description="Max seconds 3-60")
    resolution: Literal["720p", "1080p"] = Field("720p", description="720p or 1080p")
    style: Literal["professional", "casual", "energetic"] | None = Field(None, description="Style")
    model: VideoModel | None = Field(None, description="Video model")


class VoiceRequest(RequestModel):
    """POST /api/generate/voice (text to speech)."""

    text: str = Field(min_length=1, max_length=10000, description="Text to speak (1-10,000 chars)")
    voice_id: str | None = Field(None, alias="voiceId", description="Custom voice ID (or default)")
    speed: float = Field(1.0, ge=0.5, le=2.0, description="Playback speed 0.5-2.0")
    language: LanguageCode = Field("en", description="ISO language code")
    model: TTSModel | None = Field(None, description="TTS model")


class VoiceCloneRequest(RequestModel):
    """POST /api/generate/voice-clone (Creator plan or higher; synchronous)."""

    name: str = text(1, 100, "Voice name (1-100 chars)")
    sample_audio_url: HttpsUrl = Field(alias="sampleAudioUrl", description="HTTPS URL to a 15-30 s audio sample")


class AvatarRequest(RequestModel):
    """POST /api/generate/avatar: a talking head from a photo and a script or audio."""

    image: HttpsUrl = Field(description="HTTPS URL of spokesperson photo")
    resolution: Literal["480p", "720p", "1080p"] = Field(description="480p, 720p or 1080p")
    model: Literal["veed-fabric", "creatify-aurora", "kling-avatar-v2", "omnihuman-1.5"] = Field(
        description="Avatar model")
    audio: Url | None = Field(None, description="Pre-recorded audio URL")
    text: str | None = Field(None, min_length=1, description="Text to speak (if no audio)")
    voice_id: str | None = Field(None, alias="voiceId", description="Voice ID for TTS")

    @model_validator(mode="after")
    def _script_or_audio(self) -> AvatarRequest:
        if self.audio is None and self.text is None:
            raise ValueError("one of 'audio' or 'text' is required (the avatar needs a script or audio)")
        return self


class ClipRequest(RequestModel):
    """POST /api/generate/clip: the best clips of a long video."""

    source_video_url: HttpsUrl = Field(alias="sourceVideoUrl", description="HTTPS URL of source video")
    max_clips: int | None = Field(None, alias="maxClips", ge=1, le=20, description="Maximum clips 1-20")
    min_duration: float | None = Field(None, alias="minDuration", gt=0, description="Min clip seconds")
    max_duration: float | None = Field(None, alias="maxDuration", gt=0, description="Max clip seconds")
    add_captions: bool | None = Field(None, alias="addCaptions", description="Add auto-captions")
    aspect_ratio: Literal["9:16", "1:1", "16:9"] | None = Field(None, alias="aspectRatio", description="Aspect")
    viral_score_threshold: float | None = Field(
        None, alias="viralScoreThreshold", ge=1, le=10, description="Minimum viral score 1-10")

    @model_validator(mode="after")
    def _durations_ordered(self) -> ClipRequest:
        if self.min_duration and self.max_duration and self.min_duration > self.max_duration:
            raise ValueError("minDuration must not exceed maxDuration")
        return self


class BRollRequest(RequestModel):
    """POST /api/generate/b-roll."""

    prompt: str = text(description="Scene description")
    duration: float | None = Field(None, ge=3, le=6, description="Duration 3-6 seconds")
    resolution: Literal["480p", "720p"] | None = Field(None, description="480p or 720p")
    model: Literal["wan-2.6", "kling-2.6-pro"] | None = Field(None, description="Video model")


class Text2VideoRequest(RequestModel):
    """POST /api/generate/text2video."""

    script: str = text(description="Video script")
    duration: float | None = Field(None, gt=0, description="Duration in seconds")
    resolution: Literal["720p", "1080p"] | None = Field(None, description="720p or 1080p")
    style: Literal["cinematic", "documentary", "animation", "aerial"] | None = Field(None, description="Style")
    model: VideoModel | None = Field(None, description="Video model")


class CommercialRequest(RequestModel):
    """POST /api/generate/commercial: script, voiceover, visuals and composition in one job."""

    product: str = text(description="Product name/description")
    platform: Platform = Field(description="tiktok, youtube, instagram or tv")
    duration: Literal[15, 30, 60] = Field(description="15, 30 or 60 seconds")
    tone: Literal["professional", "energetic", "casual", "luxury", "funny"] = Field(description="Tone")
    target_audience: str | None = Field(None, alias="targetAudience", description="Target audience")
    spokesperson_image: Url | None = Field(None, alias="spokespersonImage", description="URL for AI spokesperson")
    product_images: list[Url] | None = Field(None, alias="productImages", description="Product image URLs")
    voice_id: str | None = Field(None, alias="voiceId", description="Custom voice ID")
    voice_model: str | None = Field(None, alias="voiceModel", description="TTS model to use")
    music_mood: str | None = Field(None, alias="musicMood", description="Background music mood")
    video_model: str | None = Field(None, alias="videoModel", description="Video generation model")


class TranslateRequest(RequestModel):
    """POST /api/generate/translate: lip-synced translation."""

    video_url: HttpsUrl = Field(alias="videoUrl", description="HTTPS URL of source video")
    output_language: LanguageCode = Field(alias="outputLanguage", description="Target language ISO code")
    preserve_original_voice: bool | None = Field(
        None, alias="preserveOriginalVoice", description="Keep original voice timbre")


class InstantAdRequest(RequestModel):
    """POST /api/generate/instant-ad: ad creatives from a landing page."""

    website_url: Url = Field(alias="websiteUrl", description="Product/landing page URL")
    platform: Literal["tiktok", "youtube", "instagram", "facebook", "linkedin"] = Field(description="Platform")
    count: int = Field(ge=1, le=4, description="Number of variations 1-4")
    style: Literal["modern", "bold", "minimal", "luxury", "playful"] = Field(description="Style")
    output_format: Literal["image", "video", "both"] | None = Field(
        None, alias="outputFormat", description="image, video or both")
    brand_profile_id: str | None = Field(None, alias="brandProfileId", description="Saved brand profile ID")


class PhotoshootRequest(RequestModel):
    """POST /api/generate/photoshoot."""

    product_image: Url = Field(alias="productImage", description="Uploaded product photo URL")
    background: Literal["studio-white", "lifestyle", "outdoor", "flat-lay", "custom"] = Field(description="Background")
    angle: Literal["front", "hero", "45-degree", "top-down", "lifestyle"] = Field(description="Camera angle")
    lighting: Literal["studio", "natural", "dramatic", "soft", "golden-hour"] = Field(description="Lighting")
    count: int = Field(ge=1, le=4, description="Number of photos 1-4")
    custom_background: str | None = Field(
        None, alias="customBackground", description="Description if background=custom")
    model: str | None = Field(None, description="Image model ID")


# --- voice agent, management, settings -----------------------------------------------------------

class OutboundCallRequest(RequestModel):
    """POST /api/voice-agent/calls/outbound."""

    agent_id: NonEmpty = Field(alias="agentId", description="Voice agent ID")
    phone_number: E164 = Field(alias="phoneNumber", description="Target phone number (E.164)")


class CreateAgentRequest(RequestModel):
    """POST /api/voice-agent/agents."""

    name: NonEmpty = Field(description="Agent display name")
    system_prompt: NonEmpty = Field(alias="systemPrompt", description="System prompt for the LLM")
    greeting: NonEmpty = Field(description="Opening greeting text")
    tts_model: TTSModel = Field(alias="ttsModel", description="TTS model")
    llm_model: NonEmpty = Field(alias="llmModel", description="LLM model for conversation")


class JobsQuery(RequestModel):
    """GET /api/jobs: all jobs, or one with ``?id=``."""

    id: str | None = Field(None, min_length=1, description="Job ID to fetch")


class CreateKeyRequest(RequestModel):
    name: NonEmpty = Field(description="Key display name")


class SettingsRequest(RequestModel):
    webhook_url: WebhookUrl = Field(alias="webhookUrl", description="HTTPS URL to receive webhook events")


# --- responses -----------------------------------------------------------------------------------

class JobAccepted(ResponseModel):
    job_id: str = Field(alias="jobId")
    status: str
    message: str | None = None
    estimated_minutes: float | None = Field(None, alias="estimatedMinutes")


class ApexJob(ResponseModel):
    job_id: str = Field(alias="jobId")
    type: str | None = None
    status: str
    output_url: str | None = Field(None, alias="outputUrl")
    output_type: str | None = Field(None, alias="outputType")
    metadata: dict[str, Any] | None = None
    error: str | None = None
    credits_charged: float | None = Field(None, alias="creditsCharged")
    credits_refunded: float | None = Field(None, alias="creditsRefunded")
    created_at: str | None = Field(None, alias="createdAt")
    completed_at: str | None = Field(None, alias="completedAt")
    failed_at: str | None = Field(None, alias="failedAt")


class VoiceClone(ResponseModel):
    voice_id: str = Field(alias="voiceId")
    message: str | None = None


class Call(ResponseModel):
    call_id: str = Field(alias="callId")
    status: str


class Agent(ResponseModel):
    id: str
    name: str


class Usage(ResponseModel):
    credits: float
    used: dict[str, Any] = {}
    plan: str


class KeyInfo(ResponseModel):
    id: str
    name: str


class CreatedKey(ResponseModel):
    """The key value is shown once; it is held as a secret so it never lands in a repr or log."""

    id: str
    name: str
    key: SecretStr


class Settings(ResponseModel):
    webhook_url: str = Field(alias="webhookUrl")


class WebhookJobData(ResponseModel):
    job_id: str = Field(alias="jobId")
    type: str
    status: Literal["completed", "failed"]
    output_url: str | None = Field(None, alias="outputUrl")
    output_type: str | None = Field(None, alias="outputType")
    metadata: dict[str, Any] | None = None
    error: str | None = None
    credits_refunded: float | None = Field(None, alias="creditsRefunded")
    created_at: str | None = Field(None, alias="createdAt")
    completed_at: str | None = Field(None, alias="completedAt")
    failed_at: str | None = Field(None, alias="failedAt")


class WebhookEvent(ResponseModel):
    """What Apex POSTs to the account webhook URL (``job.completed`` / ``job.failed``)."""

    event: Literal["job.completed", "job.failed"]
    timestamp: str
    data: WebhookJobData


# --- the table -----------------------------------------------------------------------------------

def _instant_ad_cost(request: Mapping[str, Any]) -> int:
    return {"image": 500, "video": 1000, "both": 1250}[request.get("outputFormat") or "image"]


# kind name, path segment, title, request model, credits, media, extension, typical seconds
_GENERATORS: list[tuple[str, str, str, type[RequestModel], CreditCost, str, str | None, float]] = [
    ("image", "image", "Generate Image", ImageRequest, CreditCost(10), "image", "png", 8),
    ("video", "video", "Generate Video", VideoRequest, CreditCost(250), "video", "mp4", 120),
    ("voice", "voice", "Generate Voice (TTS)", VoiceRequest, CreditCost(80), "audio", "wav", 10),
    ("avatar", "avatar", "Generate Avatar Video", AvatarRequest, CreditCost(750), "video", "mp4", 60),
    ("clip", "clip", "Auto-Clip Video", ClipRequest, CreditCost(30), "video", "mp4", 90),
    ("b_roll", "b-roll", "Generate B-Roll", BRollRequest, CreditCost(150), "video", "mp4", 60),
    ("text2video", "text2video", "Text to Video", Text2VideoRequest, CreditCost(250), "video", "mp4", 120),
    ("commercial", "commercial", "Generate Commercial", CommercialRequest, CreditCost(3000), "video", "mp4", 300),
    ("translate", "translate", "Translate Video", TranslateRequest, CreditCost(1800), "video", "mp4", 180),
    ("instant_ad", "instant-ad", "Instant Ad from URL", InstantAdRequest,
     CreditCost(note="500-1,250 credits (image 500, video 1,000, both 1,250)", compute=_instant_ad_cost),
     "image", None, 60),
    ("photoshoot", "photoshoot", "AI Product Photoshoot", PhotoshootRequest, CreditCost(30), "image", "png", 20),
]

_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        f"generate_{kind}", "POST", f"/api/generate/{segment}", title, rate_limit="generation",
        request=model, response=JobAccepted, envelope="data", encoding="json", credit_cost=cost,
        job_kind=kind, description=(model.__doc__ or "").strip(),
    )
    for kind, segment, title, model, cost, *_ in _GENERATORS
] + [
    Endpoint("generate_voice_clone", "POST", "/api/generate/voice-clone", "Clone Voice", rate_limit="generation",
             plan="creator", request=VoiceCloneRequest, response=VoiceClone, encoding="json",
             credit_cost=CreditCost(80), job_kind="voice_clone",
             description="Synchronous; the answer is not wrapped in data."),
    Endpoint("start_outbound_call", "POST", "/api/voice-agent/calls/outbound", "Start Outbound Call",
             rate_limit="outbound_call", request=OutboundCallRequest, response=Call, envelope="data",
             encoding="json", credit_cost=CreditCost(10, note="10 credits per minute"), job_kind="outbound_call"),
    Endpoint("list_calls", "GET", "/api/voice-agent/calls", "List Calls", rate_limit="read",
             response=dict, response_is_list=True, envelope="data"),
    Endpoint("create_agent", "POST", "/api/voice-agent/agents", "Create Agent", rate_limit="standard",
             request=CreateAgentRequest, response=Agent, envelope="data", encoding="json", job_kind="voice_agent"),
    Endpoint("jobs", "GET", "/api/jobs", "List Jobs (or one job with ?id=)", rate_limit="read", query=JobsQuery,
             response=ApexJob, response_is_list=True, one_by_query="id", envelope="data"),
    Endpoint("get_usage", "GET", "/api/usage", "Get Usage", rate_limit="read", response=Usage, envelope="data"),
    Endpoint("list_keys", "GET", "/api/keys", "List API Keys", rate_limit="read", response=KeyInfo,
             response_is_list=True, envelope="data"),
    Endpoint("create_key", "POST", "/api/keys", "Create API Key", rate_limit="standard", request=CreateKeyRequest,
             response=CreatedKey, envelope="data", encoding="json"),
    Endpoint("set_webhook", "POST", "/api/settings", "Configure Webhook URL", rate_limit="standard",
             request=SettingsRequest, response=Settings, envelope="data", encoding="json"),
]

_POLLED = (Completion.POLL, Completion.LIST, Completion.WEBHOOK)
# Kinds whose request asks for several files: the docs are silent on how they come back (one outputUrl).
_ASKED_OUTPUTS = {"photoshoot": "count", "instant_ad": "count", "clip": "max_clips"}
_KINDS: list[JobKind] = [
    JobKind(kind, title, f"generate_{kind}", _POLLED, media=media, extension=ext,  # type: ignore[arg-type]
            status="jobs", list="jobs", typical_seconds=secs,
            poll_seconds=2,  # the docs' polling example sleeps 2 s between reads
            outputs_field=_ASKED_OUTPUTS.get(kind),
            api_type=segment)  # a job reports its kind as its endpoint's last path segment
    for kind, segment, title, _model, _cost, media, ext, secs in _GENERATORS
] + [
    JobKind("voice_clone", "Clone Voice", "generate_voice_clone", (Completion.SYNC,), media="voice", extension=None,
            typical_seconds=5, description="Returns a voiceId at once.", result_id="voiceId"),
    JobKind("outbound_call", "Outbound Call", "start_outbound_call", (Completion.SYNC,), media="call",
            extension=None, typical_seconds=1, description="Returns the call id of an active call.",
            result_id="callId"),
    JobKind("voice_agent", "Create Voice Agent", "create_agent", (Completion.SYNC,), media="agent", extension=None,
            typical_seconds=1, result_id="id"),
]

#: What the operators' reference says where the docs are silent or a rule spans fields (what the
#: service, as the simulator plays it, returns and what the operator does): each kind's ``notes``.
_KIND_NOTES: dict[str, tuple[str, ...]] = {
    "avatar": (
        "One of `audio` (a pre-recorded voice, e.g. an `ApexVoiceOperator` output URL) or `text` is "
        "required (checked before submitting). The README shows how to pass a voice-over's URL in.",
    ),
    "clip": (
        "`min_duration` must not exceed `max_duration`.",
        "`max_clips` > 1: the docs are silent on how the clips come back. An Apex job reports one "
        "`outputUrl`, so the operator writes one video (and warns in the task log); the simulator reports "
        "`metadata.clipCount` and `metadata.viralScores` in the result.",
    ),
    "commercial": (
        "One video per job; the simulator reports its scenes in `metadata.sceneClips`.",
    ),
    "instant_ad": (
        "`count` (variations 1-4): the docs are silent on how variations come back. An Apex job reports "
        "one `outputUrl`, so the operator writes one file whatever the count (the simulator reports "
        "`metadata.variationCount`; the task log warns when fewer files come back than `count` asked for). "
        "The cost depends on `output_format`, not on `count`: image 500 "
        "(the default when unset), video 1,000, both 1,250 credits.",
        "The file is a `.png` image for `output_format` `image`, an `.mp4` video for `video` or `both` "
        "(the extension follows the `outputType` Apex reports).",
    ),
    "photoshoot": (
        "`count` (photos 1-4): the docs are silent on how several photos come back. An Apex job reports "
        "one `outputUrl`, so `count=2` gives one image and is charged 30 credits once (the simulator "
        "returns one image and reports `metadata.photoCount`). Run one task per photo you need; the task "
        "log warns when fewer files come back than `count` asked for.",
        "`custom_background` describes the background when `background=\"custom\"`.",
    ),
    "voice_clone": (
        "Answered at once; no file. The result's `job_id` is the new `voiceId`: pass it to `voice_id` of "
        "the voice, video or avatar operators.",
    ),
    "outbound_call": (
        "Answered at once; no file. The result's `job_id` is the `callId` of the active call; 10 credits "
        "are charged when the call starts.",
    ),
    "voice_agent": (
        "Answered at once; no file. The result's `job_id` is the new agent's id: pass it to `agent_id` of "
        "`ApexOutboundCallOperator`.",
    ),
}

#: Values the reference's example uses (an optional field named here is shown in it).
_KIND_EXAMPLES: dict[str, dict[str, Any]] = {
    "avatar": {"audio": "{{ ti.xcom_pull(task_ids='voiceover')['output_urls'][0] }}"},
    "voice_clone": {"name": "Brand voice"},
    "image": {"width": 1280, "height": 720},
}

STATUS_MAP = {
    "queued": NormalizedStatus.QUEUED,
    "processing": NormalizedStatus.RUNNING,
    "completed": NormalizedStatus.SUCCEEDED,
    "failed": NormalizedStatus.FAILED,
}


SERVICE = Service(
    name=NAME,
    colours=("#2D3A8C", "#8C9EFF"),
    listed=2,
    title="Apex Studio",
    base_url="https://useapexstudio.com",
    key_prefix="sk_live_",
    plans=("free", "creator", "pro", "enterprise"),
    api_plan="enterprise",
    endpoints={e.name: e for e in _ENDPOINTS},
    rate_limits={
        "generation": RateLimit("generation", 5, 10.0, description="POST /api/generate/*"),
        "read": RateLimit("read", 20, 10.0, description="GET /api/jobs, /api/usage, ..."),
        "standard": RateLimit("standard", 20, 10.0, description="other POSTs (keys, settings, agents)"),
        "upload": RateLimit("upload", 10, 60.0, description="/api/upload/*"),
        "delete": RateLimit("delete", 10, 60.0, description="DELETE"),
        "outbound_call": RateLimit("outbound_call", 200, 3600.0, description="outbound calls"),
    },
    kinds={k.name: replace(k, notes=_KIND_NOTES.get(k.name, ()), example=_KIND_EXAMPLES.get(k.name, {}))
           for k in _KINDS},
    status_map=STATUS_MAP,
    error_codes={
        400: "BAD_REQUEST", 401: "UNAUTHORIZED", 402: "PAYMENT_REQUIRED", 403: "FORBIDDEN",
        404: "NOT_FOUND", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 503: "SERVICE_UNAVAILABLE",
    },
    error_shape={"message": "error", "code": "code"},
    job_shape=JobShape(
        id=("jobId",), status="status", outputs=("outputUrl",), error="error", created_at="createdAt",
        finished_at=("completedAt", "failedAt"), credits="creditsCharged", credits_refunded="creditsRefunded",
        kind_field="type", media_type="outputType", metadata="metadata",
    ),
    check_endpoint="get_usage",
    usage_endpoint="get_usage",
    balance=lambda usage: float(usage["credits"]),
    webhook=WebhookEnvelope(events={"job.completed": WebhookEvent, "job.failed": WebhookEvent}, event_field="event",
                            job_path="data"),
    webhook_registration="set_webhook",
    docs_note="Success bodies are wrapped in data (not voice-clone); the webhook is set per account.",
)
