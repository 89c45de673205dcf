"""Seller pages: the six-step listing wizard, my listings with their next step, relisting,
withdrawal and the open-licence declaration.

The wizard keeps no state of its own: the asset and listing references in the
URL are the state, so a step can be bookmarked, left and resumed.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.auth import MEMBERS, access
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError, ValidationError
from exchange.http import refusal_text
from exchange.models import AuditEvent, Party
from exchange.money import Money
from listings import domain as d
from listings import service as svc
from listings.forms import (
    AssetForm,
    CostValuationForm,
    CoOwnerForm,
    EncumbranceForm,
    EvidenceForm,
    IncomeValuationForm,
    OpenLicenceForm,
    ReasonForm,
    RelistForm,
    TermsForm,
    field_choices,
)
from listings.models import Asset, Listing, OpenLicenceDeclaration
from listings.service.common import appraisal_required, facts_for
from listings.service.lifecycle import TERM_FIELDS, is_due
from listings.service.open_licences import GRANTED_PATENT_KINDS
from listings.views import listings_web
from listings.views.common import actor, auction_for, auction_url, countdown, parse_share_bp, show_error, today, yuan
from listings.views.public import _lang

STEPS = (
    (1, _l("Asset and number")),
    (2, _l("Owners and encumbrances")),
    (3, _l("Evidence")),
    (4, _l("Valuation and rights confirmation")),
    (5, _l("Listing terms")),
    (6, _l("Submit")),
)
EDITABLE = (d.ListingState.DRAFT, d.ListingState.REJECTED)
TERMS_ALIASES = {"price_fen": "price", "deposit_fen": "deposit", "increment_fen": "increment"}


# -- loading what the seller holds ----------------------------------------------------------------------
def _my_asset(ref: str) -> Asset:
    asset = svc.load_asset(get_session(), ref)
    if actor().party_id != asset.holder_party_id:
        raise NotFoundError(f"No asset {ref}.", code="asset_not_found")  # others' drafts are not acknowledged
    return asset


def _my_listing(asset: Asset, ref: str) -> Listing:
    listing = svc.load_listing(get_session(), ref)
    if listing.asset_id != asset.id or listing.seller_party_id != actor().party_id:
        raise NotFoundError(f"No listing {ref}.", code="listing_not_found")
    return listing


def _latest_listing(asset: Asset) -> Listing | None:
    return get_session().scalar(sa.select(Listing).where(Listing.asset_id == asset.id).order_by(Listing.id.desc())
                                .limit(1))


def _wizard(asset: Asset | None, step: int, listing: Listing | None = None) -> dict[str, Any]:
    """Where each step of the wizard is, for the step bar (None: not reachable yet)."""
    if asset is not None and listing is None:
        latest = _latest_listing(asset)
        listing = latest if latest is not None and latest.state in (*EDITABLE, d.ListingState.SUBMITTED) else None
    links: dict[int, str | None] = {1: url_for(".sell_asset", asset_ref=asset.ref) if asset else url_for(".sell_new")}
    for n, endpoint in ((2, ".sell_owners"), (3, ".sell_evidence"), (4, ".sell_valuation")):
        links[n] = url_for(endpoint, asset_ref=asset.ref) if asset else None
    if asset is None:
        links[5] = links[6] = None
    elif listing is not None and listing.state in EDITABLE:
        links[5] = url_for(".sell_terms", asset_ref=asset.ref, listing_ref=listing.ref)
        links[6] = url_for(".sell_submit", asset_ref=asset.ref, listing_ref=listing.ref)
    elif listing is not None:  # submitted: the terms are with the exchange, the summary stays readable
        links[5] = None
        links[6] = url_for(".sell_submit", asset_ref=asset.ref, listing_ref=listing.ref)
    else:
        links[5] = url_for(".sell_terms", asset_ref=asset.ref)
        links[6] = None
    return {"steps": [(n, title, links[n]) for n, title in STEPS], "current": step, "asset": asset,
            "listing": listing}


def _problems(asset: Asset, mode: d.TradingMode = d.TradingMode.ASSIGNMENT) -> list[d.Problem]:
    session = get_session()
    return d.listing_problems(facts_for(session, asset, asset.holder_party_id, mode), today())


# -- step 1: the asset -------------------------------------------------------------------------------------
@listings_web.get("/sell")
@access(*MEMBERS)
def sell_start():
    return redirect(url_for(".sell_new"))


@listings_web.route("/sell/new", methods=["GET", "POST"])
@access(*MEMBERS)
def sell_new():
    form = AssetForm()
    form.technical_field.choices = field_choices(_lang())
    status = 200
    if form.validate_on_submit():
        cmd = svc.AssetInput(
            kind=d.AssetKind(form.kind.data), title=form.title.data, technical_field=form.technical_field.data,
            number=(form.number.data or "").strip() or None, filing_date=form.filing_date.data,
            summary=form.summary.data or "", confidential_details=(form.confidential_details.data or "").strip() or None,
            employee_invention_of=(form.employee_invention_of.data or "").strip() or None)
        try:
            asset = svc.register_asset(get_session(), actor(), cmd, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err)
        else:
            flash(_("Asset %(ref)s registered. Next: its owners and any encumbrances.", ref=asset.ref), "ok")
            return redirect(url_for(".sell_owners", asset_ref=asset.ref))
    elif request.method == "POST":
        status = 422
        _check_number_too(form)
    return render_template("listings/wizard_asset.html", form=form, patent_kinds=sorted(d.PATENT_KINDS),
                           **_wizard(None, 1)), status


def _check_number_too(form: AssetForm) -> None:
    """When another field is wrong, still say at once whether the number is right (no second round trip)."""
    if form.number.errors or form.kind.errors or not form.kind.data:
        return
    try:
        kind = d.AssetKind(form.kind.data)
        on = today()
        # The filing date is checked on its own; here only the number's format and check character count.
        d.validate_asset_identifier(kind, form.number.data, form.filing_date.data or on, on)
    except DomainError as err:
        if err.field == "number":
            form.number.errors = list(form.number.errors) + [refusal_text(err)]
    except ValueError:
        pass


@listings_web.get("/sell/<asset_ref>")
@access(*MEMBERS)
def sell_asset(asset_ref: str):
    asset = _my_asset(asset_ref)
    return render_template("listings/wizard_asset_done.html", **_wizard(asset, 1))


# -- step 2: owners, consents and encumbrances ---------------------------------------------------------------
def _render_owners(asset: Asset, owner_form=None, enc_form=None, status: int = 200):  # type: ignore[no-untyped-def]
    asset = svc.load_asset(get_session(), asset.ref)  # fresh after a rolled-back attempt
    return render_template("listings/wizard_owners.html", owner_form=owner_form or CoOwnerForm(formdata=None),
                           enc_form=enc_form or EncumbranceForm(formdata=None), problems=_problems(asset),
                           **_wizard(asset, 2)), status


@listings_web.get("/sell/<asset_ref>/owners")
@access(*MEMBERS)
def sell_owners(asset_ref: str):
    return _render_owners(_my_asset(asset_ref))


@listings_web.post("/sell/<asset_ref>/owners")
@access(*MEMBERS)
def sell_add_owner(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = CoOwnerForm()
    if not form.validate_on_submit():
        return _render_owners(asset, owner_form=form, status=422)
    session = get_session()
    try:
        party_ref = form.party_ref.data.strip()
        if party_ref == asset.holder.ref:
            raise ValidationError(_("You hold this asset already; add the other co-owners here."),
                                  code="already_owner", field="party_ref")
        share_bp = parse_share_bp(form.share_percent.data)
        doc_id = None
        upload = form.consent_file.data
        if upload:
            limit = current_app.config["MAX_UPLOAD_BYTES"]
            doc = svc.upload_evidence(session, actor(), asset.ref, kind="consent", filename=upload.filename or "",
                                      data=upload.read(limit + 1), public=False,
                                      folder=current_app.config["UPLOAD_FOLDER"], max_bytes=limit, clock=get_clock())
            doc_id = doc.id
        svc.set_owner(session, actor(), asset.ref, party_ref, consented=doc_id is not None, share_bp=share_bp,
                      consent_document_id=doc_id, clock=get_clock())
    except DomainError as err:
        status = show_error(form, err, {"file": "consent_file", "consent_document_id": "consent_file",
                                        "share_bp": "share_percent"})
        return _render_owners(asset, owner_form=form, status=status)
    flash(_("Co-owner recorded with its written consent.") if doc_id else
          _("Co-owner recorded. Its written consent is still missing: upload it here before submitting."), "ok")
    return redirect(url_for(".sell_owners", asset_ref=asset.ref))


@listings_web.post("/sell/<asset_ref>/encumbrances")
@access(*MEMBERS)
def sell_add_encumbrance(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = EncumbranceForm()
    if not form.validate_on_submit():
        return _render_owners(asset, enc_form=form, status=422)
    cmd = svc.EncumbranceInput(
        kind=d.EncumbranceKind(form.kind.data), starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        holder_party_ref=(form.holder_party_ref.data or "").strip() or None,
        holder_name=(form.holder_name.data or "").strip(), consent_to_transfer=bool(form.consent_to_transfer.data),
        note=form.note.data or "")
    try:
        svc.add_encumbrance(get_session(), actor(), asset.ref, cmd, clock=get_clock())
    except DomainError as err:
        return _render_owners(asset, enc_form=form, status=show_error(form, err))
    flash(_("Encumbrance recorded."), "ok")
    return redirect(url_for(".sell_owners", asset_ref=asset.ref))


# -- step 3: evidence --------------------------------------------------------------------------------------
@listings_web.route("/sell/<asset_ref>/evidence", methods=["GET", "POST"])
@access(*MEMBERS)
def sell_evidence(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = EvidenceForm()
    status = 200
    if form.validate_on_submit():
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        try:
            doc = svc.upload_evidence(get_session(), actor(), asset.ref, kind=form.kind.data,
                                      filename=form.file.data.filename or "", data=form.file.data.read(limit + 1),
                                      public=bool(form.public.data), folder=current_app.config["UPLOAD_FOLDER"],
                                      max_bytes=limit, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err)
        else:
            flash(_("Uploaded %(name)s. SHA-256 fingerprint: %(sha)s", name=doc.filename, sha=doc.sha256), "ok")
            return redirect(url_for(".sell_evidence", asset_ref=asset.ref, uploaded=doc.id))
    elif request.method == "POST":
        status = 422
    asset = svc.load_asset(get_session(), asset_ref)
    return render_template("listings/wizard_evidence.html", form=form, uploaded=request.args.get("uploaded", type=int),
                           **_wizard(asset, 3)), status


# -- step 4: valuation and rights confirmation ------------------------------------------------------------------
def _render_valuation(asset: Asset, cost_form=None, income_form=None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    asset = svc.load_asset(session, asset.ref)
    return render_template(
        "listings/wizard_valuation.html", cost_form=cost_form or CostValuationForm(formdata=None),
        income_form=income_form or IncomeValuationForm(formdata=None),
        valuations=svc.latest_valuations(session, asset.id), band=svc.reference_band_for(session, asset.id),
        appraisal=svc.current_appraisal(session, asset.id, today()), appraisal_required=appraisal_required(asset.holder),
        problems=_problems(asset), methods=list(d.ValuationMethod), **_wizard(asset, 4)), status


@listings_web.get("/sell/<asset_ref>/valuation")
@access(*MEMBERS)
def sell_valuation(asset_ref: str):
    return _render_valuation(_my_asset(asset_ref))


@listings_web.post("/sell/<asset_ref>/valuation/cost")
@access(*MEMBERS)
def sell_value_cost(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = CostValuationForm()
    if not form.validate_on_submit():
        return _render_valuation(asset, cost_form=form, status=422)
    inputs = {"replacement_cost_fen": form.replacement_cost.fen or 0,
              "physical_depreciation_fen": form.physical_depreciation.fen or 0,
              "functional_depreciation_fen": form.functional_depreciation.fen or 0,
              "economic_depreciation_fen": form.economic_depreciation.fen or 0}
    try:
        v = svc.add_valuation(get_session(), actor(), asset.ref, d.ValuationMethod.COST, inputs, clock=get_clock())
    except DomainError as err:
        status = show_error(form, err, {k + "_fen": k for k in ("replacement_cost", "physical_depreciation",
                                                                 "functional_depreciation", "economic_depreciation")})
        return _render_valuation(asset, cost_form=form, status=status)
    flash(_("Cost-method value: %(value)s", value=Money(v.value_fen or 0).format()), "ok")
    return redirect(url_for(".sell_valuation", asset_ref=asset.ref))


@listings_web.post("/sell/<asset_ref>/valuation/income")
@access(*MEMBERS)
def sell_value_income(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = IncomeValuationForm()
    if not form.validate_on_submit():
        return _render_valuation(asset, income_form=form, status=422)
    try:
        revenue = []
        for line in (form.yearly_revenue.data or "").splitlines():
            if line.strip():
                try:
                    revenue.append(Money.parse(line.strip(), "CNY").fen)
                except DomainError:
                    raise ValidationError(_("Line “%(line)s” is not an amount in yuan.", line=line.strip()),
                                          code="invalid_valuation_input", field="yearly_revenue") from None
        inputs = {"yearly_revenue_fen": revenue, "royalty_share": form.royalty_share.data.strip(),
                  "discount_rate": form.discount_rate.data.strip(),
                  "economic_life_years": form.economic_life_years.data}
        v = svc.add_valuation(get_session(), actor(), asset.ref, d.ValuationMethod.INCOME, inputs, clock=get_clock())
    except DomainError as err:
        return _render_valuation(asset, income_form=form,
                                 status=show_error(form, err, {"yearly_revenue_fen": "yearly_revenue"}))
    flash(_("Income-method value: %(value)s", value=Money(v.value_fen or 0).format()), "ok")
    return redirect(url_for(".sell_valuation", asset_ref=asset.ref))


@listings_web.post("/sell/<asset_ref>/valuation/market")
@access(*MEMBERS)
def sell_value_market(asset_ref: str):
    from exchange.forms import EmptyForm

    asset = _my_asset(asset_ref)
    if not EmptyForm().validate_on_submit():
        return _render_valuation(asset, status=400)
    v = svc.add_valuation(get_session(), actor(), asset.ref, d.ValuationMethod.MARKET, {}, clock=get_clock())
    if v.value_fen is None:
        flash(_("Too few comparable deals at the exchange for a market value yet."), "error")
    else:
        flash(_("Market-method value (median of comparable deals): %(value)s", value=Money(v.value_fen).format()), "ok")
    return redirect(url_for(".sell_valuation", asset_ref=asset.ref))


@listings_web.post("/sell/<asset_ref>/review-request")
@access(*MEMBERS)
def sell_request_review(asset_ref: str):
    from exchange.forms import EmptyForm

    asset = _my_asset(asset_ref)
    if not EmptyForm().validate_on_submit():
        return _render_valuation(asset, status=400)
    svc.request_review(get_session(), actor(), asset.ref, clock=get_clock())
    flash(_("The exchange will review the rights of %(ref)s.", ref=asset.ref), "ok")
    return redirect(url_for(".sell_valuation", asset_ref=asset.ref))


# -- step 5: listing terms ------------------------------------------------------------------------------------
def _terms_from(form: TermsForm) -> svc.ListingTerms:
    mode = d.TradingMode(form.mode.data)
    licence = mode in d.LICENCE_MODES
    return svc.ListingTerms(
        title=form.title.data, mode=mode, price_fen=form.price.fen, deposit_fen=form.deposit.fen,
        increment_fen=form.increment.fen, description=form.description.data or "",
        licence_term_months=form.licence_term_months.data if licence else None,
        territory=(form.territory.data or "").strip() or None if licence else None,
        auction_format=form.auction_format.data, free_bidding_minutes=form.free_bidding_minutes.data,
        countdown_seconds=form.countdown_seconds.data, hard_end_minutes=form.hard_end_minutes.data,
        leader_may_raise=bool(form.leader_may_raise.data),
        qualification_conditions=form.qualification_conditions.data or "", disclosures=form.disclosures.data or "",
        publicity_working_days=form.publicity_working_days.data, allows_extension=bool(form.allows_extension.data),
        max_extensions=form.max_extensions.data)


def _fill_terms(form: TermsForm, listing: Listing) -> None:
    for name in ("title", "description", "licence_term_months", "territory", "auction_format",
                 "free_bidding_minutes", "countdown_seconds", "hard_end_minutes", "leader_may_raise",
                 "qualification_conditions", "disclosures", "publicity_working_days", "allows_extension",
                 "max_extensions"):
        getattr(form, name).data = getattr(listing, name)
    form.mode.data = listing.mode.value
    form.price.data, form.deposit.data, form.increment.data = (yuan(listing.price_fen), yuan(listing.deposit_fen),
                                                               yuan(listing.increment_fen))


@listings_web.route("/sell/<asset_ref>/terms", methods=["GET", "POST"])
@listings_web.route("/sell/<asset_ref>/terms/<listing_ref>", methods=["GET", "POST"])
@access(*MEMBERS)
def sell_terms(asset_ref: str, listing_ref: str | None = None):
    session = get_session()
    asset = _my_asset(asset_ref)
    listing = _my_listing(asset, listing_ref) if listing_ref else None
    if listing is None:
        latest = _latest_listing(asset)
        if latest is not None and latest.state in EDITABLE:
            return redirect(url_for(".sell_terms", asset_ref=asset.ref, listing_ref=latest.ref))
    form = TermsForm()
    status = 200
    if listing is not None and listing.state not in EDITABLE:
        flash(_("Listing %(ref)s is %(state)s: its terms are no longer edited here.", ref=listing.ref,
                state=_state_text(listing.state)), "error")
        return redirect(url_for(".my_listings"))
    if form.validate_on_submit():
        try:
            terms = _terms_from(form)
            if listing is None:
                listing = svc.create_listing(session, actor(), asset.ref, terms, clock=get_clock())
            else:
                svc.update_terms(session, actor(), listing.ref, {k: getattr(terms, k) for k in TERM_FIELDS},
                                 clock=get_clock())
        except DomainError as err:
            status = show_error(form, err, TERMS_ALIASES)
        else:
            flash(_("Terms of %(ref)s saved. Check them and submit.", ref=listing.ref), "ok")
            return redirect(url_for(".sell_submit", asset_ref=asset.ref, listing_ref=listing.ref))
    elif request.method == "POST":
        status = 422
    elif listing is not None:
        _fill_terms(form, listing)
    else:
        form.title.data = asset.title
    return render_template("listings/wizard_terms.html", form=form,
                           band=svc.reference_band_for(session, asset.id),
                           appraisal=svc.current_appraisal(session, asset.id, today()),
                           appraisal_required=appraisal_required(asset.holder),
                           licence_modes=sorted(m.value for m in d.LICENCE_MODES),
                           **_wizard(asset, 5, listing)), status


# -- step 6: submit ---------------------------------------------------------------------------------------------
@listings_web.route("/sell/<asset_ref>/submit/<listing_ref>", methods=["GET", "POST"])
@access(*MEMBERS)
def sell_submit(asset_ref: str, listing_ref: str):
    from exchange.forms import EmptyForm

    session = get_session()
    asset = _my_asset(asset_ref)
    listing = _my_listing(asset, listing_ref)
    form = EmptyForm()
    status = 200
    if form.validate_on_submit():
        try:
            svc.submit_listing(session, actor(), listing.ref, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err)
        else:
            flash(_("Listing %(ref)s submitted. The exchange reviews it before publication.", ref=listing.ref), "ok")
            return redirect(url_for(".my_listings", _anchor=listing.ref))
    elif request.method == "POST":
        status = 400
    return render_template("listings/wizard_submit.html", form=form, problems=_problems(asset, listing.mode),
                           appraisal=svc.current_appraisal(session, asset.id, today()),
                           appraisal_required=appraisal_required(asset.holder), editable=listing.state in EDITABLE,
                           **_wizard(asset, 6, listing)), status


# -- my listings --------------------------------------------------------------------------------------------------
def _state_text(state: d.ListingState) -> str:
    from listings.labels import label

    return label(state)


def _closing_reasons(listings: list[Listing]) -> dict[str, str]:
    """Why each listing was sent back or ended for good: the latest reason in the audit trail
    (the operator's, or the deal's when a seller that did not sign ended it)."""
    wanted = {d.ListingState.REJECTED: "listing.rejected", d.ListingState.TERMINATED: "listing.terminated"}
    pairs = {(x.ref, wanted[x.state]) for x in listings if x.state in wanted}
    if not pairs:
        return {}
    rows = get_session().execute(sa.select(AuditEvent.subject_ref, AuditEvent.action, AuditEvent.reason).where(
        AuditEvent.subject_type == "listing", AuditEvent.action.in_(set(wanted.values())),
        AuditEvent.subject_ref.in_({ref for ref, _ in pairs})).order_by(AuditEvent.seq))
    return {ref: reason or "" for ref, action, reason in rows if (ref, action) in pairs}


def waiting_for(listing: Listing, reasons: dict[str, str]) -> str:
    """What a listing is waiting for, in one sentence for its seller."""
    S = d.ListingState
    st, asset = listing.state, listing.asset
    if st == S.DRAFT:
        return _("Not submitted yet: check the terms and submit.")
    if st == S.SUBMITTED:
        return {
            d.AssetConfirmation.CONFIRMED: _("Waiting for the exchange to publish it."),
            d.AssetConfirmation.PENDING: _("Waiting for rights confirmation by the exchange."),
            d.AssetConfirmation.UNCONFIRMED: _("Waiting for you to ask for rights confirmation (step 4)."),
            d.AssetConfirmation.REJECTED: _("Rights confirmation was refused: add evidence and ask again (step 4)."),
        }[asset.confirmation]
    if st == S.REJECTED:
        return _("Sent back by the exchange: %(reason)s", reason=reasons.get(listing.ref) or "-")
    if st == S.PUBLISHED:
        q = svc.qualified_count(listing)
        end = listing.publicity_end.isoformat() if listing.publicity_end else "-"
        if q == 0:
            return _("Publicity ends on %(date)s; waiting for buyers to register and qualify (%(n)d registered).",
                     date=end, n=len(listing.registrations))
        return _("Publicity ends on %(date)s; %(q)d qualified buyer(s) so far.", date=end, q=q)
    if st == S.SUSPENDED:
        return _("Publicity suspended since %(date)s; waiting for the exchange to resume it.",
                 date=listing.suspended_on.isoformat() if listing.suspended_on else "-")
    if st == S.AWAITING_NEGOTIATION:
        return _("One buyer qualified: waiting for the negotiated transfer.")
    if st == S.AWAITING_AUCTION:
        return _("Two or more buyers qualified: waiting for the auction to start.")
    if st == S.IN_AUCTION:
        return _("The auction is running.")
    if st == S.SOLD:
        price = Money(listing.deal_price_fen).format() if listing.deal_price_fen else "-"
        return _("Sold for %(price)s: waiting for the contract and settlement.", price=price)
    if st == S.UNSOLD:
        return _("Ended unsold: you may relist it, usually at a lower price.")
    if st == S.TERMINATED:
        return _("Ended for good: %(reason)s", reason=reasons.get(listing.ref) or "-")
    return _("Withdrawn.")


@listings_web.get("/my/listings")
@access(*MEMBERS)
def my_listings():
    session = get_session()
    me = actor()
    listings = list(session.scalars(sa.select(Listing).where(Listing.seller_party_id == me.party_id)
                                    .order_by(Listing.id.desc())))
    for x in listings:
        if is_due(x, get_clock()):  # publicity ended and no job has run yet: show the real state
            svc.get_listing_for(session, me, x.ref, clock=get_clock())
    relisted = set(session.scalars(sa.select(Listing.previous_listing_id).where(
        Listing.previous_listing_id.in_([x.id for x in listings]))))
    reasons = _closing_reasons(listings)
    assets = list(session.scalars(sa.select(Asset).where(Asset.holder_party_id == me.party_id)
                                  .order_by(Asset.id.desc())))
    declared = {row.asset_id: row for row in session.scalars(sa.select(OpenLicenceDeclaration).where(
        OpenLicenceDeclaration.seller_party_id == me.party_id, OpenLicenceDeclaration.withdrawn_at.is_(None)))}
    on = today()
    rows = []
    for x in listings:
        standing = sum(1 for r in x.registrations if r.state in d.STANDING_REGISTRATION_STATES)
        auction = auction_for(session, x)
        rows.append({
            "listing": x, "waiting": waiting_for(x, reasons), "countdown": countdown(session, x, on),
            "can_edit": x.state in EDITABLE,
            "can_withdraw": d.ListingState.WITHDRAWN in d.TRANSITIONS[x.state] and standing == 0,
            "can_relist": x.state == d.ListingState.UNSOLD and x.id not in relisted,
            "auction_link": auction_url(auction) if auction is not None else None,
        })
    listed_assets = {x.asset_id for x in listings}
    from exchange.forms import EmptyForm

    return render_template("listings/my_listings.html", rows=rows, assets=assets, declared=declared,
                           listed_assets=listed_assets, granted_kinds=GRANTED_PATENT_KINDS, submit_form=EmptyForm())


def _seller_listing(ref: str) -> Listing:
    listing = svc.load_listing(get_session(), ref)
    if listing.seller_party_id != actor().party_id:
        raise NotFoundError(f"No listing {ref}.", code="listing_not_found")
    return listing


@listings_web.route("/my/listings/<ref>/withdraw", methods=["GET", "POST"])
@access(*MEMBERS)
def withdraw_listing(ref: str):
    listing = _seller_listing(ref)
    form = ReasonForm()
    status = 200
    if form.validate_on_submit():
        try:
            svc.withdraw_listing(get_session(), actor(), ref, form.reason.data, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err)
        else:
            flash(_("Listing %(ref)s withdrawn.", ref=ref), "ok")
            return redirect(url_for(".my_listings"))
    elif request.method == "POST":
        status = 422
    return render_template("listings/listing_action.html", listing=listing, form=form, action="withdraw",
                           heading=_("Withdraw listing %(ref)s", ref=ref),
                           explain=_("Withdrawal is possible only before anyone registers. It cannot be undone."),
                           button=_("Withdraw the listing"), back=url_for(".my_listings")), status


@listings_web.route("/my/listings/<ref>/relist", methods=["GET", "POST"])
@access(*MEMBERS)
def relist_listing(ref: str):
    listing = _seller_listing(ref)
    form = RelistForm()
    status = 200
    if form.validate_on_submit():
        changes = {"price_fen": form.price.fen, "deposit_fen": form.deposit.fen, "increment_fen": form.increment.fen}
        try:
            new = svc.relist(get_session(), actor(), ref, changes, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err, TERMS_ALIASES)
        else:
            flash(_("New draft %(ref)s created (attempt %(n)d). Check the terms and submit.", ref=new.ref,
                    n=new.attempt), "ok")
            return redirect(url_for(".sell_submit", asset_ref=new.asset.ref, listing_ref=new.ref))
    elif request.method == "POST":
        status = 422
    else:
        form.price.data, form.deposit.data, form.increment.data = (yuan(listing.price_fen), yuan(listing.deposit_fen),
                                                                   yuan(listing.increment_fen))
    return render_template("listings/relist.html", listing=listing, form=form,
                           appraisal=svc.current_appraisal(get_session(), listing.asset_id, today())), status


# -- open-licence declaration -------------------------------------------------------------------------------------
@listings_web.route("/sell/<asset_ref>/open-licence", methods=["GET", "POST"])
@access(*MEMBERS)
def declare_open_licence(asset_ref: str):
    asset = _my_asset(asset_ref)
    form = OpenLicenceForm()
    status = 200
    if form.validate_on_submit():
        cmd = svc.OpenLicenceInput(
            fee_kind=d.OpenLicenceFeeKind(form.fee_kind.data), term_start=form.term_start.data,
            term_end=form.term_end.data, lump_sum_fen=form.lump_sum.fen, entry_fee_fen=form.entry_fee.fen,
            royalty_rate=(form.royalty_rate.data or "").strip() or None)
        try:
            decl = svc.declare_open_licence(get_session(), actor(), asset.ref, cmd, clock=get_clock())
        except DomainError as err:
            status = show_error(form, err, {"lump_sum_fen": "lump_sum", "entry_fee_fen": "entry_fee",
                                            "fee": "fee_kind"})
        else:
            flash(_("Open licence %(ref)s declared: members may now take it by notice.", ref=decl.ref), "ok")
            return redirect(url_for(".open_licence", ref=decl.ref))
    elif request.method == "POST":
        status = 422
    elif form.term_start.data is None:
        form.term_start.data = today()
    holder: Party = asset.holder
    return render_template("listings/declare_open_licence.html", form=form, asset=asset, holder=holder,
                           eligible=asset.kind in GRANTED_PATENT_KINDS
                           and asset.confirmation == d.AssetConfirmation.CONFIRMED), status
