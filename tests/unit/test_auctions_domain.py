"""Bidding rules: refusals first (one test per code), then the happy paths, then properties."""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auctions.domain import (
    MAX_DESCENDING_SECONDS,
    AUCTION_TRANSITIONS,
    MAX_BID_FEN,
    AuctionFormat,
    AuctionPhase,
    AuctionRules,
    AuctionSnapshot,
    AuctionState,
    BidRecord,
    CloseResult,
    SealedBid,
    accept_descending,
    bidder_number,
    check_transition,
    close_result,
    descending_ended_unsold,
    descending_ends_at,
    descending_price_at,
    descending_step_at,
    effective_end,
    initial_snapshot,
    min_next_bid,
    phase_at,
    public_view_sealed,
    rank_bids,
    runner_up_offer,
    validate_ascending_bid,
    validate_descending_accept,
    validate_rules,
    validate_sealed_bid,
    winner,
)
from exchange.errors import ConflictError, DomainError, RuleViolationError, StateError, ValidationError

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
FREE_END = T0 + timedelta(hours=1)
S = timedelta(seconds=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def asc_rules(**overrides) -> AuctionRules:
    base = dict(
        format=AuctionFormat.ASCENDING,
        start_price=1_000_000,  # ¥10,000.00
        increment=10_000,  # ¥100.00
        starts_at=T0,
        free_period_ends_at=FREE_END,
        countdown_seconds=300,
    )
    base.update(overrides)
    return AuctionRules(**base)


def sealed_rules(**overrides) -> AuctionRules:
    base = dict(
        format=AuctionFormat.SEALED,
        start_price=1_000_000,
        starts_at=T0,
        sealed_closes_at=T0 + timedelta(days=1),
    )
    base.update(overrides)
    return AuctionRules(**base)


def desc_rules(**overrides) -> AuctionRules:
    base = dict(
        format=AuctionFormat.DESCENDING,
        start_price=1_000_000,
        starts_at=T0,
        step_down=100_000,
        step_interval_seconds=600,
        floor_price=650_000,
    )
    base.update(overrides)
    return AuctionRules(**base)


def open_snapshot(**overrides) -> AuctionSnapshot:
    return replace(initial_snapshot(asc_rules()), **{"state": AuctionState.OPEN, **overrides})


def bid(rules, snap, bidder, amount, when, qualified=True):
    return validate_ascending_bid(rules, snap, bidder, amount, when, qualified)


def code_of(excinfo) -> str:
    return excinfo.value.code


# =========================================================================== refusals
class TestAscendingRefusals:
    def test_not_qualified(self):
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), open_snapshot(), "J001", 1_000_000, at(10), qualified=False)
        assert code_of(e) == "not_qualified"

    def test_not_qualified_wins_over_everything_else(self):
        with pytest.raises(DomainError) as e:
            bid(asc_rules(), open_snapshot(), "J001", -5, at(-10), qualified=False)
        assert code_of(e) == "not_qualified"

    def test_before_start_is_not_open(self):
        with pytest.raises(StateError) as e:
            bid(asc_rules(), initial_snapshot(asc_rules()), "J001", 1_000_000, T0 - S)
        assert code_of(e) == "auction_not_open"
        assert e.value.status == 409

    def test_at_effective_end_is_closed_even_if_state_open(self):
        rules = asc_rules()
        snap = open_snapshot()
        end = snap.effective_end_at
        assert end == FREE_END + timedelta(seconds=300)
        with pytest.raises(StateError) as e:
            bid(rules, snap, "J001", 1_000_000, end)
        assert code_of(e) == "auction_closed"
        # one microsecond earlier is still in time
        assert bid(rules, snap, "J001", 1_000_000, end - timedelta(microseconds=1)).current_price == 1_000_000

    def test_after_effective_end_is_closed(self):
        with pytest.raises(StateError) as e:
            bid(asc_rules(), open_snapshot(), "J001", 1_000_000, FREE_END + timedelta(hours=1))
        assert code_of(e) == "auction_closed"

    @pytest.mark.parametrize("state", [AuctionState.CLOSED, AuctionState.CANCELLED])
    def test_closed_or_cancelled_state_is_closed(self, state):
        with pytest.raises(StateError) as e:
            bid(asc_rules(), open_snapshot(state=state), "J001", 1_000_000, at(10))
        assert code_of(e) == "auction_closed"

    def test_end_derived_when_snapshot_has_none(self):
        snap = AuctionSnapshot(state=AuctionState.OPEN)
        with pytest.raises(StateError) as e:
            bid(asc_rules(), snap, "J001", 1_000_000, FREE_END + timedelta(seconds=300))
        assert code_of(e) == "auction_closed"

    def test_at_hard_end_is_closed(self):
        hard = FREE_END + timedelta(seconds=100)
        rules = asc_rules(hard_end_at=hard)
        snap = replace(initial_snapshot(rules), state=AuctionState.OPEN)
        assert snap.effective_end_at == hard
        with pytest.raises(StateError) as e:
            bid(rules, snap, "J001", 1_000_000, hard)
        assert code_of(e) == "auction_closed"

    def test_first_bid_below_start(self):
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), open_snapshot(), "J001", 990_000, at(10))
        assert code_of(e) == "bid_too_low"
        assert e.value.details["min_bid"] == 1_000_000

    @pytest.mark.parametrize("amount", [1_010_000, 1_000_000])
    def test_later_bid_not_above_current(self, amount):
        snap = bid(asc_rules(), open_snapshot(), "J001", 1_010_000, at(10))
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), snap, "J002", amount, at(20))
        assert code_of(e) == "bid_too_low"
        assert e.value.details["min_bid"] == 1_020_000

    def test_first_bid_off_increment(self):
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), open_snapshot(), "J001", 1_000_001, at(10))
        assert code_of(e) == "not_increment_multiple"

    @pytest.mark.parametrize("amount", [1_015_000, 1_019_999, 1_030_001])
    def test_later_bid_off_increment(self, amount):
        snap = bid(asc_rules(), open_snapshot(), "J001", 1_000_000, at(10))
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), snap, "J002", amount, at(20))
        assert code_of(e) == "not_increment_multiple"

    def test_leader_may_not_raise_by_default(self):
        snap = bid(asc_rules(), open_snapshot(), "J001", 1_000_000, at(10))
        with pytest.raises(RuleViolationError) as e:
            bid(asc_rules(), snap, "J001", 1_010_000, at(20))
        assert code_of(e) == "already_leading"

    @pytest.mark.parametrize("amount", [0, -10_000, MAX_BID_FEN + 1, 10**30, True, 1.5, "1000000", None])
    def test_invalid_amount(self, amount):
        with pytest.raises(ValidationError) as e:
            bid(asc_rules(), open_snapshot(), "J001", amount, at(10))
        assert code_of(e) == "invalid_amount"
        assert e.value.field == "amount"

    def test_invalid_bidder_no(self):
        with pytest.raises(ValidationError) as e:
            bid(asc_rules(), open_snapshot(), "", 1_000_000, at(10))
        assert code_of(e) == "invalid_bidder_no"

    def test_wrong_format(self):
        with pytest.raises(StateError) as e:
            bid(sealed_rules(), open_snapshot(), "J001", 1_000_000, at(10))
        assert code_of(e) == "wrong_auction_format"

    def test_naive_time_is_a_programming_error(self):
        with pytest.raises(ValueError):
            bid(asc_rules(), open_snapshot(), "J001", 1_000_000, datetime(2026, 3, 2, 3, 0))


class TestRulesRefusals:
    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"format": "dutch"}, "format"),
            ({"start_price": 0}, "start_price"),
            ({"start_price": MAX_BID_FEN + 1}, "start_price"),
            ({"start_price": 10.5}, "start_price"),
            ({"increment": None}, "increment"),
            ({"increment": 0}, "increment"),
            ({"increment": -100}, "increment"),
            ({"starts_at": datetime(2026, 3, 2)}, "starts_at"),
            ({"free_period_ends_at": None}, "free_period_ends_at"),
            ({"free_period_ends_at": T0 - S}, "free_period_ends_at"),
            ({"countdown_seconds": 0}, "countdown_seconds"),
            ({"hard_end_at": FREE_END - S}, "hard_end_at"),
            ({"leader_may_raise": "yes"}, "leader_may_raise"),
        ],
    )
    def test_bad_ascending_rules(self, overrides, field):
        with pytest.raises(ValidationError) as e:
            validate_rules(asc_rules(**overrides))
        assert code_of(e) == "invalid_auction_rules"
        assert e.value.field == field

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [({"sealed_closes_at": None}, "sealed_closes_at"), ({"sealed_closes_at": T0}, "sealed_closes_at"),
         ({"increment": 0}, "increment")],
    )
    def test_bad_sealed_rules(self, overrides, field):
        with pytest.raises(ValidationError) as e:
            validate_rules(sealed_rules(**overrides))
        assert (code_of(e), e.value.field) == ("invalid_auction_rules", field)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"step_down": 0}, "step_down"),
            ({"step_down": None}, "step_down"),
            ({"step_interval_seconds": 0}, "step_interval_seconds"),
            ({"floor_price": 0}, "floor_price"),
            ({"floor_price": 1_000_001}, "floor_price"),
        ],
    )
    def test_bad_descending_rules(self, overrides, field):
        with pytest.raises(ValidationError) as e:
            validate_rules(desc_rules(**overrides))
        assert (code_of(e), e.value.field) == ("invalid_auction_rules", field)

    def test_good_rules_pass(self):
        for rules in (asc_rules(), asc_rules(hard_end_at=FREE_END), sealed_rules(), desc_rules(),
                      desc_rules(floor_price=1_000_000)):
            validate_rules(rules)


class TestSealedRefusals:
    def test_not_qualified(self):
        with pytest.raises(RuleViolationError) as e:
            validate_sealed_bid(sealed_rules(), at(10), False, 1_000_000, False)
        assert code_of(e) == "not_qualified"

    def test_not_open(self):
        with pytest.raises(StateError) as e:
            validate_sealed_bid(sealed_rules(), T0 - S, False, 1_000_000, True)
        assert code_of(e) == "auction_not_open"

    def test_closed_at_deadline(self):
        rules = sealed_rules()
        with pytest.raises(StateError) as e:
            validate_sealed_bid(rules, rules.sealed_closes_at, False, 1_000_000, True)
        assert code_of(e) == "auction_closed"

    def test_closed_by_state(self):
        with pytest.raises(StateError) as e:
            validate_sealed_bid(sealed_rules(), at(10), False, 1_000_000, True, state=AuctionState.CANCELLED)
        assert code_of(e) == "auction_closed"

    def test_second_bid(self):
        with pytest.raises(ConflictError) as e:
            validate_sealed_bid(sealed_rules(), at(10), True, 1_000_000, True)
        assert code_of(e) == "sealed_bid_exists"
        assert e.value.status == 409

    def test_below_reserve(self):
        with pytest.raises(RuleViolationError) as e:
            validate_sealed_bid(sealed_rules(), at(10), False, 999_999, True)
        assert code_of(e) == "bid_too_low"

    @pytest.mark.parametrize("amount", [0, -1, MAX_BID_FEN + 1, False])
    def test_invalid_amount(self, amount):
        with pytest.raises(ValidationError) as e:
            validate_sealed_bid(sealed_rules(), at(10), False, amount, True)
        assert code_of(e) == "invalid_amount"


class TestDescendingRefusals:
    def test_not_qualified(self):
        with pytest.raises(RuleViolationError) as e:
            validate_descending_accept(desc_rules(), at(10), False)
        assert code_of(e) == "not_qualified"

    def test_not_open(self):
        with pytest.raises(StateError) as e:
            validate_descending_accept(desc_rules(), T0 - S, True)
        assert code_of(e) == "auction_not_open"

    def test_closed_after_floor_interval(self):
        rules = desc_rules()
        # 1,000,000 -> 900k -> 800k -> 700k -> floor 650k (step 4), whose interval ends at 5 * 600 s
        assert descending_ends_at(rules) == at(3000)
        with pytest.raises(StateError) as e:
            validate_descending_accept(rules, at(3000), True)
        assert code_of(e) == "auction_closed"

    def test_second_acceptance_is_closed(self):
        rules = desc_rules()
        snap = accept_descending(rules, initial_snapshot(rules), "J001", at(700), True)
        with pytest.raises(StateError) as e:
            validate_descending_accept(rules, at(701), True, snapshot=snap)
        assert code_of(e) == "auction_closed"
        with pytest.raises(StateError):
            accept_descending(rules, snap, "J002", at(701), True)

    def test_cancelled(self):
        rules = desc_rules()
        snap = replace(initial_snapshot(rules), state=AuctionState.CANCELLED)
        with pytest.raises(StateError) as e:
            validate_descending_accept(rules, at(10), True, snapshot=snap)
        assert code_of(e) == "auction_closed"


class TestCloseRefusals:
    def test_ascending_not_due(self):
        rules = asc_rules()
        snap = open_snapshot()
        with pytest.raises(StateError) as e:
            close_result(rules, snap, [], snap.effective_end_at - S)
        assert code_of(e) == "auction_not_due"

    def test_sealed_not_due(self):
        rules = sealed_rules()
        with pytest.raises(StateError) as e:
            close_result(rules, initial_snapshot(rules), [], rules.sealed_closes_at - S)
        assert code_of(e) == "auction_not_due"

    def test_descending_not_due(self):
        rules = desc_rules()
        with pytest.raises(StateError) as e:
            close_result(rules, initial_snapshot(rules), [], at(2999))
        assert code_of(e) == "auction_not_due"

    def test_cancelled(self):
        rules = asc_rules()
        with pytest.raises(StateError) as e:
            close_result(rules, open_snapshot(state=AuctionState.CANCELLED), [], at(10**6))
        assert code_of(e) == "auction_cancelled"

    def test_record_mismatch(self):
        rules = asc_rules()
        snap = bid(rules, open_snapshot(), "J001", 1_000_000, at(10))
        with pytest.raises(StateError) as e:
            close_result(rules, snap, [], at(10**6))
        assert code_of(e) == "bid_record_mismatch"


class TestMiscRefusals:
    @pytest.mark.parametrize("index", [0, -1, True, "1"])
    def test_bidder_number(self, index):
        with pytest.raises(ValidationError) as e:
            bidder_number(index)
        assert code_of(e) == "invalid_bidder_index"

    def test_transition_refused(self):
        with pytest.raises(StateError) as e:
            check_transition(AuctionState.CLOSED, AuctionState.OPEN)
        assert code_of(e) == "invalid_auction_transition"


# =========================================================================== happy paths
class TestAscending:
    def test_min_next_bid(self):
        rules = asc_rules()
        snap = open_snapshot()
        assert min_next_bid(rules, snap) == 1_000_000
        snap = bid(rules, snap, "J001", 1_000_000, at(10))
        assert min_next_bid(rules, snap) == 1_010_000

    def test_first_bid_may_jump_by_multiples(self):
        snap = bid(asc_rules(), open_snapshot(), "J001", 1_050_000, at(10))
        assert snap.current_price == 1_050_000

    def test_accepted_bid_updates_snapshot(self):
        rules = asc_rules()
        snap = initial_snapshot(rules)
        assert snap.state == AuctionState.SCHEDULED  # the scheduler has not run yet
        snap = bid(rules, snap, "J001", 1_000_000, at(10))
        assert snap == AuctionSnapshot(
            state=AuctionState.OPEN,
            current_price=1_000_000,
            leader_bidder_no="J001",
            bid_count=1,
            last_bid_at=at(10),
            effective_end_at=FREE_END + timedelta(seconds=300),
        )

    def test_free_period_bid_does_not_move_the_end(self):
        rules = asc_rules()
        snap = bid(rules, open_snapshot(), "J001", 1_000_000, FREE_END - S)
        assert snap.effective_end_at == FREE_END + timedelta(seconds=300)

    def test_limited_period_bid_restarts_countdown(self):
        rules = asc_rules()
        snap = bid(rules, open_snapshot(), "J001", 1_000_000, FREE_END + timedelta(seconds=200))
        assert snap.effective_end_at == FREE_END + timedelta(seconds=500)
        snap = bid(rules, snap, "J002", 1_010_000, FREE_END + timedelta(seconds=499))
        assert snap.effective_end_at == FREE_END + timedelta(seconds=799)
        assert snap.effective_end_at == effective_end(rules, snap.last_bid_at)

    def test_countdown_capped_by_hard_end(self):
        hard = FREE_END + timedelta(seconds=400)
        rules = asc_rules(hard_end_at=hard)
        snap = replace(initial_snapshot(rules), state=AuctionState.OPEN)
        snap = bid(rules, snap, "J001", 1_000_000, FREE_END + timedelta(seconds=250))
        assert snap.effective_end_at == hard

    def test_countdown_never_shortens_a_stored_later_end(self):
        rules = asc_rules()
        extended = FREE_END + timedelta(hours=2)  # e.g. an operator extension
        snap = open_snapshot(effective_end_at=extended)
        snap = bid(rules, snap, "J001", 1_000_000, FREE_END + timedelta(seconds=10))
        assert snap.effective_end_at == extended

    def test_leader_may_raise_when_allowed(self):
        rules = asc_rules(leader_may_raise=True)
        snap = bid(rules, open_snapshot(), "J001", 1_000_000, at(10))
        snap = bid(rules, snap, "J001", 1_020_000, at(20))
        assert (snap.leader_bidder_no, snap.current_price, snap.bid_count) == ("J001", 1_020_000, 2)

    def test_phases(self):
        rules = asc_rules()
        snap = open_snapshot()
        assert phase_at(rules, snap, T0 - S) == AuctionPhase.NOT_STARTED
        assert phase_at(rules, snap, T0) == AuctionPhase.FREE
        assert phase_at(rules, snap, FREE_END - S) == AuctionPhase.FREE
        assert phase_at(rules, snap, FREE_END) == AuctionPhase.LIMITED
        assert phase_at(rules, snap, FREE_END + timedelta(seconds=300)) == AuctionPhase.ENDED
        assert phase_at(rules, replace(snap, state=AuctionState.CLOSED), at(10)) == AuctionPhase.ENDED

    def test_close_with_winner(self):
        rules = asc_rules()
        snap = open_snapshot()
        records = []
        for seq, (who, amount, t) in enumerate(
            [("J001", 1_000_000, at(10)), ("J002", 1_010_000, at(20)), ("J001", 1_050_000, FREE_END + S)], 1
        ):
            snap = bid(rules, snap, who, amount, t)
            records.append(BidRecord(who, amount, t, seq))
        result = close_result(rules, snap, records, snap.effective_end_at)
        assert result == CloseResult(winner=records[-1], hammer_price=1_050_000, unsold=False)
        assert runner_up_offer(records, "J001") == records[1]

    def test_close_unsold(self):
        rules = asc_rules()
        snap = open_snapshot()
        assert close_result(rules, snap, [], snap.effective_end_at) == CloseResult(None, None, True)


class TestSealed:
    def test_accepts_bid(self):
        assert validate_sealed_bid(sealed_rules(), at(10), False, 1_234_500, True) == 1_234_500

    def test_view_before_and_after_close(self):
        rules = sealed_rules()
        bids = [
            SealedBid("J001", 1_500_000, at(10), 1),
            SealedBid("J002", 1_700_000, at(20), 2),
            SealedBid("J003", 1_700_000, at(15), 3),
        ]
        before = public_view_sealed(bids, rules.sealed_closes_at - S, rules)
        assert (before.revealed, before.count, before.bids) == (False, 3, ())
        after = public_view_sealed(bids, rules.sealed_closes_at, rules)
        assert after.revealed and after.count == 3
        assert [b.bidder_no for b in after.bids] == ["J003", "J002", "J001"]  # tie -> earlier wins

    def test_sealed_bid_repr_hides_amount(self):
        text = repr(SealedBid("J001", 1_234_567, at(10), 1))
        assert "1234567" not in text and "<sealed>" in text

    def test_close(self):
        rules = sealed_rules()
        bids = [SealedBid("J001", 1_500_000, at(10), 1), SealedBid("J002", 1_600_000, at(20), 2)]
        result = close_result(rules, initial_snapshot(rules), bids, rules.sealed_closes_at)
        assert (result.winner.bidder_no, result.hammer_price, result.unsold) == ("J002", 1_600_000, False)


class TestDescending:
    def test_price_steps(self):
        rules = desc_rules()
        assert descending_price_at(rules, T0 - S) == 1_000_000
        assert descending_price_at(rules, at(0)) == 1_000_000
        assert descending_price_at(rules, at(599)) == 1_000_000
        assert descending_price_at(rules, at(600)) == 900_000
        assert descending_price_at(rules, at(1800)) == 700_000
        assert descending_price_at(rules, at(2400)) == 650_000  # clamped to the floor
        assert descending_price_at(rules, at(10**6)) == 650_000
        assert descending_step_at(rules, at(10**6)) == 4

    def test_accept(self):
        rules = desc_rules()
        assert validate_descending_accept(rules, at(1250), True) == 800_000
        snap = accept_descending(rules, initial_snapshot(rules), "J002", at(1250), True)
        assert (snap.current_price, snap.leader_bidder_no, snap.descending_step, snap.effective_end_at) == (
            800_000, "J002", 2, at(1250))
        record = BidRecord("J002", 800_000, at(1250), 1)
        assert close_result(rules, snap, [record], at(1250)) == CloseResult(record, 800_000, False)
        assert not descending_ended_unsold(rules, at(10**6), snap)

    def test_unsold(self):
        rules = desc_rules()
        assert not descending_ended_unsold(rules, at(2999))
        assert descending_ended_unsold(rules, at(3000))
        assert close_result(rules, initial_snapshot(rules), [], at(3000)).unsold


class TestRankingAndMisc:
    def test_rank(self):
        a = BidRecord("J001", 100, at(5), 3)
        b = BidRecord("J002", 200, at(9), 4)
        c = BidRecord("J003", 200, at(1), 5)
        d = BidRecord("J004", 200, at(1), 2)
        assert rank_bids([a, b, c, d]) == [d, c, b, a]
        assert winner([a, b, c, d]) == d
        assert winner([]) is None

    def test_runner_up_uses_each_bidders_last_bid(self):
        bids = [
            BidRecord("J001", 100, at(1), 1),
            BidRecord("J002", 110, at(2), 2),
            BidRecord("J003", 120, at(3), 3),
            BidRecord("J002", 130, at(4), 4),
            BidRecord("J001", 140, at(5), 5),
        ]
        assert runner_up_offer(bids, "J001") == bids[3]
        assert runner_up_offer(bids[:1], "J001") is None

    def test_bidder_number(self):
        assert [bidder_number(i) for i in (1, 42, 999, 1000)] == ["J001", "J042", "J999", "J1000"]

    def test_transitions(self):
        assert check_transition("scheduled", "open") is AuctionState.OPEN
        assert check_transition(AuctionState.SCHEDULED, AuctionState.CLOSED) is AuctionState.CLOSED
        assert AUCTION_TRANSITIONS[AuctionState.CANCELLED] == frozenset()

    def test_enum_values_are_snake_case(self):
        assert [str(x) for x in AuctionFormat] == ["ascending", "sealed", "descending"]
        assert [str(x) for x in AuctionState] == ["scheduled", "open", "closed", "cancelled"]
        assert [str(x) for x in AuctionPhase] == ["not_started", "free", "limited", "ended"]


# =========================================================================== properties
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

attempt = st.tuples(
    st.sampled_from(["J001", "J002", "J003", "J004"]),
    # how to pick the amount: a multiple of the increment over the minimum, or anything
    # (listed several times to weight hypothesis towards bids that can be accepted)
    st.one_of(
        st.tuples(st.just("steps"), st.integers(0, 3)),
        st.tuples(st.just("steps"), st.integers(0, 3)),
        st.tuples(st.just("steps"), st.integers(-2, 4)),
        st.tuples(st.just("raw"), st.integers(-10, 3_000_000)),
    ),
    # seconds after the previous attempt: mostly quick bidding, sometimes a long pause
    st.one_of(st.integers(0, 30), st.integers(0, 30), st.integers(0, 400)),
)


@st.composite
def ascending_setup(draw):
    countdown = draw(st.integers(1, 600))
    free_len = draw(st.integers(0, 1200))
    hard = draw(st.one_of(st.none(), st.integers(0, 3000)))
    free_end = T0 + timedelta(seconds=free_len)
    rules = asc_rules(
        increment=draw(st.sampled_from([1, 7, 10_000])),
        start_price=draw(st.integers(1, 2_000_000)),
        free_period_ends_at=free_end,
        countdown_seconds=countdown,
        hard_end_at=None if hard is None else free_end + timedelta(seconds=hard),
        leader_may_raise=draw(st.booleans()),
    )
    validate_rules(rules)
    first_at = T0 + timedelta(seconds=draw(st.integers(-100, 100)))
    return rules, first_at, draw(st.lists(attempt, max_size=40))


def oracle_accepts(rules, accepted, bidder, amount, now) -> bool:
    """Independent restatement of the rule from DOMAIN.md section 4, from the accepted list."""
    if now < rules.starts_at:
        return False
    last_at = accepted[-1].placed_at if accepted else None
    # every accepted bid restarts the countdown from the moment of the latest accepted bid
    # in the limited period; the first countdown starts when the free period ends
    start_of_countdown = rules.free_period_ends_at
    if last_at is not None and last_at > start_of_countdown:
        start_of_countdown = last_at
    end = start_of_countdown + timedelta(seconds=rules.countdown_seconds)
    if rules.hard_end_at is not None:
        end = min(end, rules.hard_end_at)
    if now >= end or not (0 < amount <= MAX_BID_FEN):
        return False
    if not accepted:
        return amount >= rules.start_price and (amount - rules.start_price) % rules.increment == 0
    top = accepted[-1]
    if top.bidder_no == bidder and not rules.leader_may_raise:
        return False
    return amount > top.amount and (amount - top.amount) % rules.increment == 0


@PROPS
@given(ascending_setup())
def test_ascending_sequence_properties(setup):
    rules, now, attempts = setup
    snap = initial_snapshot(rules)
    accepted: list[BidRecord] = []
    ends = [snap.effective_end_at]
    for seq, (bidder, (how, value), gap) in enumerate(attempts, 1):
        now = now + timedelta(seconds=gap)
        amount = min_next_bid(rules, snap) + value * rules.increment if how == "steps" else value
        end_before = snap.effective_end_at
        expected = oracle_accepts(rules, accepted, bidder, amount, now)
        try:
            new = validate_ascending_bid(rules, snap, bidder, amount, now, True)
        except DomainError:
            assert not expected
            continue
        assert expected
        # (d) nothing accepted at or after the end in force at that moment
        assert now < end_before
        # (a) the price never falls
        assert snap.current_price is None or new.current_price > snap.current_price
        # (b) the end never moves earlier
        assert new.effective_end_at >= end_before
        # (e) the hard end caps everything
        if rules.hard_end_at is not None:
            assert new.effective_end_at <= rules.hard_end_at
        assert new.effective_end_at == effective_end(rules, now)
        assert new.bid_count == snap.bid_count + 1
        snap = new
        ends.append(snap.effective_end_at)
        accepted.append(BidRecord(bidder, amount, now, seq))

    assert ends == sorted(ends)
    # (c) the winner is the highest, then earliest, accepted bid and matches the snapshot
    best = winner(accepted)
    if accepted:
        top = max(b.amount for b in accepted)
        assert best == min((b for b in accepted if b.amount == top), key=lambda b: (b.placed_at, b.seq))
        assert (best.bidder_no, best.amount) == (snap.leader_bidder_no, snap.current_price)
        assert rank_bids(accepted)[0] == best
    result = close_result(rules, snap, accepted, snap.effective_end_at)
    assert result.winner == best
    assert result.unsold is (best is None)
    assert result.hammer_price == (best.amount if best else None)


@PROPS
@given(
    bids=st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(10**8, MAX_BID_FEN), st.integers(0, 86_399)), max_size=20
    ),
    now_offset=st.integers(-3600, 86_399),
)
def test_sealed_view_never_leaks_before_close(bids, now_offset):
    rules = sealed_rules()
    sealed = [SealedBid(bidder_number(n), amount, at(t), i) for i, (n, amount, t) in enumerate(bids)]
    view = public_view_sealed(sealed, at(now_offset), rules)
    assert not view.revealed and view.bids == () and view.count == len(sealed)
    rendered = repr(view) + str(asdict(view))
    for b in sealed:
        assert str(b.amount) not in rendered
        assert str(b.amount) not in repr(b)
    after = public_view_sealed(sealed, rules.sealed_closes_at, rules)
    assert after.revealed and list(after.bids) == rank_bids(sealed)


@PROPS
@given(
    start=st.integers(1, 10**9),
    floor_share=st.integers(1, 1000),
    step=st.integers(1, 10**8),
    interval=st.integers(1, 3600),
    offsets=st.lists(st.integers(-10_000, 10**7), min_size=1, max_size=30),
)
def test_descending_price_monotonic_and_floored(start, floor_share, step, interval, offsets):
    floor = max(1, start * floor_share // 1000)
    rules = desc_rules(start_price=start, floor_price=floor, step_down=step, step_interval_seconds=interval)
    try:
        validate_rules(rules)
    except ValidationError:
        # Settings taking more than a week to reach the floor are refused; nothing else to check.
        assert (-(-(start - floor) // step) + 1) * interval > MAX_DESCENDING_SECONDS
        return
    ends = descending_ends_at(rules)
    prev = None
    for off in sorted(offsets):
        now = at(off)
        price = descending_price_at(rules, now)
        assert floor <= price <= start
        assert prev is None or price <= prev
        prev = price
        if now >= ends:
            assert price == floor and descending_ended_unsold(rules, now)
        elif now >= T0:
            assert validate_descending_accept(rules, now, True) == price
    # the floor is on offer for exactly one interval before the end
    assert descending_price_at(rules, ends - timedelta(seconds=interval)) == floor


@PROPS
@given(
    st.lists(
        st.tuples(st.sampled_from(["J001", "J002", "J003"]), st.integers(1, 50), st.integers(0, 20)),
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_ranking_is_total_and_order_independent(raw, rnd):
    bids = [BidRecord(who, amount, at(t), seq) for seq, (who, amount, t) in enumerate(raw)]
    ranked = rank_bids(bids)
    shuffled = bids[:]
    rnd.shuffle(shuffled)
    assert rank_bids(shuffled) == ranked
    assert winner(shuffled) == (ranked[0] if ranked else None)
    for a, b in zip(ranked, ranked[1:]):
        assert (-a.amount, a.placed_at, a.seq) < (-b.amount, b.placed_at, b.seq)
    if ranked:
        runner = runner_up_offer(shuffled, ranked[0].bidder_no)
        assert runner is None or runner.bidder_no != ranked[0].bidder_no
