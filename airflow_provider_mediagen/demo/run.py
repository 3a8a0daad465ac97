"""Run the example DAGs end to end on real Airflow 3.3 against the local simulator (mediagen demo).

1. starts the simulator in this process (time-scaled: a 2-minute render takes a few seconds);
2. makes a throwaway Airflow home (SQLite) under the output folder, with connections pointing at the
   simulator, the output Variable and the FaceDub pool;
3. starts real ``api-server``, ``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer``
   processes, so deferrable tasks really wait in the triggerer; their logs go to files;
4. unpauses and triggers the examples through the REST API and shows their progress;
5. writes the outputs and ``gallery.html``, prints where they are, and stops everything it started.

``--production`` runs the same examples on the production shape: PostgreSQL 15 and Redis started here,
CeleryExecutor with two workers, two triggerers and two API servers behind a round-robin balancer, and
one rate budget per key across every process (``rate_limit_url``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .balancer import RoundRobinBalancer
from .environment import EXAMPLE_ACCOUNTS, POOLS, connection_env, job_durations, variable_env
from .gallery import GalleryItem, items_from_result, write_gallery
from .servers import PostgresServer, RedisServer
from .stack import Shape

MARKER = ".mediagen-demo"
REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "dags_examples"

#: The examples the demo runs, in gallery order: dag id -> (how it starts, what it shows).
EXAMPLES: dict[str, tuple[str, str]] = {
    "mediagen_social_banners": ("schedule", ("Example 1: a daily DAG (unpaused, so the scheduler starts today's run): "
                                "one Ddukddak template image per CSV row, by dynamic task mapping, then a summary.")),
    "mediagen_blog_to_video": ("trigger", ("Example 2: a blog post becomes an Apex voice-over, a presenter lip-synced "
                               "to it, and documentary scenes; every wait deferred to the triggerer.")),
    "mediagen_ugc_ad": ("trigger", ("Example 3: FaceDub ad cuts from one photo and one reference video, in a pool of "
                        "2 slots with include_deferred (FaceDub runs at most 2 jobs at once).")),
    "mediagen_product_photos": ("trigger", ("Example 4: Apex product shots; each finished image is an event on the "
                                "asset mediagen://examples/product-photos.")),
    "mediagen_media_postprocess": ("asset", ("Example 4: scheduled on that asset; post-processes each finished image "
                                   "(verify, measure, publish under a content hash).")),
    "mediagen_budget_batch": ("trigger", ("Example 5: 8 thumbnails on an Apex account holding 60 credits with 20 in "
                              "reserve: the credit guard stops the batch before it overspends.")),
}
GENERATION_SERVICES = ("Ddukddak", "Apex", "FaceDub")
STATE_STYLE = {"success": "green", "failed": "red", "deferred": "magenta", "running": "cyan", "queued": "yellow",
               "scheduled": "yellow", "up_for_retry": "red", "upstream_failed": "red", "skipped": "dim"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagen demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="demo-output",
                        help="folder for the outputs, the gallery and the Airflow home (default ./demo-output; "
                             "a previous demo's folder is replaced)")
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="simulator speed: 0.05 = jobs take 1/20 of their documented time (default)")
    parser.add_argument("--min-job-seconds", type=float, default=3.0,
                        help="no simulated job finishes faster than this (default 3 s; see environment.job_durations)")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds (default 900)")
    parser.add_argument("--dags", default=str(REPO_EXAMPLES), help="folder of the example DAGs")
    parser.add_argument("--parallelism", type=int, default=4, help="LocalExecutor task slots (default 4)")
    parser.add_argument("--plain", action="store_true", help="print state changes instead of a live display")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave Airflow and the simulator up when the examples are done (the UI and its Credits "
                             "page, linked from the gallery) until Ctrl-C")
    parser.add_argument("--production", action="store_true",
                        help="the production shape: PostgreSQL, Redis, CeleryExecutor with 2 workers, 2 triggerers, "
                             "2 API servers behind a balancer (needs PostgreSQL 15's binaries and redis-server)")
    return parser


@dataclass
class Watch:
    """What the demo knows about the runs it started."""

    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tis: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    counters: dict[str, Any] = field(default_factory=dict)
    phase: str = "starting"


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise SystemExit(f"error: {out} exists and is not a mediagen demo folder; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by mediagen demo; replaced by the next one\n")


def _ti_key(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] + (f"[{index}]" if index is not None and index >= 0 else "")


def _elapsed(watch: Watch) -> str:
    return f"{time.monotonic() - watch.started:5.1f}s"


def _table(watch: Watch) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"mediagen demo - {watch.phase} - {_elapsed(watch).strip()}", title_justify="left",
                  expand=False)
    for column in ("example DAG", "run", "tasks done", "running", "deferred", "failed"):
        table.add_column(column)
    for dag_id in EXAMPLES:
        runs = watch.runs.get(dag_id, [])
        tis = [t for t in watch.tis if t["dag_id"] == dag_id]
        states = Counter(t["state"] for t in tis)
        run_states = ", ".join(sorted({r["state"] for r in runs})) or "-"
        style = STATE_STYLE.get(run_states, "")
        done = states["success"] + states["failed"] + states["upstream_failed"] + states["skipped"]
        table.add_row(dag_id, Text(f"{run_states} ({len(runs)})" if len(runs) > 1 else run_states, style=style),
                      f"{done}/{len(tis)}" if tis else "-", str(states["running"] + states["queued"] or ""),
                      Text(str(states["deferred"] or ""), style="magenta"),
                      Text(str(states["failed"] or ""), style="red"))
    sim = watch.counters
    jobs = sum(a.get("jobs_created", 0) for s in sim.values() for a in s.values())
    credits = sum(a.get("credits_charged", 0) - a.get("credits_refunded", 0) for s in sim.values() for a in s.values())
    table.caption = (f"deferred = waiting in the triggerer, holding no worker slot. "
                     f"Simulator: {jobs} jobs submitted, {credits:g} credits charged")
    table.caption_justify = "left"
    return table


class _View:
    """Rebuilt at every refresh of the live display, so the clock ticks during long steps too."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def __rich__(self) -> Any:
        return _table(self.watch)


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.out).resolve()
        self.outputs = self.out / "outputs"
        self.home = self.out / "airflow"
        self.dags = Path(args.dags).resolve()
        self.watch = Watch()
        self.console: Any = None
        self.live: Any = None
        self._last_states: dict[tuple[str, str, str], str] = {}
        self._resources = ExitStack()  # the production shape's servers, stopped after Airflow

    # --- display --------------------------------------------------------------------------------

    def phase(self, text: str) -> None:
        self.watch.phase = text
        if self.live is None:
            self.console.print(f"[dim]{_elapsed(self.watch)}[/dim]  {text}")

    def refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()
            return
        for ti in self.watch.tis:
            key = (ti["dag_id"], ti["dag_run_id"], _ti_key(ti))
            if ti["state"] and self._last_states.get(key) != ti["state"]:
                self._last_states[key] = ti["state"]
                style = STATE_STYLE.get(ti["state"], "")
                self.console.print(f"[dim]{_elapsed(self.watch)}[/dim]  {ti['dag_id']}.{_ti_key(ti)}  "
                                   f"[{style}]{ti['state']}[/{style}]" if style else ti["state"])

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> int:
        from rich.console import Console
        from rich.live import Live

        self.console = Console()
        if not (self.dags / "mediagen_blog_to_video.py").is_file():
            self.console.print(f"[red]error:[/red] no example DAGs in {self.dags}; pass --dags")
            return 2
        _prepare_out(self.out)
        plain = self.args.plain or not self.console.is_terminal
        self.console.print(f"[bold]mediagen demo[/bold]: the example DAGs on real Airflow against the local simulator "
                           f"(time scale {self.args.time_scale:g}); Airflow logs go to {self.home / 'logs'}")
        from ..simulator import SimulatorConfig, SimulatorServer

        sim = SimulatorServer(SimulatorConfig(time_scale=self.args.time_scale, accounts=EXAMPLE_ACCOUNTS,
                                              durations=job_durations(self.args.time_scale, self.args.min_job_seconds)))
        try:
            if plain:
                status = self._run(sim, None)
                self.keep_running()
                return status
            with Live(_View(self.watch), console=self.console, refresh_per_second=4, transient=False) as live:
                self.live = live
                status = self._run(sim, None)
            self.live = None
            self.keep_running()
            return status
        finally:
            self.live = None
            stack = getattr(self, "stack", None)
            if stack is not None:
                self.console.print("[dim]stopping Airflow...[/dim]")
                stack.stop()
            self._resources.close()
            sim.stop()

    def _run(self, sim: Any, _: Any) -> int:
        import httpx

        from .stack import AirflowStack, StackError

        self.phase("starting the simulator")
        sim.start()
        shape, rate_limit_url = None, None
        if self.args.production:
            shape, rate_limit_url = self._production_servers()
        env = {**connection_env(sim.urls, sim.keys, self.args.time_scale, rate_limit_url),
               **variable_env(str(self.outputs))}
        self.stack = stack = AirflowStack(self.home, self.dags, env, parallelism=self.args.parallelism, shape=shape)
        if self.args.production:
            balancer = RoundRobinBalancer(stack.api_urls).start()
            self._resources.callback(balancer.stop)
            # Workers report through the balancer, as to a load-balanced API.
            stack.extra_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{balancer.url}/execution/"
        self.phase(f"creating the Airflow metadata DB ({'SQLite' if stack.sqlite else 'PostgreSQL'})")
        stack.migrate()
        self.phase(f"starting {', '.join(stack.shape.components())}")
        stack.start()
        self.phase("waiting for the DAG processor to parse the examples")
        stack.wait_ready(EXAMPLES, timeout=min(300.0, self.args.timeout))
        self.phase("starting the example runs")
        # Every write to the API first, while nothing runs yet (SQLite: fewer writers at once), the
        # daily DAG last: unpausing it lets the scheduler start today's run.
        for pool in POOLS:
            stack.set_pool(*pool)
        for dag_id, (how, _) in EXAMPLES.items():
            if how != "schedule":
                stack.unpause(dag_id)
        for dag_id, (how, _) in EXAMPLES.items():
            if how == "trigger":
                stack.trigger(dag_id)
        for dag_id, (how, _) in EXAMPLES.items():
            if how == "schedule":
                stack.unpause(dag_id)
        self.phase("running the examples")
        deadline = time.monotonic() + self.args.timeout
        while True:
            try:
                self._poll(sim)
                self.watch.phase = "running the examples"
            except (StackError, httpx.HTTPError) as exc:  # a busy moment of the API server: next tick
                self.watch.phase = f"running the examples (API: {str(exc)[:60]})"
            self.refresh()
            if self._finished():
                break
            if time.monotonic() > deadline:
                self.phase("timed out")
                self.console.print(f"[red]The demo did not finish within {self.args.timeout:.0f} s[/red]; "
                                   f"see the logs in {self.home / 'logs'}")
                return 1
            stack.check_alive()
            time.sleep(1.0)
        self.phase("writing the gallery")
        return self._report(sim)

    def _production_servers(self) -> tuple[Shape, str]:
        """PostgreSQL and Redis for the production shape (stopped after Airflow): the shape, and the
        Redis database that holds the shared rate budgets (Celery's broker has another)."""
        self.phase("starting PostgreSQL 15 and Redis")
        postgres = self._resources.enter_context(PostgresServer())
        redis = self._resources.enter_context(RedisServer(self.out / "redis"))
        shape = Shape(api_servers=2, triggerers=2, celery_workers=2, celery_concurrency=max(1, self.args.parallelism // 2),
                      database_url=postgres.create_database("airflow"), broker_url=redis.url)
        return shape, redis.url.rsplit("/", 1)[0] + "/1"

    def _poll(self, sim: Any) -> None:
        runs = self.stack.all_runs(EXAMPLES)
        self.watch.runs = {dag_id: [r for r in runs if r["dag_id"] == dag_id] for dag_id in EXAMPLES}
        self.watch.tis = self.stack.all_task_instances(EXAMPLES)
        self.watch.counters = sim.counters()

    def _finished(self) -> bool:
        runs = self.watch.runs
        if any(not runs.get(d) for d, (how, _) in EXAMPLES.items() if how != "asset"):
            return False
        if any(r["state"] not in ("success", "failed") for rs in runs.values() for r in rs):
            return False
        photos = [t for t in self.watch.tis if t["dag_id"] == "mediagen_product_photos" and t["state"] == "success"]
        return self._processed() >= len(photos)

    def _processed(self) -> int:
        """How many product photos the asset-triggered runs have published so far (one sidecar each)."""
        return len(list((self.outputs / "published").glob("*.json")))

    # --- results --------------------------------------------------------------------------------

    def _guard_note(self, ti: dict[str, Any]) -> str:
        """The failure reason from the task's log (the credit guard says what it refused)."""
        try:
            answer = self.stack.http.get(
                f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/logs/"
                f"{ti['try_number']}", params={"map_index": ti["map_index"], "full_content": True},
                headers={"Authorization": f"Bearer {self.stack.token()}", "Accept": "application/json"})
            text = answer.text
        except Exception:  # noqa: BLE001
            text = ""
        import re

        found = re.search(r"apex balance is [^\"\\]*?nothing was submitted", text)
        return found.group(0) if found else "failed before submitting (see its log)"

    def _report(self, sim: Any) -> int:
        jobs = {j["id"]: j for j in sim.jobs()}
        items: list[GalleryItem] = []
        failures = 0
        for dag_id in EXAMPLES:
            for ti in sorted((t for t in self.watch.tis if t["dag_id"] == dag_id),
                             key=lambda t: (t["task_id"], t.get("map_index", -1))):
                operator = ti.get("operator") or ""
                is_generation = operator.startswith(GENERATION_SERVICES) and operator.endswith("Operator")
                if not is_generation:
                    failures += ti["state"] == "failed"
                    continue
                if ti["state"] == "success":
                    result = self.stack.xcom(dag_id, ti["dag_run_id"], ti["task_id"], ti.get("map_index", -1))
                    item = items_from_result(dag_id, _ti_key(ti), result, started=ti.get("start_date"),
                                             duration=ti.get("duration"))
                    job = jobs.get(str(result.get("job_id")))
                    if job and job.get("created_at") and job.get("finished_at"):
                        took = _seconds(job["finished_at"]) - _seconds(job["created_at"])
                        item.note = (f"the job took {took:.1f} s at the (time-scaled) service" if took >= 0.05
                                     else "answered at once (synchronous)")
                    items.append(item)
                elif ti["state"] == "failed":
                    guard = dag_id == "mediagen_budget_batch"
                    failures += not guard
                    service, kind = _service_kind(operator)
                    items.append(GalleryItem(section=dag_id, task=_ti_key(ti), service=service, kind=kind, job_id=None,
                                             status="stopped" if guard else "failed", started=ti.get("start_date"),
                                             duration=ti.get("duration"),
                                             note=self._guard_note(ti) if guard else "failed (see its log)"))
        processed = self._processed()
        runs = self.watch.runs
        summary = [(f"Example 4: {processed} product photo(s) post-processed by "
                    f"{len(runs.get('mediagen_media_postprocess', []))} asset-triggered run(s)"),
                   f"Wall time {time.monotonic() - self.watch.started:.0f} s on real Airflow (LocalExecutor, SQLite)"]
        ledger = self._ledger()
        if ledger:
            summary.append(ledger)
        page = f"{self.stack.base_url}/mediagen/credits/page?since=1d"
        note = ("(Airflow's Browse menu; it stays up while this demo runs with --keep-running)"
                if not self.args.keep_running else "(Airflow's Browse menu)")
        gallery = write_gallery(self.out / "gallery.html", items, sections={d: text for d, (_, text) in EXAMPLES.items()},
                                summary=summary, links=[("Credits page", page, note)])
        self._print_summary(items, gallery, processed)
        if ledger:
            self.console.print(ledger + f"  (Credits page: {page})")
        bad_runs = [d for d, rs in runs.items() for r in rs if r["state"] != "success"]
        if bad_runs or failures:
            self.console.print(f"[red]Some runs failed: {', '.join(bad_runs) or 'tasks'}[/red]; logs in "
                               f"{self.home / 'logs'}")
            return 1
        return 0

    def _ledger(self) -> str | None:
        """The credits ledger of the runs, as the Credits page reads it from the API server."""
        try:
            answer = self.stack.http.get("/mediagen/credits/overview", params={"since": "1d"},
                                         headers={"Authorization": f"Bearer {self.stack.token()}"})
            answer.raise_for_status()
            total = answer.json()["total"]
        except Exception as exc:  # noqa: BLE001 - the gallery is still written
            self.console.print(f"[yellow]The credits ledger could not be read: {str(exc)[:200]}[/yellow]")
            return None
        return (f"Credits ledger: {total['charged']:g} charged, {total['refunded']:g} refunded "
                f"({total['jobs']} jobs, {total['failed']} failed)")

    def keep_running(self) -> None:
        """Leave Airflow up (the UI, the Credits page) until Ctrl-C, then stop as usual."""
        stack = getattr(self, "stack", None)
        if stack is None or not self.args.keep_running:
            return
        self.console.print(f"Airflow UI: [bold]{stack.base_url}[/bold]  (Browse > Credits: "
                           f"{stack.base_url}/mediagen/credits/page); Ctrl-C stops everything")
        try:
            while True:
                stack.check_alive()
                time.sleep(2.0)
        except KeyboardInterrupt:
            pass

    def _print_summary(self, items: Iterable[GalleryItem], gallery: Path, processed: int) -> None:
        from rich.table import Table

        items = list(items)
        table = Table(title="What the examples made", title_justify="left")
        for column in ("example DAG", "files", "credits", "stopped by the guard"):
            table.add_column(column)
        for dag_id in EXAMPLES:
            mine = [i for i in items if i.section == dag_id]
            if dag_id == "mediagen_media_postprocess":
                table.add_row(dag_id, f"{processed} published", "-", "")
                continue
            table.add_row(dag_id, str(sum(len(i.files) for i in mine)),
                          f"{sum(i.credits or 0 for i in mine if i.status == 'succeeded'):g}",
                          str(sum(1 for i in mine if i.status == "stopped") or ""))
        self.console.print(table)
        self.console.print(f"Gallery:  [bold]{gallery}[/bold]  (open it in a browser: file://{gallery})")
        self.console.print(f"Outputs:  {self.outputs}")
        self.console.print(f"Logs:     {self.home / 'logs'}  (Airflow processes and every task)")
        self.console.print(f"Wall time: {time.monotonic() - self.watch.started:.0f} s")


def _seconds(stamp: Any) -> float:
    if isinstance(stamp, (int, float)):
        return float(stamp)
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def _service_kind(operator: str) -> tuple[str, str]:
    from .. import naming
    from ..catalog import SERVICES

    for service, spec in SERVICES.items():
        for kind in spec.kinds:
            if naming.operator_class_name(service, kind) == operator:
                return service, kind
    return "?", "?"


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C, so every process the demo started is stopped


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return Demo(args).run()
    except KeyboardInterrupt:
        print("interrupted; everything the demo started was stopped", file=sys.stderr)
        return 130
