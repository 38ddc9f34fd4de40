"""Roster rules: influencers and their social accounts.

Invariants kept here, in the caller's transaction:
- a handle is unique per (brand, platform) in DDL; a duplicate answers 409 `handle_taken`;
- every account write that creates an account or changes its followers also writes a
  follower snapshot and refreshes the influencer's `max_followers` (the sort key);
- an influencer with collaborations is never deleted (409): archive it instead, so the
  campaign history that references it stays whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.base import uuid7
from shared.db.integrity import constraint_name
from shared.errors import Conflict, InvalidInput
from shared.influencers.repository import (
    CollaborationFacts,
    InfluencerRepository,
    SocialAccountRepository,
    record_snapshots,
)
from shared.models import Influencer, SocialAccount

HANDLE_CONSTRAINT = "uq_social_accounts_handle"
EMAIL_CONSTRAINT = "uq_influencers_brand_email"

INFLUENCER_FIELDS = frozenset(
    {
        "name",
        "email",
        "country",
        "city",
        "languages",
        "niches",
        "notes",
        "status",
        "rate_card",
        "rate_currency",
    }
)
ACCOUNT_FIELDS = frozenset(
    {
        "platform",
        "handle",
        "profile_url",
        "followers",
        "posts_per_week",
        "sponsored_share_bps",
        "audience_age",
        "audience_gender",
        "audience_countries",
        "audience_languages",
    }
)


class HandleTaken(Conflict):
    code = "handle_taken"
    title = "Handle taken"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail taken"


class InfluencerHasCollaborations(Conflict):
    code = "influencer_has_collaborations"
    title = "Influencer has collaborations"


@dataclass(slots=True)
class InfluencerView:
    """An influencer with its accounts and relationship facts, as every response shows it."""

    influencer: Influencer
    accounts: list[SocialAccount] = field(default_factory=list)
    facts: CollaborationFacts = field(default_factory=CollaborationFacts)


_KEY_DETAIL = re.compile(r"=\([^,]+, ([^,]+), (.+)\) already exists")


def taken_key(exc: IntegrityError) -> tuple[str, str] | None:
    """(platform, handle) from a unique-violation detail on `uq_social_accounts_handle`."""
    detail = getattr(getattr(exc.orig, "__cause__", None), "detail", None) or str(exc.orig)
    match = _KEY_DETAIL.search(detail)
    return (match.group(1), match.group(2)) if match else None


def handle_taken(platform: str, handle: str, loc: list[str | int]) -> HandleTaken:
    msg = f"@{handle} on {platform} is already on this brand's roster."
    return HandleTaken(msg, errors=[{"loc": loc, "msg": msg}], platform=platform, handle=handle)


def email_taken(email: str, loc: list[str | int]) -> EmailTaken:
    msg = f"Another influencer of this brand has the e-mail {email}."
    return EmailTaken(msg, errors=[{"loc": loc, "msg": msg}])


def _check_rate_currency(influencer: Influencer) -> None:
    if influencer.rate_card and not influencer.rate_currency:
        raise InvalidInput(["body", "rate_currency"], "A rate card needs a rate_currency.")


async def build_views(
    session: AsyncSession, brand_id: uuid.UUID, influencers: Sequence[Influencer]
) -> list[InfluencerView]:
    """Accounts and facts for a page of influencers: two queries whatever the page size."""
    repo = InfluencerRepository(session, brand_id)
    ids = [i.id for i in influencers]
    accounts = await repo.accounts_of(ids)
    facts = await repo.collaboration_facts(ids)
    return [
        InfluencerView(i, accounts.get(i.id, []), facts.get(i.id, CollaborationFacts()))
        for i in influencers
    ]


async def get_view(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID
) -> InfluencerView:
    influencer = await InfluencerRepository(session, brand_id).get_or_404(influencer_id)
    return (await build_views(session, brand_id, [influencer]))[0]


# ------------------------------------------------------------------ influencers
async def create_influencer(
    session: AsyncSession,
    brand_id: uuid.UUID,
    fields: dict[str, Any],
    accounts: Sequence[dict[str, Any]] = (),
) -> InfluencerView:
    influencer = Influencer(id=uuid7(), brand_id=brand_id, **_only(fields, INFLUENCER_FIELDS))
    _check_rate_currency(influencer)
    seen: dict[tuple[str, str], int] = {}
    for i, acc in enumerate(accounts):
        key = (str(acc["platform"]), str(acc["handle"]))
        if key in seen:
            raise InvalidInput(
                ["body", "accounts", i, "handle"],
                f"@{key[1]} on {key[0]} appears twice (also accounts[{seen[key]}]).",
            )
        seen[key] = i
    rows = [
        SocialAccount(brand_id=brand_id, influencer_id=influencer.id, **_only(acc, ACCOUNT_FIELDS))
        for acc in accounts
    ]
    try:
        async with session.begin_nested():
            session.add(influencer)
            await session.flush()  # no ORM relationship orders the two inserts: flush twice
            session.add_all(rows)
            await session.flush()
    except IntegrityError as exc:
        raise _conflict(exc, influencer.email, ["body"], list(seen)) from exc
    await record_snapshots(session, brand_id, [(r.id, r.followers or 0) for r in rows])
    if rows:
        influencer.max_followers = max(r.followers or 0 for r in rows)
        await session.flush()
    await session.refresh(influencer)
    for row in rows:
        await session.refresh(row)
    return (await build_views(session, brand_id, [influencer]))[0]


async def update_influencer(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID, changes: dict[str, Any]
) -> InfluencerView:
    repo = InfluencerRepository(session, brand_id)
    influencer = await repo.get_or_404(influencer_id, for_update=True)
    for name, value in _only(changes, INFLUENCER_FIELDS).items():
        setattr(influencer, name, value)
    _check_rate_currency(influencer)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _conflict(exc, changes.get("email"), ["body"], []) from exc
    await session.refresh(influencer)
    return (await build_views(session, brand_id, [influencer]))[0]


async def delete_influencer(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID
) -> None:
    """Delete an influencer without collaborations (its accounts and history go with it).

    The row lock orders this against a concurrent collaboration insert (whose foreign-key
    check takes a KEY SHARE lock on the same row): whichever commits first wins, and the
    collaboration check below then sees it, so a cascade never deletes a collaboration."""
    repo = InfluencerRepository(session, brand_id)
    influencer = await repo.get_or_404(influencer_id, for_update=True)
    if await repo.has_collaborations(influencer.id):
        raise InfluencerHasCollaborations(
            "This influencer has collaborations and cannot be deleted; archive it instead "
            "(PATCH status=archived).",
            influencer_id=str(influencer.id),
        )
    await session.delete(influencer)
    await session.flush()


# --------------------------------------------------------------------- accounts
async def create_account(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID, fields: dict[str, Any]
) -> SocialAccount:
    repo = InfluencerRepository(session, brand_id)
    influencer = await repo.get_or_404(influencer_id, for_update=True)
    account = SocialAccount(
        brand_id=brand_id, influencer_id=influencer.id, **_only(fields, ACCOUNT_FIELDS)
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise _conflict(exc, None, ["body"], [], single_account=True) from exc
    await record_snapshots(session, brand_id, [(account.id, account.followers or 0)])
    await repo.refresh_max_followers([influencer.id])
    await session.refresh(account)
    return account


async def update_account(
    session: AsyncSession,
    brand_id: uuid.UUID,
    influencer_id: uuid.UUID,
    account_id: uuid.UUID,
    changes: dict[str, Any],
) -> SocialAccount:
    influencers = InfluencerRepository(session, brand_id)
    await influencers.get_or_404(influencer_id, for_update=True)  # see repo.lock
    account = await SocialAccountRepository(session, brand_id).get_of_influencer_or_404(
        influencer_id, account_id, for_update=True
    )
    before = account.followers
    for name, value in _only(changes, ACCOUNT_FIELDS).items():
        setattr(account, name, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _conflict(exc, None, ["body"], [], single_account=True) from exc
    if account.followers != before:
        await record_snapshots(session, brand_id, [(account.id, account.followers)])
        await influencers.refresh_max_followers([influencer_id])
    await session.refresh(account)
    return account


async def delete_account(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    influencers = InfluencerRepository(session, brand_id)
    await influencers.get_or_404(influencer_id, for_update=True)  # see repo.lock
    account = await SocialAccountRepository(session, brand_id).get_of_influencer_or_404(
        influencer_id, account_id, for_update=True
    )
    await session.delete(account)
    await session.flush()
    await influencers.refresh_max_followers([influencer_id])


async def get_account(
    session: AsyncSession, brand_id: uuid.UUID, influencer_id: uuid.UUID, account_id: uuid.UUID
) -> SocialAccount:
    await InfluencerRepository(session, brand_id).get_or_404(influencer_id)
    return await SocialAccountRepository(session, brand_id).get_of_influencer_or_404(
        influencer_id, account_id
    )


async def owner_of_handle(
    session: AsyncSession, brand_id: uuid.UUID, platform: str, handle: str
) -> uuid.UUID | None:
    stmt = select(SocialAccount.influencer_id).where(
        SocialAccount.brand_id == brand_id,
        SocialAccount.platform == platform,
        SocialAccount.handle == handle,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


# ------------------------------------------------------------------------ util
def _only(values: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in allowed}


def _conflict(
    exc: IntegrityError,
    email: str | None,
    loc: list[str | int],
    account_keys: list[tuple[str, str]],
    *,
    single_account: bool = False,
) -> Exception:
    """Turn a unique violation into the 409 that names the field; anything else re-raises."""
    name = constraint_name(exc)
    if name == EMAIL_CONSTRAINT:
        return email_taken(email or "", [*loc, "email"])
    if name == HANDLE_CONSTRAINT:
        key = taken_key(exc) or ("", "")
        if single_account:
            return handle_taken(key[0], key[1], [*loc, "handle"])
        index = account_keys.index(key) if key in account_keys else 0
        return handle_taken(key[0], key[1], [*loc, "accounts", index, "handle"])
    return exc
