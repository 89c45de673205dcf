"""marshmallow schemas of the settlement API. Amounts are whole fen (integers) with a currency."""
from __future__ import annotations

import marshmallow as ma

from exchange.pagination import PageArgsSchema, PageMetaSchema
from exchange.schemas import StrictSchema
from listings.domain import TradingMode
from settlement.domain import CreditEventKind, InstrumentKind
from settlement.models import MatchTarget, NotificationState, PaymentPurpose

Fen = lambda **kw: ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=10**15 - 1), **kw)  # noqa: E731
AnyFen = lambda **kw: ma.fields.Integer(strict=True, **kw)  # noqa: E731
Currency = lambda **kw: ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{3}$"), **kw)  # noqa: E731
Ref = lambda **kw: ma.fields.String(validate=ma.validate.Length(min=1, max=20), **kw)  # noqa: E731
Sha256 = lambda **kw: ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-fA-F]{64}$"), **kw)  # noqa: E731


# -- bank notifications ---------------------------------------------------------------------------------
class NotificationCreateSchema(StrictSchema):
    bank_reference = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                                      metadata={"description": "the bank's unique transaction reference"})
    amount_fen = Fen(required=True)
    currency = Currency(load_default="CNY")
    payer_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    payer_account = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    payer_party_ref = Ref(load_default=None, allow_none=True)
    purpose = ma.fields.Enum(PaymentPurpose, by_value=True, required=True)
    purpose_ref = Ref(load_default=None, allow_none=True,
                      metadata={"description": "registration ref (deposit) or deal ref (price, fee, instalment)"})
    value_date = ma.fields.Date(load_default=None, allow_none=True)
    remittance_info = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class NotificationSchema(ma.Schema):
    ref = ma.fields.String()
    bank_reference = ma.fields.String()
    amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    payer_name = ma.fields.String()
    payer_account = ma.fields.String()
    purpose = ma.fields.Enum(PaymentPurpose, by_value=True)
    purpose_ref = ma.fields.String(allow_none=True)
    remittance_info = ma.fields.String()
    value_date = ma.fields.Date()
    received_at = ma.fields.DateTime()
    source = ma.fields.String()
    state = ma.fields.Enum(NotificationState, by_value=True)
    flag = ma.fields.Method("_flag", allow_none=True,
                            metadata={"description": "exact, short, over or unexpected, against what was due"})
    expected_fen = ma.fields.Integer(allow_none=True)
    matched_kind = ma.fields.Method("_kind", allow_none=True)
    matched_ref = ma.fields.String(allow_none=True)
    matched_at = ma.fields.DateTime(allow_none=True)
    returned_at = ma.fields.DateTime(allow_none=True)
    note = ma.fields.String()

    def _flag(self, n):  # type: ignore[no-untyped-def]
        return n.flag.value if n.flag else None

    def _kind(self, n):  # type: ignore[no-untyped-def]
        return n.matched_kind.value if n.matched_kind else None


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    meta = ma.fields.Nested(PageMetaSchema)


class NotificationQuerySchema(PageArgsSchema):
    class Meta:
        unknown = ma.RAISE

    state = ma.fields.Enum(NotificationState, by_value=True, load_default=None)


class MatchSchema(StrictSchema):
    target = ma.fields.Enum(MatchTarget, by_value=True, required=True)
    target_ref = Ref(required=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class SettlementReasonSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


# -- holds ------------------------------------------------------------------------------------------
class HoldSchema(ma.Schema):
    registration_ref = ma.fields.String()
    listing_ref = ma.fields.String()
    party_ref = ma.fields.String()
    state = ma.fields.String()
    amount_fen = ma.fields.Integer(metadata={"description": "deposit required after the credit grade"})
    cash_fen = ma.fields.Integer(metadata={"description": "paid in cash"})
    cover_fen = ma.fields.Integer(metadata={"description": "stood for by a credit instrument"})
    instrument_ref = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    funded_by = ma.fields.String(allow_none=True)
    funded_at = ma.fields.DateTime(allow_none=True)
    release_due_on = ma.fields.Date(allow_none=True)
    deal_ref = ma.fields.String(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    resolution_note = ma.fields.String(allow_none=True)


# -- deals ------------------------------------------------------------------------------------------
class ObligationSchema(ma.Schema):
    seq = ma.fields.Integer()
    due_on = ma.fields.Date()
    due_provisional = ma.fields.Boolean()
    amount_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    state = ma.fields.String()
    paid_at = ma.fields.DateTime(allow_none=True)
    overdue_at = ma.fields.DateTime(allow_none=True)


class HoldRowSchema(ma.Schema):
    registration_ref = ma.fields.String()
    listing_ref = ma.fields.String()
    state = ma.fields.String()
    amount_fen = ma.fields.Integer()
    cash_fen = ma.fields.Integer()
    cover_fen = ma.fields.Integer()
    instrument_ref = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    funded_at = ma.fields.DateTime(allow_none=True)
    release_due_on = ma.fields.Date(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)
    resolution_note = ma.fields.String(allow_none=True)


class SettlementSchema(ma.Schema):
    deal_ref = ma.fields.String()
    deal_state = ma.fields.String()
    state = ma.fields.String(metadata={"description": "awaiting_contract, awaiting_payment, price_in, paid_out, defaulted, cancelled"})
    currency = ma.fields.String()
    buyer_ref = ma.fields.String()
    seller_ref = ma.fields.String()
    role = ma.fields.String()
    price_fen = ma.fields.Integer()
    fee_schedule_version = ma.fields.String()
    fee_method = ma.fields.String()
    buyer_fee_fen = ma.fields.Integer()
    seller_fee_fen = ma.fields.Integer()
    applied_deposit_fen = ma.fields.Integer()
    plan_kind = ma.fields.String(allow_none=True)
    total_due_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    outstanding_fen = ma.fields.Integer()
    fee_paid_fen = ma.fields.Integer()
    price_paid_fen = ma.fields.Integer()
    escrow_fen = ma.fields.Integer()
    price_in_at = ma.fields.DateTime(allow_none=True)
    transfer_confirmed_at = ma.fields.DateTime(allow_none=True)
    transfer_evidence = ma.fields.String(allow_none=True)
    transfer_document_sha256 = ma.fields.String(allow_none=True)
    paid_out_at = ma.fields.DateTime(allow_none=True)
    seller_payout_fen = ma.fields.Integer()
    defaulted_at = ma.fields.DateTime(allow_none=True)
    hold = ma.fields.Nested(HoldRowSchema, allow_none=True)
    obligations = ma.fields.List(ma.fields.Nested(ObligationSchema))
    next_due = ma.fields.Dict(allow_none=True)


class PlanSchema(StrictSchema):
    down_ratio = ma.fields.Decimal(required=True, as_string=True, places=None,
                                   metadata={"description": "share paid down, at least the minimum (0.30)"})
    count = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=2, max=24))
    interval_months = ma.fields.Integer(load_default=1, strict=True, validate=ma.validate.Range(min=1, max=12))
    first_due = ma.fields.Date(load_default=None, allow_none=True)
    due_dates = ma.fields.List(ma.fields.Date(), load_default=None, allow_none=True)


class TransferSchema(StrictSchema):
    evidence = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                                metadata={"description": "e.g. the patent office's record of the assignment"})
    document_sha256 = Sha256(load_default=None, allow_none=True)


class LineSchema(ma.Schema):
    entry_ref = ma.fields.String()
    kind = ma.fields.String()
    at = ma.fields.DateTime()
    memo = ma.fields.String()
    account = ma.fields.String()
    account_kind = ma.fields.String()
    currency = ma.fields.String()
    amount_fen = ma.fields.Integer()
    balance_fen = ma.fields.Integer()


class ReceiptRowSchema(ma.Schema):
    ref = ma.fields.String()
    bank_reference = ma.fields.String()
    amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    purpose = ma.fields.String()
    purpose_ref = ma.fields.String(allow_none=True)
    value_date = ma.fields.Date()
    state = ma.fields.String()
    flag = ma.fields.String(allow_none=True)
    expected_fen = ma.fields.Integer(allow_none=True)
    matched_ref = ma.fields.String(allow_none=True)
    payer_name = ma.fields.String()


class DealStatementSchema(SettlementSchema):
    lines = ma.fields.List(ma.fields.Nested(LineSchema))
    receipts = ma.fields.List(ma.fields.Nested(ReceiptRowSchema))


# -- money out ----------------------------------------------------------------------------------------
class RefundCreateSchema(StrictSchema):
    party_ref = Ref(required=True)
    amount_fen = Fen(required=True)
    currency = Currency(load_default="CNY")
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class DisbursementSchema(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.Method("_kind")
    party_ref = ma.fields.Method("_party")
    amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    reason = ma.fields.String()
    created_at = ma.fields.DateTime()

    def _kind(self, d):  # type: ignore[no-untyped-def]
        return d.kind.value

    def _party(self, d):  # type: ignore[no-untyped-def]
        return d.party.ref


# -- reports ------------------------------------------------------------------------------------------
class TrialBalanceArgs(StrictSchema):
    as_of = ma.fields.AwareDateTime(load_default=None, allow_none=True)


class TrialRowSchema(ma.Schema):
    account = ma.fields.String()
    kind = ma.fields.String()
    nature = ma.fields.String()
    party_ref = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    debit_fen = ma.fields.Integer()
    credit_fen = ma.fields.Integer()
    balance_fen = ma.fields.Integer()
    cached_fen = ma.fields.Integer()


class TrialBalanceSchema(ma.Schema):
    as_of = ma.fields.DateTime(allow_none=True)
    accounts = ma.fields.List(ma.fields.Nested(TrialRowSchema))
    totals = ma.fields.List(ma.fields.Dict())
    balanced = ma.fields.Boolean()
    cache_matches = ma.fields.Boolean()


class LedgerCheckSchema(ma.Schema):
    ok = ma.fields.Boolean()
    entries = ma.fields.Integer()
    postings = ma.fields.Integer()
    unbalanced_entries = ma.fields.List(ma.fields.String())
    short_entries = ma.fields.List(ma.fields.String())
    cache_mismatches = ma.fields.List(ma.fields.Dict())
    totals_fen = ma.fields.Dict()


class PeriodArgs(StrictSchema):
    start = ma.fields.Date(load_default=None, allow_none=True)
    end = ma.fields.Date(load_default=None, allow_none=True)


class PartyStatementSchema(ma.Schema):
    party_ref = ma.fields.String()
    party_name = ma.fields.String()
    start = ma.fields.Date(allow_none=True)
    end = ma.fields.Date(allow_none=True)
    opening = ma.fields.List(ma.fields.Dict())
    closing = ma.fields.List(ma.fields.Dict())
    lines = ma.fields.List(ma.fields.Nested(LineSchema))
    cash_available_fen = ma.fields.Integer()
    holds = ma.fields.List(ma.fields.Nested(HoldRowSchema))
    generated_on = ma.fields.Date()


class DayArgs(StrictSchema):
    day = ma.fields.Date(load_default=None, allow_none=True)


class DailyReportSchema(ma.Schema):
    day = ma.fields.Date()
    expected = ma.fields.List(ma.fields.Dict())
    received = ma.fields.List(ma.fields.Nested(ReceiptRowSchema))
    totals = ma.fields.List(ma.fields.Dict())
    needs_attention = ma.fields.List(ma.fields.Nested(ReceiptRowSchema))


class MineSchema(ma.Schema):
    party_ref = ma.fields.String()
    as_of = ma.fields.Date()
    cash_available_fen = ma.fields.Integer()
    deposits_held_fen = ma.fields.Integer()
    outstanding_fen = ma.fields.Integer()
    paid_fen = ma.fields.Integer()
    deposits = ma.fields.List(ma.fields.Nested(HoldRowSchema))
    deals = ma.fields.List(ma.fields.Nested(SettlementSchema))
    receipts = ma.fields.List(ma.fields.Nested(ReceiptRowSchema))
    disbursements = ma.fields.List(ma.fields.Dict())


class ConfirmationsSchema(ma.Schema):
    rights_confirmed = ma.fields.Boolean()
    appraised = ma.fields.Boolean()
    price_held_in_escrow = ma.fields.Boolean()
    settled_through_exchange = ma.fields.Boolean()


# -- credit -------------------------------------------------------------------------------------------
class CreditSchema(ma.Schema):
    party_ref = ma.fields.String()
    party_name = ma.fields.String()
    score = ma.fields.Integer()
    grade = ma.fields.String()
    barred = ma.fields.Boolean()
    deposit_multiplier = ma.fields.String(allow_none=True)
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "the exchange and auditors only"})
    events = ma.fields.List(ma.fields.Dict(), metadata={"description": "the exchange and auditors only"})


class CreditEventCreateSchema(StrictSchema):
    kind = ma.fields.Enum(CreditEventKind, by_value=True, required=True)
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    occurred_on = ma.fields.Date(load_default=None, allow_none=True)


class InstrumentCreateSchema(StrictSchema):
    party_ref = Ref(required=True)
    kind = ma.fields.Enum(InstrumentKind, by_value=True, required=True)
    issuer = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    reference = ma.fields.String(load_default="", validate=ma.validate.Length(max=60))
    amount_fen = Fen(required=True)
    currency = Currency(load_default="CNY")
    issued_on = ma.fields.Date(load_default=None, allow_none=True)
    expires_on = ma.fields.Date(required=True)
    document_sha256 = Sha256(load_default=None, allow_none=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class InstrumentUpdateSchema(StrictSchema):
    issuer = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    reference = ma.fields.String(validate=ma.validate.Length(max=60))
    amount_fen = Fen()
    issued_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date()
    document_sha256 = Sha256(allow_none=True)
    note = ma.fields.String(validate=ma.validate.Length(max=2000))


class InstrumentSchema(ma.Schema):
    ref = ma.fields.String()
    party_ref = ma.fields.String()
    party_name = ma.fields.String()
    kind = ma.fields.String()
    issuer = ma.fields.String()
    reference = ma.fields.String()
    amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    issued_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date()
    document_sha256 = ma.fields.String(allow_none=True)
    state = ma.fields.String()
    reserved_fen = ma.fields.Integer()
    available_fen = ma.fields.Integer()
    valid_today = ma.fields.Boolean()
    claim_fen = ma.fields.Integer()
    claim_paid_fen = ma.fields.Integer()
    note = ma.fields.String()
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)


class PartyFilterArgs(StrictSchema):
    party_ref = Ref(load_default=None, allow_none=True)


class PledgeCreateSchema(StrictSchema):
    pledgor_ref = Ref(required=True)
    pledgee_ref = Ref(load_default=None, allow_none=True)
    pledgee_name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    secured_debt = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    secured_amount_fen = Fen(required=True)
    currency = Currency(load_default="CNY")
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(load_default=None, allow_none=True)
    asset_refs = ma.fields.List(Ref(), required=True, validate=ma.validate.Length(min=1, max=50))
    registration_number = ma.fields.String(load_default="", validate=ma.validate.Length(max=60))
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class ConsentSchema(StrictSchema):
    mode = ma.fields.Enum(TradingMode, by_value=True, required=True)
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                            metadata={"description": "the pledgee's written consent (reference, date)"})


class NoteSchema(StrictSchema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class PledgeSchema(ma.Schema):
    ref = ma.fields.String()
    pledgor_ref = ma.fields.String()
    pledgor_name = ma.fields.String()
    pledgee_ref = ma.fields.String(allow_none=True)
    pledgee_name = ma.fields.String()
    secured_debt = ma.fields.String()
    secured_amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date(allow_none=True)
    state = ma.fields.String()
    consented_modes = ma.fields.List(ma.fields.String())
    registration_number = ma.fields.String()
    note = ma.fields.String()
    released_on = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()
    assets = ma.fields.List(ma.fields.Dict())


class PledgeQuerySchema(StrictSchema):
    asset_ref = Ref(load_default=None, allow_none=True)
    party_ref = Ref(load_default=None, allow_none=True)


# -- configuration ---------------------------------------------------------------------------------------
class FeeScheduleSchema(ma.Schema):
    version = ma.fields.String()
    effective_from = ma.fields.Date()
    data = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    created_by = ma.fields.String()


class FeeScheduleCreateSchema(StrictSchema):
    version = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    effective_from = ma.fields.String(required=True, metadata={"description": "YYYY-MM-DD, today or later"})
    currency = Currency(load_default="CNY")
    min_bidding_fen = AnyFen(required=True)
    min_negotiated_fen = AnyFen(required=True)
    bidding_seller = ma.fields.List(ma.fields.Dict(), required=True,
                                    metadata={"description": "[{upper_fen: int|null, rate: '0.0024'}], ascending"})
    bidding_buyer = ma.fields.List(ma.fields.Dict(), required=True)
    negotiated_each_side = ma.fields.List(ma.fields.Dict(), required=True)


class FeeQuoteArgs(StrictSchema):
    price_fen = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=10**15 - 1))
    method = ma.fields.String(load_default="auction",
                              validate=ma.validate.OneOf(["auction", "negotiation", "open_licence"]))
    on = ma.fields.Date(load_default=None, allow_none=True)


class FeeQuoteSchema(ma.Schema):
    schedule_version = ma.fields.String()
    method = ma.fields.String()
    price_fen = ma.fields.Integer()
    buyer_fee_fen = ma.fields.Integer()
    seller_fee_fen = ma.fields.Integer()
    buyer_minimum_applied = ma.fields.Boolean()
    seller_minimum_applied = ma.fields.Boolean()
    buyer_lines = ma.fields.List(ma.fields.Dict())
    seller_lines = ma.fields.List(ma.fields.Dict())


class SettingsSchema(ma.Schema):
    forfeiture_seller_share = ma.fields.String()
    lump_sum_working_days = ma.fields.Integer()
    min_down_ratio = ma.fields.String()
    max_instalment_months = ma.fields.Integer()
    release_working_days = ma.fields.Integer()
    default_after_overdue_working_days = ma.fields.Integer()


class SettingsUpdateSchema(StrictSchema):
    forfeiture_seller_share = ma.fields.String(validate=ma.validate.Length(max=12))
    lump_sum_working_days = ma.fields.Integer(strict=True)
    min_down_ratio = ma.fields.String(validate=ma.validate.Length(max=12))
    max_instalment_months = ma.fields.Integer(strict=True)
    release_working_days = ma.fields.Integer(strict=True)
    default_after_overdue_working_days = ma.fields.Integer(strict=True)


class ReversalSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class EntrySchema(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.Method("_kind")
    source_key = ma.fields.String()
    memo = ma.fields.String()
    created_at = ma.fields.DateTime()
    created_by = ma.fields.String()
    postings = ma.fields.Method("_postings")

    def _kind(self, e):  # type: ignore[no-untyped-def]
        return e.kind.value

    def _postings(self, e):  # type: ignore[no-untyped-def]
        return [{"account": p.account.key, "currency": p.currency, "amount_fen": p.amount_fen} for p in e.postings]
