"""Operator pages for the listings steps: rights confirmation (确权) with appraisal filing,
publication and the publicity actions, and buyer qualification.

Every action is a POST form with a ticked "confirm" box, so nothing important
happens on one careless click and no JavaScript ``confirm()`` is needed.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.auth import STAFF, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from listings import domain as d
from listings import service as svc
from listings.forms import AppraisalForm, ConfirmForm, ReasonForm, ReviewForm
from listings.labels import CHECKLIST_LABELS
from listings.models import Asset, BuyerRegistration, Listing
from listings.service.common import appraisal_required, facts_for
from listings.views import listings_web
from listings.views.common import actor, countdown, show_error, suspension, today

CHECKLIST = tuple(svc.CHECKLIST_ITEMS)
IN_PUBLICITY = (d.ListingState.PUBLISHED.value, d.ListingState.SUSPENDED.value)


# -- rights confirmation ------------------------------------------------------------------------------------
@listings_web.get("/operator/assets")
@access(*STAFF)
def operator_assets():
    session = get_session()
    assets = list(session.scalars(sa.select(Asset).where(Asset.confirmation == d.AssetConfirmation.PENDING.value)
                                  .order_by(Asset.id)))
    checks = {a.id: svc.automatic_checks(session, a, get_clock()) for a in assets}
    return render_template("listings/op_assets.html", assets=assets, checks=checks)


def _render_asset(ref: str, review_form: ReviewForm | None = None, appraisal_form: AppraisalForm | None = None,
                  status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    asset = svc.load_asset(session, ref)
    listings = list(session.scalars(sa.select(Listing).where(Listing.asset_id == asset.id).order_by(Listing.id.desc())))
    modes = {x.mode for x in listings if x.state in (d.ListingState.DRAFT, d.ListingState.SUBMITTED)}
    mode_problems = {m: d.listing_problems(facts_for(session, asset, asset.holder_party_id, m), today())
                     for m in sorted(modes)}
    return render_template(
        "listings/op_asset.html", asset=asset, checks=svc.automatic_checks(session, asset, get_clock()),
        mode_problems=mode_problems, listings=listings,
        review_form=review_form or ReviewForm(formdata=None), appraisal_form=appraisal_form or AppraisalForm(formdata=None),
        checklist=[(name, CHECKLIST_LABELS[name]) for name in CHECKLIST],
        valuations=svc.latest_valuations(session, asset.id), band=svc.reference_band_for(session, asset.id),
        appraisal=svc.current_appraisal(session, asset.id, today()), appraisal_required=appraisal_required(asset.holder),
    ), status


@listings_web.get("/operator/assets/<ref>")
@access(*STAFF)
def operator_asset(ref: str):
    return _render_asset(ref)


@listings_web.post("/operator/assets/<ref>/review")
@access(*STAFF)
def operator_review(ref: str):
    form = ReviewForm()
    if not form.validate_on_submit():
        return _render_asset(ref, review_form=form, status=422)
    confirm = bool(form.confirm_rights.data)
    if not confirm and not form.reject_rights.data:
        form.form_errors.append(_("Choose whether to confirm or to refuse."))
        return _render_asset(ref, review_form=form, status=422)
    checklist = {name: bool(getattr(form, name).data) for name in CHECKLIST}
    try:
        svc.review_asset(get_session(), actor(), ref, checklist=checklist, confirm=confirm, reasons=form.reasons.data,
                         clock=get_clock())
    except DomainError as err:
        return _render_asset(ref, review_form=form, status=show_error(form, err))
    flash(_("Rights of %(ref)s confirmed.", ref=ref) if confirm else _("Confirmation of %(ref)s refused.", ref=ref),
          "ok")
    return redirect(url_for(".operator_assets"))


@listings_web.post("/operator/assets/<ref>/appraisal")
@access(*STAFF)
def operator_appraisal(ref: str):
    form = AppraisalForm()
    if not form.validate_on_submit():
        return _render_asset(ref, appraisal_form=form, status=422)
    try:
        svc.record_appraisal(get_session(), actor(), ref, svc.AppraisalInput(
            appraiser=form.appraiser.data, report_number=form.report_number.data, value_fen=form.value.fen,
            report_date=form.report_date.data), clock=get_clock())
    except DomainError as err:
        return _render_asset(ref, appraisal_form=form, status=show_error(form, err, {"value_fen": "value"}))
    flash(_("Appraisal report recorded."), "ok")
    return redirect(url_for(".operator_asset", ref=ref))


# -- listings: publish, reject, suspend, resume, terminate ---------------------------------------------------------
LISTING_ACTIONS: dict[str, dict[str, Any]] = {
    "publish": {"fn": svc.publish_listing, "reason": False, "from": (d.ListingState.SUBMITTED,),
                "button": _l("Publish"), "done": _l("Listing %(ref)s published: publicity has started.")},
    "reject": {"fn": svc.reject_listing, "reason": True, "from": (d.ListingState.SUBMITTED,),
               "button": _l("Send back to the seller"), "done": _l("Listing %(ref)s sent back to the seller.")},
    "suspend": {"fn": svc.suspend_listing, "reason": True, "from": (d.ListingState.PUBLISHED,),
                "button": _l("Suspend publicity"), "done": _l("Listing %(ref)s suspended.")},
    "resume": {"fn": svc.resume_listing, "reason": True, "from": (d.ListingState.SUSPENDED,),
               "button": _l("Resume publicity"), "done": _l("Listing %(ref)s resumed.")},
    "terminate": {"fn": svc.terminate_listing, "reason": True,
                  "from": (d.ListingState.PUBLISHED, d.ListingState.SUSPENDED),
                  "button": _l("Terminate for good"), "done": _l("Listing %(ref)s terminated.")},
}


def _action_form(name: str, formdata: bool = False):  # type: ignore[no-untyped-def]
    cls = ReasonForm if LISTING_ACTIONS[name]["reason"] else ConfirmForm
    return cls(prefix=name) if formdata else cls(prefix=name, formdata=None)


@listings_web.get("/operator/listings")
@access(*STAFF)
def operator_listings():
    session = get_session()
    submitted = list(session.scalars(sa.select(Listing).where(Listing.state == d.ListingState.SUBMITTED.value)
                                     .order_by(Listing.updated_at, Listing.id)))
    public = list(session.scalars(sa.select(Listing).where(Listing.state.in_(IN_PUBLICITY))
                                  .order_by(Listing.publicity_end, Listing.id)))
    on = today()
    return render_template("listings/op_listings.html", submitted=submitted, public=public,
                           countdowns={x.id: countdown(session, x, on) for x in public},
                           suspensions={x.id: suspension(x, on) for x in public})


def _render_listing(ref: str, forms: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    listing = svc.get_listing_for(session, actor(), ref, clock=get_clock())
    forms = dict(forms or {})
    for name, spec in LISTING_ACTIONS.items():
        if listing.state in spec["from"] or name in forms:
            forms.setdefault(name, _action_form(name))
    problems = d.listing_problems(facts_for(session, listing.asset, listing.seller_party_id, listing.mode), today())
    return render_template("listings/op_listing.html", listing=listing, asset=listing.asset, forms=forms,
                           actions=LISTING_ACTIONS, problems=problems, countdown=countdown(session, listing, today()),
                           suspension=suspension(listing, today()),
                           appraisal=svc.current_appraisal(session, listing.asset_id, today()),
                           appraisal_required=appraisal_required(listing.seller)), status


@listings_web.get("/operator/listings/<ref>")
@access(*STAFF)
def operator_listing(ref: str):
    return _render_listing(ref)


@listings_web.post("/operator/listings/<ref>/<action>")
@access(*STAFF)
def operator_listing_action(ref: str, action: str):
    spec = LISTING_ACTIONS.get(action)
    if spec is None:
        abort(404)
    form = _action_form(action, formdata=True)
    if not form.validate_on_submit():
        return _render_listing(ref, {action: form}, 422)
    args = (form.reason.data,) if spec["reason"] else ()
    try:
        spec["fn"](get_session(), actor(), ref, *args, clock=get_clock())
    except DomainError as err:
        return _render_listing(ref, {action: form}, show_error(form, err))
    flash(str(spec["done"]) % {"ref": ref}, "ok")
    return redirect(url_for(".operator_listings"))


# -- buyers to qualify --------------------------------------------------------------------------------------------
REG_ACTIONS = ("deposit", "qualify", "reject")


def _reg_forms(reg: BuyerRegistration, given: dict[str, Any] | None = None) -> dict[str, Any]:
    forms = dict(given or {})
    if reg.state == d.RegistrationState.PENDING_DEPOSIT:
        forms.setdefault("deposit", ConfirmForm(prefix="deposit", formdata=None))
    if reg.state == d.RegistrationState.DEPOSIT_PAID:
        if not reg.declaration_outdated:  # the buyer must declare again against the new conditions first
            forms.setdefault("qualify", ConfirmForm(prefix="qualify", formdata=None))
        forms.setdefault("reject", ReasonForm(prefix="reject", formdata=None))
    return forms


@listings_web.get("/operator/registrations")
@access(*STAFF)
def operator_registrations():
    session = get_session()
    regs = list(session.scalars(
        sa.select(BuyerRegistration).join(Listing, Listing.id == BuyerRegistration.listing_id)
        .where(Listing.state.in_(IN_PUBLICITY), BuyerRegistration.state.in_(
            [d.RegistrationState.PENDING_DEPOSIT.value, d.RegistrationState.DEPOSIT_PAID.value]))
        .order_by(BuyerRegistration.state, BuyerRegistration.deposit_due_at, BuyerRegistration.id)))
    return render_template("listings/op_registrations.html", regs=regs)


def _render_registration(ref: str, forms: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    reg = svc.load_registration(get_session(), ref)
    return render_template("listings/op_registration.html", reg=reg, listing=reg.listing,
                           forms=_reg_forms(reg, forms)), status


@listings_web.get("/operator/registrations/<ref>")
@access(*STAFF)
def operator_registration(ref: str):
    return _render_registration(ref)


@listings_web.post("/operator/registrations/<ref>/<action>")
@access(*STAFF)
def operator_registration_action(ref: str, action: str):
    if action not in REG_ACTIONS:
        abort(404)
    form = ReasonForm(prefix=action) if action == "reject" else ConfirmForm(prefix=action)
    if not form.validate_on_submit():
        return _render_registration(ref, {action: form}, 422)
    session, clock = get_session(), get_clock()
    try:
        if action == "deposit":
            svc.confirm_deposit_manually(session, actor(), ref, clock=clock)
            message = _("Deposit of %(ref)s recorded as received.", ref=ref)
        else:
            svc.decide_registration(session, actor(), ref, qualify=action == "qualify",
                                    reason=form.reason.data if action == "reject" else "", clock=clock)
            message = (_("Buyer of %(ref)s qualified.", ref=ref) if action == "qualify"
                       else _("Registration %(ref)s rejected.", ref=ref))
    except DomainError as err:
        return _render_registration(ref, {action: form}, show_error(form, err))
    flash(message, "ok")
    return redirect(url_for(".operator_registrations"))
