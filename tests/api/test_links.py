from __future__ import annotations

import asyncio
import re
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import httpx
import pytest
import segno
from redis.asyncio import Redis
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import Settings
from shared.links import cache
from shared.links import service as links_service
from shared.models import Campaign, Click, SocialAccount
from tests.factories import LinkCollaboration, Tenant, make_link_collaboration, make_tenant
from tests.problems import assert_problem

DEST = "https://shop.example.com/products/trail-shoe"
ACCOUNTS = [("tiktok", "anna.trails", 80_000), ("instagram", "anna.insta", 12_000)]


def _vanity() -> str:
    return f"v-{uuid.uuid4().hex[:10]}"


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@pytest.fixture
async def collab(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> LinkCollaboration:
    return await make_link_collaboration(sessionmaker, tenant.brand_id, accounts=ACCOUNTS)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url or "")
    yield client
    await client.aclose()


async def _create(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration, **body: Any
) -> dict[str, Any]:
    payload = {"collaboration_id": str(collab.collaboration_id), "destination_url": DEST} | body
    resp = await client.post("/v1/links", headers=tenant.headers, json=payload)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


# --- creation, codes and UTM defaults -------------------------------------------------------


async def test_create_with_generated_code_and_utm_defaults(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration, settings: Settings
) -> None:
    link = await _create(client, tenant, collab)
    assert re.fullmatch(r"[A-Za-z0-9]{8}", link["code"])
    assert link["short_url"] == f"{settings.base_url}/r/{link['code']}"
    assert link["status"] == "active" and link["destination_utm_wins"] is False
    # Defaults come from the most-followed account (tiktok, 80k), not the first one added.
    assert link["utm"] == {
        "utm_source": "tiktok",
        "utm_medium": "influencer",
        "utm_campaign": collab.campaign_slug,
        "utm_content": "anna.trails",
    }
    resolved = link["resolved_destination"]
    assert resolved.startswith(DEST + "?") and "vclid" not in resolved
    assert _query(resolved) == link["utm"]
    got = await client.get(f"/v1/links/{link['id']}", headers=tenant.headers)
    assert got.status_code == 200 and got.json() == link


async def test_utm_defaults_without_social_account(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    bare = await make_link_collaboration(sessionmaker, tenant.brand_id)
    link = await _create(client, tenant, bare)
    assert link["utm"] == {
        "utm_source": "influencer",
        "utm_medium": "influencer",
        "utm_campaign": bare.campaign_slug,
    }


async def test_utm_overrides_and_destination_utm_wins(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    dest = DEST + "?utm_source=newsletter&color=red"
    link = await _create(
        client,
        tenant,
        collab,
        destination_url=dest,
        utm={"utm_medium": "story", "utm_term": "shoes", "utm_content": None},
    )
    assert link["utm"] == {
        "utm_source": "tiktok",
        "utm_medium": "story",
        "utm_campaign": collab.campaign_slug,
        "utm_term": "shoes",
    }
    # Vouch's values win by default ...
    assert _query(link["resolved_destination"])["utm_source"] == "tiktok"
    assert _query(link["resolved_destination"])["color"] == "red"
    # ... unless the destination's own UTM parameters should.
    resp = await client.patch(
        f"/v1/links/{link['id']}", headers=tenant.headers, json={"destination_utm_wins": True}
    )
    assert resp.status_code == 200, resp.text
    query = _query(resp.json()["resolved_destination"])
    assert query["utm_source"] == "newsletter" and query["utm_medium"] == "story"
    # PATCH utm merges into the stored parameters; null removes one.
    resp = await client.patch(
        f"/v1/links/{link['id']}",
        headers=tenant.headers,
        json={"utm": {"utm_term": None, "utm_campaign": "spring"}},
    )
    assert resp.json()["utm"] == {
        "utm_source": "tiktok",
        "utm_medium": "story",
        "utm_campaign": "spring",
    }


async def test_utm_is_materialised_at_creation(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _create(client, tenant, collab)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Campaign).where(Campaign.id == collab.campaign_id).values(slug="renamed")
        )
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.influencer_id == collab.influencer_id)
            .values(followers=1)
        )
    again = (await client.get(f"/v1/links/{link['id']}", headers=tenant.headers)).json()
    assert again["utm"] == link["utm"]
    assert again["resolved_destination"] == link["resolved_destination"]


async def test_generated_codes_are_unique_and_retry_on_collision(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = {(await _create(client, tenant, collab))["code"] for _ in range(15)}
    assert len(codes) == 15
    taken = next(iter(codes))
    fresh = "Zz" + uuid.uuid4().hex[:6]
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(links_service, "generate_code", lambda: next(draws))
    link = await _create(client, tenant, collab)
    assert link["code"] == fresh


async def test_vanity_code_and_taken_across_brands(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    code = _vanity()
    link = await _create(client, tenant, collab, code=code)
    assert link["code"] == code and link["short_url"].endswith(f"/r/{code}")
    other = await make_link_collaboration(sessionmaker, other_tenant.brand_id)
    for who, c in ((tenant, collab), (other_tenant, other)):
        resp = await client.post(
            "/v1/links",
            headers=who.headers,
            json={
                "collaboration_id": str(c.collaboration_id),
                "destination_url": DEST,
                "code": code,
            },
        )
        body = assert_problem(resp, 409, field="body.code")
        assert body["type"].endswith(":code_taken")
        # Whose code it is stays private.
        assert str(tenant.brand_id) not in resp.text and str(link["id"]) not in resp.text
    # Codes are case-sensitive: another case is another code.
    assert (await _create(client, tenant, collab, code=code.upper()))["code"] == code.upper()


@pytest.mark.parametrize("code", ["ab", "has space", "a/b", "sl\\ash", "ünï", "x" * 65, ""])
async def test_invalid_vanity_code_is_422(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration, code: str
) -> None:
    resp = await client.post(
        "/v1/links",
        headers=tenant.headers,
        json={
            "collaboration_id": str(collab.collaboration_id),
            "destination_url": DEST,
            "code": code,
        },
    )
    assert_problem(resp, 422, field="body.code")


# --- the open-redirect guard through the API ------------------------------------------------

UNSAFE = [
    "https://evil.io/",
    "https://shop.example.com@evil.io/",
    "https://shop.example.com.evil.io/",
    "javascript:alert(1)",
    "//evil.io",
    "https:/\\evil.io",
    "https://evil%2eio/",
    "https://sh\u043ep.example.com/",  # Cyrillic o
    "https://127.0.0.1/",
    "http://[shop.example.com]/",
]


async def test_unsafe_destinations_are_422_and_write_nothing(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    base = {"collaboration_id": str(collab.collaboration_id)}
    for url in UNSAFE:
        resp = await client.post(
            "/v1/links", headers=tenant.headers, json=base | {"destination_url": url}
        )
        assert_problem(resp, 422, field="body.destination_url")
        resp = await client.post(
            "/v1/links",
            headers=tenant.headers,
            json=base | {"destination_url": DEST, "click_cap": 10, "fallback_url": url},
        )
        assert_problem(resp, 422, field="body.fallback_url")
    listed = await client.get(
        "/v1/links", headers=tenant.headers, params={"collaboration_id": base["collaboration_id"]}
    )
    assert listed.json()["items"] == []
    link = await _create(client, tenant, collab)
    for url in UNSAFE:
        for field in ("destination_url", "fallback_url"):
            resp = await client.patch(
                f"/v1/links/{link['id']}", headers=tenant.headers, json={field: url}
            )
            assert_problem(resp, 422, field=f"body.{field}")
    again = (await client.get(f"/v1/links/{link['id']}", headers=tenant.headers)).json()
    assert again == link


async def test_destination_is_stored_normalised(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    link = await _create(client, tenant, collab, destination_url="HTTPS://EU.Shop.Example.com./ü")
    assert link["destination_url"] == "https://eu.shop.example.com/%C3%BC"


async def test_brand_without_allowed_domains_cannot_create_links(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await make_tenant(sessionmaker, "No domains")
    resp = await client.patch("/v1/brand", headers=tenant.headers, json={"allowed_domains": []})
    assert resp.status_code == 200
    collab = await make_link_collaboration(sessionmaker, tenant.brand_id)
    resp = await client.post(
        "/v1/links",
        headers=tenant.headers,
        json={"collaboration_id": str(collab.collaboration_id), "destination_url": DEST},
    )
    body = assert_problem(resp, 422, field="body.destination_url")
    assert "allowed destination domains" in body["detail"]


# --- caps, expiry, updates ------------------------------------------------------------------


async def test_click_cap_requires_fallback(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    base = {"collaboration_id": str(collab.collaboration_id), "destination_url": DEST}
    resp = await client.post("/v1/links", headers=tenant.headers, json=base | {"click_cap": 5})
    assert_problem(resp, 422, field="body.fallback_url")
    resp = await client.post("/v1/links", headers=tenant.headers, json=base | {"click_cap": 0})
    assert_problem(resp, 422, field="body.click_cap")
    fallback = "https://shop.example.com/sold-out"
    link = await _create(client, tenant, collab, click_cap=5, fallback_url=fallback)
    assert link["click_cap"] == 5 and link["fallback_url"] == fallback
    url = f"/v1/links/{link['id']}"
    assert_problem(
        await client.patch(url, headers=tenant.headers, json={"fallback_url": None}),
        422,
        field="body.fallback_url",
    )
    resp = await client.patch(
        url, headers=tenant.headers, json={"click_cap": None, "fallback_url": None}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["click_cap"] is None and resp.json()["fallback_url"] is None
    # A cap added later still needs a fallback.
    assert_problem(
        await client.patch(url, headers=tenant.headers, json={"click_cap": 100}),
        422,
        field="body.fallback_url",
    )


async def test_expiry(client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration) -> None:
    base = {"collaboration_id": str(collab.collaboration_id), "destination_url": DEST}
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    assert_problem(
        await client.post("/v1/links", headers=tenant.headers, json=base | {"expires_at": past}),
        422,
        field="body.expires_at",
    )
    naive = future.replace(tzinfo=None).isoformat()
    assert_problem(
        await client.post("/v1/links", headers=tenant.headers, json=base | {"expires_at": naive}),
        422,
        field="body.expires_at",
    )
    link = await _create(client, tenant, collab, expires_at=future.isoformat())
    assert datetime.fromisoformat(link["expires_at"]) == future
    url = f"/v1/links/{link['id']}"
    # Expiring a live link now is allowed (followers get 410 instead of 404).
    resp = await client.patch(url, headers=tenant.headers, json={"expires_at": past})
    assert resp.status_code == 200
    resp = await client.patch(url, headers=tenant.headers, json={"expires_at": None})
    assert resp.json()["expires_at"] is None


async def test_patch_rejects_nulls_unknown_fields_and_code_changes(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    link = await _create(client, tenant, collab)
    url = f"/v1/links/{link['id']}"
    cases = [
        ({"destination_url": None}, "body.destination_url"),
        ({"status": None}, "body.status"),
        ({"status": "deleted"}, "body.status"),
        ({"destination_utm_wins": None}, "body.destination_utm_wins"),
        ({"utm": None}, "body.utm"),
        ({"utm": {"utm_evil": "x"}}, "body.utm.utm_evil"),
        ({"code": "new-code"}, "body.code"),
        ({"collaboration_id": str(collab.collaboration_id)}, "body.collaboration_id"),
    ]
    for payload, field in cases:
        assert_problem(
            await client.patch(url, headers=tenant.headers, json=payload), 422, field=field
        )
    assert (await client.get(url, headers=tenant.headers)).json() == link


async def test_disable_and_change_invalidate_the_redirect_cache(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration, redis: Redis
) -> None:
    pubsub = redis.pubsub()
    await pubsub.subscribe(cache.INVALIDATE_CHANNEL)
    try:
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"  # type: ignore[index]

        async def published() -> list[str]:
            # Everything published before a marker of ours; the API publishes before it
            # answers, so its messages precede the marker.
            marker = uuid.uuid4().hex
            await redis.publish(cache.INVALIDATE_CHANNEL, marker)
            seen = []
            while True:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
                assert msg is not None
                if (data := msg["data"].decode()) == marker:
                    return seen
                seen.append(data)

        link = await _create(client, tenant, collab)
        code = link["code"]
        key = cache.LINK_KEY.format(code=code)
        assert code in await published()  # a negative cache entry for the code is dropped too

        for change in ({"status": "disabled"}, {"destination_url": DEST + "?v=2"}):
            await redis.set(key, b"stale")
            resp = await client.patch(
                f"/v1/links/{link['id']}", headers=tenant.headers, json=change
            )
            assert resp.status_code == 200, resp.text
            assert await redis.exists(key) == 0
            assert code in await published()
        assert resp.json()["status"] == "disabled"

        # A refused change commits nothing and invalidates nothing.
        await redis.set(key, b"cached")
        resp = await client.patch(
            f"/v1/links/{link['id']}",
            headers=tenant.headers,
            json={"destination_url": "https://evil.io"},
        )
        assert resp.status_code == 422
        assert await redis.get(key) == b"cached"
        assert code not in await published()

        assert (
            await client.delete(f"/v1/links/{link['id']}", headers=tenant.headers)
        ).status_code == 204
        assert await redis.exists(key) == 0
        assert code in await published()
    finally:
        await pubsub.aclose()


async def test_delete(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _create(client, tenant, collab)
    url = f"/v1/links/{link['id']}"
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert_problem(await client.get(url, headers=tenant.headers), 404)
    assert_problem(await client.delete(url, headers=tenant.headers), 404)
    # A clicked link is kept for attribution: 409, disable it instead.
    clicked = await _create(client, tenant, collab)
    await _ensure_partition(sessionmaker, date(2025, 3, 1))
    await _insert_clicks(
        sessionmaker,
        tenant.brand_id,
        uuid.UUID(clicked["id"]),
        [(datetime(2025, 3, 5, tzinfo=UTC), {})],
    )
    body = assert_problem(
        await client.delete(f"/v1/links/{clicked['id']}", headers=tenant.headers), 409
    )
    assert body["type"].endswith(":link_has_clicks")


# --- listing --------------------------------------------------------------------------------


async def test_list_filters_and_pages(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    second = await make_link_collaboration(sessionmaker, tenant.brand_id)
    first_ids = [(await _create(client, tenant, collab))["id"] for _ in range(4)]
    other_ids = [(await _create(client, tenant, second))["id"] for _ in range(2)]
    await client.patch(
        f"/v1/links/{first_ids[0]}", headers=tenant.headers, json={"status": "disabled"}
    )

    async def ids(**params: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = params | {"limit": 3} | ({"cursor": cursor} if cursor else {})
            resp = await client.get("/v1/links", headers=tenant.headers, params=page)
            assert resp.status_code == 200, resp.text
            seen += [x["id"] for x in resp.json()["items"]]
            if (cursor := resp.json()["next_cursor"]) is None:
                return seen

    everything = await ids()
    assert set(first_ids + other_ids) <= set(everything) and len(everything) == len(set(everything))
    assert (
        await ids(collaboration_id=str(collab.collaboration_id)) == first_ids[::-1]
    )  # newest first
    assert await ids(campaign_id=str(second.campaign_id)) == other_ids[::-1]
    assert await ids(collaboration_id=str(collab.collaboration_id), status="disabled") == [
        first_ids[0]
    ]
    assert_problem(
        await client.get("/v1/links", headers=tenant.headers, params={"status": "gone"}),
        422,
        field="query.status",
    )


# --- tenancy --------------------------------------------------------------------------------


async def test_another_brands_link_and_collaboration_are_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
) -> None:
    link = await _create(client, tenant, collab)
    url = f"/v1/links/{link['id']}"
    h = other_tenant.headers
    assert_problem(await client.get(url, headers=h), 404)
    assert_problem(await client.patch(url, headers=h, json={"status": "disabled"}), 404)
    assert_problem(await client.delete(url, headers=h), 404)
    assert_problem(await client.get(url + "/qr", headers=h), 404)
    assert_problem(await client.get(url + "/stats", headers=h), 404)
    # A collaboration id of brand A in brand B's body.
    resp = await client.post(
        "/v1/links",
        headers=h,
        json={"collaboration_id": str(collab.collaboration_id), "destination_url": DEST},
    )
    assert_problem(resp, 404, field="body.collaboration_id")
    listed = await client.get(
        "/v1/links", headers=h, params={"collaboration_id": str(collab.collaboration_id)}
    )
    assert listed.json()["items"] == []
    assert link["id"] not in {
        x["id"] for x in (await client.get("/v1/links", headers=h)).json()["items"]
    }
    # Brand A still sees it unchanged.
    assert (await client.get(url, headers=tenant.headers)).json() == link


async def test_unknown_ids(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/links/{uuid.uuid4()}"
    assert_problem(await client.get(url, headers=tenant.headers), 404)
    assert_problem(await client.get(url + "/qr", headers=tenant.headers), 404)
    resp = await client.post(
        "/v1/links",
        headers=tenant.headers,
        json={"collaboration_id": str(uuid.uuid4()), "destination_url": DEST},
    )
    assert_problem(resp, 404, field="body.collaboration_id")
    assert_problem(
        await client.get("/v1/links/nope", headers=tenant.headers), 422, field="path.link_id"
    )


async def test_read_key_cannot_write(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    reader = await make_tenant(sessionmaker, "Reader", scopes=["read"])
    collab = await make_link_collaboration(sessionmaker, reader.brand_id)
    resp = await client.post(
        "/v1/links",
        headers=reader.headers,
        json={"collaboration_id": str(collab.collaboration_id), "destination_url": DEST},
    )
    assert_problem(resp, 403)
    assert (await client.get("/v1/links", headers=reader.headers)).status_code == 200


# --- QR codes -------------------------------------------------------------------------------


def _unfilter(kind: int, data: bytes, prev: bytes) -> bytes:
    """Undo one PNG scanline filter (1-bit pixels: the filter unit is one byte)."""
    out = bytearray()
    for i, x in enumerate(data):
        a = out[i - 1] if i else 0
        b = prev[i]
        c = prev[i - 1] if i else 0
        if kind == 0:
            pred = 0
        elif kind == 1:
            pred = a
        elif kind == 2:
            pred = b
        elif kind == 3:
            pred = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
        out.append((x + pred) & 0xFF)
    return bytes(out)


def _png_modules(png: bytes) -> list[list[bool]]:
    """Decode a 1-bit greyscale PNG (what segno writes) into rows of dark pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (1, 0, 0), header
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    rows, prev = [], bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        cur = _unfilter(line[0], line[1:], prev)
        rows.append([not (cur[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        prev = cur
    return rows


async def test_qr_png_encodes_the_short_url(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    link = await _create(client, tenant, collab)
    resp = await client.get(f"/v1/links/{link['id']}/qr", headers=tenant.headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/png"
    assert f'filename="{link["code"]}.png"' in resp.headers["content-disposition"]
    pixels = _png_modules(resp.content)
    expected = [[bool(v) for v in row] for row in segno.make(link["short_url"], error="m").matrix]
    n = len(expected) + 8  # with the 4-module quiet zone
    scale = len(pixels) // n
    assert scale >= 1 and len(pixels) == len(pixels[0]) == n * scale <= 512
    sampled = [
        [pixels[(r + 4) * scale + scale // 2][(c + 4) * scale + scale // 2] for c in range(n - 8)]
        for r in range(n - 8)
    ]
    assert sampled == expected
    # The quiet zone is blank.
    assert not any(pixels[0]) and not any(row[0] for row in pixels)


async def test_qr_svg_and_size(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    link = await _create(client, tenant, collab)
    url = f"/v1/links/{link['id']}/qr"
    resp = await client.get(url, headers=tenant.headers, params={"format": "svg", "size": 300})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(resp.content)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert 100 <= int(root.attrib["width"]) <= 300
    big = await client.get(url, headers=tenant.headers, params={"size": 2048})
    small = await client.get(url, headers=tenant.headers, params={"size": 64})
    assert len(_png_modules(big.content)) > len(_png_modules(small.content))
    for params, field in (
        ({"format": "gif"}, "query.format"),
        ({"size": 10}, "query.size"),
        ({"size": 5000}, "query.size"),
    ):
        assert_problem(
            await client.get(url, headers=tenant.headers, params=params), 422, field=field
        )


# --- stats ----------------------------------------------------------------------------------


async def _ensure_partition(sessionmaker: async_sessionmaker[AsyncSession], month: date) -> None:
    """The month's `clicks` partition: through the migration's function when it exists,
    else created here with the same name and bounds."""
    async with sessionmaker() as session, session.begin():
        fn = (
            await session.execute(text("SELECT to_regproc('vouch_create_click_partitions')"))
        ).scalar()
        if fn is not None:
            await session.execute(
                text("SELECT vouch_create_click_partitions(CAST(:m AS date), 1)"), {"m": month}
            )
            return
        nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        await session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS clicks_y{month.year:04d}m{month.month:02d} "
                f"PARTITION OF clicks FOR VALUES FROM ('{month.isoformat()} 00:00+00') "
                f"TO ('{nxt.isoformat()} 00:00+00')"
            )
        )


async def _insert_clicks(
    sessionmaker: async_sessionmaker[AsyncSession],
    brand_id: uuid.UUID,
    link_id: uuid.UUID,
    clicks: list[tuple[datetime, dict[str, Any]]],
) -> None:
    async with sessionmaker() as session, session.begin():
        for at, extra in clicks:
            values: dict[str, Any] = {
                "visitor_hash": b"\x01" * 16,
                "country": None,
                "device": "mobile",
                "referrer_domain": None,
                "is_bot": False,
                "is_unique": True,
            } | extra
            session.add(
                Click(
                    clicked_at=at,
                    brand_id=brand_id,
                    link_id=link_id,
                    click_id=uuid.uuid4().hex,
                    **values,
                )
            )


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


async def test_stats_excludes_bots_counts_uniques_and_uses_brand_days(
    client: httpx.AsyncClient,
    tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    link = await _create(client, tenant, collab)
    other = await _create(client, tenant, collab)
    await _ensure_partition(sessionmaker, date(2025, 3, 1))
    ig = {"referrer_domain": "instagram.com", "country": "DE"}
    await _insert_clicks(
        sessionmaker,
        tenant.brand_id,
        uuid.UUID(link["id"]),
        [
            (_utc(9, 14), {}),  # Tokyo 03-09 23:00: before the window
            (_utc(10, 14, 59), ig),  # Tokyo 03-10 23:59
            (_utc(10, 15), ig | {"is_unique": False}),  # Tokyo 03-11 00:00, same visitor
            (_utc(10, 16), {"device": "desktop"}),  # Tokyo 03-11, no referrer, no country
            (
                _utc(11, 2),
                {"device": "bot", "is_bot": True, "referrer_domain": "t.co", "country": "US"},
            ),
            (_utc(12, 15, 30), {"device": "tablet", "country": "FR"}),  # Tokyo 03-13: after
        ],
    )
    await _insert_clicks(
        sessionmaker, tenant.brand_id, uuid.UUID(other["id"]), [(_utc(10, 18), ig)]
    )
    resp = await client.patch("/v1/brand", headers=tenant.headers, json={"timezone": "Asia/Tokyo"})
    assert resp.status_code == 200

    url = f"/v1/links/{link['id']}/stats"
    resp = await client.get(
        url, headers=tenant.headers, params={"from": "2025-03-10", "to": "2025-03-12"}
    )
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    assert stats["link_id"] == link["id"] and stats["timezone"] == "Asia/Tokyo"
    assert (stats["from"], stats["to"]) == ("2025-03-10", "2025-03-12")
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (3, 2, 1)
    assert stats["by_day"] == [
        {"date": "2025-03-10", "clicks": 1, "unique_clicks": 1, "bot_clicks": 0},
        {"date": "2025-03-11", "clicks": 2, "unique_clicks": 1, "bot_clicks": 1},
        {"date": "2025-03-12", "clicks": 0, "unique_clicks": 0, "bot_clicks": 0},
    ]
    assert stats["by_referrer"] == [
        {"referrer_domain": "instagram.com", "clicks": 2, "unique_clicks": 1},
        {"referrer_domain": None, "clicks": 1, "unique_clicks": 1},
    ]
    assert stats["by_country"] == [
        {"country": "DE", "clicks": 2, "unique_clicks": 1},
        {"country": None, "clicks": 1, "unique_clicks": 1},
    ]
    assert stats["by_device"] == [
        {"device": "mobile", "clicks": 2, "unique_clicks": 1},
        {"device": "desktop", "clicks": 1, "unique_clicks": 1},
    ]

    # The same clicks seen from UTC: all three human clicks fall on 03-10, the bot on 03-11.
    await client.patch("/v1/brand", headers=tenant.headers, json={"timezone": "UTC"})
    stats = (
        await client.get(
            url, headers=tenant.headers, params={"from": "2025-03-10", "to": "2025-03-10"}
        )
    ).json()
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (3, 2, 0)
    assert [d["date"] for d in stats["by_day"]] == ["2025-03-10"]


async def test_stats_window_defaults_and_bounds(
    client: httpx.AsyncClient, tenant: Tenant, collab: LinkCollaboration
) -> None:
    link = await _create(client, tenant, collab)
    url = f"/v1/links/{link['id']}/stats"
    stats = (await client.get(url, headers=tenant.headers)).json()
    today = datetime.now(UTC).date()  # the tenant's time zone is UTC
    assert stats["to"] in {today.isoformat(), (today - timedelta(days=1)).isoformat()}
    assert stats["from"] == (date.fromisoformat(stats["to"]) - timedelta(days=29)).isoformat()
    assert len(stats["by_day"]) == 30 and stats["clicks"] == 0
    assert stats["by_referrer"] == stats["by_country"] == stats["by_device"] == []
    for params, field in (
        ({"from": "2025-03-10", "to": "2025-03-09"}, "query.from"),
        ({"from": "2024-01-01", "to": "2025-03-09"}, "query.to"),
        ({"from": "yesterday"}, "query.from"),
    ):
        assert_problem(
            await client.get(url, headers=tenant.headers, params=params), 422, field=field
        )


async def test_concurrent_vanity_claims_have_one_winner(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    collab: LinkCollaboration,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = await make_link_collaboration(sessionmaker, other_tenant.brand_id)
    code = _vanity()
    resps = await asyncio.gather(
        *[
            client.post(
                "/v1/links",
                headers=who.headers,
                json={
                    "collaboration_id": str(c.collaboration_id),
                    "destination_url": DEST,
                    "code": code,
                },
            )
            for who, c in [(tenant, collab), (other_tenant, other)] * 3
        ]
    )
    assert sorted(r.status_code for r in resps) == [201, 409, 409, 409, 409, 409]
