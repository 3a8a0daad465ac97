"""One HTTP connection pool per event loop, shared by every async client running in it.

Why: a triggerer waiting on jobs of thousands of connections made one ``httpx.AsyncClient`` per
connection. Each one scanned ``os.environ`` for proxy settings when it was built (with one
``AIRFLOW_CONN_*`` variable per connection, that scan grows with the connections, so the cost per
connection did too), and each kept its own pool of keep-alive sockets. The clients of one loop now lease
one ``httpx.AsyncClient``: the environment is read once, when the pool is made (``HTTPS_PROXY``,
``NO_PROXY`` and the rest keep httpx's meaning), and idle sockets are bounded per process.

Nothing per connection lives in the shared client: the key goes with each request (``auth=``), the
timeout too, and cookies are refused, so one connection's responses can never reach another's
requests. The last client to give its lease back closes the pool.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

__all__ = ["lease", "give_back", "LIMITS"]

#: Per purpose: requests share at most 100 sockets, whatever the number of connections waiting (httpcore
#: scans its sockets for every request, so an uncapped pool on thousands of pollers costs quadratic CPU;
#: a request waits for a free socket without a time limit: see ``ClientCore._request_kwargs``); status streams (SSE) hold a socket for
#: their whole life, so they get their own pool, uncapped, keeping none idle.
LIMITS = {
    "requests": httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0),
    "streams": httpx.Limits(max_connections=None, max_keepalive_connections=0),
}


@dataclass
class _Pool:
    http: httpx.AsyncClient
    users: int = 0


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Pool]] = weakref.WeakKeyDictionary()


def _no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def lease(purpose: str = "requests", **options: Any) -> httpx.AsyncClient | None:
    """The running loop's shared client for ``purpose`` (see :data:`LIMITS`; made on first use with
    ``options``), or ``None`` outside a running loop, where the caller makes its own. Each lease is
    given back once with :func:`give_back`."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    pools = _POOLS.setdefault(loop, {})
    pool = pools.get(purpose)
    if pool is None or pool.http.is_closed:
        pool = pools[purpose] = _Pool(httpx.AsyncClient(limits=LIMITS[purpose], cookies=_no_cookies(), **options))
    pool.users += 1
    return pool.http


async def give_back(http: httpx.AsyncClient) -> None:
    """End one lease of ``http``; the last one closes it (taken off the loop first, so a lease made
    while it closes gets a new pool)."""
    for pools in list(_POOLS.values()):
        for purpose, pool in list(pools.items()):
            if pool.http is http:
                pool.users -= 1
                if pool.users > 0:
                    return
                del pools[purpose]
    await http.aclose()


def users(http: httpx.AsyncClient) -> int:
    """How many clients hold a lease of ``http`` (for tests and benchmarks)."""
    return next((pool.users for pools in _POOLS.values() for pool in pools.values() if pool.http is http), 0)
