"""One Apex key, many processes: 4 submitting processes (50 jobs each) and 2 triggerer-like pollers
(issue 28), run once per side:

- ``per-process``: today's embedded default, each process its own limiter (each believes it owns the
  key's whole budget);
- ``shared``: the connection extra ``rate_limit_url`` pointing at one Redis (started here, Debian's
  ``redis-server`` on a free loopback port);
- ``shared, Redis down``: the same, with Redis killed for 60 documented seconds mid-run and started
  again (empty), to show what the per-process fallback costs.

The simulator counts what the service sees: 429s per endpoint, and (sampled by this orchestrator every
10 documented seconds) the status reads of each tumbling 10 s window against the documented 20 / 10 s.
Each submitter's job ids are handed, as they are accepted, to one of the two pollers (as a worker's
deferral hands a trigger to a triggerer).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from .common import catalog_limit, transit_seconds
from airflow_provider_mediagen.demo.servers import RedisServer
from .sim import SimProcess

SUBMITTERS = 4
JOBS_EACH = 50
POLLERS = 2
#: The docs' polling example reads a job every 2 s.
POLL_INTERVAL = 2.0
#: The outage of the "Redis down" side, in documented seconds after the start.
OUTAGE = (100.0, 160.0)
SIDES = ("per-process", "shared", "shared, Redis down")
SUBMIT_ENDPOINT = "POST /api/generate/image"


def submit_bound(jobs: int) -> float:
    """Documented seconds from the first to the last accepted submission at the full generation budget
    (fixed windows: ``limit`` at once, then ``limit`` more per window)."""
    limit, window = catalog_limit("apex", "generation")
    return (math.ceil(jobs / limit) - 1) * window


class _Worker:
    """A worker process whose stderr is drained as it comes (the client's retry warnings of the
    per-process side fill a pipe's buffer long before the end) and kept for counting."""

    def __init__(self, args: list[str], stdin: int | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.budget_worker", *args], stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.stderr: list[str] = []
        self._drain = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr or ()), daemon=True)
        self._drain.start()

    def finish(self, timeout: float) -> str:
        self.proc.wait(timeout=timeout)
        self._drain.join(timeout=60)
        return "".join(self.stderr)


def _records(stream: IO[str]) -> list[dict[str, Any]]:
    out = []
    for line in stream:
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"noise": line.strip()})
    return out


class _Sampler(threading.Thread):
    """Cumulative status reads (every answer of ``GET /api/jobs``) of one account every 10 documented
    seconds, on an absolute schedule, from the simulator's own counters."""

    def __init__(self, sim: SimProcess, account: str, scale: float) -> None:
        super().__init__(daemon=True)
        self.sim, self.account, self.period = sim, account, 10.0 * scale
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stop.is_set():
            self.samples.append(sum(_requests(self.sim, self.account).get("GET /api/jobs", {}).values()))
            next_at += self.period
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def _requests(sim: SimProcess, account: str) -> dict[str, dict[str, int]]:
    return sim.counters()["apex"].get(account, {}).get("requests", {})


def run_side(sim: SimProcess, scale: float, side: str, folder: Path, jobs_each: int = JOBS_EACH) -> dict[str, Any]:
    name = "budget" + "".join(c for c in side if c.isalnum())[:20]
    key = f"sk_live_{name}"
    sim.add_account("apex", key, "enterprise", name)
    redis = RedisServer(folder / "redis") if side != "per-process" else None
    url = redis.start().url if redis else "-"
    start_at = time.time() + 6.0  # every process has imported the client by then
    pollers = [_Worker(["poll", sim.url("apex"), key, str(scale), url, str(POLL_INTERVAL * scale)],
                      stdin=subprocess.PIPE) for _ in range(POLLERS)]
    submitters = [_Worker(["submit", sim.url("apex"), key, str(scale), url, str(jobs_each), str(start_at), str(i)])
                  for i in range(SUBMITTERS)]
    sampler = _Sampler(sim, name, scale)
    submitted: list[list[dict[str, Any]]] = [[] for _ in submitters]
    locks = [threading.Lock() for _ in pollers]

    def forward(i: int) -> None:
        """Hands each accepted job to poller ``i % POLLERS`` as soon as it is accepted."""
        proc, poller = submitters[i].proc, pollers[i % POLLERS].proc
        assert proc.stdout is not None and poller.stdin is not None
        for line in proc.stdout:
            record = json.loads(line)
            submitted[i].append(record)
            if "job" in record:
                with locks[i % POLLERS]:
                    poller.stdin.write(record["job"] + "\n")
                    poller.stdin.flush()

    forwarders = [threading.Thread(target=forward, args=(i,), daemon=True) for i in range(SUBMITTERS)]
    for thread in forwarders:
        thread.start()
    time.sleep(max(0.0, start_at - time.time()))
    sampler.start()
    if redis is not None and side.endswith("Redis down"):
        time.sleep(OUTAGE[0] * scale)
        redis.kill()
        time.sleep((OUTAGE[1] - OUTAGE[0]) * scale)
        redis.start()
    submit_errors = []
    for worker, thread in zip(submitters, forwarders):
        submit_errors.append(worker.finish(timeout=3600))
        thread.join(timeout=60)
    for poller in pollers:
        assert poller.proc.stdin is not None
        poller.proc.stdin.close()
    poll_records, poll_errors = [], []
    for poller in pollers:
        assert poller.proc.stdout is not None
        poll_records.append(_records(poller.proc.stdout))  # a few KB: no drain needed before the end
        poll_errors.append(poller.finish(timeout=600))
    sampler.stop.set()
    sampler.join(timeout=60)
    if redis is not None:
        redis.kill()
    return _summary(side, scale, sim, name, start_at, jobs_each, submitted, poll_records, submit_errors + poll_errors,
                    sampler.samples)


def _summary(side: str, scale: float, sim: SimProcess, account: str, start_at: float, jobs_each: int,
             submitted: list[list[dict[str, Any]]], polled: list[list[dict[str, Any]]], stderr: list[str],
             samples: list[int]) -> dict[str, Any]:
    requests = _requests(sim, account)
    accepted = [r["at"] for rs in submitted for r in rs if "job" in r]
    failed = [r["failed"] for rs in submitted for r in rs if "failed" in r]
    detections = [r["at"] for rs in polled for r in rs if "detected" in r and "at" in r]
    summaries = [r for rs in polled for r in rs if r.get("done")]
    per_window = [b - a for a, b in zip(samples, samples[1:])]
    read_limit, _ = catalog_limit("apex", "read")
    jobs = SUBMITTERS * jobs_each
    makespan = (max(accepted) - start_at) / scale if accepted else math.nan
    return {
        "side": side, "scale": scale, "transit_s": transit_seconds(), "submitters": SUBMITTERS, "jobs": jobs, "pollers": POLLERS,
        "accepted": len(accepted), "failed": len(failed), "failures": sorted(set(failed)),
        "submit_429": requests.get(SUBMIT_ENDPOINT, {}).get("429", 0),
        "read_429": requests.get("GET /api/jobs", {}).get("429", 0),
        "reads": sum(requests.get("GET /api/jobs", {}).values()),
        "reads_per_window_max": max(per_window, default=0), "read_limit": read_limit,
        "reads_per_window_mean": (sum(per_window) / len(per_window)) if per_window else 0.0,
        "windows": len(per_window),
        "makespan": makespan, "bound": submit_bound(jobs), "ratio": makespan / submit_bound(jobs),
        "detected": len(detections), "poll_errors": [e for s in summaries for e in s.get("errors", [])],
        "last_detection": (max(detections) - start_at) / scale if detections else math.nan,
        "unreachable_warnings": sum(e.count("is unreachable") for e in stderr),
        "reachable_again": sum(e.count("is reachable again") for e in stderr),
        "processes": SUBMITTERS + POLLERS,
    }


def run_budget(scale: float, sides: tuple[str, ...] = SIDES, jobs_each: int = JOBS_EACH) -> list[dict[str, Any]]:
    """Every side against one simulator (its own account each, so the counters are the side's own)."""
    out = []
    with SimProcess(scale, cpu=None) as sim, tempfile.TemporaryDirectory(prefix="mediagen-budget-") as tmp:
        for side in sides:
            folder = Path(tmp) / side.replace(" ", "").replace(",", "-")
            out.append(run_side(sim, scale, side, folder, jobs_each))
    return out


if __name__ == "__main__":
    for row in run_budget(float(sys.argv[1]) if len(sys.argv) > 1 else 0.1):
        print(json.dumps(row))
