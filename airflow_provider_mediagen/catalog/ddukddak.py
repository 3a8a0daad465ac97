"""Ddukddak: template images/videos and AI images/videos (docs: ``ddukddak.txt``).

Quirks worth knowing: template images answer 201 with the finished image (synchronous); AI jobs answer
202 ``pending``; template videos have no poll endpoint, so their completion is learned by webhook only.
Undocumented details follow ``docs/undocumented-behaviour.md``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import ConfigDict, Field

from .fields import HexColor, ImageSize, NonEmpty, Url, text
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

NAME = "ddukddak"
AspectRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4"]


class TemplateLayer(RequestModel):
    """One layer of a template to fill in; the docs list text, image_url, fillColor, color "and more",
    so further keys pass through untouched."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    name: NonEmpty = Field(description="Layer name in the template")
    text: str | None = Field(None, description="Text to put in a text layer")
    image_url: Url | None = Field(None, description="Image to put in an image layer")
    fill_color: HexColor | None = Field(None, alias="fillColor", description="Shape fill colour, #RRGGBB")
    color: HexColor | None = Field(None, description="Text colour, #RRGGBB")
    font_size: int | None = Field(None, alias="fontSize", ge=1, le=1000, description="Font size in pixels")
    hide: bool | None = Field(None, description="Hide the layer")


class _TemplateRequest(RequestModel):
    template: NonEmpty = Field(description="Template slug or UUID, e.g. summer-sale-banner")
    properties: list[TemplateLayer] = Field(default_factory=list, description="Layer properties to inject")
    webhook_url: Url | None = Field(None, description="URL that receives the result when it is ready")


class TemplateImageRequest(_TemplateRequest):
    """POST /images."""


class TemplateVideoRequest(_TemplateRequest):
    """POST /videos (Automate plan or higher; completion only by webhook)."""


class AIImageRequest(RequestModel):
    """POST /ai/images (Scale plan or higher)."""

    prompt: str = text(description="What the image should show")
    model: NonEmpty = Field(description="AI model, e.g. gemini-2.5-flash-image (the docs always send one)")
    aspect_ratio: AspectRatio | None = Field(None, description="Aspect ratio, e.g. 16:9")
    image_size: ImageSize | None = Field(None, description="WIDTHxHEIGHT in pixels (64-4096 each), e.g. 1024x1024")
    webhook_url: Url | None = Field(None, description="URL that receives the result when it is ready")


class AIVideoRequest(RequestModel):
    """POST /ai/videos (Scale plan or higher; 3-5 minutes)."""

    prompt: str = text(description="What the video should show")
    model: NonEmpty = Field(description="AI model, e.g. veo-3.1-fast (the docs always send one)")
    aspect_ratio: AspectRatio | None = Field(None, description="Aspect ratio, e.g. 16:9")
    resolution: Literal["720p", "1080p"] | None = Field(None, description="720p or 1080p")
    duration: Literal["4", "5", "6", "7", "8"] | None = Field(None, description="Seconds, as a string: 4-8")
    webhook_url: Url | None = Field(None, description="URL that receives the result when it is ready")


class AuthResponse(ResponseModel):
    authenticated: bool
    user_id: str


class ImageResult(ResponseModel):
    uid: str
    status: str
    image_url: str | None = None
    image_url_png: str | None = None


class VideoResult(ResponseModel):
    uid: str
    status: str
    video_url: str | None = None


class WebhookPayload(ResponseModel):
    """What Ddukddak POSTs to a request's ``webhook_url``."""

    uid: str
    status: str
    image_url: str | None = None
    image_url_png: str | None = None
    video_url: str | None = None
    template: str | None = None
    template_name: str | None = None
    error: str | None = None


#: What the operators' reference says where the docs are silent or a rule spans fields (what the
#: service, as the simulator plays it, returns and what the operator does): each kind's ``notes``.
_KIND_NOTES: dict[str, tuple[str, ...]] = {
    "template_image": (
        "Answered at once: the finished image comes with the submit answer, so there is nothing to wait for.",
    ),
    "template_video": (
        "No status endpoint is documented: completion arrives by webhook only. With "
        "`wait_for_completion=True` (the default) the connection needs the webhook set-up (extras "
        "`webhook_secret`, `webhook_base_url`; README, Webhooks), else the task fails before submitting.",
    ),
    "ai_video": (
        "`duration` is a string of whole seconds (`\"8\"`, as in the docs' example), not a number.",
    ),
}

STATUS_MAP = {
    "pending": NormalizedStatus.QUEUED,
    "processing": NormalizedStatus.RUNNING,
    "completed": NormalizedStatus.SUCCEEDED,
    "failed": NormalizedStatus.FAILED,
}

_ONE = CreditCost(credits=1, note="1 credit")
_ENDPOINTS = [
    Endpoint("auth", "GET", "/auth", "Verify API key", rate_limit="all", response=AuthResponse),
    Endpoint(
        "create_template_image", "POST", "/images", "Template image generation", rate_limit="all",
        request=TemplateImageRequest, response=ImageResult, success_status=201, encoding="json",
        credit_cost=_ONE, job_kind="template_image", webhook_field="webhook_url",
    ),
    Endpoint(
        "create_template_video", "POST", "/videos", "Template video generation", rate_limit="all",
        plan="automate", request=TemplateVideoRequest, response=VideoResult, success_status=202,
        encoding="json", credit_cost=_ONE, job_kind="template_video", webhook_field="webhook_url",
    ),
    Endpoint(
        "create_ai_image", "POST", "/ai/images", "AI image generation (async)", rate_limit="all",
        plan="scale", request=AIImageRequest, response=ImageResult, success_status=202, encoding="json",
        credit_cost=_ONE, job_kind="ai_image", webhook_field="webhook_url",
    ),
    Endpoint(
        "get_ai_image", "GET", "/ai/images/:uid", "Poll AI image status", rate_limit="all", plan="scale",
        response=ImageResult,
    ),
    Endpoint(
        "create_ai_video", "POST", "/ai/videos", "AI video generation (async)", rate_limit="all",
        plan="scale", request=AIVideoRequest, response=VideoResult, success_status=202, encoding="json",
        credit_cost=_ONE, job_kind="ai_video", webhook_field="webhook_url",
    ),
    Endpoint(
        "get_ai_video", "GET", "/ai/videos/:uid", "Poll AI video status", rate_limit="all", plan="scale",
        response=VideoResult,
    ),
]

_KINDS = [
    JobKind("template_image", "Template image", "create_template_image", (Completion.SYNC, Completion.WEBHOOK),
            media="image", extension="png", typical_seconds=2),
    JobKind("template_video", "Template video", "create_template_video", (Completion.WEBHOOK,),
            media="video", extension="mp4", typical_seconds=60,
            description="No poll endpoint is documented: completion arrives by webhook only."),
    JobKind("ai_image", "AI image", "create_ai_image", (Completion.POLL, Completion.WEBHOOK),
            media="image", extension="png", status="get_ai_image", typical_seconds=15),
    JobKind("ai_video", "AI video", "create_ai_video", (Completion.POLL, Completion.WEBHOOK),
            media="video", extension="mp4", status="get_ai_video", typical_seconds=240,
            poll_seconds=30,  # "poll GET /ai/videos/:uid every 30 seconds"
            description="Takes 3-5 minutes; the docs advise polling every 30 s."),
]


SERVICE = Service(
    name=NAME,
    colours=("#E4572E", "#FF8A65"),
    listed=1,
    title="Ddukddak",
    base_url="https://api.ddukddak.studio/v1",
    key_prefix="dd_live_",
    plans=("free_trial", "automate", "scale", "enterprise"),
    endpoints={e.name: e for e in _ENDPOINTS},
    rate_limits={"all": RateLimit("all", 30, 10.0, description="30 requests per 10 s, every endpoint")},
    kinds={k.name: replace(k, notes=_KIND_NOTES.get(k.name, ())) for k in _KINDS},
    status_map=STATUS_MAP,
    error_codes={
        401: "API key missing or invalid",
        402: "Credits exhausted - upgrade plan or wait for next billing cycle",
        403: "Feature not available on current plan (e.g. AI requires Scale+)",
        404: "Template slug or UUID not found",
        429: "Rate limit exceeded - retry after 10 seconds",
    },
    error_shape={"message": "error"},
    job_shape=JobShape(
        id=("uid",), status="status", outputs=("image_url_png", "image_url", "video_url"), error="error",
        fixed_credits=1,  # "1 credit" per generation; no answer shows a creation time
    ),
    check_endpoint="auth",
    webhook=WebhookEnvelope(events={"result": WebhookPayload}),
    docs_note="Template images are synchronous; template videos complete by webhook only.",
)
