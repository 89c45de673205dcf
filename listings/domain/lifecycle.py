"""Listing lifecycle: transition tables, publicity on the business calendar,
suspension, withdrawal and buyer registration.

Periods follow the Civil Code (art. 201): the day an event happens is not
counted, the count starts the next day. So 20 working days of publicity
starting on day S end on the 20th working day *after* S, which is exactly
``calendar.add_working_days(S, 20)``.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from exchange.errors import ConflictError, RuleViolationError, StateError, ValidationError

from ._dates import add_months
from .enums import AssetConfirmation, ListingState, PublicityOutcome, RegistrationState

if TYPE_CHECKING:  # the calendar is injected; importing it only for types keeps this module pure
    from exchange.calendar import Deadline

DEFAULT_PUBLICITY_WORKING_DAYS = 20
DEFAULT_EXTENSION_WORKING_DAYS = 5
DEFAULT_MAX_SUSPENSION_MONTHS = 1
#: On resumption the publicity must total at least this many working days...
DEFAULT_RESUME_MINIMUM_TOTAL = DEFAULT_PUBLICITY_WORKING_DAYS
#: ...and run at least this many more, so buyers who saw the suspension can come back.
DEFAULT_RESUME_MINIMUM_MORE = 10


class WorkingDayCalendar(Protocol):
    """The part of ``exchange.calendar.BusinessCalendar`` these rules use."""

    def is_working_day(self, d: date) -> bool: ...

    def add_working_days(self, start: date, n: int) -> Deadline: ...

    def working_days_between(self, start: date, end: date) -> int: ...


# -- transition tables -----------------------------------------------------------------

_L = ListingState

#: Every allowed listing transition. Extending publicity or restarting it after
#: a change of terms keeps the listing ``published``: those are not transitions.
TRANSITIONS: dict[ListingState, set[ListingState]] = {
    _L.DRAFT: {_L.SUBMITTED, _L.WITHDRAWN},
    _L.SUBMITTED: {_L.PUBLISHED, _L.REJECTED, _L.WITHDRAWN},
    _L.REJECTED: {_L.DRAFT, _L.WITHDRAWN},  # the seller revises and resubmits, or gives up
    _L.PUBLISHED: {
        _L.SUSPENDED,
        _L.AWAITING_NEGOTIATION,
        _L.AWAITING_AUCTION,
        _L.UNSOLD,
        _L.TERMINATED,
        _L.WITHDRAWN,
    },
    _L.SUSPENDED: {_L.PUBLISHED, _L.TERMINATED, _L.WITHDRAWN},
    _L.AWAITING_NEGOTIATION: {_L.SOLD, _L.UNSOLD, _L.TERMINATED},
    # Unsold here: every qualified bidder dropped out before the auction opened.
    _L.AWAITING_AUCTION: {_L.IN_AUCTION, _L.UNSOLD, _L.TERMINATED},
    _L.IN_AUCTION: {_L.SOLD, _L.UNSOLD, _L.TERMINATED},
    # An unsold listing may be relisted (at a new price): it goes back to draft
    # and the service counts the attempt.
    _L.UNSOLD: {_L.DRAFT},
    # A winner that defaults (does not sign or pay) may send the listing back to unsold for relisting;
    # a seller that does not sign the deal ends it (终结): the trade failed on the seller's side.
    # Only the deal service takes these two steps; an operator cannot terminate a sold listing.
    _L.SOLD: {_L.UNSOLD, _L.TERMINATED},
    _L.TERMINATED: set(),
    _L.WITHDRAWN: set(),
}

TERMINAL_STATES: frozenset[ListingState] = frozenset({_L.SOLD, _L.TERMINATED, _L.WITHDRAWN})

_R = RegistrationState

REGISTRATION_TRANSITIONS: dict[RegistrationState, set[RegistrationState]] = {
    _R.PENDING_DEPOSIT: {_R.DEPOSIT_PAID, _R.LAPSED, _R.WITHDRAWN},
    _R.DEPOSIT_PAID: {_R.QUALIFIED, _R.REJECTED, _R.WITHDRAWN},
    # Withdrawing after qualifying forfeits the deposit (settlement decides, see withdrawal_forfeits_deposit).
    # A change of the published qualification conditions sends a qualified buyer back to review.
    _R.QUALIFIED: {_R.WITHDRAWN, _R.DEPOSIT_PAID},
    _R.REJECTED: set(),
    _R.LAPSED: set(),
    _R.WITHDRAWN: set(),
}

#: Registrations that stand in the way of the seller withdrawing the listing.
STANDING_REGISTRATION_STATES: frozenset[RegistrationState] = frozenset(
    {_R.PENDING_DEPOSIT, _R.DEPOSIT_PAID, _R.QUALIFIED}
)



def withdrawal_forfeits_deposit(qualified_at: datetime | None, terms_changed_at: datetime | None) -> bool:
    """Whether a buyer that withdraws now loses its deposit: only when it was qualified under the
    terms in force. A seller that changes published terms (price, deposit, conditions) restarts
    publicity, and every registered buyer may then walk away with its deposit refunded until that
    publicity ends, unless it is qualified again under the new terms (new conditions send qualified
    buyers back to review; after a change of price they stay qualified, and the exit stays open)."""
    if qualified_at is None:
        return False
    return terms_changed_at is None or qualified_at >= terms_changed_at


def declaration_outdated(declared_at: datetime, conditions_changed_at: datetime | None) -> bool:
    """Whether the buyer declared against qualification conditions that have since changed: the
    exchange cannot qualify it until it declares again against the conditions now published."""
    return conditions_changed_at is not None and declared_at < conditions_changed_at


_C = AssetConfirmation

CONFIRMATION_TRANSITIONS: dict[AssetConfirmation, set[AssetConfirmation]] = {
    _C.UNCONFIRMED: {_C.PENDING},
    _C.PENDING: {_C.CONFIRMED, _C.REJECTED},
    _C.REJECTED: {_C.PENDING},  # new evidence, new review
    _C.CONFIRMED: {_C.PENDING},  # a change (new pledge, new owner) reopens the review
}


_S = TypeVar("_S", bound=StrEnum)


def _check(table: Mapping[_S, Collection[_S]], what: str, src: _S, dst: _S) -> None:
    if dst not in table.get(src, ()):
        raise StateError(
            f"A {what} cannot go from {src.value} to {dst.value}.",
            code="invalid_transition",
            details={"from": src.value, "to": dst.value},
        )


def check_transition(src: ListingState, dst: ListingState) -> None:
    """Raise ``StateError`` ``invalid_transition`` unless ``TRANSITIONS`` allows ``src`` → ``dst``."""
    _check(TRANSITIONS, "listing", src, dst)


def check_registration_transition(src: RegistrationState, dst: RegistrationState) -> None:
    """Raise ``StateError`` ``invalid_transition`` unless ``REGISTRATION_TRANSITIONS`` allows it."""
    _check(REGISTRATION_TRANSITIONS, "registration", src, dst)


def check_confirmation_transition(src: AssetConfirmation, dst: AssetConfirmation) -> None:
    """Raise ``StateError`` ``invalid_transition`` unless ``CONFIRMATION_TRANSITIONS`` allows it."""
    _check(CONFIRMATION_TRANSITIONS, "rights confirmation", src, dst)


# -- publicity -------------------------------------------------------------------------------


def publicity_end(
    calendar: WorkingDayCalendar, start_day: date, working_days: int = DEFAULT_PUBLICITY_WORKING_DAYS
) -> Deadline:
    """The last day of publicity that starts on ``start_day`` (start day not counted).

    Also used when changed terms restart the count: pass the day of the change.
    """
    if working_days <= 0:
        raise ValidationError("Publicity lasts at least one working day.", code="invalid_input")
    return calendar.add_working_days(start_day, working_days)


def extended_end(
    calendar: WorkingDayCalendar, current_end: date, working_days: int = DEFAULT_EXTENSION_WORKING_DAYS
) -> Deadline:
    """The new last day after one extension of ``working_days`` beyond ``current_end``."""
    if working_days <= 0:
        raise ValidationError("An extension adds at least one working day.", code="invalid_input")
    return calendar.add_working_days(current_end, working_days)


def can_extend(extensions_used: int, max_extensions: int, allows_extension: bool, qualified_count: int) -> bool:
    """Extension happens only if the listing allows it, nobody qualified, and extensions remain."""
    return allows_extension and qualified_count == 0 and extensions_used < max_extensions


def outcome_at_end(qualified_count: int) -> PublicityOutcome:
    """None qualified → none; exactly one → negotiation (协议转让); two or more → auction (竞价)."""
    if qualified_count < 0:
        raise ValidationError("A count cannot be negative.", code="invalid_input")
    if qualified_count == 0:
        return PublicityOutcome.NONE
    return PublicityOutcome.NEGOTIATION if qualified_count == 1 else PublicityOutcome.AUCTION


class EndAction(StrEnum):
    """What to do when publicity ends."""

    EXTEND = "extend"
    UNSOLD = "unsold"
    NEGOTIATION = "negotiation"
    AUCTION = "auction"


def action_at_end(
    qualified_count: int, extensions_used: int, max_extensions: int, allows_extension: bool
) -> EndAction:
    """Combine ``outcome_at_end`` and ``can_extend`` into the one thing to do."""
    outcome = outcome_at_end(qualified_count)
    if outcome is PublicityOutcome.NEGOTIATION:
        return EndAction.NEGOTIATION
    if outcome is PublicityOutcome.AUCTION:
        return EndAction.AUCTION
    if can_extend(extensions_used, max_extensions, allows_extension, qualified_count):
        return EndAction.EXTEND
    return EndAction.UNSOLD


# -- suspension -------------------------------------------------------------------------------


def suspension_limit(suspended_on: date, max_months: int = DEFAULT_MAX_SUSPENSION_MONTHS) -> date:
    """The last day a suspension may normally last (same day next month, clamped to month end)."""
    return add_months(suspended_on, max_months)


def suspension_overdue(suspended_on: date, today: date, max_months: int = DEFAULT_MAX_SUSPENSION_MONTHS) -> bool:
    """True once a suspension has run past its normal limit and needs the operator's attention."""
    return today > suspension_limit(suspended_on, max_months)


def publicity_days_served(calendar: WorkingDayCalendar, start_day: date, suspended_on: date) -> int:
    """Working days of publicity served before a suspension taking effect on ``suspended_on``.

    The suspension day itself is not counted: buyers could not rely on it.
    """
    if suspended_on <= start_day:
        return 0
    return calendar.working_days_between(start_day, suspended_on - timedelta(days=1))


def resume_end(
    calendar: WorkingDayCalendar,
    resume_day: date,
    days_already_served: int,
    minimum_total: int = DEFAULT_RESUME_MINIMUM_TOTAL,
    minimum_more: int = DEFAULT_RESUME_MINIMUM_MORE,
) -> Deadline:
    """The new last day of publicity after resuming on ``resume_day`` (resume day not counted).

    The remaining run is ``max(minimum_total - served, minimum_more)`` working days.
    """
    if days_already_served < 0:
        raise ValidationError("Days served cannot be negative.", code="invalid_input")
    remaining = max(minimum_total - days_already_served, minimum_more)
    return calendar.add_working_days(resume_day, remaining)


# -- withdrawal -----------------------------------------------------------------------------


def check_can_withdraw(state: ListingState, standing_registrations: int) -> None:
    """The seller may withdraw only before anyone registers.

    ``standing_registrations`` counts registrations in ``STANDING_REGISTRATION_STATES``.
    Codes: ``invalid_transition`` (StateError), ``withdraw_after_registration`` (RuleViolationError).
    """
    check_transition(state, ListingState.WITHDRAWN)
    if standing_registrations > 0:
        raise RuleViolationError(
            "The listing cannot be withdrawn: buyers have already registered.",
            code="withdraw_after_registration",
            details={"registrations": standing_registrations},
        )


# -- registration -------------------------------------------------------------------------------


def check_can_register(
    *,
    buyer_party_id: str,
    seller_party_id: str,
    related_party_ids: Collection[str] = (),
    listing_state: ListingState,
    today: date,
    publicity_starts_on: date,
    publicity_ends_on: date,
    already_registered: bool,
    credit_barred: bool = False,
) -> None:
    """Whether a buyer may register interest in a listing today.

    Registration is open while the listing is published, from the publicity
    start to the end of its last day, both included.

    Codes: ``seller_cannot_register`` (RuleViolationError), ``publicity_not_open``
    (StateError), ``already_registered`` (ConflictError), ``not_eligible``
    (RuleViolationError, the buyer's credit record bars it).
    """
    if buyer_party_id == seller_party_id or buyer_party_id in related_party_ids:
        # A seller bidding on its own listing (directly or through a related party) inflates the price.
        raise RuleViolationError("The seller and its related parties may not register.",
                                 code="seller_cannot_register")
    if listing_state is not ListingState.PUBLISHED or not publicity_starts_on <= today <= publicity_ends_on:
        raise StateError("Registration is only open during publicity.", code="publicity_not_open")
    if already_registered:
        raise ConflictError("This buyer has already registered for the listing.", code="already_registered")
    if credit_barred:
        raise RuleViolationError("The buyer's credit record bars it from registering.", code="not_eligible")
