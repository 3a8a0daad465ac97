"""The asynchronous client: for triggers and other event-loop code. Same methods as
:class:`~.sync.MediaClient`, awaited; every decision lives in the shared core."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import ExitStack
from typing import IO, Any

import httpx
from httpx_sse import aconnect_sse
from tenacity import AsyncRetrying

from ..catalog import Job, RequestModel, Service
from . import errors, http_pool
from .core import _MAX_REDIRECTS, AccountStatus, ClientCore
from .downloads import DownloadBudget, DownloadSink
from .protocol import PreparedCall
from .uploads import open_uploads
from .urlguard import acheck_url

__all__ = ["AsyncMediaClient"]


class AsyncMediaClient(ClientCore):
    """The async twin of :class:`MediaClient`::

        async with AsyncMediaClient(service, api_key) as client:
            job = await client.get_job("video", job_id)
    """

    def __init__(self, service: str | Service, api_key: str, *,
                 transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:
        super().__init__(service, api_key, **options)
        # Made in a running loop, it leases the loop's shared pool (see ``http_pool``); a client of its
        # own otherwise, or with a transport of the caller's.
        shared = None if transport is not None else http_pool.lease(**self._shared_client_kwargs())
        self._shared = shared is not None
        self._http = shared or httpx.AsyncClient(transport=transport, **self._client_kwargs())
        self._streams: httpx.AsyncClient | None = None  # leased on the first status stream
        self._closed = False

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._streams is not None:
            await http_pool.give_back(self._streams)
        if self._shared:
            await http_pool.give_back(self._http)
        else:
            await self._http.aclose()

    def _stream_http(self) -> httpx.AsyncClient:
        """Streams hold their socket for the job's life: from the loop's stream pool, not the capped
        request pool (with a transport of the caller's, that one)."""
        if not self._shared:
            return self._http
        if self._streams is None:
            self._streams = http_pool.lease("streams", **self._shared_client_kwargs())
        return self._streams or self._http

    def _check_open(self) -> None:
        if self._closed:  # a shared pool stays open for the others: refuse here, as httpx would
            raise RuntimeError(f"{self!r} has been closed")

    async def __aenter__(self) -> AsyncMediaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, call: PreparedCall) -> Any:
        self._check_open()
        positions = self._positions(call)
        async for attempt in AsyncRetrying(**self._retry_kwargs(call)):
            with attempt:
                self._rewind(call, positions)
                if self._limits:
                    await self._limits.acquire_async(call.endpoint.rate_limit)
                try:
                    response = await self._http.request(call.method, call.url, **self._request_kwargs(call))
                except httpx.TransportError as exc:
                    raise self.protocol.transport_error(call, exc) from None
                return self.protocol.read(call, response)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def call(self, endpoint: str, body: Mapping[str, Any] | RequestModel | None = None, *,
                   query: Mapping[str, Any] | None = None, files: Mapping[str, Any] | None = None,
                   **path: str) -> Any:
        spec = self.service.endpoint(endpoint)
        call = self.protocol.prepare(endpoint, body, query=query, path=path)  # fields first, then files
        with ExitStack() as stack:
            if spec.files:
                call.files = open_uploads(spec.files, dict(files or {}), stack, service=self.service.name,
                                          endpoint=spec.key)
            return await self.send(call)

    async def submit(self, kind: str, request: Mapping[str, Any] | RequestModel | None = None,
                     **fields: Any) -> Job:
        endpoint, body, files = self._split_fields(kind, request, fields)
        return self._job(kind, await self.call(endpoint, body, files=files))

    async def get_job(self, kind: str, job_id: str) -> Job:
        call = self.protocol.status_call(kind, job_id)
        return self._job(kind, await self.send(call), call)

    async def list_jobs(self, kind: str | None = None, *,
                        problems: dict[str, errors.MediaGenError] | None = None) -> list[Job]:
        call, list_kind = self.protocol.list_call(kind)
        return self._jobs(list_kind, await self.send(call), call, problems)

    async def wait(self, kind: str, job_id: str, *, timeout: float = 3600.0, poll_interval: float | None = None,
                   on_update: Callable[[Job], None] | None = None) -> Job:
        interval = poll_interval or self.protocol.default_poll_interval(kind)
        started = time.monotonic()
        seen = False
        while True:
            try:
                job = await self.get_job(kind, job_id)
            except errors.NotFoundError as exc:
                if not errors.is_read_lag(exc, seen, started):
                    raise
                await asyncio.sleep(min(interval, 1.0))  # acknowledged a moment ago: storage lag
                continue
            seen = True
            if on_update:
                on_update(job)
            if job.terminal:
                return job
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise self._timeout_error(kind, job, job_id, timeout)
            await asyncio.sleep(min(interval, left))

    async def submit_and_wait(self, kind: str, request: Mapping[str, Any] | RequestModel | None = None, *,
                              timeout: float = 3600.0, poll_interval: float | None = None,
                              raise_on_failure: bool = True, **fields: Any) -> Job:
        job = await self.submit(kind, request, **fields)
        if not job.terminal:
            job = await self.wait(kind, job.id, timeout=timeout, poll_interval=poll_interval)
        if raise_on_failure and not job.succeeded:
            raise self._failed_error(job)
        return job

    async def acquire_share_async(self, class_name: str, share: float) -> None:
        """A poller's draw from its key's pollers' share (see ``RateLimiters.acquire_share_async``)."""
        if self._limits:
            await self._limits.acquire_share_async(class_name, share)

    async def stream_job(self, job_id: str, token: str, kind: str = "video") -> AsyncIterator[Job]:
        self._check_open()
        call = self._stream_call(kind, job_id, token)
        if self._limits:
            await self._limits.acquire_async(call.endpoint.rate_limit)
        try:
            async with aconnect_sse(self._stream_http(), "GET", call.url, params=call.params, auth=None,
                                    timeout=httpx.Timeout(self.timeout, read=None)) as source:
                if not source.response.is_success:
                    await source.response.aread()
                    raise self.protocol.error_from(call, source.response)
                async for event in source.aiter_sse():
                    if event.data:
                        yield self._job(kind, event.json(), call)
        except httpx.TransportError as exc:
            raise self.protocol.transport_error(call, exc) from None

    async def check(self) -> Any:
        return await self.call(self._check_call())

    async def usage(self) -> Any:
        return await self.call(self._usage_endpoint())

    async def balance(self) -> float:
        return self._balance(await self.usage())

    async def account(self) -> AccountStatus:
        """Balance and plan from one usage read (the credits ledger's "accounts now")."""
        return self._account(await self.usage())

    async def download(self, url: str, destination: str | os.PathLike[str] | IO[bytes] | DownloadSink, *,
                       chunk_size: int | None = None) -> int:
        """Stream an output to a path, binary file or :class:`DownloadSink`, with the same URL policy,
        limits and atomic write as :meth:`MediaClient.download`. File writes are small and sequential;
        they run inline."""
        self._check_open()
        budget = self._download_budget()
        sink = self._sink(destination)
        try:
            async for attempt in AsyncRetrying(**self._download_retry_kwargs(budget)):
                with attempt:
                    return await self._download_once(url, sink, budget, attempt.retry_state.attempt_number,
                                                     chunk_size)
        except BaseException:
            sink.discard()
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _download_once(self, url: str, sink: DownloadSink, budget: DownloadBudget, attempt: int,
                             chunk_size: int | None) -> int:
        for _hop in range(_MAX_REDIRECTS + 1):
            checked = await acheck_url(url, self.base_url, service=self.service.name)
            try:
                async with self._http.stream(**self._download_request(checked, attempt, budget)) as response:
                    if (location := self._download_redirect(response, url)) is not None:
                        url = location
                        continue
                    progress = self._download_progress(response, checked.host, budget)
                    handle = sink.begin()
                    async for chunk in response.aiter_bytes(chunk_size):
                        progress.add(len(chunk))
                        handle.write(chunk)
                    progress.finish()
            except httpx.TransportError as exc:
                raise self._download_transport_error(exc, budget) from None
            sink.commit()
            return progress.size
        raise self._too_many_redirects()
