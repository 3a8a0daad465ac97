"""Lumen Stills: the made-up fourth service's catalog module (docs: ``tests/fourth/lumen-api.md``).

Written exactly as a service module inside ``airflow_provider_mediagen.catalog`` would be, but shipped
outside the package and registered through the ``airflow_provider_mediagen.catalog`` entry point group,
so the test that uses it proves a new service needs no edit to the package.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from airflow_provider_mediagen.catalog import (
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
from airflow_provider_mediagen.catalog.fields import Url, text

NAME = "lumen"


class RenderRequest(RequestModel):
    """POST /renders."""

    prompt: str = text(1, 500, "What the still should show (1-500 chars)")
    palette: Literal["warm", "cool", "mono"] = Field("warm", description="Colour palette")
    width: int = Field(768, ge=64, le=2048, description="Width in pixels, 64-2048")
    height: int = Field(768, ge=64, le=2048, description="Height in pixels, 64-2048")
    callback_url: Url | None = Field(None, description="URL that receives the render when it ends")


class Account(ResponseModel):
    account_id: str
    credits: float


class RenderAccepted(ResponseModel):
    render_id: str
    state: str
    cost: float
    created: str | None = None


class Render(ResponseModel):
    render_id: str
    state: str
    result_url: str | None = None
    failure: str | None = None
    cost: float | None = None
    created: str | None = None


class Callback(ResponseModel):
    """What Lumen POSTs to a render's ``callback_url``."""

    kind: Literal["render.done", "render.error"]
    sent_at: str
    render: Render


_ENDPOINTS = [
    Endpoint("me", "GET", "/me", "Who am I", rate_limit="all", response=Account),
    Endpoint("create_render", "POST", "/renders", "Render a still", rate_limit="all", request=RenderRequest,
             response=RenderAccepted, success_status=202, encoding="json", credit_cost=CreditCost(2),
             job_kind="still", webhook_field="callback_url"),
    Endpoint("get_render", "GET", "/renders/{render_id}", "Get a render", rate_limit="all", response=Render),
    Endpoint("list_renders", "GET", "/renders", "List recent renders (up to 50)", rate_limit="all",
             response=Render, response_is_list=True, envelope="renders"),
]

SERVICE = Service(
    name=NAME,
    listed=4,
    colours=("#8A4FFF", "#C9A7FF"),
    title="Lumen Stills",
    base_url="https://api.lumen.example/v2",
    key_prefix="lm_live_",
    plans=("starter", "studio"),
    endpoints={e.name: e for e in _ENDPOINTS},
    rate_limits={"all": RateLimit("all", 12, 10.0, description="12 requests per 10 s, every endpoint")},
    kinds={"still": JobKind("still", "Still", "create_render", (Completion.POLL, Completion.LIST, Completion.WEBHOOK),
                            media="image", extension="png", status="get_render", list="list_renders",
                            typical_seconds=6, notes=("A made-up service: see tests/fourth/lumen-api.md.",))},
    status_map={"waiting": NormalizedStatus.QUEUED, "rendering": NormalizedStatus.RUNNING,
                "done": NormalizedStatus.SUCCEEDED, "error": NormalizedStatus.FAILED},
    error_codes={400: "Bad request", 401: "Missing or invalid key", 402: "No credits left", 404: "Not found",
                 429: "Too many requests"},
    error_shape={"message": "message"},
    job_shape=JobShape(id=("render_id",), status="state", outputs=("result_url",), error="failure",
                       created_at="created", credits="cost"),
    check_endpoint="me",
    webhook=WebhookEnvelope(events={"render.done": Callback, "render.error": Callback}, event_field="kind",
                            job_path="render"),
    docs_note="A made-up service for the fourth-service test.",
)
