"""Auditor pages (operators, admins and auditors read them; nobody changes anything here):
contract, registration and certificate lists with filters, the downloads the JSON API serves
(CSV, XLSX, PDFs, the ZIP bundle with its SHA-256 manifest), the audit trail by seq with the
hash-chain check, and the check of every stored record's hash.

Every row shows whether its stored record still matches its ``record_hash``; the full checks
(``exchange.audit.verify_chain``, ``contracts.service.verify_records``) run on a button press.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from contracts import domain as cd
from contracts import service as svc
from contracts.forms import BundleForm, CertificateFilterForm, ContractFilterForm, RegistrationFilterForm, \
    TrailFilterForm
from contracts.pages.common import (
    PER_PAGE,
    certificate_for,
    latest_registration,
    party_id_of_ref,
    record_problems,
    show_error,
)
from contracts.service.exports import MAX_RANGE_DAYS
from contracts.views import contracts_web
from exchange.audit import verify_chain
from exchange.auth import READERS, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.models import AuditEvent

TRAIL_PER_PAGE = 50


def _page() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100000))


def _args() -> dict[str, str]:
    """The filters as given, to carry into page links."""
    return {k: v for k, v in request.args.items() if k != "page" and v}


def _range_ok(form: Any) -> bool:
    """The end of a date range may not precede its start (shown beside the end date)."""
    start, end = form.date_from.data, form.date_to.data
    if start and end and end < start:
        form.date_to.errors = [*form.date_to.errors, _("The end of the range is before its start.")]
        return False
    return True


def _exportable(start: date | None, end: date | None) -> bool:
    return not (start and end and (end - start).days + 1 > MAX_RANGE_DAYS)


def _filtered(form: Any, fetch: Any) -> tuple[int, list[Any], dict[str, int]]:
    """Validate a filter form and fetch the page; bad filters are shown beside their field (422)."""
    items: list[Any] = []
    meta = {"page": 1, "pages": 1, "total": 0}
    if not (form.validate() and _range_ok(form)):
        return 422, items, meta
    try:
        items, meta = fetch()
    except DomainError as err:
        return show_error(form, err, {"drafted_from": "date_from", "drafted_to": "date_to",
                                      "submitted_from": "date_from", "submitted_to": "date_to"}), [], meta
    return 200, items, meta


# -- contracts ----------------------------------------------------------------------------------------------
@contracts_web.get("/audit/contracts")
@access(*READERS)
def audit_contracts():
    """Every contract, filterable by drafting date, state, type and party; CSV and XLSX of the same selection."""
    form = ContractFilterForm(formdata=request.args)
    party = (form.party.data or "").strip().upper() or None
    query = {"state": form.state.data or None, "contract_type": form.contract_type.data or None,
             "party_ref": party, "drafted_from": form.date_from.data, "drafted_to": form.date_to.data}

    def fetch():  # type: ignore[no-untyped-def]
        q = svc.ContractQuery(state=cd.ContractState(query["state"]) if query["state"] else None,
                              contract_type=cd.ContractType(query["contract_type"]) if query["contract_type"]
                              else None, party_ref=party, drafted_from=form.date_from.data,
                              drafted_to=form.date_to.data)
        return svc.list_contracts(get_session(), q, page=_page(), per_page=PER_PAGE)

    status, items, meta = _filtered(form, fetch)
    rows = [{"c": c, "deal": c.deal, "reg": latest_registration(c), "cert": certificate_for(c.deal_id),
             "problems": record_problems(c)} for c in items]
    export = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in query.items() if v}
    exportable = status == 200 and _exportable(form.date_from.data, form.date_to.data)
    return render_template(
        "contracts/audit_contracts.html", form=form, rows=rows, meta=meta, args=_args(), exportable=exportable,
        csv_url=url_for("contracts_api.export_contracts_csv", **export),
        xlsx_url=url_for("contracts_api.export_contracts_xlsx", **export),
        bundle_form=BundleForm(formdata=None, start=form.date_from.data, end=form.date_to.data)), status


# -- registrations --------------------------------------------------------------------------------------------
@contracts_web.get("/audit/registrations")
@access(*READERS)
def audit_registrations():
    """Every technology contract registration, filterable by submission date, state, deadline and party."""
    form = RegistrationFilterForm(formdata=request.args)

    def fetch():  # type: ignore[no-untyped-def]
        q = svc.RegistrationQuery(
            state=cd.RegistrationState(form.state.data) if form.state.data else None,
            overdue={"yes": True, "no": False}.get(form.overdue.data or ""),
            submitted_from=form.date_from.data, submitted_to=form.date_to.data,
            registration_number=(form.registration_number.data or "").strip() or None)
        return svc.list_registrations(get_session(), q, clock=get_clock(), page=_page(), per_page=PER_PAGE,
                                      party_id=party_id_of_ref(form.party.data))

    status, items, meta = _filtered(form, fetch)
    session, clock = get_session(), get_clock()
    rows = [{"r": r, "deadline": svc.deadline_status(session, r, clock), "problems": record_problems(r),
             "standing": r.state in (cd.RegistrationState.REGISTERED, cd.RegistrationState.CHANGED)}
            for r in items]
    return render_template("contracts/audit_registrations.html", form=form, rows=rows, meta=meta,
                           args=_args()), status


# -- certificates ---------------------------------------------------------------------------------------------
@contracts_web.get("/audit/certificates")
@access(*READERS)
def audit_certificates():
    """Every transaction certificate, filterable by issue date, state, deal and party, with its PDF."""
    form = CertificateFilterForm(formdata=request.args)

    def fetch():  # type: ignore[no-untyped-def]
        q = svc.CertificateQuery(state=cd.CertificateState(form.state.data) if form.state.data else None,
                                 deal_ref=(form.deal.data or "").strip().upper() or None,
                                 issued_from=form.date_from.data, issued_to=form.date_to.data)
        return svc.list_certificates(get_session(), q, page=_page(), per_page=PER_PAGE,
                                     party_id=party_id_of_ref(form.party.data))

    status, items, meta = _filtered(form, fetch)
    rows = [{"cert": c, "problems": record_problems(c)} for c in items]
    return render_template("contracts/audit_certificates.html", form=form, rows=rows, meta=meta,
                           args=_args()), status


# -- the bundle -------------------------------------------------------------------------------------------------
@contracts_web.get("/audit/bundle")
@access(*READERS)
def audit_bundle():
    """The ZIP bundle of a date range: checked here, so a bad range is shown beside its field,
    then downloaded from the JSON API (``/api/v1/exports/bundle.zip``)."""
    asked = "start" in request.args or "end" in request.args
    form = BundleForm(formdata=request.args if asked else None)
    status = 200
    if asked:
        if form.validate():
            from contracts.service.exports import check_range

            try:
                check_range(form.start.data, form.end.data, required=True)
            except DomainError as err:
                status = show_error(form, err)
                if err.code in ("invalid_range", "export_range_too_long"):
                    form.end.errors, form.form_errors = [*form.end.errors, *form.form_errors], []
            else:
                return redirect(url_for("contracts_api.export_bundle",
                                        **{"from": form.start.data.isoformat(), "to": form.end.data.isoformat()}))
        else:
            status = 422
    return render_template("contracts/audit_bundle.html", form=form, max_days=MAX_RANGE_DAYS), status


# -- the audit trail ---------------------------------------------------------------------------------------------
def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


@contracts_web.get("/audit/trail")
@access(*READERS)
def audit_trail():
    """The audit trail in seq order, filterable by action and subject, paginated by seq."""
    form = TrailFilterForm(formdata=request.args)
    session = get_session()
    events: list[AuditEvent] = []
    status, after, prev_after, next_after = 200, 0, None, None
    if form.validate():
        after = form.after_seq.data or 0
        stmt = sa.select(AuditEvent)
        if form.action.data:
            stmt = stmt.where(AuditEvent.action == form.action.data.strip())
        if form.subject_ref.data:
            stmt = stmt.where(AuditEvent.subject_ref == form.subject_ref.data.strip())
        events = list(session.scalars(stmt.where(AuditEvent.seq > after).order_by(AuditEvent.seq)
                                      .limit(TRAIL_PER_PAGE + 1)))
        if len(events) > TRAIL_PER_PAGE:
            events = events[:TRAIL_PER_PAGE]
            next_after = events[-1].seq
        if after > 0:
            before = list(session.scalars(stmt.where(AuditEvent.seq <= after).order_by(AuditEvent.seq.desc())
                                          .limit(TRAIL_PER_PAGE)))
            prev_after = before[-1].seq - 1 if before else None
    else:
        status = 422
    keep = {k: v for k, v in request.args.items() if k in ("action", "subject_ref") and v}
    actions = list(session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action).limit(300)))
    return render_template("contracts/audit_trail.html", form=form, events=events, keep=keep, after=after,
                           prev_after=prev_after, next_after=next_after, actions=actions, as_json=_json,
                           highlight=request.args.get("highlight", type=int),
                           feed_url=api_feed_url(after_seq=after, **keep)), status


@contracts_web.get("/audit/trail/verify")
@access(*READERS)
def audit_trail_verify():
    """Recompute the whole hash chain: ok, or the first broken link and what is wrong with it."""
    report = verify_chain(get_session())
    event = None
    if report.first_broken_seq is not None:
        event = get_session().scalar(sa.select(AuditEvent).where(AuditEvent.seq == report.first_broken_seq))
    return render_template("contracts/audit_verify.html", report=report, event=event, as_json=_json,
                           api_url=url_for("exchange_api.audit_verify"))


@contracts_web.get("/audit/records")
@access(*READERS)
def audit_records():
    """Recompute the record hash of every contract, registration and certificate on request."""
    report = svc.verify_records(get_session()) if request.args.get("run") else None
    return render_template("contracts/audit_records.html", report=report,
                           api_url=url_for("contracts_api.verify_records"))


def api_feed_url(**params: Any) -> str:
    return url_for("exchange_api.audit_events") + ("?" + urlencode(params) if params else "")
