"""The open-redirect guard, UTM merging and click-id appending (pure functions)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.links.urls import (
    UnsafeDestination,
    append_click_id,
    host_allowed,
    merge_utm,
    validate_destination,
)

ALLOWED = ["shop.example.com"]

REFUSED = [
    # other domains, and look-alikes of the allowed one
    "https://evil.io/",
    "https://evilshop.example.com/",
    "https://example.com/",
    "https://shop.example.com.evil.io/",
    "https://shop.example.co/",
    "https://evil.io?next=https://shop.example.com",
    "https://evil.io#shop.example.com",
    # user info
    "https://shop.example.com@evil.io/",
    "https://shop.example.com:443@evil.io/",
    "https://user:pw@shop.example.com/",
    "https://@shop.example.com/",
    # scheme tricks
    "javascript:alert(1)//shop.example.com",
    "JAVASCRIPT:alert(document.domain)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "ftp://shop.example.com/",
    "//evil.io",
    "//shop.example.com/",
    "https:evil.io",
    "https:///evil.io",
    "shop.example.com/path",
    # backslashes: browsers read them as slashes
    "https:/\\evil.io",
    "https:\\\\evil.io",
    "https://shop.example.com\\@evil.io",
    "https://evil.io\\.shop.example.com",
    # whitespace and control characters
    " https://evil.io",
    "https://shop.example.com\t.evil.io/",
    "https://shop.example.com\n.evil.io/",
    "https://shop.example.com\x00.evil.io/",
    # percent-encoded hosts
    "https://evil%2eio/",
    "https://shop.example.com%2eevil.io/",
    "https://shop%2eexample.com/",
    "https://%73hop.example.com/",
    "https://shop.example.com%40evil.io/",
    # Unicode look-alikes and separators (compared in their real IDNA form)
    "https://sh\u043ep.example.com/",  # Cyrillic o
    "https://shop.ex\u0430mple.com/",  # Cyrillic a
    "https://shop.example.com\u3002evil.io/",  # ideographic full stop
    "https://shop.example.com\uff0eevil.io/",  # fullwidth full stop
    "https://shop.example.com\uff20evil.io/",  # fullwidth @
    "https://evil.io\uff0fshop.example.com",  # fullwidth solidus
    "https://shop.example.com\u2044evil.io/",  # fraction slash
    # IP-address hosts in every spelling
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://2130706433/",
    "https://0x7f.0.0.1/",
    "https://93.184.216.34/",
    # unparseable or odd authorities
    "http://[shop.example.com]/",
    "http://[::1",
    "https://shop.example.com:evil.io/",
    "https://shop.example.com:0/",
    "https://shop.example.com:99999/",
    "https://localhost/",
    "https:// shop.example.com/",
    "https://" + "a" * 2100 + ".shop.example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_open_redirect_attempts_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        validate_destination(url, ALLOWED)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://shop.example.com/p?x=1#f", "https://shop.example.com/p?x=1#f"),
        ("https://shop.example.com", "https://shop.example.com/"),
        ("HTTPS://Shop.Example.COM./p", "https://shop.example.com/p"),
        ("http://eu.shop.example.com/x", "http://eu.shop.example.com/x"),
        ("https://shop.example.com:8443/x", "https://shop.example.com:8443/x"),
        ("https://shop.example.com#@evil.io", "https://shop.example.com/#@evil.io"),
        ("https://shop.example.com//evil.io", "https://shop.example.com//evil.io"),
        # fullwidth letters normalise (IDNA) to the allowed host, which is what is stored
        ("https://\uff53\uff48\uff4f\uff50.example.com/", "https://shop.example.com/"),
        # non-ASCII path, query and fragment are percent-encoded; escapes are kept as sent
        (
            "https://shop.example.com/ü?q=ä&r=%2F#é",
            "https://shop.example.com/%C3%BC?q=%C3%A4&r=%2F#%C3%A9",
        ),
    ],
)
def test_allowed_destinations_are_normalised(url: str, normalised: str) -> None:
    assert validate_destination(url, ALLOWED) == normalised
    # Idempotent: the stored form passes the guard unchanged.
    assert validate_destination(normalised, ALLOWED) == normalised


def test_unicode_allowed_domain_matches_its_idna_form() -> None:
    allowed = ["xn--bcher-kva.de"]  # bücher.de, as the brand API stores it
    assert validate_destination("https://bücher.de/x", allowed) == "https://xn--bcher-kva.de/x"
    assert validate_destination("https://www.BÜCHER.de/", allowed).startswith(
        "https://www.xn--bcher-kva.de/"
    )
    with pytest.raises(UnsafeDestination):
        validate_destination("https://bucher.de/", allowed)


def test_empty_allow_list_refuses_everything() -> None:
    with pytest.raises(UnsafeDestination):
        validate_destination("https://shop.example.com/", [])


def test_host_allowed_is_label_aligned() -> None:
    assert host_allowed("shop.example.com", ALLOWED)
    assert host_allowed("a.b.shop.example.com", ALLOWED)
    assert not host_allowed("xshop.example.com", ALLOWED)
    assert not host_allowed("shop.example.com.evil.io", ALLOWED)
    assert not host_allowed("example.com", ALLOWED)


UTM = {"utm_source": "instagram", "utm_medium": "influencer", "utm_campaign": "summer"}


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_merge_utm_vouch_wins_by_default() -> None:
    url = "https://shop.example.com/p?utm_source=newsletter&color=red#top"
    merged = merge_utm(url, UTM, destination_wins=False)
    assert dict(_query(merged)) == {
        "color": "red",
        "utm_source": "instagram",
        "utm_medium": "influencer",
        "utm_campaign": "summer",
    }
    assert [k for k, _ in _query(merged)].count("utm_source") == 1
    assert merged.endswith("#top")


def test_merge_utm_destination_wins_keeps_existing() -> None:
    url = "https://shop.example.com/p?utm_source=newsletter&color=red"
    merged = merge_utm(url, UTM, destination_wins=True)
    assert dict(_query(merged)) == {
        "utm_source": "newsletter",
        "color": "red",
        "utm_medium": "influencer",
        "utm_campaign": "summer",
    }


def test_merge_utm_ignores_unknown_and_empty_keys() -> None:
    merged = merge_utm(
        "https://shop.example.com/", {"utm_term": "", "evil": "x", **UTM}, destination_wins=False
    )
    assert {k for k, _ in _query(merged)} == set(UTM)


def test_append_click_id() -> None:
    assert append_click_id("https://s.example.com/", "abc") == "https://s.example.com/?vclid=abc"
    assert (
        append_click_id("https://s.example.com/?a=1#frag", "abc")
        == "https://s.example.com/?a=1&vclid=abc#frag"
    )
