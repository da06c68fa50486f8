"""lists newest first: an index on (status, coalesce(published_at, created_at), id) per listing table

Revision ID: 3b8f2e6c1d47
Revises: 7c1e5a9f3b20
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3b8f2e6c1d47'
down_revision: str | None = '7c1e5a9f3b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("opportunity", "offering"):
        op.create_index(
            f"ix_{table}_status_newest", table, ["status", sa.text("coalesce(published_at, created_at)"), "id"]
        )


def downgrade() -> None:
    for table in ("opportunity", "offering"):
        op.drop_index(f"ix_{table}_status_newest", table_name=table)
