"""A member's "My money": what its party owes and has paid, per deal and per deposit, with the
deadlines in Beijing time, how to pay (the account and the reference to quote), its receipts,
payouts and refunds, and its credit grade."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from exchange.auth import MEMBERS, access, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from listings.forms import ConfirmForm
from auctions.models import Deal
from listings.models import BuyerRegistration, Listing
from listings.views.common import deposit_account
from settlement import service as svc
from settlement.service import reports
from settlement.views import settlement_web
from settlement.views.common import actor, refuse, settlement_account


def _release_form(ref: str, formdata: bool = False) -> ConfirmForm:
    return ConfirmForm(prefix=f"rel-{ref}") if formdata else ConfirmForm(prefix=f"rel-{ref}", formdata=None)


def _render(given: dict[str, ConfirmForm] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session, clock = get_session(), get_clock()
    party = require_user().party
    mine = reports.mine(session, party, clock=clock)
    refs = [d["registration_ref"] for d in mine["deposits"]]
    # A deposit falls due at the end of the last publicity day (an exclusive instant): "by 23:59".
    due = {ref: at - timedelta(minutes=1) for ref, at in session.execute(
        sa.select(BuyerRegistration.ref, BuyerRegistration.deposit_due_at)
        .where(BuyerRegistration.ref.in_(refs)))} if refs else {}
    titles = dict(session.execute(sa.select(Deal.ref, Listing.title).join(Listing, Listing.id == Deal.listing_id)
                                  .where(Deal.ref.in_([d["deal_ref"] for d in mine["deals"]]))).all()) \
        if mine["deals"] else {}
    forms = dict(given or {})
    for d in mine["deposits"]:
        if d["state"] in ("pending", "held") and d["release_due_on"] is not None:
            forms.setdefault(d["registration_ref"], _release_form(d["registration_ref"]))
    return render_template("settlement/my_money.html", m=mine, deposit_due=due, forms=forms, titles=titles,
                           record=svc.credit_record(session, party, clock=clock),
                           account=settlement_account(), deposit_account=deposit_account()), status


@settlement_web.get("/my/settlement")
@access(*MEMBERS)
def my_money():
    return _render()


@settlement_web.post("/my/settlement/deposits/<registration_ref>/release")
@access(*MEMBERS)
def release_my_deposit(registration_ref: str):
    """A losing bidder asks for its deposit back now instead of waiting for the scheduled release."""
    form = _release_form(registration_ref, formdata=True)
    if not form.validate_on_submit():
        return _render({registration_ref: form}, 422)
    try:
        svc.request_release(get_session(), actor(), registration_ref, clock=get_clock())
    except DomainError as err:
        if err.code == "hold_not_found":
            raise
        return _render({registration_ref: form}, refuse(form, err))
    flash(_("Your deposit for %(ref)s is released; it is paid back to your account.", ref=registration_ref), "ok")
    return redirect(url_for(".my_money", _anchor=registration_ref), 303)
