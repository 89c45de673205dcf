"""JSON routes of the contracts package: contracts and signing, technology contract
registration, transaction certificates, auditors' exports and record verification."""
from __future__ import annotations

from flask import Response, current_app

from auctions.service import deals as deal_service
from contracts import service as svc
from contracts.schemas import (
    BundleArgsSchema,
    CertificateListArgsSchema,
    CertificatePageSchema,
    CertificateReadinessSchema,
    CertificateSchema,
    CertificateVerificationSchema,
    ContractExportArgsSchema,
    ContractListArgsSchema,
    ContractPageSchema,
    ContractSchema,
    ContractSignSchema,
    ContractTextEditSchema,
    DecisionNoteSchema,
    NonTechnicalItemsSchema,
    ReasonSchema,
    RecordsReportSchema,
    RefuseSchema,
    RegistrationChangeInputSchema,
    RegistrationProblemsSchema,
    ReviewFlagsSchema,
    TechRegistrationListArgsSchema,
    TechRegistrationPageSchema,
    TechRegistrationSchema,
    TechRegistrationSubmitSchema,
)
from exchange.actors import Actor
from exchange.api_blueprint import ApiBlueprint
from exchange.auth import MEMBERS, PUBLIC, READERS, STAFF, access, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.idempotency import HEADER_DOC, idempotent

contracts_api = ApiBlueprint("contracts_api", __name__, url_prefix="/api/v1",
                          description="Contracts and signing, technology contract registration, transaction "
                                      "certificates, auditors' exports")
PARTIES_AND_READERS = (*MEMBERS, *READERS)
SELLERS_AND_STAFF = (*MEMBERS, *STAFF)


def _actor() -> Actor:
    return Actor.of(require_user())


def _member_party() -> int | None:
    """The party whose records a member sees; None for staff and auditors (they see all)."""
    actor = _actor()
    return None if actor.can_read_all else actor.party_id


def _file(data: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'{disposition}; filename="{filename}"', "Cache-Control": "no-store"})


def _contract(ref: str):  # type: ignore[no-untyped-def]
    return svc.visible_contract(_actor(), svc.load_contract(get_session(), ref))


# -- contracts ------------------------------------------------------------------------------
@contracts_api.route("/contracts", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.arguments(ContractListArgsSchema, location="query")
@contracts_api.response(200, ContractPageSchema)
def list_contracts(args: dict):
    """Contracts, newest first, filterable; members see their party's, staff and auditors all."""
    page, per_page = args.pop("page"), args.pop("per_page")
    items, meta = svc.list_contracts(get_session(), svc.ContractQuery(**args), page=page, per_page=per_page,
                                     party_id=_member_party())
    return {"items": items, "meta": meta}


@contracts_api.route("/contracts/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, ContractSchema)
def get_contract(ref: str):
    """A contract with its exact text, its SHA-256, the signatures and the non-technical items."""
    return _contract(ref)


@contracts_api.route("/deals/<ref>/contract", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, ContractSchema)
def deal_contract(ref: str):
    """The contract drawn up from a deal."""
    actor = _actor()
    deal_service.visible_deal(actor, deal_service.load_deal(get_session(), ref))
    return svc.visible_contract(actor, svc.contract_of_deal(get_session(), ref))


@contracts_api.route("/contracts/<ref>.pdf", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, description="The contract as a PDF")
def contract_pdf(ref: str):
    """The contract document: parties, key terms, every article, the signatures with their text SHA-256."""
    contract = _contract(ref)
    return _file(svc.contract_pdf(contract), "application/pdf", f"{contract.ref}.pdf")


@contracts_api.route("/contracts/<ref>/text", methods=["PUT"])
@access(*STAFF)
@contracts_api.arguments(ContractTextEditSchema)
@contracts_api.response(200, ContractSchema)
def edit_text(data: dict, ref: str):
    """Replace the text before anyone has signed (``contract_text_locked`` afterwards)."""
    return svc.edit_text(get_session(), _actor(), ref, data["text"], data["reason"], clock=get_clock())


@contracts_api.route("/contracts/<ref>/text/regenerate", methods=["POST"])
@access(*STAFF)
@contracts_api.response(200, ContractSchema)
def regenerate_text(ref: str):
    """Put the generated text back (before anyone has signed)."""
    return svc.regenerate_text(get_session(), _actor(), ref, clock=get_clock())


@contracts_api.route("/contracts/<ref>/non-technical-items", methods=["PUT"])
@access(*STAFF)
@contracts_api.arguments(NonTechnicalItemsSchema)
@contracts_api.response(200, ContractSchema)
def set_items(data: dict, ref: str):
    """List the non-technical items of the price (equipment, materials); the text lists them, and the
    technology transaction amount is the price less them. Before anyone has signed."""
    items = [svc.ItemInput(**i) for i in data["items"]]
    return svc.set_non_technical_items(get_session(), _actor(), ref, items, clock=get_clock())


@contracts_api.route("/contracts/<ref>/sign", methods=["POST"])
@access(*MEMBERS)
@idempotent()
@contracts_api.arguments(ContractSignSchema)
@contracts_api.response(200, ContractSchema)
@contracts_api.doc(parameters=[HEADER_DOC])
def sign(data: dict, ref: str):
    """Sign as a user of the seller or the buyer. ``text_sha256`` must be the SHA-256 of the current text
    (else ``contract_text_mismatch``). The second signature puts the contract in force.

    Refusal codes: contract_not_found, signing_deadline_passed, already_signed, contract_text_mismatch,
    contract_not_signable."""
    return svc.sign_contract(get_session(), _actor(), ref, data["text_sha256"], clock=get_clock())


@contracts_api.route("/contracts/<ref>/terminate", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(ReasonSchema)
@contracts_api.response(200, ContractSchema)
def terminate(data: dict, ref: str):
    """Record that a contract in force ended early (rescinded), with the reason."""
    return svc.terminate_contract(get_session(), _actor(), ref, data["reason"], clock=get_clock())


# -- technology contract registration -------------------------------------------------------
def _registration(ref: str):  # type: ignore[no-untyped-def]
    return svc.visible_registration(_actor(), svc.load_registration(get_session(), ref))


def _with_deadline(reg):  # type: ignore[no-untyped-def]
    reg.deadline = svc.deadline_status(get_session(), reg, get_clock())
    return reg


@contracts_api.route("/contracts/<ref>/registration", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@contracts_api.arguments(TechRegistrationSubmitSchema)
@contracts_api.response(201, TechRegistrationSchema)
def submit_registration(data: dict, ref: str):
    """Submit the contract for technology contract registration (the seller's side, or an operator).
    Everything not given comes from the contract, its deal, parties and asset."""
    reg = svc.submit_registration(get_session(), _actor(), ref, svc.RegistrationSubmission(**data), clock=get_clock(),
                                  default_region=current_app.config["EXCHANGE_REGION_CODE"])
    return _with_deadline(reg)


@contracts_api.route("/tech-registrations", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.arguments(TechRegistrationListArgsSchema, location="query")
@contracts_api.response(200, TechRegistrationPageSchema)
def list_registrations(args: dict):
    """Registrations by due date; ``overdue=true`` lists those past their decision date."""
    page, per_page = args.pop("page"), args.pop("per_page")
    items, meta = svc.list_registrations(get_session(), svc.RegistrationQuery(**args), clock=get_clock(), page=page,
                                         per_page=per_page, party_id=_member_party())
    return {"items": [_with_deadline(r) for r in items], "meta": meta}


@contracts_api.route("/tech-registrations/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, TechRegistrationSchema)
def get_registration(ref: str):
    """A registration with its deadline, decision, refusal reasons, tax relief and changes."""
    return _with_deadline(_registration(ref))


@contracts_api.route("/tech-registrations/<ref>/problems", methods=["GET"])
@access(*READERS)
@contracts_api.response(200, RegistrationProblemsSchema)
def registration_problems(ref: str):
    """Every reason the data gives to refuse the registration (empty: it may be registered)."""
    reg = svc.load_registration(get_session(), ref)
    return {"problems": [{"reason": p.reason.value, "message": p.message, "field": p.field}
                         for p in svc.problems_of(reg)],
            "deadline": svc.deadline_status(get_session(), reg, get_clock())}


@contracts_api.route("/tech-registrations/<ref>/review", methods=["PATCH"])
@access(*STAFF)
@contracts_api.arguments(ReviewFlagsSchema)
@contracts_api.response(200, TechRegistrationSchema)
def review(data: dict, ref: str):
    """Record the reviewer's findings (export control, restrictive clauses, dispute...)."""
    return _with_deadline(svc.update_review(get_session(), _actor(), ref, data, clock=get_clock()))


@contracts_api.route("/tech-registrations/<ref>/register", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(DecisionNoteSchema)
@contracts_api.response(200, TechRegistrationSchema)
def register(data: dict, ref: str):
    """Register: assigns the registration number and records the tax relief it unlocks."""
    return _with_deadline(svc.register(get_session(), _actor(), ref, note=data["note"], clock=get_clock()))


@contracts_api.route("/tech-registrations/<ref>/refuse", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(RefuseSchema)
@contracts_api.response(200, TechRegistrationSchema)
def refuse(data: dict, ref: str):
    """Refuse registration (未予登记) with reasons the data supports (``refusal_reason_unsupported`` otherwise)."""
    return _with_deadline(svc.refuse(get_session(), _actor(), ref, data["reasons"], note=data["note"],
                                     clock=get_clock()))


@contracts_api.route("/tech-registrations/<ref>/changes", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(RegistrationChangeInputSchema)
@contracts_api.response(200, TechRegistrationSchema)
def register_change(data: dict, ref: str):
    """Register a change (变更登记); checked like a registration (``change_refused`` with the reasons)."""
    return _with_deadline(svc.register_change(get_session(), _actor(), ref, data["changes"], data["reason"],
                                              clock=get_clock()))


@contracts_api.route("/tech-registrations/<ref>/cancel", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(ReasonSchema)
@contracts_api.response(200, TechRegistrationSchema)
def cancel_registration(data: dict, ref: str):
    """Withdraw a submission or cancel a registration, with the reason."""
    return _with_deadline(svc.cancel_registration(get_session(), _actor(), ref, data["reason"], clock=get_clock()))


@contracts_api.route("/tech-registrations/<ref>.pdf", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, description="The registration proof (技术合同认定登记证明) as a PDF")
def registration_pdf(ref: str):
    """The registration proof of a registered (or changed) registration."""
    reg = _registration(ref)
    return _file(svc.registration_pdf(reg), "application/pdf", f"{reg.registration_number or reg.ref}.pdf")


# -- certificates ---------------------------------------------------------------------------
@contracts_api.route("/deals/<ref>/certificate/readiness", methods=["GET"])
@access(*READERS)
@contracts_api.response(200, CertificateReadinessSchema)
def certificate_readiness(ref: str):
    """What the deal's certificate waits for: contract in force, price received, both fees paid."""
    return svc.readiness(get_session(), deal_service.load_deal(get_session(), ref))


@contracts_api.route("/deals/<ref>/certificate", methods=["POST"])
@access(*STAFF)
@contracts_api.response(201, CertificateSchema)
def issue_certificate(ref: str):
    """Issue the deal's transaction certificate (交易凭证).

    Refusal codes: certificate_exists (409: never twice for a deal), certificate_not_issuable (422, with the
    missing conditions)."""
    return svc.issue_certificate(get_session(), _actor(), ref, clock=get_clock())


@contracts_api.route("/certificates", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.arguments(CertificateListArgsSchema, location="query")
@contracts_api.response(200, CertificatePageSchema)
def list_certificates(args: dict):
    """Certificates, newest first; members see their party's."""
    page, per_page = args.pop("page"), args.pop("per_page")
    items, meta = svc.list_certificates(get_session(), svc.CertificateQuery(**args), page=page, per_page=per_page,
                                        party_id=_member_party())
    return {"items": items, "meta": meta}


@contracts_api.route("/certificates/verify/<code>", methods=["GET"])
@access(PUBLIC)
@contracts_api.response(200, CertificateVerificationSchema)
def verify_certificate(code: str):
    """Public check of a certificate code: valid or revoked, and its fingerprint. Nothing private."""
    return svc.verify_code(get_session(), code)


@contracts_api.route("/certificates/<ref>", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, CertificateSchema)
def get_certificate(ref: str):
    """A certificate with every printed field."""
    return svc.visible_certificate(_actor(), svc.load_certificate(get_session(), ref))


@contracts_api.route("/certificates/<ref>.pdf", methods=["GET"])
@access(*PARTIES_AND_READERS)
@contracts_api.response(200, description="The certificate as a PDF (a revoked one carries the stamp)")
def certificate_pdf(ref: str):
    """The certificate PDF; the same record always gives the same bytes."""
    cert = svc.visible_certificate(_actor(), svc.load_certificate(get_session(), ref))
    pdf = svc.certificate_pdf(cert, base_url=current_app.config["PUBLIC_BASE_URL"])
    return _file(pdf, "application/pdf", f"{cert.ref}.pdf")


@contracts_api.route("/certificates/<ref>/revoke", methods=["POST"])
@access(*STAFF)
@contracts_api.arguments(ReasonSchema)
@contracts_api.response(200, CertificateSchema)
def revoke_certificate(data: dict, ref: str):
    """Revoke a certificate, with the reason; it then verifies as revoked."""
    return svc.revoke_certificate(get_session(), _actor(), ref, data["reason"], clock=get_clock())


# -- auditors -------------------------------------------------------------------------------
@contracts_api.route("/exports/contracts.csv", methods=["GET"])
@access(*READERS)
@contracts_api.arguments(ContractExportArgsSchema, location="query")
@contracts_api.response(200, description="CSV (UTF-8 with BOM)")
def export_contracts_csv(args: dict):
    """Contract records as CSV, filterable like the list."""
    return _file(svc.contracts_csv(get_session(), svc.ContractQuery(**args)), "text/csv", "contracts.csv")


@contracts_api.route("/exports/contracts.xlsx", methods=["GET"])
@access(*READERS)
@contracts_api.arguments(ContractExportArgsSchema, location="query")
@contracts_api.response(200, description="XLSX workbook")
def export_contracts_xlsx(args: dict):
    """Contract records as an Excel workbook."""
    return _file(svc.contracts_xlsx(get_session(), svc.ContractQuery(**args)),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "contracts.xlsx")


@contracts_api.route("/exports/bundle.zip", methods=["GET"])
@access(*READERS)
@contracts_api.arguments(BundleArgsSchema, location="query")
@contracts_api.response(200, description="ZIP bundle with a manifest of SHA-256 fingerprints")
def export_bundle(args: dict):
    """Everything recorded in a date range (Shanghai dates, at most 366 days): contract, registration and
    certificate records, certificate and registration PDFs, the canonical records with their hashes, the
    audit events, and manifest.json with the SHA-256 of every file."""
    data = svc.build_bundle(get_session(), args["start"], args["end"],
                            base_url=current_app.config["PUBLIC_BASE_URL"], clock=get_clock())
    return _file(data, "application/zip", svc.bundle_name(args["start"], args["end"]))


@contracts_api.route("/records/verify", methods=["GET"])
@access(*READERS)
@contracts_api.response(200, RecordsReportSchema)
def verify_records():
    """Recompute the record hash of every contract, registration and certificate (and the fingerprints they
    state) and list each one that does not match: an edit made outside the exchange's services."""
    return svc.verify_records(get_session()).as_dict()
