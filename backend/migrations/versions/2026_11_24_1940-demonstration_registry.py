"""demonstration registry

Revision ID: 5e3a9c1d7b24
Revises: c1c947fc1528
Create Date: 2026-11-24 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.kit.db


revision: str = '5e3a9c1d7b24'
down_revision: str | None = 'c1c947fc1528'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('demo_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('scope_code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('modified_by_id', sa.Integer(), nullable=True),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['modified_by_id'], ['user_account.id'], name=op.f('fk_demo_target_modified_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_target')),
    sa.UniqueConstraint('scope', 'scope_code', 'year', 'metric', name='uq_demo_target_scope_year_metric')
    )
    op.create_index(op.f('ix_demo_target_year'), 'demo_target', ['year'], unique=False)
    op.create_table('demo_zone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('track_codes', sa.JSON(), nullable=False),
    sa.Column('lead_organisation_id', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('designated_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_demo_zone_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['lead_organisation_id'], ['organisation.id'], name=op.f('fk_demo_zone_lead_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_demo_zone_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_zone')),
    sa.UniqueConstraint('name', name=op.f('uq_demo_zone_name'))
    )
    op.create_index(op.f('ix_demo_zone_region_code'), 'demo_zone', ['region_code'], unique=False)
    op.create_table('growth_enterprise',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('track_codes', sa.JSON(), nullable=False),
    sa.Column('year_recognised', sa.Integer(), nullable=False),
    sa.Column('recognised_on', sa.Date(), nullable=True),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_growth_enterprise_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_growth_enterprise_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_growth_enterprise_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_growth_enterprise')),
    sa.UniqueConstraint('organisation_id', name=op.f('uq_growth_enterprise_organisation_id'))
    )
    op.create_index(op.f('ix_growth_enterprise_region_code'), 'growth_enterprise', ['region_code'], unique=False)
    op.create_table('demo_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('pairing_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('track_codes', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('selected_on', sa.Date(), nullable=True),
    sa.Column('investment_wan', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('output_value_wan', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('modified_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_demo_project_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunity.id'], name=op.f('fk_demo_project_opportunity_id_opportunity')),
    sa.ForeignKeyConstraint(['pairing_id'], ['pairing.id'], name=op.f('fk_demo_project_pairing_id_pairing')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_demo_project_region_code_region')),
    sa.ForeignKeyConstraint(['zone_id'], ['demo_zone.id'], name=op.f('fk_demo_project_zone_id_demo_zone')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_project')),
    sa.UniqueConstraint('pairing_id', name=op.f('uq_demo_project_pairing_id'))
    )
    op.create_index(op.f('ix_demo_project_opportunity_id'), 'demo_project', ['opportunity_id'], unique=False)
    op.create_index(op.f('ix_demo_project_region_code'), 'demo_project', ['region_code'], unique=False)
    op.create_index(op.f('ix_demo_project_status'), 'demo_project', ['status'], unique=False)
    op.create_index(op.f('ix_demo_project_zone_id'), 'demo_project', ['zone_id'], unique=False)
    op.create_table('demo_milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_demo_milestone_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['project_id'], ['demo_project.id'], name=op.f('fk_demo_milestone_project_id_demo_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_milestone'))
    )
    op.create_index(op.f('ix_demo_milestone_project_id'), 'demo_milestone', ['project_id'], unique=False)
    op.create_table('demo_project_enterprise',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_demo_project_enterprise_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['project_id'], ['demo_project.id'], name=op.f('fk_demo_project_enterprise_project_id_demo_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'organisation_id', name=op.f('pk_demo_project_enterprise'))
    )
    op.create_index(op.f('ix_demo_project_enterprise_organisation_id'), 'demo_project_enterprise', ['organisation_id'], unique=False)
    op.create_table('demo_milestone_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['milestone_id'], ['demo_milestone.id'], name=op.f('fk_demo_milestone_evidence_milestone_id_demo_milestone'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_demo_milestone_evidence_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_milestone_evidence'))
    )
    op.create_index(op.f('ix_demo_milestone_evidence_milestone_id'), 'demo_milestone_evidence', ['milestone_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_demo_milestone_evidence_milestone_id'), table_name='demo_milestone_evidence')
    op.drop_table('demo_milestone_evidence')
    op.drop_index(op.f('ix_demo_project_enterprise_organisation_id'), table_name='demo_project_enterprise')
    op.drop_table('demo_project_enterprise')
    op.drop_index(op.f('ix_demo_milestone_project_id'), table_name='demo_milestone')
    op.drop_table('demo_milestone')
    op.drop_index(op.f('ix_demo_project_zone_id'), table_name='demo_project')
    op.drop_index(op.f('ix_demo_project_status'), table_name='demo_project')
    op.drop_index(op.f('ix_demo_project_region_code'), table_name='demo_project')
    op.drop_index(op.f('ix_demo_project_opportunity_id'), table_name='demo_project')
    op.drop_table('demo_project')
    op.drop_index(op.f('ix_growth_enterprise_region_code'), table_name='growth_enterprise')
    op.drop_table('growth_enterprise')
    op.drop_index(op.f('ix_demo_zone_region_code'), table_name='demo_zone')
    op.drop_table('demo_zone')
    op.drop_index(op.f('ix_demo_target_year'), table_name='demo_target')
    op.drop_table('demo_target')
