"""Sealed and descending auctions, and the ascending settings the happy walk does not reach
(hard end, leader raising, free-period bids), through the API."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tests.auction_builders import INCREMENT, PRICE, auction_via_api
from tests.factories import auth, make_member, token_for
from tests.helpers import assert_problem, ok


def bid(client, token, ref, amount):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": amount},
                       headers=auth(token, **{"Idempotency-Key": uuid.uuid4().hex}))


def state(client, ref, token=None):  # type: ignore[no-untyped-def]
    return ok(client.get(f"/api/v1/auctions/{ref}", headers=auth(token) if token else {}))


def record(client, ref, token=None):  # type: ignore[no-untyped-def]
    return ok(client.get(f"/api/v1/auctions/{ref}/bids", headers=auth(token) if token else {}))


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- sealed (一次报价) -------------------------------------------------------------------------------
def test_sealed_bids_hidden_from_everyone_until_the_close(client, session, clock):
    w = auction_via_api(client, session, clock, buyers=3, auction_format="sealed")
    a = w["auction"]
    ref = a["ref"]
    t1, t2, t3 = w["tokens"]
    assert a["format"] == "sealed"
    assert [state(client, ref, t)["your_bidder_no"] for t in (t1, t2, t3)] == ["J001", "J002", "J003"]
    # Before the start: refused.
    assert_problem(bid(client, t1, ref, PRICE), 409, "auction_not_open")
    starts = at(a["starts_at"])
    closes = at(a["effective_end_at"])
    assert closes == starts + timedelta(minutes=60)  # the listing's free_bidding_minutes
    clock.set(starts + timedelta(minutes=1))
    # Under the reserve (the start price): refused; nothing recorded.
    assert_problem(bid(client, t3, ref, PRICE - 1), 422, "bid_too_low")
    # J003 bids lowest and first, J001 highest, J002 the same amount as J001 but later.
    # Sealed bids need not be on the increment grid.
    r3 = ok(bid(client, t3, ref, PRICE + 3_000_000), 201)
    assert r3["amount_fen"] == PRICE + 3_000_000  # the bidder sees its own bid...
    assert r3["auction"]["current_price_fen"] is None and r3["auction"]["you_lead"] is False  # ...and nothing else
    clock.advance(minutes=1)
    ok(bid(client, t1, ref, PRICE + 5_500_000), 201)
    clock.advance(minutes=1)
    r2 = ok(bid(client, t2, ref, PRICE + 5_500_000), 201)
    assert r2["auction"]["leader_bidder_no"] is None
    # One bid per bidder, even a higher one.
    assert_problem(bid(client, t1, ref, PRICE + 9_000_000), 409, "sealed_bid_exists")
    # A member who is not a qualified bidder.
    stranger = make_member(session, clock)
    session.commit()
    ts = token_for(client, stranger)
    assert_problem(bid(client, ts, ref, PRICE), 422, "not_qualified")

    # Nobody sees an amount before the close: not the public, not the bidders, not the operator
    # nor the auditor; only the count.
    for token in (None, t1, t2, t3, ts, w["to"], w["ta"], w["ts"]):
        s = state(client, ref, token)
        assert s["state"] == "open" and s["bid_count"] == 3, s
        assert s["current_price_fen"] is None and s["leader_bidder_no"] is None and s["hammer_price_fen"] is None
        assert s["you_lead"] is False and s["winner_bidder_no"] is None
        assert record(client, ref, token) == []
    listed = next(x for x in ok(client.get("/api/v1/auctions", headers=auth(w["to"]))) if x["ref"] == ref)
    assert listed["current_price_fen"] is None and listed["leader_bidder_no"] is None
    # The protocol (staff and auditors may download it at any time) has no amount yet either.
    for token in (w["to"], w["ta"]):
        resp = client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(token))
        assert resp.status_code == 200
        text = resp.get_data(as_text=True)
        assert "1,055,000" not in text and "1,030,000" not in text and "J001" not in text, text

    # At the deadline: late, and the auction closes; everything is revealed.
    clock.set(closes)
    assert_problem(bid(client, t3, ref, PRICE + 10_000_000), 409, "auction_closed")
    s = state(client, ref, t1)
    assert s["state"] == "closed" and s["unsold"] is False
    # Highest wins; between equal amounts the earlier bid wins.
    assert s["winner_bidder_no"] == "J001" and s["hammer_price_fen"] == PRICE + 5_500_000
    rows = record(client, ref, t3)
    assert [(r["bidder_no"], r["amount_fen"]) for r in rows] == [
        ("J003", PRICE + 3_000_000), ("J001", PRICE + 5_500_000), ("J002", PRICE + 5_500_000)]
    csv_text = client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(w["to"])).get_data(as_text=True)
    assert "¥1,055,000.00" in csv_text and "¥1,030,000.00" in csv_text
    deals = ok(client.get("/api/v1/deals", headers=auth(t1)))
    assert [(d["method"], d["price_fen"]) for d in deals] == [("auction", PRICE + 5_500_000)]
    assert ok(client.get("/api/v1/deals", headers=auth(t2))) == []


def test_sealed_auction_without_bids_is_unsold(client, session, clock):
    w = auction_via_api(client, session, clock, auction_format="sealed")
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["effective_end_at"]))
    s = state(client, ref)
    assert s["state"] == "closed" and s["unsold"] is True and s["hammer_price_fen"] is None
    assert ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))["state"] == "unsold"


# -- descending (减价) -------------------------------------------------------------------------------
def _descending(client, session, clock, **schedule):  # type: ignore[no-untyped-def]
    w = auction_via_api(client, session, clock, auction_format="descending")
    ref = w["auction"]["ref"]
    s = ok(client.post(f"/api/v1/auctions/{ref}/reschedule", json=schedule, headers=auth(w["to"])))
    return w, ref, s


def test_descending_steps_down_and_the_first_acceptance_wins(client, session, clock):
    w, ref, s = _descending(client, session, clock, step_down_fen=2_000_000, step_interval_seconds=600,
                            floor_price_fen=94_000_000)
    t1, t2 = w["tokens"]
    starts = at(s["starts_at"])
    # 100 -> 98 -> 96 -> 94 (the floor, reached at step 3); unsold after the floor's interval.
    assert at(s["effective_end_at"]) == starts + timedelta(seconds=600 * 4)
    assert s["min_next_bid_fen"] == PRICE
    # Members cannot reschedule; an auditor cannot either.
    assert_problem(client.post(f"/api/v1/auctions/{ref}/reschedule", json={"step_down_fen": 1},
                               headers=auth(t1)), 403, "forbidden_role")
    assert_problem(client.post(f"/api/v1/auctions/{ref}/reschedule", json={"step_down_fen": 1},
                               headers=auth(w["ta"])), 403, "auditor_read_only")
    assert_problem(bid(client, t1, ref, 0), 409, "auction_not_open")
    expected = [(0, PRICE), (599, PRICE), (600, 98_000_000), (1199, 98_000_000), (1200, 96_000_000),
                (1800, 94_000_000), (2399, 94_000_000)]
    for seconds, price in expected:
        clock.set(starts + timedelta(seconds=seconds))
        assert state(client, ref, t1)["min_next_bid_fen"] == price, seconds
    # Back to the second step; J002 accepts: the amount sent is ignored, the current price is taken.
    clock.set(starts + timedelta(seconds=1300))
    got = ok(bid(client, t2, ref, 1), 201)
    assert got["amount_fen"] == 96_000_000 and got["bidder_no"] == "J002"
    # The first acceptance closes the auction at once.
    assert got["auction"]["state"] == "closed"
    s = state(client, ref)
    assert s["state"] == "closed" and s["hammer_price_fen"] == 96_000_000 and s["winner_bidder_no"] == "J002"
    assert at(s["effective_end_at"]) == clock.now()
    # A second acceptance, even a moment later, is refused.
    assert_problem(bid(client, t1, ref, 96_000_000), 409, "auction_closed")
    deals = ok(client.get("/api/v1/deals", headers=auth(t2)))
    assert [(d["method"], d["price_fen"], d["buyer"]["ref"]) for d in deals] == [
        ("auction", 96_000_000, w["buyers"][1].party.ref)]
    assert ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))["state"] == "sold"
    assert [r["amount_fen"] for r in record(client, ref, w["to"])] == [96_000_000]


def test_descending_without_acceptance_ends_unsold_at_the_floor(client, session, clock):
    w, ref, s = _descending(client, session, clock, step_down_fen=5_000_000, step_interval_seconds=60,
                            floor_price_fen=88_000_000)
    t1 = w["tokens"][0]
    starts = at(s["starts_at"])
    # ceil(12 / 5) = 3 steps to the floor, which is clamped (not 85): price 88 from 180 s to 240 s.
    clock.set(starts + timedelta(seconds=200))
    assert state(client, ref)["min_next_bid_fen"] == 88_000_000
    end = starts + timedelta(seconds=240)
    assert at(s["effective_end_at"]) == end
    clock.set(end)
    assert_problem(bid(client, t1, ref, 0), 409, "auction_closed")
    s = state(client, ref)
    assert s["state"] == "closed" and s["unsold"] is True and s["winner_bidder_no"] is None
    assert ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))["state"] == "unsold"
    assert ok(client.get("/api/v1/deals", headers=auth(w["to"]))) == []


def test_reschedule_refused_once_started_and_for_bad_settings(client, session, clock):
    w = auction_via_api(client, session, clock, auction_format="descending")
    ref = w["auction"]["ref"]
    # A floor above the start price cannot run.
    assert_problem(client.post(f"/api/v1/auctions/{ref}/reschedule", json={"floor_price_fen": PRICE + 1},
                               headers=auth(w["to"])), 422, "invalid_auction_rules")
    # A start in the past is refused.
    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert_problem(client.post(f"/api/v1/auctions/{ref}/reschedule", json={"starts_at": past},
                               headers=auth(w["to"])), 422, "start_in_past")
    clock.set(at(w["auction"]["starts_at"]))
    assert_problem(client.post(f"/api/v1/auctions/{ref}/reschedule", json={"step_down_fen": 1},
                               headers=auth(w["to"])), 409, "auction_started")


# -- ascending settings ------------------------------------------------------------------------------
def test_hard_end_caps_the_countdown(client, session, clock):
    w = auction_via_api(client, session, clock, free_bidding_minutes=60, hard_end_minutes=62)
    a = w["auction"]
    ref = a["ref"]
    t1, t2 = w["tokens"]
    starts = at(a["starts_at"])
    hard = starts + timedelta(minutes=62)
    assert at(a["hard_end_at"]) == hard
    # Without bids the countdown would end at free end + 300 s; the hard end comes first.
    assert at(a["effective_end_at"]) == hard
    clock.set(starts + timedelta(minutes=60, seconds=30))
    assert state(client, ref)["phase"] == "limited"
    ok(bid(client, t1, ref, PRICE), 201)
    assert at(state(client, ref)["effective_end_at"]) == hard  # not bid time + 300 s
    clock.set(hard - timedelta(seconds=1))
    last = ok(bid(client, t2, ref, PRICE + INCREMENT), 201)
    assert at(last["auction"]["effective_end_at"]) == hard
    clock.set(hard)
    assert_problem(bid(client, t1, ref, PRICE + 2 * INCREMENT), 409, "auction_closed")
    s = state(client, ref)
    assert s["state"] == "closed" and s["hammer_price_fen"] == PRICE + INCREMENT and s["winner_bidder_no"] == "J002"


def test_leader_may_raise_its_own_bid_when_allowed(client, session, clock):
    w = auction_via_api(client, session, clock, leader_may_raise=True)
    ref = w["auction"]["ref"]
    t1, t2 = w["tokens"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    ok(bid(client, t1, ref, PRICE), 201)
    again = ok(bid(client, t1, ref, PRICE + 2 * INCREMENT), 201)
    assert again["seq"] == 2 and again["auction"]["you_lead"] is True
    # Raising still has to beat the current price on the increment grid.
    assert_problem(bid(client, t1, ref, PRICE + 2 * INCREMENT), 422, "bid_too_low")
    assert_problem(bid(client, t1, ref, PRICE + 2 * INCREMENT + INCREMENT // 2), 422, "not_increment_multiple")
    ok(bid(client, t2, ref, PRICE + 3 * INCREMENT), 201)
    assert [(r["bidder_no"], r["amount_fen"]) for r in record(client, ref, t2)] == [
        ("J001", PRICE), ("J001", PRICE + 2 * INCREMENT), ("J002", PRICE + 3 * INCREMENT)]


def test_free_period_bids_do_not_shorten_the_end(client, session, clock):
    w = auction_via_api(client, session, clock, free_bidding_minutes=60, countdown_seconds=300)
    a = w["auction"]
    ref = a["ref"]
    t1, t2 = w["tokens"]
    starts = at(a["starts_at"])
    free_end = at(a["free_period_ends_at"])
    assert free_end == starts + timedelta(minutes=60)
    first_end = free_end + timedelta(seconds=300)
    assert at(a["effective_end_at"]) == first_end
    clock.set(starts + timedelta(minutes=1))
    assert state(client, ref)["phase"] == "free"
    ok(bid(client, t1, ref, PRICE), 201)
    assert at(state(client, ref)["effective_end_at"]) == first_end  # not bid time + 300 s
    clock.set(free_end - timedelta(seconds=10))
    ok(bid(client, t2, ref, PRICE + INCREMENT), 201)
    assert at(state(client, ref)["effective_end_at"]) == first_end
    # After the free period ends, a bid restarts the countdown from the bid.
    clock.set(free_end + timedelta(seconds=100))
    ok(bid(client, t1, ref, PRICE + 2 * INCREMENT), 201)
    s = state(client, ref)
    assert s["phase"] == "limited" and at(s["effective_end_at"]) == clock.now() + timedelta(seconds=300)
    assert at(s["server_time"]) == clock.now()
