"""Pricing (确价): valuations by cost, income and market methods, appraisal reports, reference band."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock
from exchange.errors import ValidationError
from exchange.jsonable import jsonable
from exchange.money import Money
from exchange.refs import next_reference
from exchange.text import clean_text
from listings import domain as d
from listings.models import Appraisal, Asset, Listing, Valuation
from listings.service.common import load_asset, require_holder, today

MAX_PROJECTION_YEARS = 30


def _money(value: Any, field: str) -> Money:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a whole, non-negative number of fen.", code="invalid_amount",
                              field=field)
    return Money(value)


def _rate(value: Any, field: str) -> Decimal:
    try:
        r = Decimal(str(value))
    except Exception:  # noqa: BLE001
        raise ValidationError("%(field)s must be a decimal number such as 0.25.", params={"field": field},
                              code="invalid_rate", field=field) from None
    if isinstance(value, float) or not r.is_finite() or r < 0 or r > 1:
        raise ValidationError("%(field)s must be given as text between 0 and 1, e.g. \"0.25\".",
                              params={"field": field}, code="invalid_rate", field=field)
    return r


def comparable_prices(session: Session, asset: Asset) -> list[Money]:
    """Prices of the exchange's own completed deals of the same kind and technical field."""
    rows = session.scalars(
        sa.select(Listing.deal_price_fen).join(Asset, Asset.id == Listing.asset_id)
        .where(Listing.state == d.ListingState.SOLD, Listing.deal_price_fen.is_not(None),
               Asset.kind == asset.kind, Asset.technical_field == asset.technical_field, Asset.id != asset.id)
        .order_by(Listing.closed_at.desc()).limit(50)
    )
    return [Money(v) for v in rows]


def add_valuation(session: Session, actor: Actor, asset_ref: str, method: d.ValuationMethod, inputs: dict[str, Any],
                  *, clock: Clock) -> Valuation:
    """Value an asset by one method, storing the inputs and the full result."""
    asset = load_asset(session, asset_ref)
    require_holder(actor, asset)
    stored_inputs: dict[str, Any]
    if method == d.ValuationMethod.COST:
        res = d.cost_method(_money(inputs.get("replacement_cost_fen"), "replacement_cost_fen"),
                            _money(inputs.get("physical_depreciation_fen", 0), "physical_depreciation_fen"),
                            _money(inputs.get("functional_depreciation_fen", 0), "functional_depreciation_fen"),
                            _money(inputs.get("economic_depreciation_fen", 0), "economic_depreciation_fen"))
        value = res.value
        stored_inputs = {k: inputs.get(k, 0) for k in ("replacement_cost_fen", "physical_depreciation_fen",
                                                       "functional_depreciation_fen", "economic_depreciation_fen")}
    elif method == d.ValuationMethod.INCOME:
        revenue = inputs.get("yearly_revenue_fen")
        if not isinstance(revenue, list) or not revenue or len(revenue) > MAX_PROJECTION_YEARS:
            raise ValidationError("yearly_revenue_fen is a list of 1-%(max)d yearly amounts.",
                                  params={"max": MAX_PROJECTION_YEARS}, code="invalid_valuation_input",
                                  field="yearly_revenue_fen")
        life = inputs.get("economic_life_years")
        if isinstance(life, bool) or not isinstance(life, int) or not 1 <= life <= 50:
            raise ValidationError("economic_life_years is a whole number of years (1-50).",
                                  code="invalid_valuation_input", field="economic_life_years")
        if asset.expiry_date is not None:
            remaining = d.remaining_term_years(today(clock), asset.expiry_date)
        else:
            remaining = Decimal(life)  # no legal term (technical secret): economic life alone bounds it
        res = d.income_method([_money(v, "yearly_revenue_fen") for v in revenue],
                              _rate(inputs.get("royalty_share"), "royalty_share"),
                              _rate(inputs.get("discount_rate"), "discount_rate"), life, remaining)
        value = res.value
        stored_inputs = {"yearly_revenue_fen": revenue, "royalty_share": str(inputs.get("royalty_share")),
                         "discount_rate": str(inputs.get("discount_rate")), "economic_life_years": life,
                         "remaining_term_years": str(remaining)}
    elif method == d.ValuationMethod.MARKET:
        comps = comparable_prices(session, asset)
        res = d.market_method(comps)
        value = res.median if res.sufficient else None
        stored_inputs = {"comparables_fen": [c.fen for c in comps], "kind": asset.kind,
                         "technical_field": asset.technical_field}
    else:  # pragma: no cover - enum is closed
        raise ValidationError("Unknown method.", code="invalid_valuation_method")
    now = clock.now()
    v = Valuation(ref=next_reference(session, "V", now.year), asset_id=asset.id, method=method,
                  inputs=jsonable(stored_inputs), result=jsonable(res), value_fen=value.fen if value else None,
                  created_by_id=actor.user_id, created_at=now)
    session.add(v)
    session.flush()
    record_event(session, actor=actor, action="asset.valued", subject_type="asset", subject_ref=asset.ref,
                 after={"valuation": v.ref, "method": method, "value_fen": v.value_fen}, clock=clock)
    return v


@dataclass(frozen=True)
class AppraisalInput:
    appraiser: str
    report_number: str
    value_fen: int
    report_date: date
    document_id: int | None = None


def record_appraisal(session: Session, actor: Actor, asset_ref: str, cmd: AppraisalInput, *,
                     clock: Clock) -> Appraisal:
    """File an appraisal report by a licensed appraiser (operators record it from the filed report)."""
    asset = load_asset(session, asset_ref)
    if cmd.report_date > today(clock):
        raise ValidationError("The report date is in the future.", code="invalid_dates", field="report_date")
    a = Appraisal(asset_id=asset.id, appraiser=clean_text(cmd.appraiser, "appraiser", max_length=200),
                  report_number=clean_text(cmd.report_number, "report_number", max_length=60),
                  value_fen=_money(cmd.value_fen, "value_fen").fen, report_date=cmd.report_date,
                  document_id=cmd.document_id, recorded_by_id=actor.user_id, recorded_at=clock.now())
    if a.value_fen <= 0:
        raise ValidationError("The appraised value must be positive.", code="invalid_amount", field="value_fen")
    session.add(a)
    session.flush()
    record_event(session, actor=actor, action="asset.appraised", subject_type="asset", subject_ref=asset.ref,
                 after={"appraiser": a.appraiser, "value_fen": a.value_fen, "report_date": a.report_date}, clock=clock)
    return a


def current_appraisal(session: Session, asset_id: int, on: date) -> Appraisal | None:
    """The newest appraisal still valid on ``on`` (valid one year from its report date)."""
    rows = session.scalars(sa.select(Appraisal).where(Appraisal.asset_id == asset_id)
                           .order_by(Appraisal.report_date.desc(), Appraisal.id.desc()))
    for a in rows:
        if d.appraisal_valid(a.report_date, on):
            return a
    return None


def latest_valuations(session: Session, asset_id: int) -> dict[d.ValuationMethod, Valuation]:
    out: dict[d.ValuationMethod, Valuation] = {}
    for v in session.scalars(sa.select(Valuation).where(Valuation.asset_id == asset_id).order_by(Valuation.id)):
        out[v.method] = v
    return out


def reference_band_for(session: Session, asset_id: int) -> tuple[Money, Money] | None:
    """The reference price band from the latest valuations, or None when there are none usable."""
    vals = latest_valuations(session, asset_id)
    cost = Money(vals[d.ValuationMethod.COST].value_fen) if d.ValuationMethod.COST in vals else None
    income = Money(vals[d.ValuationMethod.INCOME].value_fen) if d.ValuationMethod.INCOME in vals else None
    market = None
    mv = vals.get(d.ValuationMethod.MARKET)
    if mv is not None:
        market = d.market_method([Money(c) for c in mv.inputs.get("comparables_fen", [])])
    try:
        band = d.reference_band(cost, income, market)
    except ValidationError:
        return None
    return band.low, band.high
