"""Random bid attempts through ``place_bid`` on the real database (hypothesis, stateful).

Each example builds a fresh ascending auction through the services (random free period,
countdown, hard end, leader-may-raise), then interleaves bid attempts by the bidders and by a
stranger at amounts around the minimum next bid with clock advances and closing attempts.
After every step: the price never falls, the effective end never moves earlier, and the
bidding record agrees with the auction row (and, once closed, with the result and the deal).
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.errors import DomainError
from tests.auction_builders import INCREMENT, PRICE, PUBLISH_AT, end_publicity, listing_with_buyers, people

REFUSALS = {"not_qualified", "auction_closed", "auction_not_open", "invalid_amount", "already_leading",
            "bid_too_low", "not_increment_multiple"}


def test_random_bidding_keeps_the_invariants(session, tmp_path):  # type: ignore[no-untyped-def]
    from auctions import domain as ad
    from auctions.models import Auction, Bid, Deal
    from auctions.service import close_if_due, listing_auction, place_bid
    from auctions.service.bidding import rules_of

    clock = FakeClock(PUBLISH_AT)
    folder = str(tmp_path)

    class Bidding(RuleBasedStateMachine):
        @initialize(free_minutes=st.integers(1, 30), countdown=st.integers(30, 600),
                    hard_extra=st.one_of(st.none(), st.integers(1, 20)), leader_may_raise=st.booleans(),
                    early=st.sampled_from([0, 0, 0, 5, 30]))
        def schedule(self, free_minutes, countdown, hard_extra, leader_may_raise, early):  # type: ignore[no-untyped-def]
            clock.set(PUBLISH_AT)
            # Fresh parties per example: a qualified bidder that never bids forfeits its deposit, and
            # forfeitures carried over from earlier examples would bar it from registering here.
            p = people(session, clock, 3)
            session.flush()
            self.bidders = [Actor.of(u) for u in p.buyers[:2]]
            self.stranger = Actor.of(p.buyers[2])  # a member who never registers for this listing
            lref = listing_with_buyers(session, clock, p, folder, buyers=p.buyers[:2],
                                       free_bidding_minutes=free_minutes, countdown_seconds=countdown,
                                       hard_end_minutes=None if hard_extra is None else free_minutes + hard_extra,
                                       leader_may_raise=leader_may_raise)
            assert end_publicity(session, clock, lref) == "in_auction"
            a = listing_auction(session, lref)
            self.ref, self.auction_id = a.ref, a.id
            self.rules = rules_of(a)
            self.numbers = {b.party_id: b.bidder_no for b in a.bidders}
            self.prev_price: int | None = None
            self.prev_end = a.effective_end_at
            self.accepted = 0
            self.stats = stats
            clock.set(a.starts_at - timedelta(seconds=early))

        def auction(self) -> Auction:
            return session.scalar(sa.select(Auction).where(Auction.id == self.auction_id)
                                  .execution_options(populate_existing=True))

        def attempt(self, actor: Actor, steps: int, off_grid: int) -> None:
            a = self.auction()
            before = ad.AuctionSnapshot(state=a.state, current_price=a.current_price_fen,
                                        leader_bidder_no=a.leader_bidder_no, bid_count=a.bid_count,
                                        last_bid_at=a.last_bid_at, effective_end_at=a.effective_end_at)
            amount = ad.min_next_bid(self.rules, before) + steps * INCREMENT + off_grid
            now = clock.now()
            try:
                with session.begin_nested():
                    b = place_bid(session, actor, self.ref, amount, clock=clock)
            except DomainError as exc:
                assert exc.code in REFUSALS, exc.code
                self.stats[exc.code] += 1
                # A refusal leaves nothing behind.
                assert self.auction().bid_count == before.bid_count
                return
            # Accepted: it had to be acceptable under the rules at that instant.
            assert actor is not self.stranger
            assert self.rules.starts_at <= now < (before.effective_end_at or now)
            assert before.state not in (ad.AuctionState.CLOSED, ad.AuctionState.CANCELLED)
            assert amount >= ad.min_next_bid(self.rules, before) and (amount - PRICE) % INCREMENT == 0
            assert self.rules.leader_may_raise or before.bid_count == 0 or b.bidder_no != before.leader_bidder_no
            assert (b.seq, b.amount_fen, b.placed_at) == (before.bid_count + 1, amount, now)
            self.accepted += 1
            self.stats["accepted"] += 1

        # Bidders' attempts come up three times as often as anything else.
        bid_args = dict(who=st.integers(0, 1), steps=st.sampled_from([0, 0, 0, 1, 2, -1, 4]),
                        off_grid=st.sampled_from([0, 0, 0, 0, 0, 1, INCREMENT // 2]))

        @rule(**bid_args)
        def bid(self, who, steps, off_grid):  # type: ignore[no-untyped-def]
            self.attempt(self.bidders[who], steps, off_grid)

        @rule(**bid_args)
        def bid_again(self, who, steps, off_grid):  # type: ignore[no-untyped-def]
            self.attempt(self.bidders[who], steps, off_grid)

        @rule(**bid_args)
        def bid_once_more(self, who, steps, off_grid):  # type: ignore[no-untyped-def]
            self.attempt(self.bidders[who], steps, off_grid)

        @rule(steps=st.integers(0, 2))
        def stranger_bids(self, steps):  # type: ignore[no-untyped-def]
            self.attempt(self.stranger, steps, 0)

        @rule(seconds=st.sampled_from([1, 5, 30, 120, 299, 300, 600, 1800]))
        def wait(self, seconds):  # type: ignore[no-untyped-def]
            clock.advance(seconds=seconds)

        @rule()
        def close(self):  # type: ignore[no-untyped-def]
            with session.begin_nested():
                close_if_due(session, self.ref, clock=clock)

        @invariant()
        def price_never_falls_and_end_never_earlier(self):  # type: ignore[no-untyped-def]
            if not hasattr(self, "ref"):
                return
            a = self.auction()
            if self.prev_price is not None:
                assert a.current_price_fen is not None and a.current_price_fen >= self.prev_price
            assert a.effective_end_at >= self.prev_end
            if self.rules.hard_end_at is not None:
                assert a.effective_end_at <= self.rules.hard_end_at
            self.prev_price, self.prev_end = a.current_price_fen, a.effective_end_at

        @invariant()
        def record_matches_snapshot(self):  # type: ignore[no-untyped-def]
            if not hasattr(self, "ref"):
                return
            a = self.auction()
            rows = session.execute(sa.select(Bid.seq, Bid.bidder_no, Bid.amount_fen, Bid.placed_at)
                                   .where(Bid.auction_id == a.id).order_by(Bid.seq)).all()
            assert len(rows) == a.bid_count == self.accepted
            assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
            assert all(x.amount_fen < y.amount_fen for x, y in zip(rows, rows[1:]))
            assert all(x.placed_at <= y.placed_at for x, y in zip(rows, rows[1:]))
            if not self.rules.leader_may_raise:
                assert all(x.bidder_no != y.bidder_no for x, y in zip(rows, rows[1:]))
            if rows:
                last = rows[-1]
                assert (a.current_price_fen, a.leader_bidder_no, a.last_bid_at) == (
                    last.amount_fen, last.bidder_no, last.placed_at)
            else:
                assert a.current_price_fen is None and a.leader_bidder_no is None and a.last_bid_at is None
            assert a.effective_end_at == ad.effective_end(self.rules, a.last_bid_at)
            deals = session.execute(sa.select(Deal.price_fen, Deal.buyer_party_id)
                                    .where(Deal.auction_id == a.id)).all()
            if a.state == ad.AuctionState.CLOSED:
                assert clock.now() >= a.effective_end_at
                if rows:
                    assert not a.unsold and (a.hammer_price_fen, a.winner_bidder_no) == (
                        rows[-1].amount_fen, rows[-1].bidder_no)
                    assert [(d.price_fen, self.numbers[d.buyer_party_id]) for d in deals] == [
                        (rows[-1].amount_fen, rows[-1].bidder_no)]
                else:
                    assert a.unsold and a.hammer_price_fen is None and deals == []
            else:
                assert deals == [] and a.hammer_price_fen is None

    stats: Counter[str] = Counter()
    # Derandomized: the same 25 runs every time, so the coverage check below cannot fail by luck
    # (a random draw once missed every bid after the end).
    run_state_machine_as_test(Bidding, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    print(f"\nbid attempts: {dict(stats)}")
    # The run must have exercised acceptance and the main refusals, or it proved little.
    assert stats["accepted"] >= 10 and stats["auction_closed"] and stats["bid_too_low"] + stats["already_leading"]


def _started_auction(session, tmp_path, clock):  # type: ignore[no-untyped-def]
    """Two qualified buyers, publicity over, the clock a minute into the auction."""
    from auctions.service import listing_auction

    p = people(session, clock, 2)
    lref = listing_with_buyers(session, clock, p, str(tmp_path))
    end_publicity(session, clock, lref)
    a = listing_auction(session, lref)
    clock.set(a.starts_at + timedelta(minutes=1))
    return p, a


@pytest.mark.parametrize("amount", [0, -1, PRICE + 1, PRICE - INCREMENT])
def test_refused_bids_leave_no_partial_state(session, tmp_path, amount):  # type: ignore[no-untyped-def]
    """Bad amounts are refused with a code and leave the auction row and the record as they were."""
    from auctions.models import Auction, Bid
    from auctions.service import place_bid

    clock = FakeClock(PUBLISH_AT)
    p, a = _started_auction(session, tmp_path, clock)
    with pytest.raises(DomainError) as exc:
        with session.begin_nested():
            place_bid(session, Actor.of(p.buyers[0]), a.ref, amount, clock=clock)
    assert exc.value.code in {"invalid_amount", "bid_too_low", "not_increment_multiple"}
    a = session.scalar(sa.select(Auction).where(Auction.id == a.id).execution_options(populate_existing=True))
    assert (a.bid_count, a.current_price_fen, a.leader_bidder_no, a.state.value) == (0, None, None, "scheduled")
    assert session.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == a.id)) == 0


def test_an_auction_already_loaded_in_the_session_shows_the_bid(session, tmp_path):  # type: ignore[no-untyped-def]
    """The bid path writes with Core statements; an Auction the caller's session loaded earlier
    must not keep showing the state from before the bid."""
    from auctions.service import place_bid

    clock = FakeClock(PUBLISH_AT)
    p, a = _started_auction(session, tmp_path, clock)
    assert (a.bid_count, a.current_price_fen) == (0, None)  # loaded, and held by this test
    placed = place_bid(session, Actor.of(p.buyers[0]), a.ref, PRICE, clock=clock)
    assert (a.bid_count, a.current_price_fen, a.leader_bidder_no, a.state.value) == (
        1, PRICE, placed.bidder_no, "open")
    assert (placed.seq, placed.amount_fen, placed.placed_at) == (1, PRICE, clock.now())
    assert placed.min_next_bid_fen == PRICE + INCREMENT and placed.effective_end_at == a.effective_end_at
