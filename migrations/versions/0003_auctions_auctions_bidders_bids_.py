"""auctions: auctions, bidders, bids, negotiations, deals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:37:39.545094
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import exchange.db
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('ascending', 'sealed', 'descending', name='auctionformat', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('state', sa.Enum('scheduled', 'open', 'closed', 'cancelled', name='auctionstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('start_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('increment_fen', sa.BigInteger(), nullable=True),
    sa.Column('starts_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('free_period_ends_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('countdown_seconds', sa.Integer(), nullable=False),
    sa.Column('hard_end_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('leader_may_raise', sa.Boolean(), nullable=False),
    sa.Column('sealed_closes_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('step_down_fen', sa.BigInteger(), nullable=True),
    sa.Column('step_interval_seconds', sa.Integer(), nullable=True),
    sa.Column('floor_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('current_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('leader_bidder_no', sa.String(length=10), nullable=True),
    sa.Column('bid_count', sa.Integer(), nullable=False),
    sa.Column('last_bid_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('effective_end_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hammer_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('winner_bidder_no', sa.String(length=10), nullable=True),
    sa.Column('unsold', sa.Boolean(), nullable=False),
    sa.Column('result_published_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('bid_count >= 0', name=op.f('ck_auctions_bid_count_not_negative')),
    sa.CheckConstraint('start_price_fen > 0', name=op.f('ck_auctions_start_price_positive')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_auctions_listing_id_listings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auctions')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_auctions_listing_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_auctions_ref'))
    )
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auctions_effective_end_at'), ['effective_end_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_auctions_state'), ['state'], unique=False)

    op.create_table('auction_bidders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('auction_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('bidder_no', sa.String(length=10), nullable=False),
    sa.Column('defaulted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_auction_bidders_auction_id_auctions')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_auction_bidders_party_id_parties')),
    sa.ForeignKeyConstraint(['registration_id'], ['buyer_registrations.id'], name=op.f('fk_auction_bidders_registration_id_buyer_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auction_bidders')),
    sa.UniqueConstraint('auction_id', 'bidder_no', name='uq_auction_bidders_auction_id_bidder_no'),
    sa.UniqueConstraint('auction_id', 'party_id', name='uq_auction_bidders_auction_id_party_id'),
    sa.UniqueConstraint('registration_id', name=op.f('uq_auction_bidders_registration_id'))
    )
    with op.batch_alter_table('auction_bidders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auction_bidders_auction_id'), ['auction_id'], unique=False)

    op.create_table('negotiations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'buyer_confirmed', 'concluded', 'failed', name='negotiationstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=True),
    sa.Column('buyer_confirmed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('concluded_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_negotiations_listing_id_listings')),
    sa.ForeignKeyConstraint(['registration_id'], ['buyer_registrations.id'], name=op.f('fk_negotiations_registration_id_buyer_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_negotiations')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_negotiations_listing_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_negotiations_ref'))
    )
    op.create_table('bids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('auction_id', sa.Integer(), nullable=False),
    sa.Column('bidder_id', sa.Integer(), nullable=False),
    sa.Column('bidder_no', sa.String(length=10), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('placed_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bids_amount_positive')),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_bids_auction_id_auctions')),
    sa.ForeignKeyConstraint(['bidder_id'], ['auction_bidders.id'], name=op.f('fk_bids_bidder_id_auction_bidders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bids')),
    sa.UniqueConstraint('auction_id', 'seq', name='uq_bids_auction_id_seq')
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index('uq_bids_one_sealed_per_bidder', ['auction_id', 'bidder_id'], unique=True, sqlite_where=sa.text('sealed = 1'), postgresql_where=sa.text('sealed'))
        batch_op.create_index('uq_bids_open_price_step', ['auction_id', 'amount_fen'], unique=True, sqlite_where=sa.text('sealed = 0'), postgresql_where=sa.text('NOT sealed'))

    op.create_table('deals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('method', sa.Enum('auction', 'negotiation', 'open_licence', name='dealmethod', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('state', sa.Enum('struck', 'in_force', 'completed', 'defaulted', 'cancelled', name='dealstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('seller_party_id', sa.Integer(), nullable=False),
    sa.Column('buyer_party_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('assignment', 'exclusive_licence', 'sole_licence', 'ordinary_licence', 'open_licence', 'capital_contribution', name='tradingmode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('auction_id', sa.Integer(), nullable=True),
    sa.Column('negotiation_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('open_licence_taking_id', sa.Integer(), nullable=True),
    sa.Column('replaces_deal_id', sa.Integer(), nullable=True),
    sa.Column('terms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('struck_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sign_by', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('in_force_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_deals_price_not_negative')),
    sa.CheckConstraint('seller_party_id <> buyer_party_id', name=op.f('ck_deals_distinct_parties')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_deals_asset_id_assets')),
    sa.ForeignKeyConstraint(['auction_id'], ['auctions.id'], name=op.f('fk_deals_auction_id_auctions')),
    sa.ForeignKeyConstraint(['buyer_party_id'], ['parties.id'], name=op.f('fk_deals_buyer_party_id_parties')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_deals_listing_id_listings')),
    sa.ForeignKeyConstraint(['negotiation_id'], ['negotiations.id'], name=op.f('fk_deals_negotiation_id_negotiations')),
    sa.ForeignKeyConstraint(['open_licence_taking_id'], ['open_licence_takings.id'], name=op.f('fk_deals_open_licence_taking_id_open_licence_takings')),
    sa.ForeignKeyConstraint(['registration_id'], ['buyer_registrations.id'], name=op.f('fk_deals_registration_id_buyer_registrations')),
    sa.ForeignKeyConstraint(['replaces_deal_id'], ['deals.id'], name=op.f('fk_deals_replaces_deal_id_deals')),
    sa.ForeignKeyConstraint(['seller_party_id'], ['parties.id'], name=op.f('fk_deals_seller_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deals')),
    sa.UniqueConstraint('open_licence_taking_id', name=op.f('uq_deals_open_licence_taking_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_deals_ref'))
    )
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deals_buyer_party_id'), ['buyer_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_seller_party_id'), ['seller_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deals_state'), ['state'], unique=False)
        batch_op.create_index('uq_deals_one_live_per_listing', ['listing_id'], unique=True, sqlite_where=sa.text("state IN ('struck', 'in_force', 'completed')"), postgresql_where=sa.text("state IN ('struck', 'in_force', 'completed')"))



def downgrade() -> None:
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index('uq_deals_one_live_per_listing', sqlite_where=sa.text("state IN ('struck', 'in_force', 'completed')"), postgresql_where=sa.text("state IN ('struck', 'in_force', 'completed')"))
        batch_op.drop_index(batch_op.f('ix_deals_state'))
        batch_op.drop_index(batch_op.f('ix_deals_seller_party_id'))
        batch_op.drop_index(batch_op.f('ix_deals_listing_id'))
        batch_op.drop_index(batch_op.f('ix_deals_buyer_party_id'))

    op.drop_table('deals')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index('uq_bids_open_price_step', sqlite_where=sa.text('sealed = 0'), postgresql_where=sa.text('NOT sealed'))
        batch_op.drop_index('uq_bids_one_sealed_per_bidder', sqlite_where=sa.text('sealed = 1'), postgresql_where=sa.text('sealed'))

    op.drop_table('bids')
    op.drop_table('negotiations')
    with op.batch_alter_table('auction_bidders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auction_bidders_auction_id'))

    op.drop_table('auction_bidders')
    with op.batch_alter_table('auctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auctions_state'))
        batch_op.drop_index(batch_op.f('ix_auctions_effective_end_at'))

    op.drop_table('auctions')
