"""The request pipeline shared by the three services (an ASGI middleware).

For every request under a service prefix, in this order:

1. route: find the documented endpoint (unknown path -> 404, known path with another method -> 405,
   both in the service's error shape);
2. identify the account from the credentials (API key, or FaceDub's JWT for its SSE stream);
3. request faults (``faults.py``): ``status``, ``slow``, ``drop``, ``malformed``;
4. 401 when the credentials are missing or invalid. A 401 is counted (under ``anonymous``) but
   consumes no rate-limit quota: limits are per key and only apply once a key is known;
5. rate limit (per service policy) -> 429 with ``Retry-After``;
6. plan gating -> 403;
7. ``read_lag`` (a single-job status read of a lagged, young job -> the service's own 404);
8. response faults (``lose_response``, ``unknown_status``, ``wrong_shape``) are decided, then
9. the handler, which may raise :class:`ServiceError` for 400 / 402 / 404 / 429 (concurrency); a
   response fault alters its answer on the way out (``responses.py``).

Every answer is counted as ``service -> account -> "METHOD /documented/path" -> status`` when its
status line is sent, and gets the service's per-response headers (Apex's X-RateLimit-*).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .connection import abort_connection
from .errors import ServiceError
from .faults import FaultRule
from .responses import ResponseFaultSend
from .service import RequestContext, ServiceDef

if TYPE_CHECKING:
    from .state import SimState


def error_response(ctx: RequestContext, error: ServiceError) -> Response:
    """Render ``error`` in the context's service shape."""
    body = ctx.service.error_body(error.status, error.message, error.code)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def received_in_full(receive: Receive) -> Receive:
    """Read the request now and replay it to the handler later. A server that has received a request
    handles it even when the client is gone by the time it answers: a ``slow`` answer to a killed client
    still creates (and charges) the job, which is what a client must be ready for."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class Gateway:
    """Pure ASGI middleware applying the pipeline above to service paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: SimState = scope["app"].state.sim
        path: str = scope["path"]
        service = next(
            (s for s in state.services.values() if path == s.prefix or path.startswith(s.prefix + "/")),
            None,
        )
        if service is None:
            await self.app(scope, receive, send)
            return
        await self._handle(service, state, scope, receive, send)

    async def _handle(self, service: ServiceDef, state: SimState, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        method = scope["method"]
        endpoint, path_exists = service.match(method, scope["path"][len(service.prefix) :] or "/")
        base_url = state.config.public_base_url or str(request.base_url).rstrip("/")
        ctx = RequestContext(service, state, endpoint, service.authenticate(request, endpoint), base_url)
        scope["sim.ctx"] = ctx
        decision = None

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.counters.request(service.name, ctx.account_name, ctx.template, message["status"])
                extra = service.response_headers(ctx, decision)
                if extra:
                    headers: list[tuple[bytes, bytes]] = [
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.decode().lower() not in {h.lower() for h in extra}
                    ]
                    headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                    message = {**message, "headers": headers}
            await send(message)

        async def answer(error: ServiceError) -> None:
            await error_response(ctx, error)(scope, receive, counted_send)

        if endpoint is None:
            status = 405 if path_exists else 404
            await answer(ServiceError(status, "Method not allowed" if path_exists else "Not found"))
            return

        fault = state.faults.request_fault(service.name, ctx.template, ctx.account_name)
        if fault is not None and fault.fault == "slow":
            receive = await received_in_full(receive)
        if fault is not None and await self._apply_fault(fault, ctx, scope, receive, counted_send):
            return

        if ctx.auth is None:
            await answer(service.unauthorized())
            return
        decision = service.rate_limit(ctx)
        if not decision.allowed:
            await answer(service.rate_limited(ctx, decision))
            return
        plan_error = service.check_plan(ctx)
        if plan_error is not None:
            await answer(plan_error)
            return
        lagging = self._lagging_job(service, state, ctx, scope)
        if lagging is not None:
            await answer(service.job_not_found(lagging))
            return
        handler_send: Send = counted_send
        response_fault = state.faults.response_fault(service.name, ctx.template, ctx.account_name)
        if response_fault is not None:

            def lost() -> None:
                state.counters.request(service.name, ctx.account_name, ctx.template, 0)
                state.counters.fault(service.name, ctx.account_name, "responses_lost")

            handler_send = ResponseFaultSend(response_fault, scope, counted_send, lost)
        await self.app(scope, receive, handler_send)

    @staticmethod
    def _lagging_job(service: ServiceDef, state: SimState, ctx: RequestContext, scope: Scope) -> str | None:
        """The job id when this is a status read of a job that ``read_lag`` hides, else None.

        The decision is taken once per job and read endpoint (kept in the job's data) at the first
        read that a rule could apply to, so a lagged job stays hidden until it is old enough and then
        stays visible. Keying by endpoint matters where one job id is readable at two paths
        (Ddukddak's images and videos): a rule limited to one endpoint must not hide the job at the
        other, even after a read of the wrong path decided a lag.
        """
        job_id = service.job_read_id(ctx, scope["path"][len(service.prefix) :], scope.get("query_string", b""))
        if job_id is None:
            return None
        job = state.jobs.get(service.name, job_id)
        if job is None or job.account is not ctx.account:
            return None  # the handler's own 404
        age = state.clock.monotonic() - job.created_mono
        decisions: dict[str, float] = job.data.setdefault("read_lag", {})
        if ctx.template not in decisions:
            decided = state.faults.read_lag(service.name, ctx.template, ctx.account_name, age)
            if decided is None:
                return None
            decisions[ctx.template] = decided
        return job_id if age < decisions[ctx.template] else None

    async def _apply_fault(
        self, fault: FaultRule, ctx: RequestContext, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Apply a request fault; return True when the request has been answered (or dropped)."""
        if fault.fault == "slow":
            await asyncio.sleep(fault.delay)
            return False
        if fault.fault == "drop":
            ctx.state.counters.request(ctx.service.name, ctx.account_name, ctx.template, 0)
            if await abort_connection(scope):
                return True
            raise ConnectionAbortedError("simulated dropped connection")
        if fault.fault == "malformed":
            body = b'{"data": {"jobId": "'  # truncated: not valid JSON
            await Response(body, status_code=200, media_type="application/json")(scope, receive, send)
            return True
        headers: dict[str, Any] = {}
        if fault.status in (429, 503):
            # An explicit retry_after is used as given; the default is the service's, time-scaled.
            if fault.retry_after is not None:
                given = fault.retry_after
                headers["Retry-After"] = str(int(given)) if float(given).is_integer() else str(given)
            else:
                clock = ctx.state.clock
                headers["Retry-After"] = clock.retry_after(clock.scaled(ctx.service.fault_retry_after()))
        messages = {429: "Too many requests", 500: "Internal server error", 503: "Service unavailable"}
        error = ServiceError(fault.status, messages.get(fault.status, "Simulated failure"), headers=headers)
        await error_response(ctx, error)(scope, receive, send)
        return True
