from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, ConfigDict, Field

from services.api.brands.schemas import Currency
from services.api.schemas import RequestModel, ResponseModel
from shared.models.payouts import PayoutStatus

_INFLUENCER = "0193a5c4-8b2f-7d4f-8e62-3a1c9f7b5d22"


class Balance(ResponseModel):
    influencer_id: uuid.UUID
    currency: str = Field(examples=["EUR"])
    commission_minor: int = Field(
        description="Approved, unpaid ledger entries: earned minus reversals and clawbacks."
    )
    flat_fee_minor: int = Field(description="Contracted flat fees marked due, not yet paid.")
    balance_minor: int = Field(description="What a payout would pay; <= 0 carries forward.")
    entry_count: int
    flat_fee_count: int


class Payable(ResponseModel):
    items: list[Balance]


class PayoutCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{}, {"currency": "EUR", "min_minor": 5000}]}
    )

    currency: Currency | None = Field(None, description="Only balances in this currency.")
    min_minor: int | None = Field(
        None, ge=1, le=10**15, description="Skip balances below this amount (they wait)."
    )
    influencer_ids: list[uuid.UUID] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="Only these influencers.",
        examples=[[_INFLUENCER]],
    )


class Payout(ResponseModel):
    id: uuid.UUID
    influencer_id: uuid.UUID
    currency: str
    amount_minor: int = Field(description="Always > 0: commission_minor + flat_fee_minor.")
    commission_minor: int = Field(description="Signed sum of its ledger entries.")
    flat_fee_minor: int
    item_count: int
    status: PayoutStatus
    external_reference: str | None
    processing_at: datetime | None
    paid_at: datetime | None
    failed_at: datetime | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class PayoutRun(ResponseModel):
    payouts: list[Payout]
    carried_forward: list[Balance] = Field(
        description="Zero or negative balances (clawbacks larger than earnings): no payout, "
        "they net against later earnings."
    )
    below_minimum: list[Balance]


class PayoutItem(ResponseModel):
    id: uuid.UUID
    kind: str = Field(description="commission (a ledger entry) or flat_fee.")
    entry_id: uuid.UUID | None
    entry_kind: str | None = Field(description="earned, reversal, clawback or adjustment.")
    entry_status: str | None
    order_id: uuid.UUID | None
    collaboration_id: uuid.UUID | None
    amount_minor: int = Field(description="Signed, as in the ledger.")
    released_at: datetime | None = Field(description="Set when the payout failed.")


class PayoutDetail(Payout):
    items: list[PayoutItem]


class MarkProcessing(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"external_reference": "tr_8812"}]})

    external_reference: str | None = Field(None, min_length=1, max_length=200)


class MarkPaid(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"external_reference": "tr_8812", "paid_at": "2026-11-30T09:00:00Z"}]
        }
    )

    external_reference: str | None = Field(
        None, min_length=1, max_length=200, description="The provider's transfer id."
    )
    paid_at: AwareDatetime | None = Field(None, description="Default: now.")


class MarkFailed(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "IBAN rejected"}]})

    reason: str = Field(min_length=1, max_length=1000)


class FlatFeeDue(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    due_at: AwareDatetime | None = Field(None, description="Default: now.")


class CollaborationFlatFee(ResponseModel):
    id: uuid.UUID
    influencer_id: uuid.UUID
    currency: str
    flat_fee_minor: int | None
    flat_fee_due_at: datetime | None
