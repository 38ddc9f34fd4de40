"""analytics: daily rollups and the change log that keeps them exact

Revision ID: 0009
Revises: 0007 (engagement), and depends on 0005 (orders)
Create Date: 2026-11-23 21:30:00+00:00

Besides the rollup tables, this installs statement-level AFTER triggers (with transition
tables: one INSERT per statement, never per row) on the raw tables the rollups read. Each
appends the cells its statement touched to `rollup_dirty` in the writer's own transaction;
see shared/analytics/rollups.py. The triggers only ever INSERT into a constraint-free log
(no time zone math, no joins), so they cannot fail a writer's statement.

The triggers need the tables of the orders (0005) and engagement (0007) branches, so this
revision sits on 0007 and depends on 0005. (Sitting on 0004 with depends_on both makes
Alembic 1.20's downgrade to base fail with KeyError '0004'.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0005"

# table -> (kind, key column, event-time column or None, columns whose change on UPDATE moves
# or changes a cell (None: UPDATE not watched), events)
WATCHED: dict[str, tuple[str, str, str | None, tuple[str, ...] | None, tuple[str, ...]]] = {
    "clicks": (
        "link",
        "link_id",
        "clicked_at",
        ("link_id", "clicked_at", "is_bot", "is_unique"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "orders": (
        "sales",
        "collaboration_id",
        "placed_at",
        ("collaboration_id", "placed_at", "status", "currency", "total_minor", "refunded_minor"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    # Append-only ledger: only `status` may change after insert, and status is not rolled up.
    "commission_entries": ("sales", "collaboration_id", "created_at", None, ("INSERT", "DELETE")),
    "post_metric_snapshots": (
        "post",
        "post_id",
        None,
        ("post_id", "captured_at", "likes", "comments", "shares", "saves", "views",
         "impressions", "reach"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    "post_comments": (
        "post",
        "post_id",
        None,
        ("post_id", "posted_at", "created_at", "sentiment"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
    # A post's links (deliverable, campaign, account) decide which campaign its rows count
    # in; its metric columns are copies of the snapshots (watched above). Deleting a post
    # cascades to its rollup rows.
    "posts": (
        "post",
        "id",
        None,
        ("deliverable_id", "campaign_id", "account_id", "platform", "content_type"),
        ("UPDATE",),
    ),
    "follower_snapshots": (
        "account",
        "account_id",
        None,
        ("account_id", "followers", "captured_at"),
        ("INSERT", "UPDATE", "DELETE"),
    ),
}  # fmt: skip


def _select(kind: str, key: str, at: str | None, alias: str) -> str:
    bucket = (
        f"date_bin('15 minutes', {alias}.{at}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
        if at
        else "NULL::timestamptz"
    )
    return (
        f"SELECT '{kind}'::text AS kind, {alias}.brand_id, {alias}.{key} AS key_id, {bucket} AS at"
    )


def _mark(op_name: str, rows: str) -> str:
    # Constant identifiers from WATCHED only: no input reaches this SQL.
    return (
        f"IF TG_OP = '{op_name}' THEN\n"  # noqa: S608
        f"  INSERT INTO rollup_dirty (kind, brand_id, key_id, at)\n"
        f"  SELECT DISTINCT * FROM ({rows}) x WHERE x.key_id IS NOT NULL;\nEND IF;"
    )


def _function_sql(table: str) -> str:
    kind, key, at, changed, events = WATCHED[table]
    parts = []
    if "INSERT" in events:
        parts.append(_mark("INSERT", f"{_select(kind, key, at, 'n')} FROM new_rows n"))
    if "DELETE" in events:
        parts.append(_mark("DELETE", f"{_select(kind, key, at, 'o')} FROM old_rows o"))
    if "UPDATE" in events and changed:
        new_cols = ", ".join(f"n.{c}" for c in changed)
        old_cols = ", ".join(f"o.{c}" for c in changed)
        moved = (
            f"FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE ({new_cols}) IS DISTINCT FROM ({old_cols})"
        )
        parts.append(
            _mark(
                "UPDATE",
                f"{_select(kind, key, at, 'n')} {moved} "
                f"UNION ALL {_select(kind, key, at, 'o')} {moved}",
            )
        )
    body = "\n".join(parts)
    return (
        f"CREATE FUNCTION rollup_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND\n$fn$"
    )


def _create_triggers() -> None:
    for table, (*_, events) in WATCHED.items():
        op.execute(_function_sql(table))
        for event in events:
            referencing = {
                "INSERT": "NEW TABLE AS new_rows",
                "DELETE": "OLD TABLE AS old_rows",
                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            }[event]
            op.execute(
                f"CREATE TRIGGER rollup_mark_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION rollup_mark_{table}()"
            )


def _drop_triggers() -> None:
    for table, (*_, events) in WATCHED.items():
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS rollup_mark_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS rollup_mark_{table}()")


def upgrade() -> None:
    op.create_table(
        "rollup_dirty",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("key_id", sa.UUID(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('link', 'sales', 'post', 'account')", name=op.f("ck_rollup_dirty_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_dirty")),
    )
    op.create_table(
        "rollup_brand_state",
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_rollup_brand_state_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("brand_id", name=op.f("pk_rollup_brand_state")),
    )
    op.create_table(
        "rollup_account_daily",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("new_followers", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_rollup_account_daily_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_rollup_account_daily_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name="pk_rollup_account_daily"),
    )
    op.create_index(
        op.f("ix_rollup_account_daily_brand_id"), "rollup_account_daily", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_rollup_account_daily_influencer",
        "rollup_account_daily",
        ["influencer_id", "day"],
        unique=False,
    )
    op.create_table(
        "rollup_sales_daily",
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunds_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_earned_minor", sa.BigInteger(), nullable=False),
        sa.Column("commission_reversed_minor", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_rollup_sales_daily_currency_iso")
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_rollup_sales_daily_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaborations.id"],
            name=op.f("fk_rollup_sales_daily_collaboration_id_collaborations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "collaboration_id", "day", "currency", name="pk_rollup_sales_daily"
        ),
    )
    op.create_index(
        op.f("ix_rollup_sales_daily_brand_id"), "rollup_sales_daily", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_rollup_sales_daily_campaign", "rollup_sales_daily", ["campaign_id", "day"], unique=False
    )
    op.create_index(
        "ix_rollup_sales_daily_influencer",
        "rollup_sales_daily",
        ["influencer_id", "day"],
        unique=False,
    )
    op.create_table(
        "rollup_link_daily",
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("collaboration_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_rollup_link_daily_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["tracking_links.id"],
            name=op.f("fk_rollup_link_daily_link_id_tracking_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("link_id", "day", name="pk_rollup_link_daily"),
    )
    op.create_index(
        op.f("ix_rollup_link_daily_brand_id"), "rollup_link_daily", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_rollup_link_daily_campaign", "rollup_link_daily", ["campaign_id", "day"], unique=False
    )
    op.create_index(
        "ix_rollup_link_daily_influencer",
        "rollup_link_daily",
        ["influencer_id", "day"],
        unique=False,
    )
    op.create_table(
        "rollup_post_daily",
        sa.Column("post_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("deliverable_type", sa.Text(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("saves", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("comments_positive", sa.Integer(), nullable=False),
        sa.Column("comments_neutral", sa.Integer(), nullable=False),
        sa.Column("comments_negative", sa.Integer(), nullable=False),
        sa.Column("comments_unscored", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_rollup_post_daily_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_rollup_post_daily_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "day", name="pk_rollup_post_daily"),
    )
    op.create_index(
        op.f("ix_rollup_post_daily_brand_id"), "rollup_post_daily", ["brand_id"], unique=False
    )
    op.create_index(
        "ix_rollup_post_daily_campaign", "rollup_post_daily", ["campaign_id", "day"], unique=False
    )
    op.create_index(
        "ix_rollup_post_daily_influencer",
        "rollup_post_daily",
        ["influencer_id", "day"],
        unique=False,
    )
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_index("ix_rollup_post_daily_influencer", table_name="rollup_post_daily")
    op.drop_index("ix_rollup_post_daily_campaign", table_name="rollup_post_daily")
    op.drop_index(op.f("ix_rollup_post_daily_brand_id"), table_name="rollup_post_daily")
    op.drop_table("rollup_post_daily")
    op.drop_index("ix_rollup_link_daily_influencer", table_name="rollup_link_daily")
    op.drop_index("ix_rollup_link_daily_campaign", table_name="rollup_link_daily")
    op.drop_index(op.f("ix_rollup_link_daily_brand_id"), table_name="rollup_link_daily")
    op.drop_table("rollup_link_daily")
    op.drop_index("ix_rollup_sales_daily_influencer", table_name="rollup_sales_daily")
    op.drop_index("ix_rollup_sales_daily_campaign", table_name="rollup_sales_daily")
    op.drop_index(op.f("ix_rollup_sales_daily_brand_id"), table_name="rollup_sales_daily")
    op.drop_table("rollup_sales_daily")
    op.drop_index("ix_rollup_account_daily_influencer", table_name="rollup_account_daily")
    op.drop_index(op.f("ix_rollup_account_daily_brand_id"), table_name="rollup_account_daily")
    op.drop_table("rollup_account_daily")
    op.drop_table("rollup_brand_state")
    op.drop_table("rollup_dirty")
