"""listings: assets, rights, evidence, valuations, listings, registrations, open licences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:33:27.563208
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import exchange.db
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('invention_patent', 'utility_model', 'design_patent', 'patent_application_right', 'software_copyright', 'ic_layout_design', 'plant_variety', 'technical_secret', name='assetkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('technical_field', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('filing_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('lapsed', sa.Boolean(), nullable=False),
    sa.Column('confidential_details', sa.Text(), nullable=True),
    sa.Column('holder_party_id', sa.Integer(), nullable=False),
    sa.Column('employee_invention_of_id', sa.Integer(), nullable=True),
    sa.Column('confirmation', sa.Enum('unconfirmed', 'pending', 'confirmed', 'rejected', name='assetconfirmation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('confirmed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind <> 'technical_secret' OR number IS NULL", name=op.f('ck_assets_secret_has_no_number')),
    sa.CheckConstraint("kind = 'technical_secret' OR number IS NOT NULL", name=op.f('ck_assets_number_required')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_assets_created_by_id_users')),
    sa.ForeignKeyConstraint(['employee_invention_of_id'], ['parties.id'], name=op.f('fk_assets_employee_invention_of_id_parties')),
    sa.ForeignKeyConstraint(['holder_party_id'], ['parties.id'], name=op.f('fk_assets_holder_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('number', name=op.f('uq_assets_number')),
    sa.UniqueConstraint('ref', name=op.f('uq_assets_ref'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assets_holder_party_id'), ['holder_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assets_technical_field'), ['technical_field'], unique=False)

    op.create_table('confirmation_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('checklist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('decision', sa.Enum('unconfirmed', 'pending', 'confirmed', 'rejected', name='assetconfirmation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_confirmation_reviews_asset_id_assets')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_confirmation_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_confirmation_reviews'))
    )
    with op.batch_alter_table('confirmation_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confirmation_reviews_asset_id'), ['asset_id'], unique=False)

    op.create_table('encumbrances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('pledge', 'exclusive_licence', 'sole_licence', 'court_freeze', name='encumbrancekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('holder_party_id', sa.Integer(), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('consent_to_transfer', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('pledge_ref', sa.String(length=20), nullable=True),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_encumbrances_dates_ordered')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_encumbrances_asset_id_assets')),
    sa.ForeignKeyConstraint(['holder_party_id'], ['parties.id'], name=op.f('fk_encumbrances_holder_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_encumbrances'))
    )
    with op.batch_alter_table('encumbrances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encumbrances_asset_id'), ['asset_id'], unique=False)

    op.create_table('evidence_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=100), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size > 0', name=op.f('ck_evidence_documents_size_positive')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_evidence_documents_asset_id_assets')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_evidence_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_documents')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_evidence_documents_storage_key'))
    )
    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_documents_asset_id'), ['asset_id'], unique=False)

    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('seller_party_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mode', sa.Enum('assignment', 'exclusive_licence', 'sole_licence', 'ordinary_licence', 'open_licence', 'capital_contribution', name='tradingmode', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('licence_term_months', sa.Integer(), nullable=True),
    sa.Column('territory', sa.String(length=200), nullable=True),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('increment_fen', sa.BigInteger(), nullable=False),
    sa.Column('auction_format', sa.String(length=20), nullable=False),
    sa.Column('free_bidding_minutes', sa.Integer(), nullable=False),
    sa.Column('countdown_seconds', sa.Integer(), nullable=False),
    sa.Column('hard_end_minutes', sa.Integer(), nullable=True),
    sa.Column('leader_may_raise', sa.Boolean(), nullable=False),
    sa.Column('qualification_conditions', sa.Text(), nullable=False),
    sa.Column('disclosures', sa.Text(), nullable=False),
    sa.Column('publicity_working_days', sa.Integer(), nullable=False),
    sa.Column('allows_extension', sa.Boolean(), nullable=False),
    sa.Column('max_extensions', sa.Integer(), nullable=False),
    sa.Column('extensions_used', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'rejected', 'published', 'suspended', 'awaiting_negotiation', 'awaiting_auction', 'in_auction', 'sold', 'unsold', 'terminated', 'withdrawn', name='listingstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('previous_listing_id', sa.Integer(), nullable=True),
    sa.Column('below_appraisal_approval', sa.Text(), nullable=True),
    sa.Column('publicity_start', sa.Date(), nullable=True),
    sa.Column('publicity_end', sa.Date(), nullable=True),
    sa.Column('publicity_ends_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('publicity_provisional', sa.Boolean(), nullable=False),
    sa.Column('days_served', sa.Integer(), nullable=False),
    sa.Column('suspended_on', sa.Date(), nullable=True),
    sa.Column('published_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deal_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('attempt >= 1', name=op.f('ck_listings_attempt_positive')),
    sa.CheckConstraint('deposit_fen > 0 AND deposit_fen * 10 <= price_fen * 3', name=op.f('ck_listings_deposit_at_most_30pct')),
    sa.CheckConstraint('increment_fen > 0', name=op.f('ck_listings_increment_positive')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_listings_price_positive')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_listings_asset_id_assets')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_listings_created_by_id_users')),
    sa.ForeignKeyConstraint(['previous_listing_id'], ['listings.id'], name=op.f('fk_listings_previous_listing_id_listings')),
    sa.ForeignKeyConstraint(['seller_party_id'], ['parties.id'], name=op.f('fk_listings_seller_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings')),
    sa.UniqueConstraint('ref', name=op.f('uq_listings_ref'))
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listings_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_mode'), ['mode'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_publicity_end'), ['publicity_end'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_publicity_ends_at'), ['publicity_ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_seller_party_id'), ['seller_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_state'), ['state'], unique=False)
        batch_op.create_index('ix_listings_state_publicity_end', ['state', 'publicity_end'], unique=False)

    op.create_table('open_licence_declarations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('seller_party_id', sa.Integer(), nullable=False),
    sa.Column('fee_kind', sa.Enum('lump_sum', 'royalty', 'entry_fee_plus_royalty', name='openlicencefeekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('lump_sum_fen', sa.BigInteger(), nullable=True),
    sa.Column('entry_fee_fen', sa.BigInteger(), nullable=True),
    sa.Column('royalty_rate', sa.String(length=12), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=False),
    sa.Column('declared_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_open_licence_declarations_asset_id_assets')),
    sa.ForeignKeyConstraint(['seller_party_id'], ['parties.id'], name=op.f('fk_open_licence_declarations_seller_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_licence_declarations')),
    sa.UniqueConstraint('ref', name=op.f('uq_open_licence_declarations_ref'))
    )
    with op.batch_alter_table('open_licence_declarations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_licence_declarations_asset_id'), ['asset_id'], unique=False)

    op.create_table('right_holdings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('right_type', sa.Enum('ownership', 'operating', 'revenue', name='righttype', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_right_holdings_asset_id_assets')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_right_holdings_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_right_holdings')),
    sa.UniqueConstraint('asset_id', 'party_id', 'right_type', name='uq_right_holdings_asset_party_right')
    )
    with op.batch_alter_table('right_holdings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_right_holdings_asset_id'), ['asset_id'], unique=False)

    op.create_table('valuations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('cost', 'income', 'market', name='valuationmethod', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_valuations_asset_id_assets')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_valuations_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_valuations')),
    sa.UniqueConstraint('ref', name=op.f('uq_valuations_ref'))
    )
    with op.batch_alter_table('valuations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_valuations_asset_id'), ['asset_id'], unique=False)

    op.create_table('appraisals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('appraiser', sa.String(length=200), nullable=False),
    sa.Column('report_number', sa.String(length=60), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('report_date', sa.Date(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('value_fen > 0', name=op.f('ck_appraisals_value_positive')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_appraisals_asset_id_assets')),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_appraisals_document_id_evidence_documents')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_appraisals_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisals'))
    )
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appraisals_asset_id'), ['asset_id'], unique=False)

    op.create_table('asset_owners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('share_bp', sa.Integer(), nullable=True),
    sa.Column('consented', sa.Boolean(), nullable=False),
    sa.Column('consent_document_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('share_bp IS NULL OR (share_bp > 0 AND share_bp <= 10000)', name=op.f('ck_asset_owners_share_range')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_owners_asset_id_assets')),
    sa.ForeignKeyConstraint(['consent_document_id'], ['evidence_documents.id'], name=op.f('fk_asset_owners_consent_document_id_evidence_documents')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_asset_owners_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_owners')),
    sa.UniqueConstraint('asset_id', 'party_id', name='uq_asset_owners_asset_id_party_id')
    )
    with op.batch_alter_table('asset_owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_owners_asset_id'), ['asset_id'], unique=False)

    op.create_table('buyer_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('buyer_party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending_deposit', 'deposit_paid', 'qualified', 'rejected', 'lapsed', 'withdrawn', name='registrationstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('declaration', sa.Text(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('deposit_due_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deposit_paid_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('registered_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('deposit_fen >= 0', name=op.f('ck_buyer_registrations_deposit_not_negative')),
    sa.ForeignKeyConstraint(['buyer_party_id'], ['parties.id'], name=op.f('fk_buyer_registrations_buyer_party_id_parties')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_buyer_registrations_listing_id_listings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_buyer_registrations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_registrations')),
    sa.UniqueConstraint('listing_id', 'buyer_party_id', name='uq_buyer_registrations_listing_buyer'),
    sa.UniqueConstraint('ref', name=op.f('uq_buyer_registrations_ref'))
    )
    with op.batch_alter_table('buyer_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_buyer_registrations_buyer_party_id'), ['buyer_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_buyer_registrations_listing_id'), ['listing_id'], unique=False)

    op.create_table('invention_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('institution_party_id', sa.Integer(), nullable=False),
    sa.Column('grantee_party_id', sa.Integer(), nullable=False),
    sa.Column('trading_modes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_invention_authorisations_asset_id_assets')),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_invention_authorisations_document_id_evidence_documents')),
    sa.ForeignKeyConstraint(['grantee_party_id'], ['parties.id'], name=op.f('fk_invention_authorisations_grantee_party_id_parties')),
    sa.ForeignKeyConstraint(['institution_party_id'], ['parties.id'], name=op.f('fk_invention_authorisations_institution_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invention_authorisations'))
    )
    with op.batch_alter_table('invention_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invention_authorisations_asset_id'), ['asset_id'], unique=False)

    op.create_table('open_licence_takings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('licensee_party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('notice', sa.Text(), nullable=False),
    sa.Column('taken_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['open_licence_declarations.id'], name=op.f('fk_open_licence_takings_declaration_id_open_licence_declarations')),
    sa.ForeignKeyConstraint(['licensee_party_id'], ['parties.id'], name=op.f('fk_open_licence_takings_licensee_party_id_parties')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_open_licence_takings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_licence_takings')),
    sa.UniqueConstraint('declaration_id', 'licensee_party_id', name='uq_open_licence_takings_declaration_licensee')
    )
    with op.batch_alter_table('open_licence_takings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_licence_takings_declaration_id'), ['declaration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('open_licence_takings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_licence_takings_declaration_id'))

    op.drop_table('open_licence_takings')
    with op.batch_alter_table('invention_authorisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invention_authorisations_asset_id'))

    op.drop_table('invention_authorisations')
    with op.batch_alter_table('buyer_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_buyer_registrations_listing_id'))
        batch_op.drop_index(batch_op.f('ix_buyer_registrations_buyer_party_id'))

    op.drop_table('buyer_registrations')
    with op.batch_alter_table('asset_owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_owners_asset_id'))

    op.drop_table('asset_owners')
    with op.batch_alter_table('appraisals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisals_asset_id'))

    op.drop_table('appraisals')
    with op.batch_alter_table('valuations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_valuations_asset_id'))

    op.drop_table('valuations')
    with op.batch_alter_table('right_holdings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_right_holdings_asset_id'))

    op.drop_table('right_holdings')
    with op.batch_alter_table('open_licence_declarations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_licence_declarations_asset_id'))

    op.drop_table('open_licence_declarations')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_state_publicity_end')
        batch_op.drop_index(batch_op.f('ix_listings_state'))
        batch_op.drop_index(batch_op.f('ix_listings_seller_party_id'))
        batch_op.drop_index(batch_op.f('ix_listings_publicity_ends_at'))
        batch_op.drop_index(batch_op.f('ix_listings_publicity_end'))
        batch_op.drop_index(batch_op.f('ix_listings_mode'))
        batch_op.drop_index(batch_op.f('ix_listings_asset_id'))

    op.drop_table('listings')
    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_documents_asset_id'))

    op.drop_table('evidence_documents')
    with op.batch_alter_table('encumbrances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_encumbrances_asset_id'))

    op.drop_table('encumbrances')
    with op.batch_alter_table('confirmation_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_confirmation_reviews_asset_id'))

    op.drop_table('confirmation_reviews')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_technical_field'))
        batch_op.drop_index(batch_op.f('ix_assets_holder_party_id'))

    op.drop_table('assets')
