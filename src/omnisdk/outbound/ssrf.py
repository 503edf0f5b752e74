"""The SSRF guard of outgoing webhooks: a subscription may not make omnisdk call into the
network it runs in.

A target is refused unless it is ``http`` or ``https`` with a host name or address, and every
address the name resolves to is global (:attr:`ipaddress.IPv4Address.is_global`): not
loopback, private (RFC 1918, unique-local), link-local (169.254/16, where cloud metadata
services live), shared, reserved or multicast — unless the address is inside one of
``[webhooks] allowed_networks``.  The check runs when a subscription is made (400) and again
before every attempt (a name may be re-pointed later: DNS rebinding).  Plain ``http`` is
allowed only when every address is loopback (a receiver on the same machine, listed in
``allowed_networks``): anywhere else the signed events, customers' messages among them, would
cross the network in clear, so the target must be ``https`` (:func:`check_scheme`).  What remains: the
resolution here and httpx's own may differ within a TTL; a receiver on a private network needs
its network listed explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeTargetError(ValueError):
    """A webhook target the SSRF guard refuses (the API answers 400)."""


class InsecureTargetError(UnsafeTargetError):
    """A plain ``http`` target off loopback (the API answers 400, like any refused target)."""


def networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def check_url(url: str) -> str:
    """The host of an acceptable URL.

    Raises:
        UnsafeTargetError: not http(s), no host, credentials in it, or a fragment.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTargetError("a webhook target is an http(s) URL with a host")
    if parts.username or parts.password:
        raise UnsafeTargetError("a webhook target carries no credentials (the signature authenticates)")
    if parts.fragment:
        raise UnsafeTargetError("a webhook target has no fragment")
    return parts.hostname


def check_addresses(host: str, addresses: Sequence[str], allowed: Sequence[Network]) -> None:
    """Raises UnsafeTargetError: one of ``addresses`` (what ``host`` resolves to) is not global
    and not inside ``allowed``."""
    if not addresses:
        raise UnsafeTargetError(f"{host} resolves to no address")
    for text in addresses:
        ip = _ip(text)
        if ip.is_global or any(ip in net for net in allowed):
            continue
        raise UnsafeTargetError(f"{host} resolves to {ip}, a non-public address ([webhooks] allowed_networks)")


def _ip(text: str) -> IPAddress:
    ip: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip


def check_scheme(url: str, addresses: Sequence[str]) -> None:
    """Raises InsecureTargetError: ``url`` is plain ``http`` and one of ``addresses`` (what its
    host resolves to) is not loopback."""
    if urlsplit(url).scheme == "https":
        return
    for text in addresses:
        if not _ip(text).is_loopback:
            raise InsecureTargetError("a webhook target off loopback must be https (events carry customers' "
                                      "messages)")


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (blocking: run it in a thread).

    Raises:
        UnsafeTargetError: it does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeTargetError(f"{host} does not resolve") from None
    return sorted({str(info[4][0]) for info in infos})


def check_target(url: str, allowed: Sequence[Network]) -> None:
    """The whole check (blocking: DNS): the URL, its addresses, then https off loopback.

    Raises:
        UnsafeTargetError: the URL or one of its addresses is refused.
        InsecureTargetError: plain http to an address that is not loopback.
    """
    host = check_url(url)
    addresses = resolve(host)
    check_addresses(host, addresses, allowed)
    check_scheme(url, addresses)


__all__ = ["InsecureTargetError", "UnsafeTargetError", "check_addresses", "check_scheme", "check_target", "check_url",
           "networks", "resolve"]
