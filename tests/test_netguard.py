"""The suite's network guard (``tests/netguard``): its decisions, and that it is really in place in the pytest
process, in the Python processes the suite starts and in node processes.

Nothing here may send anything even if the guard were broken: the decision functions are called directly,
and where a guarded call is made for real, the resolver or connect *under* the guard is first replaced by a
recorder, so a guard that let the call through would be caught by the recorder, not by the network.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .netguard import netguard

GUARD_JS = Path(netguard.__file__).with_name("guard.js")
PUBLIC_NAMES = ["your-server.com", "0.com", "7k.info", "k.io", "update.googleapis.com", "clients2.google.com",
                "localhost.evil.net", "127.0.0.1.nip.io"]


@pytest.mark.parametrize("host", PUBLIC_NAMES)
def test_public_names_are_refused(host: str) -> None:
    assert not netguard.name_allowed(host)
    assert not netguard.name_allowed(host.encode())


@pytest.mark.parametrize("host", [None, "", "localhost", "LOCALHOST", "127.0.0.1", "::1", "10.0.0.1", "8.8.8.8"])
def test_localhost_and_ip_literals_need_no_query(host: str | None) -> None:
    # an IP literal is not a DNS query; connecting to it is judged by address_allowed
    assert netguard.name_allowed(host)


@pytest.mark.parametrize(("family", "address", "allowed"), [
    (socket.AF_INET, ("127.0.0.1", 80), True),
    (socket.AF_INET, ("127.5.6.7", 80), True),
    (socket.AF_INET, ("0.0.0.0", 80), True),
    (socket.AF_INET6, ("::1", 80, 0, 0), True),
    (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0), True),
    (socket.AF_UNIX, "/tmp/some.sock", True),
    (socket.AF_INET, ("10.0.0.1", 80), False),
    (socket.AF_INET, ("169.254.169.254", 80), False),
    (socket.AF_INET, ("8.8.8.8", 53), False),
    (socket.AF_INET6, ("2001:4860:4860::8888", 443, 0, 0), False),
    (socket.AF_INET6, ("::ffff:8.8.8.8", 443, 0, 0), False),
    (socket.AF_INET, ("example.com", 443), False),
])
def test_only_loopback_addresses_may_be_reached(family: int, address: Any, allowed: bool) -> None:
    assert netguard.address_allowed(family, address) is allowed


def test_a_refused_lookup_never_reaches_the_resolver_and_is_logged(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "attempts.jsonl"
    monkeypatch.setenv(netguard.LOG_ENV, str(log))
    asked: list[Any] = []
    guarded = netguard.guard_resolver(lambda host, *a: asked.append(host), "getaddrinfo")
    with pytest.raises(OSError, match=r"getaddrinfo of 'your-server.com' refused.*test_netguard.py"):
        guarded("your-server.com", 443)
    guarded("localhost", 443)
    assert asked == ["localhost"]
    (attempt,) = netguard.read_attempts(str(log), 0)[0]
    assert attempt["target"] == "'your-server.com'" and "test_netguard.py" in attempt["site"]


def test_a_refused_connect_never_reaches_the_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(netguard.LOG_ENV, str(tmp_path / "attempts.jsonl"))
    calls: list[Any] = []
    guarded = netguard.guard_connect(lambda sock, address: calls.append(address), "connect")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(OSError, match=r"connect of \('93.184.216.34', 443\) refused"):
            guarded(sock, ("93.184.216.34", 443))
        guarded(sock, ("127.0.0.1", 9))
    assert calls == [("127.0.0.1", 9)]


def test_the_guard_is_installed_in_this_process() -> None:
    assert netguard.installed()
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        assert hasattr(getattr(socket, name), "__wrapped__"), name
    for name in ("connect", "connect_ex", "sendto"):
        assert hasattr(getattr(socket.socket, name), "__wrapped__"), name


CHILD = """
import _socket, json, socket, sys
asked = []
_socket.getaddrinfo = lambda *a, **k: asked.append(a[0]) or []   # what the guard wraps, made harmless
try:
    socket.getaddrinfo("your-server.com", 443)
    outcome = "resolved"
except OSError as exc:
    outcome = str(exc)
print(json.dumps({"outcome": outcome, "asked": asked}))
"""


def test_python_processes_the_suite_starts_load_the_guard(tmp_path: Path) -> None:
    log = tmp_path / "child.jsonl"
    env = {**os.environ, netguard.LOG_ENV: str(log)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    result = json.loads(done.stdout)
    assert result["asked"] == []
    assert "getaddrinfo of 'your-server.com' refused" in result["outcome"]
    assert [a["target"] for a in netguard.read_attempts(str(log), 0)[0]] == ["'your-server.com'"]


#: Loaded before the guard: replaces what the guard wraps with recorders, so nothing can be sent.
NODE_RECORDERS = """
const dns = require('dns'); const net = require('net');
global.asked = [];
dns.lookup = function (host, ...args) { global.asked.push('lookup ' + host); args[args.length - 1](null, '127.0.0.1', 4); };
net.Socket.prototype.connect = function (...args) { global.asked.push('connect'); return this; };
"""

NODE_CHILD = """
const dns = require('dns'); const net = require('net');
const results = {};
dns.lookup('your-server.com', (err) => {
  results.lookup = err ? err.message : 'resolved';
  dns.lookup('localhost', () => {
    const sock = new net.Socket();
    sock.on('error', (e) => {
      results.connect = e.message;
      console.log(JSON.stringify({ results, asked: global.asked }));
    });
    sock.connect(443, '93.184.216.34');
  });
});
"""


def test_node_processes_load_the_guard_through_node_options(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the suite needs Node 20+ (./dev.sh test installs the rest)")
    assert f"--require={GUARD_JS}" in os.environ.get("NODE_OPTIONS", "")
    recorders = tmp_path / "recorders.js"
    recorders.write_text(NODE_RECORDERS)
    log = tmp_path / "node.jsonl"
    env = {**os.environ, netguard.LOG_ENV: str(log),
           "NODE_OPTIONS": f"--require={recorders} {os.environ['NODE_OPTIONS']}"}
    done = subprocess.run([node, "-e", NODE_CHILD], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    out = json.loads(done.stdout)
    assert out["asked"] == ["lookup localhost"]  # neither the public name nor the public address went through
    assert "dns.lookup of your-server.com refused" in out["results"]["lookup"]
    assert "connect of 93.184.216.34 refused" in out["results"]["connect"]
    assert [a["target"] for a in netguard.read_attempts(str(log), 0)[0]] == ["your-server.com", "93.184.216.34"]


PROBE = ("import json, os, socket; "
         "print(json.dumps({'interfaces': [n for _, n in socket.if_nameindex()], 'mode': os.environ['MEDIAGEN_NETNS']}))")


def _namespaces_possible() -> bool:
    userns = [] if os.geteuid() == 0 else ["--map-root-user"]
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "--net", *userns, "true"], capture_output=True, check=False).returncode == 0


def test_dev_sh_runs_commands_with_only_loopback_where_the_machine_allows() -> None:
    """``./dev.sh test`` and ``./dev.sh demo`` run through this same function (``offline``) once installed."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([str(root / "dev.sh"), "offline", sys.executable, "-c", PROBE], capture_output=True,
                          text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    if _namespaces_possible():
        assert seen == {"interfaces": ["lo"], "mode": "private"}
        assert done.stderr == ""
    else:  # said once, then run as it is
        assert seen["mode"] == "shared" and "no private network namespace here" in done.stderr
    off = subprocess.run([str(root / "dev.sh"), "offline", sys.executable, "-c", PROBE], capture_output=True,
                         text=True, timeout=60, check=True, env={**os.environ, "MEDIAGEN_NETNS": "off"})
    assert json.loads(off.stdout)["mode"] == "shared" and "MEDIAGEN_NETNS=off" in off.stderr
