"""The fault soak: many tasks through the operators' real code paths, every request, download and webhook
fault of the simulator at seeded rates at once, and SIGKILLs of the process running a try, each followed by
a retry in a new process. Webhooks go to the receiver app (served here on loopback, SQLite store): Apex's
account webhook, and Ddukddak's per-request one on one of its two connections. Everything is counted from
the simulator's own records (jobs, charges, file digests, fetches of the forger's URL), not from our logs.

    .venv/bin/python -m benchmarks.soak                      # 1,000 tasks, 200 kills (benchmarks/SOAK.md)
    .venv/bin/python -m benchmarks.soak --jobs 100 --kills 20 --out -

Exit status 1 when any of the zeros is not zero. Tries run in worker processes (``soak_worker.py``), one
try at a time each, FaceDub's in two slots of their own (its two-concurrent-jobs rule, as a pool of 2
would); Airflow's retries are the soak's: up to 3 tries, none after a final error.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .receiver import ServedReceiver, free_port
from .sim import SimProcess

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "dags_examples" / "data"
MAX_TRIES = 3
#: each task's timeout, real seconds: at a time scale of 0.005, 12,000 of the services' seconds, far beyond
#: any job. It bounds the one wait that cannot end sooner: a Ddukddak submit whose connection dropped, on a
#: connection with a receiver, waits for a delivery naming the submission, which never comes when the
#: request never reached the service (the user then gets SubmissionUncertainError).
TASK_TIMEOUT = 60
#: a try running this long (real seconds) is hung: the soak reports it, with its stacks, and stops
STALL_SECONDS = float(os.environ.get("MEDIAGEN_SOAK_STALL_SECONDS", str(TASK_TIMEOUT + 90)))
KEYS = {"apex": "sk_live_soak-0c1d2e3f4a5b", "ddukddak": "dd_live_soak-9a8b7c6d5e4f", "facedub": "fdb_soak-1a2b3c4d5e6f"}
PLANS = {"apex": "enterprise", "ddukddak": "enterprise", "facedub": "agency"}
WEBHOOK_SECRET = "whsec-soak-7e3a91c0d2"
#: connection id -> service, and whether it has a webhook setup (the receiver this soak serves): Apex's
#: account-level webhook, and Ddukddak's per-request webhook_url (naming the submission) on one of its two
#: connections, so a lost Ddukddak answer is adopted from its delivery there and uncertain on the other.
CONNECTIONS = {"soak_apex": ("apex", True), "soak_ddukddak": ("ddukddak", False),
               "soak_ddukddak_hooked": ("ddukddak", True), "soak_facedub": ("facedub", False)}
#: (operator, connection id, submit endpoint, parameters for task number i)
KINDS: list[tuple[str, str, str, Any]] = [
    ("ApexImageOperator", "soak_apex", "POST /api/generate/image", lambda i: {"prompt": f"soak image {i}", "width": 256, "height": 256}),
    ("ApexVoiceOperator", "soak_apex", "POST /api/generate/voice", lambda i: {"text": f"Soak voice number {i}."}),
    ("ApexText2VideoOperator", "soak_apex", "POST /api/generate/text2video",
     lambda i: {"script": f"soak video {i}"}),
    ("DdukddakAIImageOperator", "soak_ddukddak", "POST /ai/images",
     lambda i: {"prompt": f"soak thumbnail {i}", "model": "gemini-2.5-flash-image"}),
    ("DdukddakTemplateImageOperator", "soak_ddukddak", "POST /images",
     lambda i: {"template": "summer-sale-banner", "properties": [{"name": "title", "text": f"Soak {i}"}]}),
    ("FaceDubVideoOperator", "soak_facedub", "POST /jobs",
     lambda i: {"character_photo": str(DATA / "character.jpg"), "reference_video": str(DATA / "reference.mp4"),
                "duration": 2}),
    ("DdukddakAIImageOperator", "soak_ddukddak_hooked", "POST /ai/images",
     lambda i: {"prompt": f"soak hooked thumbnail {i}", "model": "gemini-2.5-flash-image"}),
]


def fault_rules() -> list[dict[str, Any]]:
    """Every request, response, status-read and download fault at once, at seeded rates."""
    rules: list[dict[str, Any]] = []
    for service in ("apex", "ddukddak", "facedub"):
        submits = sorted({endpoint for _, conn_id, endpoint, _ in KINDS if CONNECTIONS[conn_id][0] == service})
        rules += [
            {"service": service, "fault": "status", "status": 429, "retry_after": 0.2, "probability": 0.04},
            {"service": service, "fault": "status", "status": 503, "retry_after": 0.1, "probability": 0.02},
            {"service": service, "fault": "drop", "probability": 0.01},
            {"service": service, "fault": "malformed", "probability": 0.01},
            {"service": service, "fault": "read_lag", "delay": 0.5, "probability": 0.1},
            {"service": service, "fault": "job_fail", "probability": 0.03},
            {"service": service, "fault": "truncate", "probability": 0.05},
            {"service": service, "fault": "expire_url", "probability": 0.03},
        ]
        if service != "facedub":  # FaceDub documents no webhooks
            rules += [
                {"service": service, "fault": "webhook_fail", "probability": 0.1},
                {"service": service, "fault": "webhook_duplicate", "probability": 0.1},
                {"service": service, "fault": "webhook_out_of_order", "probability": 0.1},
                {"service": service, "fault": "webhook_forge", "probability": 0.05},
            ]
        for endpoint in submits:
            rules += [
                {"service": service, "endpoint": endpoint, "fault": "slow", "delay": 0.4, "probability": 0.08},
                {"service": service, "endpoint": endpoint, "fault": "lose_response", "probability": 0.03},
                {"service": service, "endpoint": endpoint, "fault": "unknown_status", "probability": 0.02},
                {"service": service, "endpoint": endpoint, "fault": "wrong_shape", "probability": 0.02},
            ]
    return rules


@dataclass
class Task:
    name: str
    service: str
    spec: dict[str, Any]
    kill_after: float | None = None  # seconds after its first try starts
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    killed_in: str | None = None  # what its state record said when the kill landed

    @property
    def final(self) -> dict[str, Any] | None:
        return self.outcomes[-1] if self.outcomes else None


class Slot(threading.Thread):
    """One worker process at a time, running the tries of one queue; restarted after a kill."""

    def __init__(self, name: str, queue: Queue[tuple[Task, int]], env: dict[str, str], logs: Path,
                 finished: Queue[Task]) -> None:
        super().__init__(name=name, daemon=True)
        self.queue, self.env, self.logs, self.finished = queue, env, logs, finished
        self.proc: subprocess.Popen[str] | None = None
        self.started_workers = 0
        self.peak_rss_kb = 0

    def _start(self) -> subprocess.Popen[str]:
        self.started_workers += 1
        self.log = open(self.logs / f"{self.name}-{self.started_workers}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.soak_worker"], cwd=ROOT, env=self.env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, bufsize=1)
        self.proc = proc
        if self._next("READY") is None:
            raise RuntimeError(f"a soak worker did not start (see {self.log.name})")
        return proc

    def _next(self, *prefixes: str) -> str | None:
        """The next protocol line; anything else the worker prints (Airflow logs to stdout too) goes to
        its log file. None when the process ended (killed)."""
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(prefixes):
                return line
            self.log.write(line)
        return None

    def _rss(self) -> None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()  # type: ignore[union-attr]
            self.peak_rss_kb = max(self.peak_rss_kb, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass

    def run(self) -> None:
        while True:
            try:
                task, try_number = self.queue.get(timeout=0.5)
            except Empty:
                if self.stopping:
                    break
                continue
            if self.aborted.is_set():
                break
            if self.proc is None:
                self.proc = self._start()
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps({"task": task.name, "try": try_number, "spec": task.spec}) + "\n")
            self.proc.stdin.flush()
            self._next("START ")
            self.current = (task, try_number, time.monotonic())
            timer = None
            if try_number == 1 and task.kill_after is not None:
                proc = self.proc

                def kill(task: Task = task, proc: subprocess.Popen[str] = proc) -> None:
                    if proc.poll() is None:
                        record = json.loads(Path(task.spec["state"]).read_text() or "{}") \
                            if Path(task.spec["state"]).exists() else {}
                        job = record.get("mediagen_job") or {}
                        task.killed_in = job.get("phase", "before any record") if job else "before any record"
                        os.kill(proc.pid, signal.SIGKILL)

                timer = threading.Timer(task.kill_after, kill)
                timer.start()
            line = self._next("DONE ") or ""
            self.current = None
            if timer is not None:
                timer.cancel()
            self._rss()
            if line.startswith("DONE "):
                outcome = json.loads(line[5:])
            else:  # the process died (our kill): the try is lost, as a killed task runner's is
                self.proc.wait()
                self.proc = None
                outcome = {"task": task.name, "try": try_number, "ok": False, "final": False, "killed": True,
                           "error_type": "SIGKILL", "error": "killed"}
            task.outcomes.append(outcome)
            if not outcome["ok"] and not outcome.get("final") and try_number < MAX_TRIES \
                    and not self.aborted.is_set():
                self.queue.put((task, try_number + 1))
            else:
                self.finished.put(task)
        if self.proc is not None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(30)

    stopping = False
    aborted = threading.Event()  # a stall was found: no further tries, anywhere
    current: tuple[Task, int, float] | None = None  # the try running now, and since when



def _set_apex_webhook(sim: SimProcess, url: str, time_scale: float) -> None:
    """Apex's webhook is set per account: every Apex job of the soak is then also delivered."""
    from airflow_provider_mediagen.client import MediaClient

    with MediaClient("apex", KEYS["apex"], base_url=sim.url("apex"), time_scale=time_scale) as apex:
        apex.call("set_webhook", {"webhook_url": url})


def _stalled(slots: list[Slot], work: Path) -> list[str]:
    """The tries running for longer than STALL_SECONDS, each with the tail of its worker's log (where the
    worker wrote its stacks shortly before); their workers are then killed so the soak can end and report."""
    Slot.aborted.set()
    hung = [slot for slot in slots if slot.current and time.monotonic() - slot.current[2] > STALL_SECONDS]
    found = []
    for slot in hung:
        task, try_number, since = slot.current  # type: ignore[misc]
        slot.log.flush()
        tail = Path(slot.log.name).read_text(errors="replace")[-3000:]
        found.append(f"{task.name} try {try_number} ({task.spec['operator']} on {task.spec['conn_id']}, "
                     f"{'deferred' if task.spec['deferrable'] else 'in the worker'}), running "
                     f"{time.monotonic() - since:.0f} s; log {Path(slot.log.name).relative_to(work)}:\n{tail}")
        if slot.proc is not None:
            slot.proc.kill()
    return found


def _secrets(receiver: ServedReceiver) -> list[str]:
    """What must appear nowhere: the API keys, the webhook secret and the receiver's two URL tokens."""
    tokens = []
    for conn_id, (service, hooked) in CONNECTIONS.items():
        if hooked:
            for url in (receiver.delivery_url(service, conn_id), receiver.states_url(service, conn_id)):
                tokens.append(parse_qs(urlsplit(url).query)["token"][0])
    return [*KEYS.values(), WEBHOOK_SECRET, *tokens]


def _hwm_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return 0


def soak(jobs: int, kills: int, seed: int, time_scale: float, workers: int, work: Path,
         progress: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    Slot.aborted.clear()
    started = time.monotonic()
    with contextlib.ExitStack() as stack, SimProcess(time_scale, cpu=None) as sim:
        for service, key in KEYS.items():
            sim.add_account(service, key, PLANS[service], "soak")
        port = free_port()
        hook_extra = {"webhook_secret": WEBHOOK_SECRET, "webhook_base_url": f"http://127.0.0.1:{port}"}
        connections = {conn_id: {"conn_type": f"mediagen_{service}", "host": sim.url(service),
                                 "password": KEYS[service],
                                 "extra": {"time_scale": time_scale, **(hook_extra if hooked else {})}}
                       for conn_id, (service, hooked) in CONNECTIONS.items()}
        receiver = stack.enter_context(ServedReceiver(port, connections, work / "deliveries.db"))
        _set_apex_webhook(sim, receiver.delivery_url("apex", "soak_apex"), time_scale)
        sim.control("POST", "/faults", {"rules": fault_rules(), "seed": seed})  # after the set-up's requests
        conns = {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(fields) for conn_id, fields in connections.items()}
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}, **conns,
               "MEDIAGEN_SOAK_STALL_SECONDS": str(STALL_SECONDS),
               "AIRFLOW_HOME": str(work / "airflow"), "PYTHONUNBUFFERED": "1"}
        (work / "state").mkdir(parents=True)
        (work / "logs").mkdir()
        tasks = []
        for i in range(jobs):
            operator, conn_id, _, params = KINDS[i % len(KINDS)]
            name = f"t{i:04d}"
            tasks.append(Task(name, CONNECTIONS[conn_id][0], {
                "operator": operator, "params": params(i), "conn_id": conn_id,
                "deferrable": (i // len(KINDS)) % 2 == 0, "poll_interval": None, "timeout": TASK_TIMEOUT,
                "output_path": str(work / "out" / name), "state": str(work / "state" / f"{name}.json")}))
        for task in rng.sample(tasks, min(kills, len(tasks))):
            task.kill_after = rng.uniform(0.0, 0.6)
        general: Queue[tuple[Task, int]] = Queue()
        facedub: Queue[tuple[Task, int]] = Queue()
        finished: Queue[Task] = Queue()
        for task in tasks:
            (facedub if task.service == "facedub" else general).put((task, 1))
        slots = [Slot(f"w{n}", general, env, work / "logs", finished) for n in range(workers)]
        slots += [Slot(f"fd{n}", facedub, env, work / "logs", finished) for n in range(2)]
        for slot in slots:
            slot.start()
        done = 0
        stalled: list[str] = []
        while done < len(tasks):
            try:
                finished.get(timeout=STALL_SECONDS)
            except Empty:  # nothing ended for a long while: say which tries hang, with their stacks
                stalled = _stalled(slots, work)
                break
            done += 1
            if progress and (done % max(1, len(tasks) // 20) == 0 or done == len(tasks)):
                print(f"  {done}/{len(tasks)} tasks finished ({time.monotonic() - started:.0f} s)", flush=True)
        for slot in slots:
            slot.stopping = True
        for slot in slots:
            slot.join(60)
        report = _verify(tasks, sim, work, _secrets(receiver))
        report["stalled_tries"], report["stalled_examples"] = len(stalled), stalled[:5]
        report["memory_mb"] = {"simulator_peak": round(_hwm_kb(sim.proc.pid) / 1024, 1),  # type: ignore[union-attr]
                               "orchestrator_peak": round(_hwm_kb(os.getpid()) / 1024, 1),
                               "worker_peak": round(max(s.peak_rss_kb for s in slots) / 1024, 1)}
        report["counters"] = {s: sim.counters()[s].get("soak", {}) for s in KEYS}
        fired: Counter[str] = Counter()
        for rule in sim.control("GET", "/faults"):
            fired[rule["fault"] + (f" {rule['status']}" if rule["fault"] == "status" else "")] += rule["fired"]
        report["faults_fired"] = dict(sorted(fired.items()))
    report |= {"jobs": jobs, "kills_asked": kills, "seed": seed, "time_scale": time_scale, "workers": workers,
               "wall_seconds": round(time.monotonic() - started, 1)}
    return report


def _verify(tasks: list[Task], sim: SimProcess, work: Path, secret_values: list[str]) -> dict[str, Any]:
    """The zeros, from the simulator's records and the files on disk."""
    sim_jobs = {j["id"]: j for j in sim.jobs() if j["account"] == "soak"}
    charged = {i for i, j in sim_jobs.items() if j["status"] != "failed"}  # failed jobs are refunded
    claimed: set[str] = set()
    uncertain = unclear = bytes_differ = 0
    partial_files: list[Path] = []
    outcomes: Counter[str] = Counter()
    kills_in: Counter[str] = Counter()
    unclear_examples: list[str] = []
    uncertain_by_service: Counter[str] = Counter()
    failure_examples: list[str] = []
    for task in tasks:
        state = json.loads(Path(task.spec["state"]).read_text()) if Path(task.spec["state"]).exists() else {}
        record = state.get("mediagen_job") or {}
        if record.get("job_id"):
            claimed.add(record["job_id"])
        if task.killed_in is not None:
            kills_in[task.killed_in] += 1
        final = task.final or {}
        if final.get("ok"):
            outcomes["success"] += 1
            result = final["result"]
            claimed.add(result["job_id"])
            expected = [o["sha256"] for o in sim_jobs.get(result["job_id"], {}).get("outputs", [])]
            for n, path in enumerate(result["outputs"]):
                data = Path(path.removeprefix("file://")).read_bytes()
                if n >= len(expected) or hashlib.sha256(data).hexdigest() != expected[n]:
                    bytes_differ += 1
            continue
        message = final.get("error", "")
        # A submission whose answer never came (the operator's SubmissionUncertainError, with its resubmit
        # hint, or the client's behind a final failure): the user is told a job may exist and what to check.
        if "SubmissionUncertainError" in [final.get("error_type"), *final.get("causes", [])] \
                or "state-store/mediagen_job" in message:
            uncertain += 1
            uncertain_by_service[task.service] += 1
            outcomes["uncertain (told the user)"] += 1
        else:
            outcomes[f"failed: {final.get('error_type')}"] += 1
        failure_examples.append(f"{task.name} ({task.spec['operator']}, try {final.get('try')}): {message[:240]}")
        job_id = record.get("job_id")
        if not message or final.get("killed") or (job_id and job_id not in message):
            unclear += 1
            unclear_examples.append(f"{task.name}: {final.get('error_type')}: {message[:200]}")
        folder = Path(task.spec["output_path"])
        partial_files += [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []
    for folder in (work / "out").iterdir() if (work / "out").exists() else []:
        partial_files += [p for p in folder.iterdir() if p.is_file() and p.name.startswith(".")]
    partial = len(partial_files)
    extra = charged - claimed
    # An extra job is accounted for only by an uncertain task of its own service.
    extra_by_service = Counter(sim_jobs[job_id]["service"] for job_id in extra)
    silent = sum(max(0, n - uncertain_by_service[service]) for service, n in extra_by_service.items())
    # Worker logs (the task logs), the outcomes (XCom values, errors, the trigger kwargs a try serialized)
    # and the receiver's delivery store.
    texts = [log.read_text(errors="replace") for log in (work / "logs").iterdir()]
    texts += [json.dumps(t.outcomes) for t in tasks]
    texts += [Path(f).read_bytes().decode("latin-1") for f in work.glob("deliveries.db*")]
    secrets = sum(text.count(secret) for text in texts for secret in secret_values)
    return {
        "tasks": len(tasks), "outcomes": dict(outcomes), "jobs_created": len(sim_jobs),
        "jobs_charged": len(charged), "jobs_failed_refunded": len(sim_jobs) - len(charged),
        "extra_jobs": len(extra), "uncertain_tasks": uncertain,
        "extra_jobs_by_service": dict(extra_by_service), "silent_extra_charges": silent,
        "unclear_endings": unclear, "unclear_examples": unclear_examples[:5],
        "uncertain_by_service": dict(uncertain_by_service), "failure_examples": failure_examples[:6],
        "outputs_bytes_differ": bytes_differ, "partial_files": partial,
        "partial_examples": [f"{p.relative_to(work)} ({p.stat().st_size} bytes)" for p in partial_files[:5]],
        "attacker_hits": sim.control("GET", "/attacker_hits")["attacker_hits"],
        "secret_occurrences": secrets, "kills_landed": sum(kills_in.values()), "killed_in": dict(kills_in),
        "tries": sum(len(t.outcomes) for t in tasks),
    }


ZEROS = ("silent_extra_charges", "unclear_endings", "stalled_tries", "outputs_bytes_differ", "partial_files",
         "attacker_hits", "secret_occurrences")


def render(report: dict[str, Any], command: str) -> str:
    lines = ["# Fault soak", "", f"`{command}` (seed {report['seed']}, time scale {report['time_scale']}, "
             f"{report['workers']} worker slots + 2 FaceDub slots): {report['wall_seconds']} s wall.", "",
             "| measure | value |", "|---|---|"]
    for key in ("tasks", "tries", "outcomes", "jobs_created", "jobs_charged", "jobs_failed_refunded", "extra_jobs",
                "extra_jobs_by_service", "uncertain_tasks", "uncertain_by_service", *ZEROS, "kills_landed", "killed_in", "faults_fired", "memory_mb"):
        value = report[key]
        mark = " (must be 0)" if key in ZEROS else ""
        lines.append(f"| {key.replace('_', ' ')}{mark} | {json.dumps(value) if isinstance(value, dict) else value} |")
    if report["failure_examples"]:
        lines += ["", "Tasks that did not succeed (first six), with what the user was told:",
                  *[f"- {e}" for e in report["failure_examples"]]]
    if report["unclear_examples"]:
        lines += ["", "Unclear endings (first five):", *[f"- {e}" for e in report["unclear_examples"]]]
    if report["partial_examples"]:
        lines += ["", "Partial or leftover files (first five):", *[f"- {e}" for e in report["partial_examples"]]]
    for stalled in report["stalled_examples"]:
        lines += ["", "A hung try:", "```", stalled, "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The fault soak (benchmarks/SOAK.md).")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--time-scale", type=float, default=0.005)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "SOAK.md"), help="'-' prints only")
    parser.add_argument("--json", help="also write the raw report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mediagen-soak-") as folder:
        report = soak(args.jobs, args.kills, args.seed, args.time_scale, args.workers, Path(folder))
    command = "python -m benchmarks.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(report, command.strip())
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 1 if any(report[key] for key in ZEROS) else 0


if __name__ == "__main__":
    sys.exit(main())
