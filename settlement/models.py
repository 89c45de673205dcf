"""Tables of the settlement package: the double-entry ledger, fee schedules and settings,
deposit holds, deal settlements and their payment obligations, bank notifications,
disbursements (refunds and payouts), credit records, credit instruments and pledges.

The ledger is append-only. On PostgreSQL the database itself refuses an entry that
does not balance, a posting added to an entry by a later transaction, and any
UPDATE, DELETE or TRUNCATE of entries and postings (``LEDGER_TRIGGER_SQL``); on
SQLite the service checks every entry before it is flushed and the ORM refuses to
update or delete ledger rows.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, JSONType, UTCDateTime, enum_type
from exchange.models import Party
from settlement.domain import AccountKind, CreditEventKind, HoldState, InstrumentKind, PaymentPlanKind, PledgeState

Fen = sa.BigInteger


class EntryKind(enum.StrEnum):
    """What a journal entry records; one kind per business event."""

    BANK_IN = "bank_in"                      # a receipt lands in the bank, unidentified (suspense)
    SUSPENSE_MATCHED = "suspense_matched"    # a receipt identified as a party's cash (or an instrument claim)
    SUSPENSE_RETURNED = "suspense_returned"  # an unidentified receipt sent back to the payer
    DEPOSIT_FUNDED = "deposit_funded"        # a buyer's cash becomes its deposit (moved to the deposit pool)
    DEPOSIT_APPLIED = "deposit_applied"      # the winner's deposit becomes part of the price (escrow)
    DEPOSIT_RELEASED = "deposit_released"    # a deposit refunded from the deposit pool
    DEPOSIT_FORFEITED = "deposit_forfeited"  # a defaulter's deposit split between seller and exchange
    DEAL_PAYMENT = "deal_payment"            # buyer's cash to the buyer fee and the deal's escrow
    ESCROW_RETURNED = "escrow_returned"      # a defaulted deal's escrow back to the buyer's cash
    PAYOUT = "payout"                        # escrow to the seller's cash, less the seller's fee
    DISBURSEMENT = "disbursement"            # a party's cash paid out to its bank (payout or refund)
    REVERSAL = "reversal"                    # the correction of an earlier entry


class SettlementState(enum.StrEnum):
    AWAITING_CONTRACT = "awaiting_contract"  # struck; the contract has not taken effect
    AWAITING_PAYMENT = "awaiting_payment"    # in force; the buyer's obligations run
    PRICE_IN = "price_in"                    # price (with the applied deposit) and buyer fee are in
    PAID_OUT = "paid_out"                    # the seller has been paid; the deal is complete
    DEFAULTED = "defaulted"                  # the buyer defaulted: deposit forfeited, escrow returned
    CANCELLED = "cancelled"                  # called off before it took effect, the buyer not at fault:
                                             # deposit released, escrow returned


class ObligationState(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"


class PaymentPurpose(enum.StrEnum):
    DEPOSIT = "deposit"
    PRICE = "price"
    FEE = "fee"
    INSTALMENT = "instalment"
    OTHER = "other"


class NotificationState(enum.StrEnum):
    SUSPENSE = "suspense"  # nothing matched yet: waits for an operator
    MATCHED = "matched"
    RETURNED = "returned"


class PaymentFlag(enum.StrEnum):
    """How a matched amount compares with what was due; never adjusted, only flagged."""

    EXACT = "exact"
    SHORT = "short"
    OVER = "over"
    UNEXPECTED = "unexpected"  # nothing was due (late deposit, defaulted deal...): kept as the party's cash


class MatchTarget(enum.StrEnum):
    REGISTRATION = "registration"  # a deposit for a buyer registration
    DEAL = "deal"                  # price, fee or instalment of a deal
    PARTY = "party"                # cash for a party, to be used or refunded later
    INSTRUMENT = "instrument"      # an issuer paying a called guarantee


class InstrumentState(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    CALLED = "called"  # a covered deposit was forfeited: the exchange claims under it


class DisbursementKind(enum.StrEnum):
    PAYOUT = "payout"
    REFUND = "refund"


class LedgerAccount(Base):
    """One account of the chart (see ``settlement.domain.ledger``); party accounts name their party."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[AccountKind] = mapped_column(enum_type(AccountKind))
    party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # A cache of sum(postings.amount_fen), kept in the posting transaction; verify_ledger checks it.
    balance_fen: Mapped[int] = mapped_column(Fen, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    party: Mapped[Party | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("key", "currency", name="uq_ledger_accounts_key_currency"),
        sa.CheckConstraint("substr(kind, 1, 6) <> 'party_' OR party_id IS NOT NULL", name="party_account_has_party"),
    )


class JournalEntry(Base):
    """An immutable journal entry; corrections are reversals. ``source_key`` makes posting idempotent."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[EntryKind] = mapped_column(enum_type(EntryKind))
    source_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    memo: Mapped[str] = mapped_column(sa.Text, default="")
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deals.id"), index=True)
    party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(sa.String(120))

    postings: Mapped[list[LedgerPosting]] = relationship(back_populates="entry", order_by="LedgerPosting.id")


class LedgerPosting(Base):
    """One line of an entry: positive debits the account, negative credits it."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3))

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[LedgerAccount] = relationship()

    __table_args__ = (sa.CheckConstraint("amount_fen <> 0", name="amount_not_zero"),)


# -- the database's own guard of the ledger (PostgreSQL) ---------------------------------------------
# No '%' in these strings: SQLAlchemy's DDL() and Alembic's op.execute() both take them as they are.
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

# create_all (tests before the migration exists, the bench) installs the guard too; postings is
# created after journal_entries (it refers to it), so both tables exist by then.
sa.event.listen(LedgerPosting.__table__, "after_create",
                sa.DDL(LEDGER_TRIGGER_SQL).execute_if(dialect="postgresql"))


@sa.event.listens_for(JournalEntry, "before_update")
@sa.event.listens_for(LedgerPosting, "before_update")
@sa.event.listens_for(JournalEntry, "before_delete")
@sa.event.listens_for(LedgerPosting, "before_delete")
def _ledger_rows_are_immutable(_mapper: Any, _conn: Any, target: Any) -> None:
    # The same rule as the PostgreSQL triggers, for every backend, at the ORM level.
    raise RuntimeError(f"{type(target).__name__} rows are immutable; post a reversal instead")


class FeeScheduleVersion(Base):
    """A version of the fee schedule, stored as the JSON of ``settlement.domain.schedule_to_dict``."""

    __tablename__ = "fee_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(40), unique=True)
    effective_from: Mapped[date] = mapped_column(sa.Date, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(120))


class SettlementSetting(Base):
    """An operator's override of one settlement default (forfeiture split, deadlines...)."""

    __tablename__ = "settlement_settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(sa.String(120))


class CreditInstrument(Base):
    """A bank guarantee letter, IP insurance policy or third-party guarantee standing behind a party."""

    __tablename__ = "credit_instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    kind: Mapped[InstrumentKind] = mapped_column(enum_type(InstrumentKind))
    issuer: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str] = mapped_column(sa.String(60), default="")  # the issuer's number
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    issued_on: Mapped[date | None] = mapped_column(sa.Date)
    expires_on: Mapped[date] = mapped_column(sa.Date)
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[InstrumentState] = mapped_column(enum_type(InstrumentState), default=InstrumentState.ACTIVE)
    claim_fen: Mapped[int] = mapped_column(Fen, default=0)       # called under it after a forfeiture
    claim_paid_fen: Mapped[int] = mapped_column(Fen, default=0)  # paid by the issuer so far
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    party: Mapped[Party] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("issued_on IS NULL OR issued_on <= expires_on", name="dates_ordered"),
        sa.CheckConstraint("claim_paid_fen >= 0 AND claim_paid_fen <= claim_fen AND claim_fen <= amount_fen",
                           name="claim_within_amount"),
    )


class DepositHold(Base):
    """A buyer registration's deposit: pending, held, then applied, released or forfeited, once.

    ``amount_fen`` is the deposit required of this buyer (its credit grade applied);
    ``cover_fen`` of it stands on a credit instrument, ``cash_fen`` is paid in cash.
    """

    __tablename__ = "deposit_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("buyer_registrations.id"), unique=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listings.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    cash_fen: Mapped[int] = mapped_column(Fen)
    cover_fen: Mapped[int] = mapped_column(Fen, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    instrument_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_instruments.id"), index=True)
    state: Mapped[HoldState] = mapped_column(enum_type(HoldState), index=True, default=HoldState.PENDING)
    funded_by: Mapped[str | None] = mapped_column(sa.String(12))  # cash, instrument or mixed
    funded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    funding_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entries.id"))
    # Set when the buyer lost (release by then) and cleared when its deal takes the hold.
    release_due_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deals.id"), index=True)  # the winner's deal
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)
    resolution_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    instrument: Mapped[CreditInstrument | None] = relationship()
    party: Mapped[Party] = relationship()

    __table_args__ = (
        sa.CheckConstraint("cash_fen >= 0 AND cover_fen >= 0 AND amount_fen = cash_fen + cover_fen",
                           name="amounts_add_up"),
        sa.CheckConstraint("cover_fen = 0 OR instrument_id IS NOT NULL", name="cover_names_instrument"),
        sa.CheckConstraint("(state IN ('applied', 'released', 'forfeited')) = (resolved_at IS NOT NULL)",
                           name="resolved_iff_final"),
    )


class DealSettlement(Base):
    """How a deal settles: the fee record (schedule version and both fees), the buyer's
    progress, the transfer confirmation and the payout. The row is the deal's settlement lock."""

    __tablename__ = "deal_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("deals.id"), unique=True)
    state: Mapped[SettlementState] = mapped_column(enum_type(SettlementState), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    price_fen: Mapped[int] = mapped_column(Fen)
    fee_schedule_version: Mapped[str] = mapped_column(sa.String(40))
    fee_method: Mapped[str] = mapped_column(sa.String(12))  # bidding or negotiated
    buyer_fee_fen: Mapped[int] = mapped_column(Fen)
    seller_fee_fen: Mapped[int] = mapped_column(Fen)
    hold_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deposit_holds.id"))
    applied_deposit_fen: Mapped[int] = mapped_column(Fen, default=0)  # fixed when the contract takes effect
    plan_kind: Mapped[PaymentPlanKind | None] = mapped_column(enum_type(PaymentPlanKind))
    fee_paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    price_paid_fen: Mapped[int] = mapped_column(Fen, default=0)  # cash towards the price, deposit excluded
    payments_applied: Mapped[int] = mapped_column(default=0)
    price_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transfer_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transfer_confirmed_by: Mapped[str | None] = mapped_column(sa.String(120))
    transfer_evidence: Mapped[str | None] = mapped_column(sa.Text)
    transfer_document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    paid_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payout_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entries.id"))
    defaulted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    obligations: Mapped[list[PaymentObligation]] = relationship(back_populates="settlement",
                                                                order_by="PaymentObligation.seq")
    hold: Mapped[DepositHold | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0 AND buyer_fee_fen >= 0 AND seller_fee_fen >= 0 "
                           "AND seller_fee_fen <= price_fen", name="amounts_valid"),
        sa.CheckConstraint("applied_deposit_fen >= 0 AND applied_deposit_fen <= price_fen", name="deposit_within_price"),
        sa.CheckConstraint("fee_paid_fen >= 0 AND fee_paid_fen <= buyer_fee_fen", name="fee_paid_within_fee"),
        sa.CheckConstraint("price_paid_fen >= 0 AND price_paid_fen + applied_deposit_fen <= price_fen",
                           name="price_paid_within_price"),
    )


class PaymentObligation(Base):
    """What the buyer owes on a deal by a date: the lump sum, or one instalment (seq 1 = down payment)."""

    __tablename__ = "payment_obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(sa.ForeignKey("deal_settlements.id"), index=True)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("deals.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    seq: Mapped[int]
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    amount_fen: Mapped[int] = mapped_column(Fen)
    paid_fen: Mapped[int] = mapped_column(Fen, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    state: Mapped[ObligationState] = mapped_column(enum_type(ObligationState), index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    settlement: Mapped[DealSettlement] = relationship(back_populates="obligations")

    __table_args__ = (
        sa.UniqueConstraint("settlement_id", "seq", name="uq_payment_obligations_settlement_id_seq"),
        sa.CheckConstraint("amount_fen > 0 AND paid_fen >= 0 AND paid_fen <= amount_fen", name="amounts_valid"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
    )


class BankNotification(Base):
    """A receipt reported by the bank (or keyed in by an operator); unique by the bank's reference."""

    __tablename__ = "bank_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    bank_reference: Mapped[str] = mapped_column(sa.String(64), unique=True)
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))  # a replay must carry the same facts
    payer_name: Mapped[str] = mapped_column(sa.String(200))
    payer_account: Mapped[str] = mapped_column(sa.String(64), default="")
    payer_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    purpose: Mapped[PaymentPurpose] = mapped_column(enum_type(PaymentPurpose))
    purpose_ref: Mapped[str | None] = mapped_column(sa.String(20))
    remittance_info: Mapped[str] = mapped_column(sa.String(200), default="")
    value_date: Mapped[date] = mapped_column(sa.Date, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(sa.String(10))  # bank or operator
    state: Mapped[NotificationState] = mapped_column(enum_type(NotificationState), index=True)
    flag: Mapped[PaymentFlag | None] = mapped_column(enum_type(PaymentFlag))
    expected_fen: Mapped[int | None] = mapped_column(Fen)
    matched_kind: Mapped[MatchTarget | None] = mapped_column(enum_type(MatchTarget))
    matched_ref: Mapped[str | None] = mapped_column(sa.String(20))
    matched_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"))
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    matched_by: Mapped[str | None] = mapped_column(sa.String(120))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(120))

    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)


class Disbursement(Base):
    """Money paid out of the exchange to a party's bank: a seller's payout or a refund of free cash."""

    __tablename__ = "disbursements"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[DisbursementKind] = mapped_column(enum_type(DisbursementKind))
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deals.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    reason: Mapped[str] = mapped_column(sa.Text)
    source_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(120))

    party: Mapped[Party] = relationship()

    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)


class CreditEventRecord(Base):
    """One line of a party's credit record; ``source_key`` keeps an event from being counted twice."""

    __tablename__ = "credit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    kind: Mapped[CreditEventKind] = mapped_column(enum_type(CreditEventKind))
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    source_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deals.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Pledge(Base):
    """An IP pledge (知识产权质押): it blocks sale and exclusive licences until released."""

    __tablename__ = "pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    pledgor_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    pledgee_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    pledgee_name: Mapped[str] = mapped_column(sa.String(200))
    secured_debt: Mapped[str] = mapped_column(sa.Text, default="")
    secured_amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    state: Mapped[PledgeState] = mapped_column(enum_type(PledgeState), index=True)
    consented_modes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    registration_number: Mapped[str] = mapped_column(sa.String(60), default="")  # CNIPA pledge registration
    note: Mapped[str] = mapped_column(sa.Text, default="")
    released_on: Mapped[date | None] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(120))

    pledgor: Mapped[Party] = relationship(foreign_keys=[pledgor_party_id])
    pledgee: Mapped[Party | None] = relationship(foreign_keys=[pledgee_party_id])
    assets: Mapped[list[PledgeAsset]] = relationship(back_populates="pledge", order_by="PledgeAsset.id")

    __table_args__ = (
        sa.CheckConstraint("secured_amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )


class PledgeAsset(Base):
    """An asset under a pledge and its mirror in the listings package's encumbrances."""

    __tablename__ = "pledge_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(sa.ForeignKey("pledges.id"), index=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    encumbrance_id: Mapped[int] = mapped_column(sa.ForeignKey("encumbrances.id"), unique=True)

    pledge: Mapped[Pledge] = relationship(back_populates="assets")

    __table_args__ = (sa.UniqueConstraint("pledge_id", "asset_id", name="uq_pledge_assets_pledge_id_asset_id"),)
