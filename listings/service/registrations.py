"""Buyer registration (意向受让登记): declare, pay the deposit, be qualified or rejected."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolationError, StateError
from exchange.models import Party
from exchange.notifications import deadline, notify, when
from exchange.refs import next_reference
from exchange.text import clean_text
import listings.notices  # noqa: F401  (registers the topics)
from listings import domain as d
from listings.models import BuyerRegistration
from listings.service.common import facts_for, load_listing, related_party_ids, today
from listings.service.lifecycle import apply_due

# Settlement plugs in here: the deposit a buyer must pay (credit grade, guarantees) and
# whether its credit record bars it. Defaults: the listing's deposit, nobody barred.
DepositPolicy = Callable[[Session, Party, int], tuple[int, bool]]
deposit_policy: list[DepositPolicy] = []
# Called after a registration is created: fn(session, registration, clock) -> None (e.g. open a deposit hold).
ON_REGISTERED: list[Callable[..., None]] = []

# New listing terms for a registration still waiting for its deposit: settlement plugs in here to
# re-quote the deposit hold and answer the cash deposit now owed, fn(session, registration, clock)
# -> fen. Only the first is consulted. Default: the deposit policy's quote for the new terms.
deposit_requote: list[Callable[[Session, BuyerRegistration, Clock], int]] = []


# Settlement records the money when an operator confirms a deposit by hand:
# fn(session, actor, registration, clock) records the receipt, funds the hold and
# calls mark_deposit_paid. Without it the registration is simply marked paid.
MANUAL_DEPOSIT: list[Callable[..., None]] = []


def _policy(session: Session, buyer: Party, listing, clock: Clock) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
    if deposit_policy:
        return deposit_policy[0](session, buyer, listing.deposit_fen, listing=listing, clock=clock)
    return listing.deposit_fen, False


def load_registration(session: Session, ref: str, *, for_update: bool = False) -> BuyerRegistration:
    stmt = sa.select(BuyerRegistration).where(BuyerRegistration.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reg = session.scalar(stmt)
    if reg is None:
        raise NotFoundError(f"No registration {ref}.", code="registration_not_found")
    return reg


def lock_registration(session: Session, ref: str) -> tuple[BuyerRegistration, Any]:
    """Lock a registration's listing, then the registration: the order every writer takes (a change
    of terms locks the listing and then writes its registrations), so two never wait on each other."""
    listing_ref = load_registration(session, ref).listing.ref
    listing = load_listing(session, listing_ref, for_update=True)
    return load_registration(session, ref, for_update=True), listing


def visible_registration(actor: Actor, reg: BuyerRegistration) -> BuyerRegistration:
    if actor.can_read_all or actor.party_id == reg.buyer_party_id:
        return reg
    raise NotFoundError(f"No registration {reg.ref}.", code="registration_not_found")


def register_interest(session: Session, actor: Actor, listing_ref: str, declaration: str, *,
                      clock: Clock) -> BuyerRegistration:
    """A buyer registers during publicity, declaring that it meets the published conditions."""
    if actor.party_id is None:
        raise PermissionDeniedError("Only members register.", code="forbidden_role")
    listing = load_listing(session, listing_ref, for_update=True)
    apply_due(session, listing, clock)
    declaration = clean_text(declaration, "declaration", max_length=5000, multiline=True)
    buyer = session.get(Party, actor.party_id)
    already = any(r.buyer_party_id == buyer.id for r in listing.registrations)
    deposit_fen, barred = _policy(session, buyer, listing, clock)
    d.check_can_register(
        buyer_party_id=str(buyer.id), seller_party_id=str(listing.seller_party_id),
        related_party_ids=related_party_ids(session, listing.seller), listing_state=listing.state,
        today=today(clock), publicity_starts_on=listing.publicity_start or today(clock),
        publicity_ends_on=listing.publicity_end or today(clock), already_registered=already, credit_barred=barred)
    # A court freeze blocks everything, including new interest in a listing that was already public.
    facts = facts_for(session, listing.asset, listing.seller_party_id, listing.mode)
    frozen = [p for p in d.listing_problems(facts, today(clock)) if p.code == "court_frozen"]
    if frozen:
        raise RuleViolationError(frozen[0].message, code="court_frozen")
    now = clock.now()
    reg = BuyerRegistration(ref=next_reference(session, "R", now.year), listing_id=listing.id,
                            buyer_party_id=buyer.id, user_id=actor.user_id, declaration=declaration,
                            deposit_fen=deposit_fen, deposit_due_at=listing.publicity_ends_at, registered_at=now,
                            declared_at=now,
                            state=d.RegistrationState.PENDING_DEPOSIT)
    session.add(reg)
    session.flush()
    record_event(session, actor=actor, action="registration.created", subject_type="registration",
                 subject_ref=reg.ref, after={"listing": listing.ref, "buyer": buyer.ref, "deposit_fen": deposit_fen,
                                             "deposit_due_at": reg.deposit_due_at}, clock=clock)
    for hook in ON_REGISTERED:
        hook(session, reg, clock)
    return reg


def follow_new_terms(session: Session, actor: Actor, listing, clock: Clock, *,  # type: ignore[no-untyped-def]
                     terms_changed: bool = True, conditions_changed: bool = False) -> list[BuyerRegistration]:
    """The published terms changed and publicity restarted: registrations still waiting for their
    deposit owe the deposit of the new terms (as the deposit policy quotes it for that buyer), by
    the new deadline, the end of the new publicity. A buyer that has paid keeps what it paid under
    the terms it registered for. New qualification conditions send qualified buyers back to review:
    each must declare again against them before the exchange qualifies it. Returns the
    registrations that changed."""
    changed = []
    for reg in listing.registrations:
        if terms_changed and reg.state in d.STANDING_REGISTRATION_STATES:
            _tell(session, reg, "registration.declare_again" if conditions_changed else "registration.terms_changed",
                  clock, at=when(clock.now()), ends=deadline(listing.publicity_ends_at))
        if conditions_changed and reg.state == d.RegistrationState.QUALIFIED:
            reg.qualified_at = None
            _move(session, actor, reg, d.RegistrationState.DEPOSIT_PAID, clock,
                  "the qualification conditions changed: the buyer must declare again")
            reg.decision_reason = None  # the note went with the qualification; the reason stays in the audit trail
            changed.append(reg)
            continue
        if reg.state != d.RegistrationState.PENDING_DEPOSIT:
            continue
        before = {"deposit_fen": reg.deposit_fen, "deposit_due_at": reg.deposit_due_at}
        reg.deposit_due_at = listing.publicity_ends_at  # set first: a re-quote may fund the deposit at once
        if deposit_requote:
            reg.deposit_fen = deposit_requote[0](session, reg, clock)
        else:
            reg.deposit_fen, _barred = _policy(session, reg.buyer, listing, clock)  # registered: not re-barred
        session.flush()
        after = {"deposit_fen": reg.deposit_fen, "deposit_due_at": reg.deposit_due_at}
        if before == after:
            continue
        record_event(session, actor=actor, action="registration.terms_changed", subject_type="registration",
                     subject_ref=reg.ref, before=before, after=after,
                     reason=f"the terms of listing {listing.ref} changed", clock=clock)
        changed.append(reg)
    return changed


def _move(session: Session, actor: Actor, reg: BuyerRegistration, to: d.RegistrationState, clock: Clock,
          reason: str | None = None, *, extra: dict[str, Any] | None = None) -> BuyerRegistration:
    src = reg.state
    d.check_registration_transition(src, to)
    reg.state = to
    reg.decided_at = clock.now()
    if to == d.RegistrationState.QUALIFIED:
        reg.qualified_at = reg.decided_at
    if reason is not None:
        reg.decision_reason = reason
    session.flush()
    if to in (d.RegistrationState.QUALIFIED, d.RegistrationState.REJECTED):
        _tell(session, reg, f"registration.{to.value}", clock, reason=reason or "")
    record_event(session, actor=actor, action=f"registration.{to.value}", subject_type="registration",
                 subject_ref=reg.ref, before={"state": src}, after={"state": to, **(extra or {})}, reason=reason,
                 clock=clock)
    return reg


def _tell(session: Session, reg: BuyerRegistration, topic: str, clock: Clock, **params: str) -> None:
    """A notice to the buyer about its registration."""
    notify(session, party_id=reg.buyer_party_id, topic=topic, clock=clock,
           params={"registration": reg.ref, "listing": reg.listing.ref, "title": reg.listing.title, **params})


def mark_deposit_paid(session: Session, actor: Actor, ref: str, *, clock: Clock) -> BuyerRegistration:
    """The deposit is in (called by settlement when the hold is funded)."""
    reg, listing = lock_registration(session, ref)
    apply_due(session, listing, clock)
    if reg.state == d.RegistrationState.DEPOSIT_PAID:
        return reg
    if reg.state != d.RegistrationState.PENDING_DEPOSIT or clock.now() >= reg.deposit_due_at:
        raise StateError("The deposit deadline has passed; this registration has lapsed.",
                         code="deposit_deadline_passed")
    reg.deposit_paid_at = clock.now()
    return _move(session, actor, reg, d.RegistrationState.DEPOSIT_PAID, clock)


def confirm_deposit_manually(session: Session, actor: Actor, ref: str, *, clock: Clock) -> BuyerRegistration:
    """The operator confirms a deposit that reached the exchange's account without an automatic match.

    The money is recorded in the ledger first (settlement's hook), so a registration is
    never marked paid without the deposit being held at the exchange.
    """
    reg, _listing = lock_registration(session, ref)
    if MANUAL_DEPOSIT and reg.state == d.RegistrationState.PENDING_DEPOSIT:
        MANUAL_DEPOSIT[0](session, actor, reg, clock)
        session.refresh(reg)
        return reg
    return mark_deposit_paid(session, actor, ref, clock=clock)


def decide_registration(session: Session, actor: Actor, ref: str, *, qualify: bool, reason: str,
                        clock: Clock) -> BuyerRegistration:
    """The operator qualifies the buyer, or rejects it with a reason."""
    reg, listing = lock_registration(session, ref)
    apply_due(session, listing, clock)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True, min_length=0 if qualify else 1)
    if listing.state not in (d.ListingState.PUBLISHED, d.ListingState.SUSPENDED):
        raise StateError("Buyers are qualified while the listing is in publicity.", code="publicity_not_open")
    if reg.state == d.RegistrationState.PENDING_DEPOSIT:
        raise StateError("The deposit has not been received yet.", code="deposit_not_paid")
    if qualify and reg.declaration_outdated:
        raise StateError("The qualification conditions changed after this buyer's declaration; it must declare "
                         "again before it can be qualified.", code="declaration_outdated")
    to = d.RegistrationState.QUALIFIED if qualify else d.RegistrationState.REJECTED
    return _move(session, actor, reg, to, clock, reason or None)


def withdraw_registration(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock,
                          expect_forfeit: bool | None = None) -> BuyerRegistration:
    """The buyer withdraws. Qualified under the terms in force, it forfeits the deposit (settlement
    acts on ``forfeit_on_withdrawal``); otherwise the deposit is refunded. ``expect_forfeit`` is what
    the buyer was told before it confirmed: if the answer changed meanwhile (qualified, or new terms),
    the withdrawal is refused so that nobody loses a deposit it was told it would get back."""
    reg, _listing = _own_registration_in_publicity(session, actor, ref, clock, "withdrawn")
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    d.check_registration_transition(reg.state, d.RegistrationState.WITHDRAWN)
    forfeits = reg.withdrawal_forfeits_deposit
    if expect_forfeit is not None and expect_forfeit != forfeits:
        raise ConflictError("What withdrawing means for your deposit changed since you were told; look again and "
                            "confirm.", code="withdrawal_terms_changed")
    reg.forfeit_on_withdrawal = forfeits
    return _move(session, actor, reg, d.RegistrationState.WITHDRAWN, clock, reason,
                 extra={"forfeit_on_withdrawal": reg.forfeit_on_withdrawal})


def renew_declaration(session: Session, actor: Actor, ref: str, declaration: str, *,
                      clock: Clock) -> BuyerRegistration:
    """The buyer declares again, against qualification conditions that changed after it registered."""
    reg, listing = _own_registration_in_publicity(session, actor, ref, clock, "renewed")
    declaration = clean_text(declaration, "declaration", max_length=5000, multiline=True)
    if reg.state not in (d.RegistrationState.PENDING_DEPOSIT, d.RegistrationState.DEPOSIT_PAID):
        raise StateError("Only a registration still waiting for its deposit or its qualification declares again.",
                         code="invalid_transition")
    if not reg.declaration_outdated:
        raise StateError("The declaration already answers the conditions now published.", code="declaration_current")
    before = {"declaration": reg.declaration, "declared_at": reg.declared_at}
    reg.declaration, reg.declared_at = declaration, clock.now()
    session.flush()
    record_event(session, actor=actor, action="registration.declaration_renewed", subject_type="registration",
                 subject_ref=reg.ref, before=before, after={"declaration": reg.declaration,
                                                            "declared_at": reg.declared_at,
                                                            "conditions": listing.qualification_conditions},
                 clock=clock)
    return reg


def _own_registration_in_publicity(session: Session, actor: Actor, ref: str, clock: Clock,
                                   what: str) -> tuple[BuyerRegistration, Any]:
    """The buyer's own registration, locked, with its listing still in publicity."""
    if actor.party_id != load_registration(session, ref).buyer_party_id:
        raise NotFoundError(f"No registration {ref}.", code="registration_not_found")
    reg, listing = lock_registration(session, ref)
    # Once publicity has ended (job not run yet) the qualified buyers are fixed: apply the end first.
    apply_due(session, listing, clock)
    if listing.state not in (d.ListingState.PUBLISHED, d.ListingState.SUSPENDED):
        if what == "withdrawn":
            raise StateError("Registrations can be withdrawn only during publicity.", code="publicity_not_open")
        raise StateError("Declarations can be renewed only during publicity.", code="publicity_not_open")
    return reg, listing


def registrations_of(session: Session, party_id: int) -> list[BuyerRegistration]:
    return list(session.scalars(sa.select(BuyerRegistration).where(BuyerRegistration.buyer_party_id == party_id)
                                .order_by(BuyerRegistration.id.desc())))
