"""One rate budget per API key across processes and hosts, kept in Redis (connection extra
``rate_limit_url``).

The services count requests per account; each process's own limiter believes it owns the whole budget,
so four workers and two triggerers on one key together send up to six times the documented rate and are
answered 429. With ``rate_limit_url`` every process draws from pyrate-limiter's Redis bucket for the
(service, key, class): a sorted set updated by one Lua script, so processes on any host share one log of
requests. The bucket's name holds the key's fingerprint (a hash), never the key.

Redis unreachable never fails a task: the process falls back to its own limiter, says so once (what
that costs: processes on one key may together exceed the budget, and the service's 429s are retried),
tries Redis again every second (``RETRY_SECONDS``), and says when the shared budget is back. Sync
(workers) and async (triggers) share the fallback state of the process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pyrate_limiter import Limiter, Rate

__all__ = ["SharedBudget", "redacted_redis_url"]

log = logging.getLogger("airflow_provider_mediagen.client")

#: seconds between attempts to reach Redis again once it failed
RETRY_SECONDS = 1.0
#: seconds a Redis command may take before the process falls back (a hung Redis must not hang tasks)
REDIS_TIMEOUT = 2.0


def redacted_redis_url(url: str) -> str:
    """Where the budget is kept, for messages: scheme, host, port and database, never the password."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def bucket_name(service: str, fingerprint: str, class_name: str, window_ms: int) -> str:
    """The Redis key of one budget. The window is part of it: a time-scaled simulator's budget is never
    mixed with the real service's."""
    return f"mediagen:rate:{service}:{fingerprint}:{class_name}:{window_ms}"


class _State:
    """Per process and Redis URL: the limiters built so far and whether Redis is reachable."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sync_limiters: dict[str, Limiter] = {}
        #: per event loop (a trigger's Redis connections belong to the loop that made them)
        self.async_limiters: dict[tuple[int, str], Limiter] = {}
        self.down_until = 0.0
        self.fallen_back = False


_STATES: dict[str, _State] = {}
_STATES_LOCK = threading.Lock()


def _state(url: str) -> _State:
    with _STATES_LOCK:
        return _STATES.setdefault(url, _State())


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


class SharedBudget:
    """The shared budget of one Redis URL; :meth:`acquire` / :meth:`acquire_async` return False when
    Redis cannot be used right now (the caller then spends its per-process budget)."""

    def __init__(self, url: str) -> None:
        try:
            import redis  # noqa: F401 - checked here, so a missing driver is a configuration error
        except ImportError as exc:
            raise ImportError("rate_limit_url needs the redis client: pip install "
                              "'airflow-provider-mediagen[redis]'") from exc
        self._url = url
        self._state = _state(url)

    def __repr__(self) -> str:
        return f"SharedBudget({redacted_redis_url(self._url)!r})"

    # --- sync (workers) ---------------------------------------------------------------------------

    def acquire(self, name: str, rate: Rate) -> bool:
        if not self._usable():
            return False
        try:
            limiter = self._sync_limiter(name, rate)
            acquired = limiter.try_acquire(name, blocking=True)
        except _redis_errors() as exc:
            self._fall_back(exc, drop=lambda: self._state.sync_limiters.pop(name, None))
            return False
        self._back()
        return bool(acquired)

    def _sync_limiter(self, name: str, rate: Rate) -> Limiter:
        with self._state.lock:
            limiter = self._state.sync_limiters.get(name)
        if limiter is None:
            from pyrate_limiter import Limiter, RedisBucket
            from redis import Redis

            client = Redis.from_url(self._url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            limiter = Limiter(RedisBucket.init([rate], client, name), buffer_ms=1)
            with self._state.lock:
                limiter = self._state.sync_limiters.setdefault(name, limiter)
        return limiter

    # --- async (triggers) -------------------------------------------------------------------------

    async def acquire_async(self, name: str, rate: Rate) -> bool:
        if not self._usable():
            return False
        key = (id(asyncio.get_running_loop()), name)
        try:
            limiter = await self._async_limiter(key, name, rate)
            acquired = await limiter.try_acquire_async(name, blocking=True)
        except _redis_errors() as exc:
            self._fall_back(exc, drop=lambda: self._state.async_limiters.pop(key, None))
            return False
        self._back()
        return bool(acquired)

    async def _async_limiter(self, key: tuple[int, str], name: str, rate: Rate) -> Limiter:
        limiter = self._state.async_limiters.get(key)
        if limiter is None:
            from pyrate_limiter import Limiter, RedisBucket
            from redis.asyncio import Redis

            client = Redis.from_url(self._url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
            limiter = Limiter(await RedisBucket.init([rate], client, name), buffer_ms=1)
            limiter = self._state.async_limiters.setdefault(key, limiter)
        return limiter

    # --- fallback ---------------------------------------------------------------------------------

    def _usable(self) -> bool:
        return time.monotonic() >= self._state.down_until

    def _fall_back(self, exc: BaseException, drop: Any) -> None:
        """Redis failed: this process spends its own budget for a while. The limiter is rebuilt on the
        next attempt (a restarted Redis has lost the bucket's script)."""
        with self._state.lock:
            drop()
            self._state.down_until = time.monotonic() + RETRY_SECONDS
            first = not self._state.fallen_back
            self._state.fallen_back = True
        if first:
            log.warning("The shared rate budget at %s is unreachable (%s): this process spends its own "
                        "budget until it is back, so processes on one key may together exceed the service's "
                        "limit and be answered 429 (retried). Trying again every %.0f s.",
                        redacted_redis_url(self._url), type(exc).__name__, RETRY_SECONDS)

    def _back(self) -> None:
        if self._state.fallen_back:
            with self._state.lock:
                was, self._state.fallen_back = self._state.fallen_back, False
            if was:
                log.warning("The shared rate budget at %s is reachable again: this process uses it.",
                            redacted_redis_url(self._url))
