"""The client's address, believing ``X-Forwarded-For`` only from configured proxies.

Rate limits and sign-in lockouts key on the client address, so whoever can choose that address
can dodge them. A header is chosen by the sender: it is believed only when the connection comes
from an address in ``GIR_TRUSTED_PROXIES`` (empty by default — not even 127.0.0.1, since anything
on the host could then forge it). uvicorn's own ``--proxy-headers`` trusts 127.0.0.1 by default,
so every place that starts the API passes ``--no-proxy-headers`` and leaves the decision here.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.settings import get_settings

Address = IPv4Address | IPv6Address


def _parse(text: str) -> Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address | None) -> bool:
    return address is not None and any(
        address in network for network in get_settings().proxy_networks
    )


def forwarded_client(peer: str, forwarded_for: str | None) -> str:
    """The client address: the nearest hop of ``X-Forwarded-For`` not itself a trusted proxy,
    when ``peer`` is one; ``peer`` otherwise.

    Walking from the right stops at the first address our proxies did not vouch for: entries
    left of it were written by the client and prove nothing.
    """
    if not forwarded_for or not _trusted(_parse(peer)):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return peer  # a garbled chain: fall back to what the socket says
        if not _trusted(address):
            return str(address)
    return hops[0]


class TrustedProxyMiddleware:
    """Replace the connection's address by the forwarded one when a trusted proxy sent it.

    Pure ASGI (not ``BaseHTTPMiddleware``) so uploads stream through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and get_settings().proxy_networks:
            forwarded = Headers(scope=scope).get("x-forwarded-for")
            scope["client"] = (forwarded_client(client[0], forwarded), client[1])
        await self.app(scope, receive, send)
