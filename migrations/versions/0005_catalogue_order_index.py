"""catalogue order index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:03:28.895022
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import exchange.db
from sqlalchemy.dialects import postgresql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index('ix_listings_published_at_id', ['published_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_published_at_id')

