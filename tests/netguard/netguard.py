"""The suite's network guard: nothing the tests run may resolve a name but ``localhost`` or connect to an
address beyond this host.

The machines this project is developed and tested on flag any traffic beyond loopback, and a test that
quietly reaches a public host (a docs example's webhook URL, a generated ``format: uri`` value) is a
defect for anyone who runs the suite offline or in CI. The private network namespace of ``dev.sh`` stops
such traffic at the kernel; this guard makes the attempt *visible*: the call fails at once with an error
that names the host and the call site, and the attempt is written to a log that the pytest process reads
after every test, so the test that tried fails even when the attempt happened in a background thread or in
a process the test started (Airflow's, the schemathesis CLI's: they load this module through
``sitecustomize``; node processes load ``guard.js``).

The decision (:func:`name_allowed`, :func:`address_allowed`) is separate from the patching so that the
guard's own tests can check it without sending anything.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
import traceback
from typing import Any

#: Names that may be resolved. ``localhost`` is answered from /etc/hosts; so is this machine's own name,
#: which Airflow resolves for its hostname (``socket.getfqdn``), added by :func:`install`.
ALLOWED_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback"}
#: Where attempts are written (one JSON line each), read back by the pytest plugin in ``conftest.py``.
LOG_ENV = "MEDIAGEN_NETGUARD_LOG"
_LOCAL_FAMILIES = {getattr(socket, name) for name in ("AF_UNIX", "AF_NETLINK", "AF_PACKET") if hasattr(socket, name)}
_MARK = "_mediagen_netguard"
_lock = threading.Lock()


class NetworkGuardError(socket.gaierror):
    """An attempt to reach beyond this host. A ``gaierror`` (so an ``OSError``): code that copes with a
    failed lookup or connection copes with this one too, and the log still records it."""


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def ip_is_local(host: str) -> bool:
    """Loopback (``127.0.0.0/8``, ``::1``, an IPv4-mapped loopback) or the unspecified address, which
    Linux connects to this host."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified


def name_allowed(host: Any, extra_names: frozenset[str] = frozenset()) -> bool:
    """May ``host`` be looked up? ``None``/empty (a wildcard bind), an IP literal (no query: a connect to
    it is judged by :func:`address_allowed`), ``localhost`` and ``extra_names``; nothing else."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().lower()
    return name in ("", "*") or _is_ip_literal(name) or name in ALLOWED_NAMES or name in extra_names


def address_allowed(family: int, address: Any) -> bool:
    """May a socket of ``family`` connect or send to ``address``? Local families always; IP only to a
    loopback (or unspecified) literal. A name here would be resolved by the kernel call itself, so it is
    judged as a name."""
    if family in _LOCAL_FAMILIES:
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        return isinstance(host, str) and ip_is_local(host)
    return False


def _call_site() -> str:
    """Who tried: the innermost frame, then the innermost frames of our own code (not of a library or of
    the standard library), so the message points at the line to fix."""
    import sys
    import sysconfig

    libraries = ("site-packages", sysconfig.get_paths()["stdlib"], sys.base_prefix + "/lib")
    frames = [f for f in traceback.extract_stack()[:-2] if f.filename != __file__]
    ours = [f for f in frames if not any(part in f.filename for part in libraries)]
    lines = [f"{f.filename}:{f.lineno} {f.name}" for f in [*frames[-1:], *reversed(ours[-4:])]]
    return " <- ".join(dict.fromkeys(lines)) or "(unknown)"


def _record(kind: str, target: str) -> NetworkGuardError:
    site = _call_site()
    path = os.environ.get(LOG_ENV)
    if path:
        line = json.dumps({"pid": os.getpid(), "kind": kind, "target": target, "site": site})
        with _lock, open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")
    return NetworkGuardError(socket.EAI_NONAME, f"network guard: {kind} of {target} refused (only loopback "
                                                f"may be reached in this test run); tried at {site}")


def guard_resolver(original: Any, kind: str, extra_names: frozenset[str] = frozenset()) -> Any:
    """``original`` (a resolver function of :mod:`socket`) refusing every name :func:`name_allowed` refuses."""

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not name_allowed(host, extra_names):
            raise _record(kind, repr(host))
        return original(host, *args, **kwargs)

    guarded.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(guarded, _MARK, True)
    return guarded


def guard_connect(original: Any, kind: str) -> Any:
    """``original`` (``connect``, ``connect_ex`` or ``sendto`` of ``socket.socket``) refusing every address
    :func:`address_allowed` refuses; the address is the call's last argument."""

    def guarded(sock: socket.socket, *args: Any) -> Any:
        if not address_allowed(sock.family, args[-1]):
            raise _record(kind, repr(args[-1]))
        return original(sock, *args)

    guarded.__wrapped__ = original  # type: ignore[attr-defined]
    return guarded


def guard_loop(loop_class: type, own: frozenset[str], native: bool) -> None:
    """Guard an event loop class's own resolver and connections. asyncio's loop resolves in a worker
    thread (whose stack would not say who asked), so the name is judged here, in the caller's coroutine.
    uvloop (which uvicorn picks when it is installed) resolves and connects in libuv, below ``socket``: with
    ``native`` its connecting methods are judged here too."""

    def wrap(name: str, check: Any) -> None:
        original = getattr(loop_class, name)

        async def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            check(*args, **kwargs)
            return await original(self, *args, **kwargs)

        guarded.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(loop_class, name, guarded)

    def name_or_address(kind: str, host: Any, port: Any = None) -> None:
        if isinstance(host, str) and _is_ip_literal(host):
            if not ip_is_local(host):
                raise _record(kind, repr((host, port)))
        elif not name_allowed(host, own):
            raise _record(kind, repr(host))

    def getaddrinfo(host: Any, port: Any = None, *args: Any, **kwargs: Any) -> None:
        # asyncio's loop resolves with socket.getaddrinfo: when a test has patched that (a resolver mapping
        # a public name to a loopback listener), the patched resolver decides, as it would without us
        if native or getattr(socket.getaddrinfo, _MARK, False):
            name_or_address("getaddrinfo", host)

    def create_connection(factory: Any, host: Any = None, port: Any = None, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("sock") is None:
            name_or_address("create_connection", host, port)

    def sock_connect(sock: socket.socket, address: Any) -> None:
        if not address_allowed(sock.family, address):
            raise _record("sock_connect", repr(address))

    def create_datagram_endpoint(factory: Any, local_addr: Any = None, remote_addr: Any = None,
                                 *args: Any, **kwargs: Any) -> None:
        if remote_addr is not None:
            name_or_address("create_datagram_endpoint", *remote_addr[:2])

    wrap("getaddrinfo", getaddrinfo)
    if native:
        for check in (create_connection, sock_connect, create_datagram_endpoint):
            wrap(check.__name__, check)


class _PatchOnImport:
    """A ``sys.meta_path`` finder that guards ``uvloop.Loop`` once uvloop is imported (importing it here
    would cost every process that never uses it)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "uvloop":
            return None
        import importlib.machinery
        import sys

        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_guard(module: Any) -> None:
            exec_module(module)
            guard_loop(module.Loop, _OWN, native=True)

        loader.exec_module = exec_and_guard  # type: ignore[method-assign]
        return spec


_OWN: frozenset[str] = frozenset()


def install() -> None:
    """Wrap the resolver functions of :mod:`socket`, the connecting methods of ``socket.socket`` and the
    event loops' resolvers; once per process, whatever imports this module first."""
    global _OWN
    if getattr(socket, _MARK, False):
        return
    setattr(socket, _MARK, True)
    import asyncio.base_events
    import sys

    _OWN = own = frozenset(n.lower() for n in {socket.gethostname()} if n)
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, name, guard_resolver(getattr(socket, name), name, own))
    for name, kind in (("connect", "connect"), ("connect_ex", "connect"), ("sendto", "sendto")):
        setattr(socket.socket, name, guard_connect(getattr(socket.socket, name), kind))
    guard_loop(asyncio.base_events.BaseEventLoop, own, native=False)
    if "uvloop" in sys.modules:
        guard_loop(sys.modules["uvloop"].Loop, own, native=True)
    else:
        sys.meta_path.insert(0, _PatchOnImport())


def installed() -> bool:
    return bool(getattr(socket, _MARK, False))


def read_attempts(path: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Attempts written to the log at ``path`` since byte ``offset``, and the new offset."""
    try:
        with open(path, encoding="utf-8") as log:
            log.seek(offset)
            text = log.read()
    except FileNotFoundError:
        return [], offset
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()], offset + len(complete.encode())
