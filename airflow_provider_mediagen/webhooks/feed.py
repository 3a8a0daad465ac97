"""What a waiting trigger learns from the receiver: the recorded state of the jobs it waits for, read
from the API server in one request per tick (no service read budget spent)."""

from __future__ import annotations

import logging

import httpx

from ..catalog import Job
from ..client.secrets import Secret, install_log_filter

__all__ = ["DeliveryFeed", "fetch_sync", "job_of_intent_sync"]

log = logging.getLogger("airflow_provider_mediagen.webhooks")


class DeliveryFeed:
    def __init__(self, states_url: str, *, interval: float = 0.5, timeout: float = 5.0) -> None:
        # Held for the feed's lifetime, so the read token stays masked in logs and errors while used.
        self._token = Secret(states_url.rsplit("token=", 1)[-1])
        install_log_filter()
        self._url = states_url
        self.interval = interval
        self._http = httpx.AsyncClient(timeout=timeout)

    async def fetch(self, job_ids: list[str]) -> list[Job]:
        """Jobs the receiver has a delivery for; an unreachable receiver yields nothing (polling stays
        the source of truth)."""
        if not job_ids:
            return []
        try:
            response = await self._http.post(self._url, json={"job_ids": job_ids})
            response.raise_for_status()
            return [Job.model_validate(item) for item in response.json()["jobs"]]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("webhook receiver unreachable (%s); polling continues", type(exc).__name__)
            return []

    async def aclose(self) -> None:
        await self._http.aclose()


def fetch_sync(states_url: str, job_ids: list[str], *, timeout: float = 5.0) -> list[Job]:
    """The same read for a worker waiting without a triggerer."""
    try:
        response = httpx.post(states_url, json={"job_ids": job_ids}, timeout=timeout)
        response.raise_for_status()
        return [Job.model_validate(item) for item in response.json()["jobs"]]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        log.warning("webhook receiver unreachable (%s); will ask again", type(exc).__name__)
        return []


def job_of_intent_sync(states_url: str, intent_id: str, *, timeout: float = 5.0) -> Job | None:
    """The job a delivery said the submission ``intent_id`` created, once one has arrived."""
    try:
        response = httpx.post(states_url, json={"job_ids": [], "intents": [intent_id]}, timeout=timeout)
        response.raise_for_status()
        found = response.json().get("intents", {}).get(intent_id)
        return None if found is None else Job.model_validate(found)
    except (httpx.HTTPError, ValueError, KeyError, AttributeError) as exc:
        log.warning("webhook receiver unreachable (%s); will ask again", type(exc).__name__)
        return None
