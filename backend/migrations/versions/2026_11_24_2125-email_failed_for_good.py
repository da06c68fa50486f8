"""email failed for good

Revision ID: 6da07c37b2b2
Revises: 5e3a9c1d7b24
Create Date: 2026-11-24 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = '6da07c37b2b2'
down_revision: str | None = '5e3a9c1d7b24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode so that SQLite (the demo) can drop the column again on downgrade; on
    # PostgreSQL it is a plain ALTER TABLE. Messages already queued stay pending (NULL).
    with op.batch_alter_table('email_message') as batch_op:
        batch_op.add_column(sa.Column('failed_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('email_message') as batch_op:
        batch_op.drop_column('failed_at')
