"""Money in: the receipts list with its filters, keying in a bank notification, and matching a
receipt in suspense to what it pays, or returning it to the payer."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from exchange.auth import READERS, STAFF, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.money import Money
from exchange.pagination import paginate
from settlement import service as svc
from settlement.forms import MatchForm, NotificationFilterForm, NotificationForm, ReasonForm
from settlement.labels import label
from settlement.models import BankNotification, MatchTarget, NotificationState, PaymentFlag
from settlement.views import settlement_web
from settlement.views.common import PER_PAGE, actor, refuse

FLAGGED = [PaymentFlag.SHORT.value, PaymentFlag.OVER.value, PaymentFlag.UNEXPECTED.value]


@settlement_web.get("/operator/settlement/payments")
@access(*READERS)
def payments():
    """Receipts, newest first, filtered by state (suspense...) and by how the amount compared with what was due."""
    session = get_session()
    form = NotificationFilterForm(request.args)
    form.validate()
    state, flag = form.state.data or "", form.flag.data or ""
    stmt = sa.select(BankNotification).order_by(BankNotification.id.desc())
    if state in {s.value for s in NotificationState}:
        stmt = stmt.where(BankNotification.state == state)
    if flag == "flagged":
        stmt = stmt.where(BankNotification.flag.in_(FLAGGED))
    elif flag in FLAGGED:
        stmt = stmt.where(BankNotification.flag == flag)
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    items, meta = paginate(session, stmt, page, PER_PAGE)
    suspense = session.scalar(sa.select(sa.func.count()).select_from(BankNotification)
                              .where(BankNotification.state == NotificationState.SUSPENSE.value)) or 0
    return render_template("settlement/payments.html", form=form, items=items, meta=meta, suspense=suspense,
                           args={"state": state, "flag": flag})


@settlement_web.route("/operator/settlement/payments/new", methods=["GET", "POST"])
@access(*STAFF)
def record_payment():
    """Key in a receipt from the bank statement. The bank's reference makes it idempotent: the same
    receipt again changes nothing; the same reference with other details is refused."""
    form = NotificationForm()
    status = 200
    if form.validate_on_submit():
        cmd = svc.NotificationInput(
            bank_reference=form.bank_reference.data.strip(), amount_fen=form.amount.fen,
            payer_name=form.payer_name.data, purpose=form.purpose.data,
            purpose_ref=(form.purpose_ref.data or "").strip() or None,
            payer_account=(form.payer_account.data or "").strip(),
            payer_party_ref=(form.payer_party_ref.data or "").strip() or None,
            value_date=form.value_date.data, remittance_info=form.remittance_info.data or "")
        try:
            n, created = svc.receive_notification(get_session(), actor(), cmd, clock=get_clock(), source="operator")
        except DomainError as err:
            status = refuse(form, err, {"amount_fen": "amount"})
        else:
            if not created:
                flash(_("The bank reference %(bank)s was recorded before as %(ref)s; nothing changed.",
                        bank=n.bank_reference, ref=n.ref), "ok")
            elif n.state == NotificationState.MATCHED:
                flash(_("Receipt %(ref)s of %(amount)s recorded and matched to %(target)s (%(flag)s).",
                        ref=n.ref, amount=Money(n.amount_fen, n.currency).format(), target=n.matched_ref,
                        flag=label("flag", n.flag) if n.flag else "—"), "ok")
            else:
                flash(_("Receipt %(ref)s of %(amount)s recorded. It matches nothing due and waits in suspense.",
                        ref=n.ref, amount=Money(n.amount_fen, n.currency).format()), "ok")
            return redirect(url_for(".payment", ref=n.ref), 303)
    elif request.method == "POST":
        status = 422
    return render_template("settlement/payment_new.html", form=form), status


def _render(ref: str, forms: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    n = svc.load_notification(session, ref)
    forms = dict(forms or {})
    if n.state == NotificationState.SUSPENSE or forms:
        forms.setdefault("match", MatchForm(prefix="match", formdata=None, target=_guess_target(n),
                                            target_ref=n.purpose_ref or ""))
        forms.setdefault("return", ReasonForm(prefix="return", formdata=None))
    return render_template("settlement/payment.html", n=n, forms=forms, target_url=_target_url(n)), status


def _guess_target(n: BankNotification) -> str:
    """The match target the receipt's stated purpose suggests."""
    if n.purpose.value == "deposit":
        return MatchTarget.REGISTRATION.value
    if n.purpose.value in ("price", "fee", "instalment"):
        return MatchTarget.DEAL.value
    return MatchTarget.PARTY.value


def _target_url(n: BankNotification) -> str | None:
    if n.matched_kind is None or not n.matched_ref:
        return None
    return {
        MatchTarget.DEAL: lambda: url_for(".deal_page", ref=n.matched_ref),
        MatchTarget.REGISTRATION: lambda: url_for("listings_web.operator_registration", ref=n.matched_ref),
        MatchTarget.PARTY: lambda: url_for(".credit", party=n.matched_ref),
        MatchTarget.INSTRUMENT: lambda: url_for(".instrument", ref=n.matched_ref),
    }[n.matched_kind]()


@settlement_web.get("/operator/settlement/payments/<ref>")
@access(*READERS)
def payment(ref: str):
    return _render(ref)


@settlement_web.post("/operator/settlement/payments/<ref>/match")
@access(*STAFF)
def match_payment(ref: str):
    form = MatchForm(prefix="match")
    if not form.validate_on_submit():
        return _render(ref, {"match": form}, 422)
    try:
        n = svc.match_notification(get_session(), actor(), ref, form.target.data, form.target_ref.data.strip(),
                                   form.note.data, clock=get_clock())
    except DomainError as err:
        if err.code == "notification_not_found":
            raise
        return _render(ref, {"match": form}, refuse(form, err))
    flash(_("Receipt %(ref)s matched to %(target)s.", ref=n.ref, target=n.matched_ref), "ok")
    return redirect(url_for(".payment", ref=ref), 303)


@settlement_web.post("/operator/settlement/payments/<ref>/return")
@access(*STAFF)
def return_payment(ref: str):
    form = ReasonForm(prefix="return")
    if not form.validate_on_submit():
        return _render(ref, {"return": form}, 422)
    try:
        n = svc.return_notification(get_session(), actor(), ref, form.reason.data, clock=get_clock())
    except DomainError as err:
        if err.code == "notification_not_found":
            raise
        return _render(ref, {"return": form}, refuse(form, err))
    flash(_("Receipt %(ref)s is returned to the payer.", ref=n.ref), "ok")
    return redirect(url_for(".payment", ref=ref), 303)
