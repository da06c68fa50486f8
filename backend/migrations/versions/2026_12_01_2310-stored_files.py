"""uploaded files in the database

Revision ID: 9b1f0c2d4e6a
Revises: 6da07c37b2b2
Create Date: 2026-12-01 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db

revision: str = "9b1f0c2d4e6a"
down_revision: str | None = "6da07c37b2b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every app host reaches the database, so files kept there need no shared folder.
    op.create_table(
        "stored_file",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", backend.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stored_file")),
    )


def downgrade() -> None:
    op.drop_table("stored_file")
