"""Credit enhancement (增信) for the exchange: a party's credit record and grade with the reasons,
the credit instruments that stand behind parties, and IP pledges."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from exchange.auth import READERS, STAFF, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.models import Party
from settlement import service as svc
from settlement.domain import CreditEventKind
from settlement.forms import ConsentForm, CreditEventForm, InstrumentForm, NoteForm, PartyForm, PledgeForm, ReasonForm
from settlement.models import CreditEventRecord, InstrumentState, PledgeState
from settlement.service import credit as credit_svc
from settlement.service import pledges as pledge_svc
from settlement.views import settlement_web
from settlement.views.common import actor, done_before, new_token, refuse, remember


# -- credit records ------------------------------------------------------------------------------------
def _render_credit(party_ref: str | None, event_form: CreditEventForm | None = None,
                   status: int = 200):  # type: ignore[no-untyped-def]
    session, clock = get_session(), get_clock()
    if party_ref is None:
        form = PartyForm(request.args)
        if not form.validate():
            status = 422
        ref = (form.party.data or "").strip() if status == 200 else ""
    else:
        form, ref = PartyForm(formdata=None, party=party_ref), party_ref
    record = None
    if ref:
        try:
            record = svc.credit_record(session, svc.common.load_party(session, ref, "party"), clock=clock)
        except DomainError as err:
            status = refuse(form, err)
    recent = []
    if record is None:
        # Parties whose record has events, most recent first: the ones worth a look.
        recent = [svc.credit_record(session, p, clock=clock) for p in session.scalars(
            sa.select(Party).join(CreditEventRecord, CreditEventRecord.party_id == Party.id)
            .group_by(Party.id).order_by(sa.func.max(CreditEventRecord.id).desc()).limit(30))]
    event_form = event_form or CreditEventForm(formdata=None)
    event_form.form_token.data = event_form.form_token.data or new_token()
    return render_template("settlement/credit.html", form=form, record=record, recent=recent,
                           event_form=event_form), status


@settlement_web.get("/operator/settlement/credit")
@access(*READERS)
def credit():
    """A party's credit record: grade, score line by line, what the grade changes, its events."""
    return _render_credit(None)


@settlement_web.post("/operator/settlement/credit/<party_ref>/events")
@access(*STAFF)
def add_credit_event(party_ref: str):
    form = CreditEventForm()
    if not form.validate_on_submit():
        return _render_credit(party_ref, form, 422)
    location = url_for(".credit", party=party_ref)
    if done_before(form.form_token.data):
        flash(_("This form was sent before; nothing more was recorded."), "ok")
        return redirect(location, 303)
    try:
        svc.add_manual_event(get_session(), actor(), party_ref, CreditEventKind(form.kind.data), form.note.data,
                             on=form.occurred_on.data, clock=get_clock())
    except DomainError as err:
        return _render_credit(party_ref, form, refuse(form, err))
    remember(form.form_token.data, location)
    flash(_("The event is on the credit record of %(ref)s.", ref=party_ref), "ok")
    return redirect(location, 303)


# -- credit instruments ------------------------------------------------------------------------------------
@settlement_web.get("/operator/settlement/instruments")
@access(*READERS)
def instruments():
    """Guarantee letters, IP insurance and third-party guarantees, with what deposits rely on."""
    session, clock = get_session(), get_clock()
    form = PartyForm(request.args)
    if not form.validate():
        return render_template("settlement/instruments.html", form=form, items=[]), 422
    status, items = 200, []
    try:
        items = [credit_svc.instrument_view(session, i, clock=clock)
                 for i in svc.instruments_of(session, actor(), (form.party.data or "").strip() or None)]
    except DomainError as err:
        status = refuse(form, err, {"party_ref": "party"})
    return render_template("settlement/instruments.html", form=form, items=items), status


def _render_new_instrument(form: InstrumentForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    form = form or InstrumentForm(formdata=None, party_ref=request.args.get("party", ""))
    form.form_token.data = form.form_token.data or new_token()
    return render_template("settlement/instrument_new.html", form=form), status


@settlement_web.route("/operator/settlement/instruments/new", methods=["GET", "POST"])
@access(*STAFF)
def new_instrument():
    """Record an instrument the operator has checked in the original."""
    if request.method == "GET":
        return _render_new_instrument()
    form = InstrumentForm()
    if not form.validate_on_submit():
        return _render_new_instrument(form, 422)
    earlier = done_before(form.form_token.data)
    if earlier:
        flash(_("This form was sent before; nothing more was recorded."), "ok")
        return redirect(earlier, 303)
    data: dict[str, Any] = {"kind": form.kind.data, "issuer": form.issuer.data, "reference": form.reference.data or "",
                            "amount_fen": form.amount.fen, "issued_on": form.issued_on.data,
                            "expires_on": form.expires_on.data,
                            "document_sha256": (form.document_sha256.data or "").strip() or None,
                            "note": form.note.data or ""}
    session = get_session()
    try:
        inst = svc.create_instrument(session, actor(), form.party_ref.data.strip(), data, clock=get_clock())
    except DomainError as err:
        return _render_new_instrument(form, refuse(form, err, {"amount_fen": "amount"}))
    location = url_for(".instrument", ref=inst.ref)
    remember(form.form_token.data, location)
    flash(_("Instrument %(ref)s recorded.", ref=inst.ref), "ok")
    return redirect(location, 303)


def _render_instrument(ref: str, form: ReasonForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    inst = svc.load_instrument(session, ref)
    view = credit_svc.instrument_view(session, inst, clock=get_clock())
    if form is None and inst.state == InstrumentState.ACTIVE:
        form = ReasonForm(prefix="revoke", formdata=None)
    return render_template("settlement/instrument.html", i=view, form=form), status


@settlement_web.get("/operator/settlement/instruments/<ref>")
@access(*READERS)
def instrument(ref: str):
    return _render_instrument(ref)


@settlement_web.post("/operator/settlement/instruments/<ref>/revoke")
@access(*STAFF)
def revoke_instrument(ref: str):
    form = ReasonForm(prefix="revoke")
    if not form.validate_on_submit():
        return _render_instrument(ref, form, 422)
    try:
        svc.revoke_instrument(get_session(), actor(), ref, form.reason.data, clock=get_clock())
    except DomainError as err:
        if err.code == "instrument_not_found":
            raise
        return _render_instrument(ref, form, refuse(form, err))
    flash(_("Instrument %(ref)s revoked.", ref=ref), "ok")
    return redirect(url_for(".instrument", ref=ref), 303)


# -- pledges --------------------------------------------------------------------------------------------
@settlement_web.get("/operator/settlement/pledges")
@access(*READERS)
def pledges():
    """IP pledges: they block sale and exclusive licences of their assets until consent or release."""
    session = get_session()
    form = PartyForm(request.args)
    if not form.validate():
        return render_template("settlement/pledges.html", form=form, items=[]), 422
    status, items = 200, []
    try:
        items = [pledge_svc.pledge_view(session, p) for p in pledge_svc.list_pledges(
            session, actor(), party_ref=(form.party.data or "").strip() or None)]
    except DomainError as err:
        status = refuse(form, err, {"party_ref": "party"})
    return render_template("settlement/pledges.html", form=form, items=items), status


def _render_new_pledge(form: PledgeForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    form = form or PledgeForm(formdata=None)
    form.form_token.data = form.form_token.data or new_token()
    return render_template("settlement/pledge_new.html", form=form), status


@settlement_web.route("/operator/settlement/pledges/new", methods=["GET", "POST"])
@access(*STAFF)
def new_pledge():
    """Record a pledge; each asset gets a pledge encumbrance in the listings package."""
    if request.method == "GET":
        return _render_new_pledge()
    form = PledgeForm()
    if not form.validate_on_submit():
        return _render_new_pledge(form, 422)
    earlier = done_before(form.form_token.data)
    if earlier:
        flash(_("This form was sent before; nothing more was recorded."), "ok")
        return redirect(earlier, 303)
    cmd = svc.PledgeInput(pledgor_ref=form.pledgor_ref.data.strip(), pledgee_name=form.pledgee_name.data or "",
                          secured_amount_fen=form.secured_amount.fen, starts_on=form.starts_on.data,
                          asset_refs=form.asset_ref_list(), pledgee_ref=(form.pledgee_ref.data or "").strip() or None,
                          ends_on=form.ends_on.data, secured_debt=form.secured_debt.data or "",
                          registration_number=form.registration_number.data or "", note=form.note.data or "")
    try:
        p = svc.create_pledge(get_session(), actor(), cmd, clock=get_clock())
    except DomainError as err:
        return _render_new_pledge(form, refuse(form, err, {"secured_amount_fen": "secured_amount"}))
    location = url_for(".pledge", ref=p.ref)
    remember(form.form_token.data, location)
    flash(_("Pledge %(ref)s recorded.", ref=p.ref), "ok")
    return redirect(location, 303)


def _render_pledge(ref: str, given: dict[str, Any] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    p = pledge_svc.load_pledge(session, ref)
    forms = dict(given or {})
    if p.state == PledgeState.ACTIVE:
        forms.setdefault("consent", ConsentForm(prefix="consent", formdata=None))
        forms.setdefault("release", NoteForm(prefix="release", formdata=None))
    return render_template("settlement/pledge.html", p=pledge_svc.pledge_view(session, p), forms=forms), status


@settlement_web.get("/operator/settlement/pledges/<ref>")
@access(*READERS)
def pledge(ref: str):
    return _render_pledge(ref)


@settlement_web.post("/operator/settlement/pledges/<ref>/<action>")
@access(*STAFF)
def pledge_action(ref: str, action: str):
    if action not in ("consent", "release"):
        abort(404)
    form: Any = ConsentForm(prefix="consent") if action == "consent" else NoteForm(prefix="release")
    if not form.validate_on_submit():
        return _render_pledge(ref, {action: form}, 422)
    session, clock = get_session(), get_clock()
    try:
        if action == "consent":
            svc.consent(session, actor(), ref, form.mode.data, form.note.data, clock=clock)
            message = _("The pledgee's consent is recorded on pledge %(ref)s.", ref=ref)
        else:
            svc.release_pledge(session, actor(), ref, form.note.data, clock=clock)
            message = _("Pledge %(ref)s is released.", ref=ref)
    except DomainError as err:
        if err.code == "pledge_not_found":
            raise
        return _render_pledge(ref, {action: form}, refuse(form, err))
    flash(message, "ok")
    return redirect(url_for(".pledge", ref=ref), 303)
