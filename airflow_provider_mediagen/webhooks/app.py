"""The webhook receiver, mounted on the Airflow 3 API server by the provider's plugin under ``/mediagen``.

Plugin routes get no Airflow authentication, so every request authenticates itself: the connection's
webhook secret yields the token in the URL (and, optionally, a signature key); deliveries and the
``/states`` read each take a token of their own, so neither opens the other. Hard limits first (body
size), then authentication, then the documented payload. Accepted deliveries answer 2xx at once (Apex
wants 2xx within 10 s); rejects get a clear 4xx and record nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from ..catalog import SERVICES
from ..client.secrets import install_log_filter
from ..hooks.connection import ConnectionSettings, settings_from_connection
from .payloads import MAX_JOB_ID, DeliveryError, NotJSONError, load_json, parse_delivery
from .store import DeliveryStore
from .urls import INTENT_ID
from .tokens import SignatureError, receiver_token, states_token, tokens_match, verify_signature

__all__ = ["MAX_BODY_BYTES", "create_receiver_app"]

MAX_BODY_BYTES = 64 * 1024


class _ReplayGuard:
    """Message ids of signed deliveries seen within the replay window (per API server process; the
    timestamp check bounds how long one must be remembered)."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def _default_connection(conn_id: str) -> Any:
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)


def _default_engine() -> Any:
    from airflow import settings

    return settings.engine


def create_receiver_app(get_connection: Any = _default_connection, get_engine: Any = _default_engine) -> FastAPI:
    install_log_filter()  # the receiver's own log lines (and httpx's) are scrubbed like the clients'
    app = FastAPI(title="mediagen webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)
    replay = _ReplayGuard()
    state: dict[str, DeliveryStore] = {}

    def store() -> DeliveryStore:
        if "store" not in state:
            state["store"] = DeliveryStore(get_engine())
        return state["store"]

    def settings_for(service: str, conn_id: str) -> ConnectionSettings:
        if service not in SERVICES or not SERVICES[service].webhook_payloads:
            raise HTTPException(404, "unknown webhook")
        try:
            settings = settings_from_connection(service, get_connection(conn_id))
        except Exception:
            raise HTTPException(404, "unknown webhook") from None
        if settings.webhook_secret is None:
            raise HTTPException(404, "unknown webhook")  # the receiver is off for this connection
        return settings

    def authenticate(service: str, conn_id: str, token: str | None, *, reading: bool = False) -> tuple[
            ConnectionSettings, str]:
        """The connection's settings and the secret ``token`` was made from, once it is the one for
        this door: the delivery token for deliveries, the states token for ``/states`` (never the other
        way round). A delivery may still carry the token of the secret before the last rotation, until
        the grace the connection states; reads never: the triggers already use the new one."""
        settings = settings_for(service, conn_id)
        assert settings.webhook_secret is not None
        derive = states_token if reading else receiver_token
        if tokens_match(derive(settings.webhook_secret.get(), service, conn_id), token):
            return settings, settings.webhook_secret.get()
        previous = settings.previous_webhook_secret
        if (not reading and previous is not None and time.time() < settings.previous_webhook_secret_until
                and tokens_match(derive(previous.get(), service, conn_id), token)):
            return settings, previous.get()
        raise HTTPException(401, "bad or missing token")

    async def limited_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes")
        return body

    @app.post("/webhooks/{service}/{conn_id}")
    async def deliver(service: str, conn_id: str, request: Request, token: str | None = None,
                      intent: str | None = None) -> JSONResponse:
        body = await limited_body(request)
        settings, secret = authenticate(service, conn_id, token)
        if intent is not None and not INTENT_ID.fullmatch(intent):
            raise HTTPException(422, "intent must be 32 lowercase hex digits")
        signed = "webhook-signature" in request.headers
        if signed or settings.require_signature:
            try:
                message_id = verify_signature(secret, request.headers, body)
            except SignatureError as exc:
                raise HTTPException(401, f"signature rejected: {exc}") from None
            if not replay.first_time(f"{service}:{conn_id}:{message_id}"):
                raise HTTPException(409, "replayed delivery")
        try:
            job = parse_delivery(service, load_json(body))
        except NotJSONError as exc:
            raise HTTPException(400, str(exc)) from None
        except DeliveryError as exc:
            raise HTTPException(422, str(exc)) from None
        verdict = store().record(service, conn_id, job, intent)
        return JSONResponse({"result": verdict, "job_id": job.id, "status": job.status.value})

    @app.post("/webhooks/{service}/{conn_id}/states")
    async def states(service: str, conn_id: str, request: Request, token: str | None = None) -> JSONResponse:
        body = await limited_body(request)
        authenticate(service, conn_id, token, reading=True)
        try:
            asked = load_json(body)
            job_ids, intents = asked["job_ids"], asked.get("intents", [])
            assert isinstance(job_ids, list) and all(isinstance(j, str) and len(j) <= MAX_JOB_ID for j in job_ids)
            assert isinstance(intents, list) and all(isinstance(i, str) and INTENT_ID.fullmatch(i) for i in intents)
        except (ValueError, KeyError, TypeError, AttributeError, AssertionError):
            raise HTTPException(400, f'expected {{"job_ids": ["...", ...], "intents": ["...", ...]}} (job ids of '
                                     f'at most {MAX_JOB_ID} characters, intents of 32 hex digits)') from None
        answer: dict[str, Any] = {"jobs": store().states(service, conn_id, job_ids[:5000])}
        if intents:
            answer["intents"] = store().by_intent(service, conn_id, intents[:5000])
        return JSONResponse(answer)

    return app
