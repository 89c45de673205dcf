"""Labels of the contracts pages in the reader's language (English msgids, Chinese catalogue).

The documents themselves (contract text, PDFs, exports) use the fixed bilingual
labels of ``contracts.service.labels``; pages follow the language switch.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from contracts import domain as cd

CONTRACT_STATE = {
    cd.ContractState.DRAFTED: _l("Drafted, awaiting signatures"),
    cd.ContractState.PARTLY_SIGNED: _l("Signed by one side"),
    cd.ContractState.IN_FORCE: _l("In force"),
    cd.ContractState.TERMINATED: lazy_pgettext("contract state", "Terminated"),
    cd.ContractState.CANCELLED: _l("Cancelled"),
}
CONTRACT_TYPE = {
    cd.ContractType.DEVELOPMENT: _l("Technology development"),
    cd.ContractType.TRANSFER: _l("Technology transfer"),
    cd.ContractType.LICENCE: _l("Technology licence"),
    cd.ContractType.CONSULTING: _l("Technology consulting"),
    cd.ContractType.SERVICE: _l("Technology service"),
}
SUBTYPE = {
    cd.ContractSubtype.DEVELOPMENT_COMMISSIONED: _l("Commissioned development"),
    cd.ContractSubtype.DEVELOPMENT_COOPERATIVE: _l("Cooperative development"),
    cd.ContractSubtype.TRANSFER_PATENT_RIGHT: _l("Patent right transfer"),
    cd.ContractSubtype.TRANSFER_PATENT_APPLICATION_RIGHT: _l("Patent application right transfer"),
    cd.ContractSubtype.TRANSFER_TECHNICAL_SECRET: _l("Technical secret transfer"),
    cd.ContractSubtype.TRANSFER_OTHER: _l("Other intellectual property transfer"),
    cd.ContractSubtype.LICENCE_EXCLUSIVE: _l("Exclusive licence"),
    cd.ContractSubtype.LICENCE_SOLE: _l("Sole licence"),
    cd.ContractSubtype.LICENCE_ORDINARY: _l("Ordinary licence"),
    cd.ContractSubtype.CONSULTING: _l("Technology consulting"),
    cd.ContractSubtype.SERVICE_GENERAL: _l("Technical service"),
    cd.ContractSubtype.SERVICE_TRAINING: _l("Technical training"),
    cd.ContractSubtype.SERVICE_BROKERAGE: _l("Technology brokerage"),
}
REGISTRATION_STATE = {
    cd.RegistrationState.SUBMITTED: _l("Submitted, awaiting decision"),
    cd.RegistrationState.REGISTERED: lazy_pgettext("registration state", "Registered"),
    cd.RegistrationState.REFUSED: _l("Refused (not registered)"),
    cd.RegistrationState.CHANGED: _l("Registered, changed"),
    cd.RegistrationState.CANCELLED: _l("Cancelled"),
}
REFUSAL_REASON = {
    cd.RefusalReason.NOT_IN_FORCE: _l("The contract is not in force"),
    cd.RefusalReason.NOT_TECHNOLOGY: _l("Not really a technology contract"),
    cd.RefusalReason.UNCLEAR_PARTIES: _l("Parties unclear"),
    cd.RefusalReason.UNCLEAR_SUBJECT: _l("Subject unclear"),
    cd.RefusalReason.UNCLEAR_PRICE: _l("Price unclear"),
    cd.RefusalReason.MISSING_APPROVALS: _l("Required approvals missing"),
    cd.RefusalReason.ILLEGAL_RESTRICTIVE_CLAUSES: _l("Illegal restrictive clauses"),
}
CERTIFICATE_STATE = {
    cd.CertificateState.VALID: _l("Valid"),
    cd.CertificateState.REVOKED: _l("Revoked"),
}
SIDE = {cd.SigningSide.SELLER: _l("Seller (Party A)"), cd.SigningSide.BUYER: _l("Buyer (Party B)")}
ENTITY = {
    "university": _l("University"),
    "research_institute": _l("Research institute"),
    "enterprise": _l("Enterprise"),
    "state_owned_enterprise": _l("State-owned enterprise"),
    "other_organisation": _l("Other organisation"),
    "individual": _l("Individual"),
}
CONDITION = {
    "contract_in_force": _l("Contract in force"),
    "price_received": _l("Price received in the settlement account"),
    "buyer_fee_paid": _l("Buyer's service fee paid"),
    "seller_fee_paid": _l("Seller's service fee paid"),
}

_TABLES: dict[str, dict[Any, Any]] = {
    "contract": CONTRACT_STATE, "type": CONTRACT_TYPE, "subtype": SUBTYPE, "registration": REGISTRATION_STATE,
    "refusal": REFUSAL_REASON, "certificate": CERTIFICATE_STATE, "side": SIDE, "condition": CONDITION,
    "entity": ENTITY,
}
_BADGES = {
    "drafted": "warn", "partly_signed": "warn", "in_force": "ok", "terminated": "", "cancelled": "",
    "submitted": "warn", "registered": "ok", "changed": "ok", "refused": "bad", "valid": "ok", "revoked": "bad",
}


def label(kind: str, value: Any) -> str:
    """The translated label of an enum value, or the value itself when there is none."""
    table = _TABLES.get(kind, {})
    key = value
    found = table.get(key)
    if found is None and isinstance(value, str):
        found = next((v for k, v in table.items() if getattr(k, "value", k) == value), None)
    if found is not None:
        return str(found)
    return str(getattr(value, "value", value) or "")


def badge(value: Any) -> str:
    return _BADGES.get(str(getattr(value, "value", value)), "")
