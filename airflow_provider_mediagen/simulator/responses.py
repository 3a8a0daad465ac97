"""Response faults (``faults.py``): the handler has run, only its answer is altered on the way out.

They are applied by wrapping the ASGI ``send`` the handler answers through, so the handler itself
knows nothing about them and every side effect (job created, credits charged, webhooks scheduled)
has really happened when the answer is lost or changed:

- ``lose_response``: at the status line the connection is aborted and everything the handler sends
  is thrown away;
- ``unknown_status`` / ``wrong_shape``: a JSON answer is held until complete, rewritten, and sent
  with a corrected ``Content-Length``. Other answers (the SSE stream, files) pass unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import Message, Scope, Send

from .connection import abort_connection
from .faults import DEFAULT_UNKNOWN_STATUS, FaultRule
from .jobs import TERMINAL


def _status_holder(body: Any, job_id: str | None = None) -> dict[str, Any] | None:
    """The one job object whose ``status`` ``unknown_status`` replaces, or None.

    A job object is a dict with a ``status``; Apex wraps answers in ``{"data": ...}``. In a list the
    first item that is not terminal is chosen (a client acting on it is the interesting case), else
    the first.
    """
    if isinstance(body, dict):
        if "status" in body:
            return body if job_id is None or _job_id_of(body) == job_id else None
        if "data" in body:
            return _status_holder(body["data"], job_id)
        return None
    if isinstance(body, list):
        items = [item for item in body if isinstance(item, dict) and "status" in item]
        if job_id is not None:
            return next((item for item in items if _job_id_of(item) == job_id), None)
        if not items:
            return None
        return next((item for item in items if item["status"] not in TERMINAL), items[0])
    return None


def _job_id_of(item: dict[str, Any]) -> str | None:
    value = next((item[k] for k in ("id", "jobId", "job_id", "uid") if item.get(k) is not None), None)
    return None if value is None else str(value)


def with_unknown_status(body: Any, value: str, job_id: str | None = None) -> Any:
    """``body`` with exactly one job's status replaced by ``value`` (unchanged if it has none): the
    rule's ``job_id`` if it names one (unchanged if that job is not in the answer)."""
    holder = _status_holder(body, job_id)
    if holder is not None:
        holder["status"] = value
    return body


def with_wrong_shape(body: Any) -> Any:
    """Valid JSON of the wrong shape: the original answer one level down."""
    return {"result": body}


def _dumps(body: Any) -> bytes:
    """Serialised as Starlette's ``JSONResponse`` does, so only the content differs."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def _is_json(start: Message) -> bool:
    for key, value in start.get("headers", []):
        if key.lower() == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"application/json")
    return False


class ResponseFaultSend:
    """An ASGI ``send`` applying one response fault before passing messages to ``send``.

    ``on_lost`` is called once when ``lose_response`` throws an answer away (the gateway counts it).
    """

    def __init__(self, rule: FaultRule, scope: Scope, send: Send, on_lost: Callable[[], None]) -> None:
        self.rule = rule
        self.scope = scope
        self.downstream = send
        self.on_lost = on_lost
        self._mode: str | None = None  # "lost", "pass" or "hold", set at the status line
        self._start: Message | None = None
        self._chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._on_start(message)
            return
        if self._mode == "lost":
            return
        if self._mode == "hold" and message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush()
            return
        await self.downstream(message)

    async def _on_start(self, message: Message) -> None:
        if self.rule.fault == "lose_response":
            self._mode = "lost"
            self.on_lost()
            if not await abort_connection(self.scope):
                raise ConnectionAbortedError("simulated lost response")
            return
        if _is_json(message):
            self._mode, self._start = "hold", message
            return
        self._mode = "pass"
        await self.downstream(message)

    async def _flush(self) -> None:
        assert self._start is not None
        raw = b"".join(self._chunks)
        try:
            body = json.loads(raw)
        except ValueError:
            new = raw  # not JSON after all: nothing to rewrite
        else:
            if self.rule.fault == "unknown_status":
                body = with_unknown_status(body, self.rule.value or DEFAULT_UNKNOWN_STATUS, self.rule.job_id)
            else:
                body = with_wrong_shape(body)
            new = _dumps(body)
        headers = [(k, v) for k, v in self._start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(new)).encode()))
        await self.downstream({**self._start, "headers": headers})
        await self.downstream({"type": "http.response.body", "body": new, "more_body": False})
