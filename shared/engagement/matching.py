"""Matching keys and caption rules: post URL normalisation, hashtags, ad disclosure. Pure."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

# Query parameters that identify a share or a campaign, never the post itself.
TRACKING_PARAMS = frozenset(
    {
        "igsh",
        "igshid",
        "img_index",
        "si",
        "feature",
        "fbclid",
        "gclid",
        "ref",
        "ref_src",
        "s",
        "t",
        "is_from_webapp",
        "sender_device",
        "sender_web_id",
        "share_app_id",
        "share_link_id",
        "_r",
        "_t",
        "vclid",
    }
)

# Disclosure tags accepted by the FTC ("Disclosures 101 for Social Media Influencers", 2019),
# the UK ASA/CMA guidance and their common localised forms.
DISCLOSURE_TAGS = frozenset(
    {
        "ad",
        "ads",
        "advert",
        "advertisement",
        "sponsored",
        "sponsor",
        "partner",
        "partnership",
        "paidpartnership",
        "brandpartner",
        "collab",
        "gifted",
        "werbung",
        "anzeige",
        "publicidad",
        "publicite",
        "pub",
        "publicidade",
        "pubblicita",
        "reklame",
        "samarbete",
    }
)

_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)


def normalise_post_url(url: str | None) -> str | None:
    """The matching key of a post URL: host lower case without `www.`/`m.`, path as is (post
    ids are case-sensitive) without trailing slashes, tracking parameters (utm_*, igsh, si,
    ...) and fragment dropped, remaining parameters sorted. The scheme is ignored.

    `HTTPS://WWW.Instagram.com/p/C0ffee123/?igsh=x&utm_source=ig` -> `instagram.com/p/C0ffee123`
    `https://youtube.com/watch?v=abc&si=x` -> `youtube.com/watch?v=abc`
    """
    if not url:
        return None
    raw = url.strip()
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=False)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")
    )
    key = host + path
    if query:
        key += "?" + urlencode(query)
    return key


def hashtags(caption: str | None) -> list[str]:
    """Hashtags in order of appearance, lower case, without '#', each once."""
    if not caption:
        return []
    return list(dict.fromkeys(t.lower() for t in _HASHTAG.findall(caption)))


def is_disclosed(caption: str | None, paid_partnership: bool | None) -> bool:
    """The platform's paid-partnership label, or a disclosure hashtag in the caption."""
    if paid_partnership:
        return True
    return any(tag in DISCLOSURE_TAGS for tag in hashtags(caption))
