"""``GET /mediagen/credits``: the credits ledger on the API server (and the Credits page, :mod:`.page`),
behind Airflow's own authentication and authorization.

Plugin routes are not protected by Airflow by default, so this one asks the API server's auth manager
itself: the caller is resolved the way Airflow's public API resolves it (a bearer JWT, else the UI's
session cookie); no user is a 401 (an invalid token a 403, as Airflow answers), and the ledger only
reads the DAGs that user may read (``get_authorized_dag_ids``). Balances are read only for the
connections those DAGs' entries name (:mod:`.auth`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from .auth import current_user, parse_since_or_400, readable_dags
from .page import add_page_routes
from .query import By, Ledger

__all__ = ["credits_router"]


def _report(user: Any, since: str, by: str, dag_ids: list[str] | None, with_balances: bool) -> Ledger:
    from airflow.utils.session import create_session

    from .balances import balances
    from .query import ledger

    moment = parse_since_or_400(since)
    readable = readable_dags(user)
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

    add_page_routes(router)
    return router
