"""Reconciliation and views: trial balance, statements per party and per deal, the daily report of
expected versus received, CSV exports, a buyer's own view, and the exchange's confirmations."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.clock import Clock, end_of_local_day_utc, local_midnight_utc
from exchange.models import Party
from auctions.models import Deal, DealState
from listings.models import BuyerRegistration, Listing
from listings import domain as ld
from settlement.domain import ACCOUNT_NATURE, AccountKind, HoldState
from settlement.models import (
    BankNotification,
    DealSettlement,
    DepositHold,
    Disbursement,
    JournalEntry,
    LedgerAccount,
    LedgerPosting,
    PaymentObligation,
    SettlementState,
)
from settlement.service import ledger, obligations
from settlement.service.common import today


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    """CSV text for spreadsheets: UTF-8 with a BOM (so Excel reads Chinese), amounts in yuan and fen."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, (date, datetime)) else v) for v in row])
    return buf.getvalue()


def yuan(fen: int) -> str:
    """Fen as a plain yuan amount with two decimals (exports)."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


# -- trial balance ---------------------------------------------------------------------------------
def trial_balance(session: Session, *, as_of: datetime | None = None) -> dict[str, Any]:
    """Every account's debits, credits and balance from the postings (up to ``as_of``), with totals
    per currency that must agree, and each cached balance beside the derived one."""
    stmt = (sa.select(LedgerPosting.account_id,
                      sa.func.coalesce(sa.func.sum(sa.case((LedgerPosting.amount_fen > 0, LedgerPosting.amount_fen),
                                                           else_=0)), 0),
                      sa.func.coalesce(sa.func.sum(sa.case((LedgerPosting.amount_fen < 0, -LedgerPosting.amount_fen),
                                                           else_=0)), 0))
            .group_by(LedgerPosting.account_id))
    if as_of is not None:
        stmt = stmt.join(JournalEntry, JournalEntry.id == LedgerPosting.entry_id).where(JournalEntry.created_at <= as_of)
    sums = {aid: (int(dr), int(cr)) for aid, dr, cr in session.execute(stmt)}
    parties = dict(session.execute(sa.select(Party.id, Party.ref)).all())
    rows, totals = [], defaultdict(lambda: {"debit_fen": 0, "credit_fen": 0})
    for acc in session.scalars(sa.select(LedgerAccount).order_by(LedgerAccount.kind, LedgerAccount.key)):
        dr, cr = sums.get(acc.id, (0, 0))
        rows.append({"account": acc.key, "kind": acc.kind.value, "nature": ACCOUNT_NATURE[AccountKind(acc.kind)].value,
                     "party_ref": parties.get(acc.party_id), "currency": acc.currency, "debit_fen": dr,
                     "credit_fen": cr, "balance_fen": dr - cr, "cached_fen": acc.balance_fen})
        totals[acc.currency]["debit_fen"] += dr
        totals[acc.currency]["credit_fen"] += cr
    tot = [{"currency": c, **t, "balanced": t["debit_fen"] == t["credit_fen"]} for c, t in sorted(totals.items())]
    cache_ok = as_of is not None or all(r["balance_fen"] == r["cached_fen"] for r in rows)
    return {"as_of": as_of, "accounts": rows, "totals": tot,
            "balanced": all(t["balanced"] for t in tot), "cache_matches": cache_ok}


def trial_balance_csv(tb: dict[str, Any]) -> str:
    """The trial balance as CSV."""
    return to_csv(["account", "kind", "nature", "party", "currency", "debit", "credit", "balance", "balance_fen"],
                  [[r["account"], r["kind"], r["nature"], r["party_ref"], r["currency"], yuan(r["debit_fen"]),
                    yuan(r["credit_fen"]), yuan(r["balance_fen"]), r["balance_fen"]] for r in tb["accounts"]])


# -- statements ------------------------------------------------------------------------------------
def _lines(session: Session, account_ids: list[int], start: datetime | None, end: datetime | None) -> list[dict]:
    if not account_ids:
        return []
    stmt = (sa.select(JournalEntry, LedgerPosting, LedgerAccount)
            .join(LedgerPosting, LedgerPosting.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerPosting.account_id.in_(account_ids)).order_by(JournalEntry.id, LedgerPosting.id))
    if start is not None:
        stmt = stmt.where(JournalEntry.created_at >= start)
    if end is not None:
        stmt = stmt.where(JournalEntry.created_at < end)
    return [{"entry_ref": e.ref, "kind": e.kind.value, "at": e.created_at, "memo": e.memo, "account": a.key,
             "account_kind": a.kind.value, "currency": p.currency, "amount_fen": p.amount_fen}
            for e, p, a in session.execute(stmt)]


def party_statement(session: Session, party: Party, *, start: date | None = None, end: date | None = None,
                    clock: Clock) -> dict[str, Any]:
    """A party's accounts at the exchange: opening balance, every movement, closing balance.

    Amounts are shown from the party's side: positive is money the exchange holds for it
    (cash, deposits), negative is what it owes (receivable)."""
    accounts = list(session.scalars(sa.select(LedgerAccount).where(LedgerAccount.party_id == party.id)
                                    .order_by(LedgerAccount.kind)))
    start_at = local_midnight_utc(start) if start else None
    end_at = end_of_local_day_utc(end) if end else None
    opening: dict[str, int] = {}
    for acc in accounts:
        before = 0
        if start_at is not None:
            before = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LedgerPosting.amount_fen), 0))
                                    .join(JournalEntry, JournalEntry.id == LedgerPosting.entry_id)
                                    .where(LedgerPosting.account_id == acc.id, JournalEntry.created_at < start_at)) or 0)
        opening[acc.key] = -int(before)
    running = dict(opening)
    lines = []
    for ln in _lines(session, [a.id for a in accounts], start_at, end_at):
        running[ln["account"]] -= ln["amount_fen"]
        lines.append({**ln, "amount_fen": -ln["amount_fen"], "balance_fen": running[ln["account"]]})
    holds = session.execute(sa.select(DepositHold, BuyerRegistration.ref)
                            .join(BuyerRegistration, BuyerRegistration.id == DepositHold.registration_id)
                            .where(DepositHold.party_id == party.id).order_by(DepositHold.id)).all()
    return {"party_ref": party.ref, "party_name": party.name, "start": start, "end": end,
            "opening": [{"account": k, "balance_fen": v} for k, v in opening.items()],
            "closing": [{"account": k, "balance_fen": v} for k, v in running.items()],
            "lines": lines,
            "cash_available_fen": ledger.available_cash_fen(session, party),
            "holds": [_hold_row(h, ref) for h, ref in holds], "generated_on": today(clock)}


def _hold_row(h: DepositHold, reg_ref: str) -> dict[str, Any]:
    return {"registration_ref": reg_ref, "state": h.state.value, "amount_fen": h.amount_fen, "cash_fen": h.cash_fen,
            "cover_fen": h.cover_fen, "instrument_ref": h.instrument.ref if h.instrument else None,
            "currency": h.currency, "funded_at": h.funded_at, "release_due_on": h.release_due_on,
            "resolved_at": h.resolved_at, "resolution_note": h.resolution_note}


def statement_csv(lines: list[dict]) -> str:
    """Statement lines as CSV."""
    return to_csv(["entry", "kind", "at", "account", "currency", "amount", "amount_fen", "balance_fen", "memo"],
                  [[ln["entry_ref"], ln["kind"], ln["at"], ln["account"], ln["currency"], yuan(ln["amount_fen"]),
                    ln["amount_fen"], ln.get("balance_fen"), ln["memo"]] for ln in lines])


def settlement_view(session: Session, deal: Deal, st: DealSettlement) -> dict[str, Any]:
    """A deal's settlement as its parties and the exchange see it."""
    escrow = -ledger.balance_fen(session, ledger.escrow_key(deal.ref), st.currency)
    owed = sum(o.amount_fen for o in st.obligations if o.state.value != "cancelled")
    paid = sum(o.paid_fen for o in st.obligations)
    hold = st.hold
    reg_ref = session.scalar(sa.select(BuyerRegistration.ref).where(BuyerRegistration.id == hold.registration_id)) \
        if hold else None
    return {
        "deal_ref": deal.ref, "deal_state": deal.state.value, "state": st.state.value, "currency": st.currency,
        "buyer_ref": deal.buyer.ref, "seller_ref": deal.seller.ref, "price_fen": st.price_fen,
        "fee_schedule_version": st.fee_schedule_version, "fee_method": st.fee_method,
        "buyer_fee_fen": st.buyer_fee_fen, "seller_fee_fen": st.seller_fee_fen,
        "applied_deposit_fen": st.applied_deposit_fen, "plan_kind": st.plan_kind.value if st.plan_kind else None,
        "total_due_fen": owed, "paid_fen": paid, "outstanding_fen": obligations.outstanding_fen(st),
        "fee_paid_fen": st.fee_paid_fen, "price_paid_fen": st.price_paid_fen, "escrow_fen": escrow,
        "price_in_at": st.price_in_at, "transfer_confirmed_at": st.transfer_confirmed_at,
        "transfer_evidence": st.transfer_evidence, "transfer_document_sha256": st.transfer_document_sha256,
        "paid_out_at": st.paid_out_at, "seller_payout_fen": (st.price_fen - st.seller_fee_fen) if st.paid_out_at else 0,
        "defaulted_at": st.defaulted_at,
        "hold": _hold_row(hold, reg_ref) if hold else None,
        "obligations": [{"seq": o.seq, "due_on": o.due_on, "due_provisional": o.due_provisional,
                         "amount_fen": o.amount_fen, "paid_fen": o.paid_fen, "state": o.state.value,
                         "paid_at": o.paid_at, "overdue_at": o.overdue_at} for o in st.obligations],
    }


def deal_statement(session: Session, deal: Deal, st: DealSettlement) -> dict[str, Any]:
    """The settlement of one deal with every ledger entry that touched it."""
    entries = session.scalars(sa.select(JournalEntry).where(JournalEntry.deal_id == deal.id).order_by(JournalEntry.id))
    lines = []
    for e in entries:
        for p in e.postings:
            lines.append({"entry_ref": e.ref, "kind": e.kind.value, "at": e.created_at, "memo": e.memo,
                          "account": p.account.key, "account_kind": p.account.kind.value, "currency": p.currency,
                          "amount_fen": p.amount_fen})
    receipts = session.scalars(sa.select(BankNotification).where(BankNotification.matched_kind == "deal",
                                                                 BankNotification.matched_ref == deal.ref)
                               .order_by(BankNotification.id))
    return {**settlement_view(session, deal, st), "lines": lines,
            "receipts": [_receipt_row(n) for n in receipts]}


def _receipt_row(n: BankNotification) -> dict[str, Any]:
    return {"ref": n.ref, "bank_reference": n.bank_reference, "amount_fen": n.amount_fen, "currency": n.currency,
            "purpose": n.purpose.value, "purpose_ref": n.purpose_ref, "value_date": n.value_date,
            "state": n.state.value, "flag": n.flag.value if n.flag else None, "expected_fen": n.expected_fen,
            "matched_ref": n.matched_ref, "payer_name": n.payer_name}


# -- daily report ----------------------------------------------------------------------------------
def daily_report(session: Session, day: date) -> dict[str, Any]:
    """What was due on ``day`` (payments and deposits) against what arrived that day."""
    expected = []
    for ob, deal_ref, party_ref in session.execute(
            sa.select(PaymentObligation, Deal.ref, Party.ref).join(Deal, Deal.id == PaymentObligation.deal_id)
            .join(Party, Party.id == PaymentObligation.party_id).where(PaymentObligation.due_on == day)
            .order_by(PaymentObligation.id)):
        expected.append({"kind": "deal_payment", "ref": deal_ref, "seq": ob.seq, "party_ref": party_ref,
                         "amount_fen": ob.amount_fen, "paid_fen": ob.paid_fen, "outstanding_fen": ob.amount_fen - ob.paid_fen,
                         "state": ob.state.value, "currency": ob.currency})
    start, end = local_midnight_utc(day), end_of_local_day_utc(day)
    for hold, reg_ref, party_ref in session.execute(
            sa.select(DepositHold, BuyerRegistration.ref, Party.ref)
            .join(BuyerRegistration, BuyerRegistration.id == DepositHold.registration_id)
            .join(Party, Party.id == DepositHold.party_id)
            .where(BuyerRegistration.deposit_due_at > start, BuyerRegistration.deposit_due_at <= end,
                   DepositHold.cash_fen > 0).order_by(DepositHold.id)):
        paid = hold.cash_fen if hold.funded_at is not None else 0
        expected.append({"kind": "deposit", "ref": reg_ref, "seq": None, "party_ref": party_ref,
                         "amount_fen": hold.cash_fen, "paid_fen": paid, "outstanding_fen": hold.cash_fen - paid,
                         "state": hold.state.value, "currency": hold.currency})
    received = [_receipt_row(n) for n in session.scalars(
        sa.select(BankNotification).where(BankNotification.value_date == day).order_by(BankNotification.id))]
    by_cur: dict[str, dict[str, int]] = defaultdict(lambda: {"expected_fen": 0, "outstanding_fen": 0,
                                                             "received_fen": 0, "matched_fen": 0,
                                                             "suspense_fen": 0, "returned_fen": 0})
    for e in expected:
        by_cur[e["currency"]]["expected_fen"] += e["amount_fen"]
        by_cur[e["currency"]]["outstanding_fen"] += e["outstanding_fen"]
    for r in received:
        t = by_cur[r["currency"]]
        t["received_fen"] += r["amount_fen"]
        t[{"matched": "matched_fen", "suspense": "suspense_fen", "returned": "returned_fen"}[r["state"]]] += r["amount_fen"]
    totals = [{"currency": c, **t, "difference_fen": t["received_fen"] - t["expected_fen"]}
              for c, t in sorted(by_cur.items())]
    flagged = [r for r in received if r["flag"] in ("short", "over", "unexpected") or r["state"] == "suspense"]
    return {"day": day, "expected": expected, "received": received, "totals": totals, "needs_attention": flagged}


def daily_report_csv(rep: dict[str, Any]) -> str:
    """The daily report as CSV: expected rows, then received rows."""
    rows = [["expected", e["kind"], e["ref"], e["seq"], e["party_ref"], e["currency"], yuan(e["amount_fen"]),
             e["amount_fen"], e["paid_fen"], e["state"], ""] for e in rep["expected"]]
    rows += [["received", r["purpose"], r["matched_ref"] or r["purpose_ref"], r["bank_reference"], r["payer_name"],
              r["currency"], yuan(r["amount_fen"]), r["amount_fen"], r["expected_fen"], r["state"], r["flag"] or ""]
             for r in rep["received"]]
    return to_csv(["side", "kind", "ref", "seq_or_bank_ref", "party", "currency", "amount", "amount_fen",
                   "paid_or_expected_fen", "state", "flag"], rows)


def journal_csv(session: Session, *, start: date | None = None, end: date | None = None) -> str:
    """Every posting of every entry in a date range (the auditor's export)."""
    stmt = (sa.select(JournalEntry, LedgerPosting, LedgerAccount)
            .join(LedgerPosting, LedgerPosting.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id).order_by(JournalEntry.id, LedgerPosting.id))
    if start:
        stmt = stmt.where(JournalEntry.created_at >= local_midnight_utc(start))
    if end:
        stmt = stmt.where(JournalEntry.created_at < end_of_local_day_utc(end))
    return to_csv(["entry", "kind", "at", "source_key", "account", "currency", "debit", "credit", "amount_fen", "memo"],
                  [[e.ref, e.kind.value, e.created_at, e.source_key, a.key, p.currency,
                    yuan(p.amount_fen) if p.amount_fen > 0 else "", yuan(-p.amount_fen) if p.amount_fen < 0 else "",
                    p.amount_fen, e.memo] for e, p, a in session.execute(stmt)])


# -- a party's own view ----------------------------------------------------------------------------
def mine(session: Session, party: Party, *, clock: Clock) -> dict[str, Any]:
    """What a party owes and has paid: its deposits, the deals it buys (and sells), its receipts and refunds."""
    holds = session.execute(sa.select(DepositHold, BuyerRegistration.ref, Listing.ref)
                            .join(BuyerRegistration, BuyerRegistration.id == DepositHold.registration_id)
                            .join(Listing, Listing.id == DepositHold.listing_id)
                            .where(DepositHold.party_id == party.id).order_by(DepositHold.id.desc())).all()
    deals = []
    for deal, st in session.execute(sa.select(Deal, DealSettlement).join(DealSettlement, DealSettlement.deal_id == Deal.id)
                                    .where(sa.or_(Deal.buyer_party_id == party.id, Deal.seller_party_id == party.id))
                                    .order_by(Deal.id.desc())):
        view = settlement_view(session, deal, st)
        view["role"] = "buyer" if deal.buyer_party_id == party.id else "seller"
        nxt = obligations.next_due(st)
        view["next_due"] = ({"seq": nxt.seq, "due_on": nxt.due_on, "outstanding_fen": nxt.amount_fen - nxt.paid_fen}
                            if nxt and view["role"] == "buyer" else None)
        if view["role"] == "seller":
            view.pop("hold", None)
            view["obligations"] = []
        deals.append(view)
    receipts = session.scalars(sa.select(BankNotification).where(BankNotification.matched_party_id == party.id)
                               .order_by(BankNotification.id.desc()).limit(200))
    refunds = session.scalars(sa.select(Disbursement).where(Disbursement.party_id == party.id)
                              .order_by(Disbursement.id.desc()).limit(200))
    buying = [d for d in deals if d["role"] == "buyer"]
    return {
        "party_ref": party.ref, "as_of": today(clock),
        "cash_available_fen": ledger.available_cash_fen(session, party),
        "deposits_held_fen": sum(h.cash_fen for h, _, _ in holds if h.state == HoldState.HELD),
        "outstanding_fen": sum(d["outstanding_fen"] for d in buying),
        "paid_fen": sum(d["paid_fen"] for d in buying),
        "deposits": [{**_hold_row(h, reg_ref), "listing_ref": listing_ref} for h, reg_ref, listing_ref in holds],
        "deals": deals,
        "receipts": [_receipt_row(n) for n in receipts],
        "disbursements": [{"ref": d.ref, "kind": d.kind.value, "amount_fen": d.amount_fen, "currency": d.currency,
                           "reason": d.reason, "at": d.created_at} for d in refunds],
    }


# -- the exchange's confirmations -------------------------------------------------------------------
def _asset_flags(session: Session, asset_id: int) -> dict[str, bool]:
    from listings.models import Appraisal, Asset, ConfirmationReview

    asset = session.get(Asset, asset_id)
    confirmed = asset.confirmation == ld.AssetConfirmation.CONFIRMED or session.scalar(
        sa.select(ConfirmationReview.id).where(ConfirmationReview.asset_id == asset_id,
                                               ConfirmationReview.decision == ld.AssetConfirmation.CONFIRMED)
        .limit(1)) is not None
    appraised = session.scalar(sa.select(Appraisal.id).where(Appraisal.asset_id == asset_id).limit(1)) is not None
    return {"rights_confirmed": bool(confirmed), "appraised": appraised}


def confirmations_for_deal(session: Session, deal: Deal) -> dict[str, bool]:
    """What the exchange vouches for on a deal (shown on listings and certificates):
    rights confirmed, appraised, price held in escrow, settled through the exchange."""
    flags = _asset_flags(session, deal.asset_id)
    st = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    flags["price_held_in_escrow"] = bool(st is not None and st.price_in_at is not None)
    flags["settled_through_exchange"] = bool(st is not None and st.state == SettlementState.PAID_OUT)
    return flags


def confirmations_for_listing(session: Session, listing: Listing) -> dict[str, bool]:
    """The same confirmations for a listing: its live (or completed) deal decides the money ones."""
    deal = session.scalar(sa.select(Deal).where(Deal.listing_id == listing.id,
                                                Deal.state.in_([DealState.STRUCK.value, DealState.IN_FORCE.value,
                                                                DealState.COMPLETED.value]))
                          .order_by(Deal.id.desc()).limit(1))
    if deal is not None:
        return confirmations_for_deal(session, deal)
    return {**_asset_flags(session, listing.asset_id), "price_held_in_escrow": False,
            "settled_through_exchange": False}
