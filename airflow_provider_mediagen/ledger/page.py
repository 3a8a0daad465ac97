"""The Credits page: ``GET /mediagen/credits/page`` (HTML, shown by the Airflow UI under Browse, in its
iframe) and ``GET /mediagen/credits/overview`` (the JSON it reads: every grouping, the failed and
refunded jobs, the balances).

The page reads nothing itself: the browser fetches the overview with the UI's own session cookie, so
the ledger a user sees is the one Airflow's auth manager lets them read (:mod:`.api`). A visitor
without a valid session is sent to the auth manager's login page, which brings them back here. The
HTML is one static file with its script and styles inline (no CDN: the API server may have no
outside network, and nothing on it is fetched from elsewhere); every figure is written as text, never
as markup.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .auth import current_user, parse_since_or_400, readable_dags
from .query import Overview

__all__ = ["add_page_routes"]

#: Where the UI's "Browse" menu entry points (the plugin's ``external_views``).
PAGE_PATH = "/credits/page"


@cache
def page_html() -> str:
    return files(__package__).joinpath("page.html").read_text(encoding="utf-8")


def _login_url(next_url: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url)


def _overview(user: Any, since: str, jobs_limit: int) -> Overview:
    from airflow.utils.session import create_session

    from .balances import balances
    from .query import overview

    moment = parse_since_or_400(since)
    with create_session() as session:
        return overview(session, moment, dag_ids=readable_dags(user), read_balances=balances, jobs_limit=jobs_limit)


def add_page_routes(router: APIRouter) -> None:
    """The page and its data on ``router`` (the credits router: same authentication)."""

    @router.get("/credits/overview", response_model=Overview, summary="The Credits page's data")
    async def credits_overview(
        user: Annotated[Any, Depends(current_user)], since: str = "7d", jobs_limit: int = 500,
    ) -> Overview:
        if not 1 <= jobs_limit <= 5000:
            raise HTTPException(422, "jobs_limit must be between 1 and 5000")
        return await run_in_threadpool(_overview, user, since, jobs_limit)

    @router.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def credits_page(request: Request) -> Response:
        try:
            await current_user(request)
        except HTTPException as exc:
            if exc.status_code not in (401, 403):
                raise
            return RedirectResponse(_login_url(str(request.url)), status_code=303)
        # Never from a cache: a visitor whose session ended must come back here to be sent to the login.
        return HTMLResponse(page_html(), headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
