"""Keeping API keys and JWTs out of every text a user or a log can see.

Clients register their secrets here; the scrubber removes them (and any ``token=`` query value) from
error messages, and a logging filter on ``httpx``/``httpcore`` does the same for their log lines, which
print request URLs (FaceDub's SSE URL carries its JWT).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref

__all__ = ["Secret", "install_log_filter", "scrub"]

_TOKEN_QUERY = re.compile(r"(?i)([?&](?:token|api_key|key)=)[^&\s'\"]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+")
_KNOWN: "weakref.WeakSet[Secret]" = weakref.WeakSet()
_LOCK = threading.Lock()


class Secret:
    """A secret value whose repr and str never show it."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        with _LOCK:
            _KNOWN.add(self)

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is never serialized")


def scrub(text: str) -> str:
    """``text`` with every registered secret, bearer token and token query value masked."""
    if not text:
        return text
    with _LOCK:
        values = [s._value for s in _KNOWN if s._value]
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "**********")
    text = _TOKEN_QUERY.sub(r"\1**********", text)
    return _BEARER.sub(r"\1**********", text)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _ScrubFilter()


def install_log_filter(*names: str) -> None:
    """Attach the scrubbing filter to the given loggers (idempotent)."""
    for name in names or ("httpx", "httpcore", "airflow_provider_mediagen"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
