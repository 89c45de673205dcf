"""settlement and contracts: ledger, holds, payments, credit, pledges; contracts, registrations, certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:55:18.985787
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import exchange.db
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LEDGER_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    eid integer;
    n integer;
    foreign_rows integer;
    unbalanced integer;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    -- Every posting of an entry is written by the transaction (and savepoint) that wrote the
    -- entry, so a later writer cannot add lines to it, not even balanced ones.
    SELECT count(*), count(*) FILTER (WHERE NOT p.xmin = e.xmin)
      INTO n, foreign_rows
      FROM journal_entries e JOIN postings p ON p.entry_id = e.id
     WHERE e.id = eid;
    IF n < 2 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'journal entry ' || eid || ' has fewer than two postings';
    END IF;
    IF foreign_rows > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'journal entry ' || eid || ' is immutable: postings were added by another transaction';
    END IF;
    SELECT count(*) INTO unbalanced FROM (
        SELECT currency FROM postings WHERE entry_id = eid GROUP BY currency HAVING sum(amount_fen) <> 0
    ) AS off_balance;
    IF unbalanced > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'journal entry ' || eid || ' does not balance: postings must sum to zero per currency';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = TG_TABLE_NAME || ' are immutable: correct a journal entry by posting its reversal';
END
$$;

CREATE CONSTRAINT TRIGGER postings_entry_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry();
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry();
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

LEDGER_TRIGGER_DROP_SQL = """
DROP TRIGGER IF EXISTS journal_entries_no_truncate ON journal_entries;
DROP TRIGGER IF EXISTS journal_entries_immutable ON journal_entries;
DROP TRIGGER IF EXISTS journal_entries_balanced ON journal_entries;
DROP TRIGGER IF EXISTS postings_no_truncate ON postings;
DROP TRIGGER IF EXISTS postings_immutable ON postings;
DROP TRIGGER IF EXISTS postings_entry_balanced ON postings;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP FUNCTION IF EXISTS ledger_check_entry();
"""


def upgrade() -> None:
    op.create_table('fee_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_schedules')),
    sa.UniqueConstraint('version', name=op.f('uq_fee_schedules_version'))
    )
    with op.batch_alter_table('fee_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_schedules_effective_from'), ['effective_from'], unique=False)

    op.create_table('settlement_settings',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settlement_settings'))
    )
    op.create_table('bank_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('bank_reference', sa.String(length=64), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('payer_name', sa.String(length=200), nullable=False),
    sa.Column('payer_account', sa.String(length=64), nullable=False),
    sa.Column('payer_party_id', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purpose', sa.Enum('deposit', 'price', 'fee', 'instalment', 'other', name='paymentpurpose', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('purpose_ref', sa.String(length=20), nullable=True),
    sa.Column('remittance_info', sa.String(length=200), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('received_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('state', sa.Enum('suspense', 'matched', 'returned', name='notificationstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('flag', sa.Enum('exact', 'short', 'over', 'unexpected', name='paymentflag', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('expected_fen', sa.BigInteger(), nullable=True),
    sa.Column('matched_kind', sa.Enum('registration', 'deal', 'party', 'instrument', name='matchtarget', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('matched_ref', sa.String(length=20), nullable=True),
    sa.Column('matched_party_id', sa.Integer(), nullable=True),
    sa.Column('matched_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('matched_by', sa.String(length=120), nullable=True),
    sa.Column('returned_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bank_notifications_amount_positive')),
    sa.ForeignKeyConstraint(['matched_party_id'], ['parties.id'], name=op.f('fk_bank_notifications_matched_party_id_parties')),
    sa.ForeignKeyConstraint(['payer_party_id'], ['parties.id'], name=op.f('fk_bank_notifications_payer_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_notifications')),
    sa.UniqueConstraint('bank_reference', name=op.f('uq_bank_notifications_bank_reference')),
    sa.UniqueConstraint('ref', name=op.f('uq_bank_notifications_ref'))
    )
    with op.batch_alter_table('bank_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_notifications_payer_party_id'), ['payer_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_notifications_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_notifications_value_date'), ['value_date'], unique=False)

    op.create_table('credit_instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('guarantee_letter', 'ip_insurance', 'third_party_guarantee', name='instrumentkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('state', sa.Enum('active', 'revoked', 'called', name='instrumentstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('claim_fen', sa.BigInteger(), nullable=False),
    sa.Column('claim_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('revoked_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_credit_instruments_amount_positive')),
    sa.CheckConstraint('claim_paid_fen >= 0 AND claim_paid_fen <= claim_fen AND claim_fen <= amount_fen', name=op.f('ck_credit_instruments_claim_within_amount')),
    sa.CheckConstraint('issued_on IS NULL OR issued_on <= expires_on', name=op.f('ck_credit_instruments_dates_ordered')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_credit_instruments_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_instruments')),
    sa.UniqueConstraint('ref', name=op.f('uq_credit_instruments_ref'))
    )
    with op.batch_alter_table('credit_instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_instruments_party_id'), ['party_id'], unique=False)

    op.create_table('ledger_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('party_cash', 'party_deposit', 'party_receivable', 'deposit_pool', 'escrow', 'fee_income', 'bank_clearing', 'suspense', 'forfeiture_income', name='accountkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("substr(kind, 1, 6) <> 'party_' OR party_id IS NOT NULL", name=op.f('ck_ledger_accounts_party_account_has_party')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_ledger_accounts_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('key', 'currency', name='uq_ledger_accounts_key_currency')
    )
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_accounts_party_id'), ['party_id'], unique=False)

    op.create_table('pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('pledgor_party_id', sa.Integer(), nullable=False),
    sa.Column('pledgee_party_id', sa.Integer(), nullable=True),
    sa.Column('pledgee_name', sa.String(length=200), nullable=False),
    sa.Column('secured_debt', sa.Text(), nullable=False),
    sa.Column('secured_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('state', sa.Enum('active', 'released', name='pledgestate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('consented_modes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('registration_number', sa.String(length=60), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_pledges_dates_ordered')),
    sa.CheckConstraint('secured_amount_fen > 0', name=op.f('ck_pledges_amount_positive')),
    sa.ForeignKeyConstraint(['pledgee_party_id'], ['parties.id'], name=op.f('fk_pledges_pledgee_party_id_parties')),
    sa.ForeignKeyConstraint(['pledgor_party_id'], ['parties.id'], name=op.f('fk_pledges_pledgor_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('ref', name=op.f('uq_pledges_ref'))
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledges_pledgee_party_id'), ['pledgee_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledges_pledgor_party_id'), ['pledgor_party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledges_state'), ['state'], unique=False)

    op.create_table('pledge_assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('encumbrance_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_pledge_assets_asset_id_assets')),
    sa.ForeignKeyConstraint(['encumbrance_id'], ['encumbrances.id'], name=op.f('fk_pledge_assets_encumbrance_id_encumbrances')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_assets_pledge_id_pledges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_assets')),
    sa.UniqueConstraint('encumbrance_id', name=op.f('uq_pledge_assets_encumbrance_id')),
    sa.UniqueConstraint('pledge_id', 'asset_id', name='uq_pledge_assets_pledge_id_asset_id')
    )
    with op.batch_alter_table('pledge_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_assets_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledge_assets_pledge_id'), ['pledge_id'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('drafted', 'partly_signed', 'in_force', 'terminated', 'cancelled', name='contractstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('contract_type', sa.Enum('development', 'transfer', 'licence', 'consulting', 'service', name='contracttype', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subtype', sa.Enum('development_commissioned', 'development_cooperative', 'transfer_patent_right', 'transfer_patent_application_right', 'transfer_technical_secret', 'transfer_other', 'licence_exclusive', 'licence_sole', 'licence_ordinary', 'consulting', 'service_general', 'service_training', 'service_brokerage', name='contractsubtype', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('text_edited', sa.Boolean(), nullable=False),
    sa.Column('drafted_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('in_force_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('length(text_sha256) = 64', name=op.f('ck_contracts_text_sha256_length')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_contracts_deal_id_deals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_contracts_deal_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_contracts_ref'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_contract_type'), ['contract_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_drafted_at'), ['drafted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_state'), ['state'], unique=False)

    op.create_table('credit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('on_time_payment', 'late_payment', 'default', 'forfeiture', 'dispute', 'completed_deal', name='crediteventkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('source_key', sa.String(length=160), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_credit_events_deal_id_deals')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_credit_events_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_events')),
    sa.UniqueConstraint('source_key', name=op.f('uq_credit_events_source_key'))
    )
    with op.batch_alter_table('credit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_events_party_id'), ['party_id'], unique=False)

    op.create_table('journal_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('bank_in', 'suspense_matched', 'suspense_returned', 'deposit_funded', 'deposit_applied', 'deposit_released', 'deposit_forfeited', 'deal_payment', 'escrow_returned', 'payout', 'disbursement', 'reversal', name='entrykind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source_key', sa.String(length=160), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('reverses_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_journal_entries_deal_id_deals')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_journal_entries_party_id_parties')),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['journal_entries.id'], name=op.f('fk_journal_entries_reverses_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('ref', name=op.f('uq_journal_entries_ref')),
    sa.UniqueConstraint('reverses_entry_id', name=op.f('uq_journal_entries_reverses_entry_id')),
    sa.UniqueConstraint('source_key', name=op.f('uq_journal_entries_source_key'))
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entries_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_journal_entries_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_journal_entries_party_id'), ['party_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('short_code', sa.String(length=10), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.Enum('valid', 'revoked', name='certificatestate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('issued_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.Column('revoked_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by', sa.String(length=120), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("(state = 'revoked') = (revoked_at IS NOT NULL)", name=op.f('ck_certificates_revoked_has_time')),
    sa.CheckConstraint('serial > 0', name=op.f('ck_certificates_serial_positive')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_certificates_contract_id_contracts')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_certificates_deal_id_deals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_certificates_deal_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_certificates_ref')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificates_serial')),
    sa.UniqueConstraint('short_code', name=op.f('uq_certificates_short_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_state'), ['state'], unique=False)

    op.create_table('contract_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('seller', 'buyer', name='signingside', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signed_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_signatures_contract_id_contracts')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_contract_signatures_party_id_parties')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contract_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_signatures')),
    sa.UniqueConstraint('contract_id', 'side', name='uq_contract_signatures_contract_id_side')
    )
    with op.batch_alter_table('contract_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_signatures_contract_id'), ['contract_id'], unique=False)

    op.create_table('deposit_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('cover_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'held', 'applied', 'released', 'forfeited', name='holdstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('funded_by', sa.String(length=12), nullable=True),
    sa.Column('funded_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('funding_entry_id', sa.Integer(), nullable=True),
    sa.Column('release_due_on', sa.Date(), nullable=True),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('resolution_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(state IN ('applied', 'released', 'forfeited')) = (resolved_at IS NOT NULL)", name=op.f('ck_deposit_holds_resolved_iff_final')),
    sa.CheckConstraint('cash_fen >= 0 AND cover_fen >= 0 AND amount_fen = cash_fen + cover_fen', name=op.f('ck_deposit_holds_amounts_add_up')),
    sa.CheckConstraint('cover_fen = 0 OR instrument_id IS NOT NULL', name=op.f('ck_deposit_holds_cover_names_instrument')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deposit_holds_deal_id_deals')),
    sa.ForeignKeyConstraint(['funding_entry_id'], ['journal_entries.id'], name=op.f('fk_deposit_holds_funding_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['instrument_id'], ['credit_instruments.id'], name=op.f('fk_deposit_holds_instrument_id_credit_instruments')),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], name=op.f('fk_deposit_holds_listing_id_listings')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_deposit_holds_party_id_parties')),
    sa.ForeignKeyConstraint(['registration_id'], ['buyer_registrations.id'], name=op.f('fk_deposit_holds_registration_id_buyer_registrations')),
    sa.ForeignKeyConstraint(['resolution_entry_id'], ['journal_entries.id'], name=op.f('fk_deposit_holds_resolution_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deposit_holds')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_deposit_holds_registration_id'))
    )
    with op.batch_alter_table('deposit_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deposit_holds_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposit_holds_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposit_holds_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposit_holds_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposit_holds_release_due_on'), ['release_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposit_holds_state'), ['state'], unique=False)

    op.create_table('disbursements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('payout', 'refund', name='disbursementkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source_key', sa.String(length=160), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_disbursements_amount_positive')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_disbursements_deal_id_deals')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_disbursements_entry_id_journal_entries')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_disbursements_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursements')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_disbursements_entry_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_disbursements_ref')),
    sa.UniqueConstraint('source_key', name=op.f('uq_disbursements_source_key'))
    )
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disbursements_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disbursements_party_id'), ['party_id'], unique=False)

    op.create_table('non_technical_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_non_technical_items_amount_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_non_technical_items_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_non_technical_items')),
    sa.UniqueConstraint('contract_id', 'position', name='uq_non_technical_items_contract_id_position')
    )
    with op.batch_alter_table('non_technical_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_non_technical_items_contract_id'), ['contract_id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.CheckConstraint('amount_fen <> 0', name=op.f('ck_postings_amount_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_postings_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_entry_id'), ['entry_id'], unique=False)

    op.create_table('tech_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('submitted', 'registered', 'refused', 'changed', 'cancelled', name='registrationstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('registration_number', sa.String(length=18), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('contract_name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('asset_refs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('contract_type', sa.Enum('development', 'transfer', 'licence', 'consulting', 'service', name='contracttype', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subtype', sa.Enum('development_commissioned', 'development_cooperative', 'transfer_patent_right', 'transfer_patent_application_right', 'transfer_technical_secret', 'transfer_other', 'licence_exclusive', 'licence_sole', 'licence_ordinary', 'consulting', 'service_general', 'service_training', 'service_brokerage', name='contractsubtype', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('technical_field', sa.String(length=40), nullable=False),
    sa.Column('ip_type', sa.String(length=40), nullable=False),
    sa.Column('signing_date', sa.Date(), nullable=True),
    sa.Column('term_start', sa.Date(), nullable=True),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('licence_term_years', sa.String(length=12), nullable=True),
    sa.Column('deal_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('tech_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('parties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('seller_state_owned', sa.Boolean(), nullable=False),
    sa.Column('appraisal_filed', sa.Boolean(), nullable=False),
    sa.Column('seller_is_resident_company', sa.Boolean(), nullable=False),
    sa.Column('export_controlled', sa.Boolean(), nullable=False),
    sa.Column('export_licence_obtained', sa.Boolean(), nullable=False),
    sa.Column('restrictive_clauses_flagged', sa.Boolean(), nullable=False),
    sa.Column('disputed', sa.Boolean(), nullable=False),
    sa.Column('wholly_related', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.String(length=120), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('overdue_flagged_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('refusal_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('tax_relief', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('deal_amount_fen >= 0', name=op.f('ck_tech_registrations_deal_amount_not_negative')),
    sa.CheckConstraint('tech_amount_fen <= deal_amount_fen', name=op.f('ck_tech_registrations_tech_amount_within_deal')),
    sa.CheckConstraint('tech_amount_fen >= 0', name=op.f('ck_tech_registrations_tech_amount_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_tech_registrations_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tech_registrations')),
    sa.UniqueConstraint('ref', name=op.f('uq_tech_registrations_ref')),
    sa.UniqueConstraint('registration_number', name=op.f('uq_tech_registrations_registration_number'))
    )
    with op.batch_alter_table('tech_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tech_registrations_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tech_registrations_contract_type'), ['contract_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_tech_registrations_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_tech_registrations_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_tech_registrations_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index('uq_tech_registrations_one_live_per_contract', ['contract_id'], unique=True, sqlite_where=sa.text("state IN ('submitted', 'registered', 'changed')"), postgresql_where=sa.text("state IN ('submitted', 'registered', 'changed')"))

    op.create_table('deal_settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('awaiting_contract', 'awaiting_payment', 'price_in', 'paid_out', 'defaulted', name='settlementstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_schedule_version', sa.String(length=40), nullable=False),
    sa.Column('fee_method', sa.String(length=12), nullable=False),
    sa.Column('buyer_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('seller_fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('applied_deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('plan_kind', sa.Enum('lump_sum', 'instalments', name='paymentplankind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('fee_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('payments_applied', sa.Integer(), nullable=False),
    sa.Column('price_in_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('transfer_confirmed_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('transfer_confirmed_by', sa.String(length=120), nullable=True),
    sa.Column('transfer_evidence', sa.Text(), nullable=True),
    sa.Column('transfer_document_sha256', sa.String(length=64), nullable=True),
    sa.Column('paid_out_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payout_entry_id', sa.Integer(), nullable=True),
    sa.Column('defaulted_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('applied_deposit_fen >= 0 AND applied_deposit_fen <= price_fen', name=op.f('ck_deal_settlements_deposit_within_price')),
    sa.CheckConstraint('fee_paid_fen >= 0 AND fee_paid_fen <= buyer_fee_fen', name=op.f('ck_deal_settlements_fee_paid_within_fee')),
    sa.CheckConstraint('price_fen >= 0 AND buyer_fee_fen >= 0 AND seller_fee_fen >= 0 AND seller_fee_fen <= price_fen', name=op.f('ck_deal_settlements_amounts_valid')),
    sa.CheckConstraint('price_paid_fen >= 0 AND price_paid_fen + applied_deposit_fen <= price_fen', name=op.f('ck_deal_settlements_price_paid_within_price')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_settlements_deal_id_deals')),
    sa.ForeignKeyConstraint(['hold_id'], ['deposit_holds.id'], name=op.f('fk_deal_settlements_hold_id_deposit_holds')),
    sa.ForeignKeyConstraint(['payout_entry_id'], ['journal_entries.id'], name=op.f('fk_deal_settlements_payout_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_settlements')),
    sa.UniqueConstraint('deal_id', name=op.f('uq_deal_settlements_deal_id'))
    )
    with op.batch_alter_table('deal_settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_settlements_state'), ['state'], unique=False)

    op.create_table('tech_registration_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.CheckConstraint("kind IN ('change', 'cancellation')", name=op.f('ck_tech_registration_changes_kind_known')),
    sa.ForeignKeyConstraint(['registration_id'], ['tech_registrations.id'], name=op.f('fk_tech_registration_changes_registration_id_tech_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tech_registration_changes'))
    )
    with op.batch_alter_table('tech_registration_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tech_registration_changes_registration_id'), ['registration_id'], unique=False)

    op.create_table('payment_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.Enum('open', 'paid', 'overdue', 'cancelled', name='obligationstate', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('paid_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', exchange.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0 AND paid_fen >= 0 AND paid_fen <= amount_fen', name=op.f('ck_payment_obligations_amounts_valid')),
    sa.CheckConstraint('seq >= 1', name=op.f('ck_payment_obligations_seq_positive')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_payment_obligations_deal_id_deals')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_payment_obligations_party_id_parties')),
    sa.ForeignKeyConstraint(['settlement_id'], ['deal_settlements.id'], name=op.f('fk_payment_obligations_settlement_id_deal_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_obligations')),
    sa.UniqueConstraint('settlement_id', 'seq', name='uq_payment_obligations_settlement_id_seq')
    )
    with op.batch_alter_table('payment_obligations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_obligations_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_obligations_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_obligations_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_obligations_settlement_id'), ['settlement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_obligations_state'), ['state'], unique=False)

    # The ledger's guarantees on PostgreSQL: entries balance per currency at commit
    # (deferred constraint triggers) and are immutable. SQL kept in settlement.models.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_TRIGGER_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_TRIGGER_DROP_SQL)
    with op.batch_alter_table('payment_obligations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_obligations_state'))
        batch_op.drop_index(batch_op.f('ix_payment_obligations_settlement_id'))
        batch_op.drop_index(batch_op.f('ix_payment_obligations_party_id'))
        batch_op.drop_index(batch_op.f('ix_payment_obligations_due_on'))
        batch_op.drop_index(batch_op.f('ix_payment_obligations_deal_id'))

    op.drop_table('payment_obligations')
    with op.batch_alter_table('tech_registration_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tech_registration_changes_registration_id'))

    op.drop_table('tech_registration_changes')
    with op.batch_alter_table('deal_settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_settlements_state'))

    op.drop_table('deal_settlements')
    with op.batch_alter_table('tech_registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_tech_registrations_one_live_per_contract', sqlite_where=sa.text("state IN ('submitted', 'registered', 'changed')"), postgresql_where=sa.text("state IN ('submitted', 'registered', 'changed')"))
        batch_op.drop_index(batch_op.f('ix_tech_registrations_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_tech_registrations_state'))
        batch_op.drop_index(batch_op.f('ix_tech_registrations_due_on'))
        batch_op.drop_index(batch_op.f('ix_tech_registrations_contract_type'))
        batch_op.drop_index(batch_op.f('ix_tech_registrations_contract_id'))

    op.drop_table('tech_registrations')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_entry_id'))
        batch_op.drop_index(batch_op.f('ix_postings_account_id'))

    op.drop_table('postings')
    with op.batch_alter_table('non_technical_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_non_technical_items_contract_id'))

    op.drop_table('non_technical_items')
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disbursements_party_id'))
        batch_op.drop_index(batch_op.f('ix_disbursements_deal_id'))

    op.drop_table('disbursements')
    with op.batch_alter_table('deposit_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deposit_holds_state'))
        batch_op.drop_index(batch_op.f('ix_deposit_holds_release_due_on'))
        batch_op.drop_index(batch_op.f('ix_deposit_holds_party_id'))
        batch_op.drop_index(batch_op.f('ix_deposit_holds_listing_id'))
        batch_op.drop_index(batch_op.f('ix_deposit_holds_instrument_id'))
        batch_op.drop_index(batch_op.f('ix_deposit_holds_deal_id'))

    op.drop_table('deposit_holds')
    with op.batch_alter_table('contract_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_signatures_contract_id'))

    op.drop_table('contract_signatures')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_state'))
        batch_op.drop_index(batch_op.f('ix_certificates_issued_at'))

    op.drop_table('certificates')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entries_party_id'))
        batch_op.drop_index(batch_op.f('ix_journal_entries_deal_id'))
        batch_op.drop_index(batch_op.f('ix_journal_entries_created_at'))

    op.drop_table('journal_entries')
    with op.batch_alter_table('credit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_events_party_id'))

    op.drop_table('credit_events')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_state'))
        batch_op.drop_index(batch_op.f('ix_contracts_drafted_at'))
        batch_op.drop_index(batch_op.f('ix_contracts_contract_type'))

    op.drop_table('contracts')
    with op.batch_alter_table('pledge_assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_assets_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_pledge_assets_asset_id'))

    op.drop_table('pledge_assets')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledges_state'))
        batch_op.drop_index(batch_op.f('ix_pledges_pledgor_party_id'))
        batch_op.drop_index(batch_op.f('ix_pledges_pledgee_party_id'))

    op.drop_table('pledges')
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_accounts_party_id'))

    op.drop_table('ledger_accounts')
    with op.batch_alter_table('credit_instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_instruments_party_id'))

    op.drop_table('credit_instruments')
    with op.batch_alter_table('bank_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_notifications_value_date'))
        batch_op.drop_index(batch_op.f('ix_bank_notifications_state'))
        batch_op.drop_index(batch_op.f('ix_bank_notifications_payer_party_id'))

    op.drop_table('bank_notifications')
    op.drop_table('settlement_settings')
    with op.batch_alter_table('fee_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_schedules_effective_from'))

    op.drop_table('fee_schedules')
