"""What the sync and the async client share: configuration, auth, retry policy and the decisions that
need no I/O. Each twin only adds the few lines that send, sleep and read in its own way."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import IO, Any, NamedTuple

import httpx
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

from .. import __version__
from ..catalog import Endpoint, Job, RequestModel, Service, get_service
from . import errors
from .downloads import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DownloadBudget,
    DownloadProgress,
    DownloadSink,
    FileSink,
    StreamSink,
)
from .protocol import PreparedCall, ServiceProtocol
from .ratelimit import RateLimiters, key_fingerprint
from .secrets import Secret, install_log_filter
from .urlguard import CheckedURL

__all__ = ["ClientCore", "DEFAULT_DOWNLOAD_TIMEOUT", "DEFAULT_MAX_DOWNLOAD_BYTES", "DownloadSink", "USER_AGENT"]

USER_AGENT = f"airflow-provider-mediagen/{__version__} httpx/{httpx.__version__}"
log = logging.getLogger("airflow_provider_mediagen.client")


_DOWNLOAD = PreparedCall(
    endpoint=Endpoint("download", "GET", "(output URL)", "Download an output file", rate_limit="none"),
    method="GET", url="", auth=False)

_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs tens of milliseconds, which a triggerer
    making a client per connection would otherwise pay each time, on its event loop."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())



class AccountStatus(NamedTuple):
    """An account as one usage read reports it: credits left and, where the answer names it, the plan."""

    balance: float
    plan: str | None


def _usage_data(usage: Any) -> Mapping[str, Any]:
    return usage.model_dump(by_alias=True) if hasattr(usage, "model_dump") else usage

class _BearerAuth(httpx.Auth):
    """Bearer auth whose repr never shows the key."""

    def __init__(self, secret: Secret) -> None:
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self._secret.get()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(**********)"


class ClientCore:
    """Configuration and I/O-free behaviour of a client of one service.

    ``time_scale`` shrinks the client's rate-limit windows to match a time-scaled simulator; leave it
    at 1.0 against a real service. ``max_retry_wait`` bounds a single wait: a service asking for a
    longer pause (an hourly budget, say) gets a :class:`RateLimitedError` instead.
    ``max_download_bytes`` and ``download_timeout`` bound one output download (its size, and its time
    across every attempt), since the URL and the bytes come from a peer.
    """

    def __init__(
        self,
        service: str | Service,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        max_retry_wait: float = 120.0,
        rate_limit: bool = True,
        time_scale: float = 1.0,
        rate_limit_url: str | None = None,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    ) -> None:
        self.service = get_service(service) if isinstance(service, str) else service
        if not api_key:
            raise errors.ValidationError("an API key is required", service=self.service.name)
        self._key = Secret(api_key)
        self._auth = _BearerAuth(self._key)
        self.protocol = ServiceProtocol(self.service, base_url)
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_retry_wait = max_retry_wait
        self.time_scale = time_scale
        self.max_download_bytes = max_download_bytes
        self.download_timeout = download_timeout
        self._limits = (
            RateLimiters(self.service.name, key_fingerprint(api_key), dict(self.service.rate_limits), time_scale,
                         shared_url=rate_limit_url)
            if rate_limit else None
        )
        install_log_filter()

    @property
    def base_url(self) -> str:
        return self.protocol.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service.name!r}, base_url={self.base_url!r})"

    @staticmethod
    def _shared_client_kwargs() -> dict[str, Any]:
        """The HTTP client settings every connection has in common (nothing of one connection's)."""
        return dict(headers={"User-Agent": USER_AGENT}, follow_redirects=False, verify=_tls_context())

    def _client_kwargs(self) -> dict[str, Any]:
        return dict(self._shared_client_kwargs(), timeout=self.timeout)

    def _request_kwargs(self, call: PreparedCall) -> dict[str, Any]:
        return dict(
            params=call.params or None, json=call.json, data=call.data, files=call.files,
            auth=self._auth if call.auth else None,
            # No limit on waiting for a free socket: that queue is this process's own (a shared pool of
            # thousands of waits), not the service's slowness; connect, read and write keep theirs.
            timeout=httpx.Timeout(self.timeout, pool=None),
        )

    # --- retries --------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.protocol.backoff(state.attempt_number - 1, exc)

    def _retry_kwargs(self, call: PreparedCall) -> dict[str, Any]:
        def retry(exc: BaseException) -> bool:
            if not self.protocol.retryable(call, exc):
                return False
            hint = getattr(exc, "retry_after", None)
            return hint is None or hint <= self.max_retry_wait

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s; retrying in %.2f s (attempt %d of %d)", exc,
                        state.upcoming_sleep, state.attempt_number + 1, self.max_attempts)

        return dict(stop=stop_after_attempt(self.max_attempts), wait=self._wait,
                    retry=retry_if_exception(retry), reraise=True, before_sleep=before_sleep)

    @staticmethod
    def _rewind(call: PreparedCall, positions: dict[str, int]) -> None:
        """Put upload streams back where they started, so a retried multipart body is whole."""
        for name, (_, handle, _) in (call.files or {}).items():
            if name in positions:
                handle.seek(positions[name])

    @staticmethod
    def _positions(call: PreparedCall) -> dict[str, int]:
        return {n: h.tell() for n, (_, h, _) in (call.files or {}).items() if h.seekable()}

    # --- calls ----------------------------------------------------------------------------------

    def _split_fields(
        self, kind: str, request: Mapping[str, Any] | RequestModel | None, fields: Mapping[str, Any]
    ) -> tuple[str, Mapping[str, Any] | RequestModel, dict[str, Any]]:
        """The submit endpoint, its body and its file fields for a job kind."""
        spec = self.service.kind(kind)
        endpoint = self.service.endpoint(spec.submit)
        file_names = {rule.field for rule in endpoint.files}
        body: dict[str, Any] = {}
        if isinstance(request, RequestModel):
            extra = set(fields) - file_names
            if extra:
                raise errors.ValidationError(
                    f"pass either a request model or fields, not both (got {sorted(extra)})",
                    service=self.service.name, endpoint=endpoint.key)
            return spec.submit, request, dict(fields)
        body.update(request or {})
        body.update(fields)
        files = {name: body.pop(name) for name in list(body) if name in file_names}
        return spec.submit, body, files

    def _job(self, kind: str, result: Any, call: PreparedCall | None = None) -> Job:
        return self.protocol.job(kind, result, call)

    def _jobs(self, kind: str, results: list[Any], call: PreparedCall,
              problems: dict[str, errors.MediaGenError] | None = None) -> list[Job]:
        """The readable jobs of a list answer; each unreadable one goes to ``problems`` (by job id)."""
        jobs, bad = self.protocol.jobs(kind, results, call)
        if bad:
            log.warning("%s: %d listed job(s) could not be read (%s); the others are used",
                        self.service.title, len(bad), "; ".join(str(e) for e in bad.values())[:500])
            if problems is not None:
                problems.update(bad)
        return jobs

    def _check_call(self) -> str:
        if not self.service.check_endpoint:
            raise errors.UnsupportedOperationError("no documented endpoint checks a key", service=self.service.name)
        return self.service.check_endpoint

    def _usage_endpoint(self) -> str:
        if not self.service.usage_endpoint or self.service.balance is None:
            raise errors.UnsupportedOperationError(
                f"{self.service.title} documents no endpoint that reports a credit balance",
                service=self.service.name)
        return self.service.usage_endpoint

    def _balance(self, usage: Any) -> float:
        assert self.service.balance is not None
        return self.service.balance(_usage_data(usage))

    def _account(self, usage: Any) -> AccountStatus:
        field = self.service.usage_plan
        plan = _usage_data(usage).get(field) if field else None
        return AccountStatus(balance=self._balance(usage), plan=None if plan is None else str(plan))

    def _stream_call(self, kind: str, job_id: str, token: str) -> PreparedCall:
        spec = self.service.kind(kind)
        if spec.stream is None:
            raise errors.UnsupportedOperationError(f"{self.service.title} {spec.title} jobs have no status stream",
                                                   service=self.service.name, job_id=job_id)
        Secret(token)  # registered so logs and errors mask it
        endpoint = self.service.endpoint(spec.stream)
        (param,) = endpoint.path_params
        call = self.protocol.prepare(spec.stream, path={param: job_id})
        call.params = {"token": token}
        return call

    def _timeout_error(self, kind: str, job: Job | None, job_id: str, waited: float) -> errors.JobTimeoutError:
        state = f"last status {job.raw_status}" + (f", stage {job.stage}" if job and job.stage else "") if job else "no status read"
        return errors.JobTimeoutError(
            f"{self.service.title} {kind} job {job_id} did not finish within {waited:.0f} s ({state}); "
            "it may still finish at the service",
            service=self.service.name, job_id=job_id)

    @staticmethod
    def _failed_error(job: Job) -> errors.JobFailedError:
        return errors.JobFailedError(f"{job.kind} job failed: {job.error or job.raw_status}",
                                     service=job.service, job_id=job.id)

    # --- downloads (the twins add only the sending and reading) ---------------------------------

    def _download_budget(self) -> DownloadBudget:
        return DownloadBudget(self.download_timeout, self.service.name)

    def _download_retry_kwargs(self, budget: DownloadBudget | None = None) -> dict[str, Any]:
        """The read retry policy, with each wait cut to what is left of the download's deadline: the
        attempt after the deadline raises :class:`DownloadLimitError` instead of starting."""
        kwargs = self._retry_kwargs(_DOWNLOAD)
        if budget is not None:
            wait = kwargs["wait"]
            kwargs["wait"] = lambda state: max(0.0, min(wait(state), budget.remaining()))
        return kwargs

    def _download_request(self, checked: CheckedURL, attempt: int, budget: DownloadBudget) -> dict[str, Any]:
        """Keyword arguments of ``stream()`` for one hop: pinned to an approved address, never the API key,
        no redirects followed by httpx (the twins check each hop), no compression (the size cap counts the
        bytes that reach the file), and no read waiting past the deadline."""
        budget.check()
        url, headers, extensions = checked.request(attempt)
        return dict(method="GET", url=url, headers={**headers, "Accept-Encoding": "identity"},
                    extensions=extensions, timeout=budget.timeout(self.timeout), auth=None,
                    follow_redirects=False)

    @staticmethod
    def _download_redirect(response: httpx.Response, url: str) -> str | None:
        """The absolute URL a redirect points to (to be checked like the first), or ``None``."""
        location = response.headers.get("location")
        if response.status_code not in _REDIRECT_STATUSES or not location:
            return None
        return str(httpx.URL(url).join(location))

    def _too_many_redirects(self) -> errors.UnsafeURLError:
        return errors.UnsafeURLError(f"download of an output was redirected more than {_MAX_REDIRECTS} times",
                                     service=self.service.name, endpoint="GET output")

    def _download_progress(self, response: httpx.Response, host: str, budget: DownloadBudget) -> DownloadProgress:
        """Checks the answer before a byte is written: an error status, or a Content-Length over the cap."""
        if not response.is_success:
            raise self._download_error(response, host)
        progress = DownloadProgress(response, self.max_download_bytes, budget, self.service.name)
        progress.check_declared()
        return progress

    def _download_error(self, response: httpx.Response, host: str | None = None) -> errors.MediaGenError:
        where = f" from {host!r}" if host else ""
        if response.status_code == 403:
            return errors.ExpiredURLError(
                f"the file host{f' {host!r}' if host else ''} refused the output URL: its signature expired or "
                "is no longer valid; re-read the job for fresh output URLs", service=self.service.name,
                endpoint="GET output", status_code=403)
        cls = errors.error_for_status(response.status_code)
        kw: dict[str, Any] = {"retry_after": self.protocol._retry_after(response)} if cls in (
            errors.RateLimitedError, errors.ServerError) else {}
        return cls(f"download of an output{where} failed ({response.reason_phrase})", service=self.service.name,
                   endpoint="GET output", status_code=response.status_code, **kw)

    def _download_transport_error(self, exc: httpx.TransportError,
                                  budget: DownloadBudget | None = None) -> errors.MediaGenError:
        if budget is not None and budget.remaining() <= 0:
            return budget.exceeded()
        return errors.TransportError(f"download failed: {type(exc).__name__}", service=self.service.name)

    @staticmethod
    def _sink(destination: str | os.PathLike[str] | IO[bytes] | DownloadSink) -> DownloadSink:
        """Where a download writes: a :class:`DownloadSink` as given, a binary file object, or a path
        (written atomically through a temporary file beside it)."""
        if all(hasattr(destination, name) for name in ("begin", "commit", "discard")):
            return destination  # type: ignore[return-value]
        if hasattr(destination, "write"):
            return StreamSink(destination)  # type: ignore[arg-type]
        return FileSink(destination)  # type: ignore[arg-type]
