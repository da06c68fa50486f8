"""events: featured opportunities, registrations, availability, meetings, outcomes

Revision ID: c1c947fc1528
Revises: 7f441eb2b242
Create Date: 2026-11-24 19:37:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = 'c1c947fc1528'
down_revision: str | None = '7f441eb2b242'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('starts_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('online_link', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('meeting_limit', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_event_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    op.create_index(op.f('ix_event_starts_at'), 'event', ['starts_at'], unique=False)
    op.create_index(op.f('ix_event_status'), 'event', ['status'], unique=False)
    op.create_table('event_availability',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_availability_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_event_availability_user_id_user_account')),
    sa.PrimaryKeyConstraint('event_id', 'user_id', 'slot', name=op.f('pk_event_availability'))
    )
    op.create_index(op.f('ix_event_availability_user_id'), 'event_availability', ['user_id'], unique=False)
    op.create_table('event_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('starts_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('issuer_user_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('issuer_response', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('enterprise_response', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_user_id'], ['user_account.id'], name=op.f('fk_event_meeting_enterprise_user_id_user_account')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_meeting_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issuer_user_id'], ['user_account.id'], name=op.f('fk_event_meeting_issuer_user_id_user_account')),
    sa.ForeignKeyConstraint(['offering_id'], ['offering.id'], name=op.f('fk_event_meeting_offering_id_offering')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_event_meeting_opportunity_id_opportunity')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_event_meeting_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meeting'))
    )
    op.create_index(op.f('ix_event_meeting_enterprise_user_id'), 'event_meeting', ['enterprise_user_id'], unique=False)
    op.create_index(op.f('ix_event_meeting_event_id'), 'event_meeting', ['event_id'], unique=False)
    op.create_index(op.f('ix_event_meeting_issuer_user_id'), 'event_meeting', ['issuer_user_id'], unique=False)
    op.create_index(op.f('ix_event_meeting_opportunity_id'), 'event_meeting', ['opportunity_id'], unique=False)
    op.create_index(op.f('ix_event_meeting_organisation_id'), 'event_meeting', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_event_meeting_status'), 'event_meeting', ['status'], unique=False)
    op.create_table('event_opportunity',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('host_user_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_opportunity_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_user_id'], ['user_account.id'], name=op.f('fk_event_opportunity_host_user_id_user_account')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_event_opportunity_opportunity_id_opportunity')),
    sa.PrimaryKeyConstraint('event_id', 'opportunity_id', name=op.f('pk_event_opportunity'))
    )
    op.create_index(op.f('ix_event_opportunity_opportunity_id'), 'event_opportunity', ['opportunity_id'], unique=False)
    op.create_table('event_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_registration_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_event_registration_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_event_registration_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registration')),
    sa.UniqueConstraint('event_id', 'organisation_id', name=op.f('uq_event_registration_event_id'))
    )
    op.create_index(op.f('ix_event_registration_event_id'), 'event_registration', ['event_id'], unique=False)
    op.create_index(op.f('ix_event_registration_organisation_id'), 'event_registration', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_event_registration_user_id'), 'event_registration', ['user_id'], unique=False)
    op.create_table('event_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('pairing_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['event_meeting.id'], name=op.f('fk_event_outcome_meeting_id_event_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pairing_id'], ['pairing.id'], name=op.f('fk_event_outcome_pairing_id_pairing')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_event_outcome_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_outcome')),
    sa.UniqueConstraint('meeting_id', name=op.f('uq_event_outcome_meeting_id'))
    )


def downgrade() -> None:
    op.drop_table('event_outcome')
    op.drop_index(op.f('ix_event_registration_user_id'), table_name='event_registration')
    op.drop_index(op.f('ix_event_registration_organisation_id'), table_name='event_registration')
    op.drop_index(op.f('ix_event_registration_event_id'), table_name='event_registration')
    op.drop_table('event_registration')
    op.drop_index(op.f('ix_event_opportunity_opportunity_id'), table_name='event_opportunity')
    op.drop_table('event_opportunity')
    op.drop_index(op.f('ix_event_meeting_status'), table_name='event_meeting')
    op.drop_index(op.f('ix_event_meeting_organisation_id'), table_name='event_meeting')
    op.drop_index(op.f('ix_event_meeting_opportunity_id'), table_name='event_meeting')
    op.drop_index(op.f('ix_event_meeting_issuer_user_id'), table_name='event_meeting')
    op.drop_index(op.f('ix_event_meeting_event_id'), table_name='event_meeting')
    op.drop_index(op.f('ix_event_meeting_enterprise_user_id'), table_name='event_meeting')
    op.drop_table('event_meeting')
    op.drop_index(op.f('ix_event_availability_user_id'), table_name='event_availability')
    op.drop_table('event_availability')
    op.drop_index(op.f('ix_event_status'), table_name='event')
    op.drop_index(op.f('ix_event_starts_at'), table_name='event')
    op.drop_table('event')
