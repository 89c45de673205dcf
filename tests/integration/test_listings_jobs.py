"""The scheduled catch-up job for listings, called directly on the services' session.

``listings.jobs.end_due_publicity(session, clock)`` ends publicity and lapses unpaid
deposits that fell due; requests do the same on arrival, the job only catches up.
It must be safe to run twice and late.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from exchange.actors import Actor
from exchange.models import AuditEvent, Role
from listings import domain as d
from listings import service as svc
from listings.jobs import end_due_publicity
from listings.models import BuyerRegistration, Listing
from tests.factories import make_member, make_staff
from tests.helpers import CHECKLIST, PDF_BYTES, patent_no, shanghai


class World:
    """A seller, buyers and an operator acting through the services."""

    def __init__(self, session, clock, folder) -> None:  # type: ignore[no-untyped-def]
        self.session, self.clock, self.folder = session, clock, str(folder)
        self.seller = Actor.of(make_member(session, clock))
        self.buyers = [Actor.of(make_member(session, clock)) for _ in range(3)]
        self.op = Actor.of(make_staff(session, clock, Role.operator))
        self._serial = 0

    def published(self, **terms) -> Listing:  # type: ignore[no-untyped-def]
        s, c = self.session, self.clock
        self._serial += 1
        asset = svc.register_asset(s, self.seller, svc.AssetInput(
            kind=d.AssetKind.INVENTION_PATENT, title=f"一种机器人关节{self._serial}", technical_field="advanced_manufacturing",
            number=patent_no(self._serial), filing_date=date(2017, 8, 1)), clock=c)
        svc.upload_evidence(s, self.seller, asset.ref, kind="certificate", filename="cert.pdf", data=PDF_BYTES,
                            public=True, folder=self.folder, max_bytes=10**6, clock=c)
        svc.request_review(s, self.seller, asset.ref, clock=c)
        svc.review_asset(s, self.op, asset.ref, checklist=CHECKLIST, confirm=True, reasons="齐全", clock=c)
        values = dict(title=f"机器人关节{self._serial}转让", mode=d.TradingMode.ASSIGNMENT, price_fen=100_000_000,
                      deposit_fen=10_000_000, increment_fen=1_000_000)
        values.update(terms)
        listing = svc.create_listing(s, self.seller, asset.ref, svc.ListingTerms(**values), clock=c)
        svc.submit_listing(s, self.seller, listing.ref, clock=c)
        return svc.publish_listing(s, self.op, listing.ref, clock=c)

    def register(self, listing: Listing, buyer: int) -> BuyerRegistration:
        return svc.register_interest(self.session, self.buyers[buyer], listing.ref, "符合条件", clock=self.clock)

    def qualify(self, listing: Listing, buyer: int) -> BuyerRegistration:
        reg = self.register(listing, buyer)
        svc.mark_deposit_paid(self.session, self.op, reg.ref, clock=self.clock)
        return svc.decide_registration(self.session, self.op, reg.ref, qualify=True, reason="", clock=self.clock)


def state(session, ref: str) -> Listing:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(sa.select(Listing).where(Listing.ref == ref)).one()


def audit_count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def test_nothing_due_means_nothing_done(session, clock, tmp_path):
    w = World(session, clock, tmp_path)
    listing = w.published()
    w.register(listing, 0)
    n = audit_count(session)
    clock.set(shanghai(2026, 3, 30, 23, 59))  # the last minute of the last day
    assert svc.due_listing_refs(session, clock) == []
    assert end_due_publicity(session, clock) == 0
    assert audit_count(session) == n
    assert state(session, listing.ref).state == d.ListingState.PUBLISHED


def test_job_ends_publicity_and_a_second_run_does_nothing(session, clock, tmp_path):
    w = World(session, clock, tmp_path)
    nobody = w.published()  # published Mon Mar 2: ends Mar 30
    auction = w.published()
    w.qualify(auction, 0)
    w.qualify(auction, 1)
    negotiation = w.published()
    w.qualify(negotiation, 0)
    unpaid = w.register(negotiation, 2)
    unsold = w.published(max_extensions=0)
    clock.set(shanghai(2026, 3, 4))
    later = w.published()  # ends Apr 1: not due yet
    session.flush()

    clock.set(shanghai(2026, 3, 31, 0, 0))
    assert sorted(svc.due_listing_refs(session, clock)) == sorted([nobody.ref, auction.ref, negotiation.ref,
                                                                   unsold.ref])
    assert end_due_publicity(session, clock) == 4

    extended = state(session, nobody.ref)
    assert (extended.state, extended.extensions_used, extended.publicity_end) == (
        d.ListingState.PUBLISHED, 1, shanghai(2026, 4, 7).date())  # Mar 31, Apr 1-3, (4-6 off) Apr 7
    assert state(session, auction.ref).state == d.ListingState.IN_AUCTION  # awaiting_auction, then the auction opens
    assert state(session, negotiation.ref).state == d.ListingState.AWAITING_NEGOTIATION
    assert state(session, unsold.ref).state == d.ListingState.UNSOLD
    assert state(session, later.ref).state == d.ListingState.PUBLISHED
    assert session.get(BuyerRegistration, unpaid.id).state == d.RegistrationState.LAPSED
    actions = [e.action for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref.in_(
        [nobody.ref, auction.ref, negotiation.ref, unsold.ref])).order_by(AuditEvent.seq))
        if e.actor == "system:publicity"]
    assert sorted(actions) == sorted(["listing.extended", "listing.awaiting_auction", "listing.in_auction",
                                      "listing.awaiting_negotiation", "listing.unsold"])

    # Run again at once, and a little later: nothing more to do.
    n = audit_count(session)
    assert end_due_publicity(session, clock) == 0
    clock.set(shanghai(2026, 3, 31, 12, 0))
    assert end_due_publicity(session, clock) == 0
    assert audit_count(session) == n
    # A request arriving after the job finds the same result and changes nothing either.
    assert svc.get_listing_for(session, None, auction.ref, clock=clock).state == d.ListingState.IN_AUCTION
    assert audit_count(session) == n


def test_job_applies_only_the_lapse_when_a_deposit_deadline_passes_first(session, clock, tmp_path):
    w = World(session, clock, tmp_path)
    listing = w.published()
    reg = w.register(listing, 0)
    # The deadline comes from the registration; bring it forward to see the job lapse it on its own.
    reg.deposit_due_at = shanghai(2026, 3, 10, 0, 0)
    session.flush()
    clock.set(shanghai(2026, 3, 10, 0, 0))
    assert svc.due_listing_refs(session, clock) == [listing.ref]
    assert end_due_publicity(session, clock) == 1
    assert session.get(BuyerRegistration, reg.id).state == d.RegistrationState.LAPSED
    assert state(session, listing.ref).state == d.ListingState.PUBLISHED
    assert end_due_publicity(session, clock) == 0


def test_a_late_job_catches_up_on_every_deadline_that_passed(session, clock, tmp_path):
    w = World(session, clock, tmp_path)
    listing = w.published(max_extensions=2)
    # Nobody looked for weeks: the end (Mar 30) and both extensions (Apr 7, Apr 14) have passed.
    clock.set(shanghai(2026, 4, 20))
    assert end_due_publicity(session, clock) == 1
    after = state(session, listing.ref)
    assert (after.state, after.extensions_used, after.publicity_end) == (
        d.ListingState.UNSOLD, 2, shanghai(2026, 4, 14).date())
    extended = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == listing.ref,
                                                           AuditEvent.action == "listing.extended")
                               .order_by(AuditEvent.seq)).all()
    assert [e.after["publicity_end"] for e in extended] == ["2026-04-07", "2026-04-14"]
    assert end_due_publicity(session, clock) == 0


def test_suspended_listings_are_left_alone(session, clock, tmp_path):
    w = World(session, clock, tmp_path)
    listing = w.published()
    clock.set(shanghai(2026, 3, 12))
    svc.suspend_listing(session, w.op, listing.ref, "权属争议", clock=clock)
    clock.set(shanghai(2026, 4, 20))
    assert end_due_publicity(session, clock) == 0
    assert state(session, listing.ref).state == d.ListingState.SUSPENDED
    # Resumed on Apr 20 with 7 days served: 13 more working days: Apr 21-24, 27-30, (May 1-5 off)
    # May 6, 7, 8, the make-up Saturday May 9, and May 11.
    svc.resume_listing(session, w.op, listing.ref, "争议解决", clock=clock)
    assert state(session, listing.ref).publicity_end == shanghai(2026, 5, 11).date()
    clock.set(shanghai(2026, 5, 11, 23, 59))
    assert end_due_publicity(session, clock) == 0
    clock.set(shanghai(2026, 5, 11, 23, 59) + timedelta(minutes=1))  # 00:00 on May 12
    assert end_due_publicity(session, clock) == 1
    assert state(session, listing.ref).extensions_used == 1
