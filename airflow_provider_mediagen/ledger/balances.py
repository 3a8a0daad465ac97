"""Each connection's current balance and plan, read from its service's usage endpoint.

Through the connection's hook and client, so each read spends the key's own read budget (the process's
limiter, or the shared Redis budget of ``rate_limit_url``) like any other call; answers are kept for
:data:`CACHE_SECONDS`, so a ledger page refreshed by many users reads each account at most once a minute.
A service without a usage endpoint (Ddukddak), a missing connection or a failed read is reported on the
connection's row, never as a failure of the ledger."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timezone

from cachetools import TTLCache

from ..catalog import SERVICES
from ..client.secrets import scrub
from .query import Balance

__all__ = ["CACHE_SECONDS", "balances", "clear_cache"]

CACHE_SECONDS = 60.0
_CACHE: TTLCache[tuple[str, str], Balance] = TTLCache(maxsize=1024, ttl=CACHE_SECONDS)
_LOCK = threading.Lock()


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _read(service: str, conn_id: str) -> Balance:
    from ..client import MediaGenError
    from ..hooks.connection import ConnectionConfigError
    from ..hooks.mediagen import hook_for

    entry = SERVICES.get(service)
    if entry is None:
        return Balance(conn_id=conn_id, service=service, error="no such service in this provider")
    if entry.usage_endpoint is None or entry.balance is None:
        return Balance(conn_id=conn_id, service=service, error=f"{entry.title} documents no usage endpoint")
    try:
        with hook_for(service, conn_id).get_conn() as client:
            account = client.account()
        return Balance(conn_id=conn_id, service=service, balance=account.balance, plan=account.plan,
                       read_at=datetime.now(timezone.utc))
    except (MediaGenError, ConnectionConfigError) as exc:
        return Balance(conn_id=conn_id, service=service, error=scrub(str(exc)))
    except Exception as exc:  # noqa: BLE001 - e.g. the connection does not exist: say so on its row
        return Balance(conn_id=conn_id, service=service, error=scrub(f"{type(exc).__name__}: {exc}"))


def balances(connections: Iterable[tuple[str, str]]) -> list[Balance]:
    """The balance of each (service, conn_id), cached for :data:`CACHE_SECONDS`."""
    out = []
    for service, conn_id in sorted(set(connections)):
        key = (service, conn_id)
        with _LOCK:
            cached = _CACHE.get(key)
        if cached is None:
            cached = _read(service, conn_id)
            with _LOCK:
                _CACHE[key] = cached
        out.append(cached)
    return out
