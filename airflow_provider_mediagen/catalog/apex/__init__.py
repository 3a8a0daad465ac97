"""Apex Studio: images, video, voice, avatars, clips, ads, photoshoots and voice agents
(docs: ``apex-studio.txt``).

Quirks worth knowing: success bodies are wrapped in ``{"data": ...}`` except voice-clone's; every
generation is a queued job learned by ``GET /api/jobs?id=`` or the account-level webhook; credits are
charged at submission and refunded on failure; rate limits are per endpoint class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any


from ..model import (
    Completion,
    CreditCost,
    Endpoint,
    JobKind,
    JobShape,
    NormalizedStatus,
    RateLimit,
    RequestModel,
    Service,
    WebhookEnvelope,
)

from .models import (
    Agent,
    ApexJob,
    AvatarRequest,
    BRollRequest,
    Call,
    ClipRequest,
    CommercialRequest,
    CreateAgentRequest,
    CreateKeyRequest,
    CreatedKey,
    ImageRequest,
    InstantAdRequest,
    JobAccepted,
    JobsQuery,
    KeyInfo,
    OutboundCallRequest,
    PhotoshootRequest,
    Settings,
    SettingsRequest,
    Text2VideoRequest,
    TranslateRequest,
    Usage,
    VideoRequest,
    VoiceClone,
    VoiceCloneRequest,
    VoiceRequest,
    WebhookEvent,
)

NAME = "apex"



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
    usage_plan="plan",
    webhook=WebhookEnvelope(events={"job.completed": WebhookEvent, "job.failed": WebhookEvent}, event_field="event",
                            job_path="data"),
    webhook_registration="set_webhook",
    docs_note="Success bodies are wrapped in data (not voice-clone); the webhook is set per account.",
)
