"""Collaborations: CRUD, the pipeline state machine, the timeline and contract terms."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.campaigns.budget import budget_view
from shared.models import Campaign, Deliverable
from tests.factories import (
    COLLAB_TERMS,
    CollabParties,
    Tenant,
    api_collaboration,
    make_collab_parties,
)
from tests.problems import assert_problem

UNKNOWN = "01a20a0f-a0c0-7677-9145-f12f6502aa9d"


async def _move(
    client: httpx.AsyncClient, tenant: Tenant, collab_id: str, to: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/collaborations/{collab_id}/transitions",
        headers=tenant.headers,
        json={"to": to, **extra},
    )


async def _timeline(client: httpx.AsyncClient, tenant: Tenant, collab_id: str) -> list[dict]:
    resp = await client.get(f"/v1/collaborations/{collab_id}/timeline", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    items: list[dict] = resp.json()["items"]
    return items


async def test_create_defaults_currency_and_lists_with_filters(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id, currency="EUR")
    resp = await client.post(
        "/v1/collaborations",
        headers=tenant.headers,
        json={
            "campaign_id": str(parties.campaign_id),
            "influencer_id": str(parties.influencer_id),
            "flat_fee_minor": 50000,
            "gifted_value_minor": 8000,
            "gifted_product": "Trail runner",
            "commission_bps": 1000,
            "commission_fixed_minor": 250,
            "outreach_notes": "Met at the meetup",
            "feedback": {"what_worked": "Fast replies"},
        },
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["status"] == "prospect" and created["currency"] == "EUR"
    assert created["feedback"] == {"what_worked": "Fast replies", "to_improve": None}
    assert (created["flat_fee_minor"], created["commission_bps"]) == (50000, 1000)

    # A second influencer in the same campaign, explicit (matching) currency.
    other = await make_collab_parties(sessionmaker, tenant.brand_id)
    second = await api_collaboration(
        client,
        tenant,
        CollabParties(parties.campaign_id, other.influencer_id),
        currency="eur",
        to="contacted",
    )
    assert second["currency"] == "EUR"

    async def ids(**params: Any) -> list[str]:
        resp = await client.get("/v1/collaborations", headers=tenant.headers, params=params)
        assert resp.status_code == 200, resp.text
        return [c["id"] for c in resp.json()["items"]]

    assert await ids(campaign_id=str(parties.campaign_id)) == [created["id"], second["id"]]
    assert await ids(influencer_id=str(other.influencer_id)) == [second["id"]]
    assert await ids(status="contacted", campaign_id=str(parties.campaign_id)) == [second["id"]]
    assert await ids(campaign_id=str(other.campaign_id)) == []
    # Keyset pagination over the filtered list.
    page1 = (
        await client.get(
            "/v1/collaborations",
            headers=tenant.headers,
            params={"campaign_id": str(parties.campaign_id), "limit": 1},
        )
    ).json()
    assert [c["id"] for c in page1["items"]] == [created["id"]] and page1["next_cursor"]
    page2 = (
        await client.get(
            "/v1/collaborations",
            headers=tenant.headers,
            params={
                "campaign_id": str(parties.campaign_id),
                "limit": 1,
                "cursor": page1["next_cursor"],
            },
        )
    ).json()
    assert [c["id"] for c in page2["items"]] == [second["id"]] and page2["next_cursor"] is None
    got = await client.get(f"/v1/collaborations/{created['id']}", headers=tenant.headers)
    assert got.json() == created


async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id, currency="EUR")
    base = {"campaign_id": str(parties.campaign_id), "influencer_id": str(parties.influencer_id)}
    cases = [
        ({"currency": "USD"}, "body.currency"),
        ({"currency": "EURO"}, "body.currency"),
        ({"flat_fee_minor": -1}, "body.flat_fee_minor"),
        ({"gifted_value_minor": -5}, "body.gifted_value_minor"),
        ({"commission_fixed_minor": -5}, "body.commission_fixed_minor"),
        ({"commission_bps": 10001}, "body.commission_bps"),
        ({"commission_bps": -1}, "body.commission_bps"),
        ({"status": "active"}, "body.status"),
        ({"feedback": {"mood": "great"}}, "body.feedback.mood"),
        ({"campaign_id": "nope"}, "body.campaign_id"),
    ]
    for extra, field in cases:
        resp = await client.post("/v1/collaborations", headers=tenant.headers, json=base | extra)
        assert_problem(resp, 422, field=field)
    listed = await client.get(
        "/v1/collaborations",
        headers=tenant.headers,
        params={"campaign_id": str(parties.campaign_id)},
    )
    assert listed.json()["items"] == []  # nothing half-written
    assert_problem(
        await client.get("/v1/collaborations", headers=tenant.headers, params={"status": "x"}),
        422,
        field="query.status",
    )


async def test_duplicate_pair_is_409(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    await api_collaboration(client, tenant, parties)
    resp = await client.post(
        "/v1/collaborations",
        headers=tenant.headers,
        json={"campaign_id": str(parties.campaign_id), "influencer_id": str(parties.influencer_id)},
    )
    body = assert_problem(resp, 409, field="body.influencer_id")
    assert body["type"].endswith("collaboration_exists")


async def test_another_brands_ids_in_the_body_are_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    mine = await make_collab_parties(sessionmaker, tenant.brand_id)
    theirs = await make_collab_parties(sessionmaker, other_tenant.brand_id)
    cases = [
        # Brand B's campaign with brand A's influencer, and the reverse.
        (theirs.campaign_id, mine.influencer_id, "body.influencer_id"),
        (mine.campaign_id, theirs.influencer_id, "body.campaign_id"),
        (uuid.UUID(UNKNOWN), theirs.influencer_id, "body.campaign_id"),
        (theirs.campaign_id, uuid.UUID(UNKNOWN), "body.influencer_id"),
    ]
    for campaign_id, influencer_id, field in cases:
        resp = await client.post(
            "/v1/collaborations",
            headers=other_tenant.headers,
            json={"campaign_id": str(campaign_id), "influencer_id": str(influencer_id)},
        )
        assert_problem(resp, 404, field=field)


async def test_every_collaboration_endpoint_is_404_across_brands(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    collab = await api_collaboration(client, tenant, parties, to="contracted")
    cid = collab["id"]
    calls = [
        ("GET", f"/v1/collaborations/{cid}", None),
        ("PATCH", f"/v1/collaborations/{cid}", {"outreach_notes": "x"}),
        ("DELETE", f"/v1/collaborations/{cid}", None),
        ("POST", f"/v1/collaborations/{cid}/transitions", {"to": "cancelled"}),
        ("GET", f"/v1/collaborations/{cid}/timeline", None),
        ("PUT", f"/v1/collaborations/{cid}/terms", COLLAB_TERMS),
        ("GET", f"/v1/collaborations/{cid}/terms", None),
        ("GET", f"/v1/collaborations/{cid}/terms/versions", None),
        ("GET", f"/v1/collaborations/{cid}/deliverables", None),
        ("POST", f"/v1/collaborations/{cid}/deliverables", {"type": "post", "platform": "x"}),
    ]
    for method, path, body in calls:
        for who, target in ((other_tenant, path), (tenant, path.replace(cid, UNKNOWN))):
            resp = await client.request(method, target, headers=who.headers, json=body)
            assert_problem(resp, 404)
    # Nothing changed for the owner.
    after = (await client.get(f"/v1/collaborations/{cid}", headers=tenant.headers)).json()
    assert after["status"] == "contracted" and after["outreach_notes"] is None
    versions = await client.get(f"/v1/collaborations/{cid}/terms/versions", headers=tenant.headers)
    assert len(versions.json()["items"]) == 1
    other_list = await client.get("/v1/collaborations", headers=other_tenant.headers)
    assert cid not in {c["id"] for c in other_list.json()["items"]}


async def test_illegal_transitions_are_409_naming_both_statuses(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties))["id"]
    for to in ("active", "completed", "negotiating", "contracted", "prospect"):
        body = assert_problem(await _move(client, tenant, cid, to), 409)
        assert body["type"].endswith("illegal_transition")
        assert (body["current_status"], body["requested_status"]) == ("prospect", to)
    assert (await _move(client, tenant, cid, "contacted")).status_code == 200
    assert (await _move(client, tenant, cid, "declined", note="Too busy")).status_code == 200
    for to in ("contacted", "cancelled", "declined"):
        body = assert_problem(await _move(client, tenant, cid, to), 409)
        assert (body["current_status"], body["requested_status"]) == ("declined", to)
    assert_problem(await _move(client, tenant, cid, "archived"), 422, field="body.to")

    done = await api_collaboration(
        client, tenant, await make_collab_parties(sessionmaker, tenant.brand_id), to="completed"
    )
    for to in ("cancelled", "declined", "active"):
        body = assert_problem(await _move(client, tenant, done["id"], to), 409)
        assert body["current_status"] == "completed"
    active = await api_collaboration(
        client, tenant, await make_collab_parties(sessionmaker, tenant.brand_id), to="active"
    )
    assert_problem(await _move(client, tenant, active["id"], "declined"), 409)
    cancelled = await _move(client, tenant, active["id"], "cancelled")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_two_concurrent_transitions_cannot_both_win(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Each pair: both legal from prospect, neither legal after the other.
    for rivals in (("contacted", "contacted"), ("declined", "cancelled")):
        parties = await make_collab_parties(sessionmaker, tenant.brand_id)
        cid = (await api_collaboration(client, tenant, parties))["id"]
        results = await asyncio.gather(*(_move(client, tenant, cid, to) for to in rivals))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()["status"]
        loser = next(r for r in results if r.status_code == 409).json()
        assert loser["current_status"] == winner
        changes = [e for e in await _timeline(client, tenant, cid) if e["kind"] == "status_changed"]
        assert [(e["from_status"], e["to_status"]) for e in changes] == [("prospect", winner)]


async def test_timeline_records_each_move_with_actor_and_note(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties))["id"]
    await _move(client, tenant, cid, "contacted", note="DM sent")
    await _move(client, tenant, cid, "negotiating", note="Asked for 600")
    await _move(client, tenant, cid, "cancelled")
    entries = await _timeline(client, tenant, cid)
    assert [(e["kind"], e["from_status"], e["to_status"], e["note"]) for e in entries] == [
        ("created", None, "prospect", None),
        ("status_changed", "prospect", "contacted", "DM sent"),
        ("status_changed", "contacted", "negotiating", "Asked for 600"),
        ("status_changed", "negotiating", "cancelled", None),
    ]
    assert {e["actor_key_id"] for e in entries} == {str(tenant.key_id)}
    page = await client.get(
        f"/v1/collaborations/{cid}/timeline", headers=tenant.headers, params={"limit": 3}
    )
    rest = await client.get(
        f"/v1/collaborations/{cid}/timeline",
        headers=tenant.headers,
        params={"limit": 3, "cursor": page.json()["next_cursor"]},
    )
    assert [e["id"] for e in page.json()["items"] + rest.json()["items"]] == [
        e["id"] for e in entries
    ]
    collab = (await client.get(f"/v1/collaborations/{cid}", headers=tenant.headers)).json()
    assert collab["status"] == "cancelled" and collab["status_changed_at"]


async def test_contracting_requires_terms(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties, to="negotiating"))["id"]
    body = assert_problem(await _move(client, tenant, cid, "contracted"), 409)
    assert body["type"].endswith("terms_required")
    assert body["current_status"] == "negotiating"
    assert_problem(await client.get(f"/v1/collaborations/{cid}/terms", headers=tenant.headers), 404)
    after = (await client.get(f"/v1/collaborations/{cid}", headers=tenant.headers)).json()
    assert after["status"] == "negotiating"


async def test_terms_are_versioned_and_frozen_once_contracted(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties, to="negotiating"))["id"]
    url = f"/v1/collaborations/{cid}/terms"
    first = await client.put(url, headers=tenant.headers, json=COLLAB_TERMS)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["frozen_at"] is None
    draft = {
        "deliverables": [
            {
                "type": "reel",
                "platform": "instagram",
                "count": 2,
                "due_dates": ["2030-02-01", "2030-01-15"],
            },
            {"type": "story", "platform": "instagram", "count": 1, "brief": "Link sticker"},
        ],
        "approval_required": True,
        "usage_rights": {
            "scope": ["paid_ads", "organic"],
            "territory": "EU",
            "starts_on": "2030-01-01",
            "ends_on": "2030-06-30",
        },
        "exclusivity_days": 30,
        "payment_terms": "Net 30",
        "signed_at": "2029-12-20T10:00:00Z",
    }
    replaced = await client.put(url, headers=tenant.headers, json=draft)
    assert replaced.status_code == 200, replaced.text  # the draft is replaced in place
    v1 = replaced.json()
    assert v1["id"] == first.json()["id"] and v1["version"] == 1
    assert v1["usage_rights"] == {
        "scope": ["organic", "paid_ads"],
        "territory": "EU",
        "starts_on": "2030-01-01",
        "ends_on": "2030-06-30",
    }
    assert v1["deliverables"][0]["due_dates"] == ["2030-01-15", "2030-02-01"]

    assert (await _move(client, tenant, cid, "contracted")).status_code == 200
    frozen = (await client.get(url, headers=tenant.headers)).json()
    assert frozen["frozen_at"] is not None
    assert {k: v for k, v in frozen.items() if k != "frozen_at"} == {
        k: v for k, v in v1.items() if k != "frozen_at"
    }

    amended = await client.put(url, headers=tenant.headers, json=draft | {"exclusivity_days": 60})
    assert amended.status_code == 201, amended.text
    v2 = amended.json()
    assert v2["version"] == 2 and v2["frozen_at"] is not None and v2["exclusivity_days"] == 60
    again = await client.put(url, headers=tenant.headers, json=draft | {"exclusivity_days": 90})
    assert again.status_code == 201 and again.json()["version"] == 3
    versions = (await client.get(f"{url}/versions", headers=tenant.headers)).json()["items"]
    assert [(v["version"], v["exclusivity_days"]) for v in versions] == [(1, 30), (2, 60), (3, 90)]
    assert versions[0] == frozen  # the contracted version is untouched
    assert (await client.get(url, headers=tenant.headers)).json()["version"] == 3
    kinds = [e["kind"] for e in await _timeline(client, tenant, cid)]
    assert kinds.count("terms_version") == 3


async def test_contracting_creates_the_deliverables_due_in_the_brand_time_zone(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await client.patch("/v1/brand", headers=tenant.headers, json={"timezone": "Europe/Berlin"})
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    terms = {
        "deliverables": [
            {"type": "reel", "platform": "instagram", "count": 2, "due_dates": ["2030-07-01"]},
            {"type": "video", "platform": "youtube", "count": 1, "due_dates": ["2030-01-10"]},
        ]
    }
    cid = (await api_collaboration(client, tenant, parties, to="contracted", terms=terms))["id"]
    items = (
        await client.get(f"/v1/collaborations/{cid}/deliverables", headers=tenant.headers)
    ).json()["items"]
    got = sorted((d["type"], d["platform"], d["due_at"] or "", d["status"]) for d in items)
    assert got == [
        ("reel", "instagram", "", "pending"),
        ("reel", "instagram", "2030-07-01T22:00:00Z", "pending"),  # end of day, CEST
        ("video", "youtube", "2030-01-10T23:00:00Z", "pending"),  # end of day, CET
    ]


async def test_terms_bad_input_names_the_field(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties))["id"]
    reel = {"type": "reel", "platform": "instagram", "count": 1}
    cases = [
        (
            {"deliverables": [reel | {"due_dates": ["2030-01-01", "2030-01-02"]}]},
            "body.deliverables.0.due_dates",
        ),
        ({"deliverables": [reel | {"count": 0}]}, "body.deliverables.0.count"),
        ({"deliverables": [reel | {"type": "tweetstorm"}]}, "body.deliverables.0.type"),
        ({"deliverables": [reel | {"platform": "myspace"}]}, "body.deliverables.0.platform"),
        (
            {"usage_rights": {"starts_on": "2030-02-01", "ends_on": "2030-01-01"}},
            "body.usage_rights.ends_on",
        ),
        ({"usage_rights": {"scope": ["billboards"]}}, "body.usage_rights.scope.0"),
        ({"exclusivity_days": -1}, "body.exclusivity_days"),
        ({"signed_at": "2030-01-01T10:00:00"}, "body.signed_at"),  # naive timestamp
        ({"approval": False}, "body.approval"),
    ]
    for payload, field in cases:
        resp = await client.put(
            f"/v1/collaborations/{cid}/terms", headers=tenant.headers, json=payload
        )
        assert_problem(resp, 422, field=field)
    assert_problem(await client.get(f"/v1/collaborations/{cid}/terms", headers=tenant.headers), 404)


async def test_closed_collaborations_refuse_terms(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties, to="contacted"))["id"]
    await _move(client, tenant, cid, "declined")
    resp = await client.put(
        f"/v1/collaborations/{cid}/terms", headers=tenant.headers, json=COLLAB_TERMS
    )
    body = assert_problem(resp, 409)
    assert body["current_status"] == "declined"


async def test_contracting_checks_the_budget_unless_overridden(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id, budget_minor=1000)
    collab = await api_collaboration(
        client, tenant, parties, to="negotiating", flat_fee_minor=800, gifted_value_minor=300
    )
    cid = collab["id"]
    await client.put(f"/v1/collaborations/{cid}/terms", headers=tenant.headers, json=COLLAB_TERMS)
    body = assert_problem(await _move(client, tenant, cid, "contracted"), 409)
    assert body["type"].endswith("budget_exceeded")
    assert (body["remaining_minor"], body["requested_minor"]) == (1000, 1100)
    # Nothing half-written: still negotiating, terms still a draft, no deliverables.
    assert (await client.get(f"/v1/collaborations/{cid}", headers=tenant.headers)).json()[
        "status"
    ] == "negotiating"
    terms = (await client.get(f"/v1/collaborations/{cid}/terms", headers=tenant.headers)).json()
    assert terms["frozen_at"] is None
    async with sessionmaker() as session:
        rows = await session.execute(select(Deliverable).where(Deliverable.collaboration_id == cid))
        assert rows.first() is None

    ok = await _move(client, tenant, cid, "contracted", allow_over_budget=True)
    assert ok.status_code == 200, ok.text
    async with sessionmaker() as session:
        campaign = await session.get(Campaign, parties.campaign_id)
        assert campaign is not None
        view = await budget_view(session, campaign)
    assert (view.committed_minor, view.remaining_minor) == (1100, -100)


async def test_concurrent_contracting_on_one_budget_lets_one_through(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id, budget_minor=1000)
    ids = []
    for _ in range(2):
        other = await make_collab_parties(sessionmaker, tenant.brand_id)
        c = await api_collaboration(
            client,
            tenant,
            CollabParties(parties.campaign_id, other.influencer_id),
            to="negotiating",
            flat_fee_minor=600,
        )
        await client.put(
            f"/v1/collaborations/{c['id']}/terms", headers=tenant.headers, json=COLLAB_TERMS
        )
        ids.append(c["id"])
    results = await asyncio.gather(*(_move(client, tenant, cid, "contracted") for cid in ids))
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["type"].endswith("budget_exceeded") and loser["remaining_minor"] == 400


async def test_compensation_is_frozen_once_contracted(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties, flat_fee_minor=100))["id"]
    url = f"/v1/collaborations/{cid}"
    patched = await client.patch(
        url, headers=tenant.headers, json={"flat_fee_minor": 200, "commission_bps": None}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["flat_fee_minor"], patched.json()["commission_bps"]) == (200, None)
    assert_problem(
        await client.patch(url, headers=tenant.headers, json={"flat_fee_minor": -1}),
        422,
        field="body.flat_fee_minor",
    )
    assert_problem(
        await client.patch(url, headers=tenant.headers, json={"currency": "EUR"}),
        422,
        field="body.currency",
    )
    for to in ("contacted", "negotiating"):
        await _move(client, tenant, cid, to)
    await client.put(f"{url}/terms", headers=tenant.headers, json=COLLAB_TERMS)
    await _move(client, tenant, cid, "contracted")
    body = assert_problem(
        await client.patch(url, headers=tenant.headers, json={"flat_fee_minor": 50}), 409
    )
    assert body["type"].endswith("compensation_frozen") and body["current_status"] == "contracted"
    feedback = {"what_worked": "Great hooks", "to_improve": "Post earlier"}
    ok = await client.patch(
        url, headers=tenant.headers, json={"feedback": feedback, "outreach_notes": "Signed"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["feedback"] == feedback and ok.json()["flat_fee_minor"] == 200


async def test_delete_only_before_contracting(
    client: httpx.AsyncClient, tenant: Tenant, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    parties = await make_collab_parties(sessionmaker, tenant.brand_id)
    cid = (await api_collaboration(client, tenant, parties))["id"]
    assert (
        await client.delete(f"/v1/collaborations/{cid}", headers=tenant.headers)
    ).status_code == 204
    assert_problem(await client.get(f"/v1/collaborations/{cid}", headers=tenant.headers), 404)
    # The pair is free again.
    contracted = await api_collaboration(client, tenant, parties, to="contracted")
    body = assert_problem(
        await client.delete(f"/v1/collaborations/{contracted['id']}", headers=tenant.headers),
        409,
    )
    assert body["current_status"] == "contracted"
