"""Output files: registered when a job finishes, generated on first download, served signed.

A URL is ``{base}/_files/{file_id}/{filename}?expires=<unix>&sig=<hex>`` where ``sig`` is an
HMAC-SHA256 over the path and expiry with a secret of this simulator instance. A wrong signature or
an expired URL answers 403 (like a CDN's signed URL); an unknown file 404. URLs live
``file_url_ttl`` real seconds (24 h by default; not time-scaled).

Generation is lazy because most tests never download, and cached because clients retry downloads.
It runs in a worker thread so a long video encode does not stall the event loop.

Download faults (``faults.py``) are decided by the ``fault_of`` callback the app passes, only for a
download that would otherwise succeed: ``expire_url`` answers the expired-URL 403, ``truncate``
sends the headers with the full ``Content-Length``, about half of the bytes, and aborts the
connection. Each file knows the service and account of the job that made it, which rules match on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from .connection import abort_connection

#: What ``fault_of`` may answer for a download: ``"truncate"``, ``"expire_url"`` or None.
DownloadFault = Callable[[Request, "StoredFile"], str | None]


@dataclass
class StoredFile:
    file_id: str
    filename: str
    content_type: str
    make: Callable[[], bytes]
    service: str | None = None
    account: str | None = None
    data: bytes | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def url_path(self) -> str:
        return f"/_files/{self.file_id}/{self.filename}"

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.data).hexdigest() if self.data is not None else None


class FileStore:
    """Registry of output files and signer of their URLs."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._secret = secrets.token_bytes(32)
        self._files: dict[str, StoredFile] = {}

    def clear(self) -> None:
        self._files.clear()

    def register(
        self,
        filename: str,
        content_type: str,
        make: Callable[[], bytes],
        *,
        service: str | None = None,
        account: str | None = None,
    ) -> str:
        file_id = secrets.token_hex(8)
        self._files[file_id] = StoredFile(file_id, filename, content_type, make, service, account)
        return file_id

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def count(self) -> int:
        return len(self._files)

    def _sign(self, file_id: str, filename: str, expires: int) -> str:
        message = f"{file_id}/{filename}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, file_id: str) -> str:
        stored = self._files[file_id]
        expires = int(time.time() + self.ttl)
        sig = self._sign(file_id, stored.filename, expires)
        return f"{base_url}/_files/{file_id}/{stored.filename}?expires={expires}&sig={sig}"

    def check(self, file_id: str, filename: str, expires: str | None, sig: str | None) -> int:
        """HTTP status for a download request: 200, 403 (bad or expired signature) or 404."""
        stored = self._files.get(file_id)
        if stored is None or stored.filename != filename:
            return 404
        if not expires or not sig or not expires.isdigit():
            return 403
        if not hmac.compare_digest(self._sign(file_id, filename, int(expires)), sig):
            return 403
        return 403 if int(expires) < time.time() else 200

    async def content(self, file_id: str) -> StoredFile:
        stored = self._files[file_id]
        async with stored.lock:
            if stored.data is None:
                stored.data = await asyncio.to_thread(stored.make)
        return stored


class TruncatedResponse(Response):
    """Status line and headers as for the whole body, then about half of it, then an aborted
    connection: what a client sees when a CDN connection breaks mid-download."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        if not await abort_connection(scope, drain=True):
            raise ConnectionAbortedError("simulated truncated download")


def _expired() -> Response:
    return JSONResponse({"error": "Signature invalid or expired"}, status_code=403)


def files_router(store_of: Callable[[Request], FileStore], fault_of: DownloadFault | None = None) -> APIRouter:
    """Routes under ``/_files`` serving the store found by ``store_of``; ``fault_of`` decides
    download faults (none when not given)."""
    router = APIRouter()

    @router.api_route("/_files/{file_id}/{filename}", methods=["GET", "HEAD"])
    async def download(request: Request, file_id: str, filename: str) -> Response:
        store = store_of(request)
        status = store.check(file_id, filename, request.query_params.get("expires"), request.query_params.get("sig"))
        if status == 404:
            return JSONResponse({"error": "Not found"}, status_code=404)
        if status == 403:
            return _expired()
        stored = await store.content(file_id)
        assert stored.data is not None
        fault = fault_of(request, stored) if fault_of is not None else None
        if fault == "expire_url":
            return _expired()
        body = b"" if request.method == "HEAD" else stored.data
        response_class = TruncatedResponse if fault == "truncate" and body else Response
        return response_class(
            body,
            media_type=stored.content_type,
            headers={"Content-Length": str(len(stored.data)), "Cache-Control": "private, max-age=86400"},
        )

    return router
