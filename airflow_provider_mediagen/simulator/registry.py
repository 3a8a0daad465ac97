"""Which services the simulator plays, found rather than listed.

Each module of :mod:`.services` declares one :class:`Simulated`: its :class:`~.service.ServiceDef`,
router, key prefix, plans, default balances, job durations and demo account; a service shipped in another
distribution names its ``Simulated`` under the ``airflow_provider_mediagen.simulator`` entry point group. The app mounts, the
configuration validates, the counters count and the CLI announces whatever is registered here, so a
new service is a new module in :mod:`.services` and nothing else in the simulator changes. (The
simulator never reads the provider's catalog: it plays the vendor from the API docs, so a catalog
mistake shows up as a disagreement instead of being copied.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..discovery import discover

__all__ = ["ENTRY_POINT_GROUP", "DemoAccount", "Simulated", "registered", "simulated"]

#: Entry point group of simulated services shipped outside this package (each names a ``Simulated``).
ENTRY_POINT_GROUP = "airflow_provider_mediagen.simulator"


@dataclass(frozen=True)
class DemoAccount:
    """The account every simulator starts with, so the demo and tests need no setup."""

    key: str
    plan: str
    credits: int


@dataclass(frozen=True)
class Simulated:
    """One simulated service, as data."""

    service: Any  # the ServiceDef subclass (its ``name`` and mount ``prefix``)
    router: Any  # its FastAPI router
    title: str
    # Keys must start with this (as the service documents); a key without it is refused at configuration.
    key_prefix: str
    # Plans, lowest first (docs/undocumented-behaviour.md).
    plans: tuple[str, ...]
    # Credits per plan when an account does not say (documented where the service publishes them).
    default_credits: Mapping[str, int]
    # Realistic job durations in documented seconds, before time scaling, by the simulator's kind name.
    durations: Mapping[str, float]
    demo: DemoAccount
    # Where the service comes in every listing (the order the services joined).
    listed: int
    # Routes of the control API (``/_sim``) that only this service needs, if any.
    control: Any = None

    @property
    def name(self) -> str:
        return str(self.service.name)

    @property
    def prefix(self) -> str:
        return str(self.service.prefix)


@cache
def registered() -> Mapping[str, Simulated]:
    """Every simulated service by name, in listing order. Imported on first use, not at import time:
    the service modules import the configuration that validates against this."""
    from . import services

    found = discover(services, "SIMULATED", Simulated, ENTRY_POINT_GROUP, noun="simulated service",
                     described="a simulator registration")
    return {s.name: s for s in found}


def simulated(name: str) -> Simulated:
    try:
        return registered()[name]
    except KeyError:
        raise ValueError(f"unknown service {name!r}; known: {', '.join(registered())}") from None
