"""An ascending auction from publicity end to the deal, through the API."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.factories import auth, make_member, token_for
from tests.helpers import assert_problem, listing_in_auction, ok


def bid(client, token, ref, amount, key):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": amount},
                       headers=auth(token, **{"Idempotency-Key": "idem-" + key}))


def test_ascending_auction_to_deal(client, session, clock):
    w = listing_in_auction(client, session, clock)
    a = w["auction"]
    ref = a["ref"]
    assert a["state"] == "scheduled" and a["start_price_fen"] == 100_000_000
    assert a["min_next_bid_fen"] == 100_000_000
    # Before the start: refused.
    assert_problem(bid(client, w["t1"], ref, 100_000_000, "k-early-1"), 409, "auction_not_open")
    starts = datetime.fromisoformat(a["starts_at"])
    clock.set(starts + timedelta(minutes=1))
    # A stranger (not a qualified registrant) is refused.
    stranger = make_member(session, clock)
    session.commit()
    assert_problem(bid(client, token_for(client, stranger), ref, 100_000_000, "k-stranger"), 422, "not_qualified")
    # Below the start price, not a multiple of the increment.
    assert_problem(bid(client, w["t1"], ref, 99_000_000, "k-low-1"), 422, "bid_too_low")
    assert_problem(bid(client, w["t1"], ref, 100_500_000, "k-mult-1"), 422, "not_increment_multiple")
    first = ok(bid(client, w["t1"], ref, 100_000_000, "k-b1-1"), 201)
    assert first["seq"] == 1 and first["auction"]["you_lead"] is True
    # The same key and body: the first answer again, nothing new.
    again = bid(client, w["t1"], ref, 100_000_000, "k-b1-1")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["seq"] == 1
    # The same key with another body is refused.
    assert_problem(bid(client, w["t1"], ref, 101_000_000, "k-b1-1"), 422, "idempotency_key_reused")
    # A bid without a key is refused.
    assert_problem(client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 1}, headers=auth(w["t1"])),
                   422, "idempotency_key_required")
    # The leader may not raise its own bid (the listing's default).
    assert_problem(bid(client, w["t1"], ref, 101_000_000, "k-b1-2"), 422, "already_leading")
    ok(bid(client, w["t2"], ref, 102_000_000, "k-b2-1"), 201)
    state = ok(client.get(f"/api/v1/auctions/{ref}"))
    assert state["current_price_fen"] == 102_000_000 and state["bid_count"] == 2
    assert state["leader_bidder_no"] in ("J001", "J002")
    # Others see numbers, never names.
    assert "winner_name" in state and state["winner_name"] is None
    # Into the limited period: a bid restarts the 300 s countdown.
    free_end = datetime.fromisoformat(state["free_period_ends_at"])
    clock.set(free_end + timedelta(seconds=200))
    assert ok(client.get(f"/api/v1/auctions/{ref}"))["phase"] == "limited"
    ok(bid(client, w["t1"], ref, 103_000_000, "k-b1-3"), 201)
    end = datetime.fromisoformat(ok(client.get(f"/api/v1/auctions/{ref}"))["effective_end_at"])
    assert end == clock.now() + timedelta(seconds=300)
    # At the end exactly, a bid is refused even though no job has closed the auction.
    clock.set(end)
    assert_problem(bid(client, w["t2"], ref, 104_000_000, "k-b2-late"), 409, "auction_closed")
    closed = ok(client.get(f"/api/v1/auctions/{ref}"))
    assert closed["state"] == "closed" and closed["hammer_price_fen"] == 103_000_000
    record = ok(client.get(f"/api/v1/auctions/{ref}/bids", headers=auth(w["t2"])))
    assert [r["amount_fen"] for r in record] == [100_000_000, 102_000_000, 103_000_000]
    # The deal was struck with the winner.
    deals = ok(client.get("/api/v1/deals", headers=auth(w["t1"])))
    assert len(deals) == 1 and deals[0]["price_fen"] == 103_000_000 and deals[0]["method"] == "auction"
    assert ok(client.get(f"/api/v1/listings/{w['listing']['ref']}"))["state"] == "sold"
    # The operator publishes the result: now the winner's name shows.
    pub = ok(client.post(f"/api/v1/auctions/{ref}/publish-result", headers=auth(w["to"])))
    assert pub["winner_name"] == w["b1"].party.name
    csv_text = client.get(f"/api/v1/auctions/{ref}/protocol.csv", headers=auth(w["to"])).get_data(as_text=True)
    assert csv_text.startswith("\ufeff") and "¥1,030,000.00" in csv_text


def test_the_bid_receipt_is_what_its_schema_documents_and_what_the_auction_says(client, session, clock):
    """The receipt is serialised straight from the bid service (no schema dump on the hot path):
    it must still be exactly what BidAcceptedSchema describes, agree with GET on the auction, and be
    the very bytes an idempotent retry replays."""
    import json

    from auctions.schemas import BidAcceptedSchema

    w = listing_in_auction(client, session, clock)
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    first = bid(client, w["t1"], ref, 100_000_000, "receipt-1")
    assert first.status_code == 201 and first.mimetype == "application/json"
    body = first.get_json()
    schema = BidAcceptedSchema()
    assert schema.validate(body) == {}
    assert json.loads(json.dumps(schema.dump(schema.load(body)))) == body  # nothing undocumented, nothing lost
    state = ok(client.get(f"/api/v1/auctions/{ref}", headers=auth(w["t1"])))
    receipt = body["auction"]
    for key in ("ref", "state", "bid_count", "current_price_fen", "leader_bidder_no", "effective_end_at",
                "min_next_bid_fen", "version", "you_lead"):
        assert receipt[key] == state[key], key
    assert body["seq"] == 1 and body["amount_fen"] == 100_000_000 and body["bidder_no"] == state["your_bidder_no"]
    assert datetime.fromisoformat(body["placed_at"]) == clock.now()
    assert datetime.fromisoformat(receipt["server_time"]) == clock.now()
    replay = bid(client, w["t1"], ref, 100_000_000, "receipt-1")
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_data() == first.get_data()
