"""A soak worker: the process that runs task tries, and that the soak SIGKILLs.

It runs one try at a time through the operator's real code path, as Airflow's task runner would:
``execute()``; on ``TaskDeferred``, the trigger is re-made from its serialized kwargs (JSON round-tripped,
as the triggerer loads it) and run to its first event, then the operator resumes in ``execute_complete``.
The task state store is a file per task (written with an atomic rename): what a try recorded survives
the try being killed, as the metadata database would. Protocol on stdin/stdout, one JSON line each:
``READY``; then per try ``{"task", "try", "spec"}`` in, ``START <task> <try>`` and ``DONE <json>`` out.
"""

from __future__ import annotations

import asyncio
import faulthandler
import importlib
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any


class FileStateStore:
    """``task_state_store`` for one task instance: a JSON file, replaced atomically on every write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)

    def get(self, key: str, default: Any = None) -> Any:
        return self._read().get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self._write({**self._read(), key: value})

    def delete(self, key: str) -> None:
        data = self._read()
        data.pop(key, None)
        self._write(data)


class SoakTI:
    """The part of the task instance the operators use."""

    def __init__(self, task: str, try_number: int) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = "mediagen_soak", "soak", task, -1
        self.try_number = try_number
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def _operator(spec: dict[str, Any], task: str) -> Any:
    from airflow_provider_mediagen import operators

    cls = getattr(operators, spec["operator"])
    return cls(task_id=task, conn_id=spec["conn_id"], deferrable=spec["deferrable"],
               poll_interval=spec["poll_interval"], timeout=spec["timeout"], output_path=spec["output_path"],
               **spec["params"])


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event.payload
    raise RuntimeError("the trigger ended without an event")


def _causes(exc: BaseException) -> list[str]:
    """The type names of the exceptions behind ``exc`` (``raise ... from``, or raised while handling)."""
    names: list[str] = []
    seen = exc.__cause__ or exc.__context__
    while seen is not None and len(names) < 10:
        names.append(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return names


def run_try(task: str, try_number: int, spec: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

    op = _operator(spec, task)
    ti = SoakTI(task, try_number)
    context = {"ti": ti, "task_state_store": FileStateStore(Path(spec["state"])), "outlet_events": None}
    trigger_row: str | None = None  # the trigger's serialized kwargs, as the triggerer's table would hold them
    try:
        try:
            result = op.execute(context)
        except TaskDeferred as deferred:
            classpath, kwargs = deferred.trigger.serialize()
            module, name = classpath.rsplit(".", 1)
            trigger_row = json.dumps(kwargs)
            trigger = getattr(importlib.import_module(module), name)(**json.loads(trigger_row))
            event = asyncio.run(_first_event(trigger))
            result = getattr(op, deferred.method_name)(context, event=event)
        return {"task": task, "try": try_number, "ok": True, "result": result, "trigger_row": trigger_row}
    except Exception as exc:  # noqa: BLE001 - every outcome is reported, as Airflow records it
        return {"task": task, "try": try_number, "ok": False, "final": isinstance(exc, AirflowFailException),
                "error_type": type(exc).__name__, "error": str(exc), "causes": _causes(exc),
                "trace": "".join(traceback.format_exception(exc))[-2000:], "trigger_row": trigger_row}


def _dump_stacks_of_a_hung_try(running: list[float]) -> None:
    """Every thread's stack in the log, once per try, shortly before the soak would call the try hung
    (``MEDIAGEN_SOAK_STALL_SECONDS``): what a hang was waiting for is then in the report."""
    after = float(os.environ.get("MEDIAGEN_SOAK_STALL_SECONDS", "150")) * 0.9
    dumped: float | None = None
    while True:
        time.sleep(0.5)
        started = running[0] if running else None
        if started is not None and started != dumped and time.monotonic() - started > after:
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            dumped = started


def main() -> None:
    import logging

    import airflow_provider_mediagen.operators  # noqa: F401 - imported before READY: tries start warm

    # INFO to stderr (the soak's log file per worker), so the secret search reads what a task log holds.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    running: list[float] = []  # when the current try started
    threading.Thread(target=_dump_stacks_of_a_hung_try, args=(running,), daemon=True).start()
    print("READY", flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        print(f"START {order['task']} {order['try']}", flush=True)
        running[:] = [time.monotonic()]
        outcome = run_try(order["task"], order["try"], order["spec"])
        running.clear()
        print("DONE " + json.dumps(outcome, default=str), flush=True)


if __name__ == "__main__":
    main()
