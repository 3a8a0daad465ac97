"""What the sync and the async client share: configuration, auth, retry policy and the decisions that
need no I/O. Each twin only adds the few lines that send, sleep and read in its own way."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import IO, Any

import httpx
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

from .. import __version__
from ..catalog import Endpoint, Job, RequestModel, Service, get_service
from . import errors
from .protocol import PreparedCall, ServiceProtocol
from .ratelimit import RateLimiters, key_fingerprint
from .secrets import Secret, install_log_filter

__all__ = ["ClientCore", "USER_AGENT"]

USER_AGENT = f"airflow-provider-mediagen/{__version__} httpx/{httpx.__version__}"
log = logging.getLogger("airflow_provider_mediagen.client")


_DOWNLOAD = PreparedCall(
    endpoint=Endpoint("download", "GET", "(output URL)", "Download an output file", rate_limit="none"),
    method="GET", url="", auth=False)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs tens of milliseconds, which a triggerer
    making a client per connection would otherwise pay each time, on its event loop."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


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
    longer pause (Apex outbound calls reset hourly) gets a :class:`RateLimitedError` instead.
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
        self._limits = (
            RateLimiters(self.service.name, key_fingerprint(api_key), dict(self.service.rate_limits), time_scale)
            if rate_limit else None
        )
        install_log_filter()

    @property
    def base_url(self) -> str:
        return self.protocol.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service.name!r}, base_url={self.base_url!r})"

    def _client_kwargs(self) -> dict[str, Any]:
        return dict(headers={"User-Agent": USER_AGENT}, timeout=self.timeout, follow_redirects=False,
                    verify=_tls_context())

    def _request_kwargs(self, call: PreparedCall) -> dict[str, Any]:
        return dict(
            params=call.params or None, json=call.json, data=call.data, files=call.files,
            auth=self._auth if call.auth else None,
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

    def _jobs(self, kind: str, results: list[Any], call: PreparedCall) -> list[Job]:
        return [self._job(kind, item, call) for item in results]

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
        data = usage.model_dump(by_alias=True) if hasattr(usage, "model_dump") else usage
        return self.service.balance(data)

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

    def _download_retry_kwargs(self) -> dict[str, Any]:
        return self._retry_kwargs(_DOWNLOAD)

    def _download_error(self, response: httpx.Response) -> errors.MediaGenError:
        cls = errors.error_for_status(response.status_code)
        kw: dict[str, Any] = {"retry_after": self.protocol._retry_after(response)} if cls in (
            errors.RateLimitedError, errors.ServerError) else {}
        return cls(f"download of an output failed ({response.reason_phrase})", service=self.service.name,
                   endpoint="GET output", status_code=response.status_code, **kw)

    def _download_transport_error(self, exc: httpx.TransportError) -> errors.MediaGenError:
        return errors.TransportError(f"download failed: {type(exc).__name__}", service=self.service.name)

    @staticmethod
    @contextmanager
    def _sink(destination: str | os.PathLike[str] | IO[bytes]) -> Iterator[IO[bytes]]:
        if hasattr(destination, "write"):
            if destination.seekable():  # type: ignore[union-attr]
                destination.seek(0)  # type: ignore[union-attr]
                destination.truncate()  # type: ignore[union-attr]
            yield destination  # type: ignore[misc]
            return
        path = os.fspath(destination)  # type: ignore[arg-type]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        partial = path + ".part"
        with open(partial, "wb") as handle:
            yield handle
        os.replace(partial, path)
