"""Output downloads are safe and atomic: the URL (from a service answer or a webhook, i.e. a network peer)
is checked before any request, a download is capped in size and time, and a file appears at its name
only once whole.

Simulator tests run over real HTTP on 127.0.0.1 with the simulator's download faults. Tests whose target
is not loopback (cloud metadata, private networks, public CDNs) use ``httpx.MockTransport`` and a fake
resolver: the machine has no network beyond loopback, and a broken policy must never really connect to
169.254.169.254 from a test run.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import AsyncMediaClient, MediaClient, MediaGenError, PlanError
from airflow_provider_mediagen.client.errors import DownloadLimitError, ExpiredURLError, TransportError, UnsafeURLError

REMOTE_BASE = "https://api.apex.example/apex"  # a real deployment: the connection's host is not loopback
LOCAL_BASE = "http://127.0.0.1:9/apex"  # the simulator's shape, for offline tests
PUBLIC = "93.184.215.14"
SIGNATURE = "TOPSECRET0123456789abcdef"
FAKE_DNS = {
    "cdn.example": [PUBLIC],
    "cdn2.example": ["2606:4700::1111"],
    "internal.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": [PUBLIC, "10.0.0.5"],
    "localhost": ["127.0.0.1"],
}


# --- helpers ----------------------------------------------------------------------------------------

def banner(client: MediaClient) -> str:
    """The URL of a fresh Ddukddak template image (a synchronous job: its output exists at once)."""
    job = client.submit("template_image", template="summer-sale-banner", properties=[{"name": "title", "text": "x"}])
    return job.output_urls[0]


def simulator_sha256(simulator: Any, url: str) -> str:
    path = httpx.URL(url).path
    (output,) = [o for job in simulator.jobs() for o in job["outputs"] if o["url_path"] == path]
    return str(output["sha256"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fault(simulator: Any, kind: str, count: int | None = None, service: str = "ddukddak") -> None:
    rule: dict[str, Any] = {"service": service, "fault": kind, "endpoint": "GET /_files"}
    if count is not None:
        rule["count"] = count
    simulator.set_faults([rule])


class Recorder:
    """A MockTransport handler that records each request and answers with ``answer`` (by default it fails
    the test: the policy was to refuse before any request)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is None:
            pytest.fail(f"a request was sent to {request.url.host} although the URL should have been refused")
        return self.answer(request)


def offline(handler: Recorder, base_url: str = REMOTE_BASE, **options: Any) -> MediaClient:
    return MediaClient("apex", "sk_live_demo", base_url=base_url, transport=httpx.MockTransport(handler),
                       rate_limit=False, **options)


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names resolve from FAKE_DNS; IP literals as usual (no DNS); anything else is unknown, so no test
    ever asks a real resolver."""
    real = socket.getaddrinfo

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in FAKE_DNS:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in FAKE_DNS[host]]
        ipaddress.ip_address(host)  # ValueError for an unexpected name: fail loudly, never look it up
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


# --- atomic writes against the simulator ---------------------------------------------------------------

def test_truncated_download_is_restarted_and_published_whole(make_client: Any, simulator: Any,
                                                             tmp_path: Path) -> None:
    client = make_client("ddukddak")
    url = banner(client)
    fault(simulator, "truncate", count=1)
    size = client.download(url, tmp_path / "banner.png")
    assert sha256(tmp_path / "banner.png") == simulator_sha256(simulator, url)
    assert size == (tmp_path / "banner.png").stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["banner.png"]  # no .part left
    assert simulator.counters()["ddukddak"]["demo"]["downloads_truncated"] == 1


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(make_client: Any, simulator: Any,
                                                                      tmp_path: Path) -> None:
    """A process killed mid-download (the fault soak's SIGKILL) cannot remove its ``.part``; the next try
    writing the same name does, and leaves other files alone."""
    client = make_client("ddukddak")
    url = banner(client)
    stale = tmp_path / ".banner.png.0123456789ab.part"
    stale.write_bytes(b"half a png")
    unrelated = [tmp_path / ".other.png.0123456789ab.part", tmp_path / ".banner.png.notes"]
    for path in unrelated:
        path.write_bytes(b"not ours")
    client.download(url, tmp_path / "banner.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["banner.png", *(p.name for p in unrelated)])


def test_an_operator_write_removes_a_killed_tries_temporary_file(tmp_path: Path) -> None:
    """The same through the operators' fsspec sink (ObjectStoragePath), which a retry writes with."""
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_mediagen.operators.outputs import _StorageSink

    (tmp_path / ".job-image.png.fedcba987654.part").write_bytes(b"half")
    (tmp_path / ".job-image.png.other").write_bytes(b"kept")
    sink = _StorageSink(ObjectStoragePath(f"file://{tmp_path}/job-image.png"))
    sink.begin().write(b"whole")
    sink.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".job-image.png.other", "job-image.png"]
    assert (tmp_path / "job-image.png").read_bytes() == b"whole"


def test_download_truncated_on_every_attempt_leaves_nothing(make_client: Any, simulator: Any,
                                                            tmp_path: Path) -> None:
    """The old code left ``banner.png.part`` behind; nothing may remain, under any name."""
    client = make_client("ddukddak", max_attempts=2)
    url = banner(client)
    fault(simulator, "truncate")
    with pytest.raises(TransportError):
        client.download(url, tmp_path / "banner.png")
    assert list(tmp_path.iterdir()) == []
    assert simulator.counters()["ddukddak"]["demo"]["downloads_truncated"] == 2


def test_retry_into_a_stream_that_cannot_rewind_fails_instead_of_appending(make_client: Any,
                                                                           simulator: Any) -> None:
    """The old code appended the second attempt after the first one's half file and reported success."""

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.data += b
            return len(b)

    client = make_client("ddukddak")
    url = banner(client)
    fault(simulator, "truncate", count=1)
    pipe = Pipe()
    with pytest.raises(MediaGenError, match="cannot be rewound"):
        client.download(url, pipe)  # type: ignore[arg-type]


def test_expired_url_is_its_own_error_and_hides_the_signature(make_client: Any, simulator: Any,
                                                              tmp_path: Path) -> None:
    client = make_client("ddukddak")
    url = banner(client)
    fault(simulator, "expire_url", count=1)
    with pytest.raises(ExpiredURLError) as caught:
        client.download(url, tmp_path / "banner.png")
    assert not isinstance(caught.value, PlanError) and caught.value.status_code == 403
    assert "fresh output URLs" in str(caught.value)
    signature = httpx.URL(url).params["sig"]
    assert signature not in str(caught.value) and signature not in repr(caught.value)
    assert list(tmp_path.iterdir()) == []
    assert simulator.counters()["ddukddak"]["demo"]["urls_expired"] == 1  # not retried


def test_size_cap_from_content_length(make_client: Any, simulator: Any, tmp_path: Path) -> None:
    client = make_client("ddukddak", max_download_bytes=1000)
    with pytest.raises(DownloadLimitError, match="max_download_bytes") as caught:
        client.download(banner(client), tmp_path / "banner.png")
    assert caught.value.limit == "size"
    assert list(tmp_path.iterdir()) == []


async def test_async_client_is_atomic_too(make_async_client: Any, simulator: Any, tmp_path: Path) -> None:
    sync = MediaClient("ddukddak", "dd_live_demo", base_url=simulator.urls["ddukddak"], time_scale=0.01)
    url = banner(sync)
    sync.close()
    client: AsyncMediaClient = make_async_client("ddukddak", max_attempts=2)
    try:
        fault(simulator, "truncate")
        with pytest.raises(TransportError):
            await client.download(url, tmp_path / "banner.png")
        assert list(tmp_path.iterdir()) == []
        fault(simulator, "truncate", count=1)
        await client.download(url, tmp_path / "banner.png")
        assert sha256(tmp_path / "banner.png") == simulator_sha256(simulator, url)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["banner.png"]
    finally:
        await client.aclose()


# --- the URL policy (offline: these targets are not loopback) ------------------------------------------

REFUSED = [
    # (url, base_url, host named in the error)
    (f"http://169.254.169.254/latest/meta-data/iam/security-credentials/?sig={SIGNATURE}", REMOTE_BASE,
     "169.254.169.254"),
    (f"https://169.254.169.254/latest/meta-data/?sig={SIGNATURE}", REMOTE_BASE, "169.254.169.254"),
    (f"https://10.0.0.1/out.png?sig={SIGNATURE}", REMOTE_BASE, "10.0.0.1"),
    (f"https://[::ffff:10.0.0.1]/out.png?sig={SIGNATURE}", REMOTE_BASE, "::ffff:10.0.0.1"),
    (f"https://[fd00::1]/out.png?sig={SIGNATURE}", REMOTE_BASE, "fd00::1"),
    (f"https://0.0.0.0/out.png?sig={SIGNATURE}", REMOTE_BASE, "0.0.0.0"),
    (f"https://224.0.0.1/out.png?sig={SIGNATURE}", REMOTE_BASE, "224.0.0.1"),
    (f"https://100.64.0.1/out.png?sig={SIGNATURE}", REMOTE_BASE, "100.64.0.1"),
    (f"https://internal.example/out.png?sig={SIGNATURE}", REMOTE_BASE, "internal.example"),
    (f"https://metadata.example/latest/meta-data/?sig={SIGNATURE}", REMOTE_BASE, "metadata.example"),
    (f"https://mixed.example/out.png?sig={SIGNATURE}", REMOTE_BASE, "mixed.example"),
    (f"http://cdn.example/out.png?sig={SIGNATURE}", REMOTE_BASE, "cdn.example"),
    (f"ftp://cdn.example/out.png?sig={SIGNATURE}", REMOTE_BASE, "cdn.example"),
    # loopback targets, refused because the connection itself is not loopback
    (f"https://127.0.0.1/out.png?sig={SIGNATURE}", REMOTE_BASE, "127.0.0.1"),
    (f"https://[::1]/out.png?sig={SIGNATURE}", REMOTE_BASE, "::1"),
    (f"https://localhost/out.png?sig={SIGNATURE}", REMOTE_BASE, "localhost"),
    (f"http://127.0.0.1:8080/_files/x/out.png?sig={SIGNATURE}", REMOTE_BASE, "127.0.0.1"),
    # a loopback connection (the simulator) allows loopback, nothing else
    (f"http://169.254.169.254/latest/meta-data/?sig={SIGNATURE}", LOCAL_BASE, "169.254.169.254"),
    (f"https://10.0.0.1/out.png?sig={SIGNATURE}", LOCAL_BASE, "10.0.0.1"),
    (f"http://internal.example/out.png?sig={SIGNATURE}", LOCAL_BASE, "internal.example"),
    (f"https://metadata.example/out.png?sig={SIGNATURE}", LOCAL_BASE, "metadata.example"),
]


@pytest.mark.parametrize(("url", "base_url", "host"), REFUSED)
def test_unsafe_output_urls_are_refused_before_any_request(fake_dns: None, tmp_path: Path, url: str,
                                                           base_url: str, host: str) -> None:
    handler = Recorder()
    with offline(handler, base_url) as client:
        with pytest.raises(UnsafeURLError) as caught:
            client.download(url, tmp_path / "out.png")
    assert handler.requests == []
    error = caught.value
    assert not error.transient and repr(host) in str(error)
    assert SIGNATURE not in str(error) and SIGNATURE not in repr(error) and "/out.png" not in str(error)
    assert list(tmp_path.iterdir()) == []


async def test_async_client_refuses_cloud_metadata(fake_dns: None, tmp_path: Path) -> None:
    handler = Recorder()
    client = AsyncMediaClient("apex", "sk_live_demo", base_url=LOCAL_BASE, transport=httpx.MockTransport(handler),
                              rate_limit=False)
    try:
        for url in ("http://169.254.169.254/latest/meta-data/", "https://metadata.example/x"):
            with pytest.raises(UnsafeURLError, match="169.254|link-local"):
                await client.download(url, tmp_path / "out.png")
    finally:
        await client.aclose()
    assert handler.requests == []


def png(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"\x89PNG" + b"x" * 1000)


def test_loopback_connection_may_fetch_loopback_over_http(tmp_path: Path) -> None:
    """The simulator's case: both the connection and the URL are loopback."""
    handler = Recorder(png)
    with offline(handler, LOCAL_BASE) as client:
        assert client.download("http://127.0.0.1:9/_files/a/out.png?sig=x", tmp_path / "out.png") == 1004
    assert len(handler.requests) == 1


def test_public_host_is_fetched_at_the_address_that_was_checked(fake_dns: None, tmp_path: Path) -> None:
    """Connecting by name would resolve again, and a DNS answer changed in between (rebinding) would reach
    an address nobody checked; the request goes to the approved address, with the name kept for Host/SNI."""
    handler = Recorder(png)
    with offline(handler) as client:
        client.download(f"https://cdn.example/out.png?sig={SIGNATURE}", tmp_path / "out.png")
    (request,) = handler.requests
    assert request.url.host == PUBLIC and request.url.scheme == "https"
    assert request.headers["host"] == "cdn.example"
    assert request.extensions.get("sni_hostname") == "cdn.example"
    assert "authorization" not in request.headers  # the API key never goes to storage hosts
    assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG")


def test_every_redirect_hop_is_checked(fake_dns: None, tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "cdn.example":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        return png(request)

    handler = Recorder(answer)
    with offline(handler) as client:
        with pytest.raises(UnsafeURLError, match="169.254.169.254"):
            client.download("https://cdn.example/out.png", tmp_path / "out.png")
    assert [r.headers["host"] for r in handler.requests] == ["cdn.example"]
    assert list(tmp_path.iterdir()) == []


def test_redirect_to_a_public_host_is_followed(fake_dns: None, tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "cdn.example":
            return httpx.Response(307, headers={"Location": "https://cdn2.example/region/out.png?sig=2"})
        return png(request)

    handler = Recorder(answer)
    with offline(handler) as client:
        assert client.download("https://cdn.example/out.png", tmp_path / "out.png") == 1004
    assert [(r.headers["host"], r.url.host) for r in handler.requests] == [
        ("cdn.example", PUBLIC), ("cdn2.example", "2606:4700::1111")]


# --- limits (offline: the peer misbehaves in ways the simulator does not offer) ---------------------

def test_size_cap_while_streaming_without_content_length(fake_dns: None, tmp_path: Path) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for n in range(100):
            sent.append(n)
            yield b"x" * 1000

    handler = Recorder(lambda request: httpx.Response(200, content=chunks()))  # chunked: no Content-Length
    with offline(handler, max_download_bytes=5000) as client:
        with pytest.raises(DownloadLimitError, match="max_download_bytes") as caught:
            client.download("https://cdn.example/out.mp4", tmp_path / "out.mp4")
    assert caught.value.limit == "size"
    assert len(sent) < 100  # stopped reading, not read to the end then refused
    assert list(tmp_path.iterdir()) == []


def test_deadline_bounds_a_dripping_body(fake_dns: None, tmp_path: Path) -> None:
    """Each read arrives well within the per-read timeout; only an overall deadline ends it."""

    def drip() -> Iterator[bytes]:
        for _ in range(200):
            time.sleep(0.02)
            yield b"x" * 10

    handler = Recorder(lambda request: httpx.Response(200, content=drip()))
    started = time.monotonic()
    with offline(handler, download_timeout=0.5) as client:
        with pytest.raises(DownloadLimitError, match="download_timeout") as caught:
            client.download("https://cdn.example/out.mp4", tmp_path / "out.mp4")
    assert caught.value.limit == "time" and time.monotonic() - started < 2.0
    assert list(tmp_path.iterdir()) == []


def test_deadline_spans_retries(fake_dns: None, tmp_path: Path) -> None:
    handler = Recorder(lambda request: httpx.Response(503, headers={"Retry-After": "0.2"}))
    started = time.monotonic()
    with offline(handler, max_attempts=100, download_timeout=0.7) as client:
        with pytest.raises(DownloadLimitError, match="download_timeout"):
            client.download("https://cdn.example/out.png", tmp_path / "out.png")
    assert time.monotonic() - started < 2.5
    assert 2 <= len(handler.requests) < 10
    assert list(tmp_path.iterdir()) == []


async def test_async_deadline_spans_retries(fake_dns: None, tmp_path: Path) -> None:
    handler = Recorder(lambda request: httpx.Response(503, headers={"Retry-After": "0.2"}))
    client = AsyncMediaClient("apex", "sk_live_demo", base_url=REMOTE_BASE, transport=httpx.MockTransport(handler),
                              rate_limit=False, max_attempts=100, download_timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(DownloadLimitError, match="download_timeout"):
            await client.download("https://cdn.example/out.png", tmp_path / "out.png")
    finally:
        await client.aclose()
    assert time.monotonic() - started < 2.0 and len(handler.requests) >= 2
