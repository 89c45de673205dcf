"""What comes out of publicity and bidding, through the API: negotiated transfers, unsold
auctions, winner default (runner-up or relisting), the sweep, the long poll, who sees what,
and deals struck by taking an open licence."""
from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from tests.auction_builders import INCREMENT, PRICE, auction_via_api
from tests.factories import auth, make_member, token_for
from tests.helpers import assert_problem, confirmed_asset, ok, patent_no


def bid(client, token, ref, amount):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": amount},
                       headers=auth(token, **{"Idempotency-Key": uuid.uuid4().hex}))


def state(client, ref, token=None):  # type: ignore[no-untyped-def]
    return ok(client.get(f"/api/v1/auctions/{ref}", headers=auth(token) if token else {}))


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def stranger_token(client, session, clock):  # type: ignore[no-untyped-def]
    user = make_member(session, clock)
    session.commit()
    return user, token_for(client, user)


def run_auction(client, clock, w, bids):  # type: ignore[no-untyped-def]
    """Place ``(buyer index, amount)`` bids a minute apart in the free period, then let it end."""
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    for i, amount in bids:
        ok(bid(client, w["tokens"][i], ref, amount), 201)
        clock.advance(minutes=1)
    clock.set(at(state(client, ref)["effective_end_at"]))
    return state(client, ref)


def listing_deals(client, w):  # type: ignore[no-untyped-def]
    return [d for d in ok(client.get("/api/v1/deals", headers=auth(w["to"])))
            if d["listing_ref"] == w["listing"]["ref"]]


# -- negotiated transfer (协议转让) ---------------------------------------------------------------------
def test_one_qualified_buyer_negotiates_and_concludes(client, session, clock):
    w = auction_via_api(client, session, clock, buyers=1)
    lref = w["listing"]["ref"]
    (tb,) = w["tokens"]
    assert w["listing_state"] == "awaiting_negotiation"
    assert not [a for a in ok(client.get("/api/v1/auctions")) if a["listing_ref"] == lref]
    n = ok(client.get(f"/api/v1/listings/{lref}/negotiation", headers=auth(tb)))
    assert n["state"] == "open" and n["listing_ref"] == lref and n["min_price_fen"] == PRICE
    assert n["price_fen"] is None
    # The seller, the operator and the auditor see it; another member does not, by either route.
    for token in (w["ts"], w["to"], w["ta"]):
        assert ok(client.get(f"/api/v1/negotiations/{n['ref']}", headers=auth(token)))["ref"] == n["ref"]
    _, other = stranger_token(client, session, clock)
    assert_problem(client.get(f"/api/v1/listings/{lref}/negotiation", headers=auth(other)), 404,
                   "negotiation_not_found")
    assert_problem(client.get(f"/api/v1/negotiations/{n['ref']}", headers=auth(other)), 404,
                   "negotiation_not_found")
    assert client.get(f"/api/v1/negotiations/{n['ref']}").status_code == 401
    # The operator cannot conclude before the buyer has confirmed a price.
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/result", json={"concluded": True},
                               headers=auth(w["to"])), 409, "price_not_confirmed")
    # Only the buyer confirms, and never below the listing price.
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/confirm", json={"price_fen": PRICE},
                               headers=auth(other)), 403, "not_the_buyer")
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/confirm", json={"price_fen": PRICE},
                               headers=auth(w["ta"])), 403, "auditor_read_only")
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/confirm", json={"price_fen": PRICE - 1},
                               headers=auth(tb)), 422, "bid_too_low")
    got = ok(client.post(f"/api/v1/negotiations/{n['ref']}/confirm", json={"price_fen": PRICE + 2_000_000},
                         headers=auth(tb)))
    assert got["state"] == "buyer_confirmed" and got["price_fen"] == PRICE + 2_000_000
    # A member cannot record the result.
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/result", json={"concluded": True},
                               headers=auth(tb)), 403, "forbidden_role")
    done = ok(client.post(f"/api/v1/negotiations/{n['ref']}/result", json={"concluded": True, "note": "双方一致"},
                          headers=auth(w["to"])))
    assert done["state"] == "concluded"
    listing = ok(client.get(f"/api/v1/listings/{lref}"))
    assert listing["state"] == "sold" and listing["deal_price_fen"] == PRICE + 2_000_000
    deals = ok(client.get("/api/v1/deals", headers=auth(tb)))
    assert [(d["method"], d["price_fen"], d["state"], d["listing_ref"]) for d in deals] == [
        ("negotiation", PRICE + 2_000_000, "struck", lref)]
    assert deals[0]["buyer"]["ref"] == w["buyers"][0].party.ref
    assert deals[0]["seller"]["ref"] == w["seller"].party.ref
    # Over: neither confirming nor recording again changes anything.
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/confirm", json={"price_fen": PRICE * 2},
                               headers=auth(tb)), 409, "negotiation_closed")
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/result", json={"concluded": False, "note": "x"},
                               headers=auth(w["to"])), 409, "negotiation_closed")
    assert len(listing_deals(client, w)) == 1


def test_failed_negotiation_leaves_the_listing_unsold(client, session, clock):
    w = auction_via_api(client, session, clock, buyers=1)
    lref = w["listing"]["ref"]
    n = ok(client.get(f"/api/v1/listings/{lref}/negotiation", headers=auth(w["to"])))
    # Failure needs a reason.
    assert_problem(client.post(f"/api/v1/negotiations/{n['ref']}/result", json={"concluded": False},
                               headers=auth(w["to"])), 422, "required")
    failed = ok(client.post(f"/api/v1/negotiations/{n['ref']}/result",
                            json={"concluded": False, "note": "买方放弃"}, headers=auth(w["to"])))
    assert failed["state"] == "failed" and failed["note"] == "买方放弃"
    assert ok(client.get(f"/api/v1/listings/{lref}"))["state"] == "unsold"
    assert listing_deals(client, w) == []
    # The seller may relist it.
    again = ok(client.post(f"/api/v1/listings/{lref}/relist", json={"price_fen": 95_000_000},
                           headers=auth(w["ts"])), 201)
    assert again["state"] == "draft" and again["attempt"] == 2


# -- unsold and the sweep ------------------------------------------------------------------------------
def test_auction_without_a_valid_bid_is_unsold(client, session, clock):
    w = auction_via_api(client, session, clock)
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    # Refused bids do not count.
    assert_problem(bid(client, w["tokens"][0], ref, PRICE - INCREMENT), 422, "bid_too_low")
    s = run_auction(client, clock, w, [])
    assert s["state"] == "closed" and s["unsold"] is True and s["bid_count"] == 0
    assert s["hammer_price_fen"] is None and s["winner_bidder_no"] is None
    assert ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))["state"] == "unsold"
    assert listing_deals(client, w) == []
    # Closing again through the operator's endpoint changes nothing.
    again = ok(client.post(f"/api/v1/auctions/{ref}/close", headers=auth(w["to"])))
    assert again["state"] == "closed" and again["unsold"] is True
    assert listing_deals(client, w) == []


def test_close_before_the_end_is_refused(client, session, clock):
    w = auction_via_api(client, session, clock)
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    assert_problem(client.post(f"/api/v1/auctions/{ref}/close", headers=auth(w["to"])), 409, "auction_not_due")
    assert_problem(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(w["to"])), 409,
                   "auction_not_closed")
    assert state(client, ref)["state"] == "open"


def test_sweep_closes_a_due_auction_once(client, session, clock):
    from auctions.jobs import close_due_auctions
    from auctions.models import Auction, Deal

    w = auction_via_api(client, session, clock)
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    ok(bid(client, w["tokens"][1], ref, PRICE + INCREMENT), 201)
    end = at(state(client, ref)["effective_end_at"])
    # Not due yet: the sweep does nothing.
    assert close_due_auctions(session, clock) == 0
    session.commit()
    clock.set(end + timedelta(seconds=1))
    assert close_due_auctions(session, clock) == 1
    session.commit()
    assert close_due_auctions(session, clock) == 0
    session.commit()
    a = session.scalar(sa.select(Auction).where(Auction.ref == ref))
    assert a.state.value == "closed" and a.hammer_price_fen == PRICE + INCREMENT and a.winner_bidder_no == "J002"
    deals = list(session.scalars(sa.select(Deal).where(Deal.auction_id == a.id)))
    assert len(deals) == 1 and deals[0].buyer_party_id == w["buyers"][1].party_id
    s = state(client, ref)
    assert s["state"] == "closed" and s["hammer_price_fen"] == PRICE + INCREMENT
    assert len(listing_deals(client, w)) == 1


# -- winner default -----------------------------------------------------------------------------------
def test_winner_default_goes_to_the_runner_up_at_its_last_bid(client, session, clock):
    w = auction_via_api(client, session, clock, buyers=3)
    # J001 wins at 106; J002's last (and best) bid is 104, J003's is 102.
    s = run_auction(client, clock, w, [(0, PRICE), (1, PRICE + 1 * INCREMENT), (2, PRICE + 2 * INCREMENT),
                                       (1, PRICE + 4 * INCREMENT), (0, PRICE + 6 * INCREMENT)])
    assert s["state"] == "closed" and s["winner_bidder_no"] == "J001"
    (first,) = listing_deals(client, w)
    assert first["price_fen"] == PRICE + 6 * INCREMENT and first["buyer"]["ref"] == w["buyers"][0].party.ref
    # Only the exchange records a default or offers the deal on.
    assert_problem(client.post(f"/api/v1/deals/{first['ref']}/default", json={"reason": "x"},
                               headers=auth(w["tokens"][1])), 403, "forbidden_role")
    assert_problem(client.post(f"/api/v1/deals/{first['ref']}/default", json={"reason": "x"},
                               headers=auth(w["ta"])), 403, "auditor_read_only")
    # No runner-up offer while the deal stands.
    assert_problem(client.post(f"/api/v1/deals/{first['ref']}/offer-runner-up", headers=auth(w["to"])), 409,
                   "deal_not_defaulted")
    d = ok(client.post(f"/api/v1/deals/{first['ref']}/default", json={"reason": "未在期限内签约"},
                       headers=auth(w["to"])))
    assert d["state"] == "defaulted" and d["close_reason"] == "未在期限内签约"
    second = ok(client.post(f"/api/v1/deals/{first['ref']}/offer-runner-up", headers=auth(w["to"])), 201)
    assert second["method"] == "auction" and second["state"] == "struck"
    assert second["buyer"]["ref"] == w["buyers"][1].party.ref and second["price_fen"] == PRICE + 4 * INCREMENT
    assert second["terms"]["runner_up"] is True and second["listing_ref"] == w["listing"]["ref"]
    old = ok(client.get(f"/api/v1/deals/{first['ref']}", headers=auth(w["to"])))
    assert old["state"] == "cancelled" and old["close_reason"] == "offered to the runner-up"
    listing = ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))
    assert listing["state"] == "sold" and listing["deal_price_fen"] == PRICE + 4 * INCREMENT
    # The runner-up sees its deal; the defaulted winner still sees its old one, now cancelled.
    assert [x["ref"] for x in ok(client.get("/api/v1/deals", headers=auth(w["tokens"][1])))] == [second["ref"]]
    assert [x["state"] for x in ok(client.get("/api/v1/deals", headers=auth(w["tokens"][0])))] == ["cancelled"]
    # The cancelled deal cannot be offered on again.
    assert_problem(client.post(f"/api/v1/deals/{first['ref']}/offer-runner-up", headers=auth(w["to"])), 409,
                   "deal_not_defaulted")
    # If the runner-up defaults too, the next bidder gets it at its last bid...
    ok(client.post(f"/api/v1/deals/{second['ref']}/default", json={"reason": "未付款"}, headers=auth(w["to"])))
    third = ok(client.post(f"/api/v1/deals/{second['ref']}/offer-runner-up", headers=auth(w["to"])), 201)
    assert third["buyer"]["ref"] == w["buyers"][2].party.ref and third["price_fen"] == PRICE + 2 * INCREMENT
    # ...and when nobody is left there is no one to offer it to.
    ok(client.post(f"/api/v1/deals/{third['ref']}/default", json={"reason": "未付款"}, headers=auth(w["to"])))
    assert_problem(client.post(f"/api/v1/deals/{third['ref']}/offer-runner-up", headers=auth(w["to"])), 422,
                   "no_runner_up")
    live = [x for x in listing_deals(client, w) if x["state"] in ("struck", "in_force", "completed")]
    assert live == []


def test_winner_default_then_relist(client, session, clock):
    w = auction_via_api(client, session, clock)
    lref = w["listing"]["ref"]
    run_auction(client, clock, w, [(0, PRICE), (1, PRICE + INCREMENT)])
    (deal,) = listing_deals(client, w)
    # Relisting needs the default first.
    assert_problem(client.post(f"/api/v1/deals/{deal['ref']}/relist", json={"reason": "x"},
                               headers=auth(w["to"])), 409, "deal_not_defaulted")
    # A sold listing is not relisted by its seller.
    assert_problem(client.post(f"/api/v1/listings/{lref}/relist", json={}, headers=auth(w["ts"])), 409,
                   "invalid_transition")
    ok(client.post(f"/api/v1/deals/{deal['ref']}/default", json={"reason": "未付款"}, headers=auth(w["to"])))
    back = ok(client.post(f"/api/v1/deals/{deal['ref']}/relist", json={"reason": "卖方选择重新挂牌"},
                          headers=auth(w["to"])))
    assert back["state"] == "cancelled" and back["close_reason"] == "卖方选择重新挂牌"
    assert ok(client.get(f"/api/v1/listings/{lref}"))["state"] == "unsold"
    assert_problem(client.post(f"/api/v1/deals/{deal['ref']}/offer-runner-up", headers=auth(w["to"])), 409,
                   "deal_not_defaulted")
    new = ok(client.post(f"/api/v1/listings/{lref}/relist", json={"price_fen": 95_000_000},
                         headers=auth(w["ts"])), 201)
    assert new["state"] == "draft" and new["attempt"] == 2 and new["price_fen"] == 95_000_000
    assert_problem(client.post(f"/api/v1/listings/{lref}/relist", json={}, headers=auth(w["ts"])), 409,
                   "already_relisted")


# -- long poll ------------------------------------------------------------------------------------------
def test_long_poll_answers_on_change_or_timeout(client, session, clock):
    w = auction_via_api(client, session, clock)
    ref = w["auction"]["ref"]
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    s = state(client, ref)
    version = s["version"]
    assert at(s["server_time"]) == clock.now()
    t0 = time.monotonic()
    same = ok(client.get(f"/api/v1/auctions/{ref}/wait", query_string={"version": version, "timeout": 0}))
    assert time.monotonic() - t0 < 0.4
    assert same["version"] == version and at(same["server_time"]) == clock.now()
    # With a timeout and no change it waits, then answers with the same version.
    t0 = time.monotonic()
    waited = ok(client.get(f"/api/v1/auctions/{ref}/wait", query_string={"version": version, "timeout": 1}))
    assert time.monotonic() - t0 >= 0.9 and waited["version"] == version
    ok(bid(client, w["tokens"][0], ref, PRICE), 201)
    t0 = time.monotonic()
    changed = ok(client.get(f"/api/v1/auctions/{ref}/wait", query_string={"version": version, "timeout": 10}))
    assert time.monotonic() - t0 < 1.0
    assert changed["version"] != version and changed["bid_count"] == 1 and changed["current_price_fen"] == PRICE
    # The end passing changes the version too (the auction is closed on the look).
    clock.set(at(changed["effective_end_at"]))
    ended = ok(client.get(f"/api/v1/auctions/{ref}/wait", query_string={"version": changed["version"],
                                                                         "timeout": 10}))
    assert ended["state"] == "closed" and ended["version"] != changed["version"]
    assert client.get(f"/api/v1/auctions/{ref}/wait", query_string={"timeout": 31}).status_code == 422


# -- who sees what ------------------------------------------------------------------------------------
def test_visibility_record_names_protocol_and_auditor(client, session, clock):
    w = auction_via_api(client, session, clock)
    ref = w["auction"]["ref"]
    t1, t2 = w["tokens"]
    names = [b.party.name for b in w["buyers"]] + [b.display_name for b in w["buyers"]]
    _, other = stranger_token(client, session, clock)
    clock.set(at(w["auction"]["starts_at"]) + timedelta(minutes=1))
    # An auditor reads everything and changes nothing.
    assert_problem(bid(client, w["ta"], ref, PRICE), 403, "auditor_read_only")
    ok(bid(client, t1, ref, PRICE), 201)
    ok(bid(client, t2, ref, PRICE + INCREMENT), 201)
    # Live record: the bidders and the exchange see it (numbers only); others not yet.
    for token in (t1, t2, w["to"], w["ta"]):
        resp = client.get(f"/api/v1/auctions/{ref}/bids", headers=auth(token))
        rows = ok(resp)
        assert [(r["bidder_no"], r["amount_fen"]) for r in rows] == [("J001", PRICE), ("J002", PRICE + INCREMENT)]
        assert all(set(r) == {"seq", "bidder_no", "amount_fen", "placed_at"} for r in rows)
        assert not any(n in resp.get_data(as_text=True) for n in names)
    for token in (None, other, w["ts"]):
        assert ok(client.get(f"/api/v1/auctions/{ref}/bids", headers=auth(token) if token else {})) == []
    for token in (None, t1, other, w["ta"]):
        resp = client.get(f"/api/v1/auctions/{ref}", headers=auth(token) if token else {})
        assert ok(resp)["leader_bidder_no"] == "J002" and ok(resp)["winner_name"] is None
        assert not any(n in resp.get_data(as_text=True) for n in names)
    # The protocol: the exchange and auditors at any time, bidders after the close, nobody else.
    assert client.get(f"/api/v1/auctions/{ref}/protocol.csv").status_code == 401
    for token in (w["to"], w["ta"]):
        assert client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(token)).status_code == 200
    for token in (t1, other, w["ts"]):
        assert_problem(client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(token)), 403,
                       "protocol_not_available")
    # The auditor cannot close or publish.
    clock.set(at(state(client, ref)["effective_end_at"]))
    assert_problem(client.post(f"/api/v1/auctions/{ref}/close", headers=auth(w["ta"])), 403, "auditor_read_only")
    assert_problem(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(w["ta"])), 403,
                   "auditor_read_only")
    assert_problem(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(t2)), 403, "forbidden_role")
    s = state(client, ref)
    assert s["state"] == "closed" and s["winner_bidder_no"] == "J002" and s["winner_name"] is None
    assert s["result_published"] is False
    # After the close: bidders get the protocol; other members still do not; the record is public.
    for token in (t1, t2):
        text = client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(token)).get_data(as_text=True)
        assert "J002" in text and "¥1,010,000.00" in text and not any(n in text for n in names)
    assert_problem(client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(other)), 403,
                   "protocol_not_available")
    assert len(ok(client.get(f"/api/v1/auctions/{ref}/bids"))) == 2
    # The operator publishes the result: now, and only now, the winner's name shows.
    pub = ok(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(w["to"])))
    assert pub["result_published"] is True and pub["winner_name"] == w["buyers"][1].party.name
    assert state(client, ref)["winner_name"] == w["buyers"][1].party.name
    again = ok(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(w["to"])))
    assert again["winner_name"] == w["buyers"][1].party.name
    # The auditor reads deals too.
    assert [d["method"] for d in ok(client.get("/api/v1/deals", headers=auth(w["ta"])))
            if d["listing_ref"] == w["listing"]["ref"]] == ["auction"]


# -- open licence ---------------------------------------------------------------------------------------
def test_taking_an_open_licence_strikes_a_deal(client, session, clock):
    seller, ts = stranger_token(client, session, clock)
    taker, tt = stranger_token(client, session, clock)
    other, to2 = stranger_token(client, session, clock)
    from exchange.models import Role
    from tests.factories import make_staff

    op = make_staff(session, clock, Role.operator)
    session.commit()
    top = token_for(client, op)
    asset = confirmed_asset(client, ts, top, number=patent_no(8_200_001))
    today = date(2026, 3, 2)
    decl = ok(client.post("/api/v1/open-licences", json={
        "asset_ref": asset["ref"], "fee_kind": "lump_sum", "term_start": today.isoformat(),
        "term_end": date(2028, 3, 1).isoformat(), "lump_sum_fen": 5_000_000}, headers=auth(ts)), 201)
    taking = ok(client.post(f"/api/v1/open-licences/{decl['ref']}/take", json={"notice": "书面通知：实施该专利"},
                            headers=auth(tt)), 201)
    assert taking["licensee_party_id"] == taker.party_id
    deals = ok(client.get("/api/v1/deals", headers=auth(tt)))
    assert len(deals) == 1
    d = deals[0]
    assert (d["method"], d["mode"], d["price_fen"], d["state"]) == ("open_licence", "open_licence", 5_000_000,
                                                                      "struck")
    assert d["listing_ref"] is None and d["asset_ref"] == asset["ref"] and d["terms"]["open_licence"] == decl["ref"]
    assert d["buyer"]["ref"] == taker.party.ref and d["seller"]["ref"] == seller.party.ref
    assert [x["ref"] for x in ok(client.get("/api/v1/deals", headers=auth(ts)))] == [d["ref"]]
    # Taking twice is refused and strikes nothing; the patentee does not license itself.
    assert_problem(client.post(f"/api/v1/open-licences/{decl['ref']}/take", json={"notice": "再次"},
                               headers=auth(tt)), 409, "already_licensed")
    assert_problem(client.post(f"/api/v1/open-licences/{decl['ref']}/take", json={"notice": "自己"},
                               headers=auth(ts)), 422, "seller_cannot_register")
    assert len(ok(client.get("/api/v1/deals", headers=auth(tt)))) == 1
    # Another member takes it too: a second deal (open licences are not exclusive).
    ok(client.post(f"/api/v1/open-licences/{decl['ref']}/take", json={"notice": "书面通知"}, headers=auth(to2)), 201)
    assert [x["method"] for x in ok(client.get("/api/v1/deals", headers=auth(to2)))] == ["open_licence"]
    assert len(ok(client.get("/api/v1/deals", headers=auth(ts)))) == 2
    # Others cannot read a deal that is not theirs.
    assert_problem(client.get(f"/api/v1/deals/{d['ref']}", headers=auth(to2)), 404, "deal_not_found")
