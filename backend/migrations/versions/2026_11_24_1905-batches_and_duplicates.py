"""duplicate dismissals and merged_into_id on listings

Revision ID: 7f441eb2b242
Revises: d919bc8a4999
Create Date: 2026-11-24 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = '7f441eb2b242'
down_revision: str | None = 'd919bc8a4999'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duplicate_dismissal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('first_id < second_id', name=op.f('ck_duplicate_dismissal_ordered_pair')),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['user_account.id'], name=op.f('fk_duplicate_dismissal_dismissed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_dismissal')),
    sa.UniqueConstraint('kind', 'first_id', 'second_id', name='uq_duplicate_dismissal_pair')
    )
    op.create_index(op.f('ix_duplicate_dismissal_first_id'), 'duplicate_dismissal', ['first_id'], unique=False)
    op.create_index(op.f('ix_duplicate_dismissal_second_id'), 'duplicate_dismissal', ['second_id'], unique=False)
    # batch_alter_table so that the embedded SQLite database (scenematch demo) can add the foreign keys too.
    with op.batch_alter_table('opportunity') as batch:
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_opportunity_merged_into_id_opportunity'), 'opportunity', ['merged_into_id'], ['id'])
    with op.batch_alter_table('offering') as batch:
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_offering_merged_into_id_offering'), 'offering', ['merged_into_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('offering') as batch:
        batch.drop_constraint(op.f('fk_offering_merged_into_id_offering'), type_='foreignkey')
        batch.drop_column('merged_into_id')
    with op.batch_alter_table('opportunity') as batch:
        batch.drop_constraint(op.f('fk_opportunity_merged_into_id_opportunity'), type_='foreignkey')
        batch.drop_column('merged_into_id')
    op.drop_index(op.f('ix_duplicate_dismissal_second_id'), table_name='duplicate_dismissal')
    op.drop_index(op.f('ix_duplicate_dismissal_first_id'), table_name='duplicate_dismissal')
    op.drop_table('duplicate_dismissal')
