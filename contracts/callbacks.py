"""Which callback URLs a webhook may be sent to.

Only http and https, and — unless the server allows it — never loopback, link-local, private,
multicast or reserved addresses (the service must not be turned against its own network).
Host names are checked again after DNS resolution when the webhook is sent.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def address_problem(address: str) -> str | None:
    """Why an IP address must not receive webhooks, or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    return None


def callback_url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` cannot be a callback URL, or None when it can."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "callback_url is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "callback_url must be an http or https URL"
    if not host:
        return "callback_url has no host"
    if parts.username or parts.password:
        return "callback_url must not carry credentials"
    if allow_private:
        return None
    if host.lower().rstrip(".") in LOCAL_NAMES:
        return f"callback_url host {host} is this machine"
    problem = address_problem(host)
    return f"callback_url: {problem}" if problem else None
