"""settlement state 'cancelled': a deal called off before it took effect, the buyer not at fault

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_NAME = "ck_deal_settlements_settlementstate"
_BEFORE = ("awaiting_contract", "awaiting_payment", "price_in", "paid_out", "defaulted")
_AFTER = _BEFORE + ("cancelled",)


def _allow(states: tuple[str, ...]) -> None:
    # The enum's CHECK is named by the naming convention, so both backends can address it; on SQLite
    # the batch operation rebuilds the table with the new rule.
    with op.batch_alter_table("deal_settlements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(_NAME), type_="check")
        batch_op.create_check_constraint(op.f(_NAME), sa.column("state").in_(states))


def upgrade() -> None:
    _allow(_AFTER)


def downgrade() -> None:
    op.execute("UPDATE deal_settlements SET state = 'defaulted' WHERE state = 'cancelled'")
    _allow(_BEFORE)
