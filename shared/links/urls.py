"""Destination URLs: the open-redirect guard and UTM merging. Pure functions, no I/O."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from shared.brands.service import normalize_domain

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_ID_PARAM = "vclid"
MAX_URL_LENGTH = 2048


class UnsafeDestination(ValueError):
    """The URL could redirect a follower somewhere the brand has not allowed."""


def host_allowed(host: str, allowed_domains: list[str]) -> bool:
    """Exact host or a subdomain of an allowed host (`shop.example.com` allows
    `eu.shop.example.com`, never `evilshop.example.com` or `shop.example.com.evil.io`)."""
    return any(host == d or host.endswith("." + d) for d in allowed_domains)


def validate_destination(url: str, allowed_domains: list[str]) -> str:
    """Return the URL, normalised, if a redirect to it is safe; raise UnsafeDestination.

    Refused: anything but http(s); user info (`https://shop.com@evil.io`); backslashes and
    control characters (browsers treat `\\` as `/`); IP-address hosts; hosts outside the
    brand's allow-list after IDNA normalisation (so `%`-encoded or Unicode look-alike hosts
    are compared in their real ASCII form); over-long URLs.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or c == "\\" or ord(c) == 0x7F for c in url):
        raise UnsafeDestination("URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise UnsafeDestination(f"the URL cannot be parsed: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeDestination("only http and https URLs can be tracking-link destinations")
    netloc = parts.netloc
    if not netloc or "@" in netloc or "%" in netloc:
        raise UnsafeDestination("the URL's host is missing or carries user info or escapes")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise UnsafeDestination("IP-address destinations are not allowed")
    try:
        ascii_host = normalize_domain(host)
    except ValueError as exc:
        raise UnsafeDestination(str(exc)) from exc
    if not host_allowed(ascii_host, allowed_domains):
        raise UnsafeDestination(
            f"host {ascii_host!r} is not in the brand's allowed destination domains"
        )
    try:
        port_number = parts.port
    except ValueError as exc:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535") from exc
    if port_number == 0:
        raise UnsafeDestination("the URL's port is not a number from 1 to 65535")
    port = "" if port_number is None else f":{port_number}"
    # The host is rebuilt from its checked ASCII form and everything else is made ASCII, so
    # the stored URL is exactly what was checked and fits a Location header as is.
    return urlunsplit(
        (
            parts.scheme.lower(),
            ascii_host + port,
            _ascii(parts.path) or "/",
            _ascii(parts.query),
            _ascii(parts.fragment),
        )
    )


def _ascii(part: str) -> str:
    """Percent-encode (UTF-8) the non-ASCII characters of a path, query or fragment; ASCII,
    existing escapes included, is left exactly as it was."""
    if part.isascii():
        return part
    return "".join(c if c.isascii() else quote(c, safe="") for c in part)


def merge_utm(url: str, utm: dict[str, str], *, destination_wins: bool) -> str:
    """Add UTM parameters to `url`. With `destination_wins`, parameters already on the URL are
    kept; otherwise Vouch's values replace them. Other query parameters are untouched."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    ours = {k: v for k, v in utm.items() if k in UTM_KEYS and v}
    if destination_wins:
        merged = query + [(k, v) for k, v in ours.items() if k not in present]
    else:
        merged = [(k, v) for k, v in query if k not in ours] + list(ours.items())
    return urlunsplit(parts._replace(query=urlencode(merged)))


def append_click_id(url: str, click_id: str) -> str:
    """The hot-path step: add `vclid=<click id>` to an already merged URL (string work only)."""
    head, sep, fragment = url.partition("#")
    joiner = "&" if "?" in head else "?"
    return f"{head}{joiner}{CLICK_ID_PARAM}={click_id}{sep}{fragment}"
