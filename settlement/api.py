"""JSON routes of the settlement package: bank notifications and suspense, deposit holds, deal
settlement (obligations, transfer confirmation, payout), refunds, reconciliation and exports,
credit records, credit instruments, pledges, fee schedules, settings, and a party's own view."""
from __future__ import annotations

from flask import Response

from exchange.actors import Actor
from exchange.api_blueprint import ApiBlueprint
from exchange.auth import MEMBERS, PUBLIC, READERS, STAFF, access, current_user, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import NotFoundError
from exchange.idempotency import HEADER, HEADER_DOC, idempotent
from exchange.models import Party
from exchange.pagination import paginate
from settlement import service as svc
from settlement.models import Disbursement
from settlement.schemas import (
    ConfirmationsSchema,
    ConsentSchema,
    CreditEventCreateSchema,
    CreditSchema,
    DailyReportSchema,
    DayArgs,
    DealStatementSchema,
    DisbursementSchema,
    EntrySchema,
    FeeQuoteArgs,
    FeeQuoteSchema,
    FeeScheduleCreateSchema,
    FeeScheduleSchema,
    HoldSchema,
    InstrumentCreateSchema,
    InstrumentSchema,
    InstrumentUpdateSchema,
    LedgerCheckSchema,
    MatchSchema,
    MineSchema,
    NoteSchema,
    NotificationCreateSchema,
    NotificationPageSchema,
    NotificationQuerySchema,
    NotificationSchema,
    PartyFilterArgs,
    PartyStatementSchema,
    PeriodArgs,
    PlanSchema,
    PledgeCreateSchema,
    PledgeQuerySchema,
    PledgeSchema,
    SettlementReasonSchema,
    RefundCreateSchema,
    SettlementSchema,
    SettingsSchema,
    SettingsUpdateSchema,
    TransferSchema,
    TrialBalanceArgs,
    TrialBalanceSchema,
)
from settlement.service import reports

settlement_api = ApiBlueprint("settlement_api", __name__, url_prefix="/api/v1",
                           description="Settlement: ledger, deposits, payments, payouts, refunds, reconciliation, "
                                       "credit records, credit instruments, pledges and fees")
PARTIES_AND_READERS = (*MEMBERS, *READERS)
IDEMPOTENCY = {"parameters": [HEADER_DOC]}
OPTIONAL_IDEMPOTENCY = {"parameters": [{**HEADER_DOC, "required": False}]}


def _actor() -> Actor:
    return Actor.of(require_user())


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _own_party(ref: str) -> Party:
    """A party's own records, for itself and the exchange; anyone else is told it does not exist."""
    actor = _actor()
    party = svc.common.load_party(get_session(), ref)
    if not actor.can_read_all and actor.party_id != party.id:
        raise NotFoundError(f"No party {ref}.", code="party_not_found")
    return party


# -- bank notifications and suspense -----------------------------------------------------------------
@settlement_api.route("/settlement/bank-notifications", methods=["POST"])
@access(*STAFF)
@idempotent(required=False)
@settlement_api.arguments(NotificationCreateSchema)
@settlement_api.response(201, NotificationSchema)
@settlement_api.doc(**OPTIONAL_IDEMPOTENCY)
def notify(data: dict):
    """A receipt reported by the bank integration (or keyed in by an operator).

    Idempotent by ``bank_reference``: the same notification again answers 200 with the stored
    receipt and changes nothing; the same reference with other details is refused
    (``bank_reference_conflict``). A receipt whose purpose reference names a pending deposit or a
    deal being paid is matched at once; anything else waits in suspense."""
    n, created = svc.receive_notification(get_session(), _actor(), svc.NotificationInput(**data), clock=get_clock(),
                                          source="bank")
    return n, 201 if created else 200


@settlement_api.route("/settlement/bank-notifications", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(NotificationQuerySchema, location="query")
@settlement_api.response(200, NotificationPageSchema)
def list_notifications(args: dict):
    """Receipts, newest first; ``state=suspense`` lists those waiting for an operator."""
    stmt = svc.payments.list_notifications(get_session(), state=args["state"])
    items, meta = paginate(get_session(), stmt, args["page"], args["per_page"])
    return {"items": items, "meta": meta}


@settlement_api.route("/settlement/bank-notifications/<ref>", methods=["GET"])
@access(*READERS)
@settlement_api.response(200, NotificationSchema)
def get_notification(ref: str):
    """One receipt and what it was matched to."""
    return svc.load_notification(get_session(), ref)


@settlement_api.route("/settlement/bank-notifications/<ref>/match", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.arguments(MatchSchema)
@settlement_api.response(200, NotificationSchema)
@settlement_api.doc(**IDEMPOTENCY)
def match(data: dict, ref: str):
    """Match a receipt in suspense to a registration (deposit), a deal (price, fee, instalment),
    a party (kept as its cash) or a called instrument (the issuer paying its claim)."""
    return svc.match_notification(get_session(), _actor(), ref, data["target"], data["target_ref"], data["note"],
                                  clock=get_clock())


@settlement_api.route("/settlement/bank-notifications/<ref>/return", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.arguments(SettlementReasonSchema)
@settlement_api.response(200, NotificationSchema)
@settlement_api.doc(**IDEMPOTENCY)
def return_receipt(data: dict, ref: str):
    """Send a receipt in suspense back to the payer."""
    return svc.return_notification(get_session(), _actor(), ref, data["reason"], clock=get_clock())


# -- deposit holds -------------------------------------------------------------------------------------
def _hold_view(hold):  # type: ignore[no-untyped-def]
    session = get_session()
    from auctions.models import Deal
    from listings.models import BuyerRegistration, Listing

    reg = session.get(BuyerRegistration, hold.registration_id)
    deal = session.get(Deal, hold.deal_id) if hold.deal_id else None
    return {"registration_ref": reg.ref, "listing_ref": session.get(Listing, hold.listing_id).ref,
            "party_ref": hold.party.ref, "state": hold.state.value, "amount_fen": hold.amount_fen,
            "cash_fen": hold.cash_fen, "cover_fen": hold.cover_fen,
            "instrument_ref": hold.instrument.ref if hold.instrument else None, "currency": hold.currency,
            "funded_by": hold.funded_by, "funded_at": hold.funded_at, "release_due_on": hold.release_due_on,
            "deal_ref": deal.ref if deal else None, "resolved_at": hold.resolved_at,
            "resolution_note": hold.resolution_note}


@settlement_api.route("/settlement/holds/<registration_ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, HoldSchema)
def get_hold(registration_ref: str):
    """The deposit hold of a buyer registration (the buyer and the exchange)."""
    hold = svc.holds.visible_hold(_actor(), svc.load_hold(get_session(), registration_ref))
    return _hold_view(hold)


@settlement_api.route("/settlement/holds/<registration_ref>/fund", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.response(200, HoldSchema)
@settlement_api.doc(**IDEMPOTENCY)
def fund_hold(registration_ref: str):
    """Fund a pending deposit from the buyer's cash already matched at the exchange (the operator's
    manual path, e.g. after matching a receipt from suspense to the buyer)."""
    return _hold_view(svc.fund_from_cash(get_session(), _actor(), registration_ref, clock=get_clock()))


@settlement_api.route("/settlement/holds/<registration_ref>/release", methods=["POST"])
@access(*MEMBERS, *STAFF)
@idempotent()
@settlement_api.response(200, HoldSchema)
@settlement_api.doc(**IDEMPOTENCY)
def release_hold(registration_ref: str):
    """Release a deposit that is due back (a loser's, a rejected or lapsed registration's) now,
    without waiting for the scheduled release."""
    return _hold_view(svc.request_release(get_session(), _actor(), registration_ref, clock=get_clock()))


# -- deal settlement ------------------------------------------------------------------------------------
def _settlement(ref: str) -> dict:
    session = get_session()
    deal, st = svc.load_settlement(session, _actor(), ref)
    return reports.settlement_view(session, deal, st)


@settlement_api.route("/settlement/deals/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, SettlementSchema)
def get_settlement(ref: str):
    """A deal's settlement: fee record (schedule version, both fees), what the buyer owes and has
    paid, the deposit, escrow, transfer confirmation and payout."""
    return _settlement(ref)


@settlement_api.route("/settlement/deals/<ref>/plan", methods=["PUT"])
@access(*STAFF)
@settlement_api.arguments(PlanSchema)
@settlement_api.response(200, SettlementSchema)
def set_plan(data: dict, ref: str):
    """Pay in instalments instead of a lump sum: at least the minimum down, the rest within the
    maximum months of the contract taking effect. Only before anything is paid."""
    svc.set_instalment_plan(get_session(), _actor(), ref, data, clock=get_clock())
    return _settlement(ref)


@settlement_api.route("/settlement/deals/<ref>/apply-cash", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.response(200, SettlementSchema)
@settlement_api.doc(**IDEMPOTENCY)
def apply_cash(ref: str):
    """Use the buyer's free cash at the exchange for what it owes on the deal."""
    svc.pay_from_cash(get_session(), _actor(), ref, clock=get_clock())
    return _settlement(ref)


@settlement_api.route("/settlement/deals/<ref>/transfer-confirmation", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(TransferSchema)
@settlement_api.response(200, SettlementSchema)
def confirm_transfer(data: dict, ref: str):
    """The operator confirms the rights have moved (e.g. the assignment recorded at the patent
    office), with the evidence and the document's SHA-256."""
    svc.confirm_transfer(get_session(), _actor(), ref, evidence=data["evidence"],
                         document_sha256=data["document_sha256"], clock=get_clock())
    return _settlement(ref)


@settlement_api.route("/settlement/deals/<ref>/payout", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.response(200, SettlementSchema)
@settlement_api.doc(**IDEMPOTENCY)
def payout(ref: str):
    """Pay the seller: the escrowed price less the seller's fee, once, after the price is in and
    the transfer is confirmed; the deal is then complete."""
    svc.pay_out(get_session(), _actor(), ref, clock=get_clock())
    return _settlement(ref)


@settlement_api.route("/settlement/deals/<ref>/statement", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, DealStatementSchema)
def deal_statement(ref: str):
    """The deal's settlement with every ledger line that touched it and its receipts."""
    session = get_session()
    deal, st = svc.load_settlement(session, _actor(), ref)
    return reports.deal_statement(session, deal, st)


@settlement_api.route("/settlement/deals/<ref>/statement.csv", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, description="CSV (UTF-8 with BOM)")
def deal_statement_csv(ref: str):
    """The deal statement's ledger lines as CSV."""
    session = get_session()
    deal, st = svc.load_settlement(session, _actor(), ref)
    return _csv(reports.statement_csv(reports.deal_statement(session, deal, st)["lines"]), f"{deal.ref}-statement.csv")


@settlement_api.route("/settlement/deals/<ref>/confirmations", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, ConfirmationsSchema)
def deal_confirmations(ref: str):
    """The exchange's confirmations for a deal: rights confirmed, appraised, price held in escrow,
    settled through the exchange."""
    from auctions.service import deals

    session = get_session()
    return svc.confirmations_for_deal(session, deals.visible_deal(_actor(), deals.load_deal(session, ref)))


@settlement_api.route("/settlement/listings/<ref>/confirmations", methods=["GET"])
@access(PUBLIC)
@settlement_api.response(200, ConfirmationsSchema)
def listing_confirmations(ref: str):
    """The exchange's confirmations shown on a listing."""
    from listings.service import get_listing_for

    u = current_user()
    listing = get_listing_for(get_session(), Actor.of(u) if u else None, ref, clock=get_clock())
    return svc.confirmations_for_listing(get_session(), listing)


# -- refunds --------------------------------------------------------------------------------------------
@settlement_api.route("/settlement/refunds", methods=["POST"])
@access(*STAFF)
@idempotent()
@settlement_api.arguments(RefundCreateSchema)
@settlement_api.response(201, DisbursementSchema)
@settlement_api.doc(**IDEMPOTENCY)
def create_refund(data: dict):
    """Pay a party's free cash back to its bank (an overpayment, a returned price, a forfeiture
    share). The Idempotency-Key names the refund: repeating it never pays twice."""
    from flask import request

    actor = _actor()
    # The key is the caller's, as for every Idempotency-Key; idempotent() has checked it is there.
    key = f"{actor.user_id}:{request.headers[HEADER].strip()}"
    d, _ = svc.refund(get_session(), actor, data["party_ref"], data["amount_fen"], data["reason"], key=key,
                      currency=data["currency"], clock=get_clock())
    return d


@settlement_api.route("/settlement/disbursements", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(PartyFilterArgs, location="query")
@settlement_api.response(200, DisbursementSchema(many=True))
def list_disbursements(args: dict):
    """Payouts and refunds, newest first."""
    import sqlalchemy as sa

    session = get_session()
    stmt = sa.select(Disbursement).order_by(Disbursement.id.desc()).limit(500)
    if args["party_ref"]:
        stmt = stmt.where(Disbursement.party_id == svc.common.load_party(session, args["party_ref"]).id)
    return list(session.scalars(stmt))


# -- reconciliation -------------------------------------------------------------------------------------
@settlement_api.route("/settlement/trial-balance", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(TrialBalanceArgs, location="query")
@settlement_api.response(200, TrialBalanceSchema)
def trial_balance(args: dict):
    """Every account's debits, credits and balance from the postings (optionally as of an instant),
    the totals per currency, and whether each cached balance matches."""
    return reports.trial_balance(get_session(), as_of=args["as_of"])


@settlement_api.route("/settlement/trial-balance.csv", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(TrialBalanceArgs, location="query")
@settlement_api.response(200, description="CSV (UTF-8 with BOM)")
def trial_balance_csv(args: dict):
    """The trial balance as CSV."""
    return _csv(reports.trial_balance_csv(reports.trial_balance(get_session(), as_of=args["as_of"])),
                "trial-balance.csv")


@settlement_api.route("/settlement/ledger/verify", methods=["GET"])
@access(*READERS)
@settlement_api.response(200, LedgerCheckSchema)
def verify():
    """Recompute the ledger: every entry balances with two or more lines, totals are zero, caches match."""
    return svc.verify_ledger(get_session()).as_dict()


@settlement_api.route("/settlement/journal.csv", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(PeriodArgs, location="query")
@settlement_api.response(200, description="CSV (UTF-8 with BOM)")
def journal_csv(args: dict):
    """Every posting of every entry in a date range (Shanghai dates)."""
    return _csv(reports.journal_csv(get_session(), start=args["start"], end=args["end"]), "journal.csv")


@settlement_api.route("/settlement/entries/<ref>", methods=["GET"])
@access(*READERS)
@settlement_api.response(200, EntrySchema)
def get_entry(ref: str):
    """One journal entry with its postings."""
    return svc.ledger.load_entry(get_session(), ref)


@settlement_api.route("/settlement/parties/<ref>/statement", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.arguments(PeriodArgs, location="query")
@settlement_api.response(200, PartyStatementSchema)
def party_statement(args: dict, ref: str):
    """A party's statement: opening balance, every movement, closing balance, its deposits."""
    return reports.party_statement(get_session(), _own_party(ref), start=args["start"], end=args["end"],
                                   clock=get_clock())


@settlement_api.route("/settlement/parties/<ref>/statement.csv", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.arguments(PeriodArgs, location="query")
@settlement_api.response(200, description="CSV (UTF-8 with BOM)")
def party_statement_csv(args: dict, ref: str):
    """The party statement's lines as CSV."""
    st = reports.party_statement(get_session(), _own_party(ref), start=args["start"], end=args["end"],
                                 clock=get_clock())
    return _csv(reports.statement_csv(st["lines"]), f"{ref}-statement.csv")


@settlement_api.route("/settlement/reports/daily", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(DayArgs, location="query")
@settlement_api.response(200, DailyReportSchema)
def daily(args: dict):
    """Expected versus received on a day (today by default): payments and deposits due, receipts,
    totals, and the receipts that need attention (suspense, short, over, unexpected)."""
    return reports.daily_report(get_session(), args["day"] or svc.common.today(get_clock()))


@settlement_api.route("/settlement/reports/daily.csv", methods=["GET"])
@access(*READERS)
@settlement_api.arguments(DayArgs, location="query")
@settlement_api.response(200, description="CSV (UTF-8 with BOM)")
def daily_csv(args: dict):
    """The daily report as CSV."""
    day = args["day"] or svc.common.today(get_clock())
    return _csv(reports.daily_report_csv(reports.daily_report(get_session(), day)), f"daily-{day.isoformat()}.csv")


# -- a party's own view ----------------------------------------------------------------------------------
@settlement_api.route("/settlement/mine", methods=["GET"])
@access(*MEMBERS)
@settlement_api.response(200, MineSchema)
def mine():
    """What your party owes and has paid: deposits, deals (with instalments and due dates), receipts,
    payouts and refunds, and the cash the exchange holds for you."""
    return reports.mine(get_session(), require_user().party, clock=get_clock())


# -- credit ----------------------------------------------------------------------------------------------
@settlement_api.route("/settlement/parties/<ref>/credit", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, CreditSchema)
def credit(ref: str):
    """A party's credit grade and what it changes; the exchange and auditors also see why."""
    actor = _actor()
    record = svc.credit_record(get_session(), _own_party(ref), clock=get_clock())
    return record.as_dict(with_reasons=actor.can_read_all)


@settlement_api.route("/settlement/parties/<ref>/credit-events", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(CreditEventCreateSchema)
@settlement_api.response(201, CreditSchema)
def add_credit_event(data: dict, ref: str):
    """Record an event the exchange learned outside the system (usually a dispute)."""
    session = get_session()
    svc.add_manual_event(session, _actor(), ref, data["kind"], data["note"], on=data["occurred_on"], clock=get_clock())
    return svc.credit_record(session, svc.common.load_party(session, ref), clock=get_clock()).as_dict(with_reasons=True)


@settlement_api.route("/settlement/instruments", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.arguments(PartyFilterArgs, location="query")
@settlement_api.response(200, InstrumentSchema(many=True))
def list_instruments(args: dict):
    """Credit instruments: all for the exchange, your own for members."""
    session = get_session()
    return [svc.credit.instrument_view(session, i, clock=get_clock())
            for i in svc.instruments_of(session, _actor(), args["party_ref"])]


@settlement_api.route("/settlement/instruments", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(InstrumentCreateSchema)
@settlement_api.response(201, InstrumentSchema)
def create_instrument(data: dict):
    """Record a bank guarantee letter, IP insurance or third-party guarantee standing behind a party;
    while valid it stands in for a cash deposit up to its amount."""
    session = get_session()
    party_ref = data.pop("party_ref")
    inst = svc.create_instrument(session, _actor(), party_ref, data, clock=get_clock())
    return svc.credit.instrument_view(session, inst, clock=get_clock())


@settlement_api.route("/settlement/instruments/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, InstrumentSchema)
def get_instrument(ref: str):
    """One instrument, with what deposits reserve of it."""
    session = get_session()
    inst = svc.credit.visible_instrument(_actor(), svc.load_instrument(session, ref))
    return svc.credit.instrument_view(session, inst, clock=get_clock())


@settlement_api.route("/settlement/instruments/<ref>", methods=["PATCH"])
@access(*STAFF)
@settlement_api.arguments(InstrumentUpdateSchema)
@settlement_api.response(200, InstrumentSchema)
def update_instrument(data: dict, ref: str):
    """Correct or extend an instrument (never below what deposits rely on)."""
    session = get_session()
    inst = svc.update_instrument(session, _actor(), ref, data, clock=get_clock())
    return svc.credit.instrument_view(session, inst, clock=get_clock())


@settlement_api.route("/settlement/instruments/<ref>", methods=["DELETE"])
@access(*STAFF)
@settlement_api.arguments(SettlementReasonSchema)
@settlement_api.response(200, InstrumentSchema)
def revoke_instrument(data: dict, ref: str):
    """Revoke an instrument (returned or cancelled); refused while a deposit relies on it."""
    session = get_session()
    inst = svc.revoke_instrument(session, _actor(), ref, data["reason"], clock=get_clock())
    return svc.credit.instrument_view(session, inst, clock=get_clock())


# -- pledges ---------------------------------------------------------------------------------------------
@settlement_api.route("/settlement/pledges", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.arguments(PledgeQuerySchema, location="query")
@settlement_api.response(200, PledgeSchema(many=True))
def list_pledges(args: dict):
    """Pledges: all for the exchange, those you are pledgor or pledgee of for members."""
    session = get_session()
    return [svc.pledges.pledge_view(session, p)
            for p in svc.pledges.list_pledges(session, _actor(), asset_ref=args["asset_ref"],
                                              party_ref=args["party_ref"])]


@settlement_api.route("/settlement/pledges", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(PledgeCreateSchema)
@settlement_api.response(201, PledgeSchema)
def create_pledge(data: dict):
    """Record an IP pledge; each asset gets a pledge encumbrance blocking sale and exclusive licences
    until the pledgee consents or the pledge is released."""
    session = get_session()
    p = svc.create_pledge(session, _actor(), svc.PledgeInput(**data), clock=get_clock())
    return svc.pledges.pledge_view(session, p)


@settlement_api.route("/settlement/pledges/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@settlement_api.response(200, PledgeSchema)
def get_pledge(ref: str):
    """One pledge with its assets."""
    session = get_session()
    return svc.pledges.pledge_view(session, svc.pledges.visible_pledge(_actor(), svc.pledges.load_pledge(session, ref)))


@settlement_api.route("/settlement/pledges/<ref>/consents", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(ConsentSchema)
@settlement_api.response(200, PledgeSchema)
def consent(data: dict, ref: str):
    """Record the pledgee's written consent to dealing in one trading mode."""
    session = get_session()
    p = svc.consent(session, _actor(), ref, data["mode"].value, data["note"], clock=get_clock())
    return svc.pledges.pledge_view(session, p)


@settlement_api.route("/settlement/pledges/<ref>/release", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(NoteSchema)
@settlement_api.response(200, PledgeSchema)
def release_pledge(data: dict, ref: str):
    """Release the pledge (deregistered); it stops blocking the assets."""
    session = get_session()
    p = svc.release_pledge(session, _actor(), ref, data["note"], clock=get_clock())
    return svc.pledges.pledge_view(session, p)


# -- fees and settings -----------------------------------------------------------------------------------
@settlement_api.route("/settlement/fee-schedules", methods=["GET"])
@access(PUBLIC)
@settlement_api.response(200, FeeScheduleSchema(many=True))
def fee_schedules():
    """Every fee schedule version, oldest first; a deal keeps the version in force when it was struck."""
    return [row for row, _ in svc.schedules(get_session(), clock=get_clock())]


@settlement_api.route("/settlement/fee-schedules", methods=["POST"])
@access(*STAFF)
@settlement_api.arguments(FeeScheduleCreateSchema)
@settlement_api.response(201, FeeScheduleSchema)
def add_fee_schedule(data: dict):
    """Add a new fee schedule version, taking effect today or later. Versions are never changed."""
    return svc.add_schedule(get_session(), _actor(), data, clock=get_clock())


@settlement_api.route("/settlement/fee-quote", methods=["GET"])
@access(PUBLIC)
@settlement_api.arguments(FeeQuoteArgs, location="query")
@settlement_api.response(200, FeeQuoteSchema)
def fee_quote(args: dict):
    """Both sides' fees on a price, band by band, under the schedule in force on a day."""
    return svc.fee_quote(get_session(), args["price_fen"], args["method"], on=args["on"], clock=get_clock())


@settlement_api.route("/settlement/settings", methods=["GET"])
@access(*READERS)
@settlement_api.response(200, SettingsSchema)
def get_settings():
    """Settlement settings in force (forfeiture split, deadlines, instalment limits)."""
    return svc.get_settings(get_session())


@settlement_api.route("/settlement/settings", methods=["PATCH"])
@access(*STAFF)
@settlement_api.arguments(SettingsUpdateSchema)
@settlement_api.response(200, SettingsSchema)
def update_settings(data: dict):
    """Change settlement settings; every value is checked and nothing changes if one is wrong."""
    return svc.update_settings(get_session(), _actor(), data, clock=get_clock())
