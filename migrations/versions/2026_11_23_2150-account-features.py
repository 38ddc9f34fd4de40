"""account features: one narrow, trigger-maintained row per social account for scoring

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 21:50:00+00:00

`account_features` holds, per social account, exactly what the campaign recommendations score
(shared/engagement/recommendations.py), already extracted from the JSONB columns and joined
across social_accounts, influencers and account_signals, so the scoring statement scans one
table. It is maintained by statement-level AFTER triggers (transition tables: one call per
statement, never per row) in the writer's own transaction, so it is never behind:

- social_accounts INSERT, and UPDATE of a column the features read;
- influencers UPDATE of status, niches, rate card or rate currency (all its accounts);
- account_signals INSERT (unless the row carries no signal yet: such a row changes nothing)
  and UPDATE of engagement rate, authenticity score or sponsored share.

Deletes need nothing: the row goes with its account (and brand) by foreign key. An
account_signals row is only ever deleted with its account; a signals row deleted on its own
(by hand) would leave its values here until the account's next write.

`account_features_refresh(ids)` recomputes the given accounts. It first locks their existing
rows in account_id order, then reads the sources in a new statement (a new snapshot under
READ COMMITTED), so two transactions that change different inputs of one account (say a
signals recompute and an influencer edit) serialise on the features row, and the second
computes from the first's committed change: no lost update. (The upsert alone would lock
the same rows in the same order, only after reading the sources.) Rows that come out
unchanged are not rewritten.

The layouts below are frozen here on purpose (a migration is history): age buckets as in
shared/influencers/rules.py AGE_BUCKETS, genders as rules.GENDERS, prices in DeliverableType
order. shared/models/engagement.py `AccountFeatures` names the same orders, and the tests
check them against this function.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGE_BUCKETS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
GENDERS = ("female", "male", "other")
DELIVERABLE_TYPES = ("post", "story", "reel", "short", "video", "review", "live", "blog")

# Column order matters for scan speed: the NOT NULL fixed-width columns the scoring
# statement filters on come first, so PostgreSQL reaches them at cached offsets without
# walking the variable-width columns.
COLUMNS = (
    "account_id",
    "brand_id",
    "influencer_id",
    "followers",
    "active",
    "engagement_rate",
    "sponsored_share",
    "price_min",
    "authenticity_score",
    "platform",
    "tier",
    "rate_currency",
    "niches",
    "prices",
    "age",
    "gender",
    "countries",
    "languages",
)


def _shares(column: str, keys: tuple[str, ...]) -> str:
    # The same reads (and NULL-when-empty rule) the scoring statement made on the JSONB.
    reads = ", ".join(f"coalesce((a.{column} ->> '{k}')::float8, 0)" for k in keys)
    return f"CASE WHEN a.{column} = '{{}}'::jsonb THEN NULL ELSE ARRAY[{reads}] END"


_PRICES = [f"(i.rate_card ->> '{t}')::bigint" for t in DELIVERABLE_TYPES]

# The features of every account the WHERE clause keeps. Constant text only: no input reaches it.
SELECT = f"""
SELECT a.id, a.brand_id, a.influencer_id, a.followers, i.status = 'active',
       s.engagement_rate, coalesce(s.sponsored_share, a.sponsored_share_bps / 10000.0),
       least({", ".join(_PRICES)}),
       s.authenticity_score, a.platform, a.tier, i.rate_currency, i.niches,
       ARRAY[{", ".join(_PRICES)}],
       {_shares("audience_age", AGE_BUCKETS)},
       {_shares("audience_gender", GENDERS)},
       nullif(a.audience_countries, '{{}}'::jsonb),
       nullif(a.audience_languages, '{{}}'::jsonb)
FROM social_accounts a
JOIN influencers i ON i.id = a.influencer_id
LEFT JOIN account_signals s ON s.account_id = a.id
"""  # noqa: S608

# Planned once per session, as key lookups. Writers that send one row per statement
# (asyncpg executemany: the CSV import, ORM flushes) call this once per row: planning the
# upsert on every call made the import's account inserts 5x slower. A generic plan made
# while the tables are small (a new database, an import's first batch) would keep its
# sequential scans as they grow, hence enable_seqscan off: by primary key is always right.
REFRESH = f"""
CREATE FUNCTION account_features_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $fn$
BEGIN
  IF cardinality(ids) IS NULL OR cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  -- Lock first, then compute in a new statement (see the migration's docstring).
  PERFORM 1 FROM account_features WHERE account_id = ANY(ids)
    ORDER BY account_id FOR NO KEY UPDATE;
  INSERT INTO account_features ({", ".join(COLUMNS)})
  {SELECT}
  WHERE a.id = ANY(ids)
  ORDER BY a.id
  ON CONFLICT (account_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])}
  WHERE account_features IS DISTINCT FROM excluded;
END
$fn$
"""


# table -> {event: the account ids to refresh, from new_rows / old_rows}. An UPDATE counts
# only when a column the features read changed (tier follows followers; it is compared too).
WATCHED: dict[str, dict[str, str]] = {
    "social_accounts": {
        "INSERT": "SELECT n.id FROM new_rows n",
        "UPDATE": """
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.brand_id, n.influencer_id, n.platform, n.followers, n.tier,
                   n.sponsored_share_bps, n.audience_age, n.audience_gender,
                   n.audience_countries, n.audience_languages)
              IS DISTINCT FROM (o.brand_id, o.influencer_id, o.platform, o.followers, o.tier,
                   o.sponsored_share_bps, o.audience_age, o.audience_gender,
                   o.audience_countries, o.audience_languages)""",
    },
    "influencers": {
        "UPDATE": """
            SELECT a.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            JOIN social_accounts a ON a.influencer_id = n.id
            WHERE (n.status, n.niches, n.rate_card, n.rate_currency)
              IS DISTINCT FROM (o.status, o.niches, o.rate_card, o.rate_currency)""",
    },
    "account_signals": {
        # A signals row without values yet (the recompute's placeholder) changes nothing.
        "INSERT": """
            SELECT n.account_id FROM new_rows n
            WHERE NOT (n.engagement_rate IS NULL AND n.authenticity_score IS NULL
                       AND n.sponsored_share IS NULL)""",
        "UPDATE": """
            SELECT n.account_id FROM new_rows n JOIN old_rows o ON o.account_id = n.account_id
            WHERE (n.engagement_rate, n.authenticity_score, n.sponsored_share)
              IS DISTINCT FROM (o.engagement_rate, o.authenticity_score, o.sponsored_share)""",
    },
}


def _trigger_function(table: str) -> str:
    branches = "\n".join(
        f"IF TG_OP = '{event}' THEN\n  PERFORM account_features_refresh(ARRAY({ids}));\nEND IF;"
        for event, ids in WATCHED[table].items()
    )
    # The influencers branch finds the accounts by influencer_id. A trigger's plan is made
    # on its first call in a session, sized by that statement, and kept: pin it to the index.
    settings = " SET enable_seqscan = off" if table == "influencers" else ""
    return (
        f"CREATE FUNCTION account_features_on_{table}() RETURNS trigger LANGUAGE plpgsql"
        f"{settings} AS $fn$\nBEGIN\n{branches}\nRETURN NULL;\nEND\n$fn$"
    )


def _create_triggers() -> None:
    # PostgreSQL allows transition tables only on single-event triggers: one per event.
    for table, events in WATCHED.items():
        op.execute(_trigger_function(table))
        for event in events:
            referencing = {
                "INSERT": "NEW TABLE AS new_rows",
                "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            }[event]
            op.execute(
                f"CREATE TRIGGER account_features_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION account_features_on_{table}()"
            )


def _drop_triggers() -> None:
    for table, events in WATCHED.items():
        for event in events:
            op.execute(f"DROP TRIGGER IF EXISTS account_features_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS account_features_on_{table}()")


def upgrade() -> None:
    op.create_table(
        "account_features",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("brand_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("engagement_rate", sa.Double(), nullable=True),
        sa.Column("sponsored_share", sa.Double(), nullable=True),
        sa.Column("price_min", sa.BigInteger(), nullable=True),
        sa.Column("authenticity_score", sa.SmallInteger(), nullable=True),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("rate_currency", sa.Text(), nullable=True),
        sa.Column("niches", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("prices", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("age", postgresql.ARRAY(sa.Double()), nullable=True),
        sa.Column("gender", postgresql.ARRAY(sa.Double()), nullable=True),
        sa.Column("countries", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("languages", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_accounts.id"],
            name=op.f("fk_account_features_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"],
            ["brands.id"],
            name=op.f("fk_account_features_brand_id_brands"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_features")),
    )
    op.create_index(
        op.f("ix_account_features_brand_id"), "account_features", ["brand_id"], unique=False
    )
    op.execute(REFRESH)
    # Triggers before the backfill: CREATE TRIGGER locks each source table against writes
    # until this migration commits, so no write can fall between the two.
    _create_triggers()
    op.execute(f"INSERT INTO account_features ({', '.join(COLUMNS)}) {SELECT} ORDER BY a.id")


def downgrade() -> None:
    _drop_triggers()
    op.execute("DROP FUNCTION IF EXISTS account_features_refresh(uuid[])")
    op.drop_index(op.f("ix_account_features_brand_id"), table_name="account_features")
    op.drop_table("account_features")
