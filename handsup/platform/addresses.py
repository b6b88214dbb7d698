"""Is this a safe place to send a webhook? Only HTTPS, only to the public internet.

A webhook makes our server send a request wherever a group admin says, so an address
is a way in to whatever our server can reach: the cloud metadata service
(169.254.169.254), the database on the private network, this machine's own ports.
`check_webhook_address` refuses anything but `https://` to a host whose every address is
public, and names the resolved addresses so the sender connects to one of those, not
to whatever a second DNS lookup returns (the answer can change between check and use).
It runs when an endpoint is registered and again before every delivery.

`HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP` (off unless set) lets the tests and the demo send
to a receiver on this machine: `http://` or `https://` to 127.0.0.1, [::1] or localhost,
named literally. Any other host is still held to the rules, even with it on.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})
# 64:ff9b::/96 carries an IPv4 address for NAT64: judged by the address it carries.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeAddress(ValueError):
    """A webhook address we won't send to; `message` is what to tell the admin."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class WebhookTarget:
    """Where a checked address leads: connect to one of `addresses`, say `host`."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string, ready for the request line
    addresses: tuple[str, ...]


def loopback_allowed() -> bool:
    return bool(getattr(settings, "HANDSUP_WEBHOOKS_ALLOW_LOOPBACK_HTTP", False))


def is_public_address(ip: IPAddress) -> bool:
    """True only for an address on the public internet.

    An IPv6 address that wraps an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4
    address inside, so ::ffff:10.0.0.1 is as private as 10.0.0.1.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return is_public_address(ip.sixtofour)
        if ip.teredo is not None:
            return False
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to (a literal IP resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise UnsafeAddress(
            _("We couldn't find that address: its host name doesn't resolve."), "unresolved"
        ) from error
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # An IPv6 link-local answer carries its zone ("fe80::1%eth0"): judge the address.
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeAddress(
            _("We couldn't find that address: its host name doesn't resolve."), "unresolved"
        )
    return tuple(found)


def _private_network() -> UnsafeAddress:
    return UnsafeAddress(
        _(
            "That address points to a private network (or to this server itself), so we "
            "can't send webhooks there. Use an address on the public internet."
        ),
        "private",
    )


def check_webhook_address(url: str) -> WebhookTarget:
    """The target of `url` if it is safe to send to now; else `UnsafeAddress`."""
    url = url.strip()
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        # Spaces and control characters: at best a typo, at worst a forged request line.
        raise UnsafeAddress(
            _("Enter a full web address, like https://example.org/hooks/handsup."), "invalid"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeAddress(
            _("Enter a full web address, like https://example.org/hooks/handsup."), "invalid"
        ) from error
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in ("http", "https") or not host:
        if scheme not in ("", "http", "https"):
            raise UnsafeAddress(_("Webhook addresses must start with https://."), "not_https")
        raise UnsafeAddress(
            _("Enter a full web address, like https://example.org/hooks/handsup."), "invalid"
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress(
            _(
                "Leave the user name and password out of the address: the signature on "
                "each webhook is how your system knows it came from us."
            ),
            "credentials",
        )
    loopback_test = loopback_allowed() and host in LOOPBACK_NAMES
    if scheme != "https" and not loopback_test:
        raise UnsafeAddress(_("Webhook addresses must start with https://."), "not_https")
    port = port or (443 if scheme == "https" else 80)
    if port == 0:
        raise UnsafeAddress(_("That address's port number isn't valid."), "invalid")
    addresses = resolve(host, port)
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if loopback_test and ip.is_loopback:
            continue
        if not is_public_address(ip):
            raise _private_network()
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookTarget(scheme=scheme, host=host, port=port, path=path, addresses=addresses)
