"""Time: the scheduler stopped while auctions and publicity periods fall due, and the times clients send.

Correctness never waits for the scheduler: a deadline is checked when a request arrives, and the
jobs only catch up. So while the scheduler is down no bid is accepted after an auction's end, a
listing whose publicity has ended behaves as ended on the first request, and when the scheduler
comes back one run of the jobs closes and ends everything that fell due, with the results the
deadlines dictate (not the time the job happened to run), and a second run changes nothing.

The exchange's time is its own clock: a time in a request body is refused by the strict schemas,
and ``Date``, ``X-Forwarded-*`` and similar headers change nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from auctions.models import Auction, Bid, Deal
from exchange.models import AuditEvent
from exchange.scheduler import run_all_once
from listings.models import Listing
from tests.auction_builders import INCREMENT, PRICE, PUBLISH_AT, end_publicity, listing_with_buyers, people
from tests.factories import auth, token_for
from tests.helpers import assert_problem, ok

CLIENT_TIME_HEADERS = {"Date": "Mon, 01 Jan 2024 00:00:00 GMT", "X-Forwarded-For": "198.51.100.1",
                       "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Real-IP": "10.1.1.1",
                       "X-Request-Start": "t=1704067200", "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT",
                       "X-Client-Time": "2024-01-01T00:00:00Z"}


def _bid(client, token, ref, amount, key, **headers):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": amount},
                       headers=auth(token, **{"Idempotency-Key": f"time-{key}"}, **headers))


def _state(session, model, ref):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(sa.select(model).where(model.ref == ref)).state.value


def _build(app, client, session, clock, names: str, to_auction: str) -> dict:  # type: ignore[no-untyped-def]
    clock.set(PUBLISH_AT)
    folder = app.config["UPLOAD_FOLDER"]
    made = {}
    for name in names:
        p = people(session, clock, buyers=2)
        made[name] = {"people": p, "listing": listing_with_buyers(session, clock, p, folder)}
    session.commit()
    for name in to_auction:
        assert end_publicity(session, clock, made[name]["listing"]) == "in_auction"
        made[name]["auction"] = session.scalar(sa.select(Auction).join(Listing, Listing.id == Auction.listing_id)
                                               .where(Listing.ref == made[name]["listing"]))
        made[name]["tokens"] = [token_for(client, u) for u in made[name]["people"].buyers]
    session.commit()
    return made


@pytest.fixture()
def four(app, client, session, clock):  # type: ignore[no-untyped-def]
    """Four listings published on the same day, each with two qualified buyers. A and B go to
    auction and take bids; C and D are left alone."""
    return _build(app, client, session, clock, "ABCD", "AB")


def test_scheduler_down_while_auctions_and_publicity_fall_due(app, client, session, clock, four):
    a, b = four["A"]["auction"], four["B"]["auction"]
    clock.set(max(a.starts_at, b.starts_at) + timedelta(minutes=1))
    for w in (four["A"], four["B"]):
        ref, (t1, t2) = w["auction"].ref, w["tokens"]
        ok(_bid(client, t1, ref, PRICE, f"{ref}-1"), 201)
        ok(_bid(client, t2, ref, PRICE + INCREMENT, f"{ref}-2"), 201)
        ok(_bid(client, t1, ref, PRICE + 3 * INCREMENT, f"{ref}-3"), 201)
    session.expire_all()
    ends = {w["auction"].ref: session.get(Auction, w["auction"].id).effective_end_at for w in (four["A"], four["B"])}

    # The scheduler stops; two days pass.
    clock.set(max(ends.values()) + timedelta(days=2))
    # Late bids on A are refused, however the client dresses them up, and even though no job closed A.
    ra = a.ref
    assert_problem(_bid(client, four["A"]["tokens"][1], ra, PRICE + 5 * INCREMENT, "late-1"), 409, "auction_closed")
    assert_problem(_bid(client, four["A"]["tokens"][1], ra, PRICE + 5 * INCREMENT, "late-2",
                        **CLIENT_TIME_HEADERS), 409, "auction_closed")
    # Nothing else looked at B, C or D: in the database they are as the scheduler left them.
    assert _state(session, Auction, b.ref) in ("scheduled", "open")
    assert _state(session, Listing, four["C"]["listing"]) == "published"
    assert _state(session, Listing, four["D"]["listing"]) == "published"

    # D: the first request sees its publicity as ended, and it moves on at once.
    d = ok(client.get(f"/api/v1/listings/{four['D']['listing']}"))
    assert d["state"] == "in_auction", d["state"]
    assert _state(session, Listing, four["D"]["listing"]) == "in_auction"

    # The scheduler comes back: one run catches up with everything.
    done = run_all_once(app)
    assert done["auctions.close_due"] >= 1 and done["listings.end_publicity"] >= 1, done
    assert all(v is not None for k, v in done.items() if k.startswith(("auctions.", "listings."))), done
    for w in (four["A"], four["B"]):
        ref = w["auction"].ref
        state = ok(client.get(f"/api/v1/auctions/{ref}"))
        assert state["state"] == "closed" and not state["unsold"], state
        # The result the deadline dictates: the last bid before the end wins at its price.
        assert state["hammer_price_fen"] == PRICE + 3 * INCREMENT and state["bid_count"] == 3, state
        deal = session.scalar(sa.select(Deal).where(Deal.auction_id == w["auction"].id))
        assert deal is not None and deal.price_fen == PRICE + 3 * INCREMENT
        assert deal.buyer_party_id == w["people"].buyers[0].party_id
        # No bid carries a time after the end.
        late = session.scalar(sa.select(sa.func.count()).select_from(Bid).where(
            Bid.auction_id == w["auction"].id, Bid.placed_at >= ends[ref]))
        assert late == 0
    assert _state(session, Listing, four["C"]["listing"]) == "in_auction"
    assert _state(session, Listing, four["A"]["listing"]) == "sold"

    # A second (or a late, duplicated) run finds nothing to do and writes nothing.
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    deals = session.scalar(sa.select(sa.func.count()).select_from(Deal))
    again = run_all_once(app)
    assert again["auctions.close_due"] == 0 and again["listings.end_publicity"] == 0, again
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    assert session.scalar(sa.select(sa.func.count()).select_from(Deal)) == deals


def test_a_due_auction_is_closed_by_the_first_look_even_without_the_scheduler(app, client, session, clock, four):
    a = four["A"]["auction"]
    clock.set(a.starts_at + timedelta(minutes=1))
    ok(_bid(client, four["A"]["tokens"][0], a.ref, PRICE, "first-look-1"), 201)
    session.expire_all()
    clock.set(session.get(Auction, a.id).effective_end_at + timedelta(hours=6))
    state = ok(client.get(f"/api/v1/auctions/{a.ref}"))   # anyone's look is enough
    assert state["state"] == "closed" and state["hammer_price_fen"] == PRICE
    assert _state(session, Auction, a.ref) == "closed"
    assert run_all_once(app)["auctions.close_due"] >= 1  # B, which nobody looked at; A is done already
    assert _state(session, Auction, four["B"]["auction"].ref) == "closed"


def test_registration_after_publicity_ended_is_refused_while_the_scheduler_is_down(client, session, clock, four):
    from tests.factories import make_member

    listing = session.scalar(sa.select(Listing).where(Listing.ref == four["C"]["listing"]))
    clock.set(listing.publicity_ends_at + timedelta(hours=3))
    late = make_member(session, clock)
    session.commit()
    r = client.post(f"/api/v1/listings/{listing.ref}/registrations", json={"declaration": "本公司符合全部受让条件"},
                    headers=auth(token_for(client, late)))
    assert r.status_code in (409, 422) and r.get_json()["code"] in ("publicity_not_open", "publicity_ended"), \
        r.get_json()
    # The page shows it as ended too.
    page = client.get(f"/listings/{listing.ref}", headers={"Accept": "text/html"})
    assert page.status_code == 200


def test_exactly_at_the_end_is_too_late(client, session, clock, four):
    a = four["A"]["auction"]
    clock.set(a.starts_at + timedelta(minutes=1))
    ok(_bid(client, four["A"]["tokens"][0], a.ref, PRICE, "edge-1"), 201)
    session.expire_all()
    end = session.get(Auction, a.id).effective_end_at
    clock.set(end - timedelta(microseconds=1))
    ok(_bid(client, four["A"]["tokens"][1], a.ref, PRICE + INCREMENT, "edge-2"), 201)
    session.expire_all()
    end = session.get(Auction, a.id).effective_end_at   # the last-moment bid may extend the end
    clock.set(end)
    assert_problem(_bid(client, four["A"]["tokens"][0], a.ref, PRICE + 2 * INCREMENT, "edge-3"), 409, "auction_closed")


# -- client times ----------------------------------------------------------------------------------------------
@pytest.fixture()
def live(app, client, session, clock):  # type: ignore[no-untyped-def]
    """One auction open for bidding, with two qualified buyers."""
    one = _build(app, client, session, clock, "A", "A")["A"]
    clock.set(one["auction"].starts_at + timedelta(minutes=2))
    return one


@pytest.mark.parametrize("field", ["placed_at", "timestamp", "server_time"])
def test_a_time_in_the_bid_body_is_refused(client, session, live, field):
    ref = live["auction"].ref
    r = client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": PRICE, field: "2020-01-01T00:00:00Z"},
                    headers=auth(live["tokens"][0], **{"Idempotency-Key": f"time-body-{field}"}))
    body = assert_problem(r, 422, "validation_error")
    assert field in body["errors"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == live["auction"].id)) == 0


def test_headers_do_not_change_the_exchange_time(client, session, clock, live):
    ref = live["auction"].ref
    receipt = ok(_bid(client, live["tokens"][0], ref, PRICE, "hdr-1", **CLIENT_TIME_HEADERS), 201)
    assert datetime.fromisoformat(receipt["placed_at"]) == clock.now()
    state = ok(client.get(f"/api/v1/auctions/{ref}", headers=CLIENT_TIME_HEADERS))
    assert datetime.fromisoformat(state["server_time"]) == clock.now()
    session.expire_all()
    bid = session.scalar(sa.select(Bid).where(Bid.auction_id == live["auction"].id))
    assert bid.placed_at == clock.now()
    # A Date header from after the end does not close the auction early either.
    future = {"Date": "Fri, 01 Jan 2100 00:00:00 GMT"}
    assert ok(client.get(f"/api/v1/auctions/{ref}", headers=future))["state"] in ("open", "scheduled")
    ok(_bid(client, live["tokens"][1], ref, PRICE + INCREMENT, "hdr-2", **future), 201)


def test_time_arguments_in_query_strings_are_ignored_or_refused(client, clock, live):
    ref = live["auction"].ref
    for query in ("now=2100-01-01T00:00:00Z", "at=2020-01-01", "server_time=2100-01-01T00:00:00Z"):
        r = client.get(f"/api/v1/auctions/{ref}?{query}")
        assert r.status_code in (200, 422), (query, r.status_code)
        if r.status_code == 200:
            assert datetime.fromisoformat(r.get_json()["server_time"]) == clock.now()
            assert r.get_json()["state"] in ("open", "scheduled")
