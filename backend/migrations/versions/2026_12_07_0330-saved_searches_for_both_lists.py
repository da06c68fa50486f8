"""saved searches for both lists: a subscription's kind and frequency, and the alerts sent

Existing subscriptions are opportunity searches told at once, as before.

Revision ID: 8e4b2d6f0a93
Revises: 5d0a7c3e9b14
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db

revision: str = '8e4b2d6f0a93'
down_revision: str | None = '5d0a7c3e9b14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the existing rows (and keep ADD COLUMN ... NOT NULL valid on SQLite).
    op.add_column('subscription', sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='opportunity'))
    op.add_column('subscription', sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='immediate'))
    op.add_column('subscription', sa.Column('last_alerted_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table('subscription_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('listing_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_subscription_alert_subscription_id_subscription'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_subscription_alert_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_alert')),
    sa.UniqueConstraint('user_id', 'listing_kind', 'listing_id', name='uq_subscription_alert_user_listing')
    )
    op.create_index('ix_subscription_alert_pending', 'subscription_alert', ['subscription_id', 'notified_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subscription_alert_pending', table_name='subscription_alert')
    op.drop_table('subscription_alert')
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('last_alerted_at')
        batch.drop_column('frequency')
        batch.drop_column('kind')
