"""A local simulator of Ddukddak, Apex Studio and FaceDub, written from their API docs alone.

It plays the vendors for the demo, for development and for every test: real HTTP (FastAPI +
uvicorn), documented paths, statuses, error shapes, rate limits, credits, job lifecycles, webhooks
and real output files, plus a control API under ``/_sim`` (counters, reset, faults). It imports
nothing else of ``airflow_provider_mediagen`` and nothing of Airflow, so a client test against it
can fail.

Public API: :class:`SimulatorConfig`, :func:`create_app`, :class:`SimulatorServer`, :func:`main`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import SimulatorConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .server import SimulatorServer

__all__ = ["SimulatorConfig", "SimulatorServer", "create_app", "main"]


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """The simulator as an ASGI app (see ``app.py``)."""
    from .app import create_app as _create_app

    return _create_app(config)


def main(argv: list[str] | None = None) -> int:
    """``mediagen sim`` (see ``cli.py``)."""
    from .cli import main as _main

    return _main(argv)


def __getattr__(name: str) -> Any:
    # SimulatorServer pulls in uvicorn and httpx; import it only when asked for.
    if name == "SimulatorServer":
        from .server import SimulatorServer

        return SimulatorServer
    raise AttributeError(name)
