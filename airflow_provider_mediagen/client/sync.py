"""The synchronous client: for workers, scripts and anything outside an event loop."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import IO, Any

import httpx
from httpx_sse import connect_sse
from tenacity import Retrying

from ..catalog import Job, RequestModel, Service
from . import errors
from .core import _MAX_REDIRECTS, AccountStatus, ClientCore
from .downloads import DownloadBudget, DownloadSink
from .protocol import PreparedCall
from .uploads import open_uploads
from .urlguard import check_url

__all__ = ["MediaClient"]

log = logging.getLogger("airflow_provider_mediagen.client")


class MediaClient(ClientCore):
    """A client of one service of the catalog (any name in ``catalog.SERVICES``)::

        with MediaClient(service, api_key, base_url=...) as client:
            job = client.submit_and_wait("image", prompt="a lighthouse at dusk")
            client.download(job.output_urls[0], "lighthouse.png")
    """

    def __init__(self, service: str | Service, api_key: str, *, transport: httpx.BaseTransport | None = None,
                 **options: Any) -> None:
        super().__init__(service, api_key, **options)
        self._http = httpx.Client(transport=transport, **self._client_kwargs())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MediaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one call, with rate limiting and retries -----------------------------------------------

    def send(self, call: PreparedCall) -> Any:
        positions = self._positions(call)
        for attempt in Retrying(**self._retry_kwargs(call)):
            with attempt:
                self._rewind(call, positions)
                if self._limits:
                    self._limits.acquire(call.endpoint.rate_limit)
                try:
                    response = self._http.request(call.method, call.url, **self._request_kwargs(call))
                except httpx.TransportError as exc:
                    raise self.protocol.transport_error(call, exc) from None
                return self.protocol.read(call, response)

    def call(self, endpoint: str, body: Mapping[str, Any] | RequestModel | None = None, *,
             query: Mapping[str, Any] | None = None, files: Mapping[str, Any] | None = None,
             **path: str) -> Any:
        """Call any catalog endpoint by name; returns the parsed answer (envelope removed)."""
        spec = self.service.endpoint(endpoint)
        call = self.protocol.prepare(endpoint, body, query=query, path=path)  # fields first, then files
        with ExitStack() as stack:
            if spec.files:
                call.files = open_uploads(spec.files, dict(files or {}), stack, service=self.service.name,
                                          endpoint=spec.key)
            return self.send(call)

    # --- jobs -----------------------------------------------------------------------------------

    def submit(self, kind: str, request: Mapping[str, Any] | RequestModel | None = None, **fields: Any) -> Job:
        """Validate and submit one generation; returns the job as first reported (never retried
        once the service may have received it)."""
        endpoint, body, files = self._split_fields(kind, request, fields)
        return self._job(kind, self.call(endpoint, body, files=files))

    def get_job(self, kind: str, job_id: str) -> Job:
        call = self.protocol.status_call(kind, job_id)
        return self._job(kind, self.send(call), call)

    def list_jobs(self, kind: str | None = None, *,
                  problems: dict[str, errors.MediaGenError] | None = None) -> list[Job]:
        call, list_kind = self.protocol.list_call(kind)
        return self._jobs(list_kind, self.send(call), call, problems)

    def wait(self, kind: str, job_id: str, *, timeout: float = 3600.0, poll_interval: float | None = None,
             on_update: Callable[[Job], None] | None = None) -> Job:
        """Poll until the job is finished or ``timeout`` seconds have passed (then
        :class:`JobTimeoutError`)."""
        interval = poll_interval or self.protocol.default_poll_interval(kind)
        started = time.monotonic()
        job: Job | None = None
        seen = False
        while True:
            try:
                job = self.get_job(kind, job_id)
            except errors.NotFoundError as exc:
                if not errors.is_read_lag(exc, seen, started):
                    raise
                time.sleep(min(interval, 1.0))  # acknowledged a moment ago: storage lag
                continue
            seen = True
            if on_update:
                on_update(job)
            if job.terminal:
                return job
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise self._timeout_error(kind, job, job_id, timeout)
            time.sleep(min(interval, left))

    def submit_and_wait(self, kind: str, request: Mapping[str, Any] | RequestModel | None = None, *,
                        timeout: float = 3600.0, poll_interval: float | None = None,
                        raise_on_failure: bool = True, **fields: Any) -> Job:
        job = self.submit(kind, request, **fields)
        if not job.terminal:
            job = self.wait(kind, job.id, timeout=timeout, poll_interval=poll_interval)
        if raise_on_failure and not job.succeeded:
            raise self._failed_error(job)
        return job

    def stream_job(self, job_id: str, token: str, kind: str = "video") -> Iterator[Job]:
        """Status updates from the service's SSE stream (``token`` is the JWT the service issues for it,
        not the key)."""
        call = self._stream_call(kind, job_id, token)
        if self._limits:
            self._limits.acquire(call.endpoint.rate_limit)
        try:
            with connect_sse(self._http, "GET", call.url, params=call.params, auth=None,
                             timeout=httpx.Timeout(self.timeout, read=None)) as source:
                if not source.response.is_success:
                    source.response.read()
                    raise self.protocol.error_from(call, source.response)
                for event in source.iter_sse():
                    if event.data:
                        yield self._job(kind, event.json(), call)
        except httpx.TransportError as exc:
            raise self.protocol.transport_error(call, exc) from None

    # --- account --------------------------------------------------------------------------------

    def check(self) -> Any:
        """The cheapest documented read that proves the key works (the catalog's ``check_endpoint``)."""
        return self.call(self._check_call())

    def usage(self) -> Any:
        return self.call(self._usage_endpoint())

    def balance(self) -> float:
        return self._balance(self.usage())

    def account(self) -> AccountStatus:
        """Balance and plan from one usage read (the credits ledger's "accounts now")."""
        return self._account(self.usage())

    # --- outputs --------------------------------------------------------------------------------

    def download(self, url: str, destination: str | os.PathLike[str] | IO[bytes] | DownloadSink, *,
                 chunk_size: int | None = None) -> int:
        """Stream an output file to a path, binary file or :class:`DownloadSink`; returns the byte count.

        The URL comes from a peer, so it is checked first (:mod:`.urlguard`: https, public addresses) and so
        is every redirect. A path is written to a temporary file beside it and renamed into place only when
        complete; a failed download leaves nothing. Each retry starts the file again from zero. The API
        key is never sent: output URLs are signed storage URLs on another host.

        The body is written as the network delivers it, so the size cap and the deadline act on every
        read; ``chunk_size`` re-chunks it (the limits then act once per chunk)."""
        budget = self._download_budget()
        sink = self._sink(destination)
        try:
            for attempt in Retrying(**self._download_retry_kwargs(budget)):
                with attempt:
                    return self._download_once(url, sink, budget, attempt.retry_state.attempt_number, chunk_size)
        except BaseException:
            sink.discard()
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _download_once(self, url: str, sink: DownloadSink, budget: DownloadBudget, attempt: int,
                       chunk_size: int | None) -> int:
        """One attempt: each hop checked before it is requested, the body counted as it is written."""
        for _hop in range(_MAX_REDIRECTS + 1):
            checked = check_url(url, self.base_url, service=self.service.name)
            try:
                with self._http.stream(**self._download_request(checked, attempt, budget)) as response:
                    if (location := self._download_redirect(response, url)) is not None:
                        url = location
                        continue
                    progress = self._download_progress(response, checked.host, budget)
                    handle = sink.begin()
                    for chunk in response.iter_bytes(chunk_size):
                        progress.add(len(chunk))
                        handle.write(chunk)
                    progress.finish()
            except httpx.TransportError as exc:
                raise self._download_transport_error(exc, budget) from None
            sink.commit()
            return progress.size
        raise self._too_many_redirects()
