"""changes after publication: revisions, withdrawal reasons, import provenance, registration wishes

Revision ID: 7c1e5a9f3b20
Revises: 85d55881ab76
Create Date: 2026-12-01 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = '7c1e5a9f3b20'
down_revision: str | None = '85d55881ab76'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'listing_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_listing_import_created_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_import')),
    )
    op.create_table(
        'listing_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('listing_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('listing_id', sa.Integer(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_listing_revision_decided_by_id_user_account')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_listing_revision_requested_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_listing_revision')),
    )
    op.create_index(op.f('ix_listing_revision_listing_id'), 'listing_revision', ['listing_id'], unique=False)
    op.create_index(op.f('ix_listing_revision_listing_kind'), 'listing_revision', ['listing_kind'], unique=False)
    op.create_index(op.f('ix_listing_revision_status'), 'listing_revision', ['status'], unique=False)
    for table in ('opportunity', 'offering'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('withdrawal_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
            batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_import_id'), ['import_id'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_import_id_listing_import'), 'listing_import', ['import_id'], ['id'])
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column('withdrawal_reason', server_default=None)
    with op.batch_alter_table('event_registration') as batch_op:
        batch_op.add_column(sa.Column('attendees', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('head_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('wished_opportunity_ids', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('event_registration') as batch_op:
        batch_op.alter_column('attendees', server_default=None)
        batch_op.alter_column('head_count', server_default=None)
        batch_op.alter_column('wished_opportunity_ids', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('event_registration') as batch_op:
        batch_op.drop_column('wished_opportunity_ids')
        batch_op.drop_column('head_count')
        batch_op.drop_column('attendees')
    for table in ('offering', 'opportunity'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_import_id_listing_import'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_import_id'))
            batch_op.drop_column('import_id')
            batch_op.drop_column('withdrawal_reason')
    op.drop_index(op.f('ix_listing_revision_status'), table_name='listing_revision')
    op.drop_index(op.f('ix_listing_revision_listing_kind'), table_name='listing_revision')
    op.drop_index(op.f('ix_listing_revision_listing_id'), table_name='listing_revision')
    op.drop_table('listing_revision')
    op.drop_table('listing_import')
