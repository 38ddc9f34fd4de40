"""End to end through the API: one collaboration from prospect to published deliverables and
completed, checking the timeline and the campaign's budget view at every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import OutboxEvent
from tests.factories import Tenant

BUDGET = 200_000
FEE, GIFT = 50_000, 8_000


async def test_prospect_to_published_and_completed(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    h = tenant.headers

    async def ok(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert resp.status_code == status, resp.text
        body: dict[str, Any] = resp.json()
        return body

    influencer = await ok(
        await client.post(
            "/v1/influencers",
            headers=h,
            json={
                "name": "Jane Runner",
                "country": "DE",
                "accounts": [{"platform": "instagram", "handle": "@JaneRuns", "followers": 42_000}],
            },
        ),
        201,
    )
    assert influencer["accounts"][0]["tier"] == "micro"
    campaign = await ok(
        await client.post(
            "/v1/campaigns",
            headers=h,
            json={
                "name": "Trail Summer",
                "goal": "sales",
                "budget_minor": BUDGET,
                "currency": "EUR",
            },
        ),
        201,
    )

    async def budget(committed: int) -> None:
        view = await ok(await client.get(f"/v1/campaigns/{campaign['id']}/budget", headers=h))
        assert view == {
            "currency": "EUR",
            "budget_minor": BUDGET,
            "committed_minor": committed,
            "spent_minor": 0,
            "remaining_minor": BUDGET - committed,
        }

    expected_timeline: list[tuple[str, str | None, str | None]] = []

    async def timeline(*new: tuple[str, str | None, str | None]) -> None:
        expected_timeline.extend(new)
        items = (await ok(await client.get(f"/v1/collaborations/{cid}/timeline", headers=h)))[
            "items"
        ]
        assert [(e["kind"], e["from_status"], e["to_status"]) for e in items] == expected_timeline
        assert all(e["actor_key_id"] == str(tenant.key_id) for e in items)

    async def move(to: str, note: str) -> dict[str, Any]:
        body = await ok(
            await client.post(
                f"/v1/collaborations/{cid}/transitions", headers=h, json={"to": to, "note": note}
            )
        )
        assert body["status"] == to
        return body

    await budget(0)
    collab = await ok(
        await client.post(
            "/v1/collaborations",
            headers=h,
            json={
                "campaign_id": campaign["id"],
                "influencer_id": influencer["id"],
                "flat_fee_minor": FEE,
                "gifted_value_minor": GIFT,
                "gifted_product": "Trail runner, size 39",
                "commission_bps": 1_000,
                "outreach_notes": "Found via #trailrunning",
            },
        ),
        201,
    )
    cid = collab["id"]
    assert (collab["status"], collab["currency"]) == ("prospect", "EUR")
    await timeline(("created", None, "prospect"))
    await budget(0)

    await move("contacted", "DM sent")
    await timeline(("status_changed", "prospect", "contacted"))
    await budget(0)

    await move("negotiating", "Asked for 500 EUR + shoes")
    await timeline(("status_changed", "contacted", "negotiating"))
    await budget(0)

    due = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    terms = await ok(
        await client.put(
            f"/v1/collaborations/{cid}/terms",
            headers=h,
            json={
                "deliverables": [
                    {"type": "reel", "platform": "instagram", "count": 1, "due_dates": [due]},
                    {"type": "story", "platform": "instagram", "count": 1},
                ],
                "approval_required": True,
                "usage_rights": {"scope": ["organic", "paid_ads"], "territory": "EU"},
                "exclusivity_days": 30,
                "payment_terms": "Net 30 after publishing",
            },
        ),
        201,
    )
    assert terms["version"] == 1 and terms["frozen_at"] is None
    await timeline(("terms_version", None, None))
    await budget(0)  # terms alone commit nothing

    await move("contracted", "Signed")
    await timeline(("status_changed", "negotiating", "contracted"))
    await budget(FEE + GIFT)
    frozen = await ok(await client.get(f"/v1/collaborations/{cid}/terms", headers=h))
    assert frozen["frozen_at"] is not None

    await move("active", "Product shipped")
    await timeline(("status_changed", "contracted", "active"))
    await budget(FEE + GIFT)

    deliverables = (
        await ok(await client.get(f"/v1/collaborations/{cid}/deliverables", headers=h))
    )["items"]
    reel = next(d for d in deliverables if d["type"] == "reel")
    story = next(d for d in deliverables if d["type"] == "story")
    assert reel["status"] == story["status"] == "pending"
    assert reel["due_at"].startswith((datetime.now(UTC) + timedelta(days=15)).date().isoformat())

    async def act(d: dict[str, Any], action: str, expect: str, **body: Any) -> None:
        moved = await ok(
            await client.post(f"/v1/deliverables/{d['id']}/{action}", headers=h, json=body)
        )
        assert moved["status"] == expect
        await timeline()  # deliverable work does not touch the pipeline
        await budget(FEE + GIFT)

    await act(reel, "submit", "submitted", draft_url="https://drive.example.com/reel-v1.mp4")
    await act(reel, "review", "changes_requested", decision="request_changes", comment="Logo")
    await act(reel, "submit", "submitted", draft_url="https://drive.example.com/reel-v2.mp4")
    await act(reel, "review", "approved", decision="approve", comment="Great")
    await act(reel, "publish", "published", post_url="https://www.instagram.com/reel/C0ffee/")
    await act(story, "submit", "submitted", caption="Link in story #ad")
    await act(story, "review", "approved", decision="approve")
    await act(story, "publish", "published", post_url="https://www.instagram.com/stories/j/1/")

    history = (await ok(await client.get(f"/v1/deliverables/{reel['id']}/reviews", headers=h)))[
        "items"
    ]
    assert [(r["action"], r["comment"]) for r in history] == [
        ("submitted", None),
        ("changes_requested", "Logo"),
        ("submitted", None),
        ("approved", "Great"),
        ("published", None),
    ]
    overdue = await ok(
        await client.get(
            "/v1/deliverables", headers=h, params={"status": "overdue", "collaboration_id": cid}
        )
    )
    assert overdue["items"] == []

    done = await move("completed", "All content live")
    await timeline(("status_changed", "active", "completed"))
    await budget(FEE + GIFT)
    await ok(
        await client.patch(
            f"/v1/collaborations/{cid}",
            headers=h,
            json={"feedback": {"what_worked": "Clear brief", "to_improve": "Faster samples"}},
        )
    )
    final = await ok(await client.get(f"/v1/collaborations/{cid}", headers=h))
    assert final["status"] == "completed" == done["status"]
    assert final["feedback"] == {"what_worked": "Clear brief", "to_improve": "Faster samples"}

    async with sessionmaker() as session:
        types = (
            await session.execute(
                select(OutboxEvent.type)
                .where(OutboxEvent.brand_id == tenant.brand_id)
                .order_by(OutboxEvent.created_at, OutboxEvent.id)
            )
        ).scalars()
        assert [t for t in types if t.startswith("deliverable.")] == [
            "deliverable.submitted",
            "deliverable.submitted",
            "deliverable.published",
            "deliverable.submitted",
            "deliverable.published",
        ]
