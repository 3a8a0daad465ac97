"""The declarative catalog of the services: pure data and pydantic models.

``SERVICES`` maps a service name to its :class:`~.model.Service`, in listing order. Adding a service
means adding a module here that defines ``SERVICE``: modules are discovered, and nothing above this
layer changes.
This package imports nothing of Airflow, the client or the simulator.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from types import MappingProxyType

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


def _discover() -> dict[str, Service]:
    """Every module of this package that declares a ``SERVICE``, in the services' listing order."""
    found = [getattr(import_module(f"{__name__}.{module.name}"), "SERVICE", None)
             for module in pkgutil.iter_modules(__path__)]
    services = sorted((s for s in found if isinstance(s, Service)), key=lambda s: (s.listed, s.name))
    return {s.name: s for s in services}


SERVICES: MappingProxyType[str, Service] = MappingProxyType(_discover())


def get_service(name: str) -> Service:
    try:
        return SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r} (known: {', '.join(SERVICES)})") from None


__all__ = [
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
