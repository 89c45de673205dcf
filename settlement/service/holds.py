"""Deposits as holds (交易保证金).

A buyer registration opens a *pending* hold for the deposit its credit grade
requires; a valid credit instrument may stand in for part or all of it. The
hold is *held* once the cash part is in (the registration is then marked paid
in the listings package), and resolves exactly once:

* **applied** to the price when the winner's payments complete the price;
* **released** (refunded from the deposit pool) for losers within N working days
  after bidding, for rejected, lapsed or withdrawn registrations and for listings
  that end without a deal; a pending hold is released with nothing to pay back;
* **forfeited** when the buyer defaults (withdraws after qualifying, does not bid,
  does not sign or pay): split between the seller and the exchange as the settings
  say; an instrument-covered part becomes a claim under the instrument.

Every resolution locks the hold row first and goes through the pure transition
table, so a retried job or a double click can never resolve a hold twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, local_date
from exchange.errors import NotFoundError, RuleViolationError, StateError
from exchange.models import Party
from exchange.money import Money
from exchange.notifications import money, notify
import settlement.notices  # noqa: F401  (registers the topics)
from listings import domain as ld
from listings.models import BuyerRegistration, Listing
from settlement.domain import (
    CreditEventKind,
    CreditGrade,
    HoldEvent,
    HoldState,
    Posting,
    bank_transfer,
    deposit_applied_to_price,
    deposit_received,
    deposit_released,
    fund_hold,
    resolve_hold,
    split_forfeiture,
)
from settlement.models import CreditInstrument, DepositHold, EntryKind, InstrumentState
from settlement.service import credit, ledger
from settlement.service.common import get_settings, lock, log_event, serialise_writes, setting_decimal, today

SYSTEM = Actor.system("settlement")


@dataclass(frozen=True)
class DepositQuote:
    """What a buyer must put up for a listing: the grade-adjusted deposit, the part a credit
    instrument covers, and the cash to pay."""

    required_fen: int
    cover_fen: int
    cash_fen: int
    instrument: CreditInstrument | None
    grade: CreditGrade
    barred: bool


def deposit_quote(session: Session, party: Party, listing_deposit_fen: int, *, clock: Clock,
                  price_fen: int | None = None, until: date | None = None, currency: str = "CNY") -> DepositQuote:
    """What ``party`` must put up for a listing deposit: grade applied, the best instrument's cover, the cash."""
    record = credit.credit_record(session, party, clock=clock)
    if record.barred:
        return DepositQuote(listing_deposit_fen, 0, listing_deposit_fen, None, record.grade, True)
    required = credit.grade_adjusted_deposit(listing_deposit_fen, record, price_fen)
    inst, cover = credit.best_cover(session, party.id, required, currency, today(clock), until)
    return DepositQuote(required, cover, required - cover, inst, record.grade, False)


def deposit_policy(session: Session, buyer: Party, listing_deposit_fen: int, listing: Listing | None = None,
                   clock: Clock | None = None) -> tuple[int, bool]:
    """The listings package's deposit policy: (cash deposit to pay, barred by the credit record).

    The listings package passes neither the listing nor its clock; without the listing the 30 %
    cap cannot be applied here (``open_hold`` applies it when it records the hold) and the
    clock is the application's.
    """
    clock = clock or _ambient_clock(session)
    q = deposit_quote(session, buyer, listing_deposit_fen, clock=clock,
                      price_fen=listing.price_fen if listing is not None else None,
                      until=listing.publicity_end if listing is not None else None)
    return q.cash_fen, q.barred


def _ambient_clock(session: Session) -> Clock:
    clock = session.info.get("clock")
    if clock is not None:
        return clock
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.extensions["exchange.clock"]
    from exchange.clock import SystemClock

    return SystemClock()


# -- loading -----------------------------------------------------------------------------------
def hold_of(session: Session, registration_id: int, *, for_update: bool = False) -> DepositHold | None:
    """The hold of a registration (by id), or None."""
    stmt = sa.select(DepositHold).where(DepositHold.registration_id == registration_id)
    return session.scalar(lock(stmt) if for_update else stmt)


def load_hold(session: Session, registration_ref: str, *, for_update: bool = False) -> DepositHold:
    """The hold of a registration (by ref), or ``hold_not_found``."""
    reg = session.scalar(sa.select(BuyerRegistration).where(BuyerRegistration.ref == registration_ref))
    hold = hold_of(session, reg.id, for_update=for_update) if reg is not None else None
    if hold is None:
        raise NotFoundError(f"No deposit hold for registration {registration_ref}.", code="hold_not_found")
    return hold


def visible_hold(actor: Actor, hold: DepositHold) -> DepositHold:
    """The hold for the exchange and its buyer; anyone else gets 404."""
    if actor.can_read_all or actor.party_id == hold.party_id:
        return hold
    raise NotFoundError("No such deposit hold.", code="hold_not_found")


def registration_of(session: Session, hold: DepositHold) -> BuyerRegistration:
    """The buyer registration a hold belongs to."""
    return session.get(BuyerRegistration, hold.registration_id)


# -- opening and funding -----------------------------------------------------------------------------
def open_hold(session: Session, reg: BuyerRegistration, clock: Clock) -> DepositHold:
    """ON_REGISTERED: open the registration's hold as pending (held at once if an instrument covers all)."""
    existing = hold_of(session, reg.id)
    if existing is not None:
        return existing
    listing = reg.listing
    q = _quote_for(session, reg, clock)
    # The hold is the authority on what is owed. It normally equals the registration's deposit,
    # which deposit_policy set moments ago; the policy is not given the listing, so where the
    # listing matters (the 30 % cap, an instrument lapsing before publicity ends) the hold's
    # figure, computed here with the listing, is the one that counts and the difference is logged.
    cash, cover = q.cash_fen, q.cover_fen
    hold = DepositHold(registration_id=reg.id, listing_id=listing.id, party_id=reg.buyer_party_id,
                       amount_fen=cash + cover, cash_fen=cash, cover_fen=cover, currency=reg.currency,
                       instrument_id=q.instrument.id if cover and q.instrument is not None else None,
                       state=HoldState.PENDING, created_at=clock.now())
    session.add(hold)
    session.flush()
    log_event(session, SYSTEM, "hold.opened", "deposit_hold", reg.ref, clock,
              after={"amount_fen": hold.amount_fen, "cash_fen": cash, "cover_fen": cover, "grade": q.grade,
                     "instrument": q.instrument.ref if hold.instrument_id else None,
                     "registration_deposit_fen": reg.deposit_fen},
              reason=None if cash == reg.deposit_fen else "the listing's cap or an instrument's term changed "
                                                           "the cash deposit the registration shows")
    if cash == 0:
        _fund(session, SYSTEM, hold, reg, clock)
    return hold


def _quote_for(session: Session, reg: BuyerRegistration, clock: Clock) -> DepositQuote:
    listing = reg.listing
    return deposit_quote(session, reg.buyer, listing.deposit_fen, clock=clock, price_fen=listing.price_fen,
                         until=listing.publicity_end, currency=reg.currency)


def requote_hold(session: Session, reg: BuyerRegistration, clock: Clock) -> int:
    """The listings package's deposit re-quote: the listing's terms changed while the deposit was
    still unpaid; the pending hold owes what the new terms ask of this buyer (grade and instruments
    as of now), and the cash part is the answer. Funded at once if what the buyer has already paid
    in (a short transfer waiting as free cash) or an instrument now covers it. (A registration
    without a pending hold gets the policy's quote.)"""
    serialise_writes(session)
    hold = hold_of(session, reg.id, for_update=True)
    if hold is None or hold.state != HoldState.PENDING:
        return deposit_policy(session, reg.buyer, reg.listing.deposit_fen, reg.listing, clock)[0]
    before = {"amount_fen": hold.amount_fen, "cash_fen": hold.cash_fen, "cover_fen": hold.cover_fen}
    old_instrument = hold.instrument_id
    # The hold's own cover is free again for its new quote (instruments count what holds reserve).
    hold.amount_fen, hold.cover_fen, hold.instrument_id = hold.cash_fen, 0, None
    session.flush()
    q = _quote_for(session, reg, clock)
    instrument_id = q.instrument.id if q.cover_fen and q.instrument is not None else None
    after = {"amount_fen": q.cash_fen + q.cover_fen, "cash_fen": q.cash_fen, "cover_fen": q.cover_fen}
    hold.amount_fen, hold.cash_fen, hold.cover_fen = after["amount_fen"], q.cash_fen, q.cover_fen
    hold.instrument_id = instrument_id
    session.flush()
    if before == after and old_instrument == instrument_id:
        return q.cash_fen
    log_event(session, SYSTEM, "hold.requoted", "deposit_hold", reg.ref, clock, before=before,
              after={**after, "instrument": q.instrument.ref if instrument_id else None,
                     "registration_deposit_fen": reg.deposit_fen},
              reason="the listing's terms changed before the deposit was paid")
    try_fund(session, SYSTEM, hold, clock)  # the registration already carries the new deadline
    return q.cash_fen


def fundable(reg: BuyerRegistration, clock: Clock) -> bool:
    """Whether the registration still accepts its deposit (pending and before the deadline)."""
    return reg.state == ld.RegistrationState.PENDING_DEPOSIT and clock.now() < reg.deposit_due_at


def _fund(session: Session, actor: Actor, hold: DepositHold, reg: BuyerRegistration, clock: Clock) -> None:
    """pending → held; the cash part moves from the buyer's cash to its deposit and into the deposit pool."""
    from listings.service import mark_deposit_paid

    new = fund_hold(hold.state)
    entry = None
    if hold.cash_fen:
        cash = Money(hold.cash_fen, hold.currency)
        party = hold.party
        entry = ledger.post(
            session, kind=EntryKind.DEPOSIT_FUNDED, source_key=f"hold:{reg.ref}:fund", actor=actor, clock=clock,
            postings=deposit_received(cash, party_cash=ledger.cash_key(party), party_deposit=ledger.deposit_key(party))
            + bank_transfer(cash, from_bank=ledger.BANK, to_bank=ledger.POOL),
            memo=f"deposit for {reg.ref}", party_id=party.id)
    hold.state = new
    hold.funded_at = clock.now()
    hold.funded_by = "instrument" if not hold.cash_fen else ("mixed" if hold.cover_fen else "cash")
    hold.funding_entry_id = entry.id if entry else None
    session.flush()
    log_event(session, actor, "hold.held", "deposit_hold", reg.ref, clock, before={"state": "pending"},
              after={"state": "held", "funded_by": hold.funded_by, "entry": entry.ref if entry else None})
    mark_deposit_paid(session, actor, reg.ref, clock=clock)


def try_fund(session: Session, actor: Actor, hold: DepositHold, clock: Clock) -> bool:
    """Fund a pending hold from the buyer's free cash if it is enough and the deadline has not passed.

    The caller holds the hold's lock. Returns whether the hold is now held.
    """
    if hold.state != HoldState.PENDING:
        return hold.state == HoldState.HELD
    reg = registration_of(session, hold)
    if not fundable(reg, clock):
        return False
    if hold.cash_fen and ledger.available_cash_fen(session, hold.party, hold.currency, for_update=True) < hold.cash_fen:
        return False
    _fund(session, actor, hold, reg, clock)
    return True


def fund_from_cash(session: Session, actor: Actor, registration_ref: str, *, clock: Clock) -> DepositHold:
    """The operator's manual path: fund a pending hold from cash already matched to the buyer."""
    serialise_writes(session)
    hold = load_hold(session, registration_ref, for_update=True)
    if hold.state != HoldState.PENDING:
        raise StateError(f"This deposit is already {hold.state.value}.", code="hold_not_pending")
    reg = registration_of(session, hold)
    if not fundable(reg, clock):
        raise StateError("The deposit deadline has passed or the registration is closed.",
                         code="deposit_deadline_passed")
    available = ledger.available_cash_fen(session, hold.party, hold.currency, for_update=True)
    if available < hold.cash_fen:
        raise RuleViolationError("The buyer's cash at the exchange does not cover the deposit.",
                                 code="insufficient_cash",
                                 details={"available_fen": available, "needed_fen": hold.cash_fen})
    _fund(session, actor, hold, reg, clock)
    return hold


# -- resolution ----------------------------------------------------------------------------------
def _close(session: Session, actor: Actor, hold: DepositHold, new: HoldState, reason: str, clock: Clock,
           entry, reg_ref: str) -> None:  # type: ignore[no-untyped-def]
    src = hold.state
    hold.state = new
    hold.resolved_at = clock.now()
    hold.resolution_note = reason
    hold.resolution_entry_id = entry.id if entry is not None else None
    hold.release_due_on = None if new != HoldState.RELEASED else hold.release_due_on
    session.flush()
    log_event(session, actor, f"hold.{new.value}", "deposit_hold", reg_ref, clock, before={"state": src},
              after={"state": new, "entry": entry.ref if entry is not None else None}, reason=reason)
    # A release tells the buyer of money coming back, so only when cash was paid (a deposit fully covered
    # by a guarantee returns none); a forfeit always concerns it.
    if src == HoldState.HELD and (new == HoldState.FORFEITED or (new == HoldState.RELEASED and hold.cash_fen)):
        reg = registration_of(session, hold)
        notify(session, party_id=hold.party_id, topic=f"deposit.{new.value}", clock=clock,
               params={"registration": reg_ref, "title": reg.listing.title,
                       # what comes back is the cash paid; a forfeit takes the whole deposit, covered part included
                       "amount": money(hold.cash_fen if new == HoldState.RELEASED else hold.amount_fen,
                                       hold.currency)})


def release(session: Session, actor: Actor, hold: DepositHold, reason: str, clock: Clock) -> DepositHold:
    """Release a locked hold: a held deposit is refunded from the deposit pool; a pending one closes."""
    reg = registration_of(session, hold)
    src = hold.state
    new = resolve_hold(src, HoldEvent.RELEASE)
    entry = None
    if src == HoldState.HELD and hold.cash_fen:
        entry = ledger.post(session, kind=EntryKind.DEPOSIT_RELEASED, source_key=f"hold:{reg.ref}:release",
                            actor=actor, clock=clock,
                            postings=deposit_released(Money(hold.cash_fen, hold.currency),
                                                      party_deposit=ledger.deposit_key(hold.party),
                                                      paid_from=ledger.POOL),
                            memo=f"deposit of {reg.ref} released: {reason}", party_id=hold.party_id)
    _close(session, actor, hold, new, reason, clock, entry, reg.ref)
    return hold


def apply_to_price(session: Session, actor: Actor, hold: DepositHold, deal_ref: str, deal_id: int,
                   clock: Clock) -> int:
    """The winner's locked, held deposit becomes part of the price (into the deal's escrow).

    Returns the cash applied (the instrument-covered part is not money and is simply freed).
    """
    reg = registration_of(session, hold)
    new = resolve_hold(hold.state, HoldEvent.APPLY)
    entry = None
    if hold.cash_fen:
        cash = Money(hold.cash_fen, hold.currency)
        entry = ledger.post(session, kind=EntryKind.DEPOSIT_APPLIED, source_key=f"hold:{reg.ref}:apply",
                            actor=actor, clock=clock,
                            postings=deposit_applied_to_price(cash, party_deposit=ledger.deposit_key(hold.party),
                                                              escrow=ledger.escrow_key(deal_ref))
                            + bank_transfer(cash, from_bank=ledger.POOL, to_bank=ledger.BANK),
                            memo=f"deposit of {reg.ref} applied to the price of {deal_ref}", deal_id=deal_id,
                            party_id=hold.party_id)
    _close(session, actor, hold, new, f"applied to the price of {deal_ref}", clock, entry, reg.ref)
    return hold.cash_fen


def forfeit(session: Session, actor: Actor, hold: DepositHold, seller: Party, reason: str, clock: Clock, *,
            deal_id: int | None = None) -> DepositHold:
    """Forfeit a locked, held deposit: the seller's share to its cash, the rest to the exchange.

    A part covered by an instrument is claimed under it: the buyer's receivable grows by
    that part (the issuer pays it off later, matched like any receipt).
    """
    reg = registration_of(session, hold)
    new = resolve_hold(hold.state, HoldEvent.FORFEIT)
    total = Money(hold.cash_fen + hold.cover_fen, hold.currency)
    entry = None
    if total.fen:
        seller_part, exchange_part = split_forfeiture(total, setting_decimal(session, "forfeiture_seller_share"))
        buyer = hold.party
        legs = [Posting(ledger.deposit_key(buyer), Money(hold.cash_fen, hold.currency)),
                Posting(ledger.receivable_key(buyer), Money(hold.cover_fen, hold.currency)),
                Posting(ledger.cash_key(seller), -seller_part),
                Posting(ledger.FORFEITURE_INCOME, -exchange_part)]
        legs = [p for p in legs if p.amount.fen]
        if hold.cash_fen:
            legs += bank_transfer(Money(hold.cash_fen, hold.currency), from_bank=ledger.POOL, to_bank=ledger.BANK)
        entry = ledger.post(session, kind=EntryKind.DEPOSIT_FORFEITED, source_key=f"hold:{reg.ref}:forfeit",
                            actor=actor, clock=clock, postings=legs, memo=f"deposit of {reg.ref} forfeited: {reason}",
                            deal_id=deal_id, party_id=buyer.id)
    if hold.cover_fen and hold.instrument_id:
        inst = session.scalar(lock(sa.select(CreditInstrument).where(CreditInstrument.id == hold.instrument_id)))
        inst.claim_fen += hold.cover_fen
        inst.state = InstrumentState.CALLED
        log_event(session, actor, "instrument.called", "credit_instrument", inst.ref, clock,
                  after={"claim_fen": inst.claim_fen, "registration": reg.ref}, reason=reason)
    _close(session, actor, hold, new, reason, clock, entry, reg.ref)
    credit.record_credit_event(session, hold.party_id, CreditEventKind.FORFEITURE, today(clock),
                               source_key=f"forfeit:{reg.ref}", recorded_by=actor.label, clock=clock,
                               deal_id=deal_id, note=reason)
    return hold


def request_release(session: Session, actor: Actor, registration_ref: str, *, clock: Clock) -> DepositHold:
    """Release on request (the buyer or an operator) once the hold is due for release.

    A hold already released is returned as it is, so a retried request changes nothing.
    """
    serialise_writes(session)
    hold = visible_hold(actor, load_hold(session, registration_ref))
    hold = _lock_for_resolution(session, hold)
    if hold.state == HoldState.RELEASED:
        return hold
    fate = fate_of(session, hold, clock, on_request=True)
    if fate is None or fate[0] == "forfeit":
        raise StateError("This deposit is not due for release.", code="hold_not_releasable",
                         details={"state": hold.state.value})
    release(session, actor, hold, fate[1], clock)
    return hold


def _lock_for_resolution(session: Session, hold: DepositHold) -> DepositHold:
    """Lock order everywhere: listing, then hold (apply_due locks the listing before its hooks run)."""
    session.scalar(lock(sa.select(Listing.id).where(Listing.id == hold.listing_id)))
    return session.scalar(lock(sa.select(DepositHold).where(DepositHold.id == hold.id)))


# -- what is due ---------------------------------------------------------------------------------
_ENDED = frozenset({ld.ListingState.UNSOLD, ld.ListingState.TERMINATED, ld.ListingState.WITHDRAWN})


def fate_of(session: Session, hold: DepositHold, clock: Clock, *,
            on_request: bool = False) -> tuple[str, str] | None:
    """What should happen to an unresolved hold now: ("release", why), ("forfeit", why) or None.

    A loser's deposit falls due on its release date (the job waits for it, the runner-up may yet be
    offered the deal); asked for, it is released at once (``on_request``).
    """
    if hold.state not in (HoldState.PENDING, HoldState.HELD) or hold.deal_id is not None:
        return None
    reg = registration_of(session, hold)
    listing = session.get(Listing, hold.listing_id)
    if reg.state == ld.RegistrationState.LAPSED:
        return "release", "deposit not paid by the deadline"
    if reg.state == ld.RegistrationState.REJECTED:
        return "release", "registration rejected"
    if reg.state == ld.RegistrationState.WITHDRAWN:
        if hold.state == HoldState.HELD and reg.forfeit_on_withdrawal:
            return "forfeit", "withdrew after qualifying"
        if reg.forfeit_on_withdrawal is False and reg.qualified_at is not None:
            return "release", "withdrew after the terms changed"
        return "release", "registration withdrawn"
    if listing.state in _ENDED:
        return "release", f"listing {listing.state.value}"
    if hold.release_due_on is not None and (on_request or hold.release_due_on <= today(clock)):
        return "release", "not the winner"
    if listing.state not in (ld.ListingState.PUBLISHED, ld.ListingState.SUSPENDED):
        if reg.state != ld.RegistrationState.QUALIFIED:
            return "release", "not qualified when publicity ended"
        if hold.state == HoldState.PENDING:
            return "release", "deposit not funded through settlement by the end of publicity"
    return None


def settle_due(session: Session, hold: DepositHold, clock: Clock, actor: Actor = SYSTEM) -> str | None:
    """Apply ``fate_of`` to one hold under its lock; returns what was done."""
    hold = _lock_for_resolution(session, hold)
    fate = fate_of(session, hold, clock)
    if fate is None:
        return None
    action, reason = fate
    if action == "forfeit":
        forfeit(session, actor, hold, session.get(Listing, hold.listing_id).seller, reason, clock)
    else:
        release(session, actor, hold, reason, clock)
    return action


def due_holds(session: Session, clock: Clock, limit: int = 500) -> list[DepositHold]:
    """Unresolved holds, not taken by a deal, whose fate ``fate_of`` decides now (the same tests in SQL,
    so holds still in play never crowd the due ones out of the batch)."""
    live = [ld.ListingState.PUBLISHED.value, ld.ListingState.SUSPENDED.value]
    R = ld.RegistrationState
    stmt = (sa.select(DepositHold)
            .join(BuyerRegistration, BuyerRegistration.id == DepositHold.registration_id)
            .join(Listing, Listing.id == DepositHold.listing_id)
            .where(DepositHold.state.in_([HoldState.PENDING.value, HoldState.HELD.value]),
                   DepositHold.deal_id.is_(None),
                   sa.or_(BuyerRegistration.state.in_([R.LAPSED.value, R.REJECTED.value, R.WITHDRAWN.value]),
                          Listing.state.in_([s.value for s in _ENDED]),
                          DepositHold.release_due_on <= today(clock),
                          sa.and_(Listing.state.not_in(live),
                                  sa.or_(BuyerRegistration.state != R.QUALIFIED.value,
                                         DepositHold.state == HoldState.PENDING.value))))
            .order_by(DepositHold.id).limit(limit))
    return list(session.scalars(stmt))


def settle_due_holds(session: Session, clock: Clock) -> dict[str, int]:
    """The job: release or forfeit every hold whose fate is decided. Safe to run twice."""
    serialise_writes(session)
    done = {"release": 0, "forfeit": 0}
    for hold in due_holds(session, clock):
        action = settle_due(session, hold, clock)
        if action:
            done[action] += 1
    return done


# -- hooks from listings and auctions -----------------------------------------------------------------
def on_publicity_end(session: Session, listing: Listing, action, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Publicity ended: holds of registrations that did not qualify (or of an unsold listing) resolve now."""
    serialise_writes(session)
    for hold in session.scalars(sa.select(DepositHold).where(DepositHold.listing_id == listing.id,
                                                             DepositHold.deal_id.is_(None),
                                                             DepositHold.state.in_([HoldState.PENDING.value,
                                                                                    HoldState.HELD.value]))
                                .order_by(DepositHold.id)):
        settle_due(session, hold, clock, Actor.system("publicity"))


def on_auction_closed(session: Session, auction, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Bidding closed: losers' deposits fall due for release within N working days; a qualified
    bidder who never bid (ascending or sealed bidding) forfeits."""
    from auctions.models import Bid

    serialise_writes(session)
    days = get_settings(session)["release_working_days"]
    closed_on = local_date(auction.closed_at or clock.now())
    due = get_calendar(session).add_working_days(closed_on, days).day
    bid_by = set(session.scalars(sa.select(Bid.bidder_id).where(Bid.auction_id == auction.id)))
    for bidder in auction.bidders:
        hold = hold_of(session, bidder.registration_id)
        if hold is None or hold.deal_id is not None or hold.state not in (HoldState.PENDING, HoldState.HELD):
            continue
        hold = _lock_for_resolution(session, hold)
        no_bid = bidder.id not in bid_by and str(auction.format) in ("ascending", "sealed")
        if hold.state == HoldState.HELD and (bidder.defaulted or no_bid):
            forfeit(session, Actor.system("auction"), hold, auction.listing.seller,
                    "did not bid" if no_bid else "defaulted in the auction", clock)
            continue
        if hold.release_due_on is None:
            hold.release_due_on = due
            log_event(session, Actor.system("auction"), "hold.release_due", "deposit_hold",
                      registration_of(session, hold).ref, clock, after={"release_due_on": due})
    session.flush()


def earmark_for_deal(session: Session, deal, clock: Clock) -> DepositHold | None:  # type: ignore[no-untyped-def]
    """ON_DEAL_STRUCK: the buyer's hold now belongs to its deal (not to be released as a loser's)."""
    if deal.registration_id is None:
        return None
    hold = hold_of(session, deal.registration_id)
    if hold is None or hold.state not in (HoldState.PENDING, HoldState.HELD):
        return None
    hold = _lock_for_resolution(session, hold)
    hold.deal_id = deal.id
    hold.release_due_on = None
    session.flush()
    log_event(session, Actor.system("deal"), "hold.earmarked", "deposit_hold", registration_of(session, hold).ref,
              clock, after={"deal": deal.ref, "state": hold.state})
    return hold


def record_manual_deposit(session: Session, actor: Actor, reg: BuyerRegistration, clock: Clock) -> None:
    """An operator confirms by hand that a buyer's deposit reached the exchange's account.

    The receipt is recorded like any bank notification (reference ``MANUAL-<registration>``,
    so confirming twice records it once) and matched to the registration, which funds
    the hold through the ledger and marks the deposit paid.
    """
    from settlement.models import PaymentPurpose
    from settlement.service.payments import NotificationInput, receive_notification

    hold = session.scalar(sa.select(DepositHold).where(DepositHold.registration_id == reg.id))
    amount = hold.cash_fen if hold is not None else reg.deposit_fen
    if amount <= 0:
        return
    receive_notification(session, actor, NotificationInput(
        bank_reference=f"MANUAL-{reg.ref}", amount_fen=amount, payer_name=reg.buyer.name[:100],
        purpose=PaymentPurpose.DEPOSIT, purpose_ref=reg.ref, payer_party_ref=reg.buyer.ref,
        remittance_info="confirmed by an operator"), clock=clock, source="operator")
