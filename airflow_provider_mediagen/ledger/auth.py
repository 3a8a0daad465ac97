"""Who is asking, for the ledger's routes: the caller as Airflow's public API resolves it (a bearer JWT,
else the UI's session cookie), the DAGs the API server's auth manager lets them read, and the ``since``
parameter as the CLI reads it. Airflow's security module is imported when a request arrives, not when the
plugin is loaded (workers load plugins too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request
from fastapi.security import HTTPBearer

__all__ = ["current_user", "parse_since_or_400", "readable_dags"]

_bearer = HTTPBearer(auto_error=False)


async def current_user(request: Request) -> Any:
    """The authenticated Airflow user, through Airflow's own ``get_user`` (401/403 as it answers)."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, await _bearer(request))


def readable_dags(user: Any) -> set[str]:
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def parse_since_or_400(since: str) -> datetime:
    import argparse

    from .cli import parse_since

    try:
        return parse_since(since)
    except argparse.ArgumentTypeError as exc:
        raise HTTPException(400, str(exc).replace("--since", "since")) from None
