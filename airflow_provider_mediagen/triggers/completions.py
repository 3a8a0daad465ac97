"""An event trigger for ``AssetWatcher``: "run this DAG whenever a new video is ready", without webhooks.

It reads the service's list endpoint (``JobKind.list``: up to 50 newest
jobs in one read) every ``poll_interval`` seconds and fires once per job that newly completed. The
watermark (ids already fired) lives in the asset's state store and is saved *before* the event is
yielded, so a restarted trigger never fires the same job again, and jobs that finished before the
watcher first ran do not fire at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from ..catalog import SERVICES
from ..client import MediaGenError
from ..hooks.mediagen import hook_for
from ..job_refs import job_refs, redacted_urls

__all__ = ["MediaCompletionsTrigger"]

_SEEN = "mediagen_fired_job_ids"
_KEEP = 500  # ids remembered: several list pages, so an id cannot scroll back into view unseen


class MediaCompletionsTrigger(BaseEventTrigger):
    """Fires a small event (service, kind, job_id, output_urls, credits) per newly completed job."""

    def __init__(self, *, service: str, conn_id: str | None = None, kind: str | None = None,
                 poll_interval: float = 60.0, include_failed: bool = False) -> None:
        super().__init__()
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r} (known: {', '.join(SERVICES)})")
        entry = SERVICES[service]
        if kind is not None and kind not in entry.kinds:
            raise ValueError(f"{entry.title} has no job kind {kind!r} (known: {', '.join(entry.kinds)})")
        if not any(k.list for k in entry.kinds.values()):
            raise ValueError(f"{entry.title} documents no endpoint listing jobs; use webhooks or per-job waits")
        self.service = service
        self.conn_id = conn_id or hook_for(service).conn_id
        self.kind = kind
        self.poll_interval = poll_interval
        self.include_failed = include_failed

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"service": self.service, "conn_id": self.conn_id, "kind": self.kind,
                 "poll_interval": self.poll_interval, "include_failed": self.include_failed})

    async def _load(self) -> tuple[list[str], bool]:
        store = self.asset_state_store
        if store is None:
            return [], True
        seen = await store.aget(_SEEN, default=None)
        return (list(seen), False) if seen is not None else ([], True)

    async def _save(self, seen: list[str]) -> None:
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(_SEEN, seen[-_KEEP:])

    async def run(self) -> AsyncIterator[TriggerEvent]:
        seen, first_run = await self._load()
        async with await hook_for(self.service, self.conn_id).aget_client() as client:
            while True:
                try:
                    jobs = await client.list_jobs(self.kind)
                except MediaGenError as exc:
                    self.log.warning("listing %s jobs failed: %s", self.service, exc)
                    await asyncio.sleep(self.poll_interval)
                    continue
                finished = [j for j in reversed(jobs)  # oldest first
                            if j.terminal and (j.succeeded or self.include_failed)
                            and (self.kind is None or j.kind == self.kind)]
                if first_run:  # history is not news: start the watermark at what is already done
                    seen = [j.id for j in finished]
                    await self._save(seen)
                    first_run = False
                for job in finished:
                    if job.id in seen:
                        continue
                    seen.append(job.id)
                    await self._save(seen)
                    # Stored with the asset event: signed URLs masked, references to read fresh ones
                    yield TriggerEvent({"service": job.service, "kind": job.kind, "job_id": job.id,
                                        "status": job.status.value, "output_urls": redacted_urls(job.output_urls),
                                        "output_refs": job_refs(job.service, job.kind, job.id, self.conn_id,
                                                                len(job.output_urls)),
                                        "credits": job.credits})
                await asyncio.sleep(self.poll_interval)
