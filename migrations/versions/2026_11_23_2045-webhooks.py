"""webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:38:50.735225+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("shop_domain", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("signing_secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
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
            "currency IS NULL OR currency ~ '^[A-Z]{3}$'", name=op.f("ck_integrations_currency_iso")
        ),
        sa.CheckConstraint(
            "kind IN ('shopify', 'woocommerce', 'custom', 'engagement')",
            name=op.f("ck_integrations_kind"),
        ),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_integrations_status")),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_integrations_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
    )
    op.create_index(op.f("ix_integrations_brand_id"), "integrations", ["brand_id"], unique=False)
    op.create_table(
        "webhook_events",
        sa.Column("integration_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'handled', 'failed', 'dead', 'ignored')",
            name=op.f("ck_webhook_events_status"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_webhook_events_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_webhook_events_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("integration_id", "external_id", name="uq_webhook_events_external"),
    )
    op.create_index(
        op.f("ix_webhook_events_brand_id"), "webhook_events", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_webhook_events_brand_status",
        "webhook_events",
        ["brand_id", "status", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_events_unhandled",
        "webhook_events",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'failed')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_events_unhandled",
        table_name="webhook_events",
        postgresql_where=sa.text("status IN ('pending', 'failed')"),
    )
    op.drop_index("ix_webhook_events_brand_status", table_name="webhook_events")
    op.drop_index(op.f("ix_webhook_events_brand_id"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_index(op.f("ix_integrations_brand_id"), table_name="integrations")
    op.drop_table("integrations")
