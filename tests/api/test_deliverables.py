"""Deliverables and content approval: submit, review, publish, overdue, usage rights."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import OutboxEvent
from tests.factories import Tenant, api_collaboration, make_collab_parties
from tests.problems import assert_problem

UNKNOWN = "01a20a0f-a0c0-7677-9145-f12f6502aa9d"


async def _contracted(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    to: str = "active",
    count: int = 1,
    approval_required: bool = True,
    due_dates: list[str] | None = None,
    usage_rights: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    terms: dict[str, Any] = {
        "deliverables": [
            {
                "type": "reel",
                "platform": "instagram",
                "count": count,
                "due_dates": due_dates or [],
            }
        ],
        "approval_required": approval_required,
    }
    if usage_rights is not None:
        terms["usage_rights"] = usage_rights
    collab = await api_collaboration(client, tenant, parties, to=to, terms=terms)
    resp = await client.get(
        f"/v1/collaborations/{collab['id']}/deliverables", headers=tenant.headers
    )
    return collab, resp.json()["items"]


async def _act(
    client: httpx.AsyncClient, tenant: Tenant, deliverable_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/deliverables/{deliverable_id}/{action}", headers=tenant.headers, json=body
    )


async def _events(
    sessionmaker: async_sessionmaker[AsyncSession], brand_id: uuid.UUID, type_: str
) -> list[OutboxEvent]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.brand_id == brand_id, OutboxEvent.type == type_)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return list(rows.scalars())


async def test_submit_review_publish_keeps_every_comment(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    collab, [d] = await _contracted(client, tenant, sessionmaker)
    did = d["id"]
    sub = await _act(
        client, tenant, did, "submit", draft_url="https://drive.example.com/v1.mp4", caption="v1"
    )
    assert sub.status_code == 200, sub.text
    assert sub.json()["status"] == "submitted" and sub.json()["submitted_at"]
    changes = await _act(
        client, tenant, did, "review", decision="request_changes", comment="Logo in first 3 s"
    )
    assert changes.json()["status"] == "changes_requested"
    again = await _act(client, tenant, did, "submit", caption="v2 #ad", comment="Logo moved")
    assert again.json()["status"] == "submitted" and again.json()["draft_caption"] == "v2 #ad"
    approved = await _act(client, tenant, did, "review", decision="approve")
    assert approved.json()["status"] == "approved" and approved.json()["approved_at"]
    published = await _act(
        client,
        tenant,
        did,
        "publish",
        post_url="https://www.instagram.com/p/C0ffee123/",
        published_at="2026-01-05T17:30:00Z",
        external_post_id="3245789",
    )
    assert published.status_code == 200, published.text
    body = published.json()
    assert body["status"] == "published"
    assert body["post_url"] == "https://www.instagram.com/p/C0ffee123/"
    assert (body["published_at"], body["external_post_id"]) == ("2026-01-05T17:30:00Z", "3245789")
    got = await client.get(f"/v1/deliverables/{did}", headers=tenant.headers)
    assert got.json() == body

    reviews = (await client.get(f"/v1/deliverables/{did}/reviews", headers=tenant.headers)).json()[
        "items"
    ]
    assert [(r["action"], r["comment"], r["draft_url"]) for r in reviews] == [
        ("submitted", None, "https://drive.example.com/v1.mp4"),
        ("changes_requested", "Logo in first 3 s", None),
        ("submitted", "Logo moved", None),
        ("approved", None, None),
        ("published", None, None),
    ]
    assert {r["actor_key_id"] for r in reviews} == {str(tenant.key_id)}

    submitted = await _events(sessionmaker, tenant.brand_id, "deliverable.submitted")
    assert [e.payload["caption"] for e in submitted] == ["v1", "v2 #ad"]
    [pub] = await _events(sessionmaker, tenant.brand_id, "deliverable.published")
    assert pub.dedupe_key == f"deliverable.published:{did}"
    assert pub.payload["post_url"] == body["post_url"]
    assert pub.payload["collaboration_id"] == collab["id"]
    assert pub.payload["campaign_id"] == collab["campaign_id"]


async def test_illegal_moves_are_409_and_bad_input_422(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, [d] = await _contracted(client, tenant, sessionmaker)
    did = d["id"]
    post = {"post_url": "https://www.instagram.com/p/x/"}
    body = assert_problem(await _act(client, tenant, did, "publish", **post), 409)
    assert (body["current_status"], body["requested_status"]) == ("pending", "published")
    assert "approval" in body["detail"]
    body = assert_problem(await _act(client, tenant, did, "review", decision="approve"), 409)
    assert (body["current_status"], body["requested_status"]) == ("pending", "approved")

    assert_problem(await _act(client, tenant, did, "submit"), 422, field="body.draft_url")
    assert_problem(
        await _act(client, tenant, did, "submit", draft_url="not a url"),
        422,
        field="body.draft_url",
    )
    await _act(client, tenant, did, "submit", caption="v1")
    body = assert_problem(await _act(client, tenant, did, "submit", caption="v1 again"), 409)
    assert (body["current_status"], body["requested_status"]) == ("submitted", "submitted")
    body = assert_problem(await _act(client, tenant, did, "publish", **post), 409)
    assert body["current_status"] == "submitted"
    assert_problem(
        await _act(client, tenant, did, "review", decision="request_changes"),
        422,
        field="body.comment",
    )
    assert_problem(
        await _act(client, tenant, did, "review", decision="maybe"), 422, field="body.decision"
    )
    await _act(client, tenant, did, "review", decision="approve")
    assert_problem(
        await _act(client, tenant, did, "publish", post_url="ftp://x.example.com/p"),
        422,
        field="body.post_url",
    )
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert_problem(
        await _act(client, tenant, did, "publish", **post, published_at=future),
        422,
        field="body.published_at",
    )
    assert (await _act(client, tenant, did, "publish", **post)).status_code == 200
    for action, payload in (
        ("publish", post),
        ("submit", {"caption": "late"}),
        ("review", {"decision": "approve"}),
    ):
        body = assert_problem(await _act(client, tenant, did, action, **payload), 409)
        assert body["current_status"] == "published"
    assert_problem(
        await client.patch(
            f"/v1/deliverables/{did}", headers=tenant.headers, json={"brief": "too late"}
        ),
        409,
    )


async def test_publish_without_approval_when_the_contract_waives_it(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, items = await _contracted(
        client, tenant, sessionmaker, to="contracted", count=2, approval_required=False
    )
    first, second = items
    direct = await _act(
        client, tenant, first["id"], "publish", post_url="https://tiktok.com/@a/video/1"
    )
    assert direct.status_code == 200, direct.text
    assert direct.json()["status"] == "published" and direct.json()["published_at"]
    await _act(client, tenant, second["id"], "submit", caption="draft")
    from_submitted = await _act(
        client, tenant, second["id"], "publish", post_url="https://tiktok.com/@a/video/2"
    )
    assert from_submitted.status_code == 200, from_submitted.text
    actions = [
        r["action"]
        for r in (
            await client.get(f"/v1/deliverables/{second['id']}/reviews", headers=tenant.headers)
        ).json()["items"]
    ]
    assert actions == ["submitted", "published"]
    assert len(await _events(sessionmaker, tenant.brand_id, "deliverable.published")) == 2


async def test_concurrent_reviews_cannot_both_win(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, [d] = await _contracted(client, tenant, sessionmaker)
    await _act(client, tenant, d["id"], "submit", caption="v1")
    results = await asyncio.gather(
        _act(client, tenant, d["id"], "review", decision="approve"),
        _act(client, tenant, d["id"], "review", decision="request_changes", comment="No"),
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    reviews = (
        await client.get(f"/v1/deliverables/{d['id']}/reviews", headers=tenant.headers)
    ).json()["items"]
    assert len(reviews) == 2


async def test_every_deliverable_endpoint_is_404_across_brands(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, [d] = await _contracted(client, tenant, sessionmaker)
    did = d["id"]
    calls = [
        ("GET", f"/v1/deliverables/{did}", None),
        ("PATCH", f"/v1/deliverables/{did}", {"brief": "x"}),
        ("GET", f"/v1/deliverables/{did}/reviews", None),
        ("POST", f"/v1/deliverables/{did}/submit", {"caption": "x"}),
        ("POST", f"/v1/deliverables/{did}/review", {"decision": "approve"}),
        ("POST", f"/v1/deliverables/{did}/publish", {"post_url": "https://x.com/p/1"}),
    ]
    for method, path, body in calls:
        for who, target in ((other_tenant, path), (tenant, path.replace(did, UNKNOWN))):
            resp = await client.request(method, target, headers=who.headers, json=body)
            assert_problem(resp, 404)
    after = (await client.get(f"/v1/deliverables/{did}", headers=tenant.headers)).json()
    assert after == d
    listed = await client.get("/v1/deliverables", headers=other_tenant.headers)
    assert did not in {x["id"] for x in listed.json()["items"]}


async def test_extra_deliverables_and_due_date_changes(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    prospect = await api_collaboration(
        client, tenant, await make_collab_parties(sessionmaker, tenant.brand_id)
    )
    story = {"type": "story", "platform": "instagram", "due_at": "2030-01-01T18:00:00Z"}
    body = assert_problem(
        await client.post(
            f"/v1/collaborations/{prospect['id']}/deliverables", headers=tenant.headers, json=story
        ),
        409,
    )
    assert body["current_status"] == "prospect"

    collab, _ = await _contracted(client, tenant, sessionmaker)
    url = f"/v1/collaborations/{collab['id']}/deliverables"
    created = await client.post(url, headers=tenant.headers, json=story | {"brief": "Unboxing"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["brief"] == "Unboxing"
    for payload, field in (
        (story | {"type": "hologram"}, "body.type"),
        (story | {"platform": "myspace"}, "body.platform"),
        (story | {"due_at": "2030-01-01T18:00:00"}, "body.due_at"),
    ):
        assert_problem(
            await client.post(url, headers=tenant.headers, json=payload), 422, field=field
        )
    moved = await client.patch(
        f"/v1/deliverables/{created.json()['id']}",
        headers=tenant.headers,
        json={"due_at": "2030-02-01T12:00:00+01:00"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["due_at"] == "2030-02-01T11:00:00Z"
    assert len((await client.get(url, headers=tenant.headers)).json()["items"]) == 2


async def test_deliverables_stop_moving_when_the_collaboration_is_cancelled(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    collab, [d] = await _contracted(client, tenant, sessionmaker)
    await client.post(
        f"/v1/collaborations/{collab['id']}/transitions",
        headers=tenant.headers,
        json={"to": "cancelled"},
    )
    body = assert_problem(await _act(client, tenant, d["id"], "submit", caption="x"), 409)
    assert body["type"].endswith("collaboration_not_working")
    assert body["collaboration_status"] == "cancelled"


async def test_overdue_listing_and_filters(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    last_week = (datetime.now(UTC).date() - timedelta(days=7)).isoformat()
    collab, items = await _contracted(
        client, tenant, sessionmaker, count=4, due_dates=[last_week, yesterday, "2099-01-01"]
    )
    late = sorted(
        (d for d in items if d["due_at"] and d["due_at"] < "2099"), key=lambda d: d["due_at"]
    )
    older, newer = late
    undated = next(d for d in items if d["due_at"] is None)
    # Submitted but unreviewed is still overdue (the brand owes a review).
    await _act(client, tenant, newer["id"], "submit", caption="x")
    overdue = await client.get(
        "/v1/deliverables", headers=tenant.headers, params={"status": "overdue"}
    )
    assert overdue.status_code == 200, overdue.text
    assert [d["id"] for d in overdue.json()["items"]] == [older["id"], newer["id"]]
    # Published, it is not overdue any more.
    await _act(client, tenant, newer["id"], "review", decision="approve")
    await _act(client, tenant, newer["id"], "publish", post_url="https://x.com/p/1")

    async def ids(**params: Any) -> list[str]:
        resp = await client.get("/v1/deliverables", headers=tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [d["id"] for d in resp.json()["items"]]

    assert await ids(status="overdue") == [older["id"]]
    assert await ids(status="overdue", campaign_id=collab["campaign_id"]) == [older["id"]]
    assert await ids(status="overdue", collaboration_id=collab["id"]) == [older["id"]]
    assert await ids(status="published") == [newer["id"]]
    pending = await ids(status="pending", collaboration_id=collab["id"])
    assert set(pending) == {older["id"], undated["id"]} | {
        d["id"] for d in items if d["due_at"] and d["due_at"] > "2099"
    }
    assert len(await ids(campaign_id=collab["campaign_id"])) == 4
    assert await ids(campaign_id=str(uuid.uuid4())) == []
    other = await client.get(
        "/v1/deliverables", headers=other_tenant.headers, params={"status": "overdue"}
    )
    assert other.json()["items"] == []
    assert_problem(
        await client.get("/v1/deliverables", headers=tenant.headers, params={"status": "late"}),
        422,
        field="query.status",
    )
    # Cancelled collaborations' leftovers are not overdue.
    await client.post(
        f"/v1/collaborations/{collab['id']}/transitions",
        headers=tenant.headers,
        json={"to": "cancelled"},
    )
    assert await ids(status="overdue") == []


async def test_expiring_usage_rights_listing(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    today = datetime.now(UTC).date()

    def rights(days: int) -> dict[str, Any]:
        return {
            "scope": ["paid_ads", "organic"],
            "territory": "EU",
            "starts_on": (today - timedelta(days=30)).isoformat(),
            "ends_on": (today + timedelta(days=days)).isoformat(),
        }

    soon, _ = await _contracted(client, tenant, sessionmaker, usage_rights=rights(10))
    await _contracted(client, tenant, sessionmaker, usage_rights=rights(40))
    # A draft (not contracted) does not count.
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    negotiating = await api_collaboration(client, tenant, parties, to="negotiating")
    await client.put(
        f"/v1/collaborations/{negotiating['id']}/terms",
        headers=tenant.headers,
        json={"usage_rights": rights(3)},
    )

    resp = await client.get("/v1/usage-rights/expiring", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    [item] = resp.json()["items"]
    assert item["collaboration_id"] == soon["id"]
    assert (item["campaign_id"], item["influencer_id"]) == (
        soon["campaign_id"],
        soon["influencer_id"],
    )
    assert (item["days_left"], item["version"], item["notified_at"]) == (10, 1, None)
    assert item["scope"] == ["organic", "paid_ads"]
    wider = await client.get(
        "/v1/usage-rights/expiring", headers=tenant.headers, params={"within_days": 60}
    )
    assert len(wider.json()["items"]) == 2
    # An amendment moving the end date out of the window replaces the version in force.
    await client.put(
        f"/v1/collaborations/{soon['id']}/terms",
        headers=tenant.headers,
        json={"usage_rights": rights(100)},
    )
    assert (await client.get("/v1/usage-rights/expiring", headers=tenant.headers)).json()[
        "items"
    ] == []
    other = await client.get("/v1/usage-rights/expiring", headers=other_tenant.headers)
    assert other.json()["items"] == []
    assert_problem(
        await client.get(
            "/v1/usage-rights/expiring", headers=tenant.headers, params={"within_days": 1000}
        ),
        422,
        field="query.within_days",
    )
