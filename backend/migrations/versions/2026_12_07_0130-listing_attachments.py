"""listing attachments: documents and images attached to opportunities and offerings

Revision ID: 5d0a7c3e9b14
Revises: 3b8f2e6c1d47
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db

revision: str = '5d0a7c3e9b14'
down_revision: str | None = '3b8f2e6c1d47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('listing_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_listing_attachment_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_attachment'))
    )
    op.create_index('ix_listing_attachment_listing', 'listing_attachment', ['listing_kind', 'listing_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_listing_attachment_listing', table_name='listing_attachment')
    op.drop_table('listing_attachment')
