"""Which URLs an endpoint may point at.

In production a subscriber URL must reach the public internet: loopback, private, link-local
(cloud metadata at 169.254.169.254), multicast and reserved addresses are refused, both when
the endpoint is saved and again before each request (a name may be re-pointed after it was
checked). Outside production loopback and private hosts are allowed, so development and the
test suite can use a local receiver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


class DestinationRefused(ValueError):
    """The URL is malformed or (in production) does not point at a public address."""


def parse_url(url: str) -> tuple[str, int]:
    """Check the URL's shape; returns (host, port)."""
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused(f"URL longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"Not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise DestinationRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("Credentials in the URL are not allowed; use the signature.")
    if parts.fragment:
        raise DestinationRefused("The URL must not have a #fragment.")
    if any(ch.isspace() for ch in url):
        raise DestinationRefused("The URL must not contain whitespace.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Raise DestinationRefused unless `url` may receive webhooks. With allow_private=False
    the host is resolved and every address it resolves to must be public."""
    host, port = parse_url(url)
    if allow_private:
        return
    lowered = host.lower().rstrip(".")
    if lowered == "localhost" or lowered.endswith(_LOCAL_SUFFIXES):
        raise DestinationRefused(f"{host} is a local host name.")
    try:
        addresses = [str(ipaddress.ip_address(lowered.strip("[]")))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                lowered, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise DestinationRefused(f"{host} does not resolve.") from exc
        addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(_public(a) for a in addresses):
        raise DestinationRefused(f"{host} resolves to a private, loopback or reserved address.")
