"""Which optional extras a command needs, checked before it starts: without the ``sim`` extra the
simulator used to start and then fail its first video job (``av`` missing), far from the cause. The
check only looks the modules up (no import), so it costs nothing when they are there."""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["EXTRAS", "missing", "require"]

PACKAGE = "airflow-provider-mediagen"

#: Extra -> (import name, distribution) of what it installs beyond Airflow's own dependencies.
EXTRAS: dict[str, tuple[tuple[str, str], ...]] = {
    "sim": (("fastapi", "fastapi"), ("uvicorn", "uvicorn"), ("python_multipart", "python-multipart"),
            ("PIL", "pillow"), ("numpy", "numpy"), ("av", "av"), ("jwt", "pyjwt"), ("rich", "rich")),
}


def _present(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None  # None: imports of it are blocked
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(extra: str) -> list[str]:
    """The distributions of ``extra`` that cannot be imported here."""
    return [dist for module, dist in EXTRAS[extra] if not _present(module)]


def require(extra: str, command: str) -> str | None:
    """``None`` when ``extra`` is installed, else the message that says what is missing and the
    ``pip install`` line that fixes it."""
    absent = missing(extra)
    if not absent:
        return None
    return (f"error: {command} needs the '{extra}' extra, and {', '.join(absent)} "
            f"{'is' if len(absent) == 1 else 'are'} not installed. Install it with:\n"
            f"    pip install '{PACKAGE}[{extra}]'")
