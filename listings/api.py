"""JSON routes of the listings package: assets and rights confirmation, pricing, listings,
buyer registration, open licences and the catalogue."""
from __future__ import annotations

from flask import current_app, request, send_file

from exchange.actors import Actor
from exchange.api_blueprint import ApiBlueprint
from exchange.auth import MEMBERS, PUBLIC, READERS, STAFF, access, current_user, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import NotFoundError, ValidationError
from listings import service as svc
from listings.schemas import (
    AppraisalCreateSchema,
    AppraisalSchema,
    AssetCreateSchema,
    AssetSchema,
    AuthorisationCreateSchema,
    CatalogueArgsSchema,
    ChecksSchema,
    DecisionSchema,
    DeclarationSchema,
    DocumentSchema,
    EncumbranceCreateSchema,
    EncumbranceSchema,
    EncumbranceUpdateSchema,
    HoldingCreateSchema,
    HoldingSchema,
    ListingCreateSchema,
    ListingPageSchema,
    ListingSchema,
    OpenLicenceCreateSchema,
    OpenLicenceSchema,
    OwnerSchema,
    OwnerSetSchema,
    PricingSchema,
    ReasonSchema,
    RegistrationCreateSchema,
    RegistrationSchema,
    ReviewResultSchema,
    ReviewSchema,
    WithdrawalSchema,
    TakeSchema,
    TakingSchema,
    TermsFields,
    UploadFormSchema,
    ValuationCreateSchema,
    ValuationSchema,
)

listings_api = ApiBlueprint("listings_api", __name__, url_prefix="/api/v1",
                         description="Assets, rights confirmation, pricing, listings, registrations, open licences")
SELLERS_AND_STAFF = (*MEMBERS, *STAFF)


def _actor() -> Actor:
    return Actor.of(require_user())


def _maybe_actor() -> Actor | None:
    u = current_user()
    return Actor.of(u) if u else None


def _asset_view(asset):  # type: ignore[no-untyped-def]
    """The asset as the caller may see it: technical-secret details and private documents
    only for the holder and the exchange (auditors included)."""
    actor = _maybe_actor()
    allowed = actor is not None and (actor.can_read_all or actor.party_id == asset.holder_party_id)
    data = {name: getattr(asset, name) for name in AssetSchema().fields if hasattr(asset, name)}
    data["owners"] = [{"party": o.party, "share_bp": o.share_bp, "consented": o.consented,
                       "consent_document_id": o.consent_document_id} for o in asset.owners]
    data["holdings"] = [{"id": h.id, "party": h.party, "right_type": h.right_type} for h in asset.holdings]
    if not allowed:
        data["confidential_details"] = None
        data["documents"] = [doc for doc in asset.documents if doc.public]
    return data


def _visible_asset(ref: str):  # type: ignore[no-untyped-def]
    """Assets are visible to their holder and staff, and to everyone once publicly listed."""
    session = get_session()
    asset = svc.load_asset(session, ref)
    actor = _maybe_actor()
    if actor is not None and (actor.can_read_all or actor.party_id == asset.holder_party_id):
        return asset
    from listings.models import Listing
    import sqlalchemy as sa

    public = session.scalar(sa.select(Listing.id).where(Listing.asset_id == asset.id,
                                                        Listing.state.in_([s.value for s in svc.PUBLIC_STATES])))
    if public is None:
        raise NotFoundError(f"No asset {ref}.", code="asset_not_found")
    return asset


# -- assets ---------------------------------------------------------------------------------
@listings_api.route("/assets", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(AssetCreateSchema)
@listings_api.response(201, AssetSchema)
def create_asset(data: dict):
    """Register a technology asset; patent numbers are normalised and checked, the expiry computed."""
    asset = svc.register_asset(get_session(), _actor(), svc.AssetInput(**data), clock=get_clock())
    return _asset_view(asset)


@listings_api.route("/assets/<ref>", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, AssetSchema)
def get_asset(ref: str):
    """An asset with owners, rights, encumbrances and the documents the caller may see."""
    return _asset_view(_visible_asset(ref))


@listings_api.route("/assets/<ref>/owners", methods=["PUT"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(OwnerSetSchema)
@listings_api.response(200, AssetSchema)
def set_owner(data: dict, ref: str):
    """Add a co-owner or record its written consent (with the consent document)."""
    svc.set_owner(get_session(), _actor(), ref, data["party_ref"], consented=data["consented"],
                  share_bp=data["share_bp"], consent_document_id=data["consent_document_id"], clock=get_clock())
    return _asset_view(svc.load_asset(get_session(), ref))


@listings_api.route("/assets/<ref>/holdings", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(HoldingCreateSchema)
@listings_api.response(201, AssetSchema)
def add_holding(data: dict, ref: str):
    """Record a split right (ownership / operating / revenue) and who holds it."""
    svc.add_right_holding(get_session(), _actor(), ref, data["party_ref"], data["right_type"], clock=get_clock())
    return _asset_view(svc.load_asset(get_session(), ref))


@listings_api.route("/assets/<ref>/holdings/<int:holding_id>", methods=["DELETE"])
@access(*SELLERS_AND_STAFF)
@listings_api.response(200, AssetSchema)
def remove_holding(ref: str, holding_id: int):
    """Remove a recorded right holding."""
    svc.remove_right_holding(get_session(), _actor(), ref, holding_id, clock=get_clock())
    return _asset_view(svc.load_asset(get_session(), ref))


@listings_api.route("/assets/<ref>/authorisations", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(AuthorisationCreateSchema)
@listings_api.response(201, AssetSchema)
def add_authorisation(data: dict, ref: str):
    """Record the institution's authorisation for an employee invention."""
    svc.add_authorisation(get_session(), _actor(), ref, clock=get_clock(), **data)
    return _asset_view(svc.load_asset(get_session(), ref))


@listings_api.route("/assets/<ref>/encumbrances", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(EncumbranceCreateSchema)
@listings_api.response(201, EncumbranceSchema)
def add_encumbrance(data: dict, ref: str):
    """Record a pledge, an existing exclusive/sole licence or a court freeze."""
    return svc.add_encumbrance(get_session(), _actor(), ref, svc.EncumbranceInput(**data), clock=get_clock())


@listings_api.route("/assets/<ref>/encumbrances/<int:encumbrance_id>", methods=["PATCH"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(EncumbranceUpdateSchema)
@listings_api.response(200, EncumbranceSchema)
def update_encumbrance(data: dict, ref: str, encumbrance_id: int):
    """Record the holder's consent to transfer, or the release."""
    return svc.update_encumbrance(get_session(), _actor(), ref, encumbrance_id, clock=get_clock(), **data)


@listings_api.route("/assets/<ref>/documents", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(UploadFormSchema, location="form")
@listings_api.response(201, DocumentSchema)
@listings_api.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "kind"],
    "properties": {"file": {"type": "string", "format": "binary"}, "kind": {"type": "string"},
                   "public": {"type": "boolean"}}}}}})
def upload_document(form: dict, ref: str):
    """Upload evidence (PDF, PNG, JPEG or WebP, checked by content), fingerprinted with SHA-256."""
    f = request.files.get("file")
    if f is None:
        raise ValidationError("Attach the file as 'file'.", code="file_required", field="file")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = f.read(limit + 1)
    return svc.upload_evidence(get_session(), _actor(), ref, kind=form["kind"], filename=f.filename or "",
                               data=data, public=form["public"], folder=current_app.config["UPLOAD_FOLDER"],
                               max_bytes=limit, clock=get_clock())


@listings_api.route("/assets/<ref>/documents/<int:doc_id>", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, description="The file, as an attachment")
def download_document(ref: str, doc_id: int):
    """Download evidence: holder, staff and auditors always; others only public documents of listed assets."""
    from listings.models import EvidenceDocument

    session = get_session()
    asset = svc.load_asset(session, ref)
    doc = session.get(EvidenceDocument, doc_id)
    if doc is None or doc.asset_id != asset.id:
        raise NotFoundError("No such document.", code="document_not_found")
    try:
        listed = _visible_asset(ref) is not None
    except NotFoundError:
        listed = False
    if not svc.can_download(_maybe_actor(), asset, doc, listed_publicly=listed):
        raise NotFoundError("No such document.", code="document_not_found")
    # Always an attachment with the sniffed type: an upload is never rendered as a page.
    resp = send_file(svc.document_path(current_app.config["UPLOAD_FOLDER"], doc), mimetype=doc.content_type,
                     as_attachment=True, download_name=doc.filename, max_age=0)
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["X-Content-SHA256"] = doc.sha256
    return resp


@listings_api.route("/assets/<ref>/review-request", methods=["POST"])
@access(*MEMBERS)
@listings_api.response(200, AssetSchema)
def request_review(ref: str):
    """Ask the exchange to confirm the asset's rights (确权)."""
    return _asset_view(svc.request_review(get_session(), _actor(), ref, clock=get_clock()))


@listings_api.route("/assets/<ref>/checks", methods=["GET"])
@access(*READERS)
@listings_api.response(200, ChecksSchema)
def asset_checks(ref: str):
    """What the automatic checks find, for the operator's checklist."""
    session = get_session()
    return {"problems": svc.automatic_checks(session, svc.load_asset(session, ref), get_clock())}


@listings_api.route("/assets/<ref>/review", methods=["POST"])
@access(*STAFF)
@listings_api.arguments(ReviewSchema)
@listings_api.response(201, ReviewResultSchema)
def review(data: dict, ref: str):
    """Record the rights-confirmation decision with the checklist and reasons."""
    return svc.review_asset(get_session(), _actor(), ref, clock=get_clock(), **data)


# -- pricing --------------------------------------------------------------------------------
@listings_api.route("/assets/<ref>/valuations", methods=["POST"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(ValuationCreateSchema)
@listings_api.response(201, ValuationSchema)
def add_valuation(data: dict, ref: str):
    """Value the asset by the cost, income or market method; inputs and result are stored."""
    return svc.add_valuation(get_session(), _actor(), ref, data["method"], data["inputs"], clock=get_clock())


@listings_api.route("/assets/<ref>/appraisals", methods=["POST"])
@access(*STAFF)
@listings_api.arguments(AppraisalCreateSchema)
@listings_api.response(201, AppraisalSchema)
def add_appraisal(data: dict, ref: str):
    """File an appraisal report (operators, from the filed report)."""
    return svc.record_appraisal(get_session(), _actor(), ref, svc.AppraisalInput(**data), clock=get_clock())


@listings_api.route("/assets/<ref>/pricing", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, PricingSchema)
def pricing(ref: str):
    """Valuations, the valid appraisal and the reference price band."""
    from listings.service.common import appraisal_required, today

    session = get_session()
    asset = _visible_asset(ref)
    band = svc.reference_band_for(session, asset.id)
    return {"valuations": list(svc.latest_valuations(session, asset.id).values()),
            "appraisal": svc.current_appraisal(session, asset.id, today(get_clock())),
            "appraisal_required": appraisal_required(asset.holder),
            "reference_low_fen": band[0].fen if band else None, "reference_high_fen": band[1].fen if band else None}


# -- listings -------------------------------------------------------------------------------
@listings_api.route("/listings", methods=["GET"])
@access(PUBLIC)
@listings_api.arguments(CatalogueArgsSchema, location="query")
@listings_api.response(200, ListingPageSchema)
def catalogue(args: dict):
    """The public catalogue: keyword search (works for Chinese) and filters, paginated, stable order."""
    page, per_page = args.pop("page"), args.pop("per_page")
    items, meta = svc.search_catalogue(get_session(), svc.CatalogueQuery(**args), page, per_page)
    return {"items": items, "meta": meta}


@listings_api.route("/listings", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(ListingCreateSchema)
@listings_api.response(201, ListingSchema)
def create_listing(data: dict):
    """Draft a listing: mode, price, deposit (at most 30%), increment, bidding settings, conditions."""
    asset_ref = data.pop("asset_ref")
    return svc.create_listing(get_session(), _actor(), asset_ref, svc.ListingTerms(**data), clock=get_clock())


@listings_api.route("/listings/<ref>", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, ListingSchema)
def get_listing(ref: str):
    """A listing; anything due (end of publicity, lapsed deposits) is applied first."""
    return svc.get_listing_for(get_session(), _maybe_actor(), ref, clock=get_clock())


@listings_api.route("/listings/<ref>", methods=["PATCH"])
@access(*SELLERS_AND_STAFF)
@listings_api.arguments(TermsFields)
@listings_api.response(200, ListingSchema)
def update_listing(data: dict, ref: str):
    """Change terms; on a published listing this restarts the publicity count."""
    if not data:
        raise ValidationError("Nothing to change.", code="empty_update")
    return svc.update_terms(get_session(), _actor(), ref, data, clock=get_clock())


def _listing_action(name: str, fn, roles, doc: str, *, reason: bool):  # type: ignore[no-untyped-def]
    def view_with_reason(data: dict, ref: str):  # type: ignore[no-untyped-def]
        return fn(get_session(), _actor(), ref, data["reason"], clock=get_clock())

    def view_plain(ref: str):  # type: ignore[no-untyped-def]
        return fn(get_session(), _actor(), ref, clock=get_clock())

    view = view_with_reason if reason else view_plain
    view.__name__ = f"listing_{name}"
    view.__doc__ = doc
    decorated = listings_api.response(200, ListingSchema)(view)
    if reason:
        decorated = listings_api.arguments(ReasonSchema)(decorated)
    decorated = access(*roles)(decorated)
    listings_api.route(f"/listings/<ref>/{name}", methods=["POST"], endpoint=f"listing_{name}")(decorated)


_listing_action("submit", svc.submit_listing, MEMBERS, "Submit the draft for review (rights rules checked).",
                reason=False)
_listing_action("publish", svc.publish_listing, STAFF, "Publish: publicity runs N working days on the business "
                "calendar.", reason=False)
_listing_action("reject", svc.reject_listing, STAFF, "Send the listing back to the seller with a reason.", reason=True)
_listing_action("suspend", svc.suspend_listing, STAFF, "Suspend publicity (中止), keeping the days served.",
                reason=True)
_listing_action("resume", svc.resume_listing, STAFF, "Resume: total publicity reaches 20 working days with at "
                "least 10 more.", reason=True)
_listing_action("terminate", svc.terminate_listing, STAFF, "End the listing for good (终结).", reason=True)
_listing_action("withdraw", svc.withdraw_listing, MEMBERS, "Withdraw (only before anyone registers).", reason=True)
_listing_action("approve-below-appraisal", svc.approve_below_appraisal, STAFF,
                "Record the approval to relist below 90% of the appraisal.", reason=True)


@listings_api.route("/listings/<ref>/relist", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(TermsFields)
@listings_api.response(201, ListingSchema)
def relist(data: dict, ref: str):
    """Relist an unsold listing as a new draft, usually at a lower price; attempts are counted."""
    return svc.relist(get_session(), _actor(), ref, data, clock=get_clock())


@listings_api.route("/listings/<ref>/registrations", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(RegistrationCreateSchema)
@listings_api.response(201, RegistrationSchema)
def register(data: dict, ref: str):
    """Register interest during publicity, declaring the conditions are met; the deposit is then due."""
    return svc.register_interest(get_session(), _actor(), ref, data["declaration"], clock=get_clock())


@listings_api.route("/listings/<ref>/registrations", methods=["GET"])
@access(*SELLERS_AND_STAFF, "auditor")
@listings_api.response(200, RegistrationSchema(many=True))
def listing_registrations(ref: str):
    """Registrations of a listing (operators and auditors; the seller sees them without buyer names)."""
    from exchange.errors import PermissionDeniedError

    actor = _actor()
    listing = svc.get_listing_for(get_session(), actor, ref, clock=get_clock())
    if actor.can_read_all:
        return listing.registrations
    if actor.party_id != listing.seller_party_id:
        raise PermissionDeniedError("Only the seller and the exchange see registrations.", code="not_the_seller")
    # The seller learns how many and in what state, not who: buyer identities stay with the exchange.
    return [{"ref": r.ref, "listing_ref": listing.ref, "state": r.state, "deposit_fen": r.deposit_fen,
             "currency": r.currency, "deposit_due_at": r.deposit_due_at, "registered_at": r.registered_at,
             "declared_at": r.declared_at, "qualified_at": r.qualified_at,
             "declaration_outdated": r.declaration_outdated, "declaration": "", "buyer": {"ref": "", "name": ""}}
            for r in listing.registrations]


def _catch_up(listings) -> None:  # type: ignore[no-untyped-def]
    """Apply what is due (lapsed deposits, end of publicity) before showing registrations."""
    from listings.service.lifecycle import is_due

    session, clock = get_session(), get_clock()
    for listing in listings:
        if is_due(listing, clock):
            svc.apply_due(session, svc.load_listing(session, listing.ref, for_update=True), clock)


@listings_api.route("/registrations/mine", methods=["GET"])
@access(*MEMBERS)
@listings_api.response(200, RegistrationSchema(many=True))
def my_registrations():
    """Your party's registrations."""
    _catch_up({r.listing for r in svc.registrations_of(get_session(), require_user().party_id)})
    return svc.registrations_of(get_session(), require_user().party_id)


@listings_api.route("/registrations/<ref>", methods=["GET"])
@access(*MEMBERS, *READERS)
@listings_api.response(200, RegistrationSchema)
def get_registration(ref: str):
    """One registration (the buyer's own, or any for staff and auditors)."""
    reg = svc.visible_registration(_actor(), svc.load_registration(get_session(), ref))
    _catch_up([reg.listing])
    return reg


@listings_api.route("/registrations/<ref>/deposit-received", methods=["POST"])
@access(*STAFF)
@listings_api.response(200, RegistrationSchema)
def deposit_received(ref: str):
    """Operator confirms the deposit arrived when no bank notification matched it automatically;
    the receipt is recorded in the ledger and the deposit hold funded."""
    return svc.confirm_deposit_manually(get_session(), _actor(), ref, clock=get_clock())


@listings_api.route("/registrations/<ref>/decision", methods=["POST"])
@access(*STAFF)
@listings_api.arguments(DecisionSchema)
@listings_api.response(200, RegistrationSchema)
def decide(data: dict, ref: str):
    """Qualify the buyer, or reject it with a reason."""
    return svc.decide_registration(get_session(), _actor(), ref, qualify=data["qualify"], reason=data["reason"],
                                   clock=get_clock())


@listings_api.route("/registrations/<ref>/withdraw", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(WithdrawalSchema)
@listings_api.response(200, RegistrationSchema)
def withdraw_registration(data: dict, ref: str):
    """The buyer withdraws its registration. Qualified under the terms in force, it forfeits the deposit
    (`withdrawal_forfeits_deposit` says so beforehand; send `expect_forfeit` to have the withdrawal refused with
    `withdrawal_terms_changed` if that is no longer so). After the seller changed the published terms it may
    withdraw with the deposit refunded until publicity ends, unless it is qualified again under the new terms."""
    return svc.withdraw_registration(get_session(), _actor(), ref, data["reason"], clock=get_clock(),
                                     expect_forfeit=data["expect_forfeit"])


@listings_api.route("/registrations/<ref>/declaration", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(DeclarationSchema)
@listings_api.response(200, RegistrationSchema)
def renew_declaration(data: dict, ref: str):
    """The buyer declares again after the seller changed the qualification conditions
    (`declaration_outdated`); the exchange can then qualify it against the new conditions."""
    return svc.renew_declaration(get_session(), _actor(), ref, data["declaration"], clock=get_clock())


# -- open licences --------------------------------------------------------------------------
@listings_api.route("/open-licences", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, OpenLicenceSchema(many=True))
def list_open_licences():
    """Declared open licences in force."""
    import sqlalchemy as sa

    from listings.models import OpenLicenceDeclaration

    return list(get_session().scalars(sa.select(OpenLicenceDeclaration).where(
        OpenLicenceDeclaration.withdrawn_at.is_(None)).order_by(OpenLicenceDeclaration.id.desc()).limit(200)))


@listings_api.route("/open-licences", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(OpenLicenceCreateSchema)
@listings_api.response(201, OpenLicenceSchema)
def declare(data: dict):
    """Declare an open licence: fee (lump sum, royalty, or entry fee plus royalty) and term."""
    asset_ref = data.pop("asset_ref")
    return svc.declare_open_licence(get_session(), _actor(), asset_ref, svc.OpenLicenceInput(**data),
                                    clock=get_clock())


@listings_api.route("/open-licences/<ref>", methods=["GET"])
@access(PUBLIC)
@listings_api.response(200, OpenLicenceSchema)
def get_open_licence(ref: str):
    """One open-licence declaration."""
    return svc.load_declaration(get_session(), ref)


@listings_api.route("/open-licences/<ref>/take", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(TakeSchema)
@listings_api.response(201, TakingSchema)
def take(data: dict, ref: str):
    """Take the licence by written notice, without bidding."""
    return svc.take_open_licence(get_session(), _actor(), ref, data["notice"], clock=get_clock())


@listings_api.route("/open-licences/<ref>/withdraw", methods=["POST"])
@access(*MEMBERS)
@listings_api.arguments(ReasonSchema)
@listings_api.response(200, OpenLicenceSchema)
def withdraw_open_licence(data: dict, ref: str):
    """Withdraw the declaration; licences already taken stay in force."""
    return svc.withdraw_open_licence(get_session(), _actor(), ref, data["reason"], clock=get_clock())
