"""Issue 35: the Credits page in a real browser (headless Chromium through Playwright) on the real API
server (its own process, the auth manager limiting one user to one DAG, as in the route's test).

Shown: a visitor without a session is sent to the login page; the admin, logged in the way the UI logs
in (its JWT in the ``_token`` cookie), sees the totals, the per-day chart, every grouping, the failed and
refunded job linked to its task instance and the balances, all equal to the simulator's records; the
limited user sees their DAG only; the plugin lists the page under Browse; the Airflow UI shows it in its
own frame. Screenshots (light and dark) are written to the test's folder, or to
``MEDIAGEN_SCREENSHOTS`` when set (how the README's picture is made)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import pytest

from .one_dag_auth import LIMITED_USER, ONE_DAG
from ..system.chromium import CHROMIUM, LOOPBACK_FLAGS
from .test_credits_ledger import CONNS, run_three
from .test_credits_route import api_server, token  # noqa: F401 - the module's API server fixture

DAGS = ("money_apex_worker", "money_facedub_deferrable", "money_ddukddak_worker")  # run_three's


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium, started where it is used: Playwright's sync API keeps an event loop running in
    this thread while it is open, and ``dag.test()`` (which runs triggers with ``asyncio.run``) cannot run
    beside it."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup-chromium.sh installs it")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LOOPBACK_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def signed_in(browser: Any, base: str, user: str, **options: Any) -> Any:
    """A browser context holding the user's session as the UI holds it: the JWT in the ``_token`` cookie."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    context.add_cookies([{"name": "_token", "value": token(base, user), "url": base}])
    return context


def open_page(context: Any, url: str) -> Any:
    """The page, once its script has drawn the figures (what went wrong in it, if it never does)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    try:
        page.wait_for_selector("body[data-loaded=true]", timeout=120_000)
    except PlaywrightTimeout:
        raise AssertionError(f"{url}: {page.text_content('#status')!r}; {problems}") from None
    assert not problems, problems
    return page


def number(text: str) -> float:
    return float(text.replace(",", ""))


def unquote_all(href: str) -> list[str]:
    return [unquote(p) for p in href.split("/")]


def keep(shot: Path) -> None:
    folder = os.environ.get("MEDIAGEN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def test_anonymous_visitors_are_sent_to_the_login_page(api_server: str) -> None:  # noqa: F811
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{api_server}/mediagen/credits/page?since=1d")
        page.wait_for_url("**/auth/login**", timeout=60_000)
        query = parse_qs(urlsplit(page.url).query)
    assert query["next"] == [f"{api_server}/mediagen/credits/page?since=1d"]
    assert httpx.get(f"{api_server}/mediagen/credits/overview", timeout=30).status_code == 401


def test_the_page_shows_what_the_simulator_recorded(simulator: Any, api_server: str,  # noqa: F811
                                                    tmp_path: Path) -> None:
    since = run_three(simulator)
    counters = simulator.counters()
    charged = sum(counters[s]["demo"]["credits_charged"] for s in CONNS)
    refunded = counters["apex"]["demo"]["credits_refunded"]
    assert refunded > 0

    with chromium() as browser:
        context = signed_in(browser, api_server, "admin")
        page = open_page(context, f"{api_server}/mediagen/credits/page?since={quote(since)}&theme=light")
        totals = {t: number(page.text_content(f'[data-total="{t}"] .value') or "") for t in
                  ("charged", "refunded", "net", "jobs", "failed")}
        assert totals == {"charged": charged, "refunded": refunded, "net": charged - refunded,
                          "jobs": sum(counters[s]["demo"]["jobs_created"] for s in CONNS), "failed": 1}
        # The chart: one charged and one refunded bar per day, summing to the totals.
        bars = page.eval_on_selector_all("#chart rect", "rs => rs.map(r => [r.dataset.field, +r.dataset.value])")
        assert sum(v for f, v in bars if f == "charged") == charged
        assert sum(v for f, v in bars if f == "refunded") == refunded

        # Each DAG's and task's row links to its page in the UI; charged against the docs' estimate.
        links = page.eval_on_selector_all("#groups tbody a", "as => as.map(a => a.getAttribute('href'))")
        assert sorted(links) == sorted(f"/dags/{d}" for d in DAGS), links
        assert page.eval_on_selector_all("#groups tbody tr", "rs => rs.map(r => r.cells[5].textContent)") == \
            ["0"] * len(DAGS)  # every job cost what the docs say
        page.click('#tabs [data-by="task"]')
        links = page.eval_on_selector_all("#groups tbody a", "as => as.map(a => a.getAttribute('href'))")
        assert f"/dags/{ONE_DAG}/tasks/image" in links, links

        page.click('#tabs [data-by="service"]')
        rows = page.eval_on_selector_all("#groups tbody tr", "rs => rs.map(r => r.dataset.key)")
        assert sorted(rows) == sorted(CONNS)
        for service in CONNS:
            cells = page.eval_on_selector(f'#groups tr[data-key="{service}"]',
                                          "r => [...r.cells].map(c => c.textContent)")
            assert number(cells[4]) == counters[service]["demo"]["credits_charged"], (service, cells)
        page.click('#tabs [data-by="connection"]')
        assert sorted(page.eval_on_selector_all("#groups tbody tr", "rs => rs.map(r => r.dataset.key)")) == \
            sorted(CONNS.values())

        # The failed Apex job, refunded, linked to the task instance that paid for it.
        jobs = page.eval_on_selector_all("#jobs tbody tr", """rs => rs.map(r => ({
            status: r.cells[5].textContent, refunded: r.cells[7].textContent,
            href: r.querySelector('a').getAttribute('href'), target: r.querySelector('a').target}))""")
        assert len(jobs) == 1, jobs
        [job] = jobs
        assert job["status"] == "failed" and number(job["refunded"]) == refunded
        assert job["href"].startswith(f"/dags/{ONE_DAG}/runs/") and job["target"] == "_top", job
        # The link names a task instance that exists (the UI's route /dags/{dag}/runs/{run}/tasks/{task}).
        _, _, dag_id, _, run_id, _, task_id = unquote_all(job["href"])
        answer = httpx.get(f"{api_server}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}",
                           headers={"Authorization": f"Bearer {token(api_server, 'admin')}"}, timeout=30)
        assert answer.status_code == 200 and answer.json()["try_number"] == 2, answer.text  # the failed try's retry

        balances = page.eval_on_selector_all("#balances tbody tr", "rs => rs.map(r => r.dataset.conn)")
        assert sorted(balances) == sorted(CONNS.values())
        for theme in ("light", "dark"):
            if theme == "dark":
                page.goto(f"{api_server}/mediagen/credits/page?since={quote(since)}&theme=dark")
                page.wait_for_selector("body[data-loaded=true]")
                assert page.evaluate("document.documentElement.classList.contains('dark')")
            shot = tmp_path / f"credits-page-{theme}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            keep(shot)
        context.close()

        # A user allowed one DAG sees that DAG's figures only, and only its connection's balance.
        limited = signed_in(browser, api_server, LIMITED_USER)
        page = open_page(limited, f"{api_server}/mediagen/credits/page?since={quote(since)}")
        assert page.eval_on_selector_all("#groups tbody tr", "rs => rs.map(r => r.dataset.key)") == [ONE_DAG]
        assert number(page.text_content('[data-total="refunded"] .value') or "") == refunded
        assert page.eval_on_selector_all("#balances tbody tr", "rs => rs.map(r => r.dataset.conn)") == [CONNS["apex"]]
        limited.close()


def test_the_ui_lists_the_page_under_browse_and_shows_it_in_its_frame(api_server: str) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {token(api_server, 'admin')}"}
    plugins = httpx.get(f"{api_server}/api/v2/plugins", headers=headers, timeout=30).json()["plugins"]
    [ours] = [p for p in plugins if p["name"] == "mediagen"]
    [view] = ours["external_views"]
    assert (view["href"], view["destination"], view["category"]) == ("/mediagen/credits/page", "nav", "browse")

    with chromium() as browser:
        context = signed_in(browser, api_server, "admin")
        # The UI in dark mode (next-themes keeps the choice under "theme"): the page in its frame follows.
        context.add_init_script("window.localStorage.setItem('theme', 'dark')")
        page = context.new_page()
        page.goto(f"{api_server}/plugin/{view['url_route']}")
        frame = page.frame_locator("iframe")
        frame.locator("body[data-loaded=true]").wait_for(timeout=120_000)
        assert frame.locator("h1").text_content() == "Credits"
        assert page.evaluate("document.documentElement.classList.contains('dark')")
        assert "dark" in (frame.locator("html").get_attribute("class") or "")
        # A period the ledger cannot read is said on the page, with the server's reason.
        page.goto(f"{api_server}/mediagen/credits/page?since=last%20tuesday")
        page.wait_for_selector("#status.error", timeout=60_000)
        assert "400" in (page.text_content("#status") or "") and "since" in (page.text_content("#status") or "")
        context.close()
