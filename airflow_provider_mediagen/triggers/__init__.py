"""Triggers of the media-generation provider.

Loaded lazily: the trigger modules import Airflow core, which a DAG file that only builds operators
should not pay for at every parse.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MediaCompletionsTrigger", "MediaJobTrigger"]

_HOMES = {"MediaCompletionsTrigger": ".completions", "MediaJobTrigger": ".job"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(name)
