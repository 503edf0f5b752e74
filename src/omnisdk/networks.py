"""IP networks a configuration names (``[gateway] trusted_proxies``, ``[webhooks]
allowed_networks``): one check, so every list of them is refused the same way."""

from __future__ import annotations

import ipaddress


def check_networks(values: list[str], setting: str) -> list[str]:
    """``values`` unchanged if each is an IPv4/IPv6 address or network in CIDR notation
    (``10.0.0.0/8``, ``::1``; host bits allowed).

    Raises:
        ValueError: the first value that is neither, named with ``setting``.
    """
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{setting}: {value!r} is not an IP address or network (CIDR)") from None
    return values
