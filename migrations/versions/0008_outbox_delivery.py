"""outbox_messages: index on the recipient (the members' inbox) and the email delivery state

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 03:10:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import exchange.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mails_sent", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", exchange.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_outbox_messages_delivery_counts_not_negative"),
                                         "mails_sent >= 0 AND attempts >= 0")
        batch_op.create_index(batch_op.f("ix_outbox_messages_recipient_party_id"), ["recipient_party_id"], unique=False)
    # A notice marked sent before this revision was mailed (to at least one user).
    op.execute("UPDATE outbox_messages SET mails_sent = 1 WHERE sent_at IS NOT NULL")
    # The defaults only filled the existing rows; the models give every new row its values.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("mails_sent", server_default=None)
        batch_op.alter_column("attempts", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_recipient_party_id"))
        batch_op.drop_constraint(op.f("ck_outbox_messages_delivery_counts_not_negative"), type_="check")
        batch_op.drop_column("last_error")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("mails_sent")
