"""Assemble the ASGI application: three services, the control API and the file server on one app.

Mounting layout (paths below each prefix are exactly as documented):

- ``/ddukddak/v1/...``  Ddukddak      - ``/apex/...``     Apex Studio
- ``/facedub/...``      FaceDub       - ``/_sim/...``     control API
- ``/_files/...``       signed output files

The services are routers of a single app (not sub-apps) so they share one lifespan, which runs the
job ticker and owns the webhook client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from .config import SimulatorConfig
from .control import router as control_router
from .errors import ServiceError
from .counters import ANONYMOUS
from .files import FileStore, StoredFile, files_router
from .gateway import Gateway, error_response
from .registry import registered
from .service import RequestContext
from .state import SimState


class SimulatorApp(FastAPI):
    """A FastAPI app that remembers the server's raw ``send`` in the scope.

    The ``drop`` fault needs it to reach the connection's transport; Starlette's middleware stack
    wraps ``send`` before any middleware of ours could see the original.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["sim.raw_send"] = send
        await super().__call__(scope, receive, send)


def _service_error_handlers(app: FastAPI) -> None:
    """Render errors of service paths in the service's own shape."""

    def ctx_of(request: Request) -> RequestContext | None:
        return request.scope.get("sim.ctx")

    @app.exception_handler(ServiceError)
    async def on_service_error(request: Request, exc: ServiceError) -> Response:
        ctx = ctx_of(request)
        if ctx is None:
            return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)
        return error_response(ctx, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        error = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid request"}
        loc = ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path")) or "body"
        service_error = ServiceError(400, f"{loc}: {error['msg']}")
        ctx = ctx_of(request)
        if ctx is None:
            return JSONResponse({"detail": service_error.message}, status_code=400)
        return error_response(ctx, service_error)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        ctx = ctx_of(request)
        if ctx is None:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return error_response(ctx, ServiceError(exc.status_code, str(exc.detail)))


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """A fresh simulator app with its own state (several may coexist in one process)."""
    config = config or SimulatorConfig()
    state = SimState(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ticker = asyncio.get_running_loop().create_task(state.jobs.run_ticker())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await state.webhooks.close()

    app = SimulatorApp(
        title="mediagen simulator",
        description="Local simulator of " + ", ".join(sim.title for sim in registered().values()),
        lifespan=lifespan,
        docs_url="/_sim/docs",
        openapi_url="/_sim/openapi.json",
        redoc_url=None,
    )
    app.state.sim = state
    for sim in registered().values():
        service = sim.service(state)
        state.services[service.name] = service
        app.include_router(sim.router, prefix=service.prefix, include_in_schema=True, tags=[service.name])
    app.include_router(control_router, tags=["simulator control"])
    for sim in registered().values():
        if sim.control is not None:
            app.include_router(sim.control, tags=["simulator control"])

    def file_store(request: Request) -> FileStore:
        return request.app.state.sim.files

    def download_fault(request: Request, stored: StoredFile) -> str | None:
        """``truncate`` / ``expire_url`` for this download, counted under the file's job account."""
        if stored.service is None:
            return None
        sim: SimState = request.app.state.sim
        account = stored.account or ANONYMOUS
        rule = sim.faults.download_fault(stored.service, account, with_body=request.method == "GET")
        if rule is None:
            return None
        sim.counters.fault(stored.service, account, "downloads_truncated" if rule.fault == "truncate" else "urls_expired")
        return rule.fault

    app.include_router(files_router(file_store, download_fault), include_in_schema=False)
    app.add_middleware(Gateway)
    _service_error_handlers(app)
    return app
