"""Helpers shared by the contracts pages, and their registrations with the platform:
navigation entries, links from "My deals", the package's stylesheet and the sign-in page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auctions.models import Deal
from contracts import domain as cd
from contracts.models import Certificate, Contract, TechRegistration
from contracts.pages import labels
from contracts.service import records
from contracts.views import contracts_web
from exchange.actors import Actor
from exchange.auth import PUBLIC, access, current_user, require_user
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.http import refusal_text
from exchange.models import Party, Role
from exchange.views import NAV, NavItem

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PER_PAGE = 25


# -- the package's static files and template helpers ---------------------------------------------------
@contracts_web.get("/static/contracts/<path:filename>", endpoint="static")
@access(PUBLIC)
def static_file(filename: str):  # type: ignore[no-untyped-def]
    """The package's stylesheet (the CSP allows only same-origin files)."""
    return send_from_directory(STATIC_DIR, filename, max_age=300)


@contracts_web.app_template_global()
def contracts_label(kind: str, value: Any) -> str:
    return labels.label(kind, value)


@contracts_web.app_template_global()
def contracts_badge(value: Any) -> str:
    return labels.badge(value)


# -- the acting user -----------------------------------------------------------------------------------
def actor() -> Actor:
    return Actor.of(require_user())


def is_staff() -> bool:
    user = current_user()
    return user is not None and user.role in (Role.operator, Role.admin)


def party_id_of_ref(ref: str | None) -> int | None:
    """The id of the party with this reference; -1 (matches nothing) when unknown."""
    if not ref:
        return None
    found = get_session().scalar(sa.select(Party.id).where(Party.ref == ref.strip().upper()))
    return found if found is not None else -1


# -- refusals beside their field -----------------------------------------------------------------------
# Service messages are English sentences, some with the input in them; the page says them in the
# reader's language, by code.
CODE_MESSAGES: dict[str, Any] = {
    "contract_text_mismatch": _l("The contract text changed after you opened this page, so your signature was "
                                 "not recorded. Read the current text and sign again."),
    "already_signed": _l("Your side has already signed this contract."),
    "signing_deadline_passed": _l("The signing deadline has passed; the contract can no longer be signed."),
    "contract_not_signable": _l("This contract can no longer be signed."),
    "contract_text_corrupted": _l("The stored contract text does not match its fingerprint; contact the exchange."),
    "contract_text_locked": _l("The contract has been signed; its text and items can no longer change."),
    "contract_text_edited": _l("The text was edited by hand; regenerate it before changing the items it lists."),
    "contract_text_unchanged": _l("The text is unchanged."),
    "non_technical_exceeds_deal": _l("The non-technical items add up to more than the deal amount."),
    "too_many_items": _l("At most 50 items."),
    "certificate_exists": _l("This deal already has a certificate; it is never issued twice."),
    "certificate_already_revoked": _l("The certificate is already revoked."),
    "registration_has_problems": _l("The data shows reasons not to register; refuse with them or fix the data."),
    "refusal_reason_unsupported": _l("The data does not support every reason ticked."),
    "no_refusal_reason": _l("The data shows no reason to refuse this registration; register it instead."),
    "unknown_refusal_reason": _l("Unknown refusal reason."),
    "tech_registration_exists": _l("This contract is already submitted or registered."),
    "not_the_seller": _l("The seller's side submits the contract for registration."),
    "invalid_registration_state": _l("Not possible in the registration's current state."),
    "invalid_registration_transition": _l("Not possible in the registration's current state."),
    "invalid_contract_transition": _l("Not possible in the contract's current state."),
    "change_refused": _l("The change cannot be registered:"),
    "no_change": _l("Nothing would change."),
    "invalid_licence_term": _l("A licence term is a positive number of years, at most 100."),
    "invalid_range": _l("The end of the range is before its start."),
    "export_range_too_long": _l("A range covers at most 366 days."),
    "range_required": _l("Give the start and end dates of the range."),
    "registration_number_format": _l("A registration number looks like JS2026310104000123."),
    "unknown_technical_field": _l("Choose a technical field from the list."),
    # These name English type, subtype and state values, or a programming error's text.
    "invalid_contract_subtype": _l("This subtype does not belong to the contract type."),
    "invalid_certificate_transition": _l("Not possible in the certificate's current state."),
    "invalid_certificate_data": _l("The certificate data cannot be recorded."),
}


def error_message(err: DomainError) -> str:
    text = refusal_text(err, CODE_MESSAGES)
    details = err.details or {}
    if err.code == "certificate_not_issuable" and details.get("missing"):
        missing = ", ".join(labels.label("condition", m) for m in details["missing"])
        text = _("The certificate cannot be issued yet. Missing: %(missing)s.", missing=missing)
    if err.code in ("change_refused", "registration_has_problems") and details.get("problems"):
        text += " " + "; ".join(f"{labels.label('refusal', p['reason'])}: {p['message']}"
                                for p in details["problems"])
    if err.code == "refusal_reason_unsupported" and details.get("unsupported"):
        text += " " + _("Not shown by the data: %(reasons)s.", reasons=", ".join(
            labels.label("refusal", r) for r in details["unsupported"]))
    return text


def show_error(form, err: DomainError, aliases: dict[str, str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Put a refusal beside the field it names (or above the form) and return its HTTP status.

    The failed attempt's flushed changes are rolled back first, so the page shows what is stored.
    """
    get_session().rollback()
    name = (aliases or {}).get(err.field or "", err.field)
    field = getattr(form, name, None) if name and name in getattr(form, "_fields", {}) else None
    message = error_message(err)
    if field is not None and name not in ("csrf_token",) and field.type != "HiddenField":
        field.errors = list(field.errors) + [message]
    else:
        form.form_errors.append(message)
    form.error_code = err.code
    return err.status


# -- records -------------------------------------------------------------------------------------------
def record_problems(obj: Contract | TechRegistration | Certificate) -> list[str]:
    """What does not match in one stored record (its hash, and the fingerprints it states)."""
    found = []
    if records.record_hash(obj) != obj.record_hash:
        found.append(_("the stored record does not match its record hash"))
    if isinstance(obj, Contract):
        if cd.contract_text_fingerprint(obj.text) != obj.text_sha256:
            found.append(_("the contract text does not match its SHA-256"))
        for s in obj.signatures:
            if s.text_sha256 != obj.text_sha256:
                found.append(_("a signature is over another text"))
    if isinstance(obj, Certificate) and cd.certificate_fingerprint(obj.data) != obj.fingerprint:
        found.append(_("the certificate data does not match its fingerprint"))
    return found


def latest_registration(contract: Contract) -> TechRegistration | None:
    return get_session().scalar(sa.select(TechRegistration).where(TechRegistration.contract_id == contract.id)
                                .order_by(TechRegistration.id.desc()).limit(1))


def certificate_for(deal_id: int) -> Certificate | None:
    return get_session().scalar(sa.select(Certificate).where(Certificate.deal_id == deal_id))


# -- links from "My deals" -----------------------------------------------------------------------------
def _contract_link(deal: Deal) -> tuple[str, str] | None:
    contract = get_session().scalar(sa.select(Contract).where(Contract.deal_id == deal.id))
    if contract is None:
        return None
    return _("Contract %(ref)s", ref=contract.ref), url_for("contracts_web.contract", ref=contract.ref)


def _certificate_link(deal: Deal) -> tuple[str, str] | None:
    cert = certificate_for(deal.id)
    if cert is None:
        return None
    return _("Transaction certificate"), url_for("contracts_web.certificate", ref=cert.ref)


def _register() -> None:
    from auctions.views import DEAL_LINKS

    for fn in (_contract_link, _certificate_link):
        if fn not in DEAL_LINKS:
            DEAL_LINKS.append(fn)
    items = [NavItem("contracts_web.my_contracts", _l("My contracts"), (Role.member.value,), 42),
             NavItem("contracts_web.operator_registrations", _l("Contract registrations"),
                     (Role.operator.value, Role.admin.value), 72),
             NavItem("contracts_web.operator_certificates", _l("Certificates"),
                     (Role.operator.value, Role.admin.value), 73),
             NavItem("contracts_web.audit_contracts", _l("Audit"),
                     (Role.auditor.value, Role.operator.value, Role.admin.value), 88)]
    known = {i.endpoint for i in NAV}
    NAV.extend(i for i in items if i.endpoint not in known)


_register()
