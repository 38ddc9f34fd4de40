"""The commission ledger: append-only entries in signed minor units.

Entries are never edited: a refund, a cancellation or a correction is a new row. Only
`status` (and `status_changed_at`, `payout_id`) may change after insert, and a trigger in the
migration refuses any other UPDATE. For every order, the sum of its entries' amounts equals
the commission due on its net (non-refunded) amount; `vouch ledger check` verifies it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, BrandOwned, UUIDPk
from shared.models.enums import check_in


class EntryKind(StrEnum):
    EARNED = "earned"  # the order's commission, once per order (>= 0)
    REVERSAL = "reversal"  # refund or cancellation before the earned money was paid (<= 0)
    CLAWBACK = "clawback"  # refund after it was paid: carried into the next payout (<= 0)
    ADJUSTMENT = "adjustment"  # manual (with a reason), or an order edited upwards


class EntryStatus(StrEnum):
    PENDING = "pending"  # inside the campaign's hold period
    APPROVED = "approved"  # payable: the next payout takes it
    PAID = "paid"  # in a completed payout
    REVERSED = "reversed"  # cancelled out before being paid (the order went to zero)


class CommissionEntry(UUIDPk, BrandOwned, Base):
    __tablename__ = "commission_entries"
    __table_args__ = (
        CheckConstraint(check_in("kind", EntryKind), name="kind"),
        CheckConstraint(check_in("status", EntryStatus), name="status"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "(kind = 'earned' AND amount_minor >= 0) "
            "OR (kind IN ('reversal', 'clawback') AND amount_minor <= 0) "
            "OR kind = 'adjustment'",
            name="amount_sign",
        ),
        # Only manual adjustments stand outside an order; they must say why.
        CheckConstraint("order_id IS NOT NULL OR kind = 'adjustment'", name="order_required"),
        CheckConstraint("order_id IS NOT NULL OR reason IS NOT NULL", name="manual_has_reason"),
        CheckConstraint("(order_id IS NULL) = (cause IS NULL)", name="order_has_cause"),
        # A second earned entry for one order is impossible, however often it is delivered.
        Index(
            "uq_commission_entries_earned",
            "order_id",
            unique=True,
            postgresql_where=text("kind = 'earned'"),
        ),
        # One entry per refund of an order (refund_id first: it also serves the foreign key).
        Index(
            "uq_commission_entries_refund",
            "refund_id",
            "order_id",
            unique=True,
            postgresql_where=text("refund_id IS NOT NULL"),
        ),
        # Every automatic entry names its cause ("earned", "refund:<id>", "cancellation:<ts>",
        # "update:<ts>"): the same cause never books twice.
        Index(
            "uq_commission_entries_cause",
            "order_id",
            "cause",
            unique=True,
            postgresql_where=text("order_id IS NOT NULL"),
        ),
        Index(
            "uq_commission_entries_idempotency",
            "brand_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_commission_entries_brand_created", "brand_id", "created_at", "id"),
        Index("ix_commission_entries_influencer", "influencer_id", "status", "created_at"),
        Index("ix_commission_entries_campaign", "campaign_id", "created_at"),
        Index("ix_commission_entries_collaboration", "collaboration_id"),
        Index(
            "ix_commission_entries_related",
            "related_entry_id",
            postgresql_where=text("related_entry_id IS NOT NULL"),
        ),
        # The approval cron's scan.
        Index(
            "ix_commission_entries_pending",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    # Indexed by ix_commission_entries_brand_created (leading column).
    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=EntryStatus.PENDING.value)
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # signed
    currency: Mapped[str] = mapped_column(String(3))
    # Indexed by uq_commission_entries_cause (order_id, cause).
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    # Who earns it; campaign and influencer copied from the collaboration for the filters.
    collaboration_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collaborations.id"))
    campaign_id: Mapped[uuid.UUID]
    influencer_id: Mapped[uuid.UUID]
    refund_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("order_refunds.id"))
    cause: Mapped[str | None] = mapped_column(Text)
    # The entry this one corrects (manual adjustments may name one).
    related_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commission_entries.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    actor_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    payout_id: Mapped[uuid.UUID | None]  # set by the payouts issue
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    status_changed_at: Mapped[datetime | None]
