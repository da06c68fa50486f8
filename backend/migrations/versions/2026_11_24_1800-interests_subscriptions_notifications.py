"""interests, subscriptions, notifications and the email outbox

Revision ID: d919bc8a4999
Revises: c942d0175c86
Create Date: 2026-11-24 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = 'd919bc8a4999'
down_revision: str | None = 'c942d0175c86'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_INTEREST = sa.text("status IN ('pending', 'approved')")


def upgrade() -> None:
    op.create_table('email_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sent_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_message'))
    )
    op.create_index(op.f('ix_email_message_available_at'), 'email_message', ['available_at'], unique=False)
    op.create_index(op.f('ix_email_message_sent_at'), 'email_message', ['sent_at'], unique=False)
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    op.create_index('ix_notification_user_id_read_at', 'notification', ['user_id', 'read_at'], unique=False)
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('q', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('tracks', sa.JSON(), nullable=False),
    sa.Column('domains', sa.JSON(), nullable=False),
    sa.Column('regions', sa.JSON(), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_subscription_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription'))
    )
    op.create_index(op.f('ix_subscription_user_id'), 'subscription', ['user_id'], unique=False)
    op.create_table('interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_interest_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_interest_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_interest_opportunity_id_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_interest_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interest'))
    )
    op.create_index(op.f('ix_interest_opportunity_id'), 'interest', ['opportunity_id'], unique=False)
    op.create_index(op.f('ix_interest_organisation_id'), 'interest', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_interest_status'), 'interest', ['status'], unique=False)
    # One open (pending or approved) expression per enterprise and opportunity.
    op.create_index(
        'uq_interest_open_per_organisation', 'interest', ['opportunity_id', 'organisation_id'], unique=True,
        postgresql_where=_OPEN_INTEREST, sqlite_where=_OPEN_INTEREST,
    )


def downgrade() -> None:
    op.drop_index('uq_interest_open_per_organisation', table_name='interest')
    op.drop_index(op.f('ix_interest_status'), table_name='interest')
    op.drop_index(op.f('ix_interest_organisation_id'), table_name='interest')
    op.drop_index(op.f('ix_interest_opportunity_id'), table_name='interest')
    op.drop_table('interest')
    op.drop_index(op.f('ix_subscription_user_id'), table_name='subscription')
    op.drop_table('subscription')
    op.drop_index('ix_notification_user_id_read_at', table_name='notification')
    op.drop_table('notification')
    op.drop_index(op.f('ix_email_message_sent_at'), table_name='email_message')
    op.drop_index(op.f('ix_email_message_available_at'), table_name='email_message')
    op.drop_table('email_message')
