"""Keeping API keys, JWTs and URL tokens out of every text a user or a log can see.

Clients register their secrets here (``Secret(value)``); :func:`scrub` removes them, bearer tokens and
the credential parts of URLs (``token=``, signed-URL signatures and credentials) from error messages,
and every log record of ``httpx``, ``httpcore`` and this package -- including their child loggers
(``httpcore.http11`` prints response headers, ``airflow_provider_mediagen.poller`` job URLs) -- is
scrubbed when it is made.

Why a registry that keeps values: a secret is often registered through a temporary
(``Secret(token)`` where a token is put in a URL); a registry of weak references dropped those at
once, so the token was never masked. Values are kept in a bounded most-recently-registered list, and a
value some live :class:`Secret` still holds is never evicted from it.

Why a LogRecord factory rather than logger filters: a filter on a logger runs only for records logged
on that very logger, not for records of its children that propagate to its handlers, and handlers are
replaced whenever Airflow (or a user) reconfigures logging. The factory runs for every record, whatever
the handlers; the logger filters stay as a fallback should another library replace the factory.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import OrderedDict
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # ships no type stubs

__all__ = ["MAX_REMEMBERED", "Secret", "install_log_filter", "scrub"]

#: Query parameters whose value is a credential: our own tokens and keys, and the signatures and
#: credentials of signed storage URLs (S3/GCS V4, Azure SAS ``sig``, CloudFront ``Signature``).
#: ``Expires`` and the like stay readable: they help debugging and open nothing.
_CREDENTIAL_PARAMS = ("token", "access_token", "api_key", "apikey", "key", "jwt", "sig", "signature",
                      "x-amz-signature", "x-amz-credential", "x-amz-security-token",
                      "x-goog-signature", "x-goog-credential")
_CREDENTIAL_QUERY = re.compile(
    r"(?i)([?&;](?:" + "|".join(re.escape(p) for p in _CREDENTIAL_PARAMS) + r")=)[^&#\s'\"<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+")
_MASK = "**********"

#: Shorter values are not masked in text (as Airflow's ``min_length_masked_secret``, default 5): a
#: one-letter "key" would otherwise turn every such letter of every log line into stars, hiding
#: everything else. Their ``Secret`` still never shows them.
MIN_MASKED_LENGTH = 5

#: How many registered values are remembered beyond those a live Secret holds (oldest go first).
MAX_REMEMBERED = 4096

_LOCK = threading.Lock()
_LIVE: "weakref.WeakSet[Secret]" = weakref.WeakSet()
_REMEMBERED: OrderedDict[str, None] = OrderedDict()
#: Values are found with an Aho-Corasick automaton (one pass over the text, whatever the number of
#: secrets: a triggerer holding thousands of connections' keys scrubs every log line and event). It is
#: rebuilt in whole: values registered since are looked for one by one (a text holding one gets a
#: rebuild at once), until there are :data:`_REBUILD_AFTER` of them.
_REBUILD_AFTER = 64
_automaton: ahocorasick.Automaton | None = None
_built = False
_pending: list[str] = []  # registered since the automaton was built


class Secret:
    """A secret value whose repr and str never show it; creating one registers it for :func:`scrub`."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        with _LOCK:
            _LIVE.add(self)
            _remember(value)

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is never serialized")


def _remember(value: str) -> None:
    """Keep ``value`` masked (caller holds the lock); re-registering refreshes it."""
    if len(value) < MIN_MASKED_LENGTH:
        return
    if value in _REMEMBERED:
        _REMEMBERED.move_to_end(value)
        return
    _REMEMBERED[value] = None
    _pending.append(value)
    # Values no live Secret holds are forgotten oldest first, in batches (a quarter of the bound at a
    # time), so registering costs O(1) on average however many connections a triggerer holds. A
    # forgotten value stays in the automaton until its next build: masked a little longer, never less.
    if len(_REMEMBERED) > MAX_REMEMBERED + len(_LIVE):
        held = {s._value for s in _LIVE}
        keep = MAX_REMEMBERED * 3 // 4 + len(held)
        for old in list(_REMEMBERED):
            if len(_REMEMBERED) <= keep:
                break
            if old not in held:
                del _REMEMBERED[old]


def _matchers(rebuild: bool = False) -> tuple[ahocorasick.Automaton | None, tuple[str, ...]]:
    """The automaton of the registered values (``None`` while there are none) and the values
    registered since it was built."""
    global _automaton, _built
    with _LOCK:
        if rebuild or not _built or len(_pending) > _REBUILD_AFTER:
            automaton = ahocorasick.Automaton()
            for value in _REMEMBERED:
                automaton.add_word(value, len(value))
            if len(automaton):
                automaton.make_automaton()
            _automaton = automaton if len(automaton) else None
            _pending.clear()
            _built = True
        return _automaton, tuple(_pending)


def _mask_found(text: str, automaton: ahocorasick.Automaton) -> str:
    """``text`` with each longest, leftmost match of ``automaton`` masked."""
    parts: list[str] = []
    start = 0
    for end, length in automaton.iter_long(text):
        parts += [text[start:end - length + 1], _MASK]
        start = end + 1
    return "".join(parts) + text[start:] if parts else text


def scrub(text: str) -> str:
    """``text`` with every registered secret, bearer token and credential query value masked."""
    if not text:
        return text
    automaton, pending = _matchers()
    if any(value in text for value in pending):  # rare: one automaton then, so overlaps mask whole
        automaton, _ = _matchers(rebuild=True)
    if automaton is not None:
        text = _mask_found(text, automaton)
    text = _CREDENTIAL_QUERY.sub(r"\1" + _MASK, text)
    return _BEARER.sub(r"\1" + _MASK, text)


_SCRUBBED_FLAG = "_mediagen_scrubbed"


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not format: logging reports that itself
        return
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    setattr(record, _SCRUBBED_FLAG, True)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, _SCRUBBED_FLAG, False):
            _scrub_record(record)
        return True


_FILTER = _ScrubFilter()
_COVERED: set[str] = set()
_factory_installed = False


def _covered(name: str) -> bool:
    while True:
        if name in _COVERED:
            return True
        cut = name.rfind(".")
        if cut < 0:
            return False
        name = name[:cut]


def _install_factory() -> None:
    global _factory_installed
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _covered(record.name or ""):
            _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def install_log_filter(*names: str) -> None:
    """Scrub every record of the given loggers and of their children (idempotent)."""
    with _LOCK:
        _COVERED.update(names or ("httpx", "httpcore", "airflow_provider_mediagen"))
        if not _factory_installed:
            _install_factory()
        covered = list(_COVERED)
    for name in covered:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
