"""A member's contracts: the list, the contract page with its exact text and fingerprint, the
signature over that text, and the seller's submission for technology contract registration.

Staff and auditors read the same contract page (without the signature form). Anyone
else gets "not found", as from the API: a contract's existence is its parties' business.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from contracts import domain as cd
from contracts import service as svc
from contracts.forms import MyContractsFilterForm, SignForm, SubmitRegistrationForm
from contracts.models import Contract
from contracts.pages.common import (
    PER_PAGE,
    actor,
    certificate_for,
    is_staff,
    latest_registration,
    record_problems,
    show_error,
)
from contracts.service import drafting
from contracts.service import labels as lb
from contracts.views import contracts_web
from exchange.auth import MEMBERS, READERS, access, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError
from exchange.models import Role

SIGNABLE = (cd.ContractState.DRAFTED, cd.ContractState.PARTLY_SIGNED)
REOPENS_REGISTRATION = (None, cd.RegistrationState.REFUSED, cd.RegistrationState.CANCELLED)


def viewer_side(contract: Contract) -> cd.SigningSide | None:
    """The side the signed-in member signs for, if it is a party's member."""
    user = require_user()
    if user.role != Role.member:
        return None
    deal = contract.deal
    if user.party_id == deal.seller_party_id:
        return cd.SigningSide.SELLER
    if user.party_id == deal.buyer_party_id:
        return cd.SigningSide.BUYER
    return None


def may_submit_registration(contract: Contract) -> bool:
    reg = latest_registration(contract)
    return contract.state is cd.ContractState.IN_FORCE and (reg is None or reg.state in REOPENS_REGISTRATION)


# -- my contracts ----------------------------------------------------------------------------------------
@contracts_web.get("/my/contracts")
@access(*MEMBERS)
def my_contracts():
    """Your contracts as seller or buyer: state, signing deadline (Beijing time), who signed."""
    user = require_user()
    form = MyContractsFilterForm(formdata=request.args)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    status, items, meta = 200, [], {"page": 1, "pages": 1, "total": 0}
    if form.validate():
        q = svc.ContractQuery(state=cd.ContractState(form.state.data) if form.state.data else None)
        items, meta = svc.list_contracts(get_session(), q, page=page, per_page=PER_PAGE, party_id=user.party_id)
    else:
        status = 422
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    rows = [{"c": c, "deal": c.deal, "mine": cd.SigningSide.SELLER if c.deal.seller_party_id == user.party_id
             else cd.SigningSide.BUYER, "sigs": {s.side: s for s in c.signatures},
             "cert": certificate_for(c.deal_id)} for c in items]
    return render_template("contracts/my_contracts.html", form=form, rows=rows, meta=meta, args=args,
                           now=get_clock().now(), signable=SIGNABLE), status


# -- the contract page ------------------------------------------------------------------------------------
def contract_context(contract: Contract) -> dict[str, Any]:
    """What the contract page shows about a contract (also used by the operator's page)."""
    deal = contract.deal
    ctype = contract.contract_type
    now = get_clock().now()
    sigs = {s.side: s for s in contract.signatures}
    return {
        "c": contract, "deal": deal, "asset": deal.asset,
        "seller_role": lb.seller_role(ctype), "buyer_role": lb.buyer_role(ctype),
        "sigs": sigs, "scope": drafting.scope_line(deal), "payment": drafting.payment_line(deal),
        "clauses": [clause.split("\n", 1)[0] for clause in drafting.clauses_of(contract.text)],
        "tech_amount": svc.technology_amount_of(contract),
        "deadline_passed": now >= deal.sign_by, "signable": contract.state in SIGNABLE,
        "registration": latest_registration(contract), "cert": certificate_for(deal.id), "now": now,
    }


def render_contract(ref: str, sign_form: SignForm | None = None, reg_form: SubmitRegistrationForm | None = None,
                    status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    me = actor()
    contract = svc.visible_contract(me, svc.load_contract(session, ref))
    ctx = contract_context(contract)
    side = viewer_side(contract)
    can_sign = (side is not None and side not in ctx["sigs"] and ctx["signable"] and not ctx["deadline_passed"])
    if sign_form is None:
        sign_form = SignForm(formdata=None)
    # Always the fingerprint of the text on this page: the one the signer now reads.
    sign_form.text_sha256.data = contract.text_sha256
    sign_form.agree.data = False
    if reg_form is None:
        reg_form = SubmitRegistrationForm(formdata=None)
    return render_template(
        "contracts/contract.html", **ctx, side=side, can_sign=can_sign, sign_form=sign_form,
        show_sign=can_sign or bool(sign_form.form_errors or sign_form.errors),
        reg_form=reg_form, can_submit=side is cd.SigningSide.SELLER and may_submit_registration(contract),
        staff=is_staff(), reader=me.can_read_all,
        problems=record_problems(contract) if me.can_read_all else []), status


@contracts_web.get("/contracts/<ref>")
@access(*MEMBERS, *READERS)
def contract(ref: str):
    """The contract: full text as stored, its SHA-256, parties, terms, signatures, the PDF and the sign form."""
    return render_contract(ref)


@contracts_web.post("/contracts/<ref>/sign")
@access(*MEMBERS)
def sign(ref: str):
    """Sign as a member of the seller or the buyer, over the text whose SHA-256 the form carries."""
    session = get_session()
    svc.visible_contract(actor(), svc.load_contract(session, ref))  # outsiders: 404 before anything else
    form = SignForm()
    if not form.validate_on_submit():
        if form.text_sha256.errors:
            form.form_errors.extend(form.text_sha256.errors)
        return render_contract(ref, sign_form=form, status=422)
    try:
        signed = svc.sign_contract(session, actor(), ref, form.text_sha256.data, clock=get_clock())
    except NotFoundError:
        raise
    except DomainError as err:
        return render_contract(ref, sign_form=form, status=show_error(form, err))
    if signed.state is cd.ContractState.IN_FORCE:
        flash(_("Signed. Both sides have signed: contract %(ref)s is in force.", ref=ref), "ok")
    else:
        flash(_("Signed. Contract %(ref)s now waits for the other side's signature.", ref=ref), "ok")
    return redirect(url_for("contracts_web.contract", ref=ref), 303)


def submit_registration_from(form: SubmitRegistrationForm, ref: str) -> Any:
    """Submit ``ref`` for registration from the form (the seller's page or the operator's)."""
    cmd = svc.RegistrationSubmission(licence_term_years=(form.licence_term_years.data or "").strip() or None,
                                     export_controlled=bool(form.export_controlled.data),
                                     export_licence_obtained=bool(form.export_licence_obtained.data),
                                     disputed=bool(form.disputed.data), wholly_related=bool(form.wholly_related.data))
    return svc.submit_registration(get_session(), actor(), ref, cmd, clock=get_clock(),
                                   default_region=current_app.config["EXCHANGE_REGION_CODE"])


@contracts_web.post("/contracts/<ref>/registration")
@access(*MEMBERS)
def submit_registration(ref: str):
    """The seller submits its contract in force for technology contract registration (技术合同认定登记)."""
    session = get_session()
    svc.visible_contract(actor(), svc.load_contract(session, ref))
    form = SubmitRegistrationForm()
    if not form.validate_on_submit():
        return render_contract(ref, reg_form=form, status=422)
    try:
        reg = submit_registration_from(form, ref)
    except NotFoundError:
        raise
    except DomainError as err:
        return render_contract(ref, reg_form=form, status=show_error(form, err))
    flash(_("Submitted for registration as %(ref)s; the decision is due by %(date)s.", ref=reg.ref,
            date=reg.due_on.isoformat()), "ok")
    return redirect(url_for("contracts_web.contract", ref=ref), 303)
