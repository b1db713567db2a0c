"""The client's address: the socket's peer, or what trusted proxies say it was.

`X-Forwarded-For` is read only when the peer is one of HOTLINE_TRUSTED_PROXIES, and then
from the right, skipping the proxies' own addresses: the first address no trusted proxy
owns is the client. Anyone can write the header's leftmost entries, so they never count.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or networks (`10.0.0.5, 10.1.0.0/16`); ValueError if bad."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address the request came from, as far as the configured proxies can be trusted."""
    peer = request.client.host if request.client else "unknown"
    networks: tuple[Network, ...] = request.app.state.trusted_proxies
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
