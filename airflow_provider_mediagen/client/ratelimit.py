"""Client-side rate limiting to each service's documented budgets, per API key and endpoint class.

We use pyrate-limiter: one well-kept library that offers the same limiter to sync and async code
(``try_acquire`` / ``try_acquire_async``) with millisecond windows, which the time-scaled simulator
needs. Its in-memory bucket is a sliding log, which is what a client must use even against a
fixed-window server: whatever phase the server's windows have, no window of the documented length
ever sees more than the documented number of requests, provided each request arrives as long after its
acquisition as the others. They do not (scheduling, a loaded host, the network), so a client window is
longer than documented: see :func:`client_window_ms`.

Limiters live in a process-wide registry keyed by (service, key fingerprint, class), so every client
object in a process spends one shared budget, as the service counts it. With a ``shared_url`` (the
connection's ``rate_limit_url``), every process on every host spends one budget kept in Redis
(``shared_budget.py``), and its own only while Redis cannot be reached.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..catalog import RateLimit
from .shared_budget import SharedBudget, bucket_name

if TYPE_CHECKING:
    from pyrate_limiter import Limiter, Rate

__all__ = ["RateLimiters", "client_window_ms", "key_fingerprint"]

#: 5 % longer windows than documented: the service's clock and ours do not tick alike.
_MARGIN = 0.05
#: Real seconds a request may take from its acquisition here to its counting there, beyond the others'.
#: A request acquired as a window ends may be counted at once while one acquired earlier waits for a CPU
#: or a connection: without this the next window can count one request too many (seen on a loaded CI
#: host with only the 5 %, 50 ms at a simulator's 0.1 time scale). Transit does not shrink with a
#: time-scaled simulator, so this is added after scaling; against a real service it is 2.5 % of a 10 s
#: window, far cheaper than a 429's retry.
TRANSIT_SECONDS = 0.25


def client_window_ms(window_seconds: float, scale: float = 1.0) -> int:
    """The window the client paces a documented window of ``window_seconds`` to, in milliseconds."""
    return max(1, round((window_seconds * scale * (1 + _MARGIN) + TRANSIT_SECONDS) * 1000))


def key_fingerprint(api_key: str) -> str:
    """A short, non-reversible id for a key: budgets are per key, logs must not show it."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _leaks() -> Any:
    """One leaker for every in-memory bucket of the process. pyrate-limiter gives a ``Limiter`` made from
    a bare bucket a leaker of its own, which is a thread running its own event loop: a triggerer waiting
    on the jobs of 5,000 connections would run thousands of threads (~13 KB of Python objects each plus
    a thread stack, all waking every 10 s). Buckets still leak (expired entries dropped) on that one."""
    from pyrate_limiter import BucketFactory

    class _ProcessLeaks(BucketFactory):
        def wrap_item(self, name: str, weight: int = 1) -> Any:
            raise NotImplementedError("only schedules leaks; each limiter routes its own items")

        def get(self, item: Any) -> Any:
            raise NotImplementedError("only schedules leaks; each limiter routes its own items")

    return _ProcessLeaks()


class RateLimiters:
    """Hands out the shared limiter for a (service, key, class); ``scale`` shrinks windows for a
    time-scaled simulator (1.0 against real services)."""

    _registry: dict[tuple[str, str, str, float], Limiter] = {}
    _lock = threading.Lock()

    def __init__(self, service: str, fingerprint: str, limits: dict[str, RateLimit], scale: float = 1.0,
                 shared_url: str | None = None) -> None:
        self._service = service
        self._fingerprint = fingerprint
        self._limits = limits
        self._scale = scale
        self._shared = SharedBudget(shared_url) if shared_url else None

    def _window_ms(self, class_name: str) -> int:
        return client_window_ms(self._limits[class_name].window_seconds, self._scale)

    def _shared_rate(self, class_name: str, share: float = 1.0, suffix: str = "") -> tuple[str, "Rate"]:
        """The Redis bucket name and rate of ``share`` of a class's budget."""
        from pyrate_limiter import Rate

        window_ms = self._window_ms(class_name)
        return (bucket_name(self._service, self._fingerprint, f"{class_name}{suffix}", window_ms),
                Rate(max(1, int(self._limits[class_name].limit * share)), window_ms))

    def limiter(self, class_name: str) -> "Limiter":
        key = (self._service, self._fingerprint, class_name, self._scale)
        with self._lock:
            limiter = self._registry.get(key)
            if limiter is None:
                from pyrate_limiter import InMemoryBucket, Limiter, Rate  # first call, not import time
                from pyrate_limiter.limiter import SingleBucketFactory

                bucket = InMemoryBucket([Rate(self._limits[class_name].limit, self._window_ms(class_name))])
                _leaks().schedule_leak(bucket)
                limiter = Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=1)
                self._registry[key] = limiter
            return limiter

    def acquire(self, class_name: str) -> None:
        if self._shared is not None and self._shared.acquire(*self._shared_rate(class_name)):
            return
        self.limiter(class_name).try_acquire(class_name, blocking=True)

    async def acquire_share_async(self, class_name: str, share: float) -> None:
        """With a shared budget, every poller of this key in every triggerer draws from one more bucket
        holding ``share`` of the class's budget, so ``read_share`` bounds the pollers together, however
        many triggerers there are, and leaves the rest to workers. Without it nothing is drawn here: each
        poller paces itself to ``share`` (and N triggerers need ``read_share`` divided by N)."""
        if self._shared is not None:
            await self._shared.acquire_async(*self._shared_rate(class_name, share, "-pollers"))

    async def acquire_async(self, class_name: str) -> None:
        if self._shared is not None and await self._shared.acquire_async(*self._shared_rate(class_name)):
            return
        await self.limiter(class_name).try_acquire_async(class_name, blocking=True)
