"""Can a platform reach shoprec's public URL? Checked when a shop connects.

A store delivers webhooks to SHOPREC_PUBLIC_URL. When that URL is dead, or names a loopback
or private address that a store elsewhere cannot reach, the store's deliveries fail and
WooCommerce silently disables the webhooks after a few failures, so orders stop arriving
with no error anywhere. Connecting therefore asks `<public URL>/healthz` from here and
compares the address classes of the public URL and the store; what it finds is returned as
plain-language warnings for the CLI and the connection's health note.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

HEALTH_PATH = "/healthz"
# How far an address reaches: a store can call shoprec only if shoprec's address reaches
# at least as far as the store's own (a store on the internet cannot call a LAN address).
_REACH = {"loopback": 0, "private": 1, "public": 2}
_WHERE = {"loopback": "this machine only", "private": "a private network"}

Resolver = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to here ([] when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def address_reach(url: str, resolve: Resolver = resolve_host) -> str | None:
    """'loopback', 'private' or 'public' for the URL's host; None when it cannot be told."""
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = []
        for text in resolve(host):
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                continue
    if not addresses:
        return None
    reaches = [_reach_of(a) for a in addresses]
    return min(reaches, key=_REACH.__getitem__)


def _reach_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local or address.is_reserved:
        return "private"
    return "public"


def health_problem(session: requests.Session, public_url: str, timeout_s: float) -> str | None:
    """Why `<public_url>/healthz` did not answer 200 from here, or None when it did."""
    url = public_url.rstrip("/") + HEALTH_PATH
    try:
        response = session.get(url, timeout=timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        return f"{url} did not answer ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{url} answered {response.status_code}, not 200"
    return None


def public_url_warnings(
    session: requests.Session,
    public_url: str,
    store_url: str,
    *,
    timeout_s: float = 5.0,
    resolve: Resolver = resolve_host,
) -> list[str]:
    """What stands between the store and shoprec's webhook endpoint ([] when nothing seen)."""
    warnings: list[str] = []
    problem = health_problem(session, public_url, timeout_s)
    if problem:
        warnings.append(
            f"SHOPREC_PUBLIC_URL {public_url} looks unreachable: {problem}; the store's "
            "webhooks will fail until it answers"
        )
    mine = address_reach(public_url, resolve)
    theirs = address_reach(store_url, resolve) or "public"
    if mine is not None and _REACH[mine] < _REACH[theirs]:
        warnings.append(
            f"SHOPREC_PUBLIC_URL {public_url} is a {mine} address (reachable from "
            f"{_WHERE[mine]}); the store at {store_url} cannot deliver webhooks to it: set "
            "SHOPREC_PUBLIC_URL to an address the store can reach and connect again"
        )
    return warnings
