"""Buyer pages: register interest in a listing; my registrations with deposit instructions; withdrawing a
registration and declaring again after the seller changed the qualification conditions."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from exchange.auth import MEMBERS, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError
from listings import domain as d
from listings import service as svc
from listings.forms import RegisterInterestForm, WithdrawRegistrationForm
from listings.models import BuyerRegistration
from listings.views import listings_web
from listings.views.common import actor, deposit_account, show_error
from listings.views.public import render_listing

_IN_PUBLICITY = (d.ListingState.PUBLISHED, d.ListingState.SUSPENDED)


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
    standing = {r.id for r in regs if r.state in d.STANDING_REGISTRATION_STATES and r.listing.state in _IN_PUBLICITY}
    return render_template("listings/my_registrations.html", regs=regs, due=due, account=deposit_account(),
                           awaiting=d.RegistrationState.PENDING_DEPOSIT, standing=standing)


def _my_registration(ref: str) -> BuyerRegistration:
    reg = svc.load_registration(get_session(), ref)
    if reg.buyer_party_id != actor().party_id:
        raise NotFoundError(f"No registration {ref}.", code="registration_not_found")
    return reg


@listings_web.route("/my/registrations/<ref>/withdraw", methods=["GET", "POST"])
@access(*MEMBERS)
def withdraw_registration(ref: str):
    reg = _my_registration(ref)
    form = WithdrawRegistrationForm()
    status = 200
    if form.validate_on_submit():
        told = {"1": True, "0": False}.get(form.expect_forfeit.data or "")
        try:
            reg = svc.withdraw_registration(get_session(), actor(), ref, form.reason.data, clock=get_clock(),
                                            expect_forfeit=told)
        except DomainError as err:
            status = show_error(form, err)
            reg = _my_registration(ref)
        else:
            flash(_("Registration %(ref)s withdrawn. Your deposit of %(amount)s is forfeited.", ref=ref,
                    amount=_money(reg.deposit_fen)) if reg.forfeit_on_withdrawal else
                  _("Registration %(ref)s withdrawn. Any deposit you paid is refunded.", ref=ref), "ok")
            return redirect(url_for(".my_registrations", _anchor=ref))
    elif request.method == "POST":
        status = 422
    form.expect_forfeit.data = "1" if reg.withdrawal_forfeits_deposit else "0"  # what this page says
    if reg.withdrawal_forfeits_deposit:
        explain = _("You are a qualified buyer under the terms now published: withdrawing forfeits your deposit of "
                    "%(amount)s. It cannot be undone.", amount=_money(reg.deposit_fen))
    else:
        explain = _("Withdrawing ends your interest in this listing; any deposit you paid is refunded. "
                    "It cannot be undone.")
    return render_template("listings/listing_action.html", listing=reg.listing, form=form, action="withdraw",
                           heading=_("Withdraw registration %(ref)s", ref=ref), explain=explain,
                           button=_("Withdraw the registration"), back=url_for(".my_registrations")), status


@listings_web.route("/my/registrations/<ref>/declaration", methods=["GET", "POST"])
@access(*MEMBERS)
def renew_declaration(ref: str):
    reg = _my_registration(ref)
    form = RegisterInterestForm()
    status = 200
    if form.validate_on_submit():
        try:
            svc.renew_declaration(get_session(), actor(), ref, form.declaration.data, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err)
        else:
            flash(_("Declaration renewed. The exchange will review your qualification against the new conditions."),
                  "ok")
            return redirect(url_for(".my_registrations", _anchor=ref))
    elif request.method == "POST":
        status = 422
    return render_template("listings/renew_declaration.html", reg=reg, listing=reg.listing, form=form), status
