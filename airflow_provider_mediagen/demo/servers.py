"""Real servers that ``mediagen demo --production``, the tests and the benchmarks start themselves: on a
free loopback port, in a temporary folder, stopped by pid.

Redis is Debian's ``redis-server`` (installed by ``scripts/setup-redis.sh``, which the test command runs),
bound to 127.0.0.1 and persisting nothing (``--save ""``). PostgreSQL is Debian's 15 (``scripts/setup-postgres.sh``):
a cluster made by ``initdb`` for the run, listening on 127.0.0.1 only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .stack import free_port


def stop_process(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds: a server the tests or benchmarks started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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


#: Debian's PostgreSQL 15 binaries (``MEDIAGEN_PG_BIN`` for another place).
PG_BIN = Path(os.environ.get("MEDIAGEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresServer:
    """A throwaway PostgreSQL cluster: ``initdb`` in a temporary folder owned by the ``postgres`` user (run
    through ``runuser`` when this is root, since PostgreSQL refuses to run as root), trust authentication
    on 127.0.0.1 only, ``fsync`` off (nothing here needs to survive a crash), stopped by pid and removed."""

    def __init__(self, port: int | None = None) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries are missing in {PG_BIN}: apt-get install postgresql-15 "
                               "(or set MEDIAGEN_PG_BIN)")
        self.port = port or free_port()
        self.folder: Path | None = None
        self.pid: int | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def start(self, timeout: float = 60.0) -> PostgresServer:
        self.folder = Path(tempfile.mkdtemp(prefix="mediagen-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        subprocess.run(self._as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8", "--no-sync"),
                       check=True, capture_output=True, timeout=timeout)
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"),
                                         "-o", options, "-w", "-t", str(int(timeout)), "start"),
                       check=True, capture_output=True, timeout=timeout + 10)
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGQUIT)  # immediate shutdown: nothing here is kept
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
            self.pid = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
