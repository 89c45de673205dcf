"""Pages for everyone: home sections, the catalogue, a listing, statistics, open licences."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from exchange.auth import MEMBERS, PUBLIC, access
from exchange.clock import local_date
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, NotFoundError
from exchange.money import Money
from exchange.views import HOME_SECTIONS
from listings import domain as d
from listings import service as svc
from listings.charts import bar_chart, column_chart
from listings.fields import field_label
from listings.forms import CatalogueForm, NoticeForm, RegisterInterestForm, field_choices, with_blank
from listings.labels import label
from listings.models import Asset, BuyerRegistration, Listing, OpenLicenceDeclaration, OpenLicenceTaking
from listings.service.common import appraisal_required
from listings.views import listings_web
from listings.views.common import auction_for, auction_url, countdown, maybe_actor, show_error, today

PER_PAGE = 12
LIVE_DEAL_STATES = ("struck", "in_force", "completed")  # cancelled and defaulted deals are not deals


def _lang() -> str:
    return "en" if str(get_locale() or "zh") == "en" else "zh"


# -- statistics shared by the home page and /statistics ------------------------------------------
def _deal_model():  # type: ignore[no-untyped-def]
    """The auctions package's Deal, or None when that package is not installed."""
    try:
        from auctions.models import Deal
    except ImportError:
        return None
    return Deal


def headline(session: Session) -> dict[str, Any]:
    in_publicity = session.scalar(sa.select(sa.func.count()).select_from(Listing)
                                  .where(Listing.state == d.ListingState.PUBLISHED.value)) or 0
    qualified = session.scalar(sa.select(sa.func.count(sa.distinct(BuyerRegistration.buyer_party_id)))
                               .where(BuyerRegistration.state == d.RegistrationState.QUALIFIED.value)) or 0
    out: dict[str, Any] = {"in_publicity": in_publicity, "qualified_buyers": qualified, "deals": None,
                           "deal_value_fen": None}
    Deal = _deal_model()
    if Deal is not None:
        n, total = session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Deal.price_fen), 0))
                                   .where(Deal.state.in_(LIVE_DEAL_STATES), Deal.currency == "CNY")).one()
        out["deals"], out["deal_value_fen"] = n, int(total)
    return out


def _months_back(on: date, n: int) -> list[tuple[int, int]]:
    y, m = on.year, on.month
    months = []
    for _i in range(n):
        months.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(months))


def deal_series(session: Session, on: date) -> dict[str, Any] | None:
    """Deal value by month (last 12 months, Shanghai time), by technical field and deals by mode."""
    Deal = _deal_model()
    if Deal is None:
        return None
    live = (Deal.state.in_(LIVE_DEAL_STATES), Deal.currency == "CNY")
    months = _months_back(on, 12)
    from exchange.clock import local_midnight_utc

    since = local_midnight_utc(date(months[0][0], months[0][1], 1))
    by_month: dict[tuple[int, int], int] = defaultdict(int)
    for struck_at, price in session.execute(sa.select(Deal.struck_at, Deal.price_fen).where(*live,
                                                                                             Deal.struck_at >= since)):
        local = local_date(struck_at)
        by_month[(local.year, local.month)] += price
    by_field = session.execute(
        sa.select(Asset.technical_field, sa.func.count(), sa.func.sum(Deal.price_fen))
        .join(Asset, Asset.id == Deal.asset_id).where(*live)
        .group_by(Asset.technical_field).order_by(sa.func.sum(Deal.price_fen).desc())).all()
    by_mode = session.execute(sa.select(Deal.mode, sa.func.count(), sa.func.sum(Deal.price_fen)).where(*live)
                              .group_by(Deal.mode).order_by(sa.func.count().desc())).all()
    return {"months": [(f"{y}-{m:02d}", by_month.get((y, m), 0)) for y, m in months],
            "fields": [(code, int(n), int(total or 0)) for code, n, total in by_field],
            "modes": [(d.TradingMode(mode), int(n), int(total or 0)) for mode, n, total in by_mode]}


def _compact_yuan(fen: int) -> str:
    """Axis labels: 万元 in Chinese, k/M yuan in English (integer arithmetic, one decimal, rounded)."""
    yuan = fen // 100

    def short(unit: int, suffix: str) -> str:
        tenths = (yuan * 10 + unit // 2) // unit
        whole, tenth = divmod(tenths, 10)
        return f"{whole:,}{suffix}" if tenth == 0 else f"{whole:,}.{tenth}{suffix}"

    if _lang() == "zh":
        return short(10_000, "万") if yuan >= 10_000 else f"{yuan:,}"
    if yuan >= 1_000_000:
        return short(1_000_000, "M")
    return short(1_000, "k") if yuan >= 1_000 else f"{yuan:,}"


# -- home page sections --------------------------------------------------------------------------------
def _home_stats() -> tuple[str, dict[str, Any]]:
    return "listings/home_stats.html", {"stats": headline(get_session())}


def _home_publicity() -> tuple[str, dict[str, Any]]:
    session = get_session()
    latest = list(session.scalars(sa.select(Listing).where(Listing.state == d.ListingState.PUBLISHED.value)
                                  .order_by(Listing.published_at.desc(), Listing.id.desc()).limit(6)))
    on = today()
    return "listings/home_publicity.html", {"listings": latest,
                                            "countdowns": {x.id: countdown(session, x, on) for x in latest}}


HOME_SECTIONS.extend([_home_stats, _home_publicity])


# -- the catalogue ----------------------------------------------------------------------------------------
@listings_web.get("/listings")
@access(PUBLIC)
def catalogue():
    session = get_session()
    form = CatalogueForm(formdata=request.args)
    form.technical_field.choices = with_blank(field_choices(_lang()))
    status, items, meta = 200, [], {"page": 1, "pages": 1, "total": 0}
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    if form.validate():
        ending = form.ending_within.data
        query = svc.CatalogueQuery(
            q=form.q.data or "", kind=d.AssetKind(form.kind.data) if form.kind.data else None,
            technical_field=form.technical_field.data or None,
            mode=d.TradingMode(form.mode.data) if form.mode.data else None,
            state=d.ListingState(form.state.data) if form.state.data else None,
            min_price_fen=form.min_price.fen, max_price_fen=form.max_price.fen,
            ending_before=today() + timedelta(days=ending) if ending is not None else None)
        try:
            items, meta = svc.search_catalogue(session, query, page, PER_PAGE)
        except DomainError as err:
            status = show_error(form, err, {"min_price_fen": "min_price", "max_price_fen": "max_price"})
    else:
        status = 422
    on = today()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("listings/catalogue.html", form=form, items=items, meta=meta, args=args,
                           filtered=bool(args), countdowns={x.id: countdown(session, x, on) for x in items}), status


# -- one listing ------------------------------------------------------------------------------------------
def render_listing(ref: str, register_form: RegisterInterestForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    """The listing page; also re-rendered with the registration form's errors."""
    session = get_session()
    viewer = maybe_actor()
    listing = svc.get_listing_for(session, viewer, ref, clock=get_clock())
    asset = listing.asset
    on = today()
    insider = viewer is not None and (viewer.can_read_all or viewer.party_id == asset.holder_party_id)
    is_seller = viewer is not None and viewer.party_id == listing.seller_party_id
    is_member = viewer is not None and viewer.party_id is not None and not viewer.can_read_all
    mine = None
    if viewer is not None and viewer.party_id is not None:
        mine = next((r for r in listing.registrations if r.buyer_party_id == viewer.party_id), None)
    documents = [doc for doc in asset.documents if insider or doc.public]
    band = svc.reference_band_for(session, asset.id)
    auction = auction_for(session, listing)
    can_register = (listing.state == d.ListingState.PUBLISHED and is_member and not is_seller and mine is None)
    if can_register and register_form is None:
        register_form = RegisterInterestForm(formdata=None)
    return render_template(
        "listings/listing.html", listing=listing, asset=asset, insider=insider, is_seller=is_seller,
        is_staff=viewer is not None and viewer.is_staff,
        is_member=is_member, mine=mine, documents=documents, band=band,
        appraisal=svc.current_appraisal(session, asset.id, on), appraisal_required=appraisal_required(listing.seller),
        countdown=countdown(session, listing, on), auction=auction,
        auction_link=auction_url(auction) if auction is not None else None,
        can_register=can_register, register_form=register_form,
        registered_count=len(listing.registrations), qualified_count=svc.qualified_count(listing),
        max_deposit=d.max_deposit(Money(listing.price_fen))), status


@listings_web.get("/listings/<ref>")
@access(PUBLIC)
def listing_page(ref: str):
    return render_listing(ref)


# -- statistics -----------------------------------------------------------------------------------------
@listings_web.get("/statistics")
@access(PUBLIC)
def statistics():
    session = get_session()
    series = deal_series(session, today())
    charts = {}
    if series is not None:
        money = lambda fen: "¥" + _compact_yuan(fen)  # noqa: E731
        no_deals = _("No deals yet")
        charts["month"] = column_chart(_("Deal value by month"), series["months"], value_label=money,
                                       axis_title=_("Deal value (yuan)"), empty_text=no_deals)
        charts["field"] = bar_chart(_("Deal value by technical field"),
                                    [(field_label(code, _lang()), total) for code, _n, total in series["fields"]],
                                    value_label=money, axis_title=_("Deal value (yuan)"), empty_text=no_deals)
        charts["mode"] = bar_chart(_("Deals by trading mode"), [(label(mode), n) for mode, n, _t in series["modes"]],
                                   value_label=lambda n: f"{n:,}", axis_title=_("Number of deals"),
                                   empty_text=no_deals)
    return render_template("listings/statistics.html", stats=headline(session), series=series, charts=charts)


# -- open licences ------------------------------------------------------------------------------------------
def _declarations_in_force(session: Session, on: date) -> list[OpenLicenceDeclaration]:
    return list(session.scalars(sa.select(OpenLicenceDeclaration).where(
        OpenLicenceDeclaration.withdrawn_at.is_(None), OpenLicenceDeclaration.term_end >= on)
        .order_by(OpenLicenceDeclaration.id.desc()).limit(200)))


@listings_web.get("/open-licences")
@access(PUBLIC)
def open_licences():
    session = get_session()
    return render_template("listings/open_licences.html", declarations=_declarations_in_force(session, today()))


def _render_open_licence(ref: str, form: NoticeForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    session = get_session()
    decl = svc.load_declaration(session, ref)
    viewer = maybe_actor()
    is_holder = viewer is not None and viewer.party_id == decl.seller_party_id
    if decl.withdrawn_at is not None and not is_holder and not (viewer and viewer.can_read_all):
        raise NotFoundError(f"No open licence {ref}.", code="open_licence_not_found")
    taken = None
    if viewer is not None and viewer.party_id is not None:
        taken = session.scalar(sa.select(OpenLicenceTaking).where(OpenLicenceTaking.declaration_id == decl.id,
                                                                 OpenLicenceTaking.licensee_party_id == viewer.party_id))
    takings = session.scalar(sa.select(sa.func.count()).select_from(OpenLicenceTaking)
                             .where(OpenLicenceTaking.declaration_id == decl.id))
    can_take = (viewer is not None and viewer.party_id is not None and not viewer.can_read_all and not is_holder
                and taken is None and decl.withdrawn_at is None and decl.term_end >= today())
    if can_take and form is None:
        form = NoticeForm(formdata=None)  # a form passed in carries a refusal and is shown with it
    return render_template("listings/open_licence.html", decl=decl, asset=decl.asset, is_holder=is_holder,
                           taken=taken, takings=takings, can_take=can_take, form=form), status


@listings_web.get("/open-licences/<ref>")
@access(PUBLIC)
def open_licence(ref: str):
    return _render_open_licence(ref)


@listings_web.post("/open-licences/<ref>/take")
@access(*MEMBERS)
def take_open_licence(ref: str):
    from listings.views.common import actor

    form = NoticeForm()
    if form.validate_on_submit():
        try:
            svc.take_open_licence(get_session(), actor(), ref, form.notice.data, clock=get_clock())
        except DomainError as err:
            if err.field is None and isinstance(err, NotFoundError):
                raise
            return _render_open_licence(ref, form, show_error(form, err))
        flash(_("You now hold this open licence. The exchange will send you the licence record and payment "
                "instructions."), "ok")
        return redirect(url_for(".open_licence", ref=ref))
    return _render_open_licence(ref, form, 422)
