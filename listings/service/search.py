"""The catalogue: filters and keyword search that works for Chinese text.

Keywords match as substrings of a lower-cased ``search_text`` column (title,
description, asset title and summary, number, field, seller, reference), so
机器人 finds 一种工业机器人关节减速器 on SQLite and PostgreSQL alike without a
word segmenter. Each keyword must match (AND). The order is stable: newest
publication first, then id. See the README for how this scales.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.errors import ValidationError
from listings import domain as d
from listings.models import Asset, Listing
from listings.service.common import PUBLIC_STATES

MAX_KEYWORDS = 5


@dataclass(frozen=True)
class CatalogueQuery:
    q: str = ""
    kind: d.AssetKind | None = None
    technical_field: str | None = None
    mode: d.TradingMode | None = None
    state: d.ListingState | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    ending_before: date | None = None  # publicity ending soon: last day on or before this date


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def catalogue_statement(query: CatalogueQuery) -> sa.Select:
    stmt = sa.select(Listing).where(Listing.state.in_([s.value for s in PUBLIC_STATES]))
    terms = [t for t in query.q.lower().split() if t][:MAX_KEYWORDS + 1]
    if len(terms) > MAX_KEYWORDS:
        raise ValidationError("At most %(n)d keywords.", params={"n": MAX_KEYWORDS}, code="too_many_keywords",
                              field="q")
    for t in terms:
        stmt = stmt.where(Listing.search_text.like(f"%{_escape_like(t)}%", escape="\\"))
    if query.kind or query.technical_field:
        stmt = stmt.join(Asset, Asset.id == Listing.asset_id)
        if query.kind:
            stmt = stmt.where(Asset.kind == query.kind)
        if query.technical_field:
            stmt = stmt.where(Asset.technical_field == query.technical_field)
    if query.mode:
        stmt = stmt.where(Listing.mode == query.mode)
    if query.state:
        if query.state not in PUBLIC_STATES:
            raise ValidationError("That state is not shown in the catalogue.", code="invalid_state_filter",
                                  field="state")
        stmt = stmt.where(Listing.state == query.state)
    if query.min_price_fen is not None:
        stmt = stmt.where(Listing.price_fen >= query.min_price_fen)
    if query.max_price_fen is not None:
        stmt = stmt.where(Listing.price_fen <= query.max_price_fen)
    if query.min_price_fen is not None and query.max_price_fen is not None and \
            query.min_price_fen > query.max_price_fen:
        raise ValidationError("The minimum price is above the maximum.", code="invalid_price_range",
                              field="min_price_fen")
    if query.ending_before:
        # Soonest end first: that is what the filter is for, and the (state, publicity_end)
        # index serves both the filter and the order.
        stmt = stmt.where(Listing.state == d.ListingState.PUBLISHED, Listing.publicity_end <= query.ending_before)
        return stmt.order_by(Listing.publicity_end, Listing.id)
    # Every listing in the catalogue has been published, so published_at is never NULL here;
    # a plain DESC lets the (published_at, id) index be scanned backwards.
    return stmt.order_by(Listing.published_at.desc(), Listing.id.desc())


def search_catalogue(session: Session, query: CatalogueQuery, page: int, per_page: int):  # type: ignore[no-untyped-def]
    from exchange.pagination import paginate

    return paginate(session, catalogue_statement(query), page, per_page)
