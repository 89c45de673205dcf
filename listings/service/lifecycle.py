"""Listings (挂牌) and their lifecycle: draft → submitted → published (publicity) → outcome,
with extension, suspension/resumption, termination, withdrawal and relisting."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock, end_of_local_day_utc
from exchange.errors import NotFoundError, RuleViolationError, StateError, ValidationError
from exchange.models import Party
from exchange.money import Money
from exchange.notifications import deadline as shown_deadline, notify
from exchange.refs import next_reference
from exchange.text import clean_text
import listings.notices  # noqa: F401  (registers the topics)
from listings import domain as d
from listings.models import Asset, BuyerRegistration, Listing
from listings.service.common import (
    appraisal_required,
    cal,
    facts_for,
    load_asset,
    load_listing,
    require_holder,
    require_seller,
    today,
)
from listings.service.pricing import current_appraisal

AUCTION_FORMATS = ("ascending", "sealed", "descending")
# Hooks other packages register to react when publicity ends: fn(session, listing, action, clock).
ON_PUBLICITY_END: list[Callable[..., None]] = []


@dataclass
class ListingTerms:
    """The terms a seller sets; every field is checked by ``_check_terms``."""

    title: str
    mode: d.TradingMode
    price_fen: int
    deposit_fen: int
    increment_fen: int
    description: str = ""
    licence_term_months: int | None = None
    territory: str | None = None
    auction_format: str = "ascending"
    free_bidding_minutes: int = 60
    countdown_seconds: int = 300
    hard_end_minutes: int | None = None
    leader_may_raise: bool = False
    qualification_conditions: str = ""
    disclosures: str = ""
    publicity_working_days: int = d.DEFAULT_PUBLICITY_WORKING_DAYS
    allows_extension: bool = True
    max_extensions: int = 3


TERM_FIELDS = tuple(f.name for f in fields(ListingTerms))


def _check_terms(t: ListingTerms) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["title"] = clean_text(t.title, "title", max_length=200)
    out["description"] = clean_text(t.description or "", "description", max_length=10000, min_length=0,
                                    multiline=True)
    if t.mode == d.TradingMode.OPEN_LICENCE:
        raise ValidationError("Open licences are declared, not listed for bidding.", code="use_open_licence",
                              field="mode")
    out["mode"] = t.mode
    for name in ("price_fen", "deposit_fen", "increment_fen"):
        v = getattr(t, name)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v >= 10**15:
            raise ValidationError(f"{name} must be a positive whole number of fen.", code="invalid_amount", field=name)
        out[name] = v
    price = Money(t.price_fen)
    d.check_deposit(Money(t.deposit_fen), price)
    if t.increment_fen > t.price_fen:
        raise ValidationError("The increment is larger than the price.", code="invalid_increment",
                              field="increment_fen")
    if t.mode in d.LICENCE_MODES:
        if not t.licence_term_months or not 1 <= t.licence_term_months <= 600:
            raise ValidationError("A licence needs a term in months (1-600).", code="licence_term_required",
                                  field="licence_term_months")
        out["licence_term_months"] = t.licence_term_months
        out["territory"] = clean_text(t.territory or "", "territory", max_length=200)
    else:
        out["licence_term_months"], out["territory"] = None, None
    if t.auction_format not in AUCTION_FORMATS:
        raise ValidationError(f"auction_format is one of {AUCTION_FORMATS}.", code="invalid_auction_format",
                              field="auction_format")
    out["auction_format"] = t.auction_format
    for name, lo, hi in (("free_bidding_minutes", 1, 7 * 24 * 60), ("countdown_seconds", 30, 3600),
                         ("publicity_working_days", d.DEFAULT_PUBLICITY_WORKING_DAYS, 120), ("max_extensions", 0, 20)):
        v = getattr(t, name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValidationError("%(name)s must be between %(lo)d and %(hi)d.", params={"name": name, "lo": lo, "hi": hi},
                                  code="out_of_range", field=name)
        out[name] = v
    if t.hard_end_minutes is not None and not t.free_bidding_minutes < t.hard_end_minutes <= 14 * 24 * 60:
        raise ValidationError("The hard end comes after the free-bidding period.", code="out_of_range",
                              field="hard_end_minutes")
    out["hard_end_minutes"] = t.hard_end_minutes
    out["leader_may_raise"] = bool(t.leader_may_raise)
    out["allows_extension"] = bool(t.allows_extension)
    out["qualification_conditions"] = clean_text(t.qualification_conditions or "", "qualification_conditions",
                                                 max_length=5000, min_length=0, multiline=True)
    out["disclosures"] = clean_text(t.disclosures or "", "disclosures", max_length=10000, min_length=0, multiline=True)
    return out


def _search_text(listing: Listing, asset: Asset, seller: Party) -> str:
    # Lower-cased so LIKE matches case-insensitively on both SQLite and PostgreSQL.
    parts = [listing.title, listing.description, asset.title, asset.summary or "", asset.number or "",
             asset.technical_field, seller.name, listing.ref]
    return " ".join(parts).lower()


def _check_price_rules(session: Session, listing: Listing, asset: Asset, seller: Party, on: date) -> None:
    appraisal = current_appraisal(session, asset.id, on)
    d.check_listing_price(Money(listing.price_fen), Money(appraisal.value_fen) if appraisal else None,
                          appraisal_required(seller), listing.attempt - 1, listing.below_appraisal_approval is not None)


def _audit(session: Session, actor: Actor, listing: Listing, action: str, clock: Clock, *, before: Any = None,
           after: Any = None, reason: str | None = None) -> None:
    record_event(session, actor=actor, action=f"listing.{action}", subject_type="listing", subject_ref=listing.ref,
                 before=before, after=after, reason=reason, clock=clock)


def _transition(session: Session, actor: Actor, listing: Listing, to: d.ListingState, clock: Clock, *,
                reason: str | None = None, extra: dict[str, Any] | None = None) -> None:
    src = listing.state
    d.check_transition(src, to)
    listing.state = to
    listing.updated_at = clock.now()
    if to in d.TERMINAL_STATES or to == d.ListingState.UNSOLD:
        listing.closed_at = clock.now()
    session.flush()
    _audit(session, actor, listing, to.value, clock, before={"state": src}, after={"state": to, **(extra or {})},
           reason=reason)


def create_listing(session: Session, actor: Actor, asset_ref: str, terms: ListingTerms, *, clock: Clock) -> Listing:
    """Draft a listing of an asset the seller holds."""
    asset = load_asset(session, asset_ref)
    require_holder(actor, asset)
    values = _check_terms(terms)
    active = session.scalar(sa.select(sa.func.count()).select_from(Listing).where(
        Listing.asset_id == asset.id, Listing.state.not_in([s.value for s in (*d.TERMINAL_STATES, d.ListingState.UNSOLD,
                                                                              d.ListingState.REJECTED)])))
    if active:
        raise RuleViolationError("This asset already has a listing in progress.", code="asset_already_listed")
    now = clock.now()
    listing = Listing(ref=next_reference(session, "L", now.year), asset_id=asset.id,
                      seller_party_id=asset.holder_party_id, created_by_id=actor.user_id, created_at=now,
                      updated_at=now, state=d.ListingState.DRAFT, attempt=1, **values)
    listing.search_text = _search_text(listing, asset, asset.holder)
    session.add(listing)
    session.flush()
    _audit(session, actor, listing, "drafted", clock, after={k: v for k, v in values.items()})
    return listing


def update_terms(session: Session, actor: Actor, ref: str, changes: dict[str, Any], *, clock: Clock) -> Listing:
    """Change the terms of a draft, a rejected or a published listing.

    Changing published terms restarts the publicity count from today, so every
    buyer gets the full period under the terms that apply.
    """
    listing = load_listing(session, ref, for_update=True)
    require_seller(actor, listing)
    # A publicity that has ended (job not run yet) must not be restarted by a change of terms.
    apply_due(session, listing, clock)
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise ValidationError("Unknown fields: %(fields)s.", params={"fields": ", ".join(sorted(unknown))},
                              code="unknown_field")
    if listing.state not in (d.ListingState.DRAFT, d.ListingState.REJECTED, d.ListingState.PUBLISHED):
        raise StateError("Terms cannot change while the listing is %(state)s.", params={"state": listing.state},
                         code="terms_locked")
    current = ListingTerms(**{f: getattr(listing, f) for f in TERM_FIELDS})
    for k, v in changes.items():
        setattr(current, k, v)
    values = _check_terms(current)
    before = {k: getattr(listing, k) for k in changes}
    for k, v in values.items():
        setattr(listing, k, v)
    listing.search_text = _search_text(listing, listing.asset, listing.seller)
    listing.updated_at = clock.now()
    after: dict[str, Any] = {k: values[k] for k in changes}
    if listing.state == d.ListingState.PUBLISHED:
        # New published terms are a new publication: the rights rules apply to them too (e.g. a new mode).
        d.check_listable(facts_for(session, listing.asset, listing.seller_party_id, listing.mode), today(clock))
        _check_price_rules(session, listing, listing.asset, listing.seller, today(clock))
        _start_publicity(session, listing, today(clock))
        after["publicity_restarted"] = {"start": listing.publicity_start, "end": listing.publicity_end}
        # Buyers get their free exit (and a notice) only when a term really changed.
        terms_changed = any(before[k] != values[k] for k in changes)
        if terms_changed:
            listing.terms_changed_at = clock.now()
        conditions_changed = before.get("qualification_conditions", listing.qualification_conditions) != \
            listing.qualification_conditions
        if conditions_changed:
            listing.conditions_changed_at = clock.now()
    session.flush()
    _audit(session, actor, listing, "terms_changed", clock, before=before, after=after)
    if listing.state == d.ListingState.PUBLISHED:
        from listings.service.registrations import follow_new_terms

        follow_new_terms(session, actor, listing, clock, terms_changed=terms_changed,
                         conditions_changed=conditions_changed)
    return listing


def submit_listing(session: Session, actor: Actor, ref: str, *, clock: Clock) -> Listing:
    """The seller submits the draft for review; the rights rules are checked now and again at publication."""
    listing = load_listing(session, ref, for_update=True)
    require_seller(actor, listing)
    if listing.state == d.ListingState.REJECTED:
        _transition(session, actor, listing, d.ListingState.DRAFT, clock, reason="resubmitted after changes")
    d.check_transition(listing.state, d.ListingState.SUBMITTED)
    asset = listing.asset
    d.check_listable(facts_for(session, asset, listing.seller_party_id, listing.mode), today(clock))
    _check_price_rules(session, listing, asset, listing.seller, today(clock))
    _transition(session, actor, listing, d.ListingState.SUBMITTED, clock)
    return listing


def _start_publicity(session: Session, listing: Listing, start: date) -> None:
    deadline = d.publicity_end(cal(session), start, listing.publicity_working_days)
    listing.publicity_start = start
    listing.publicity_end = deadline.day
    listing.publicity_ends_at = end_of_local_day_utc(deadline.day)
    listing.publicity_provisional = deadline.provisional
    listing.days_served = 0


def publish_listing(session: Session, actor: Actor, ref: str, *, clock: Clock) -> Listing:
    """The operator publishes a submitted listing; publicity runs N working days from today."""
    listing = load_listing(session, ref, for_update=True)
    d.check_transition(listing.state, d.ListingState.PUBLISHED)
    if listing.state != d.ListingState.SUBMITTED:
        raise StateError("Only submitted listings are published.", code="invalid_transition")
    asset = listing.asset
    if asset.confirmation != d.AssetConfirmation.CONFIRMED:
        raise RuleViolationError("The asset's rights have not been confirmed by the exchange.",
                                 code="rights_not_confirmed")
    d.check_listable(facts_for(session, asset, listing.seller_party_id, listing.mode), today(clock))
    _check_price_rules(session, listing, asset, listing.seller, today(clock))
    _start_publicity(session, listing, today(clock))
    listing.published_at = clock.now()
    _transition(session, actor, listing, d.ListingState.PUBLISHED, clock,
                extra={"publicity_start": listing.publicity_start, "publicity_end": listing.publicity_end,
                       "provisional": listing.publicity_provisional})
    return listing


def reject_listing(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    listing = load_listing(session, ref, for_update=True)
    _transition(session, actor, listing, d.ListingState.REJECTED, clock,
                reason=clean_text(reason, "reason", max_length=2000, multiline=True))
    return listing


def suspend_listing(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    """Suspend publicity (中止); the working days served so far are kept."""
    listing = load_listing(session, ref, for_update=True)
    apply_due(session, listing, clock)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    d.check_transition(listing.state, d.ListingState.SUSPENDED)
    listing.days_served = d.publicity_days_served(cal(session), listing.publicity_start, today(clock))
    listing.suspended_on = today(clock)
    _transition(session, actor, listing, d.ListingState.SUSPENDED, clock, reason=reason,
                extra={"days_served": listing.days_served})
    _tell_registrants(session, listing, "listing.suspended", clock)  # the exchange's reason stays with the seller
    _tell_seller(session, listing, "listing.suspended_seller", clock, reason=reason)
    return listing


def resume_listing(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    """Resume publicity: the total reaches the minimum, with at least 10 more working days."""
    listing = load_listing(session, ref, for_update=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    d.check_transition(listing.state, d.ListingState.PUBLISHED)
    if listing.state != d.ListingState.SUSPENDED:
        raise StateError("Only a suspended listing resumes.", code="invalid_transition")
    deadline = d.resume_end(cal(session), today(clock), listing.days_served,
                            minimum_total=listing.publicity_working_days)
    listing.publicity_end = deadline.day
    listing.publicity_ends_at = end_of_local_day_utc(deadline.day)
    listing.publicity_provisional = deadline.provisional
    listing.suspended_on = None
    _transition(session, actor, listing, d.ListingState.PUBLISHED, clock, reason=reason,
                extra={"publicity_end": listing.publicity_end})
    # A deposit deadline that fell during the suspension would lapse a buyer the moment publicity
    # resumes: those still owing their deposit get until the new end of publicity.
    for r in listing.registrations:
        if r.state == d.RegistrationState.PENDING_DEPOSIT and r.deposit_due_at < listing.publicity_ends_at:
            before = r.deposit_due_at
            r.deposit_due_at = listing.publicity_ends_at
            record_event(session, actor=actor, action="registration.deadline_moved", subject_type="registration",
                         subject_ref=r.ref, before={"deposit_due_at": before},
                         after={"deposit_due_at": r.deposit_due_at}, reason="publicity resumed", clock=clock)
    ends = shown_deadline(listing.publicity_ends_at)
    _tell_registrants(session, listing, "listing.resumed", clock, ends=ends)
    _tell_seller(session, listing, "listing.resumed_seller", clock, ends=ends)
    return listing


def terminate_listing(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    """End the listing for good (终结). A sold listing is not the operator's to end: its deal decides."""
    listing = load_listing(session, ref, for_update=True)
    if listing.state == d.ListingState.SOLD:
        raise StateError("A sold listing ends with its deal, not by termination.", code="invalid_transition",
                         details={"from": listing.state.value, "to": d.ListingState.TERMINATED.value})
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    standing = [r for r in listing.registrations if r.state in d.STANDING_REGISTRATION_STATES]
    _transition(session, actor, listing, d.ListingState.TERMINATED, clock, reason=reason)
    _tell_registrants(session, listing, "listing.terminated", clock, registrations=standing)
    _tell_seller(session, listing, "listing.terminated_seller", clock, reason=reason)
    return listing


def _tell_seller(session: Session, listing: Listing, topic: str, clock: Clock, **params: str) -> None:
    notify(session, party_id=listing.seller_party_id, topic=topic, clock=clock,
           params={"listing": listing.ref, "title": listing.title, **params})


def _tell_registrants(session: Session, listing: Listing, topic: str, clock: Clock, *,
                      registrations: list | None = None, **params: str) -> None:
    """A notice to every buyer whose registration still stands (or to those given)."""
    regs = registrations if registrations is not None else [
        r for r in listing.registrations if r.state in d.STANDING_REGISTRATION_STATES]
    for r in regs:
        notify(session, party_id=r.buyer_party_id, topic=topic, clock=clock,
               params={"registration": r.ref, "listing": listing.ref, "title": listing.title, **params})


def withdraw_listing(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    """The seller withdraws, possible only before anyone has registered."""
    listing = load_listing(session, ref, for_update=True)
    require_seller(actor, listing)
    apply_due(session, listing, clock)  # a listing whose publicity has ended is no longer withdrawn
    standing = sum(1 for r in listing.registrations if r.state in d.STANDING_REGISTRATION_STATES)
    d.check_can_withdraw(listing.state, standing)
    _transition(session, actor, listing, d.ListingState.WITHDRAWN, clock,
                reason=clean_text(reason, "reason", max_length=2000, multiline=True))
    return listing


def approve_below_appraisal(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Listing:
    """Record the approval needed to relist below 90% of the appraisal."""
    listing = load_listing(session, ref, for_update=True)
    if listing.attempt < 2:
        raise RuleViolationError("Only relistings may go below the appraisal, with approval.",
                                 code="price_below_appraisal")
    if listing.state not in (d.ListingState.DRAFT, d.ListingState.SUBMITTED, d.ListingState.REJECTED):
        raise StateError("The approval is recorded before publication.", code="invalid_transition")
    listing.below_appraisal_approval = clean_text(reason, "reason", max_length=2000, multiline=True)
    session.flush()
    _audit(session, actor, listing, "below_appraisal_approved", clock, after={"price_fen": listing.price_fen},
           reason=listing.below_appraisal_approval)
    return listing


def relist(session: Session, actor: Actor, ref: str, changes: dict[str, Any], *, clock: Clock) -> Listing:
    """Relist an unsold listing as a new draft (often at a lower price), counting the attempt."""
    old = load_listing(session, ref, for_update=True)
    require_seller(actor, old)
    apply_due(session, old, clock)  # it may have ended unsold a moment ago, before any job ran
    if old.state != d.ListingState.UNSOLD:
        raise StateError("Only an unsold listing is relisted.", code="invalid_transition")
    if session.scalar(sa.select(Listing.id).where(Listing.previous_listing_id == old.id)):
        raise StateError("This listing has already been relisted.", code="already_relisted")
    terms = ListingTerms(**{f: getattr(old, f) for f in TERM_FIELDS})
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise ValidationError("Unknown fields: %(fields)s.", params={"fields": ", ".join(sorted(unknown))},
                              code="unknown_field")
    for k, v in changes.items():
        setattr(terms, k, v)
    values = _check_terms(terms)
    now = clock.now()
    new = Listing(ref=next_reference(session, "L", now.year), asset_id=old.asset_id,
                  seller_party_id=old.seller_party_id, created_by_id=actor.user_id, created_at=now, updated_at=now,
                  state=d.ListingState.DRAFT, attempt=old.attempt + 1, previous_listing_id=old.id, **values)
    new.search_text = _search_text(new, old.asset, old.seller)
    session.add(new)
    session.flush()
    _audit(session, actor, new, "relisted", clock, after={"previous": old.ref, "attempt": new.attempt,
                                                          "price_fen": new.price_fen})
    return new


# -- the end of publicity ----------------------------------------------------------------------
def qualified_count(listing: Listing) -> int:
    return sum(1 for r in listing.registrations if r.state == d.RegistrationState.QUALIFIED)


def _lapse_unpaid(session: Session, listing: Listing, clock: Clock) -> None:
    now = clock.now()
    for r in listing.registrations:
        if r.state == d.RegistrationState.PENDING_DEPOSIT and now >= r.deposit_due_at:
            d.check_registration_transition(r.state, d.RegistrationState.LAPSED)
            r.state = d.RegistrationState.LAPSED
            r.decided_at = now
            notify(session, party_id=r.buyer_party_id, topic="registration.lapsed", clock=clock,
                   params={"registration": r.ref, "title": listing.title})
            record_event(session, actor=Actor.system("deadline"), action="registration.lapsed",
                         subject_type="registration", subject_ref=r.ref, before={"state": "pending_deposit"},
                         after={"state": "lapsed"}, reason="deposit not paid by the deadline", clock=clock)


def apply_due(session: Session, listing: Listing, clock: Clock) -> Listing:
    """Apply whatever the clock says is due: lapse unpaid registrations, end publicity.

    Called on every request that touches the listing (the caller holds its row
    lock) and by the scheduled job, whichever comes first. Safe to repeat.
    """
    if listing.state != d.ListingState.PUBLISHED:
        return listing
    _lapse_unpaid(session, listing, clock)
    while listing.state == d.ListingState.PUBLISHED and listing.publicity_ends_at and \
            clock.now() >= listing.publicity_ends_at:
        system = Actor.system("publicity")
        # Buyers still waiting for the operator's decision at the end do not count.
        action = d.action_at_end(qualified_count(listing), listing.extensions_used, listing.max_extensions,
                                 listing.allows_extension)
        if action == d.EndAction.EXTEND:
            deadline = d.extended_end(cal(session), listing.publicity_end)
            before = listing.publicity_end
            listing.extensions_used += 1
            listing.publicity_end = deadline.day
            listing.publicity_ends_at = end_of_local_day_utc(deadline.day)
            listing.publicity_provisional = deadline.provisional
            session.flush()
            _audit(session, system, listing, "extended", clock, before={"publicity_end": before},
                   after={"publicity_end": listing.publicity_end, "extensions_used": listing.extensions_used},
                   reason="no qualified buyer at the end of publicity")
            # A new deadline may have passed too if the job ran very late: loop.
            continue
        target = {d.EndAction.UNSOLD: d.ListingState.UNSOLD,
                  d.EndAction.NEGOTIATION: d.ListingState.AWAITING_NEGOTIATION,
                  d.EndAction.AUCTION: d.ListingState.AWAITING_AUCTION}[action]
        _transition(session, system, listing, target, clock, reason="publicity ended",
                    extra={"qualified": qualified_count(listing)})
        for hook in ON_PUBLICITY_END:
            hook(session, listing, action, clock)
    return listing


def is_due(listing: Listing, clock: Clock) -> bool:
    """Cheap test, without a lock, of whether ``apply_due`` would change anything."""
    if listing.state != d.ListingState.PUBLISHED:
        return False
    now = clock.now()
    if listing.publicity_ends_at is not None and now >= listing.publicity_ends_at:
        return True
    return any(r.state == d.RegistrationState.PENDING_DEPOSIT and now >= r.deposit_due_at
               for r in listing.registrations)


def due_listing_refs(session: Session, clock: Clock, limit: int = 200) -> list[str]:
    """Published listings whose publicity has ended or that have a lapsed deposit deadline."""
    now = clock.now()
    stmt = (sa.select(Listing.ref).where(Listing.state == d.ListingState.PUBLISHED)
            .where(sa.or_(Listing.publicity_ends_at <= now, Listing.id.in_(
                sa.select(BuyerRegistration.listing_id).where(
                    BuyerRegistration.state == d.RegistrationState.PENDING_DEPOSIT,
                    BuyerRegistration.deposit_due_at <= now))))
            .order_by(Listing.id).limit(limit))
    return list(session.scalars(stmt))


def get_listing_for(session: Session, actor: Actor | None, ref: str, *, clock: Clock) -> Listing:
    """Load a listing for a reader, applying anything due first."""
    from listings.service.common import can_view_listing

    listing = load_listing(session, ref)
    if is_due(listing, clock):
        listing = load_listing(session, ref, for_update=True)
        apply_due(session, listing, clock)
    if not can_view_listing(actor, listing):
        raise NotFoundError(f"No listing {ref}.", code="listing_not_found")
    return listing
