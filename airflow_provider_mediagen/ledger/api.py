"""``GET /mediagen/credits``: the credits ledger on the API server, behind Airflow's own authentication and
authorization.

Plugin routes are not protected by Airflow by default, so this one asks the API server's auth manager
itself: the caller is resolved the way Airflow's public API resolves it (a bearer JWT, else the UI's
session cookie); no user is a 401 (an invalid token a 403, as Airflow answers), and the ledger only
reads the DAGs that user may read (``get_authorized_dag_ids``). Balances are read only for the
connections those DAGs' entries name. Airflow's security module is imported when a request arrives,
not when the plugin is loaded (workers load plugins too).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from .query import By, Ledger

__all__ = ["credits_router"]

_bearer = HTTPBearer(auto_error=False)


async def current_user(request: Request) -> Any:
    """The authenticated Airflow user, through Airflow's own ``get_user`` (401/403 as it answers)."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, await _bearer(request))


def _readable_dags(user: Any) -> set[str]:
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def _report(user: Any, since: str, by: str, dag_ids: list[str] | None, with_balances: bool) -> Ledger:
    import argparse

    from airflow.utils.session import create_session

    from .balances import balances
    from .cli import parse_since
    from .query import ledger

    try:
        moment = parse_since(since)
    except argparse.ArgumentTypeError as exc:
        raise HTTPException(400, str(exc).replace("--since", "since")) from None
    readable = _readable_dags(user)
    if dag_ids:
        readable &= set(dag_ids)
    with create_session() as session:
        return ledger(session, moment, by, dag_ids=readable, read_balances=balances if with_balances else None)


def credits_router() -> APIRouter:
    router = APIRouter()

    @router.get("/credits", response_model=Ledger, summary="What generation tasks paid for")
    async def credits(
        user: Annotated[Any, Depends(current_user)],
        since: str = "7d",
        by: By = "day",
        dag_id: Annotated[list[str] | None, Query()] = None,
        balances: bool = True,
    ) -> Ledger:
        # The database and the services are read off the server's loop.
        return await run_in_threadpool(_report, user, since, by, dag_id, balances)

    return router
