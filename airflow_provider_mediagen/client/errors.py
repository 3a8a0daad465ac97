"""Typed errors: what went wrong, where, and whether trying again can help.

Every error carries the service, the endpoint (``METHOD /documented/path``), the HTTP status, the
service's own code and message, and the job id where known. None of them ever carries the API key: the
client scrubs its secrets from any text a service sends back before it lands in an error.
"""

from __future__ import annotations

import time

from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CreditsExhaustedError",
    "DownloadLimitError",
    "ExpiredURLError",
    "JobFailedError",
    "JobTimeoutError",
    "MediaGenError",
    "NotFoundError",
    "PlanError",
    "ProtocolError",
    "RateLimitedError",
    "ServerError",
    "SubmissionUncertainError",
    "TransportError",
    "UnsafeURLError",
    "UnsupportedOperationError",
    "ValidationError",
    "error_for_status",
]


class MediaGenError(Exception):
    """Base of every error this package raises about a service call."""

    #: Whether the same call may succeed later without any change (a transient failure).
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        endpoint: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        job_id: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.endpoint = endpoint
        self.status_code = status_code
        self.code = code
        self.job_id = job_id
        self.field = field

    def __str__(self) -> str:
        where = " ".join(p for p in (self.service, self.endpoint) if p)
        parts = [f"{where}: " if where else ""]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code} ")
        if self.code:
            parts.append(f"[{self.code}] ")
        parts.append(self.message)
        if self.job_id:
            parts.append(f" (job {self.job_id})")
        return "".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the keyword fields through pickling (Airflow ships exceptions between processes).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[MediaGenError], message: str, state: dict[str, Any]) -> MediaGenError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ValidationError(MediaGenError, ValueError):
    """The request breaks a documented rule; found before anything was sent, so it cost nothing."""


class BadRequestError(MediaGenError):
    """400: the service refused the parameters."""


class AuthenticationError(MediaGenError):
    """401: the API key (or the JWT of a status stream) is missing, invalid or revoked."""


class CreditsExhaustedError(MediaGenError):
    """402: the account has no credits left for this call."""


class PlanError(MediaGenError):
    """403: the account's plan does not include this feature (or the account is suspended)."""


class NotFoundError(MediaGenError):
    """404: the job, template or key does not exist (or is not yours)."""


#: Real seconds (never scaled: storage lag is wall-clock) during which a job the service has just
#: acknowledged may still read as 404 on an eventually consistent store. Waits read such a job again
#: instead of failing; after this long a 404 means what it says.
READ_LAG_GRACE = 10.0


def is_read_lag(exc: BaseException, seen: bool, waiting_since: float) -> bool:
    """Whether ``exc`` is a 404 for a job not yet seen by a wait that began ``waiting_since``
    (``time.monotonic()``) less than :data:`READ_LAG_GRACE` ago."""
    return isinstance(exc, NotFoundError) and not seen and time.monotonic() - waiting_since < READ_LAG_GRACE


class RateLimitedError(MediaGenError):
    """429: too many requests (or, where a service counts them so, too many concurrent jobs)."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(MediaGenError):
    """5xx: the service failed. 503 and reads are worth retrying; a failed POST may have created a job."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class TransportError(MediaGenError):
    """The connection failed or timed out before an answer came."""

    transient = True


class ProtocolError(MediaGenError):
    """The answer was not what the docs promise (malformed JSON, missing fields, unknown status)."""

    transient = True


class SubmissionUncertainError(MediaGenError):
    """A generation request may have reached the service, but no answer says so.

    It is not retried, because a second submission could charge twice. Look the job up (list
    endpoints, the service dashboard) before submitting again.
    """


class UnsupportedOperationError(MediaGenError):
    """The service does not document a way to do this (e.g. poll a kind that completes by webhook only)."""


class JobFailedError(MediaGenError):
    """The job reached the service's failed status."""


class JobTimeoutError(MediaGenError):
    """The job did not finish before the deadline; it may still finish at the service."""

    transient = True


class UnsafeURLError(MediaGenError):
    """An output URL (from a service answer or a webhook: a network peer) breaks the fetch policy: not
    https, or its host resolves to a private, loopback, link-local (cloud metadata), multicast or reserved
    address. Raised before any request; final, since the same URL will never become safe. The message names
    the host and the rule, never the path or query, where signed URLs carry their signature."""


class ExpiredURLError(MediaGenError):
    """403 from the file host: the signed output URL expired (or its signature is no longer valid).

    Retrying the same URL cannot help; re-reading the job gives fresh URLs. Not a :class:`PlanError`: the
    storage host knows nothing of plans."""


class DownloadLimitError(MediaGenError):
    """A download broke the client's ``max_download_bytes`` or ``download_timeout``; nothing was kept.

    ``limit`` is ``"size"`` or ``"time"``."""

    def __init__(self, message: str, *, limit: str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.limit = limit


_BY_STATUS: dict[int, type[MediaGenError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: CreditsExhaustedError,
    403: PlanError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitedError,
}


def error_for_status(status_code: int) -> type[MediaGenError]:
    """The error class for an HTTP error status."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return ServerError
    return BadRequestError if 400 <= status_code < 500 else ProtocolError
