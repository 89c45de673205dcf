"""Helpers shared by the listings use cases: loading with locks, facts for the rules, permissions."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.calendar import BusinessCalendar
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, local_date
from exchange.errors import NotFoundError, PermissionDeniedError
from exchange.models import EntityType, Party
from listings import domain as d
from listings.models import Asset, Listing, OpenLicenceDeclaration

PUBLIC_STATES = frozenset({
    d.ListingState.PUBLISHED, d.ListingState.SUSPENDED, d.ListingState.AWAITING_NEGOTIATION,
    d.ListingState.AWAITING_AUCTION, d.ListingState.IN_AUCTION, d.ListingState.SOLD, d.ListingState.UNSOLD,
    d.ListingState.TERMINATED,
})
# Sellers that must file an appraisal and may not list below it (state-owned or public institutions).
APPRAISAL_REQUIRED_ENTITIES = frozenset({EntityType.university, EntityType.research_institute,
                                          EntityType.state_owned_enterprise})


def today(clock: Clock) -> date:
    return local_date(clock.now())


def cal(session: Session) -> BusinessCalendar:
    return get_calendar(session)


def lock(session: Session, stmt: sa.Select) -> sa.Select:
    """Row lock on PostgreSQL; SQLite's write lock (BEGIN IMMEDIATE) already serialises writers.

    ``populate_existing`` refreshes an object already in the session with the locked row's values.
    """
    return stmt.with_for_update().execution_options(populate_existing=True)


def load_asset(session: Session, ref: str, *, for_update: bool = False) -> Asset:
    stmt = sa.select(Asset).where(Asset.ref == ref)
    asset = session.scalar(lock(session, stmt) if for_update else stmt)
    if asset is None:
        raise NotFoundError(f"No asset {ref}.", code="asset_not_found")
    return asset


def load_listing(session: Session, ref: str, *, for_update: bool = False) -> Listing:
    stmt = sa.select(Listing).where(Listing.ref == ref)
    listing = session.scalar(lock(session, stmt) if for_update else stmt)
    if listing is None:
        raise NotFoundError(f"No listing {ref}.", code="listing_not_found")
    return listing


def load_party(session: Session, ref: str, field: str = "party_ref") -> Party:
    party = session.scalar(sa.select(Party).where(Party.ref == ref))
    if party is None:
        raise NotFoundError(f"No party {ref}.", code="party_not_found", field=field)
    return party


def require_holder(actor: Actor, asset: Asset) -> None:
    """Only the asset's holder (or staff) changes its records."""
    if actor.is_staff:
        return
    if actor.party_id != asset.holder_party_id:
        # 404, not 403: someone else's draft assets are not even acknowledged.
        raise NotFoundError(f"No asset {asset.ref}.", code="asset_not_found")


def require_seller(actor: Actor, listing: Listing) -> None:
    if actor.is_staff:
        return
    if actor.party_id != listing.seller_party_id:
        if listing.state in PUBLIC_STATES:
            raise PermissionDeniedError("Only the seller may do this.", code="not_the_seller")
        raise NotFoundError(f"No listing {listing.ref}.", code="listing_not_found")


def can_view_listing(actor: Actor | None, listing: Listing) -> bool:
    if listing.state in PUBLIC_STATES:
        return True
    return actor is not None and (actor.can_read_all or actor.party_id == listing.seller_party_id)


def open_licence_declared(session: Session, asset_id: int) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(OpenLicenceDeclaration).where(
        OpenLicenceDeclaration.asset_id == asset_id, OpenLicenceDeclaration.withdrawn_at.is_(None))) > 0


def facts_for(session: Session, asset: Asset, seller_party_id: int, mode: d.TradingMode) -> d.ListingFacts:
    """The asset's records in the shape the pure rules check."""
    return d.ListingFacts(
        seller_party_id=str(seller_party_id),
        mode=mode,
        owners=[d.Owner(party_id=str(o.party_id), share=None, consented=o.consented) for o in asset.owners],
        holdings=[d.RightHolding(party_id=str(h.party_id), right_type=h.right_type) for h in asset.holdings],
        employee_invention_of=str(asset.employee_invention_of_id) if asset.employee_invention_of_id else None,
        authorisations=[d.Authorisation(institution_party_id=str(a.institution_party_id),
                                        grantee_party_id=str(a.grantee_party_id),
                                        trading_modes=frozenset(d.TradingMode(m) for m in a.trading_modes),
                                        valid_from=a.valid_from, valid_until=a.valid_until)
                        for a in asset.authorisations],
        encumbrances=[d.Encumbrance(kind=e.kind, start=e.starts_on, end=_effective_end(e),
                                    holder_party_id=str(e.holder_party_id) if e.holder_party_id else None,
                                    consent_to_transfer=e.consent_to_transfer)
                      for e in asset.encumbrances],
        open_licence_declared=open_licence_declared(session, asset.id) if mode != d.TradingMode.OPEN_LICENCE else False,
        expiry=asset.expiry_date,
        lapsed=asset.lapsed,
    )


def related_party_ids(session: Session, party: Party) -> list[str]:
    if not party.related_group:
        return []
    ids = session.scalars(sa.select(Party.id).where(Party.related_group == party.related_group, Party.id != party.id))
    return [str(i) for i in ids]


def appraisal_required(seller: Party) -> bool:
    return seller.entity_type in APPRAISAL_REQUIRED_ENTITIES


def _effective_end(e) -> date | None:  # type: ignore[no-untyped-def]
    """A released encumbrance stops binding the day it is released."""
    from datetime import timedelta

    if e.released_on is not None:
        return e.released_on - timedelta(days=1)
    return e.ends_on
