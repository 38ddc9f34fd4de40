"""links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:23:58.150703+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Monthly partitions of `clicks`, named clicks_yYYYYmMM, bounds in UTC. Idempotent, and safe
# when several workers run it at once (transaction-level advisory lock). Returns how many
# partitions it created.
CREATE_PARTITIONS_FUNCTION = """
CREATE OR REPLACE FUNCTION vouch_create_click_partitions(first_month date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', first_month)::date;
    part text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('vouch_create_click_partitions'));
    FOR i IN 1..months LOOP
        part := format('clicks_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(format('%I.%I', current_schema(), part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF clicks FOR VALUES FROM (%L) TO (%L)',
                part,
                to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00',
                to_char((m + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00'
            );
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "clicks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("click_id", sa.Text(), nullable=False),
        sa.Column("visitor_hash", sa.LargeBinary(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("referrer_domain", sa.Text(), nullable=True),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("is_unique", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "device IN ('mobile', 'desktop', 'tablet', 'bot')", name=op.f("ck_clicks_device")
        ),
        sa.PrimaryKeyConstraint("id", "clicked_at", name="pk_clicks"),
        sa.UniqueConstraint("click_id", "clicked_at", name="uq_clicks_click_id"),
        postgresql_partition_by="RANGE (clicked_at)",
    )
    op.create_index("ix_clicks_link_time", "clicks", ["link_id", "clicked_at"], unique=False)
    op.execute(CREATE_PARTITIONS_FUNCTION)
    # This month and the next two; the worker's cron keeps creating them ahead.
    op.execute("SELECT vouch_create_click_partitions((now() AT TIME ZONE 'UTC')::date, 3)")
    op.create_table(
        "promo_codes",
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("generic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
            "length(code) BETWEEN 2 AND 64", name=op.f("ck_promo_codes_code_length")
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_promo_codes_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_promo_codes_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
    )
    op.create_index(op.f("ix_promo_codes_brand_id"), "promo_codes", ["brand_id"], unique=False)
    op.create_index(
        op.f("ix_promo_codes_collaboration_id"), "promo_codes", ["collaboration_id"], unique=False
    )
    op.create_index(
        "uq_promo_codes_brand_code",
        "promo_codes",
        ["brand_id", sa.literal_column("lower(code)")],
        unique=True,
    )
    op.create_table(
        "tracking_links",
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("destination_url", sa.Text(), nullable=False),
        sa.Column(
            "utm",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "destination_utm_wins", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("click_cap", sa.BigInteger(), nullable=True),
        sa.Column("fallback_url", sa.Text(), nullable=True),
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
            "code ~ '^[A-Za-z0-9_-]{3,64}$'", name=op.f("ck_tracking_links_code_urlsafe")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disabled')", name=op.f("ck_tracking_links_status")
        ),
        sa.CheckConstraint(
            "click_cap IS NULL OR click_cap > 0", name=op.f("ck_tracking_links_click_cap_positive")
        ),
        sa.CheckConstraint(
            "click_cap IS NULL OR fallback_url IS NOT NULL",
            name=op.f("ck_tracking_links_cap_needs_fallback"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_tracking_links_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_tracking_links_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_links")),
        sa.UniqueConstraint("code", name="uq_tracking_links_code"),
    )
    op.create_index(
        "ix_tracking_links_brand_created",
        "tracking_links",
        ["brand_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tracking_links_brand_id"), "tracking_links", ["brand_id"], unique=False
    )
    op.create_index(
        op.f("ix_tracking_links_collaboration_id"),
        "tracking_links",
        ["collaboration_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tracking_links_collaboration_id"), table_name="tracking_links")
    op.drop_index(op.f("ix_tracking_links_brand_id"), table_name="tracking_links")
    op.drop_index("ix_tracking_links_brand_created", table_name="tracking_links")
    op.drop_table("tracking_links")
    op.drop_index("uq_promo_codes_brand_code", table_name="promo_codes")
    op.drop_index(op.f("ix_promo_codes_collaboration_id"), table_name="promo_codes")
    op.drop_index(op.f("ix_promo_codes_brand_id"), table_name="promo_codes")
    op.drop_table("promo_codes")
    op.execute("DROP FUNCTION IF EXISTS vouch_create_click_partitions(date, integer)")
    op.drop_index("ix_clicks_link_time", table_name="clicks")
    op.drop_table("clicks")  # its monthly partitions go with it
