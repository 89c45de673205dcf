"""Buyer pages: register interest in a listing, and my registrations with deposit instructions."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from exchange.auth import MEMBERS, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError
from listings import domain as d
from listings import service as svc
from listings.forms import RegisterInterestForm
from listings.views import listings_web
from listings.views.common import actor, deposit_account, show_error
from listings.views.public import render_listing


@listings_web.post("/listings/<ref>/register")
@access(*MEMBERS)
def register_interest(ref: str):
    form = RegisterInterestForm()
    if not form.validate_on_submit():
        return render_listing(ref, form, 422)
    try:
        reg = svc.register_interest(get_session(), actor(), ref, form.declaration.data, clock=get_clock())
    except NotFoundError:
        raise
    except DomainError as err:
        # The form passed in is drawn with its refusal even when the listing no longer takes registrations.
        return render_listing(ref, form, show_error(form, err))
    flash(_("Registered. Pay the deposit of %(amount)s by the deadline, quoting %(ref)s as the payment reference.",
            amount=_money(reg.deposit_fen), ref=reg.ref), "ok")
    return redirect(url_for(".my_registrations", _anchor=reg.ref))


def _money(fen: int) -> str:
    from exchange.money import Money

    return Money(fen).format()


@listings_web.get("/my/registrations")
@access(*MEMBERS)
def my_registrations():
    session = get_session()
    regs = svc.registrations_of(session, actor().party_id)
    # A deposit falls due at the end of the last publicity day (an exclusive instant); say "by 23:59".
    due = {r.id: r.deposit_due_at - timedelta(minutes=1) for r in regs}
    return render_template("listings/my_registrations.html", regs=regs, due=due, account=deposit_account(),
                           awaiting=d.RegistrationState.PENDING_DEPOSIT)
