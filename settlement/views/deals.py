"""Deals in settlement: lists (all, transfers to confirm, payouts due, overdue payments) and the deal
statement page with its actions: instalment plan, applying the buyer's cash, confirming the transfer
and paying the seller out (or saying why not yet)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from auctions.models import Deal
from exchange.auth import READERS, STAFF, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from listings.forms import ConfirmForm
from settlement import service as svc
from settlement.forms import PlanForm, TransferForm
from settlement.models import DealSettlement, PaymentObligation, SettlementState
from settlement.service import ledger, obligations, reports
from settlement.service.common import today
from settlement.views import settlement_web
from settlement.views.common import TRANSFER_PENDING, actor, overdue_obligations, refuse

S = SettlementState
LISTS: dict[str, dict[str, Any]] = {
    "open": {"title": _l("Deals in settlement"),
             "where": (DealSettlement.state.in_([S.AWAITING_CONTRACT.value, S.AWAITING_PAYMENT.value,
                                                 S.PRICE_IN.value]),)},
    "transfer": {"title": _l("Transfers to confirm"), "where": TRANSFER_PENDING},
    "payout": {"title": _l("Payouts"), "where": (DealSettlement.state == S.PRICE_IN.value,)},
    "all": {"title": _l("All deals in settlement"), "where": ()},
}


def _rows(where: tuple[Any, ...], limit: int = 300) -> list[dict[str, Any]]:
    session, on = get_session(), today(get_clock())
    stmt = (sa.select(DealSettlement, Deal).join(Deal, Deal.id == DealSettlement.deal_id)
            .options(selectinload(DealSettlement.obligations), selectinload(Deal.buyer), selectinload(Deal.seller))
            .where(*where).order_by(DealSettlement.id.desc()).limit(limit))
    rows = []
    for st, deal in session.execute(stmt):
        nxt = obligations.next_due(st)
        rows.append({"deal": deal, "st": st, "next": nxt, "outstanding_fen": obligations.outstanding_fen(st),
                     "paid_fen": sum(o.paid_fen for o in st.obligations),
                     "total_fen": sum(o.amount_fen for o in st.obligations if o.state.value != "cancelled"),
                     "overdue": sum(1 for o in st.obligations
                                    if o.state.value in obligations.OPEN_STATES and o.due_on < on)})
    return rows


def _list(show: str):  # type: ignore[no-untyped-def]
    spec = LISTS[show]
    return render_template("settlement/deals.html", rows=_rows(spec["where"]), show=show, title=spec["title"],
                           lists=LISTS)


@settlement_web.get("/operator/settlement/deals")
@access(*READERS)
def deals():
    """Deals whose settlement is running: what is due and paid, the next deadline, overdue flags."""
    return _list("open")


@settlement_web.get("/operator/settlement/deals/all")
@access(*READERS)
def all_deals():
    return _list("all")


@settlement_web.get("/operator/settlement/transfers")
@access(*READERS)
def transfers():
    """Deals in force whose transfer the exchange has not confirmed yet."""
    return _list("transfer")


@settlement_web.get("/operator/settlement/payouts")
@access(*READERS)
def payouts():
    """Deals with the price in escrow: paid out once the transfer is confirmed."""
    return _list("payout")


@settlement_web.get("/operator/settlement/overdue")
@access(*READERS)
def overdue():
    """Payments owed on deals, the overdue ones first."""
    session, clock = get_session(), get_clock()
    on = today(clock)
    stmt = (sa.select(PaymentObligation, Deal).join(Deal, Deal.id == PaymentObligation.deal_id)
            .options(selectinload(Deal.buyer))
            .where(PaymentObligation.state.in_(obligations.OPEN_STATES))
            .order_by(PaymentObligation.due_on, PaymentObligation.id).limit(500))
    rows = [{"ob": ob, "deal": deal, "late": ob.due_on < on} for ob, deal in session.execute(stmt)]
    late = session.scalar(sa.select(sa.func.count()).select_from(PaymentObligation)
                          .where(*overdue_obligations(clock))) or 0
    return render_template("settlement/overdue.html", rows=rows, late=late, lists=LISTS)


# -- one deal -----------------------------------------------------------------------------------------
ACTIONS = ("plan", "apply_cash", "transfer", "payout")


def payout_blockers(deal: Deal, st: DealSettlement, escrow_fen: int) -> list[str]:
    """Why the seller cannot be paid out now (empty when it can)."""
    reasons = []
    if st.state == S.PAID_OUT:
        return [_("The seller has been paid out.")]
    if st.state == S.DEFAULTED:
        return [_("The buyer defaulted; there is nothing to pay out.")]
    if st.state == S.CANCELLED:
        return [_("The deal was called off before it took effect; there is nothing to pay out.")]
    if st.state == S.AWAITING_CONTRACT:
        reasons.append(_("The contract has not taken effect yet."))
    elif st.state == S.AWAITING_PAYMENT:
        reasons.append(_("The price is not fully in yet."))
    if st.transfer_confirmed_at is None:
        reasons.append(_("The exchange has not confirmed the transfer."))
    if st.state == S.PRICE_IN and escrow_fen != st.price_fen:
        reasons.append(_("Escrow does not hold the price; reconcile before paying out."))
    return reasons


def _forms(st: DealSettlement, blockers: list[str], cash_fen: int,
           given: dict[str, Any] | None) -> dict[str, Any]:
    forms = dict(given or {})
    if st.state == S.AWAITING_PAYMENT and not (st.fee_paid_fen or st.price_paid_fen):
        forms.setdefault("plan", PlanForm(prefix="plan", formdata=None))
    if st.state == S.AWAITING_PAYMENT and cash_fen > 0:
        forms.setdefault("apply_cash", ConfirmForm(prefix="apply_cash", formdata=None))
    if st.transfer_confirmed_at is None and st.state in (S.AWAITING_PAYMENT, S.PRICE_IN):
        forms.setdefault("transfer", TransferForm(prefix="transfer", formdata=None))
    if not blockers:
        forms.setdefault("payout", ConfirmForm(prefix="payout", formdata=None))
    return forms


def _render(ref: str, given: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    deal, st = svc.load_settlement(session, actor(), ref)
    statement = reports.deal_statement(session, deal, st)
    blockers = payout_blockers(deal, st, statement["escrow_fen"])
    cash = ledger.available_cash_fen(session, deal.buyer, st.currency)
    settings = svc.get_settings(session)
    min_down = f"{(Decimal(str(settings['min_down_ratio'])) * 100).normalize():f}%"
    return render_template("settlement/deal.html", deal=deal, st=st, s=statement, blockers=blockers,
                           settings=settings, min_down=min_down,
                           buyer_cash_fen=cash, forms=_forms(st, blockers, cash, given),
                           marks=svc.confirmations_for_deal(session, deal), on=today(get_clock())), status


@settlement_web.get("/operator/settlement/deals/<ref>")
@access(*READERS)
def deal_page(ref: str):
    """The deal statement: fees, what is due and paid, instalments, deposit, escrow, receipts, ledger lines."""
    return _render(ref)


@settlement_web.post("/operator/settlement/deals/<ref>/<action>")
@access(*STAFF)
def deal_action(ref: str, action: str):
    if action not in ACTIONS:
        abort(404)
    form: Any = {"plan": PlanForm, "transfer": TransferForm}.get(action, ConfirmForm)(prefix=action)
    if not form.validate_on_submit():
        return _render(ref, {action: form}, 422)
    session, clock = get_session(), get_clock()
    try:
        if action == "plan":
            svc.set_instalment_plan(session, actor(), ref, {
                "down_ratio": form.down_ratio.data.strip(), "count": form.count.data,
                "interval_months": form.interval_months.data, "first_due": form.first_due.data}, clock=clock)
            message = _("Deal %(ref)s is now paid in instalments.", ref=ref)
        elif action == "apply_cash":
            svc.pay_from_cash(session, actor(), ref, clock=clock)
            message = _("The buyer's cash at the exchange was applied to deal %(ref)s.", ref=ref)
        elif action == "transfer":
            svc.confirm_transfer(session, actor(), ref, evidence=form.evidence.data,
                                 document_sha256=(form.document_sha256.data or "").strip() or None, clock=clock)
            message = _("The transfer of deal %(ref)s is confirmed.", ref=ref)
        else:
            svc.pay_out(session, actor(), ref, clock=clock)
            message = _("The seller of deal %(ref)s is paid out; the deal is complete.", ref=ref)
    except DomainError as err:
        if err.code in ("deal_not_found", "settlement_not_found"):
            raise
        return _render(ref, {action: form}, refuse(form, err, {"due_dates": "count", "total": "down_ratio"}))
    flash(message, "ok")
    return redirect(url_for(".deal_page", ref=ref), 303)
