"""Which output URLs the client may fetch, decided before a single byte is requested.

Output URLs come from a network peer: a service's answer or a webhook delivery, which anyone who learns
the webhook address can forge. Fetched blindly, such a URL turns a worker into a proxy into its own
network (``http://169.254.169.254/`` cloud metadata, ``https://10.0.0.1/`` admin pages, the Airflow API
on loopback). So a URL must be ``https`` and every address its host resolves to must be public. Two
exceptions serve the local simulator only: ``http`` and loopback addresses are accepted when both the URL's
host and the connection's own ``base_url`` host are loopback.

The check resolves the host once and hands back the addresses it approved, and the client connects to
one of exactly those (keeping the name for the ``Host`` header and TLS SNI/certificate check), so a DNS
answer that changes between the check and the connection (DNS rebinding) cannot slip past it.

Errors name the host and the rule, never the path or query: signed URLs carry their signature there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from . import errors

__all__ = ["CheckedURL", "acheck_url", "check_url", "is_loopback_host"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_AddrInfo = tuple[Any, Any, Any, str, tuple[Any, ...]]


@dataclass(frozen=True)
class CheckedURL:
    """An output URL that passed the policy, with the addresses its host was approved at."""

    url: httpx.URL
    host: str
    addresses: tuple[str, ...]

    def request(self, attempt: int = 1) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """URL, headers and extensions of a request pinned to an approved address. Each attempt takes the
        next address, so an unreachable one (an IPv6 route that is down) does not fail every retry."""
        address = self.addresses[(attempt - 1) % len(self.addresses)]
        if address == self.host:
            return self.url, {}, {}
        headers = {"Host": self.url.netloc.decode("ascii").rpartition("@")[2]}
        extensions = {"sni_hostname": self.host} if self.url.scheme == "https" else {}
        return self.url.copy_with(host=address), headers, extensions


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine without asking DNS: a loopback literal or ``localhost``
    (RFC 6761 reserves ``*.localhost`` for loopback too)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _address(host).is_loopback
    except ValueError:
        return False


def _address(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 scope id ("fe80::1%eth0") is no part of it
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


def _refused_because(address: IPAddress, allow_loopback: bool) -> str | None:
    """The rule ``address`` breaks, or ``None`` for an address the client may connect to."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address (allowed only if the connection's own host is loopback)"
    if address.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private-network address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


@dataclass(frozen=True)
class _Target:
    """A URL that passed the checks needing no DNS, waiting for its addresses to be checked."""

    url: httpx.URL
    host: str  # IDNA-encoded, lower case, no brackets
    port: int
    allow_loopback: bool
    service: str | None

    def refuse(self, why: str) -> errors.UnsafeURLError:
        return _refusal(f"refused to fetch an output from host {self.host!r}: {why}; nothing was requested",
                        self.service)

    def unresolved(self, exc: BaseException) -> errors.TransportError:
        return errors.TransportError(f"download failed: cannot resolve host {self.host!r} ({type(exc).__name__})",
                                     service=self.service, endpoint="GET output")


def _refusal(message: str, service: str | None) -> errors.UnsafeURLError:
    return errors.UnsafeURLError(message, service=service, endpoint="GET output")


def _parse(url: str, base_url: str, service: str | None) -> _Target:
    """The checks that need no DNS: an absolute URL with a host, and the scheme rule."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower().strip("[]")
    except (httpx.InvalidURL, TypeError, ValueError, UnicodeError):
        raise _refusal("refused to fetch an output: the URL is not a valid URL; nothing was requested",
                       service) from None
    target = _Target(parsed, host, parsed.port or (443 if parsed.scheme == "https" else 80),
                     is_loopback_host(httpx.URL(base_url).host), service)
    if parsed.scheme not in ("https", "http"):
        raise target.refuse(f"scheme {parsed.scheme!r} is not allowed; output URLs must be https")
    if not host:
        raise target.refuse("the URL names no host")
    if parsed.scheme == "http" and not (target.allow_loopback and is_loopback_host(host)):
        raise target.refuse("plain http is allowed only from a loopback connection to a loopback host; "
                            "output URLs must be https")
    return target


def _approve(target: _Target, infos: Iterable[_AddrInfo]) -> CheckedURL:
    """Every resolved address must pass, not just the first: the connection may use any of them."""
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            address = _address(text)
        except ValueError:
            raise target.refuse("it resolves to something that is not an IP address") from None
        if (why := _refused_because(address, target.allow_loopback)) is not None:
            raise target.refuse(f"it resolves to {why} ({address})")
        if target.url.scheme == "http" and not address.is_loopback:
            raise target.refuse(f"plain http to a non-loopback address ({address}) is not allowed")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise target.refuse("it resolves to no address")
    return CheckedURL(target.url, target.host, tuple(addresses))


def check_url(url: str, base_url: str, *, service: str | None = None) -> CheckedURL:
    """Check ``url`` against the policy (see the module docstring) for a client whose connection is
    ``base_url``; raises :class:`~.errors.UnsafeURLError` before any request is made."""
    target = _parse(url, base_url, service)
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise target.unresolved(exc) from None
    return _approve(target, infos)


async def acheck_url(url: str, base_url: str, *, service: str | None = None) -> CheckedURL:
    """:func:`check_url` for an event loop: the resolution runs in the loop's resolver thread."""
    target = _parse(url, base_url, service)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise target.unresolved(exc) from None
    return _approve(target, infos)
