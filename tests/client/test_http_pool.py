"""The async clients of one event loop share one HTTP pool (issue 30: a client per connection scanned the
environment for proxies and held its own sockets): one lease per client, the last one closes it; the
environment's proxy settings keep their meaning; nothing of one connection reaches another's requests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from airflow_provider_mediagen.client import AsyncMediaClient, http_pool
from airflow_provider_mediagen.webhooks.feed import DeliveryFeed

from .conftest import KEYS, TIME_SCALE


class RecordingProxy:
    """A forward HTTP proxy on loopback: it records each request (line and headers), passes it on, and
    answers with a cookie set, as a service behind a load balancer might."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._upstream = httpx.AsyncClient(trust_env=False)

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._upstream.aclose()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := (await reader.readline()).decode():
                method, url, _ = line.split(" ", 2)
                headers: dict[str, str] = {}
                while (header := (await reader.readline()).decode().strip()):
                    name, value = header.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests.append((f"{method} {url}", headers))
                forwarded = {k: v for k, v in headers.items() if k not in ("host", "proxy-connection", "cookie")}
                answer = await self._upstream.request(method, url, headers=forwarded, content=body)
                payload = answer.content
                head = [f"HTTP/1.1 {answer.status_code} OK", f"content-length: {len(payload)}",
                        "content-type: application/json", "set-cookie: session=peer-a; Path=/"]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _client(simulator: Any, key: str = KEYS["facedub"]) -> AsyncMediaClient:
    return AsyncMediaClient("facedub", key, base_url=simulator.urls["facedub"], time_scale=TIME_SCALE)


async def test_clients_of_one_loop_share_one_pool_which_the_last_closes(simulator: Any) -> None:
    first, second = _client(simulator), _client(simulator)
    shared = first._http
    assert second._http is shared and http_pool.users(shared) == 2
    await first.aclose()
    await first.aclose()  # closing twice gives the lease back once
    assert first.is_closed and not shared.is_closed and http_pool.users(shared) == 1
    with pytest.raises(RuntimeError, match="closed"):
        await first.usage()
    assert await second.usage()  # the other connection's reads go on
    await second.aclose()
    assert shared.is_closed and http_pool.users(shared) == 0
    third = _client(simulator)  # a later client gets a new pool
    assert third._http is not shared and not third._http.is_closed
    assert await third.usage()
    await third.aclose()


async def test_a_webhook_feed_shares_the_pool_and_gives_its_lease_back(simulator: Any) -> None:
    client = _client(simulator)
    feed = DeliveryFeed("http://127.0.0.1:9/states?token=t0ken")
    assert feed._http is client._http and http_pool.users(client._http) == 2
    await feed.aclose()
    await feed.aclose()
    assert http_pool.users(client._http) == 1 and not client._http.is_closed
    await client.aclose()


def test_a_client_made_outside_a_running_loop_has_its_own(simulator: Any) -> None:
    client = _client(simulator)

    async def use() -> None:
        assert await client.usage()
        await client.aclose()

    asyncio.run(use())
    assert client._http.is_closed


@pytest.fixture(autouse=True)
def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for scheme in ("http", "https", "all", "no"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)


async def test_the_environment_proxy_is_used_and_cookies_never_cross_connections(
        simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with RecordingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        first = _client(simulator)
        second = _client(simulator, key="fdb_other_customer")
        assert await first.usage()
        with pytest.raises(Exception):  # an unknown key: refused by the service, through the proxy
            await second.usage()
        await first.aclose()
        await second.aclose()
    lines = [line for line, _ in proxy.requests]
    assert lines == [f"GET {simulator.urls['facedub']}/usage"] * 2
    # The first answer set a cookie; a shared pool must not hand it to the next connection's request.
    assert "cookie" not in proxy.requests[1][1]
    assert proxy.requests[0][1]["authorization"] != proxy.requests[1][1]["authorization"]


async def test_no_proxy_keeps_its_meaning(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with RecordingProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        client = _client(simulator)
        assert await client.usage()
        await client.aclose()
    assert proxy.requests == []


async def test_streams_have_their_own_pool_so_they_never_starve_status_reads(simulator: Any) -> None:
    first, second = _client(simulator), _client(simulator)
    streams = first._stream_http()
    assert streams is not first._http and second._stream_http() is streams
    assert http_pool.users(streams) == 2 and http_pool.users(first._http) == 2
    await first.aclose()
    await second.aclose()
    assert streams.is_closed and first._http.is_closed
