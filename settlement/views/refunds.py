"""Money out that is not a payout: deposits due for release (release now) and refunds of the free
cash the exchange holds for a party (an overpayment, a returned price, a forfeiture share)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from exchange.auth import READERS, STAFF, access, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.money import Money
from listings.forms import ConfirmForm
from settlement import service as svc
from settlement.forms import RefundForm
from settlement.models import Disbursement
from settlement.service import ledger
from settlement.views import settlement_web
from settlement.views.common import actor, new_token, refuse, releasable_holds, surplus_cash


def _release_form(ref: str, formdata: bool = False) -> ConfirmForm:
    # One small form per row: the prefix keeps the rows' checkboxes apart.
    return ConfirmForm(prefix=f"rel-{ref}") if formdata else ConfirmForm(prefix=f"rel-{ref}", formdata=None)


def _render(given: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session, clock = get_session(), get_clock()
    releases = releasable_holds(session, clock)
    given = given or {}
    forms = {r.registration_ref: given.get(r.registration_ref) or _release_form(r.registration_ref)
             for r in releases}
    recent = list(session.scalars(sa.select(Disbursement).order_by(Disbursement.id.desc()).limit(30)))
    return render_template("settlement/refunds.html", releases=releases, forms=forms, cash=surplus_cash(session),
                           recent=recent), status


@settlement_web.get("/operator/settlement/refunds")
@access(*READERS)
def refunds():
    """Deposits that may be released now, and parties with free cash to refund."""
    return _render()


@settlement_web.post("/operator/settlement/refunds/release/<registration_ref>")
@access(*STAFF)
def release_deposit(registration_ref: str):
    form = _release_form(registration_ref, formdata=True)
    if not form.validate_on_submit():
        return _render({registration_ref: form}, 422)
    try:
        svc.request_release(get_session(), actor(), registration_ref, clock=get_clock())
    except DomainError as err:
        if err.code == "hold_not_found":
            raise
        return _render({registration_ref: form}, refuse(form, err))
    flash(_("The deposit of %(ref)s is released.", ref=registration_ref), "ok")
    return redirect(url_for(".refunds"), 303)


def _render_party(party_ref: str, form: RefundForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    party = svc.common.load_party(session, party_ref)
    available = ledger.available_cash_fen(session, party)
    if form is None:
        form = RefundForm(formdata=None, amount=Money(available).format(symbol=False) if available > 0 else "")
    form.form_token.data = new_token()  # every rendering is a new request to refund
    done = list(session.scalars(sa.select(Disbursement).where(Disbursement.party_id == party.id)
                                .order_by(Disbursement.id.desc()).limit(50)))
    return render_template("settlement/refund.html", party=party, available_fen=available, form=form,
                           done=done), status


@settlement_web.get("/operator/settlement/refunds/<party_ref>")
@access(*READERS)
def refund_page(party_ref: str):
    """A party's free cash at the exchange and the form to pay it back to its bank."""
    return _render_party(party_ref)


@settlement_web.post("/operator/settlement/refunds/<party_ref>")
@access(*STAFF)
def refund(party_ref: str):
    form = RefundForm()
    if not form.validate_on_submit():
        return _render_party(party_ref, form, 422)
    # The rendered form's token names the refund: the same form sent twice never pays twice.
    key = f"web:{require_user().id}:{form.form_token.data}"
    try:
        d, created = svc.refund(get_session(), actor(), party_ref, form.amount.fen, form.reason.data, key=key,
                                clock=get_clock())
    except DomainError as err:
        if err.code == "party_not_found":
            raise
        if err.code == "insufficient_cash":
            err.field = "amount"  # it is the amount that is too high
        return _render_party(party_ref, form, refuse(form, err, {"amount_fen": "amount"}))
    if created:
        flash(_("Refund %(ref)s of %(amount)s to %(party)s recorded.", ref=d.ref,
                amount=Money(d.amount_fen, d.currency).format(), party=party_ref), "ok")
    else:
        flash(_("This refund was already recorded as %(ref)s; nothing was paid twice.", ref=d.ref), "ok")
    return redirect(url_for(".refund_page", party_ref=party_ref), 303)
