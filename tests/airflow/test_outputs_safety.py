"""``write_outputs`` writes each output atomically to any ObjectStoragePath (local ``file://`` and fsspec's
``memory://``), renews expired signed URLs through ``refresh`` and never fetches a forged URL.

Downloads go over real HTTP to the simulator on 127.0.0.1 with its download faults. The forged-URL test
points at cloud metadata and private networks, so its client has an ``httpx.MockTransport`` that fails the
test if any request reaches it (there is no network beyond loopback here, and a broken policy must not
really connect to 169.254.169.254).
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import store
from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]
from fsspec.implementations.memory import MemoryFileSystem  # type: ignore[import-untyped]

from airflow_provider_mediagen.catalog import Job, get_service
from airflow_provider_mediagen.client import MediaClient, TransportError
from airflow_provider_mediagen.client.errors import ExpiredURLError, UnsafeURLError
from airflow_provider_mediagen.operators.outputs import destination, write_outputs

from .conftest import TIME_SCALE

IMAGE = get_service("apex").kind("image")


@pytest.fixture
def apex(simulator: Any) -> Iterator[MediaClient]:
    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"], time_scale=TIME_SCALE,
                     max_attempts=3) as client:
        yield client


@pytest.fixture
def image(apex: MediaClient) -> Job:
    job = apex.submit_and_wait("image", prompt="a lighthouse at dusk", poll_interval=0.05, timeout=60)
    assert job.succeeded and len(job.output_urls) == 1
    return job


class _RecordsWrites:
    """A filesystem mixin that records every path opened for writing, to show the final name is never
    written in place (a reader or the next task would see half a file)."""

    cachable = False  # a fresh instance (and list) per test, not fsspec's cached one

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[str] = []

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if set(mode) & set("wax+"):
            self.writes.append(str(path))
        return super()._open(path, mode, *args, **kwargs)  # type: ignore[misc]


class RecordingLocalFS(_RecordsWrites, LocalFileSystem):
    pass


class RecordingMemoryFS(_RecordsWrites, MemoryFileSystem):
    pass


@pytest.fixture(params=["file", "memory"])
def folder(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[ObjectStoragePath]:
    """An output folder on the local disk or in fsspec's in-memory filesystem (an object store stand-in),
    both served through Airflow's ObjectStoragePath with a filesystem that records its writes."""
    fs = RecordingLocalFS() if request.param == "file" else RecordingMemoryFS()
    monkeypatch.setitem(store._STORE_CACHE, request.param, store.ObjectStore(request.param, None, fs=fs))
    path = (destination(tmp_path / "out") if request.param == "file"
            else ObjectStoragePath(f"memory://mediagen-tests/{uuid.uuid4().hex}"))
    assert path.fs is fs
    yield path
    if request.param == "memory" and fs.exists(path.path):
        fs.rm(path.path, recursive=True)


def assert_written_through_temporary_names(folder: ObjectStoragePath) -> None:
    writes = folder.fs.writes
    assert writes and all(PurePosixPath(w).name.startswith(".") and w.endswith(".part") for w in writes), writes


def names(folder: ObjectStoragePath) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def expected_sha256(simulator: Any, job: Job) -> str:
    (record,) = [j for j in simulator.jobs() if j["id"] == job.id]
    (output,) = record["outputs"]
    return str(output["sha256"])


def download_faults(simulator: Any, kind: str, count: int | None = None) -> None:
    rule: dict[str, Any] = {"service": "apex", "fault": kind, "endpoint": "GET /_files"}
    if count is not None:
        rule["count"] = count
    simulator.set_faults([rule])


def counting(read: Callable[[], Job]) -> tuple[Callable[[], Job], list[Job]]:
    calls: list[Job] = []

    def refresh() -> Job:
        calls.append(read())
        return calls[-1]

    return refresh, calls


def test_truncated_output_is_retried_and_written_whole(simulator: Any, apex: MediaClient, image: Job,
                                                       folder: ObjectStoragePath) -> None:
    download_faults(simulator, "truncate", count=1)
    (written,) = write_outputs(apex, image, IMAGE, folder)
    target = ObjectStoragePath(written)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected_sha256(simulator, image)
    assert names(folder) == [target.name]  # no .part left
    assert_written_through_temporary_names(folder)
    assert simulator.counters()["apex"]["demo"]["downloads_truncated"] == 1


def test_output_truncated_every_time_leaves_nothing(simulator: Any, apex: MediaClient, image: Job,
                                                    folder: ObjectStoragePath) -> None:
    """The old code streamed into the final name: half a PNG stayed there for the next task to read."""
    download_faults(simulator, "truncate")
    with pytest.raises(TransportError):
        write_outputs(apex, image, IMAGE, folder)
    assert names(folder) == []
    assert_written_through_temporary_names(folder)
    assert simulator.counters()["apex"]["demo"]["downloads_truncated"] == 3


def test_failed_download_keeps_the_file_already_there(simulator: Any, apex: MediaClient, image: Job,
                                                      folder: ObjectStoragePath) -> None:
    """Overwriting stays allowed, but only with a whole file: a failure leaves the earlier one as it was."""
    (written,) = write_outputs(apex, image, IMAGE, folder)
    before = ObjectStoragePath(written).read_bytes()
    download_faults(simulator, "truncate")
    with pytest.raises(TransportError):
        write_outputs(apex, image, IMAGE, folder)
    assert ObjectStoragePath(written).read_bytes() == before
    assert names(folder) == [ObjectStoragePath(written).name]


def test_expired_url_is_renewed_through_refresh(simulator: Any, apex: MediaClient, image: Job,
                                                folder: ObjectStoragePath) -> None:
    download_faults(simulator, "expire_url", count=1)
    refresh, calls = counting(lambda: apex.get_job("image", image.id))
    (written,) = write_outputs(apex, image, IMAGE, folder, refresh=refresh)
    assert len(calls) == 1
    assert hashlib.sha256(ObjectStoragePath(written).read_bytes()).hexdigest() == expected_sha256(simulator, image)
    assert names(folder) == [ObjectStoragePath(written).name]
    assert simulator.counters()["apex"]["demo"]["urls_expired"] == 1


def test_stale_recorded_url_is_replaced_by_the_fresh_one(simulator: Any, apex: MediaClient, image: Job,
                                                         folder: ObjectStoragePath) -> None:
    """A result recorded by an earlier try carries a URL signed long ago: the file host refuses it for good
    (403), so only the URL of a fresh read can succeed."""
    stale_url = httpx.URL(image.output_urls[0]).copy_merge_params({"expires": "1"})
    stale = image.model_copy(update={"output_urls": (str(stale_url),)})
    refresh, calls = counting(lambda: apex.get_job("image", image.id))
    (written,) = write_outputs(apex, stale, IMAGE, folder, refresh=refresh)
    assert len(calls) == 1 and calls[0].output_urls != stale.output_urls
    assert hashlib.sha256(ObjectStoragePath(written).read_bytes()).hexdigest() == expected_sha256(simulator, image)
    assert simulator.counters()["apex"]["demo"]["urls_expired"] == 0  # a real refusal, not the fault


def test_expired_url_without_refresh_names_the_job(simulator: Any, apex: MediaClient, image: Job,
                                                   folder: ObjectStoragePath) -> None:
    download_faults(simulator, "expire_url", count=1)
    with pytest.raises(ExpiredURLError) as caught:
        write_outputs(apex, image, IMAGE, folder)
    message = str(caught.value)
    assert "expired" in message and image.id in message and caught.value.job_id == image.id
    assert httpx.URL(image.output_urls[0]).params["sig"] not in message
    assert names(folder) == []


def test_url_still_expired_after_two_refreshes_fails(simulator: Any, apex: MediaClient, image: Job,
                                                     folder: ObjectStoragePath) -> None:
    download_faults(simulator, "expire_url")
    refresh, calls = counting(lambda: apex.get_job("image", image.id))
    with pytest.raises(ExpiredURLError, match="after 2 fresh reads") as caught:
        write_outputs(apex, image, IMAGE, folder, refresh=refresh)
    assert len(calls) == 2 and caught.value.job_id == image.id
    assert names(folder) == []


FORGED = ["http://169.254.169.254/latest/meta-data/iam/security-credentials/?sig=forged",
          "https://10.0.0.1/out.png?sig=forged",
          "https://cdn.attacker.example/out.png?sig=forged"]  # resolves to a private address


@pytest.mark.parametrize("url", FORGED)
def test_forged_output_url_is_refused_before_any_request(simulator: Any, image: Job, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """A webhook anyone can forge, or a compromised answer, names the URL; nothing may fetch it."""
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **kw: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))] if host == "cdn.attacker.example"
        else real(host, port, *a, **kw)))
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        pytest.fail(f"request sent to {request.url.host}")

    forged = image.model_copy(update={"output_urls": (url,)})
    folder = destination(tmp_path / "out")
    with MediaClient("apex", "sk_live_demo", base_url=simulator.urls["apex"],
                     transport=httpx.MockTransport(handler), rate_limit=False) as client:
        with pytest.raises(UnsafeURLError) as caught:
            write_outputs(client, forged, IMAGE, folder)
    assert sent == [] and "forged" not in str(caught.value)
    assert names(folder) == []
