"""The measured process: N waits on one asyncio event loop, as the triggerer runs them.

Started by ``benchmarks.run`` (pinned to its own CPU), it imports everything, prints ``READY``, then
reads one JSON spec line from stdin and prints one JSON result line on stdout.

``ours``: each wait is a :class:`MediaJobTrigger` re-created from its serialized kwargs (JSON
round-tripped, as the triggerer loads it from the metadata DB) and its ``run()`` iterated until the first
event, one task per trigger, as the triggerer's ``TriggerRunner`` does. The connection is read by the
provider's own ``BaseHook.aget_connection`` path from ``AIRFLOW_CONN_*`` variables (the environment
secrets backend, which the triggerer consults first too).

``baseline``: the naive design of common providers: one loop per waiting task, whose hook reads the
connection through Airflow's lookup (and so its secrets masker) when it starts, then one GET of its job
per interval, a fixed back-off on any error (429 included), ``Retry-After`` ignored. It is given one
shared connection pool (more generous than providers that open a session per request).

``batch``: 100 mapped tasks: each submits with the provider's sync client (in a pool of 32 worker
slots, Airflow's default parallelism) then defers to the trigger; FaceDub tasks run in a pool of 2
slots that counts deferred tasks, as its 2-concurrent-jobs rule requires.

Measured: CPU seconds (``getrusage``) and peak RSS over the RSS before the waits start (``VmHWM``
after resetting it through ``/proc/self/clear_refs``), and the longest event-loop stall, seen by a
ticker task that sleeps 10 ms and records how late it wakes.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TICK = 0.01


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Ticker:
    def __init__(self) -> None:
        self.max_stall = 0.0
        self.max_stall_at = 0.0  # seconds after the start
        self.stalls_over_50ms = 0
        self.stalls_over_200ms = 0
        self.peak_rss_kb = 0
        self.last_tick = time.monotonic()
        # CPython's cyclic GC pauses the loop too; its longest pause tells a GC stall from the code's own.
        self.max_gc_pause = 0.0
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        n = 0
        while True:
            expected = loop.time() + TICK
            await asyncio.sleep(TICK)
            late = loop.time() - expected
            self.last_tick = time.monotonic()
            if late > self.max_stall:
                self.max_stall, self.max_stall_at = late, loop.time() - t0
            if late > 0.05:
                self.stalls_over_50ms += 1
            if late > 0.2:
                self.stalls_over_200ms += 1
            n += 1
            if n % 10 == 0:
                self.peak_rss_kb = max(self.peak_rss_kb, _rss_kb("VmRSS"))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.max_gc_pause = max(self.max_gc_pause, time.perf_counter() - self._gc_started)

    def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)


def _set_connections(conns: dict[str, dict[str, Any]], scale: float, read_share: float | None = None) -> None:
    extra: dict[str, Any] = {"time_scale": scale}
    if read_share is not None:  # else the provider's default
        extra["read_share"] = read_share
    for conn_id, c in conns.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
            "conn_type": f"mediagen_{c['service']}", "password": c["key"], "host": c["base_url"],
            "extra": extra})


class _LazyPattern:
    """A regex compiled on first use: what an upstream fix of Airflow's masker would do (compile once per
    redaction after additions, instead of once per addition)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._compiled: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            import re

            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


def _compile_masker_lazily() -> None:
    """``--lazy-masker``: Airflow's ``SecretsMasker.add_mask`` recompiles the regex of every secret on each
    new one; here its module's ``re.compile`` returns a pattern compiled on first use, so additions cost
    O(1) and a redaction compiles once. Everything else of the lookup and the masking is Airflow's own."""
    import re
    import types

    from airflow.sdk._shared.secrets_masker import secrets_masker

    lazy_re = types.SimpleNamespace(**{name: getattr(re, name) for name in dir(re) if not name.startswith("__")})
    lazy_re.compile = _LazyPattern
    secrets_masker.re = lazy_re  # type: ignore[attr-defined]


def _revive(trigger: Any) -> Any:
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))
    module, name = classpath.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**kwargs)


# --- the two designs ---------------------------------------------------------------------------------

async def run_ours(spec: dict[str, Any], events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from airflow_provider_mediagen.triggers import MediaJobTrigger
    from airflow_provider_mediagen.triggers.pollers import pollers_of_this_loop

    async def one(job: dict[str, Any]) -> None:
        trigger = _revive(MediaJobTrigger(conn_id=job["conn_id"], service=job["service"], kind=job["kind"],
                                          job_id=job["job_id"], deadline=job["deadline"],
                                          poll_interval=job["poll_interval"]))
        try:
            async for event in trigger.run():
                events[job["job_id"]] = {"t": time.time(), "status": event.payload.get("status")}
                break
        finally:
            await trigger.cleanup()

    done, pending = await _run_like_the_triggerer(one, spec["jobs"], spec["cap"])
    for task in pending:
        task.cancel()
    errors = [repr(t.exception()) for t in done if not t.cancelled() and t.exception() is not None]
    stats: dict[str, int] = {}
    for poller in pollers_of_this_loop().values():
        for name, value in vars(poller.stats).items():
            stats[name] = stats.get(name, 0) + value
    return {"poller_stats": stats, "pollers": len(pollers_of_this_loop()), "task_errors": errors[:5]}


async def _run_like_the_triggerer(one: Callable[[dict[str, Any]], Awaitable[None]], jobs: list[dict[str, Any]],
                                  cap: float) -> tuple[set[asyncio.Task[None]], set[asyncio.Task[None]]]:
    """One task per trigger, created the way Airflow 3.3's ``TriggerRunner.create_triggers`` does (it
    yields to the loop before each new trigger, so the first steps of thousands of triggers do not all
    run in one loop iteration), then (done, pending) once all end or ``cap`` seconds from the start pass."""
    started = time.monotonic()
    tasks = []
    for job in jobs:
        await asyncio.sleep(0)
        tasks.append(asyncio.ensure_future(one(job)))
    return await asyncio.wait(tasks, timeout=max(0.0, cap - (time.monotonic() - started)))


def _status_url(base_url: str, service: str, job_id: str) -> str:
    if service == "ddukddak":
        return f"{base_url}/ai/videos/{job_id}"
    if service == "apex":
        return f"{base_url}/api/jobs?id={job_id}"
    return f"{base_url}/jobs/{job_id}"


async def run_baseline(spec: dict[str, Any], events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    import httpx
    from airflow.sdk import BaseHook

    conns = spec["conns"]
    sent = {"requests": 0, "429": 0, "errors": 0}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(trust_env=False, limits=limits,
                                 timeout=httpx.Timeout(30.0, pool=None)) as http:
        async def one(job: dict[str, Any]) -> None:
            if spec.get("lookup", True):
                # As a common provider's trigger does: its hook reads the connection through Airflow's
                # lookup (secrets backends, then the secrets masker) when the trigger starts.
                conn = await BaseHook.aget_connection(job["conn_id"])
                key, base_url = conn.password, conn.host
            else:  # the earlier, unfair baseline: the key handed over, no lookup, no masking
                key, base_url = conns[job["conn_id"]]["key"], conns[job["conn_id"]]["base_url"]
            url = _status_url(base_url, job["service"], job["job_id"])
            headers = {"Authorization": f"Bearer {key}"}
            interval = job["poll_interval"]
            while time.time() < job["deadline"]:
                sent["requests"] += 1
                try:
                    response = await http.get(url, headers=headers)
                except httpx.HTTPError:
                    sent["errors"] += 1
                    await asyncio.sleep(interval)  # fixed back-off
                    continue
                if response.status_code == 200:
                    body = response.json()
                    body = body.get("data", body) if isinstance(body, dict) else body
                    if body.get("status") in ("completed", "failed"):
                        events[job["job_id"]] = {"t": time.time(), "status": body["status"]}
                        return
                elif response.status_code == 429:
                    sent["429"] += 1  # Retry-After ignored: the same fixed interval
                else:
                    sent["errors"] += 1
                await asyncio.sleep(interval)

        _, pending = await _run_like_the_triggerer(one, spec["jobs"], spec["cap"])
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return {"client_counts": sent}


async def run_batch(spec: dict[str, Any], events: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """100 mapped tasks: submit in a worker slot (sync client, as the operator does), then defer."""
    from airflow_provider_mediagen.client import MediaClient, MediaGenError
    from airflow_provider_mediagen.triggers import MediaJobTrigger

    from .common import BENCH

    slots = ThreadPoolExecutor(32)
    loop = asyncio.get_running_loop()
    conns = spec["conns"]
    pools = {s: asyncio.Semaphore(2) for s in ("facedub",)}
    submitted: dict[str, float] = {}
    failures: list[str] = []

    # One sync client per connection, shared by the worker slots (httpx.Client is thread-safe): building one
    # per task would put ~30 ms of CPU per task into this process, which separate worker processes do not.
    clients = {cid: MediaClient(c["service"], c["key"], base_url=c["base_url"], time_scale=spec["scale"])
               for cid, c in conns.items()}

    def submit(job: dict[str, Any]) -> str:
        client = clients[job["conn_id"]]
        body: dict[str, Any]
        if job["service"] == "ddukddak":
            body = {"prompt": "batch", "model": "veo-3", "duration": "8"}
        elif job["service"] == "apex":
            body = {"script": "batch", "duration": 5, "resolution": "720p", "model": "wan-2.6"}
        else:
            import io

            from .setup_jobs import _VIDEO, _photo
            body = {"character_photo": ("p.jpg", io.BytesIO(_photo())),
                    "reference_video": ("v.mp4", io.BytesIO(_VIDEO)), "duration": 5}
        # Then the operator defers at once: these kinds are too slow for its inline check.
        return client.submit(BENCH[job["service"]].kind, body).id

    async def task(i: int, job: dict[str, Any]) -> None:
        pool = pools.get(job["service"])
        if pool is not None:
            await pool.acquire()
        try:
            try:
                job_id = await loop.run_in_executor(slots, submit, job)
            except MediaGenError as exc:
                failures.append(f"{job['service']}: {exc}")
                return
            submitted[job_id] = time.time()
            trigger = _revive(MediaJobTrigger(conn_id=job["conn_id"], service=job["service"],
                                              kind=BENCH[job["service"]].kind, job_id=job_id,
                                              deadline=job["deadline"], poll_interval=job["poll_interval"],
                                              first_read_at=time.time() + job["poll_interval"]))
            async for event in trigger.run():
                events[job_id] = {"t": time.time(), "status": event.payload.get("status"), "i": i}
                break
        finally:
            if pool is not None:
                pool.release()

    tasks = [asyncio.ensure_future(task(i, job)) for i, job in enumerate(spec["jobs"])]
    done, pending = await asyncio.wait(tasks, timeout=spec["cap"])
    for t in pending:
        t.cancel()
    slots.shutdown(wait=False, cancel_futures=True)
    errors = [repr(t.exception()) for t in done if not t.cancelled() and t.exception() is not None]
    return {"submitted": submitted, "failures": failures[:10], "failed": len(failures), "task_errors": errors[:5]}


# --- main ----------------------------------------------------------------------------------------------

async def measure(spec: dict[str, Any]) -> dict[str, Any]:
    runner = {"ours": run_ours, "baseline": run_baseline, "batch": run_batch}[spec["side"]]
    events: dict[str, dict[str, Any]] = {}
    ticker = Ticker()
    peak_reset = _reset_peak()
    rss0 = _rss_kb("VmRSS")
    ticker.peak_rss_kb = rss0
    cpu0, wall0 = _cpu(), time.time()
    ticker.start()

    def snapshot(extra: dict[str, Any]) -> dict[str, Any]:
        cpu, wall = _cpu() - cpu0, time.time() - wall0
        peak = max(ticker.peak_rss_kb, _rss_kb("VmHWM") if peak_reset else 0)
        return {"side": spec["side"], "started": wall0, "wall": wall, "cpu": cpu, "rss0_kb": rss0,
                "peak_extra_mb": (peak - rss0) / 1024, "max_stall": ticker.max_stall,
                "max_stall_at": ticker.max_stall_at, "stalls_over_50ms": ticker.stalls_over_50ms,
                "stalls_over_200ms": ticker.stalls_over_200ms, "max_gc_pause": ticker.max_gc_pause, "events": dict(events), **extra}

    def watchdog() -> None:
        # A saturated loop may never reach its own timeout (the baseline at 10,000): report what was
        # seen from outside the loop and end the process. The stall in progress counts too.
        stalled = time.monotonic() - ticker.last_tick
        ticker.max_stall = max(ticker.max_stall, stalled)
        sys.stdout.write(json.dumps(snapshot({"watchdog": True})) + "\n")
        sys.stdout.flush()
        os._exit(0)

    timer = threading.Timer(spec["cap"] + 20.0, watchdog)
    timer.daemon = True
    timer.start()
    extra = await runner(spec, events)
    timer.cancel()
    ticker.stop()
    return snapshot(extra)


def main() -> int:
    from .common import pin

    pin(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else None)
    import logging

    import httpx  # noqa: F401  everything the waits need is imported before measuring

    from airflow_provider_mediagen.client import MediaClient  # noqa: F401
    from airflow_provider_mediagen.triggers import MediaJobTrigger  # noqa: F401
    from airflow_provider_mediagen.triggers.pollers import shared_poller  # noqa: F401

    # A running triggerer has already imported what the first connection lookup imports lazily
    # (~0.1 s of Airflow's secrets and execution-time modules): do it here, before measuring.
    os.environ["AIRFLOW_CONN_BENCH_WARMUP"] = json.dumps({"conn_type": "mediagen_apex", "password": "sk_live_x",
                                                          "host": "http://127.0.0.1:9/apex"})

    async def warm_up() -> None:
        from airflow_provider_mediagen.hooks.mediagen import hook_for
        from airflow_provider_mediagen.triggers.events import JobEvent  # noqa: F401

        client = await hook_for("apex", "bench_warmup").aget_client()
        await client.aclose()

    asyncio.run(warm_up())
    del os.environ["AIRFLOW_CONN_BENCH_WARMUP"]
    # The triggerer sends trigger logs to per-trigger handlers; here they are dropped below WARNING.
    logging.getLogger("airflow_provider_mediagen").setLevel(logging.WARNING)
    logging.getLogger("airflow").setLevel(logging.WARNING)
    print("READY", flush=True)
    spec = json.loads(sys.stdin.readline())
    _set_connections(spec["conns"], spec["scale"], spec.get("read_share"))
    if spec.get("lazy_masker"):
        _compile_masker_lazily()
    profile_to = os.environ.get("MEDIAGEN_BENCH_PROFILE")
    if profile_to:  # where the measured process spends its CPU (the timings then include cProfile's cost)
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, measure(spec))
        profiler.dump_stats(f"{profile_to}.{spec['side'].replace(' ', '').replace(',', '-')}")
    else:
        result = asyncio.run(measure(spec))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
