"""A round-robin HTTP load balancer on loopback, in front of several Airflow API servers.

Why: production runs API servers behind a balancer, so one job's webhook deliveries land on different
servers and the receiver's shared store (the metadata DB) is what joins them. A balancer per request
(not per TCP connection: the simulator keeps its connections alive) shows that in the production-shaped
test and ``mediagen demo --production``. Requests are buffered whole: webhook deliveries and
Execution API calls are small.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

from .stack import free_port

__all__ = ["RoundRobinBalancer"]

_HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"upgrade",
               b"proxy-connection", b"te", b"trailer"}


class RoundRobinBalancer:
    """Each request to ``url`` goes to the next of ``targets`` in turn; ``counts`` says how many each got."""

    def __init__(self, targets: Sequence[str], *, host: str = "127.0.0.1", port: int | None = None) -> None:
        if not targets:
            raise ValueError("a balancer needs at least one target")
        self.targets = [t.rstrip("/") for t in targets]
        self.host = host
        self.port = port or free_port(host)
        self.counts: Counter[str] = Counter()
        self._next = itertools.cycle(self.targets)
        self._http: httpx.AsyncClient | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = next(self._next)
        self.counts[target] += 1
        query = scope.get("query_string", b"").decode()
        url = target + scope["path"] + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=60.0)
        try:
            answer = await self._http.request(scope["method"], url, headers=headers, content=body)
            status, content = answer.status_code, answer.content
            out = [(k, v) for k, v in answer.headers.raw if k.lower() not in _HOP_BY_HOP | {b"content-encoding"}]
        except httpx.HTTPError as exc:
            status, content, out = 502, f"upstream {target} failed: {type(exc).__name__}".encode(), []
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    def start(self, timeout: float = 20.0) -> RoundRobinBalancer:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self, host=self.host, port=self.port, log_level="warning",
                                                     lifespan="off", access_log=False))
        self._thread = threading.Thread(target=self._server.run, name="mediagen-balancer", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the balancer did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> RoundRobinBalancer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
