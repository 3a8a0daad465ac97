"""URL checks shared by the services: HTTPS URLs in requests and SSRF-safe webhook URLs.

Apex documents that webhook URLs are validated against SSRF (private IPs, internal host names and
cloud metadata endpoints blocked) and must be public HTTPS. The simulator applies those rules
literally to the URL: IP literals are classified with :mod:`ipaddress`, host names by the documented
internal patterns. It never resolves DNS (a simulator must not depend on the network), so a public
name that resolves to a private address is accepted here although the real service would refuse it.

``allow_loopback`` (the simulator's ``allow_loopback_webhooks``) admits ``http``/``https`` URLs on
``127.0.0.0/8``, ``::1`` and ``localhost`` so local tests can receive deliveries.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

INTERNAL_HOSTS = frozenset({"localhost", "metadata.google.internal", "metadata", "instance-data"})
INTERNAL_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain")
METADATA_IPS = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


def is_https_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname)


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_on_this_machine(url: str) -> bool:
    """Is ``url``'s host ``localhost`` or a loopback IP literal, reached without asking DNS? (Other names
    under ``.localhost`` are loopback by the rules above, but resolving them may ask a DNS server.)"""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return _is_loopback(host) and not host.endswith(".localhost")


def webhook_url_problem(value: str, allow_loopback: bool) -> str | None:
    """Why ``value`` is not an acceptable webhook URL, or None when it is."""
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "must be a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an absolute HTTPS URL"
    if allow_loopback and _is_loopback(host):
        return None
    if parts.scheme != "https":
        return "must use HTTPS"
    if host in INTERNAL_HOSTS or host.endswith(INTERNAL_SUFFIXES) or "." not in host and ":" not in host:
        return "internal host names are not allowed"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if str(address) in METADATA_IPS:
        return "cloud metadata endpoints are not allowed"
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or (address.version == 4 and address in ipaddress.ip_network("100.64.0.0/10"))
    ):
        return "private or reserved addresses are not allowed"
    return None
