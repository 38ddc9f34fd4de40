"""engagement: posts, metric snapshots, comments, account signals and marks, benchmarks

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-23 20:45:39.696926+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_benchmarks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("median_rate", sa.Double(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "platform IN ('instagram', 'tiktok', 'youtube', 'x', 'facebook', 'twitch', 'snapchat', 'blog')",
            name=op.f("ck_engagement_benchmarks_platform"),
        ),
        sa.CheckConstraint(
            "tier IN ('nano', 'micro', 'macro', 'mega', 'celebrity')",
            name=op.f("ck_engagement_benchmarks_tier"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_engagement_benchmarks_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_benchmarks")),
        sa.UniqueConstraint("brand_id", "platform", "tier", name="uq_engagement_benchmarks_cell"),
    )
    op.create_index(
        op.f("ix_engagement_benchmarks_brand_id"),
        "engagement_benchmarks",
        ["brand_id"],
        unique=False,
    )
    op.create_table(
        "account_signals",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("engagement_rate", sa.Double(), nullable=True),
        sa.Column("engagement_rate_views", sa.Double(), nullable=True),
        sa.Column("sample_size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("views_sample_size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("benchmark_rate", sa.Double(), nullable=True),
        sa.Column("benchmark_source", sa.Text(), nullable=True),
        sa.Column("authenticity_score", sa.SmallInteger(), nullable=True),
        sa.Column(
            "authenticity_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("sponsored_share", sa.Double(), nullable=True),
        sa.Column("comments_positive", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_neutral", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_negative", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_unscored", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "authenticity_score IS NULL OR authenticity_score BETWEEN 0 AND 100",
            name=op.f("ck_account_signals_authenticity_range"),
        ),
        sa.CheckConstraint(
            "sponsored_share IS NULL OR sponsored_share BETWEEN 0 AND 1",
            name=op.f("ck_account_signals_sponsored_range"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_account_signals_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_account_signals_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_signals")),
    )
    op.create_index(
        "ix_account_signals_brand_auth",
        "account_signals",
        ["brand_id", "authenticity_score"],
        unique=False,
    )
    op.create_index(
        "ix_account_signals_brand_er",
        "account_signals",
        ["brand_id", "engagement_rate"],
        unique=False,
    )
    op.create_index(
        op.f("ix_account_signals_brand_id"), "account_signals", ["brand_id"], unique=False
    )
    op.create_table(
        "posts",
        sa.Column("integration_id", sa.UUID(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=True),
        sa.Column("account_external_id", sa.Text(), nullable=True),
        sa.Column("external_post_id", sa.Text(), nullable=False),
        sa.Column("post_url", sa.Text(), nullable=True),
        sa.Column("post_url_key", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_type", sa.Text(), server_default="post", nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column(
            "paid_partnership", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("disclosed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sponsored", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("deliverable_id", sa.UUID(), nullable=True),
        sa.Column("campaign_id", sa.UUID(), nullable=True),
        sa.Column(
            "matched_by",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("metrics_captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("comments", sa.BigInteger(), nullable=True),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("saves", sa.BigInteger(), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("reach", sa.BigInteger(), nullable=True),
        sa.Column("comments_positive", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_neutral", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_negative", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_unscored", sa.Integer(), server_default="0", nullable=False),
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
            "content_type IN ('post', 'story', 'reel', 'short', 'video', 'live')",
            name=op.f("ck_posts_content_type"),
        ),
        sa.CheckConstraint(
            "handle IS NULL OR (handle = lower(handle) AND handle !~ '^@')",
            name=op.f("ck_posts_handle_normalised"),
        ),
        sa.CheckConstraint(
            "platform IN ('instagram', 'tiktok', 'youtube', 'x', 'facebook', 'twitch', 'snapchat', 'blog')",
            name=op.f("ck_posts_platform"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_posts_account_id_social_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brands.id"], name=op.f("fk_posts_brand_id_brands"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_posts_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverables.id"],
            name=op.f("fk_posts_deliverable_id_deliverables"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_posts_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("brand_id", "platform", "external_post_id", name="uq_posts_external"),
    )
    op.create_index("ix_posts_account_posted", "posts", ["account_id", "posted_at"], unique=False)
    op.create_index(
        "ix_posts_brand_created", "posts", ["brand_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_posts_brand_id"), "posts", ["brand_id"], unique=False)
    op.create_index(
        "ix_posts_brand_unmatched",
        "posts",
        ["brand_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("account_id IS NULL"),
    )
    op.create_index("ix_posts_brand_url_key", "posts", ["brand_id", "post_url_key"], unique=False)
    op.create_index("ix_posts_campaign", "posts", ["campaign_id"], unique=False)
    op.create_index("ix_posts_deliverable", "posts", ["deliverable_id"], unique=False)
    op.create_table(
        "post_comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("post_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sentiment", sa.Text(), nullable=False),
        sa.Column("sentiment_score", sa.Double(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "sentiment IN ('positive', 'neutral', 'negative', 'unscored')",
            name=op.f("ck_post_comments_sentiment"),
        ),
        sa.CheckConstraint(
            "sentiment_score IS NULL OR sentiment_score BETWEEN -1 AND 1",
            name=op.f("ck_post_comments_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_post_comments_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_comments_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_comments")),
        sa.UniqueConstraint("post_id", "external_id", name="uq_post_comments_external"),
    )
    op.create_index(op.f("ix_post_comments_brand_id"), "post_comments", ["brand_id"], unique=False)
    op.create_table(
        "post_metric_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("post_id", sa.UUID(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("comments", sa.BigInteger(), nullable=True),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("saves", sa.BigInteger(), nullable=True),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("reach", sa.BigInteger(), nullable=True),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_post_metric_snapshots_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_metric_snapshots_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_metric_snapshots")),
        sa.UniqueConstraint("post_id", "captured_at", name="uq_post_metric_snapshots_time"),
    )
    op.create_index(
        op.f("ix_post_metric_snapshots_brand_id"),
        "post_metric_snapshots",
        ["brand_id"],
        unique=False,
    )
    op.create_table(
        "account_signal_marks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("post_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_account_signal_marks_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_account_signal_marks_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_account_signal_marks_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_signal_marks")),
    )
    op.create_index(
        "ix_account_signal_marks_account",
        "account_signal_marks",
        ["account_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_account_signal_marks_brand_id"),
        "account_signal_marks",
        ["brand_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_account_signal_marks_brand_id"), table_name="account_signal_marks")
    op.drop_index("ix_account_signal_marks_account", table_name="account_signal_marks")
    op.drop_table("account_signal_marks")
    op.drop_index(op.f("ix_post_metric_snapshots_brand_id"), table_name="post_metric_snapshots")
    op.drop_table("post_metric_snapshots")
    op.drop_index(op.f("ix_post_comments_brand_id"), table_name="post_comments")
    op.drop_table("post_comments")
    op.drop_index("ix_posts_deliverable", table_name="posts")
    op.drop_index("ix_posts_campaign", table_name="posts")
    op.drop_index("ix_posts_brand_url_key", table_name="posts")
    op.drop_index(
        "ix_posts_brand_unmatched",
        table_name="posts",
        postgresql_where=sa.text("account_id IS NULL"),
    )
    op.drop_index(op.f("ix_posts_brand_id"), table_name="posts")
    op.drop_index("ix_posts_brand_created", table_name="posts")
    op.drop_index("ix_posts_account_posted", table_name="posts")
    op.drop_table("posts")
    op.drop_index(op.f("ix_account_signals_brand_id"), table_name="account_signals")
    op.drop_index("ix_account_signals_brand_er", table_name="account_signals")
    op.drop_index("ix_account_signals_brand_auth", table_name="account_signals")
    op.drop_table("account_signals")
    op.drop_index(op.f("ix_engagement_benchmarks_brand_id"), table_name="engagement_benchmarks")
    op.drop_table("engagement_benchmarks")
