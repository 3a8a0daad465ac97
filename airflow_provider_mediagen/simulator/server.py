"""Running the simulator: in a background thread (tests, demo) or in the foreground (CLI).

:class:`SimulatorServer` binds its socket itself, so ``port=0`` gets a free ephemeral port that is
known before uvicorn starts, then runs uvicorn in a daemon thread and returns from :meth:`start`
only once ``/_sim/health`` answers. :meth:`stop` asks uvicorn to exit and joins the thread, which
runs the app's lifespan shutdown (ticker and webhook tasks cancelled, client closed).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

if TYPE_CHECKING:
    from typing_extensions import Self

from .app import create_app
from .config import SimulatorConfig, default_keys
from .registry import registered


class _NotifyingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_ready`` once it listens and handles signals only when
    asked (the CLI), never in a background thread."""

    def __init__(
        self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None, handle_signals: bool = False
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._handle_signals = handle_signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C / SIGTERM ask for a graceful exit (a second Ctrl-C forces it).

        uvicorn's own handler re-raises the signal after shutdown, which would end the CLI with
        "killed by SIGTERM" instead of returning from ``main``; in a background thread no handler
        may be installed at all.
        """
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_uvicorn_config(config: SimulatorConfig, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config),
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


class SimulatorServer:
    """The simulator on a background thread::

    with SimulatorServer(SimulatorConfig(time_scale=0.01)) as sim:
        httpx.get(sim.urls["ddukddak"] + "/auth", headers={"Authorization": f"Bearer {sim.keys['ddukddak']}"})
    """

    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimulatorConfig()
        self.host = host
        self.port = port
        self.keys: dict[str, str] = default_keys()
        self._server: _NotifyingServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # --- addresses ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        base = self.base_url
        return {name: base + sim.prefix for name, sim in registered().items()}

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> SimulatorServer:
        if self._thread is not None:
            return self
        self._socket = bind_socket(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        ready = threading.Event()
        self._server = _NotifyingServer(make_uvicorn_config(self.config), on_ready=ready.set)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="mediagen-sim", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("simulator server did not start")
        self._wait_healthy(deadline)
        return self

    def _wait_healthy(self, deadline: float) -> None:
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            while True:
                try:
                    if client.get(self.base_url + "/_sim/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("simulator server does not answer")
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- control API helpers -------------------------------------------------------------------
    def _control(self, method: str, path: str, json: Any = None) -> Any:
        with httpx.Client(trust_env=False, timeout=10.0) as client:
            response = client.request(method, self.base_url + "/_sim" + path, json=json)
            response.raise_for_status()
            return response.json()

    def counters(self) -> dict[str, Any]:
        return self._control("GET", "/counters")

    def attacker_hits(self) -> int:
        """Fetches of the attacker endpoint of ``webhook_forge`` (nothing honest fetches it)."""
        return int(self._control("GET", "/attacker_hits")["attacker_hits"])

    def reset(self) -> None:
        self._control("POST", "/reset")

    def set_faults(self, rules: list[dict[str, Any]], seed: int | None = None) -> list[dict[str, Any]]:
        return self._control("POST", "/faults", {"rules": rules, "seed": seed} if seed is not None else rules)

    def clear_faults(self) -> None:
        self._control("DELETE", "/faults")

    def jobs(self) -> list[dict[str, Any]]:
        return self._control("GET", "/jobs")

    def accounts(self) -> list[dict[str, Any]]:
        return self._control("GET", "/accounts")

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._control("POST", "/config", changes)

    def facedub_jwt(self, key: str | None = None, ttl: float = 3600) -> str:
        return self._control("POST", "/facedub/jwt", {"key": key or self.keys["facedub"], "ttl": ttl})["token"]

    def add_account(self, **spec: Any) -> dict[str, Any]:
        return self._control("POST", "/accounts", spec)
