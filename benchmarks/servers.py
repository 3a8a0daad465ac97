"""Real servers the tests and benchmarks start themselves: on a free loopback port, in a temporary folder, stopped by pid.

Redis is Debian's ``redis-server`` (installed by ``scripts/setup-redis.sh``, which the test command runs),
bound to 127.0.0.1 and persisting nothing (``--save ""``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from airflow_provider_mediagen.demo.stack import free_port


class RedisServer:
    """``redis-server`` on ``port``; :meth:`kill` and :meth:`start` again on the same port to model an
    outage (a SIGKILL: nothing kept, as a crashed Redis without persistence)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run scripts/setup-redis.sh (./dev.sh setup does)")
        self.binary, self.folder, self.port = binary, folder, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the server's own, kept for a failure
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
