"""FaceDub: UGC videos from a character photo and a reference video (docs: ``facedub.txt``).

Quirks worth knowing: jobs are created with a multipart upload; at most 2 jobs run at once per user
(a third gets 429); ``GET /jobs`` lists the 50 newest jobs in one read, which is how many waits share
the small read budget; the SSE stream needs a JWT (not the API key) as a ``token`` query parameter.
"""

from __future__ import annotations

from dataclasses import replace
import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr

from .fields import NonEmpty
from .model import (
    Completion,
    CreditCost,
    Endpoint,
    FileRule,
    JobKind,
    JobShape,
    NormalizedStatus,
    RateLimit,
    RequestModel,
    ResponseModel,
    Service,
)

NAME = "facedub"

CHARACTER_PHOTO = FileRule(
    field="character_photo",
    media_types=("image/jpeg", "image/png", "image/webp"),
    extensions=(".jpg", ".jpeg", ".png", ".webp"),
    max_bytes=10 * 1024 * 1024,
    signatures=((0, b"\xff\xd8\xff"), (0, b"\x89PNG\r\n\x1a\n"), (8, b"WEBP")),
)
REFERENCE_VIDEO = FileRule(
    field="reference_video",
    media_types=("video/mp4", "video/quicktime", "video/webm"),
    extensions=(".mp4", ".mov", ".webm", ".m4v"),
    max_bytes=100 * 1024 * 1024,
    signatures=((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3")),
)


class CreateJobForm(RequestModel):
    """The form fields of POST /jobs besides the two files (which :data:`CHARACTER_PHOTO` and
    :data:`REFERENCE_VIDEO` describe)."""

    duration: int = Field(5, ge=1, le=30, description="Video duration in seconds (1-30)")


class CreateKeyRequest(RequestModel):
    name: NonEmpty = Field(description="Key name")


class JobCreated(ResponseModel):
    job_id: str
    status: str
    credits_charged: float
    is_overage: bool = False


class FaceDubJob(ResponseModel):
    id: str
    status: str
    stage: str | None = None
    output_url: str | None = None
    created_at: int | float | None = None
    error: str | None = None
    duration_seconds: float | None = None
    credits_charged: float | None = None


class Usage(ResponseModel):
    plan: str
    credits_used: float
    credits_limit: float
    bonus_credits: float = 0
    credits_remaining: float


class CreatedKey(ResponseModel):
    """The full key is returned once; held as a secret so it never lands in a repr or log."""

    id: str
    name: str
    key: SecretStr
    prefix: str
    created_at: int | float | None = None


class KeyInfo(ResponseModel):
    id: str
    name: str
    prefix: str | None = None
    created_at: int | float | None = None


class RevokedKey(ResponseModel):
    id: str
    revoked: bool = True


def _job_cost(request: Mapping[str, Any]) -> int:
    return math.ceil(int(request.get("duration") or 5) / 5)


_ENDPOINTS = [
    Endpoint("create_job", "POST", "/jobs", "Create a new video generation job", rate_limit="create_job",
             request=CreateJobForm, response=JobCreated, encoding="multipart",
             credit_cost=CreditCost(note="1 credit per 5 s of video (rounded up)", compute=_job_cost),
             job_kind="video", files=(CHARACTER_PHOTO, REFERENCE_VIDEO)),
    Endpoint("list_jobs", "GET", "/jobs", "List your recent jobs (up to 50)", rate_limit="job_reads",
             response=FaceDubJob, response_is_list=True),
    Endpoint("get_job", "GET", "/jobs/{job_id}", "Get status of a specific job", rate_limit="job_reads",
             response=FaceDubJob),
    Endpoint("stream_job", "GET", "/jobs/{job_id}/stream", "SSE stream of real-time job status updates",
             rate_limit="job_reads", response=FaceDubJob, stream=True, auth="jwt_query"),
    Endpoint("get_usage", "GET", "/usage", "Get your current credit usage", rate_limit="other", response=Usage),
    Endpoint("create_key", "POST", "/api-keys", "Create a new API key (max 5 active)", rate_limit="other",
             request=CreateKeyRequest, response=CreatedKey, encoding="json"),
    Endpoint("list_keys", "GET", "/api-keys", "List your API keys (prefix only)", rate_limit="other",
             response=KeyInfo, response_is_list=True),
    Endpoint("revoke_key", "DELETE", "/api-keys/{key_id}", "Revoke an API key", rate_limit="other",
             response=RevokedKey),
]

_KINDS = [
    JobKind("video", "UGC video", "create_job",
            (Completion.POLL, Completion.LIST, Completion.SSE), media="video", extension="mp4",
            status="get_job", list="list_jobs", stream="stream_job", typical_seconds=90,
            poll_seconds=5,  # the docs' polling example sleeps 5 s between reads
            description="A character photo animated with the motion of a reference video."),
]

#: What the operators' reference says where the docs are silent or a rule spans fields (what the
#: service, as the simulator plays it, returns and what the operator does): each kind's ``notes``.
_KIND_NOTES: dict[str, tuple[str, ...]] = {
    "video": (
        "Cost: `ceil(duration / 5)` credits (5 s -> 1, 10 s -> 2). Past the plan's credit limit FaceDub "
        "still accepts jobs, as overage (it documents no 402).",
        "FaceDub runs at most 2 jobs per account at once: put these tasks in a pool of 2 slots created "
        "with `--include-deferred` (README, Scaling notes).",
    ),
}

#: Values the reference's example uses (an optional field named here is shown in it).
_KIND_EXAMPLES: dict[str, dict[str, Any]] = {"video": {"duration": 10}}

STATUS_MAP = {
    "queued": NormalizedStatus.QUEUED,
    "processing": NormalizedStatus.RUNNING,
    "completed": NormalizedStatus.SUCCEEDED,
    "failed": NormalizedStatus.FAILED,
}


SERVICE = Service(
    name=NAME,
    colours=("#17825F", "#69F0AE"),
    listed=3,
    title="FaceDub",
    base_url="https://api.facedub.io",
    key_prefix="fdb_",
    plans=("creator", "pro", "agency"),
    api_plan="agency",
    endpoints={e.name: e for e in _ENDPOINTS},
    rate_limits={
        "create_job": RateLimit("create_job", 10, 60.0, sliding=True, description="POST /jobs"),
        "job_reads": RateLimit("job_reads", 60, 60.0, sliding=True, description="GET /jobs/*"),
        "other": RateLimit("other", 120, 60.0, sliding=True, description="All other endpoints"),
    },
    kinds={k.name: replace(k, notes=_KIND_NOTES.get(k.name, ()), example=_KIND_EXAMPLES.get(k.name, {}))
           for k in _KINDS},
    status_map=STATUS_MAP,
    error_codes={
        400: "Bad request - invalid parameters",
        401: "Unauthorized - missing or invalid API key",
        403: "Forbidden - not on Agency plan, or account suspended",
        404: "Not found - job doesn't exist or isn't yours",
        429: "Too many requests - rate or concurrency limit exceeded",
        500: "Internal server error - try again or contact support",
    },
    error_shape={"message": "detail"},
    job_shape=JobShape(
        id=("id", "job_id"), status="status", outputs=("output_url",), error="error", stage="stage",
        created_at="created_at", credits="credits_charged",
    ),
    check_endpoint="get_usage",
    usage_endpoint="get_usage",
    balance=lambda usage: float(usage["credits_remaining"]),
    usage_plan="plan",
    max_concurrent_jobs=2,
    docs_note="At most 2 concurrent jobs per user; GET /jobs lists 50 jobs in one read.",
)
