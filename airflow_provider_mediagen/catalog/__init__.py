"""The declarative catalog of the services: pure data and pydantic models.

``SERVICES`` maps a service name to its :class:`~.model.Service`. Adding a service means adding a
module here that defines ``SERVICE`` and naming it in ``_MODULES``; nothing above this layer changes.
This package imports nothing of Airflow, the client or the simulator.
"""

from __future__ import annotations

from importlib import import_module
from types import MappingProxyType

from .model import (
    Completion,
    CreditCost,
    Endpoint,
    FileRule,
    Job,
    JobKind,
    NormalizedStatus,
    RateLimit,
    RequestModel,
    ResponseModel,
    Service,
    UnknownStatusError,
)

_MODULES = ("ddukddak", "apex", "facedub")

SERVICES: MappingProxyType[str, Service] = MappingProxyType(
    {name: import_module(f"{__name__}.{name}").SERVICE for name in _MODULES}
)


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
    "NormalizedStatus",
    "RateLimit",
    "RequestModel",
    "ResponseModel",
    "Service",
    "UnknownStatusError",
    "get_service",
]
