"""workspace: influencers, campaigns, collaborations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:22:58.285578+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram indexes for the roster's text search (influencer name, account handle).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "campaigns",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("brief", sa.Text(), nullable=True),
        sa.Column(
            "assets",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("budget_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "target_audience",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("attribution_window_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column("commission_hold_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column("attribution_policy", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_campaigns_currency_iso")),
        sa.CheckConstraint(
            "goal IN ('awareness', 'consideration', 'engagement', 'traffic', 'sales', 'content')",
            name=op.f("ck_campaigns_goal"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'completed', 'cancelled')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.CheckConstraint(
            "attribution_window_days BETWEEN 1 AND 365", name=op.f("ck_campaigns_window_range")
        ),
        sa.CheckConstraint(
            "budget_minor IS NULL OR budget_minor >= 0",
            name=op.f("ck_campaigns_budget_nonnegative"),
        ),
        sa.CheckConstraint(
            "commission_hold_days BETWEEN 0 AND 365", name=op.f("ck_campaigns_hold_range")
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_campaigns_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_campaigns_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("brand_id", "slug", name="uq_campaigns_brand_slug"),
    )
    op.create_index(
        "ix_campaigns_brand_created", "campaigns", ["brand_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_campaigns_brand_id"), "campaigns", ["brand_id"], unique=False)
    op.create_table(
        "influencers",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column(
            "languages", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "niches", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column(
            "rate_card",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("rate_currency", sa.String(length=3), nullable=True),
        sa.Column("max_followers", sa.BigInteger(), server_default="0", nullable=False),
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
            "country IS NULL OR country ~ '^[A-Z]{2}$'", name=op.f("ck_influencers_country_iso")
        ),
        sa.CheckConstraint(
            "rate_currency IS NULL OR rate_currency ~ '^[A-Z]{3}$'",
            name=op.f("ck_influencers_rate_currency_iso"),
        ),
        sa.CheckConstraint("status IN ('active', 'archived')", name=op.f("ck_influencers_status")),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_influencers_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencers")),
    )
    op.create_index(
        "ix_influencers_brand_created",
        "influencers",
        ["brand_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_influencers_brand_id"), "influencers", ["brand_id"], unique=False)
    op.create_index(
        "ix_influencers_brand_max_followers",
        "influencers",
        ["brand_id", "max_followers", "id"],
        unique=False,
    )
    op.create_index(
        "ix_influencers_name_trgm",
        "influencers",
        ["name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "uq_influencers_brand_email",
        "influencers",
        ["brand_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_table(
        "outbox_events",
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_outbox_events_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("brand_id", "dedupe_key", name="uq_outbox_events_dedupe"),
    )
    op.create_index(op.f("ix_outbox_events_brand_id"), "outbox_events", ["brand_id"], unique=False)
    op.create_index(
        "ix_outbox_events_undispatched",
        "outbox_events",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_table(
        "campaign_hashtags",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "tag ~ '^[a-z0-9_]+$'", name=op.f("ck_campaign_hashtags_tag_normalised")
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_campaign_hashtags_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_hashtags_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_hashtags")),
        sa.UniqueConstraint("brand_id", "tag", name="uq_campaign_hashtags_brand_tag"),
    )
    op.create_index(
        op.f("ix_campaign_hashtags_brand_id"), "campaign_hashtags", ["brand_id"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_hashtags_campaign_id"), "campaign_hashtags", ["campaign_id"], unique=False
    )
    op.create_table(
        "collaborations",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default="prospect", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("flat_fee_minor", sa.BigInteger(), nullable=True),
        sa.Column("gifted_value_minor", sa.BigInteger(), nullable=True),
        sa.Column("gifted_product", sa.Text(), nullable=True),
        sa.Column("commission_bps", sa.Integer(), nullable=True),
        sa.Column("commission_fixed_minor", sa.BigInteger(), nullable=True),
        sa.Column("flat_fee_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outreach_notes", sa.Text(), nullable=True),
        sa.Column(
            "feedback",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_collaborations_currency_iso")),
        sa.CheckConstraint(
            "status IN ('prospect', 'contacted', 'negotiating', 'contracted', 'active', 'completed', 'declined', 'cancelled')",
            name=op.f("ck_collaborations_status"),
        ),
        sa.CheckConstraint(
            "coalesce(flat_fee_minor, 0) >= 0 AND coalesce(gifted_value_minor, 0) >= 0 AND coalesce(commission_fixed_minor, 0) >= 0",
            name=op.f("ck_collaborations_money_nonnegative"),
        ),
        sa.CheckConstraint(
            "commission_bps IS NULL OR commission_bps BETWEEN 0 AND 10000",
            name=op.f("ck_collaborations_commission_bps_range"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_collaborations_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_collaborations_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_collaborations_influencer_id_influencers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collaborations")),
        sa.UniqueConstraint("campaign_id", "influencer_id", name="uq_collaborations_pair"),
    )
    op.create_index(
        "ix_collaborations_brand_created",
        "collaborations",
        ["brand_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collaborations_brand_id"), "collaborations", ["brand_id"], unique=False
    )
    op.create_index(
        op.f("ix_collaborations_campaign_id"), "collaborations", ["campaign_id"], unique=False
    )
    op.create_index(
        op.f("ix_collaborations_influencer_id"), "collaborations", ["influencer_id"], unique=False
    )
    op.create_table(
        "kpi_targets",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
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
            "metric IN ('reach', 'impressions', 'engagements', 'engagement_rate', 'clicks', 'unique_clicks', 'orders', 'revenue', 'conversion_rate', 'new_followers', 'cpa', 'roas')",
            name=op.f("ck_kpi_targets_metric"),
        ),
        sa.CheckConstraint("target_value > 0", name=op.f("ck_kpi_targets_target_positive")),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_kpi_targets_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_kpi_targets_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
        sa.UniqueConstraint("campaign_id", "metric", "deadline", name="uq_kpi_targets_metric"),
    )
    op.create_index(op.f("ix_kpi_targets_brand_id"), "kpi_targets", ["brand_id"], unique=False)
    op.create_index(
        op.f("ix_kpi_targets_campaign_id"), "kpi_targets", ["campaign_id"], unique=False
    )
    op.create_table(
        "social_accounts",
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("profile_url", sa.Text(), nullable=True),
        sa.Column("followers", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "tier",
            sa.Text(),
            sa.Computed(
                "CASE WHEN followers < 10000 THEN 'nano' WHEN followers < 100000 THEN 'micro' WHEN followers < 1000000 THEN 'macro' WHEN followers < 10000000 THEN 'mega' ELSE 'celebrity' END",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("posts_per_week", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("sponsored_share_bps", sa.Integer(), nullable=True),
        sa.Column(
            "audience_age",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "audience_gender",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "audience_countries",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "audience_languages",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "extra",
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
            "handle = lower(handle) AND handle !~ '^@'",
            name=op.f("ck_social_accounts_handle_normalised"),
        ),
        sa.CheckConstraint(
            "platform IN ('instagram', 'tiktok', 'youtube', 'x', 'facebook', 'twitch', 'snapchat', 'blog')",
            name=op.f("ck_social_accounts_platform"),
        ),
        sa.CheckConstraint("followers >= 0", name=op.f("ck_social_accounts_followers_nonnegative")),
        sa.CheckConstraint(
            "sponsored_share_bps IS NULL OR sponsored_share_bps BETWEEN 0 AND 10000",
            name=op.f("ck_social_accounts_sponsored_share_range"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_social_accounts_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_social_accounts_influencer_id_influencers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_accounts")),
        sa.UniqueConstraint("brand_id", "platform", "handle", name="uq_social_accounts_handle"),
    )
    op.create_index(
        "ix_social_accounts_brand_followers",
        "social_accounts",
        ["brand_id", "followers", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_social_accounts_brand_id"), "social_accounts", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_social_accounts_brand_tier", "social_accounts", ["brand_id", "tier"], unique=False
    )
    op.create_index(
        "ix_social_accounts_handle_trgm",
        "social_accounts",
        ["handle"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"handle": "gin_trgm_ops"},
    )
    op.create_index(
        op.f("ix_social_accounts_influencer_id"), "social_accounts", ["influencer_id"], unique=False
    )
    op.create_table(
        "collaboration_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="status_changed", nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=True),
        sa.Column("actor_key_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_key_id"],
            ["api_keys.id"],
            name=op.f("fk_collaboration_events_actor_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_collaboration_events_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_collaboration_events_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collaboration_events")),
    )
    op.create_index(
        op.f("ix_collaboration_events_brand_id"), "collaboration_events", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_collaboration_events_collab",
        "collaboration_events",
        ["collaboration_id", "id"],
        unique=False,
    )
    op.create_table(
        "contract_terms",
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "deliverables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "approval_required", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column(
            "usage_scope",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("usage_territory", sa.Text(), nullable=True),
        sa.Column("usage_starts_on", sa.Date(), nullable=True),
        sa.Column("usage_ends_on", sa.Date(), nullable=True),
        sa.Column("exclusivity_days", sa.Integer(), nullable=True),
        sa.Column("payment_terms", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expiry_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "exclusivity_days IS NULL OR exclusivity_days >= 0",
            name=op.f("ck_contract_terms_exclusivity"),
        ),
        sa.CheckConstraint(
            "usage_ends_on IS NULL OR usage_starts_on IS NULL OR usage_ends_on >= usage_starts_on",
            name=op.f("ck_contract_terms_usage_dates_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_contract_terms_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_contract_terms_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_terms")),
        sa.UniqueConstraint("collaboration_id", "version", name="uq_contract_terms_version"),
    )
    op.create_index(
        op.f("ix_contract_terms_brand_id"), "contract_terms", ["brand_id"], unique=False
    )
    op.create_index(
        op.f("ix_contract_terms_collaboration_id"),
        "contract_terms",
        ["collaboration_id"],
        unique=False,
    )
    op.create_index(
        "ix_contract_terms_usage_ends",
        "contract_terms",
        ["brand_id", "usage_ends_on"],
        unique=False,
    )
    op.create_table(
        "cost_lines",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("collaboration_id", sa.UUID(), nullable=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("incurred_on", sa.Date(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
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
            "category IN ('influencer_fee', 'agency_fee', 'content_production', 'usage_rights', 'gifted_product', 'ads', 'other')",
            name=op.f("ck_cost_lines_category"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_cost_lines_currency_iso")),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_cost_lines_amount_nonnegative")),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_cost_lines_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_cost_lines_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_cost_lines_collaboration_id_collaborations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_lines")),
    )
    op.create_index(op.f("ix_cost_lines_brand_id"), "cost_lines", ["brand_id"], unique=False)
    op.create_index(op.f("ix_cost_lines_campaign_id"), "cost_lines", ["campaign_id"], unique=False)
    op.create_index(
        op.f("ix_cost_lines_collaboration_id"), "cost_lines", ["collaboration_id"], unique=False
    )
    op.create_table(
        "deliverables",
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("brief", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("draft_url", sa.Text(), nullable=True),
        sa.Column("draft_caption", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("post_url", sa.Text(), nullable=True),
        sa.Column("external_post_id", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disclosure_missing", sa.Boolean(), nullable=True),
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
            "platform IN ('instagram', 'tiktok', 'youtube', 'x', 'facebook', 'twitch', 'snapchat', 'blog')",
            name=op.f("ck_deliverables_platform"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'submitted', 'changes_requested', 'approved', 'published', 'missed')",
            name=op.f("ck_deliverables_status"),
        ),
        sa.CheckConstraint(
            "type IN ('post', 'story', 'reel', 'short', 'video', 'review', 'live', 'blog')",
            name=op.f("ck_deliverables_type"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_deliverables_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_deliverables_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverables")),
    )
    op.create_index(
        "ix_deliverables_brand_due", "deliverables", ["brand_id", "status", "due_at"], unique=False
    )
    op.create_index(op.f("ix_deliverables_brand_id"), "deliverables", ["brand_id"], unique=False)
    op.create_index(
        op.f("ix_deliverables_collaboration_id"), "deliverables", ["collaboration_id"], unique=False
    )
    op.create_index(
        "ix_deliverables_post_url", "deliverables", ["brand_id", "post_url"], unique=False
    )
    op.create_table(
        "follower_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column(
            "captured_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_follower_snapshots_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_follower_snapshots_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follower_snapshots")),
        sa.UniqueConstraint("account_id", "captured_at", name="uq_follower_snapshots_account_time"),
    )
    op.create_index(
        op.f("ix_follower_snapshots_brand_id"), "follower_snapshots", ["brand_id"], unique=False
    )
    op.create_table(
        "deliverable_reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("deliverable_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("draft_url", sa.Text(), nullable=True),
        sa.Column("actor_key_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "action IN ('submitted', 'changes_requested', 'approved', 'published', 'missed')",
            name=op.f("ck_deliverable_reviews_action"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_key_id"],
            ["api_keys.id"],
            name=op.f("fk_deliverable_reviews_actor_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_deliverable_reviews_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverables.id"],
            name=op.f("fk_deliverable_reviews_deliverable_id_deliverables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable_reviews")),
    )
    op.create_index(
        op.f("ix_deliverable_reviews_brand_id"), "deliverable_reviews", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_deliverable_reviews_deliverable",
        "deliverable_reviews",
        ["deliverable_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_deliverable_reviews_deliverable", table_name="deliverable_reviews")
    op.drop_index(op.f("ix_deliverable_reviews_brand_id"), table_name="deliverable_reviews")
    op.drop_table("deliverable_reviews")
    op.drop_index(op.f("ix_follower_snapshots_brand_id"), table_name="follower_snapshots")
    op.drop_table("follower_snapshots")
    op.drop_index("ix_deliverables_post_url", table_name="deliverables")
    op.drop_index(op.f("ix_deliverables_collaboration_id"), table_name="deliverables")
    op.drop_index(op.f("ix_deliverables_brand_id"), table_name="deliverables")
    op.drop_index("ix_deliverables_brand_due", table_name="deliverables")
    op.drop_table("deliverables")
    op.drop_index(op.f("ix_cost_lines_collaboration_id"), table_name="cost_lines")
    op.drop_index(op.f("ix_cost_lines_campaign_id"), table_name="cost_lines")
    op.drop_index(op.f("ix_cost_lines_brand_id"), table_name="cost_lines")
    op.drop_table("cost_lines")
    op.drop_index("ix_contract_terms_usage_ends", table_name="contract_terms")
    op.drop_index(op.f("ix_contract_terms_collaboration_id"), table_name="contract_terms")
    op.drop_index(op.f("ix_contract_terms_brand_id"), table_name="contract_terms")
    op.drop_table("contract_terms")
    op.drop_index("ix_collaboration_events_collab", table_name="collaboration_events")
    op.drop_index(op.f("ix_collaboration_events_brand_id"), table_name="collaboration_events")
    op.drop_table("collaboration_events")
    op.drop_index(op.f("ix_social_accounts_influencer_id"), table_name="social_accounts")
    op.drop_index("ix_social_accounts_handle_trgm", table_name="social_accounts")
    op.drop_index("ix_social_accounts_brand_tier", table_name="social_accounts")
    op.drop_index(op.f("ix_social_accounts_brand_id"), table_name="social_accounts")
    op.drop_index("ix_social_accounts_brand_followers", table_name="social_accounts")
    op.drop_table("social_accounts")
    op.drop_index(op.f("ix_kpi_targets_campaign_id"), table_name="kpi_targets")
    op.drop_index(op.f("ix_kpi_targets_brand_id"), table_name="kpi_targets")
    op.drop_table("kpi_targets")
    op.drop_index(op.f("ix_collaborations_influencer_id"), table_name="collaborations")
    op.drop_index(op.f("ix_collaborations_campaign_id"), table_name="collaborations")
    op.drop_index(op.f("ix_collaborations_brand_id"), table_name="collaborations")
    op.drop_index("ix_collaborations_brand_created", table_name="collaborations")
    op.drop_table("collaborations")
    op.drop_index(op.f("ix_campaign_hashtags_campaign_id"), table_name="campaign_hashtags")
    op.drop_index(op.f("ix_campaign_hashtags_brand_id"), table_name="campaign_hashtags")
    op.drop_table("campaign_hashtags")
    op.drop_index(
        "ix_outbox_events_undispatched",
        table_name="outbox_events",
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.drop_index(op.f("ix_outbox_events_brand_id"), table_name="outbox_events")
    op.drop_table("outbox_events")
    op.drop_index(
        "uq_influencers_brand_email",
        table_name="influencers",
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.drop_index("ix_influencers_name_trgm", table_name="influencers")
    op.drop_index("ix_influencers_brand_max_followers", table_name="influencers")
    op.drop_index(op.f("ix_influencers_brand_id"), table_name="influencers")
    op.drop_index("ix_influencers_brand_created", table_name="influencers")
    op.drop_table("influencers")
    op.drop_index(op.f("ix_campaigns_brand_id"), table_name="campaigns")
    op.drop_index("ix_campaigns_brand_created", table_name="campaigns")
    op.drop_table("campaigns")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
