"""Social account handle search index on lower(handle), so equality lookups use the btree

The GIN trigram index on social_accounts.handle also supports `=` (pg_trgm, PostgreSQL 14+),
and the planner prefers it for `handle = ...` joins over the unique (brand_id, platform,
handle) btree: a roster lookup by handle cost ~0.8 ms per probe instead of ~0.02 ms (engagement
ingestion looks up every delivery's account by handle). Built on lower(handle) instead
(handles are stored lower case, so the search means the same), equality on the plain column
can only use the btree.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 22:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_social_accounts_handle_trgm", table_name="social_accounts")
    op.execute(
        "CREATE INDEX ix_social_accounts_handle_trgm ON social_accounts "
        "USING gin (lower(handle) gin_trgm_ops)"
    )


def downgrade() -> None:
    op.drop_index("ix_social_accounts_handle_trgm", table_name="social_accounts")
    op.create_index(
        "ix_social_accounts_handle_trgm",
        "social_accounts",
        ["handle"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"handle": "gin_trgm_ops"},
    )
