"""registrations: declaration and qualification times, the withdrawal's forfeit; listings: when
published terms and qualification conditions last changed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import exchange.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms_changed_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("conditions_changed_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("buyer_registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declared_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("qualified_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("forfeit_on_withdrawal", sa.Boolean(), nullable=True))
    # Existing registrations declared when they registered. Their qualification time is in the audit
    # trail; until now any withdrawal after qualifying forfeited the deposit, so that is what a past
    # withdrawal decided.
    op.execute("UPDATE buyer_registrations SET declared_at = registered_at")
    # A qualified registration without its audit event (the trail is append-only, so only hand-made
    # data) counts as qualified when it was decided.
    op.execute("""
        UPDATE buyer_registrations SET qualified_at = COALESCE((
            SELECT MAX(e.occurred_at) FROM audit_events e
            WHERE e.subject_type = 'registration' AND e.subject_ref = buyer_registrations.ref
              AND e.action = 'registration.qualified'), CASE WHEN state = 'qualified' THEN decided_at END)
        WHERE state IN ('qualified', 'withdrawn')""")
    op.execute("UPDATE buyer_registrations SET forfeit_on_withdrawal = (qualified_at IS NOT NULL) "
               "WHERE state = 'withdrawn'")
    with op.batch_alter_table("buyer_registrations", schema=None) as batch_op:
        batch_op.alter_column("declared_at", existing_type=exchange.db.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    # Lossy: when terms changed and how each withdrawal was decided go (0006 forfeits every withdrawal
    # after qualifying); upgrading again restores them from the audit trail only as that rule says.
    with op.batch_alter_table("buyer_registrations", schema=None) as batch_op:
        batch_op.drop_column("forfeit_on_withdrawal")
        batch_op.drop_column("qualified_at")
        batch_op.drop_column("declared_at")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("conditions_changed_at")
        batch_op.drop_column("terms_changed_at")
