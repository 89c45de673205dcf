"""The whole listing flow through the API, with a fake clock across a holiday."""
from __future__ import annotations

from datetime import datetime, timezone

from exchange.models import Role
from tests.factories import auth, make_member, make_staff, token_for
from tests.helpers import assert_problem, confirmed_asset, ok, published_listing, qualified_buyer


def test_register_confirm_value_list_publish_register_qualify_and_hand_to_bidding(client, session, clock):
    # Publish on Mon 2026-09-21 (Shanghai): 20 working days cross Mid-Autumn and National Day.
    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc))
    seller, b1, b2 = make_member(session, clock), make_member(session, clock), make_member(session, clock)
    op = make_staff(session, clock, Role.operator)
    session.commit()
    ts, t1, t2, to = (token_for(client, u) for u in (seller, b1, b2, op))

    asset = confirmed_asset(client, ts, to)
    assert asset["number"] == "201710601862.3" and asset["expiry_date"] == "2037-07-31"
    val = ok(client.post(f"/api/v1/assets/{asset['ref']}/valuations",
                         json={"method": "cost", "inputs": {"replacement_cost_fen": 90_000_000,
                                                            "physical_depreciation_fen": 5_000_000}},
                         headers=auth(ts)), 201)
    assert val["value_fen"] == 85_000_000
    ok(client.post(f"/api/v1/assets/{asset['ref']}/valuations",
                   json={"method": "income", "inputs": {"yearly_revenue_fen": [500_000_000] * 5,
                                                        "royalty_share": "0.05", "discount_rate": "0.10",
                                                        "economic_life_years": 5}}, headers=auth(ts)), 201)
    pricing = ok(client.get(f"/api/v1/assets/{asset['ref']}/pricing", headers=auth(ts)))
    assert pricing["reference_low_fen"] == 85_000_000 and pricing["reference_high_fen"] > 85_000_000

    listing = published_listing(client, ts, to, asset["ref"])
    assert listing["state"] == "published"
    assert listing["publicity_start"] == "2026-09-21" and listing["publicity_end"] == "2026-10-26"
    assert listing["publicity_provisional"] is False

    # The catalogue finds it by a Chinese keyword inside the title.
    found = ok(client.get("/api/v1/listings?q=机器人"))
    assert listing["ref"] in [x["ref"] for x in found["items"]]

    qualified_buyer(client, t1, to, listing["ref"])
    qualified_buyer(client, t2, to, listing["ref"])

    # The day before the end nothing happens; after the last day publicity ends.
    clock.set(datetime(2026, 10, 26, 15, 0, tzinfo=timezone.utc))  # 23:00 on the 26th in Shanghai
    assert ok(client.get(f"/api/v1/listings/{listing['ref']}"))["state"] == "published"
    clock.set(datetime(2026, 10, 26, 16, 0, tzinfo=timezone.utc))  # 00:00 on the 27th
    after = ok(client.get(f"/api/v1/listings/{listing['ref']}"))
    # Handed to bidding: the auction is scheduled at once, so the listing is in auction.
    assert after["state"] == "in_auction" and after["qualified_count"] == 2
    assert any(a["listing_ref"] == listing["ref"] for a in ok(client.get("/api/v1/auctions")))

    # Registering after publicity ended is refused.
    late = make_member(session, clock)
    session.commit()
    assert_problem(client.post(f"/api/v1/listings/{listing['ref']}/registrations", json={"declaration": "x"},
                               headers=auth(token_for(client, late))), 409, "publicity_not_open")
