"""Which URLs a clinic may register, and which addresses we may connect to (no SSRF).

A clinic-supplied URL must not become a way into our own network. So:

* ``https`` only; ``http`` only to a loopback address and only when ``DEBUG``
  or the test settings are on (``WEBHOOKS_ALLOW_LOOPBACK``);
* no credentials in the URL (they would travel in clear in logs and the admin);
* the host is resolved and EVERY address it resolves to must be public:
  private, loopback, link-local (cloud metadata at 169.254.169.254), multicast,
  reserved, unspecified and shared (CGNAT) addresses are refused unless a network
  in ``WEBHOOKS_ALLOWED_NETWORKS`` names them (a clinic on a VPN, say);
* the check runs at registration (a 400 naming ``url``) and again before every
  delivery, which connects to the address that was checked
  (``transport.post``): a DNS answer that changes between check and connect
  (rebinding) cannot redirect us.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL may not be called; ``str(error)`` says why, in the active language."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, with the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "WEBHOOKS_ALLOWED_NETWORKS", [])]


def _loopback_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_LOOPBACK", False))


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def address_refusal(address: Address) -> str | None:
    """Why we may not connect to ``address``, or None when we may."""
    if any(address in network for network in _allowed_networks()):
        return None
    if address.is_loopback and _loopback_allowed():
        return None
    if not _public(address):
        return _("%(address)s is a private, loopback, link-local or reserved address.") % {"address": address}
    return None


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:  # unknown name, bad label, NUL
        raise UnsafeURL(_("The host %(host)s does not resolve.") % {"host": host}) from error
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str) -> Target:
    """The target of ``url`` when we may call it; raises UnsafeURL saying why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(_("This is not a valid URL.")) from error
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeURL(_("The URL must start with https:// and name a host."))
    if parts.username or parts.password:
        raise UnsafeURL(_("The URL must not contain a user name or password."))
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise UnsafeURL(refusal)
    if parts.scheme == "http" and not (_loopback_allowed() and all(a.is_loopback for a in addresses)):
        raise UnsafeURL(_("The URL must use https (http only to this machine, in development)."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))
