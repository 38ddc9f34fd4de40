"""Orders received from stores, and why each was (or was not) credited to an influencer.

Orders are written only by the worker from store webhooks (and `vouch orders reconcile`);
the API reads them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.deps import PageDep, Reader, SessionDep
from services.api.errors import problem_responses
from services.api.orders import schemas
from services.api.schemas import PageOut, page_out
from shared.db.pagination import paginate
from shared.errors import InvalidInput
from shared.models import AttributionDecision, Order
from shared.models.orders import OrderStatus
from shared.orders.repository import OrderNotFound, OrderRepository

router = APIRouter(prefix="/v1", tags=["orders"], responses=problem_responses(401, 403, 422))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/orders", response_model=PageOut[schemas.Order], summary="List orders")
async def list_orders(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    campaign_id: uuid.UUID | None = None,
    collaboration_id: uuid.UUID | None = None,
    influencer_id: uuid.UUID | None = None,
    integration_id: uuid.UUID | None = None,
    status: OrderStatus | None = None,
    attributed: Annotated[
        bool | None, Query(description="true: credited to someone; false: to nobody.")
    ] = None,
    placed_from: Annotated[
        datetime | None, Query(description="Placed at or after (ISO 8601; UTC if no offset).")
    ] = None,
    placed_to: Annotated[datetime | None, Query(description="Placed before.")] = None,
) -> dict[str, Any]:
    """Newest first (by the time the order was placed)."""
    placed_from, placed_to = _aware(placed_from), _aware(placed_to)
    if placed_from and placed_to and placed_to <= placed_from:
        raise InvalidInput(["query", "placed_to"], "placed_to must be after placed_from.")
    stmt = OrderRepository(session, principal.brand_id).filtered(
        campaign_id=campaign_id,
        collaboration_id=collaboration_id,
        influencer_id=influencer_id,
        integration_id=integration_id,
        status=status.value if status else None,
        placed_from=placed_from,
        placed_to=placed_to,
        attributed=attributed,
    )
    result = await paginate(
        session,
        stmt,
        keys=[Order.placed_at, Order.id],
        limit=page.limit,
        cursor=page.cursor,
        descending=True,
    )
    return page_out(result)


@router.get(
    "/orders/{order_id}",
    response_model=schemas.OrderDetail,
    summary="Get an order, its refunds and the commission it earns",
    responses=problem_responses(404),
)
async def get_order(
    order_id: uuid.UUID, principal: Reader, session: SessionDep
) -> schemas.OrderDetail:
    repo = OrderRepository(session, principal.brand_id)
    order = await repo.get_or_404(order_id)
    refunds = await repo.refunds(order.id)
    totals = await repo.commission_totals([order.id])
    return schemas.OrderDetail(
        **schemas.Order.model_validate(order).model_dump(),
        refunds=[schemas.Refund.model_validate(r) for r in refunds],
        commission_minor=totals.get(order.id, 0),
    )


@router.get(
    "/orders/{order_id}/attribution",
    response_model=schemas.Attribution,
    summary="Why the order was credited (or not): the stored attribution decision",
    responses=problem_responses(404),
)
async def get_attribution(
    order_id: uuid.UUID, principal: Reader, session: SessionDep
) -> AttributionDecision:
    """Every candidate the order's evidence pointed at (promo codes, its click id, the same
    shopper's recent clicks), the rule that fired, and why each other candidate lost."""
    repo = OrderRepository(session, principal.brand_id)
    decision = await repo.decision(order_id)
    if decision is None:
        raise OrderNotFound(detail=f"No order with id {order_id}.")
    return decision
