"""The webhook receiver, mounted on the Airflow 3 API server by the provider's plugin under ``/mediagen``.

Plugin routes get no Airflow authentication, so every request authenticates itself: the connection's
webhook secret yields the token in the URL (and, optionally, a signature key); deliveries and the
``/states`` read each take a token of their own, so neither opens the other. Hard limits first (body
size), then authentication, then the documented payload. Accepted deliveries answer 2xx at once (a service
may want one within 10 s); rejects get a clear 4xx and record nothing.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..catalog import SERVICES
from ..client.secrets import install_log_filter
from ..hooks.connection import ConnectionSettings, settings_from_connection
from .payloads import MAX_BODY_BYTES, MAX_IDS, MAX_JOB_ID, DeliveryError, NotJSONError, load_json, parse_delivery
from .store import DeliveryStore
from .urls import INTENT_ID
from .tokens import SignatureError, receiver_token, states_token, tokens_match, verify_signature

__all__ = ["MAX_BODY_BYTES", "MAX_CHANGES", "MAX_IDS", "create_receiver_app"]

#: Changes one ``/states`` read may return.
MAX_CHANGES = 1000


def _default_connection(conn_id: str) -> Any:
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets(conn_id)


def _default_engine() -> Any:
    from airflow import settings

    return settings.engine


def create_receiver_app(get_connection: Any = _default_connection, get_engine: Any = _default_engine) -> FastAPI:
    install_log_filter()  # the receiver's own log lines (and httpx's) are scrubbed like the clients'
    app = FastAPI(title="mediagen webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)
    state: dict[str, DeliveryStore] = {}

    def store() -> DeliveryStore:
        if "store" not in state:
            state["store"] = DeliveryStore(get_engine())
        return state["store"]

    async def in_store(method: str, *args: Any) -> Any:
        """A store call off the server's loop; the store itself is made there too (it checks its tables)."""
        return await run_in_threadpool(lambda: getattr(store(), method)(*args))

    def settings_for(service: str, conn_id: str) -> ConnectionSettings:
        if service not in SERVICES or SERVICES[service].webhook is None:
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
    async def deliver(service: str, conn_id: str, request: Request, background: BackgroundTasks,
                      token: str | None = None, intent: str | None = None) -> JSONResponse:
        body = await limited_body(request)
        # The connection lookup (a secrets backend, the metadata DB) blocks: off the server's loop.
        settings, secret = await run_in_threadpool(authenticate, service, conn_id, token)
        if intent is not None and not INTENT_ID.fullmatch(intent):
            raise HTTPException(422, "intent must be 32 lowercase hex digits")
        signed = "webhook-signature" in request.headers
        if signed or settings.require_signature:
            try:
                message_id = verify_signature(secret, request.headers, body)
            except SignatureError as exc:
                raise HTTPException(401, f"signature rejected: {exc}") from None
            # In the shared store, so a replay is refused by whichever API server it reaches.
            if not await in_store("first_message", service, conn_id, message_id):
                raise HTTPException(409, "replayed delivery")
        try:
            job = parse_delivery(service, load_json(body))
        except NotJSONError as exc:
            raise HTTPException(400, str(exc)) from None
        except DeliveryError as exc:
            raise HTTPException(422, str(exc)) from None
        verdict = await in_store("record", service, conn_id, job, intent)
        background.add_task(lambda: store().prune_if_due())  # after the answer: the sender never waits for it
        return JSONResponse({"result": verdict, "job_id": job.id, "status": job.status.value})

    @app.post("/webhooks/{service}/{conn_id}/states")
    async def states(service: str, conn_id: str, request: Request, token: str | None = None) -> JSONResponse:
        body = await limited_body(request)
        await run_in_threadpool(authenticate, service, conn_id, token, reading=True)
        try:
            asked = load_json(body)
            job_ids, intents = asked["job_ids"], asked.get("intents", [])
            assert isinstance(job_ids, list) and all(isinstance(j, str) and len(j) <= MAX_JOB_ID for j in job_ids)
            assert isinstance(intents, list) and all(isinstance(i, str) and INTENT_ID.fullmatch(i) for i in intents)
            assert len(job_ids) <= MAX_IDS and len(intents) <= MAX_IDS
            changes = asked.get("changes")
            if changes is not None:
                after, limit = changes.get("after"), int(changes.get("limit", MAX_CHANGES))
                assert after is None or (isinstance(after, list) and len(after) == 2)
                cursor = None if after is None else (float(after[0]), int(after[1]))
                overlap = float(changes.get("overlap", 0.0))
                assert 0.0 <= overlap <= 60.0
                if cursor is not None and overlap:
                    # Rows stamped within the last ``overlap`` seconds (this server's clock) are read
                    # again: another server may commit one a moment after a later one was read.
                    cursor = min(cursor, (time.time() - overlap, 0))
        except (ValueError, KeyError, TypeError, AttributeError, AssertionError):
            raise HTTPException(400, f'expected {{"job_ids": ["...", ...], "intents": ["...", ...], "changes": '
                                     f'{{"after": [stamp, id] or null, "limit": n, "overlap": seconds}}}} (at most {MAX_IDS} job ids of '
                                     f'at most {MAX_JOB_ID} characters, intents of 32 hex digits)') from None
        answer: dict[str, Any] = {"jobs": await in_store("states", service, conn_id, job_ids)}
        if intents:
            answer["intents"] = await in_store("by_intent", service, conn_id, intents)
        if changes is not None:
            limit = max(1, min(limit, MAX_CHANGES))
            jobs, end = await in_store("changes", service, conn_id, cursor, limit)
            answer["changes"] = {"jobs": jobs, "cursor": list(end), "more": len(jobs) == limit}
        return JSONResponse(answer)

    return app
