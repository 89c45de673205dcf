"""Bidding rules (竞价) as plain Python: formats, states, bid validity, ranking, closing.

The service layer holds a row lock on the auction, loads an ``AuctionRules`` and an
``AuctionSnapshot`` from the row, calls the functions here with the exchange's clock
reading, and persists whatever snapshot comes back. Nothing here touches a clock,
a database or a web framework, so every rule is tested in milliseconds.

Amounts are plain ``int`` fen inside the engine: the bid path is hot and a
``Money`` per comparison would be pure churn. Convert at the edges.

Times are timezone-aware datetimes handed in by the caller. Every window is
half-open ``[opens, closes)``: a bid *at* the closing instant is late.

Ascending timing, as the exchanges run it: the free-bidding period (自由报价期)
runs from ``starts_at`` to ``free_period_ends_at``; the limited-time period
(限时报价期) starts right then with a first countdown of ``countdown_seconds``;
each accepted bid restarts the countdown; bidding ends when a countdown runs out
with no new bid, or at ``hard_end_at`` if that comes first. Hence::

    effective_end = min(hard_end_at, max(free_period_ends_at, last_bid_at) + countdown)

A bid during the free period changes nothing (``max`` keeps ``free_period_ends_at``).
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from exchange.errors import ConflictError, RuleViolationError, StateError, ValidationError

#: Upper bound for any bid, in fen (10^13 yuan). Far above any real deal, far below
#: the signed 64-bit column limit, so arithmetic on it can never overflow the database.
MAX_BID_FEN = 10**15
DEFAULT_COUNTDOWN_SECONDS = 300
MAX_DESCENDING_SECONDS = 7 * 24 * 3600


# --------------------------------------------------------------------------- enums
class AuctionFormat(enum.StrEnum):
    """How the price is discovered."""

    ASCENDING = "ascending"  # 网络动态报价
    SEALED = "sealed"  # 一次报价
    DESCENDING = "descending"  # 减价


class AuctionState(enum.StrEnum):
    """Persisted lifecycle state. ``open`` covers both the free and the limited period."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class AuctionPhase(enum.StrEnum):
    """Where the auction stands at an instant; derived from time, never stored."""

    NOT_STARTED = "not_started"
    FREE = "free"
    LIMITED = "limited"
    ENDED = "ended"


#: Allowed state transitions. ``scheduled -> closed`` exists because correctness
#: never waits for the scheduler: an auction nobody flipped to ``open`` can still be
#: closed once it is due.
AUCTION_TRANSITIONS: dict[AuctionState, frozenset[AuctionState]] = {
    AuctionState.SCHEDULED: frozenset({AuctionState.OPEN, AuctionState.CLOSED, AuctionState.CANCELLED}),
    AuctionState.OPEN: frozenset({AuctionState.CLOSED, AuctionState.CANCELLED}),
    AuctionState.CLOSED: frozenset(),
    AuctionState.CANCELLED: frozenset(),
}


def check_transition(current: AuctionState | str, target: AuctionState | str) -> AuctionState:
    """Return ``target`` as an ``AuctionState`` if ``current -> target`` is allowed.

    Raises ``StateError(code="invalid_auction_transition")`` otherwise.
    """
    src, dst = AuctionState(current), AuctionState(target)
    if dst not in AUCTION_TRANSITIONS[src]:
        raise StateError(
            f"An auction cannot go from {src} to {dst}.",
            code="invalid_auction_transition",
            details={"from": str(src), "to": str(dst)},
        )
    return dst


# --------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionRules:
    """The settings of one auction, fixed when it is scheduled.

    Keyword-only because most fields only matter for one format. Construction does
    not validate (rules loaded from a row were validated when they were set); call
    ``validate_rules`` whenever rules come from outside.
    """

    format: AuctionFormat
    start_price: int  # fen; the listing price; also the reserve for sealed bids
    starts_at: datetime
    increment: int | None = None  # fen; required for ascending
    free_period_ends_at: datetime | None = None  # ascending
    countdown_seconds: int = DEFAULT_COUNTDOWN_SECONDS  # ascending
    hard_end_at: datetime | None = None  # ascending, optional cap
    leader_may_raise: bool = False  # ascending
    sealed_closes_at: datetime | None = None  # sealed
    step_down: int | None = None  # descending, fen per step
    step_interval_seconds: int | None = None  # descending
    floor_price: int | None = None  # descending, fen


@dataclass(frozen=True, slots=True, kw_only=True)
class AuctionSnapshot:
    """What the auction row holds between bids.

    ``effective_end_at`` is the instant bidding ends as things stand: for ascending,
    ``min(hard_end, max(free_period_end, last_bid_at) + countdown)``; for sealed, the
    sealed deadline; for descending, the end of the floor's interval, or the moment
    of acceptance once someone accepted. ``None`` means "derive it from the rules".
    ``descending_step`` is the step index (0 = start price) at acceptance, or 0 before.
    """

    state: AuctionState = AuctionState.SCHEDULED
    current_price: int | None = None
    leader_bidder_no: str | None = None
    bid_count: int = 0
    last_bid_at: datetime | None = None
    effective_end_at: datetime | None = None
    descending_step: int | None = None


@dataclass(frozen=True, slots=True)
class BidRecord:
    """One accepted bid in the bidding record (竞价记录). ``seq`` breaks exact-time ties."""

    bidder_no: str
    amount: int
    placed_at: datetime
    seq: int


@dataclass(frozen=True, slots=True, repr=False)
class SealedBid(BidRecord):
    """A sealed bid. Its ``repr`` hides the amount so logs and tracebacks cannot leak it.

    Show sealed bids to anyone only through ``public_view_sealed``.
    """

    def __repr__(self) -> str:
        return f"SealedBid(bidder_no={self.bidder_no!r}, amount=<sealed>, placed_at={self.placed_at!r}, seq={self.seq!r})"


@dataclass(frozen=True, slots=True)
class SealedView:
    """What may be shown of sealed bids at an instant.

    Before the close there is no amount anywhere in it (``bids`` is empty), only the
    count; after the close ``bids`` is the full ranking.
    """

    revealed: bool
    count: int
    closes_at: datetime
    bids: tuple[BidRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class CloseResult:
    """The outcome of closing: a winner and hammer price, or unsold (流拍)."""

    winner: BidRecord | None
    hammer_price: int | None
    unsold: bool


# --------------------------------------------------------------------------- helpers
def _require_aware(value: datetime, name: str) -> None:
    # Comparing naive and aware datetimes raises TypeError deep inside a rule; a
    # named error at the door is kinder. Naive times are a programming error, not input.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _require_format(rules: AuctionRules, expected: AuctionFormat) -> None:
    if rules.format != expected:
        raise StateError(
            f"This is a {rules.format} auction, not {expected}.",
            code="wrong_auction_format",
            details={"format": str(rules.format), "expected": str(expected)},
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_amount(amount: Any) -> int:
    if not _is_int(amount) or amount <= 0 or amount > MAX_BID_FEN:
        raise ValidationError(
            "A bid is a positive whole number of fen within the allowed range.",
            code="invalid_amount",
            field="amount",
            details={"max": MAX_BID_FEN},
        )
    return amount


def _not_qualified() -> RuleViolationError:
    return RuleViolationError(
        "Only qualified bidders may bid in this auction.", code="not_qualified"
    )


def _not_open(opens_at: datetime) -> StateError:
    return StateError(
        "Bidding has not started yet.",
        code="auction_not_open",
        details={"starts_at": opens_at.isoformat()},
    )


def _closed(ended_at: datetime | None, state: AuctionState | str | None = None) -> StateError:
    details: dict[str, Any] = {}
    if ended_at is not None:
        details["ended_at"] = ended_at.isoformat()
    if state is not None:
        details["state"] = str(state)
    return StateError("Bidding has ended.", code="auction_closed", details=details)


_FINISHED_STATES = (AuctionState.CLOSED, AuctionState.CANCELLED)


# --------------------------------------------------------------------------- rules
def validate_rules(rules: AuctionRules) -> None:
    """Refuse rules that cannot run. Raises ``ValidationError(code="invalid_auction_rules")``
    with ``field`` naming the first offending setting."""

    def bad(name: str, message: str) -> ValidationError:
        return ValidationError(message, code="invalid_auction_rules", field=name)

    def need_time(name: str, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise bad(name, f"{name} is required for {fmt} auctions.")
        if value.tzinfo is None or value.utcoffset() is None:
            raise bad(name, f"{name} must be timezone-aware.")
        return value

    def need_fen(name: str, value: Any, *, required: bool = True) -> int | None:
        if value is None and not required:
            return None
        if not _is_int(value) or not 0 < value <= MAX_BID_FEN:
            raise bad(name, f"{name} must be a positive whole number of fen up to {MAX_BID_FEN}.")
        return value

    try:
        fmt = AuctionFormat(rules.format)
    except ValueError:
        raise bad("format", f"Unknown auction format {rules.format!r}.") from None
    need_fen("start_price", rules.start_price)
    starts_at = need_time("starts_at", rules.starts_at)
    # An increment given for any format must make sense, even if only ascending uses it.
    need_fen("increment", rules.increment, required=fmt is AuctionFormat.ASCENDING)

    if fmt is AuctionFormat.ASCENDING:
        free_end = need_time("free_period_ends_at", rules.free_period_ends_at)
        if free_end < starts_at:
            raise bad("free_period_ends_at", "The free-bidding period cannot end before it starts.")
        if not _is_int(rules.countdown_seconds) or rules.countdown_seconds <= 0:
            raise bad("countdown_seconds", "The countdown must be a positive number of seconds.")
        if rules.hard_end_at is not None:
            hard_end = need_time("hard_end_at", rules.hard_end_at)
            if hard_end < free_end:
                raise bad("hard_end_at", "The hard end cannot come before the free-bidding period ends.")
        if not isinstance(rules.leader_may_raise, bool):
            raise bad("leader_may_raise", "leader_may_raise must be true or false.")
    elif fmt is AuctionFormat.SEALED:
        closes = need_time("sealed_closes_at", rules.sealed_closes_at)
        if closes <= starts_at:
            raise bad("sealed_closes_at", "The sealed-bid deadline must come after the start.")
    else:
        need_fen("step_down", rules.step_down)
        if not _is_int(rules.step_interval_seconds) or rules.step_interval_seconds <= 0:
            raise bad("step_interval_seconds", "The step interval must be a positive number of seconds.")
        floor = need_fen("floor_price", rules.floor_price)
        assert floor is not None
        if floor > rules.start_price:
            raise bad("floor_price", "The floor price cannot exceed the start price.")
        # A descending auction that would take weeks to reach its floor is a mistake in the settings.
        steps = -(-(rules.start_price - floor) // rules.step_down)
        if (steps + 1) * rules.step_interval_seconds > MAX_DESCENDING_SECONDS:
            raise bad("step_down", "The price would take more than 7 days to reach the floor; "
                                   "use bigger steps or shorter intervals.")


def initial_snapshot(rules: AuctionRules) -> AuctionSnapshot:
    """The snapshot of a freshly scheduled auction (no bids, end derived from the rules)."""
    return AuctionSnapshot(
        state=AuctionState.SCHEDULED,
        effective_end_at=effective_end(rules, None),
        descending_step=0 if rules.format == AuctionFormat.DESCENDING else None,
    )


def effective_end(rules: AuctionRules, last_bid_at: datetime | None = None) -> datetime:
    """The instant bidding ends given the last accepted bid (``None``: no bid yet).

    Ascending: ``min(hard_end, max(free_period_end, last_bid_at) + countdown)``.
    Sealed: the sealed deadline. Descending: the acceptance time if there was one,
    else the end of the floor price's interval.
    """
    if rules.format == AuctionFormat.ASCENDING:
        free_end = rules.free_period_ends_at
        assert free_end is not None, "validate_rules first"
        base = free_end if last_bid_at is None or last_bid_at < free_end else last_bid_at
        end = base + timedelta(seconds=rules.countdown_seconds)
        hard = rules.hard_end_at
        return hard if hard is not None and end > hard else end
    if rules.format == AuctionFormat.SEALED:
        assert rules.sealed_closes_at is not None, "validate_rules first"
        return rules.sealed_closes_at
    return last_bid_at if last_bid_at is not None else descending_ends_at(rules)


def _current_end(rules: AuctionRules, snapshot: AuctionSnapshot) -> datetime:
    end = snapshot.effective_end_at
    return end if end is not None else effective_end(rules, snapshot.last_bid_at)


def phase_at(rules: AuctionRules, snapshot: AuctionSnapshot, now: datetime) -> AuctionPhase:
    """The phase at ``now``. ``limited`` only exists for ascending auctions; the other
    formats are ``free`` while open. A closed or cancelled auction is ``ended``."""
    _require_aware(now, "now")
    if snapshot.state in _FINISHED_STATES:
        return AuctionPhase.ENDED
    if now < rules.starts_at:
        return AuctionPhase.NOT_STARTED
    if now >= _current_end(rules, snapshot):
        return AuctionPhase.ENDED
    if rules.format == AuctionFormat.ASCENDING:
        assert rules.free_period_ends_at is not None
        if now >= rules.free_period_ends_at:
            return AuctionPhase.LIMITED
    return AuctionPhase.FREE


# --------------------------------------------------------------------------- ascending
def min_next_bid(rules: AuctionRules, snapshot: AuctionSnapshot) -> int:
    """The lowest acceptable next bid: the start price, or current price + one increment."""
    if snapshot.current_price is None:
        return rules.start_price
    assert rules.increment is not None, "validate_rules first"
    return snapshot.current_price + rules.increment


def validate_ascending_bid(
    rules: AuctionRules,
    snapshot: AuctionSnapshot,
    bidder_no: str,
    amount: int,
    now: datetime,
    qualified: bool,
) -> AuctionSnapshot:
    """Check one ascending bid against the locked snapshot; return the snapshot after accepting it.

    Checks, in this order (the first failure is raised):

    * ``not_qualified`` (RuleViolationError) - bidder not qualified;
    * ``auction_closed`` (StateError) - auction closed/cancelled, or ``now`` at or after
      the effective end even if the row still says ``open``;
    * ``auction_not_open`` (StateError) - before ``starts_at``;
    * ``invalid_amount`` (ValidationError) - not an int, <= 0, or > ``MAX_BID_FEN``;
    * ``already_leading`` (RuleViolationError) - the leader raising its own bid when
      ``leader_may_raise`` is off;
    * ``bid_too_low`` (RuleViolationError) - first bid under the start price, or a later
      bid not above the current price;
    * ``not_increment_multiple`` (RuleViolationError) - the raise over the current price
      (over the start price for the first bid) is not a whole multiple of the increment.

    An accepted bid in the limited period restarts the countdown: the new effective
    end is ``now + countdown`` capped at the hard end, and never earlier than before.
    A scheduled row is treated as open once ``starts_at`` has passed (the scheduler
    may be late); the returned snapshot says ``open``.
    """
    _require_format(rules, AuctionFormat.ASCENDING)
    _require_aware(now, "now")
    if not qualified:
        raise _not_qualified()
    if snapshot.state in _FINISHED_STATES:
        raise _closed(snapshot.effective_end_at, snapshot.state)
    if now < rules.starts_at:
        raise _not_open(rules.starts_at)
    end = _current_end(rules, snapshot)
    if now >= end:
        raise _closed(end)
    _check_amount(amount)
    if not bidder_no or not isinstance(bidder_no, str):
        raise ValidationError("A bid needs a bidder number.", code="invalid_bidder_no", field="bidder_no")

    increment = rules.increment
    assert increment is not None, "validate_rules first"
    current = snapshot.current_price
    if current is None:
        base = rules.start_price
        if amount < base:
            raise RuleViolationError(
                "The first bid must be at least the start price.",
                code="bid_too_low",
                field="amount",
                details={"min_bid": base},
            )
    else:
        if bidder_no == snapshot.leader_bidder_no and not rules.leader_may_raise:
            raise RuleViolationError(
                "You already hold the highest bid.", code="already_leading"
            )
        base = current
        if amount <= current:
            raise RuleViolationError(
                "A bid must be above the current price.",
                code="bid_too_low",
                field="amount",
                details={"current_price": current, "min_bid": current + increment},
            )
    if (amount - base) % increment:
        raise RuleViolationError(
            "The raise must be a whole multiple of the increment.",
            code="not_increment_multiple",
            field="amount",
            details={"base": base, "increment": increment},
        )

    # max() keeps the "countdown only extends" promise even if a row's stored end was
    # set later than the formula would give (e.g. by an operator extension).
    new_end = effective_end(rules, now)
    if new_end < end:
        new_end = end
    return replace(
        snapshot,
        state=AuctionState.OPEN,
        current_price=amount,
        leader_bidder_no=bidder_no,
        bid_count=snapshot.bid_count + 1,
        last_bid_at=now,
        effective_end_at=new_end,
    )


# --------------------------------------------------------------------------- sealed
def validate_sealed_bid(
    rules: AuctionRules,
    now: datetime,
    has_bid_already: bool,
    amount: int,
    qualified: bool,
    *,
    state: AuctionState | str | None = None,
) -> int:
    """Check a one-shot sealed bid; return the amount to record.

    Codes in order: ``not_qualified``; ``auction_closed`` (``state`` closed/cancelled,
    or ``now`` at/after ``sealed_closes_at``); ``auction_not_open`` (before
    ``starts_at``); ``sealed_bid_exists`` (ConflictError, one bid per bidder);
    ``invalid_amount``; ``bid_too_low`` (under the start price, which is the reserve).
    """
    _require_format(rules, AuctionFormat.SEALED)
    _require_aware(now, "now")
    if not qualified:
        raise _not_qualified()
    closes = rules.sealed_closes_at
    assert closes is not None, "validate_rules first"
    if state is not None and AuctionState(state) in _FINISHED_STATES:
        raise _closed(None, state)
    if now >= closes:
        raise _closed(closes)
    if now < rules.starts_at:
        raise _not_open(rules.starts_at)
    if has_bid_already:
        raise ConflictError("You have already submitted your sealed bid.", code="sealed_bid_exists")
    _check_amount(amount)
    if amount < rules.start_price:
        raise RuleViolationError(
            "A sealed bid must be at least the start price.",
            code="bid_too_low",
            field="amount",
            details={"min_bid": rules.start_price},
        )
    return amount


def public_view_sealed(bids: Iterable[BidRecord], now: datetime, rules: AuctionRules) -> SealedView:
    """What anyone but the engine may see of sealed bids at ``now``.

    Before ``sealed_closes_at`` only the count; at and after it, every bid, ranked.
    This is the only sanctioned way to present sealed bids.
    """
    _require_format(rules, AuctionFormat.SEALED)
    _require_aware(now, "now")
    closes = rules.sealed_closes_at
    assert closes is not None, "validate_rules first"
    materialised = tuple(bids)
    if now < closes:
        return SealedView(revealed=False, count=len(materialised), closes_at=closes)
    return SealedView(revealed=True, count=len(materialised), closes_at=closes, bids=tuple(rank_bids(materialised)))


# --------------------------------------------------------------------------- descending
def _descending_params(rules: AuctionRules) -> tuple[int, int, int]:
    step_down, interval, floor = rules.step_down, rules.step_interval_seconds, rules.floor_price
    assert step_down is not None and interval is not None and floor is not None, "validate_rules first"
    return step_down, interval, floor


def _descending_floor_step(rules: AuctionRules) -> int:
    step_down, _, floor = _descending_params(rules)
    # Ceiling division: the first step whose price reaches (or is clamped to) the floor.
    return -(-(rules.start_price - floor) // step_down)


def descending_ends_at(rules: AuctionRules) -> datetime:
    """The instant the floor price's interval runs out: after it, the auction is unsold."""
    _, interval, _ = _descending_params(rules)
    return rules.starts_at + timedelta(seconds=interval * (_descending_floor_step(rules) + 1))


def descending_step_at(rules: AuctionRules, now: datetime) -> int:
    """The step index at ``now`` (0 = start price), clamped to the floor's step."""
    _require_aware(now, "now")
    _, interval, _ = _descending_params(rules)
    if now < rules.starts_at:
        return 0
    step = (now - rules.starts_at) // timedelta(seconds=interval)
    floor_step = _descending_floor_step(rules)
    return step if step < floor_step else floor_step


def descending_price_at(rules: AuctionRules, now: datetime) -> int:
    """The asking price at ``now``: the start price minus one ``step_down`` per elapsed
    interval, never below the floor. Before the start it is the start price."""
    step_down, _, floor = _descending_params(rules)
    price = rules.start_price - descending_step_at(rules, now) * step_down
    return price if price > floor else floor


def validate_descending_accept(
    rules: AuctionRules,
    now: datetime,
    qualified: bool,
    *,
    snapshot: AuctionSnapshot | None = None,
) -> int:
    """Check an acceptance of the current descending price; return that price.

    Codes: ``not_qualified``; ``auction_closed`` (closed/cancelled, someone already
    accepted, or the floor's interval has run out); ``auction_not_open``.
    Pass the locked ``snapshot`` so that only the first acceptance wins.
    """
    _require_format(rules, AuctionFormat.DESCENDING)
    _require_aware(now, "now")
    if not qualified:
        raise _not_qualified()
    if snapshot is not None:
        if snapshot.state in _FINISHED_STATES:
            raise _closed(snapshot.effective_end_at, snapshot.state)
        if snapshot.leader_bidder_no is not None:
            raise _closed(snapshot.last_bid_at)
    ends = descending_ends_at(rules)
    if now >= ends:
        raise _closed(ends)
    if now < rules.starts_at:
        raise _not_open(rules.starts_at)
    return descending_price_at(rules, now)


def accept_descending(
    rules: AuctionRules,
    snapshot: AuctionSnapshot,
    bidder_no: str,
    now: datetime,
    qualified: bool,
) -> AuctionSnapshot:
    """Apply an acceptance: the snapshot after ``bidder_no`` takes the price at ``now``.

    Bidding ends at the acceptance (``effective_end_at = now``); the state stays for
    the service to close with ``close_result``.
    """
    price = validate_descending_accept(rules, now, qualified, snapshot=snapshot)
    if not bidder_no or not isinstance(bidder_no, str):
        raise ValidationError("An acceptance needs a bidder number.", code="invalid_bidder_no", field="bidder_no")
    return replace(
        snapshot,
        state=AuctionState.OPEN,
        current_price=price,
        leader_bidder_no=bidder_no,
        bid_count=snapshot.bid_count + 1,
        last_bid_at=now,
        effective_end_at=now,
        descending_step=descending_step_at(rules, now),
    )


def descending_ended_unsold(
    rules: AuctionRules, now: datetime, snapshot: AuctionSnapshot | None = None
) -> bool:
    """True once the floor price's interval has run out with no acceptance."""
    _require_format(rules, AuctionFormat.DESCENDING)
    _require_aware(now, "now")
    if snapshot is not None and snapshot.leader_bidder_no is not None:
        return False
    return now >= descending_ends_at(rules)


# --------------------------------------------------------------------------- ranking
def _rank_key(bid: BidRecord) -> tuple[int, datetime, int]:
    return (-bid.amount, bid.placed_at, bid.seq)


def rank_bids(bids: Iterable[BidRecord]) -> list[BidRecord]:
    """Best first: highest amount, then earliest ``placed_at``, then lowest ``seq``."""
    return sorted(bids, key=_rank_key)


def winner(bids: Iterable[BidRecord]) -> BidRecord | None:
    """The best bid by ``rank_bids`` order, or ``None`` when there is none."""
    return min(bids, key=_rank_key, default=None)


def runner_up_offer(bids: Iterable[BidRecord], winner_bidder_no: str) -> BidRecord | None:
    """The bid to offer the deal on if the winner defaults.

    Each other bidder's *last* bid (latest ``placed_at``, then ``seq``) is its
    standing offer; the best of those, by ranking, is returned.
    """
    last: dict[str, BidRecord] = {}
    for bid in bids:
        if bid.bidder_no == winner_bidder_no:
            continue
        seen = last.get(bid.bidder_no)
        if seen is None or (bid.placed_at, bid.seq) > (seen.placed_at, seen.seq):
            last[bid.bidder_no] = bid
    return winner(last.values())


# --------------------------------------------------------------------------- closing
def close_result(
    rules: AuctionRules,
    snapshot: AuctionSnapshot,
    bids: Sequence[BidRecord],
    now: datetime,
) -> CloseResult:
    """Decide the outcome of a due auction from its accepted bids.

    ``bids`` are the accepted bids (ascending), all sealed bids (sealed), or the
    acceptance (descending). Raises ``auction_not_due`` (StateError) before the end,
    ``auction_cancelled`` (StateError) for a cancelled auction, and
    ``bid_record_mismatch`` (StateError) when the bidding record's best bid is not
    the snapshot's leader and price (ascending and descending) - a deal is never
    struck on records that disagree. Calling it twice is harmless; recording the
    close once is the service's job.
    """
    _require_aware(now, "now")
    if snapshot.state == AuctionState.CANCELLED:
        raise StateError("A cancelled auction has no result.", code="auction_cancelled")
    if rules.format == AuctionFormat.SEALED:
        due_at = effective_end(rules)
    elif rules.format == AuctionFormat.DESCENDING:
        due_at = snapshot.last_bid_at if snapshot.leader_bidder_no is not None else descending_ends_at(rules)
        assert due_at is not None
    else:
        due_at = _current_end(rules, snapshot)
    if now < due_at:
        raise StateError(
            "Bidding has not ended yet.",
            code="auction_not_due",
            details={"ends_at": due_at.isoformat()},
        )
    best = winner(bids)
    if rules.format != AuctionFormat.SEALED:
        expected = (snapshot.leader_bidder_no, snapshot.current_price)
        got = (None, None) if best is None else (best.bidder_no, best.amount)
        if expected != got:
            raise StateError(
                "The bidding record does not match the auction's leader and price.",
                code="bid_record_mismatch",
                details={"snapshot": list(expected), "record": list(got)},
            )
    if best is None:
        return CloseResult(winner=None, hammer_price=None, unsold=True)
    return CloseResult(winner=best, hammer_price=best.amount, unsold=False)


# --------------------------------------------------------------------------- bidder numbers
def bidder_number(index: int) -> str:
    """The bidder number (竞买号) for the ``index``-th (1-based) qualified bidder of an
    auction: 1 -> ``"J001"``, 1000 -> ``"J1000"``. Bidders see numbers, never names."""
    if not _is_int(index) or index < 1:
        raise ValidationError("Bidder numbers start at 1.", code="invalid_bidder_index")
    return f"J{index:03d}"
