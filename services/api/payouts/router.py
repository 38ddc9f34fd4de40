"""Payouts: payable balances, idempotent creation, the lifecycle, CSV export; and marking a
collaboration's flat fee due (what makes it payable)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import StreamingResponse

from services.api.deps import PageDep, Reader, SessionDep, StateDep, Writer
from services.api.errors import problem_responses
from services.api.payouts import schemas
from services.api.schemas import PageOut, page_out
from shared.db.pagination import paginate
from shared.models import Collaboration, Payout
from shared.models.payouts import PayoutStatus
from shared.payouts import export, idempotency, service
from shared.payouts.repository import PayoutRepository

router = APIRouter(prefix="/v1", tags=["payouts"], responses=problem_responses(401, 403, 422))

CREATE_SCOPE = "POST /v1/payouts"
StatusQuery = Annotated[PayoutStatus | None, Query(alias="status")]
CurrencyQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])]


@router.get(
    "/payouts/payable",
    response_model=schemas.Payable,
    summary="Approved, unpaid balances per influencer and currency",
    description="Approved ledger entries no payout holds (earned minus reversals and carried "
    "clawbacks) plus flat fees marked due. With `min_minor`, only balances at least that "
    "large; without it, zero and negative (carried) balances are listed too.",
)
async def payable(
    principal: Reader,
    session: SessionDep,
    currency: CurrencyQuery = None,
    min_minor: Annotated[int | None, Query(ge=0)] = None,
    influencer_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    balances = await service.payable_balances(
        session,
        principal.brand_id,
        currency=currency.upper() if currency else None,
        influencer_ids=[influencer_id] if influencer_id else None,
    )
    if min_minor is not None:
        balances = [b for b in balances if b.balance_minor >= max(min_minor, 1)]
    return {"items": balances}


@router.post(
    "/payouts",
    response_model=schemas.PayoutRun,
    status_code=status.HTTP_201_CREATED,
    summary="Create payouts from the payable balances (Idempotency-Key required)",
    description="One payout per influencer and currency with a positive balance. The "
    "`Idempotency-Key` header is required: a retry with the same key and parameters returns "
    "the first response (header `Idempotent-Replayed: true`) and creates nothing; the same key "
    "with other parameters is a 409. Keys are kept 24 hours.",
    responses=problem_responses(400, 409, 413),
)
async def create_payouts(
    principal: Writer,
    session: SessionDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A unique value per logical request, e.g. a UUID.",
            examples=["5f0c1f6e-4a53-4f3e-9a8e-0b6f2a1d7c44"],
        ),
    ] = None,
    body: schemas.PayoutCreate | None = None,
) -> Response:
    key = idempotency.check_key(idempotency_key)
    params = (body or schemas.PayoutCreate()).model_dump(mode="json")
    if params["currency"]:
        params["currency"] = params["currency"].upper()
    claim = await idempotency.begin(
        session,
        principal.brand_id,
        scope=CREATE_SCOPE,
        key=key,
        fingerprint=idempotency.fingerprint(params),
    )
    if isinstance(claim, idempotency.Replay):
        return Response(
            orjson.dumps(claim.body),
            status_code=claim.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    run = await service.create_payouts(
        session,
        principal.brand_id,
        request_key=key,
        currency=params["currency"],
        min_minor=params["min_minor"],
        influencer_ids=[uuid.UUID(i) for i in params["influencer_ids"] or []] or None,
        actor_key_id=principal.key_id,
    )
    out = schemas.PayoutRun.model_validate(run).model_dump(mode="json")
    await idempotency.complete(session, claim, status.HTTP_201_CREATED, out)
    return Response(
        orjson.dumps(out), status_code=status.HTTP_201_CREATED, media_type="application/json"
    )


@router.get(
    "/payouts",
    response_model=PageOut[schemas.Payout],
    summary="List payouts (oldest first)",
)
async def list_payouts(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status_: StatusQuery = None,
    influencer_id: uuid.UUID | None = None,
    currency: CurrencyQuery = None,
) -> dict[str, Any]:
    repo = PayoutRepository(session, principal.brand_id)
    stmt = repo.filtered(
        status=status_.value if status_ else None,
        influencer_id=influencer_id,
        currency=currency.upper() if currency else None,
    )
    result = await paginate(
        session, stmt, keys=[Payout.created_at, Payout.id], limit=page.limit, cursor=page.cursor
    )
    return page_out(result)


@router.get(
    "/payouts/export",
    summary="Payouts as CSV for finance (one row per payout)",
    description="Columns: " + ", ".join(export.COLUMNS) + ". `amount` is the decimal amount "
    "in the currency's exponent. Streams from one consistent snapshot.",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_payouts(
    principal: Reader,
    state: StateDep,
    status_: StatusQuery = None,
    currency: CurrencyQuery = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> StreamingResponse:
    brand_id = principal.brand_id

    async def body() -> AsyncIterator[bytes]:
        # Its own session: the request's unit of work has committed before the body streams.
        async with state.sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            stmt = PayoutRepository(session, brand_id).filtered(
                status=status_.value if status_ else None,
                currency=currency.upper() if currency else None,
                created_from=created_from,
                created_to=created_to,
            )
            async for chunk in export.export_chunks(session, stmt):
                yield chunk.encode()
            await session.rollback()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payouts.csv"'},
    )


@router.get(
    "/payouts/{payout_id}",
    response_model=schemas.PayoutDetail,
    summary="Get a payout with its items (ledger entries and flat fees)",
    responses=problem_responses(404),
)
async def get_payout(
    payout_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.PayoutDetail:
    repo = PayoutRepository(session, principal.brand_id)
    payout = await repo.get_or_404(payout_id)
    items = await repo.items(payout_id)
    return schemas.PayoutDetail(
        **schemas.Payout.model_validate(payout).model_dump(),
        items=[schemas.PayoutItem.model_validate(i) for i in items],
    )


@router.post(
    "/payouts/{payout_id}/mark-processing",
    response_model=schemas.Payout,
    summary="pending -> processing (handed to the payment provider)",
    responses=problem_responses(400, 404, 409, 413),
)
async def mark_processing(
    payout_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: schemas.MarkProcessing | None = None,
) -> Payout:
    return await service.mark_processing(
        session,
        principal.brand_id,
        payout_id,
        external_reference=body.external_reference if body else None,
    )


@router.post(
    "/payouts/{payout_id}/mark-paid",
    response_model=schemas.Payout,
    summary="processing -> paid (its entries become paid)",
    responses=problem_responses(400, 404, 409, 413),
)
async def mark_paid(
    payout_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: schemas.MarkPaid | None = None,
) -> Payout:
    return await service.mark_paid(
        session,
        principal.brand_id,
        payout_id,
        external_reference=body.external_reference if body else None,
        paid_at=body.paid_at if body else None,
    )


@router.post(
    "/payouts/{payout_id}/mark-failed",
    response_model=schemas.Payout,
    summary="pending | processing -> failed (its entries and fees become payable again)",
    responses=problem_responses(400, 404, 409, 413),
)
async def mark_failed(
    payout_id: uuid.UUID, body: schemas.MarkFailed, principal: Writer, session: SessionDep
) -> Payout:
    return await service.mark_failed(session, principal.brand_id, payout_id, reason=body.reason)


@router.post(
    "/collaborations/{collaboration_id}/flat-fee-due",
    response_model=schemas.CollaborationFlatFee,
    summary="Mark a contracted flat fee due: the next payout includes it",
    responses=problem_responses(400, 404, 409, 413),
)
async def mark_flat_fee_due(
    collaboration_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: schemas.FlatFeeDue | None = None,
) -> Collaboration:
    return await service.mark_flat_fee_due(
        session, principal.brand_id, collaboration_id, due_at=body.due_at if body else None
    )
