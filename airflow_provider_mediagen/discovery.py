"""Finding what a package declares in its modules and what other distributions add through entry points:
the catalog's services and the simulator's services are both found this way (neither lists its modules,
and neither imports the other). Imports nothing of this project."""

from __future__ import annotations

import pkgutil
from importlib import import_module
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Protocol, TypeVar

__all__ = ["discover"]


class _Listed(Protocol):
    name: Any
    listed: int


T = TypeVar("T", bound=_Listed)


def discover(package: ModuleType, attribute: str, kind: type[T], group: str, *, noun: str, described: str) -> list[T]:
    """Every module of ``package`` that declares ``attribute`` (an instance of ``kind``), then every entry
    point of ``group``, in listing order (``listed``, then ``name``). Two of one name are an error naming
    both origins (one would silently shadow the other), and so is an entry point that is not a ``kind``."""
    found: list[tuple[str, object]] = [
        (f"{package.__name__}.{module.name}", getattr(import_module(f"{package.__name__}.{module.name}"), attribute, None))
        for module in pkgutil.iter_modules(package.__path__)]
    found += [(f"entry point {ep.name} = {ep.value}", ep.load()) for ep in entry_points(group=group)]
    items: dict[str, tuple[str, T]] = {}
    for origin, item in found:
        if not isinstance(item, kind):
            if origin.startswith("entry point"):
                raise TypeError(f"{origin} ({group}) is not {described}")
            continue
        if item.name in items:
            raise ValueError(f"two {noun}s named {item.name!r}: {items[item.name][0]} and {origin}")
        items[item.name] = (origin, item)
    return sorted((item for _, item in items.values()), key=lambda item: (item.listed, item.name))
