"""The declarative catalog of the services: pure data and pydantic models.

``SERVICES`` maps a service name to its :class:`~.model.Service`, in listing order. Adding a service
means adding a module here that defines ``SERVICE`` (modules are discovered), or shipping one in another
distribution that names its ``SERVICE`` under the ``airflow_provider_mediagen.catalog`` entry point group;
nothing above this layer changes.
This package imports nothing of Airflow, the client or the simulator.
"""

from __future__ import annotations

from types import MappingProxyType

from ..discovery import discover

from .model import (
    Completion,
    CreditCost,
    Endpoint,
    FileRule,
    Job,
    JobKind,
    JobShape,
    NormalizedStatus,
    RateLimit,
    RequestModel,
    ResponseModel,
    Service,
    UnknownStatusError,
    WebhookEnvelope,
)


#: Entry point group of services shipped outside this package (each entry point names a ``Service``).
ENTRY_POINT_GROUP = "airflow_provider_mediagen.catalog"


def _discover() -> dict[str, Service]:
    """Every module of this package that declares a ``SERVICE``, then every service registered under
    :data:`ENTRY_POINT_GROUP`, in the services' listing order."""
    import sys

    found = discover(sys.modules[__name__], "SERVICE", Service, ENTRY_POINT_GROUP, noun="service",
                     described="a catalog Service")
    return {service.name: service for service in found}


SERVICES: MappingProxyType[str, Service] = MappingProxyType(_discover())


def get_service(name: str) -> Service:
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r} (known: {', '.join(SERVICES)})") from None


__all__ = [
    "ENTRY_POINT_GROUP",
    "SERVICES",
    "Completion",
    "CreditCost",
    "Endpoint",
    "FileRule",
    "Job",
    "JobKind",
    "JobShape",
    "NormalizedStatus",
    "RateLimit",
    "RequestModel",
    "ResponseModel",
    "Service",
    "UnknownStatusError",
    "WebhookEnvelope",
    "get_service",
]
