"""The declarative catalog of the services: pure data and pydantic models.

``SERVICES`` maps a service name to its :class:`~.model.Service`, in listing order. Adding a service
means adding a module here that defines ``SERVICE`` (modules are discovered), or shipping one in another
distribution that names its ``SERVICE`` under the ``airflow_provider_mediagen.catalog`` entry point group;
nothing above this layer changes.
This package imports nothing of Airflow, the client or the simulator.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from importlib.metadata import entry_points
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


#: Entry point group of services shipped outside this package (each entry point names a ``Service``).
ENTRY_POINT_GROUP = "airflow_provider_mediagen.catalog"


def _discover() -> dict[str, Service]:
    """Every module of this package that declares a ``SERVICE``, then every service registered under
    :data:`ENTRY_POINT_GROUP`, in the services' listing order. Two services of one name are an error:
    one would silently shadow the other's connections and operators."""
    found: list[tuple[str, object]] = [
        (f"{__name__}.{module.name}", getattr(import_module(f"{__name__}.{module.name}"), "SERVICE", None))
        for module in pkgutil.iter_modules(__path__)]
    found += [(f"entry point {ep.name} = {ep.value}", ep.load()) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    services: dict[str, tuple[str, Service]] = {}
    for origin, service in found:
        if not isinstance(service, Service):
            if origin.startswith("entry point"):
                raise TypeError(f"{origin} ({ENTRY_POINT_GROUP}) is not a catalog Service")
            continue
        if service.name in services:
            raise ValueError(f"two services named {service.name!r}: {services[service.name][0]} and {origin}")
        services[service.name] = (origin, service)
    ordered = sorted((s for _, s in services.values()), key=lambda s: (s.listed, s.name))
    return {s.name: s for s in ordered}


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
