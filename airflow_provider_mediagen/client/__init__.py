"""Typed sync and async clients of the services, built on the catalog. Imports nothing of Airflow.

    from airflow_provider_mediagen.client import MediaClient
    with MediaClient(service, api_key) as client:  # service: a name in catalog.SERVICES
        job = client.submit_and_wait("image", prompt="a lighthouse at dusk")
"""

from __future__ import annotations

from .aio import AsyncMediaClient
from .errors import (
    AuthenticationError,
    BadRequestError,
    CreditsExhaustedError,
    JobFailedError,
    JobTimeoutError,
    MediaGenError,
    NotFoundError,
    PlanError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    SubmissionUncertainError,
    TransportError,
    UnsupportedOperationError,
    ValidationError,
)
from .core import AccountStatus
from .sync import MediaClient

__all__ = [
    "AccountStatus",
    "AsyncMediaClient",
    "AuthenticationError",
    "BadRequestError",
    "CreditsExhaustedError",
    "JobFailedError",
    "JobTimeoutError",
    "MediaClient",
    "MediaGenError",
    "NotFoundError",
    "PlanError",
    "ProtocolError",
    "RateLimitedError",
    "ServerError",
    "SubmissionUncertainError",
    "TransportError",
    "UnsupportedOperationError",
    "ValidationError",
]
