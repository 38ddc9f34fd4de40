"""Payouts: batches of approved ledger entries (and due flat fees) for one influencer and
currency, and the idempotency keys that make `POST /v1/payouts` safe to retry.

Whatever is in a payout is recorded as a `payout_items` row. An item is *live* until its
payout fails (`released_at` set): partial unique indexes allow a commission entry, and a
collaboration's flat fee, in at most one live item, so nothing can be paid twice whatever
the requests race. `commission_entries.payout_id` points at the payout holding the entry
(NULL: payable again) and is what the claim locks on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, Timestamps, UUIDPk
from shared.models.commissions import CommissionEntry
from shared.models.enums import check_in


class PayoutStatus(StrEnum):
    PENDING = "pending"  # created; its entries are held
    PROCESSING = "processing"  # handed to the payment provider
    PAID = "paid"  # money sent: entries paid
    FAILED = "failed"  # entries returned to payable


class PayoutItemKind(StrEnum):
    COMMISSION = "commission"  # a commission_entries row (signed: clawbacks are negative)
    FLAT_FEE = "flat_fee"  # a collaboration's contracted flat fee, marked due


class Payout(UUIDPk, BrandOwned, Timestamps, Base):
    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint(check_in("status", PayoutStatus), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        # A payout is never negative (a negative balance carries forward) nor empty.
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("amount_minor = commission_minor + flat_fee_minor", name="amount_sum"),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid_has_time"),
        CheckConstraint(
            "(status = 'failed') = (failure_reason IS NOT NULL)", name="failed_has_reason"
        ),
        # Deterministic per request and group: "<Idempotency-Key>:<influencer>:<currency>".
        UniqueConstraint("brand_id", "idempotency_key", name="uq_payouts_idempotency"),
        Index("ix_payouts_brand_created", "brand_id", "created_at", "id"),
        Index("ix_payouts_brand_status", "brand_id", "status", "created_at", "id"),
    )

    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    commission_minor: Mapped[int] = mapped_column(BigInteger)  # signed sum of its entries
    flat_fee_minor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    item_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default=PayoutStatus.PENDING.value)
    idempotency_key: Mapped[str] = mapped_column(Text)
    external_reference: Mapped[str | None] = mapped_column(Text)  # the provider's transfer id
    processing_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )


class PayoutItem(UUIDPk, BrandOwned, Base):
    __tablename__ = "payout_items"
    __table_args__ = (
        CheckConstraint(check_in("kind", PayoutItemKind), name="kind"),
        CheckConstraint(
            "(kind = 'commission' AND entry_id IS NOT NULL AND collaboration_id IS NULL) "
            "OR (kind = 'flat_fee' AND collaboration_id IS NOT NULL AND entry_id IS NULL "
            "AND amount_minor > 0)",
            name="kind_reference",
        ),
        Index(
            "uq_payout_items_live_entry",
            "entry_id",
            unique=True,
            postgresql_where=text("released_at IS NULL AND entry_id IS NOT NULL"),
        ),
        Index(
            "uq_payout_items_live_flat_fee",
            "collaboration_id",
            unique=True,
            postgresql_where=text("released_at IS NULL AND kind = 'flat_fee'"),
        ),
        Index("ix_payout_items_payout", "payout_id", "id"),
    )

    payout_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payouts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commission_entries.id"))
    collaboration_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("collaborations.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed, as in the ledger
    released_at: Mapped[datetime | None]  # the payout failed: payable again
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class IdempotencyKey(UUIDPk, BrandOwned, Base):
    """A request made with an `Idempotency-Key`: its fingerprint and its first response.

    The row is inserted at the start of the request's transaction and completed in it, so it
    is only ever visible complete; a concurrent request with the same key waits on the
    unique index until the first commits (then replays it) or rolls back (then runs itself).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("brand_id", "scope", "key", name="uq_idempotency_keys_key"),
        Index("ix_idempotency_keys_expires", "expires_at"),
    )

    scope: Mapped[str] = mapped_column(Text)  # "POST /v1/payouts"
    key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)  # SHA-256 of the canonical parameters
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[datetime]


# Which payout holds an entry (the payout detail and `vouch payouts check` read by it). The
# column belongs to the ledger's table; the index is the payouts issue's.
Index(
    "ix_commission_entries_payout",
    CommissionEntry.payout_id,
    postgresql_where=CommissionEntry.payout_id.is_not(None),
)
