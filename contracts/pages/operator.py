"""Operator pages: contracts awaiting signatures and the non-technical items editor, technology
contract registrations due by their decision date (review, register, refuse with reasons, changes,
cancellation), and transaction certificates to issue or revoke.

Every action is a POST form with a ticked confirm box (and a reason where one is recorded), so
nothing happens on one careless click and no JavaScript ``confirm()`` is needed. Auditors read the
registration and certificate pages but never see the forms; their POSTs are refused centrally
(``auditor_read_only``).
"""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auctions.models import Deal
from contracts import domain as cd
from contracts import service as svc
from contracts.forms import (
    REVIEW_FLAGS,
    ChangeForm,
    ConfirmForm,
    ItemsForm,
    NoteForm,
    ReasonForm,
    RefuseForm,
    ReviewForm,
    SubmitRegistrationForm,
)
from contracts.models import Certificate, Contract, TechRegistration
from contracts.pages.common import PER_PAGE, actor, is_staff, record_problems, show_error
from contracts.pages.member import SIGNABLE, contract_context, may_submit_registration, submit_registration_from
from contracts.views import contracts_web
from exchange.auth import MEMBERS, READERS, STAFF, access
from exchange.clock import local_date
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError
from exchange.money import Money
from exchange.views import OPERATOR_QUEUES, Queue

MAX_ROWS = 300


def yuan_text(fen: int | None) -> str:
    """Fen as the yuan text a form field shows (``1,250,000.00``)."""
    return "" if fen is None else Money(int(fen)).format(symbol=False)


# ===================================================================================== contracts
@contracts_web.get("/operator/contracts")
@access(*STAFF)
def operator_contracts():
    """Contracts awaiting signatures, by signing deadline (overdue first); other states on request."""
    state = request.args.get("state") or "awaiting"
    stmt = sa.select(Contract).join(Deal, Deal.id == Contract.deal_id)
    if state == "awaiting":
        stmt = stmt.where(Contract.state.in_(SIGNABLE)).order_by(Deal.sign_by, Contract.id)
    elif state in {s.value for s in cd.ContractState}:
        stmt = stmt.where(Contract.state == cd.ContractState(state)).order_by(Contract.drafted_at.desc(),
                                                                              Contract.id.desc())
    else:
        abort(404)
    contracts = list(get_session().scalars(stmt.limit(MAX_ROWS)))
    return render_template("contracts/op_contracts.html", contracts=contracts, state=state,
                           states=list(cd.ContractState), now=get_clock().now(), signable=SIGNABLE)


def _items_form(contract: Contract, form: ItemsForm | None = None) -> ItemsForm:
    if form is None:
        form = ItemsForm(formdata=None)
        for item in contract.non_technical_items:
            form.items.append_entry({"description": item.description, "amount": yuan_text(item.amount_fen)})
    while len(form.items) < min(len(contract.non_technical_items) + 3, 50) or len(form.items) == 0:
        form.items.append_entry()
    return form


def render_op_contract(ref: str, forms: dict[str, Any] | None = None,
                       status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    contract = svc.load_contract(session, ref)
    ctx = contract_context(contract)
    forms = dict(forms or {})
    editable = contract.state is cd.ContractState.DRAFTED and not contract.signatures
    if editable and not contract.text_edited:
        forms["items"] = _items_form(contract, forms.get("items"))
    if editable and contract.text_edited:
        forms.setdefault("regenerate", ConfirmForm(prefix="regenerate", formdata=None))
    if may_submit_registration(contract) or "registration" in forms:
        forms.setdefault("registration", SubmitRegistrationForm(prefix="registration", formdata=None))
    if contract.state is cd.ContractState.IN_FORCE or "terminate" in forms:
        forms.setdefault("terminate", ReasonForm(prefix="terminate", formdata=None))
    readiness = svc.readiness(session, contract.deal)
    return render_template("contracts/op_contract.html", **ctx, forms=forms, editable=editable,
                           readiness=readiness, problems=record_problems(contract)), status


@contracts_web.get("/operator/contracts/<ref>")
@access(*STAFF)
def operator_contract(ref: str):
    """The operator's view of a contract: non-technical items before signing, registration, termination."""
    return render_op_contract(ref)


@contracts_web.post("/operator/contracts/<ref>/items")
@access(*STAFF)
def operator_items(ref: str):
    """Replace the non-technical items of the price (equipment, materials): the text lists them and the
    technology transaction amount is the price less them. Only before anyone has signed."""
    form = ItemsForm()
    if not form.validate_on_submit():
        return render_op_contract(ref, {"items": form}, 422)
    items, bad = [], False
    for row in form.items:
        description = (row.form.description.data or "").strip()
        fen = row.form.amount.fen
        if not description and fen is None:
            continue
        if not description:
            row.form.description.errors = [*row.form.description.errors, _("Say what the item is.")]
            bad = True
        if fen is None and not row.form.amount.errors:
            row.form.amount.errors = [*row.form.amount.errors, _("Enter the amount in yuan.")]
            bad = True
        items.append(svc.ItemInput(description=description, amount_fen=fen or 0))
    if bad:
        return render_op_contract(ref, {"items": form}, 422)
    try:
        svc.set_non_technical_items(get_session(), actor(), ref, items, clock=get_clock())
    except DomainError as err:
        return render_op_contract(ref, {"items": form}, show_error(form, err))
    flash(_("Non-technical items of %(ref)s saved; the contract text lists them.", ref=ref), "ok")
    return redirect(url_for("contracts_web.operator_contract", ref=ref), 303)


@contracts_web.post("/operator/contracts/<ref>/regenerate")
@access(*STAFF)
def operator_regenerate(ref: str):
    """Put the generated text back in place of a hand-edited one (before anyone has signed)."""
    form = ConfirmForm(prefix="regenerate")
    if not form.validate_on_submit():
        return render_op_contract(ref, {"regenerate": form}, 422)
    try:
        svc.regenerate_text(get_session(), actor(), ref, clock=get_clock())
    except DomainError as err:
        return render_op_contract(ref, {"regenerate": form}, show_error(form, err))
    flash(_("The text of %(ref)s was generated again from the records.", ref=ref), "ok")
    return redirect(url_for("contracts_web.operator_contract", ref=ref), 303)


@contracts_web.post("/operator/contracts/<ref>/registration")
@access(*STAFF)
def operator_submit_registration(ref: str):
    """Submit a contract for registration on the seller's behalf."""
    form = SubmitRegistrationForm(prefix="registration")
    if not form.validate_on_submit():
        return render_op_contract(ref, {"registration": form}, 422)
    try:
        reg = submit_registration_from(form, ref)
    except DomainError as err:
        return render_op_contract(ref, {"registration": form}, show_error(form, err))
    flash(_("Submitted for registration as %(ref)s; the decision is due by %(date)s.", ref=reg.ref,
            date=reg.due_on.isoformat()), "ok")
    return redirect(url_for("contracts_web.registration", ref=reg.ref), 303)


@contracts_web.post("/operator/contracts/<ref>/terminate")
@access(*STAFF)
def operator_terminate(ref: str):
    """Record that a contract in force ended early (rescinded), with the reason."""
    form = ReasonForm(prefix="terminate")
    if not form.validate_on_submit():
        return render_op_contract(ref, {"terminate": form}, 422)
    try:
        svc.terminate_contract(get_session(), actor(), ref, form.reason.data, clock=get_clock())
    except DomainError as err:
        return render_op_contract(ref, {"terminate": form}, show_error(form, err))
    flash(_("Contract %(ref)s is recorded as terminated.", ref=ref), "ok")
    return redirect(url_for("contracts_web.operator_contract", ref=ref), 303)


# ===================================================================================== registrations
@contracts_web.get("/operator/tech-registrations")
@access(*STAFF)
def operator_registrations():
    """Registrations by decision date: the undecided ones first, overdue ones marked."""
    session, clock = get_session(), get_clock()
    state = request.args.get("state") or cd.RegistrationState.SUBMITTED.value
    if state not in {s.value for s in cd.RegistrationState} and state != "all":
        abort(404)
    q = svc.RegistrationQuery(state=None if state == "all" else cd.RegistrationState(state))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    regs, meta = svc.list_registrations(session, q, clock=clock, page=page, per_page=50)
    deadlines = {r.id: svc.deadline_status(session, r, clock) for r in regs}
    return render_template("contracts/op_registrations.html", regs=regs, deadlines=deadlines, meta=meta,
                           state=state, states=list(cd.RegistrationState))


REG_ACTIONS: dict[str, dict[str, Any]] = {
    "review": {"form": ReviewForm, "from": (cd.RegistrationState.SUBMITTED,), "button": _l("Record the review")},
    "register": {"form": NoteForm, "from": (cd.RegistrationState.SUBMITTED,), "button": _l("Register")},
    "refuse": {"form": RefuseForm, "from": (cd.RegistrationState.SUBMITTED,),
               "button": _l("Refuse registration")},
    "change": {"form": ChangeForm, "from": (cd.RegistrationState.REGISTERED, cd.RegistrationState.CHANGED),
               "button": _l("Register the change")},
    "cancel": {"form": ReasonForm, "from": (cd.RegistrationState.SUBMITTED, cd.RegistrationState.REGISTERED,
                                            cd.RegistrationState.CHANGED), "button": _l("Cancel the registration")},
}
_CHANGE_ALIASES = {"deal_amount_fen": "deal_amount", "tech_amount_fen": "tech_amount"}


def _blank_form(name: str, reg: TechRegistration, found: set[str]):  # type: ignore[no-untyped-def]
    cls = REG_ACTIONS[name]["form"]
    if name == "review":
        return cls(prefix=name, formdata=None, **{f: getattr(reg, f) for f in REVIEW_FLAGS})
    if name == "refuse":
        return cls(prefix=name, formdata=None, reasons=[r.value for r in cd.RefusalReason if r.value in found])
    if name == "change":
        return cls(prefix=name, formdata=None, contract_name=reg.contract_name, subject=reg.subject,
                   asset_refs=", ".join(reg.asset_refs or []), deal_amount=yuan_text(reg.deal_amount_fen),
                   tech_amount=yuan_text(reg.tech_amount_fen), licence_term_years=reg.licence_term_years or "",
                   term_start=reg.term_start, term_end=reg.term_end, export_controlled=reg.export_controlled,
                   export_licence_obtained=reg.export_licence_obtained, wholly_related=reg.wholly_related)
    return cls(prefix=name, formdata=None)


def render_registration(ref: str, forms: dict[str, Any] | None = None,
                        status: int = 200):  # type: ignore[no-untyped-def]
    session, clock = get_session(), get_clock()
    reg = svc.visible_registration(actor(), svc.load_registration(session, ref))
    problems = svc.problems_of(reg) if reg.state is cd.RegistrationState.SUBMITTED else []
    found = {p.reason.value for p in problems}
    forms = dict(forms or {})
    if is_staff():
        for name, spec in REG_ACTIONS.items():
            if reg.state in spec["from"] and name not in forms:
                forms[name] = _blank_form(name, reg, found)
    else:
        forms = {}
    reader = actor().can_read_all
    return render_template("contracts/registration.html", reg=reg, contract=reg.contract, problems=problems,
                           found=found, deadline=svc.deadline_status(session, reg, clock), forms=forms,
                           actions=REG_ACTIONS, standing=reg.state in (cd.RegistrationState.REGISTERED,
                                                                       cd.RegistrationState.CHANGED),
                           record_issues=record_problems(reg) if reader else [], reader=reader), status


@contracts_web.get("/tech-registrations/<ref>")
@access(*MEMBERS, *READERS)
def registration(ref: str):
    """A technology contract registration: what was registered, its deadline, decision and changes."""
    return render_registration(ref)


def _asset_refs(text: str | None) -> list[str]:
    return [r.strip() for r in re.split(r"[,，;；\n]", text or "") if r.strip()]


@contracts_web.post("/operator/tech-registrations/<ref>/<action>")
@access(*STAFF)
def registration_action(ref: str, action: str):
    """Review, register, refuse (with reasons), register a change, or cancel a registration."""
    spec = REG_ACTIONS.get(action)
    if spec is None:
        abort(404)
    svc.load_registration(get_session(), ref)  # 404 for an unknown registration, whatever the form says
    form = spec["form"](prefix=action)
    if not form.validate_on_submit():
        return render_registration(ref, {action: form}, 422)
    session, clock, me = get_session(), get_clock(), actor()
    try:
        if action == "review":
            svc.update_review(session, me, ref, {f: bool(getattr(form, f).data) for f in REVIEW_FLAGS}, clock=clock)
            message = _("Review of %(ref)s recorded.", ref=ref)
        elif action == "register":
            reg = svc.register(session, me, ref, note=form.note.data or "", clock=clock)
            message = _("%(ref)s registered with number %(number)s.", ref=ref, number=reg.registration_number)
        elif action == "refuse":
            svc.refuse(session, me, ref, form.reasons.data or [], note=form.note.data or "", clock=clock)
            message = _("Registration %(ref)s refused (not registered), with the reasons recorded.", ref=ref)
        elif action == "change":
            changes = {
                "contract_name": form.contract_name.data, "subject": form.subject.data or "",
                "asset_refs": _asset_refs(form.asset_refs.data), "deal_amount_fen": form.deal_amount.fen,
                "tech_amount_fen": form.tech_amount.fen,
                "licence_term_years": (form.licence_term_years.data or "").strip() or None,
                "term_start": form.term_start.data, "term_end": form.term_end.data,
                "export_controlled": bool(form.export_controlled.data),
                "export_licence_obtained": bool(form.export_licence_obtained.data),
                "wholly_related": bool(form.wholly_related.data)}
            svc.register_change(session, me, ref, changes, form.reason.data, clock=clock)
            message = _("The change of %(ref)s is registered.", ref=ref)
        else:
            svc.cancel_registration(session, me, ref, form.reason.data, clock=clock)
            message = _("Registration %(ref)s cancelled.", ref=ref)
    except DomainError as err:
        return render_registration(ref, {action: form}, show_error(form, err, _CHANGE_ALIASES))
    flash(message, "ok")
    return redirect(url_for("contracts_web.registration", ref=ref), 303)


# ===================================================================================== certificates
def _unissued_in_force(session: Any, limit: int = MAX_ROWS) -> list[Contract]:
    return list(session.scalars(
        sa.select(Contract).outerjoin(Certificate, Certificate.deal_id == Contract.deal_id)
        .where(Contract.state == cd.ContractState.IN_FORCE, Certificate.id.is_(None))
        .order_by(Contract.in_force_at, Contract.id).limit(limit)))


@contracts_web.get("/operator/certificates")
@access(*STAFF)
def operator_certificates():
    """Deals whose certificate can be issued now (contract in force, price in, both fees paid), those
    still waiting and for what, and the certificates issued."""
    session = get_session()
    rows = [(c, svc.readiness(session, c.deal)) for c in _unissued_in_force(session)]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    issued, meta = svc.list_certificates(session, svc.CertificateQuery(), page=page, per_page=PER_PAGE)
    return render_template("contracts/op_certificates.html", ready=[r for r in rows if r[1]["issuable"]],
                           waiting=[r for r in rows if not r[1]["issuable"]], issued=issued, meta=meta,
                           issue_form=ConfirmForm(prefix="issue", formdata=None))


def render_issue(deal_ref: str, form: ConfirmForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    from auctions.service import deals as deal_service

    session = get_session()
    deal = deal_service.load_deal(session, deal_ref)
    readiness = svc.readiness(session, deal)
    contract = svc.contract_for_deal(session, deal.id)
    return render_template("contracts/op_issue.html", deal=deal, contract=contract, readiness=readiness,
                           form=form or ConfirmForm(prefix="issue", formdata=None)), status


@contracts_web.route("/operator/deals/<ref>/certificate", methods=["GET", "POST"])
@access(*STAFF)
def issue_certificate(ref: str):
    """GET: what the certificate waits for. POST (confirm ticked): issue it, once per deal."""
    if request.method == "GET":
        return render_issue(ref)
    form = ConfirmForm(prefix="issue")
    if not form.validate_on_submit():
        return render_issue(ref, form, 422)
    try:
        cert = svc.issue_certificate(get_session(), actor(), ref, clock=get_clock())
    except NotFoundError:
        raise
    except DomainError as err:
        return render_issue(ref, form, show_error(form, err))
    flash(_("Certificate %(ref)s issued for deal %(deal)s.", ref=cert.ref, deal=ref), "ok")
    return redirect(url_for("contracts_web.certificate", ref=cert.ref), 303)


def render_certificate(ref: str, form: ReasonForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    me = actor()
    cert = svc.visible_certificate(me, svc.load_certificate(get_session(), ref))
    can_revoke = is_staff() and cert.state is cd.CertificateState.VALID
    if form is None and can_revoke:
        form = ReasonForm(prefix="revoke", formdata=None)
    return render_template("contracts/certificate.html", cert=cert, form=form if is_staff() else None,
                           record_issues=record_problems(cert) if me.can_read_all else [],
                           reader=me.can_read_all), status


@contracts_web.get("/certificates/<ref>")
@access(*MEMBERS, *READERS)
def certificate(ref: str):
    """A transaction certificate: every printed field, its fingerprint and code, PDF and public check."""
    return render_certificate(ref)


@contracts_web.post("/operator/certificates/<ref>/revoke")
@access(*STAFF)
def revoke_certificate(ref: str):
    """Revoke a certificate whose grounds proved false, with the reason (it then verifies as revoked)."""
    svc.load_certificate(get_session(), ref)
    form = ReasonForm(prefix="revoke")
    if not form.validate_on_submit():
        return render_certificate(ref, form, 422)
    try:
        svc.revoke_certificate(get_session(), actor(), ref, form.reason.data, clock=get_clock())
    except DomainError as err:
        return render_certificate(ref, form, show_error(form, err))
    flash(_("Certificate %(ref)s revoked.", ref=ref), "ok")
    return redirect(url_for("contracts_web.certificate", ref=ref), 303)


# ===================================================================================== console queues
def operator_queues(session: Any, clock: Any) -> list[Queue]:
    """The contracts desk's lines on the operator console."""
    now = clock.now()
    on = local_date(now)

    def count(stmt: Any) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0

    submitted = sa.select(TechRegistration.id).where(TechRegistration.state == cd.RegistrationState.SUBMITTED)
    awaiting = (sa.select(Contract.id).join(Deal, Deal.id == Contract.deal_id)
                .where(Contract.state.in_(SIGNABLE)))
    issuable = sum(1 for c in _unissued_in_force(session, 500) if svc.readiness(session, c.deal)["issuable"])
    return [
        Queue("registrations_due", _l("Contract registrations to decide"), count(submitted),
              "contracts_web.operator_registrations",
              overdue=count(submitted.where(TechRegistration.due_on < on))),
        Queue("certificates_to_issue", _l("Certificates to issue"), issuable, "contracts_web.operator_certificates"),
        Queue("contracts_to_sign", _l("Contracts awaiting signatures"), count(awaiting),
              "contracts_web.operator_contracts", overdue=count(awaiting.where(Deal.sign_by <= now))),
    ]


if operator_queues not in OPERATOR_QUEUES:
    OPERATOR_QUEUES.append(operator_queues)
