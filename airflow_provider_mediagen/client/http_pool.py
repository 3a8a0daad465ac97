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

#: Streams (SSE) hold a socket for their whole life, so the pool puts no cap on open connections; the
#: idle ones it keeps are capped, whatever the number of connections waiting.
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100, keepalive_expiry=5.0)


@dataclass
class _Pool:
    http: httpx.AsyncClient
    users: int = 0


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


def _no_cookies() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def lease(**options: Any) -> httpx.AsyncClient | None:
    """The running loop's shared client (made on first use with ``options``), or ``None`` outside a
    running loop, where the caller makes its own. Each lease is given back once with :func:`give_back`."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    pool = _POOLS.get(loop)
    if pool is None or pool.http.is_closed:
        pool = _POOLS[loop] = _Pool(httpx.AsyncClient(limits=LIMITS, cookies=_no_cookies(), **options))
    pool.users += 1
    return pool.http


async def give_back(http: httpx.AsyncClient) -> None:
    """End one lease of ``http``; the last one closes it (taken off the loop first, so a lease made
    while it closes gets a new pool)."""
    for loop, pool in list(_POOLS.items()):
        if pool.http is http:
            pool.users -= 1
            if pool.users > 0:
                return
            del _POOLS[loop]
            break
    await http.aclose()


def users(http: httpx.AsyncClient) -> int:
    """How many clients hold a lease of ``http`` (for tests and benchmarks)."""
    return next((pool.users for pool in _POOLS.values() if pool.http is http), 0)
