"""payouts: payouts, their items (entries and flat fees), idempotency keys

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-23 20:52:13.295770+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_idempotency_keys_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("brand_id", "scope", "key", name="uq_idempotency_keys_key"),
    )
    op.create_index(
        op.f("ix_idempotency_keys_brand_id"), "idempotency_keys", ["brand_id"], unique=False
    )
    op.create_index("ix_idempotency_keys_expires", "idempotency_keys", ["expires_at"], unique=False)
    op.create_table(
        "payouts",
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_minor", sa.BigInteger(), nullable=False),
        sa.Column("flat_fee_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("external_reference", sa.Text(), nullable=True),
        sa.Column("processing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_key_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'failed') = (failure_reason IS NOT NULL)",
            name=op.f("ck_payouts_failed_has_reason"),
        ),
        sa.CheckConstraint(
            "(status = 'paid') = (paid_at IS NOT NULL)", name=op.f("ck_payouts_paid_has_time")
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payouts_currency_iso")),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'paid', 'failed')", name=op.f("ck_payouts_status")
        ),
        sa.CheckConstraint(
            "amount_minor = commission_minor + flat_fee_minor", name=op.f("ck_payouts_amount_sum")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_payouts_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_key_id"],
            ["api_keys.id"],
            name=op.f("fk_payouts_created_by_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"], ["influencers.id"], name=op.f("fk_payouts_influencer_id_influencers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("brand_id", "idempotency_key", name="uq_payouts_idempotency"),
    )
    op.create_index(
        "ix_payouts_brand_created", "payouts", ["brand_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_payouts_brand_id"), "payouts", ["brand_id"], unique=False)
    op.create_index(
        "ix_payouts_brand_status",
        "payouts",
        ["brand_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_payouts_influencer_id"), "payouts", ["influencer_id"], unique=False)
    op.create_table(
        "payout_items",
        sa.Column("payout_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.UUID(), nullable=True),
        sa.Column("collaboration_id", sa.UUID(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'commission' AND entry_id IS NOT NULL AND collaboration_id IS NULL) OR (kind = 'flat_fee' AND collaboration_id IS NOT NULL AND entry_id IS NULL AND amount_minor > 0)",
            name=op.f("ck_payout_items_kind_reference"),
        ),
        sa.CheckConstraint("kind IN ('commission', 'flat_fee')", name=op.f("ck_payout_items_kind")),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_payout_items_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_payout_items_collaboration_id_collaborations"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["commission_entries.id"],
            name=op.f("fk_payout_items_entry_id_commission_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["payouts.id"],
            name=op.f("fk_payout_items_payout_id_payouts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_items")),
    )
    op.create_index(op.f("ix_payout_items_brand_id"), "payout_items", ["brand_id"], unique=False)
    op.create_index("ix_payout_items_payout", "payout_items", ["payout_id", "id"], unique=False)
    op.create_index(
        "uq_payout_items_live_entry",
        "payout_items",
        ["entry_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL AND entry_id IS NOT NULL"),
    )
    op.create_index(
        "uq_payout_items_live_flat_fee",
        "payout_items",
        ["collaboration_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL AND kind = 'flat_fee'"),
    )
    op.create_index(
        "ix_commission_entries_payout",
        "commission_entries",
        ["payout_id"],
        unique=False,
        postgresql_where=sa.text("payout_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_commission_entries_payout",
        table_name="commission_entries",
        postgresql_where=sa.text("payout_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_payout_items_live_flat_fee",
        table_name="payout_items",
        postgresql_where=sa.text("released_at IS NULL AND kind = 'flat_fee'"),
    )
    op.drop_index(
        "uq_payout_items_live_entry",
        table_name="payout_items",
        postgresql_where=sa.text("released_at IS NULL AND entry_id IS NOT NULL"),
    )
    op.drop_index("ix_payout_items_payout", table_name="payout_items")
    op.drop_index(op.f("ix_payout_items_brand_id"), table_name="payout_items")
    op.drop_table("payout_items")
    op.drop_index(op.f("ix_payouts_influencer_id"), table_name="payouts")
    op.drop_index("ix_payouts_brand_status", table_name="payouts")
    op.drop_index(op.f("ix_payouts_brand_id"), table_name="payouts")
    op.drop_index("ix_payouts_brand_created", table_name="payouts")
    op.drop_table("payouts")
    op.drop_index("ix_idempotency_keys_expires", table_name="idempotency_keys")
    op.drop_index(op.f("ix_idempotency_keys_brand_id"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
