"""saved search budget and deadline: a saved opportunity search keeps the list page's budget range and deadline choice

Revision ID: 3c7f1a9d2e58
Revises: 8e4b2d6f0a93
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3c7f1a9d2e58"
down_revision: str | None = "8e4b2d6f0a93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: existing saved searches have neither filter.
    op.add_column("subscription", sa.Column("budget_from", sa.Numeric(precision=14, scale=2), nullable=True))
    op.add_column("subscription", sa.Column("budget_to", sa.Numeric(precision=14, scale=2), nullable=True))
    op.add_column("subscription", sa.Column("deadline", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("deadline")
        batch.drop_column("budget_to")
        batch.drop_column("budget_from")
