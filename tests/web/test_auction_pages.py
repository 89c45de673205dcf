"""Auction pages through the test client: the auction room (bids by form, refusals beside the field,
CSRF, no-JavaScript completeness, sealed secrecy, escaping), the lists, a member's bids and deals, the
negotiated transfer, and the operator's monitor with its confirmed actions."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from auctions.models import Auction, Bid, Deal, DealState
from exchange.models import IdempotencyRecord
from tests.factories import auth, make_member
from tests.helpers import listing_in_auction, ok
from tests.web.test_platform_pages import XSS, csrf_from, field_block, sign_in

TOKEN_RE = re.compile(r'name="form_token"[^>]*value="([^"]+)"')
START_PRICE = "1,000,000"  # the helper's listing: ¥1,000,000.00, increment ¥10,000.00


def text_of(page: str, name: str) -> str:
    """The text inside the first element with data-testid=name (tags stripped, whitespace collapsed)."""
    m = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:span|dd|p|b|button|h1|a|div|section|td|time)>', page, flags=re.S)
    assert m, f"no data-testid={name}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def page_of(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


@pytest.fixture()
def live(app, client, session, clock):  # type: ignore[no-untyped-def]
    """A running ascending auction (one minute after its start) and a web client per party."""
    w = listing_in_auction(client, session, clock)
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    w["ref"] = w["auction"]["ref"]
    for who in ("b1", "b2", "op", "seller"):
        c = app.test_client()
        assert sign_in(c, w[who].email).status_code == 302
        w["c_" + who] = c
    return w


def bid_form(c, ref: str) -> dict:  # type: ignore[no-untyped-def]
    page = page_of(c.get(f"/auctions/{ref}"))
    return {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
            "form_token": TOKEN_RE.search(page).group(1)}


def post_bid(c, ref: str, amount: str, **over):  # type: ignore[no-untyped-def]
    data = bid_form(c, ref) | {"amount": amount} | over
    return c.post(f"/auctions/{ref}/bid", data=data)


def bids_in(session, ref: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(Bid).join(Auction, Auction.id == Bid.auction_id)
                          .where(Auction.ref == ref))


# --- the room ----------------------------------------------------------------------------------

def test_room_renders_for_a_visitor_with_everything_in_the_html(client, live):
    r = client.get(f"/auctions/{live['ref']}")
    assert r.status_code == 200
    page = page_of(r)
    assert text_of(page, "auction-title") == "工业机器人关节减速器专利转让"
    assert f'href="/listings/{live["listing"]["ref"]}"' in page
    assert text_of(page, "auction-format") == "网络动态报价"
    assert text_of(page, "auction-phase") == "自由报价期"
    assert text_of(page, "current-price") == "尚无出价"
    assert text_of(page, "min-next-bid") == "¥1,000,000.00"
    assert text_of(page, "bid-count") == "0"
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", text_of(page, "countdown"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text_of(page, "end-time"))
    # A visitor cannot bid: no form, a way to sign in.
    assert 'data-testid="bid-form"' not in page and "/login?next=" in page
    # The live script and its data come from the same origin (strict CSP: no inline code).
    assert '<script src="/static/auctions/auction-room.js" defer></script>' in page
    assert re.search(r'<script type="application/json" id="auction-room-data">', page)
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_script_and_styles_are_served(client):
    js = client.get("/static/auctions/auction-room.js")
    assert js.status_code == 200 and "javascript" in js.mimetype
    assert "/wait?version=" in js.get_data(as_text=True)
    css = client.get("/static/auctions/auctions.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/static/auctions/../views.py").status_code == 404


def test_a_bid_through_the_form_redirects_and_updates_the_price(live, session):
    c = live["c_b1"]
    page = page_of(c.get(f"/auctions/{live['ref']}"))
    assert 'data-testid="bid-form"' in page and 'data-testid="bid-amount"' in page
    assert 'value="1000000"' in page  # prefilled with the minimum next bid, in yuan
    assert text_of(page, "your-bidder-no") in ("J001", "J002")
    r = post_bid(c, live["ref"], START_PRICE)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/auctions/{live['ref']}")
    page = page_of(c.get(r.headers["Location"]))
    assert re.search(r'<p class="flash ok">您的出价 ¥1,000,000.00 已受理（第 1 号）', page)
    assert text_of(page, "current-price") == "¥1,000,000.00"
    assert text_of(page, "bid-count") == "1"
    assert text_of(page, "min-next-bid") == "¥1,010,000.00"
    assert text_of(page, "you-lead") == "您领先"
    assert len(re.findall(r'data-testid="record-row"', page)) == 1
    assert bids_in(session, live["ref"]) == 1
    # The other bidder sees the new price and the leader's number, never a name.
    other = page_of(live["c_b2"].get(f"/auctions/{live['ref']}"))
    assert text_of(other, "current-price") == "¥1,000,000.00"
    assert text_of(other, "leader") == text_of(page, "your-bidder-no")
    assert text_of(other, "you-lead") == "您未领先"
    assert live["b1"].party.name not in other and live["b1"].display_name not in other


def test_a_second_post_of_the_same_form_is_not_a_second_bid(live, session):
    c = live["c_b1"]
    form = bid_form(c, live["ref"]) | {"amount": START_PRICE}
    assert c.post(f"/auctions/{live['ref']}/bid", data=form).status_code == 303
    again = c.post(f"/auctions/{live['ref']}/bid", data=form)
    assert again.status_code == 303
    assert "已出价" in page_of(c.get(again.headers["Location"]))
    assert bids_in(session, live["ref"]) == 1
    # The same one-time form with another amount is refused, not taken for a new bid.
    other = c.post(f"/auctions/{live['ref']}/bid", data=form | {"amount": "1,020,000"})
    assert other.status_code == 409 and "已用于一次出价" in page_of(other)
    assert bids_in(session, live["ref"]) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                          .where(IdempotencyRecord.key.like("web-bid:%"))) == 1


@pytest.mark.parametrize(("amount", "status", "words"), [
    ("990,000", 422, "不得低于起拍价"),
    ("1,005,000", 422, "加价幅度"),
    ("abc", 422, "请输入以元为单位的金额"),
    ("1000000.001", 422, "请输入以元为单位的金额"),
    ("-1000000", 422, "大于零"),
    ("$1000000", 422, "人民币"),
    ("", 422, "请输入金额"),
])
def test_a_refused_bid_shows_its_reason_beside_the_amount(live, session, amount, status, words):
    r = post_bid(live["c_b1"], live["ref"], amount)
    assert r.status_code == status
    page = page_of(r)
    block = field_block(page, "amount")
    assert words in block and 'data-testid="bid-error"' in block and "has-error" in block
    assert f'value="{html.escape(amount)}"' in block  # what was typed stays in the field
    assert bids_in(session, live["ref"]) == 0


def test_too_low_after_a_bid_and_the_leader_raising_are_refused(live, session):
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    low = post_bid(live["c_b2"], live["ref"], START_PRICE)
    assert low.status_code == 422
    block = field_block(page_of(low), "amount")
    assert "出价须高于当前价" in block and "¥1,010,000.00" in block
    lead = post_bid(live["c_b1"], live["ref"], "1,020,000")
    assert lead.status_code == 422
    assert "您已是最高出价" in text_of(page_of(lead), "bid-error")
    assert bids_in(session, live["ref"]) == 1


def test_a_bid_after_the_end_is_refused_with_409(live, session, clock):
    c = live["c_b1"]
    form = bid_form(c, live["ref"]) | {"amount": START_PRICE}
    a = session.scalar(sa.select(Auction).where(Auction.ref == live["ref"]))
    clock.set(a.effective_end_at)
    r = c.post(f"/auctions/{live['ref']}/bid", data=form)
    assert r.status_code == 409 and "竞价已结束" in page_of(r)
    assert bids_in(session, live["ref"]) == 0


def test_a_bid_without_csrf_token_is_refused(live, session):
    c = live["c_b1"]
    form = bid_form(c, live["ref"])
    r = c.post(f"/auctions/{live['ref']}/bid", data={"amount": START_PRICE, "form_token": form["form_token"]})
    assert r.status_code == 400 and r.mimetype == "text/html"
    r = c.post(f"/auctions/{live['ref']}/bid", data={"amount": START_PRICE, "form_token": form["form_token"],
                                                     "csrf_token": "forged"})
    assert r.status_code == 400
    assert bids_in(session, live["ref"]) == 0


def test_a_member_who_is_not_a_bidder_sees_no_form_and_is_refused(app, live, session, clock):
    stranger = make_member(session, clock)
    session.commit()
    c = app.test_client()
    sign_in(c, stranger.email)
    page = page_of(c.get(f"/auctions/{live['ref']}"))
    assert 'data-testid="bid-form"' not in page and "您不是本场竞价的合格竞买人" in page
    token = csrf_from(c, f"/auctions/{live['ref']}")
    r = c.post(f"/auctions/{live['ref']}/bid", data={"csrf_token": token, "form_token": "f" * 32,
                                                     "amount": START_PRICE})
    assert r.status_code == 422 and "只有合格竞买人才能出价" in page_of(r)
    assert bids_in(session, live["ref"]) == 0


def test_visitors_and_staff_cannot_post_bids(client, live, session):
    assert client.post(f"/auctions/{live['ref']}/bid", data={"amount": START_PRICE}).status_code == 400  # no CSRF
    token = csrf_from(client, "/login")
    r = client.post(f"/auctions/{live['ref']}/bid", data={"csrf_token": token, "amount": START_PRICE,
                                                          "form_token": "f" * 32})
    assert r.status_code == 401
    op = live["c_op"]
    page = page_of(op.get(f"/auctions/{live['ref']}"))
    assert 'data-testid="bid-form"' not in page
    r = op.post(f"/auctions/{live['ref']}/bid", data={"csrf_token": csrf_from(op, f"/auctions/{live['ref']}"),
                                                      "amount": START_PRICE, "form_token": "f" * 32})
    assert r.status_code == 403
    assert bids_in(session, live["ref"]) == 0


def test_an_unknown_auction_is_a_404_page(client):
    r = client.get("/auctions/AU-NOPE")
    assert r.status_code == 404 and r.mimetype == "text/html"


def test_the_record_is_for_bidders_during_the_auction_and_for_all_after(client, live, session, clock):
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    assert post_bid(live["c_b2"], live["ref"], "1,010,000").status_code == 303
    bidder_page = page_of(live["c_b2"].get(f"/auctions/{live['ref']}"))
    rows = re.findall(r'<tr data-testid="record-row"[^>]*>(.*?)</tr>', bidder_page, flags=re.S)
    assert len(rows) == 2 and "¥1,010,000.00" in rows[0] and "¥1,000,000.00" in rows[1]  # newest first
    assert re.search(r"<td>J00\d</td>", rows[0])
    visitor = page_of(client.get(f"/auctions/{live['ref']}"))
    assert 'data-testid="record-hidden"' in visitor and 'data-testid="record-row"' not in visitor
    assert text_of(visitor, "current-price") == "¥1,010,000.00"  # the price itself is public
    a = session.scalar(sa.select(Auction).where(Auction.ref == live["ref"]))
    clock.set(a.effective_end_at + timedelta(seconds=1))
    after = page_of(client.get(f"/auctions/{live['ref']}"))
    assert len(re.findall(r'data-testid="record-row"', after)) == 2
    assert text_of(after, "hammer-price") == "¥1,010,000.00"
    assert "发布结果后公布" in text_of(after, "winner-name")
    for user in (live["b1"], live["b2"]):
        assert user.party.name not in after


def test_the_page_works_in_english(live):
    page = page_of(live["c_b1"].get(f"/auctions/{live['ref']}?lang=en"))
    assert text_of(page, "auction-format") == "Ascending online bidding"
    assert text_of(page, "current-price") == "No bid yet"
    assert text_of(page, "bid-submit") == "Bid"


def test_a_listing_title_is_escaped_everywhere(app, client, session, clock):
    w = listing_in_auction(client, session, clock, title=XSS + "减速器")
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    for path in (f"/auctions/{w['auction']['ref']}", "/auctions", "/"):
        page = page_of(client.get(path))
        assert XSS not in page, path
    room = page_of(client.get(f"/auctions/{w['auction']['ref']}"))
    assert html.escape(XSS) in room or "&lt;script&gt;alert(1)&lt;/script&gt;" in room
    assert "\\u003cscript\\u003e" in room  # inside the JSON data block too


# --- sealed and descending ---------------------------------------------------------------------------

def test_sealed_auction_shows_only_the_count_before_the_close(app, client, session, clock):
    w = listing_in_auction(client, session, clock, auction_format="sealed")
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    c1, c2 = app.test_client(), app.test_client()
    sign_in(c1, w["b1"].email)
    sign_in(c2, w["b2"].email)
    page = page_of(c1.get(f"/auctions/{ref}"))
    assert text_of(page, "auction-format") == "一次报价" and 'data-testid="bid-form"' in page
    assert post_bid(c1, ref, "1,234,567.89").status_code == 303
    mine = page_of(c1.get(f"/auctions/{ref}"))
    assert "¥1,234,567.89" in text_of(mine, "sealed-done")  # a bidder sees its own sealed bid
    assert 'data-testid="bid-form"' not in mine  # one bid only
    for c in (c2, client):
        other = page_of(c.get(f"/auctions/{ref}"))
        assert "1,234,567" not in other and "1234567" not in other
        assert text_of(other, "sealed-count") == "1"
        assert text_of(other, "current-price") == "密封，截止后公开"
        assert 'data-testid="record-row"' not in other
    # A second sealed bid by the same bidder is refused (a fresh form from another page).
    r = c1.post(f"/auctions/{ref}/bid", data={"csrf_token": csrf_from(c1, f"/auctions/{ref}"),
                                              "form_token": "x" * 32, "amount": "1,300,000"})
    assert r.status_code == 409 and "已提交密封报价" in page_of(r)
    a = session.scalar(sa.select(Auction).where(Auction.ref == ref))
    clock.set(a.effective_end_at + timedelta(seconds=1))
    after = page_of(client.get(f"/auctions/{ref}"))
    assert text_of(after, "hammer-price") == "¥1,234,567.89" and 'data-testid="record-row"' in after


def test_descending_auction_is_accepted_with_one_button(app, client, session, clock):
    w = listing_in_auction(client, session, clock, auction_format="descending")
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=1))
    c1 = app.test_client()
    sign_in(c1, w["b1"].email)
    page = page_of(c1.get(f"/auctions/{ref}"))
    assert text_of(page, "auction-format") == "减价竞价" and text_of(page, "accept-price") == "¥1,000,000.00"
    assert 'data-testid="bid-amount"' not in page
    form = {"csrf_token": csrf_from(c1, f"/auctions/{ref}"), "form_token": TOKEN_RE.search(page).group(1)}
    r = c1.post(f"/auctions/{ref}/bid", data=form)
    assert r.status_code == 303
    after = page_of(c1.get(f"/auctions/{ref}"))
    assert text_of(after, "hammer-price") == "¥1,000,000.00" and 'data-testid="you-won"' in after
    assert c1.post(f"/auctions/{ref}/bid", data=form).status_code == 303  # a double click: "already placed"
    assert bids_in(session, ref) == 1


# --- lists, home, member pages ------------------------------------------------------------------------

def test_auction_list_and_home_sections(client, live):
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    page = page_of(client.get("/auctions"))
    assert 'data-testid="live-auction"' in page and "¥1,000,000.00" in page and live["ref"] in page
    assert 'data-live-list' in page and "auction-room.js" in page
    home = page_of(client.get("/"))
    assert 'data-testid="home-live-auctions"' in home and "工业机器人关节减速器专利转让" in home
    assert 'data-testid="home-recent-deals"' in home


def test_navigation_links_by_role(client, live):
    assert 'href="/auctions"' in page_of(client.get("/"))
    assert 'href="/my/bids"' not in page_of(client.get("/"))
    member = page_of(live["c_b1"].get("/"))
    assert 'href="/my/bids"' in member and 'href="/my/deals"' in member and 'href="/operator/auctions"' not in member
    assert 'href="/operator/auctions"' in page_of(live["c_op"].get("/"))


def test_my_bids_shows_where_the_bidder_stands(live):
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    assert post_bid(live["c_b2"], live["ref"], "1,010,000").status_code == 303
    page = page_of(live["c_b1"].get("/my/bids"))
    assert text_of(page, "bid-status") == "已被超越"
    assert len(re.findall(r'data-testid="my-bid-row"', page)) == 1 and "¥1,000,000.00" in page
    assert text_of(page_of(live["c_b2"].get("/my/bids")), "bid-status") == "您领先"


def test_member_pages_need_sign_in_and_the_member_role(client, live):
    r = client.get("/my/bids")
    assert r.status_code == 401 and r.mimetype == "text/html"
    assert live["c_op"].get("/my/deals").status_code == 403


def _closed_with_two_bids(live, session, clock):  # type: ignore[no-untyped-def]
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    assert post_bid(live["c_b2"], live["ref"], "1,010,000").status_code == 303
    a = session.scalar(sa.select(Auction).where(Auction.ref == live["ref"]))
    clock.set(a.effective_end_at + timedelta(seconds=1))


def test_my_deals_lists_the_deal_for_buyer_and_seller(live, session, clock):
    _closed_with_two_bids(live, session, clock)
    assert live["c_b2"].get(f"/auctions/{live['ref']}").status_code == 200  # the visit closes the due auction
    page = page_of(live["c_b2"].get("/my/deals"))
    assert 'data-testid="deal-row"' in page and "¥1,010,000.00" in page and "受让方" in page
    assert text_of(page, "deal-state") == "已成交，待签约"
    assert f'href="/auctions/{live["ref"]}"' in page
    assert "转让方" in page_of(live["c_seller"].get("/my/deals"))
    assert 'data-testid="deal-row"' not in page_of(live["c_b1"].get("/my/deals"))


# --- operator --------------------------------------------------------------------------------------------

def test_monitor_lists_running_auctions_with_live_figures(client, live):
    assert post_bid(live["c_b1"], live["ref"], START_PRICE).status_code == 303
    page = page_of(live["c_op"].get("/operator/auctions"))
    row = re.search(rf'<tr data-auction-row="{live["ref"]}".*?</tr>', page, flags=re.S).group(0)
    assert "¥1,000,000.00" in row and "J00" in row and f"/api/v1/auctions/{live['ref']}/protocol.csv" in row
    assert "auction-room.js" in page
    assert live["c_b1"].get("/operator/auctions").status_code == 403
    assert client.get("/operator/auctions").status_code == 401


def test_operator_console_counts_the_auction_desk(live, session, clock):
    page = page_of(live["c_op"].get("/operator"))
    assert re.search(r'data-testid="queue-auctions_running".*?<b>1</b>', page, flags=re.S)
    assert 'href="/operator/auctions"' in page
    _closed_with_two_bids(live, session, clock)
    live["c_op"].get(f"/auctions/{live['ref']}")  # closes the due auction
    page = page_of(live["c_op"].get("/operator"))
    assert re.search(r'data-testid="queue-auction_results".*?<b>1</b>', page, flags=re.S)
    assert re.search(r'data-testid="queue-deals_to_sign".*?<b>1</b>', page, flags=re.S)


def confirm_post(c, path: str, **data):  # type: ignore[no-untyped-def]
    return c.post(path, data={"csrf_token": csrf_from(c, path), **data})


def test_publish_result_needs_the_confirmation_box(live, session, clock):
    _closed_with_two_bids(live, session, clock)
    op = live["c_op"]
    path = f"/operator/auctions/{live['ref']}/publish"
    page = page_of(op.get(path))  # the look closes the due auction, as every read does
    assert "¥1,010,000.00" in page and 'data-testid="confirm-box"' in page
    assert f'href="{path}"' in page_of(op.get("/operator/auctions"))
    r = confirm_post(op, path)
    assert r.status_code == 422 and "请勾选以确认" in field_block(page_of(r), "confirm")
    r = confirm_post(op, path, confirm="y")
    assert r.status_code == 303
    room = page_of(live["c_b1"].get(f"/auctions/{live['ref']}"))
    assert text_of(room, "winner-name") == live["b2"].party.name
    assert confirm_post(op, path, confirm="y").status_code == 303  # publishing twice changes nothing


def test_publish_before_the_close_is_refused(live):
    r = confirm_post(live["c_op"], f"/operator/auctions/{live['ref']}/publish", confirm="y")
    assert r.status_code == 409 and "尚未结束" in page_of(r)


def test_close_action_only_when_due(live, session, clock):
    path = f"/operator/auctions/{live['ref']}/close"
    r = confirm_post(live["c_op"], path, confirm="y")
    assert r.status_code == 409 and "竞价尚未结束" in page_of(r)
    _closed_with_two_bids(live, session, clock)
    r = confirm_post(live["c_op"], path, confirm="y")
    assert r.status_code == 303
    assert session.scalar(sa.select(Auction.state).where(Auction.ref == live["ref"])).value == "closed"


def test_default_then_runner_up_with_confirmation(live, session, clock):
    _closed_with_two_bids(live, session, clock)
    op = live["c_op"]
    op.get(f"/auctions/{live['ref']}")  # closes the due auction: the deal is struck with b2
    deal = session.scalar(sa.select(Deal).where(Deal.buyer_party_id == live["b2"].party_id))
    monitor = page_of(op.get("/operator/auctions"))
    assert f'/operator/deals/{deal.ref}/default' in monitor
    path = f"/operator/deals/{deal.ref}/default"
    r = confirm_post(op, path, confirm="y", reason="")
    assert r.status_code == 422 and "请填写原因" in field_block(page_of(r), "reason")
    r = confirm_post(op, path, reason="逾期未签约")
    assert r.status_code == 422 and "请勾选以确认" in page_of(r)
    session.expire_all()
    assert session.get(Deal, deal.id).state == DealState.STRUCK
    assert confirm_post(op, path, reason="逾期未签约 <b>", confirm="y").status_code == 303
    session.expire_all()
    assert session.get(Deal, deal.id).state == DealState.DEFAULTED
    runner = f"/operator/deals/{deal.ref}/runner-up"
    page = page_of(op.get(runner))
    assert "¥1,000,000.00" in page and "J00" in page
    assert confirm_post(op, runner).status_code == 422
    assert confirm_post(op, runner, confirm="y").status_code == 303
    new = session.scalar(sa.select(Deal).where(Deal.replaces_deal_id == deal.id))
    assert new.buyer_party_id == live["b1"].party_id and new.price_fen == 100_000_000
    assert confirm_post(op, runner, confirm="y").status_code == 409  # the old deal is no longer defaulted


def test_relist_after_default(live, session, clock):
    _closed_with_two_bids(live, session, clock)
    op = live["c_op"]
    op.get(f"/auctions/{live['ref']}")
    deal = session.scalar(sa.select(Deal).where(Deal.buyer_party_id == live["b2"].party_id))
    assert confirm_post(op, f"/operator/deals/{deal.ref}/default", reason="未付款", confirm="y").status_code == 303
    path = f"/operator/deals/{deal.ref}/relist"
    assert confirm_post(op, path, confirm="y").status_code == 422
    assert confirm_post(op, path, confirm="y", reason="重新挂牌").status_code == 303
    session.expire_all()
    assert session.get(Deal, deal.id).state == DealState.CANCELLED


def test_operator_actions_are_refused_to_members_and_without_csrf(live, session):
    path = f"/operator/auctions/{live['ref']}/close"
    assert live["c_b1"].get(path).status_code == 403
    assert live["c_op"].post(path, data={"confirm": "y"}).status_code == 400


def test_reschedule_takes_beijing_time(app, client, session, clock):
    w = listing_in_auction(client, session, clock)
    ref = w["auction"]["ref"]
    op = app.test_client()
    sign_in(op, w["op"].email)
    path = f"/operator/auctions/{ref}/reschedule"
    page = page_of(op.get(path))
    assert 'type="datetime-local"' in page
    r = confirm_post(op, path, starts_at="2026-11-02T14:30", confirm="y")
    assert r.status_code == 303
    a = session.scalar(sa.select(Auction).where(Auction.ref == ref))
    session.refresh(a)
    assert a.starts_at == datetime(2026, 11, 2, 6, 30, tzinfo=timezone.utc)
    r = confirm_post(op, path, starts_at="2020-01-01T10:00", confirm="y")
    assert r.status_code == 422 and "不能早于当前时间" in field_block(page_of(r), "starts_at")
    r = confirm_post(op, path, starts_at="not a date", confirm="y")
    assert r.status_code == 422 and "has-error" in field_block(page_of(r), "starts_at")


# --- negotiated transfer ------------------------------------------------------------------------------

@pytest.fixture()
def negotiation(app, client, session, clock):  # type: ignore[no-untyped-def]
    from tests.factories import make_staff, token_for
    from tests.helpers import confirmed_asset, published_listing, qualified_buyer
    from exchange.models import Role

    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc))
    seller, buyer = make_member(session, clock), make_member(session, clock)
    op = make_staff(session, clock, Role.operator)
    session.commit()
    ts, tb, to = (token_for(client, u) for u in (seller, buyer, op))
    asset = confirmed_asset(client, ts, to)
    listing = published_listing(client, ts, to, asset["ref"])
    qualified_buyer(client, tb, to, listing["ref"])
    clock.set(datetime(2026, 10, 26, 16, 0, 1, tzinfo=timezone.utc))
    assert ok(client.get(f"/api/v1/listings/{listing['ref']}"))["state"] == "awaiting_negotiation"
    n = ok(client.get(f"/api/v1/listings/{listing['ref']}/negotiation", headers=auth(to)))
    clients = {}
    for name, user in (("seller", seller), ("buyer", buyer), ("op", op)):
        clients[name] = app.test_client()
        sign_in(clients[name], user.email)
    return {"ref": n["ref"], "buyer": buyer, **clients}


def test_negotiation_buyer_confirms_and_operator_concludes(negotiation, session):
    ref = negotiation["ref"]
    buyer, op = negotiation["buyer"], negotiation["op"]
    path = f"/negotiations/{ref}"
    page = page_of(buyer.get(path))
    assert 'data-testid="price-form"' in page and 'data-testid="result-form"' not in page
    low = buyer.post(f"{path}/confirm", data={"csrf_token": csrf_from(buyer, path), "price": "999,999.99"})
    assert low.status_code == 422 and "不得低于挂牌价" in field_block(page_of(low), "price")
    bad = buyer.post(f"{path}/confirm", data={"csrf_token": csrf_from(buyer, path), "price": "1e6"})
    assert bad.status_code == 422 and "请输入以元为单位的金额" in field_block(page_of(bad), "price")
    r = buyer.post(f"{path}/confirm", data={"csrf_token": csrf_from(buyer, path), "price": "1,050,000"})
    assert r.status_code == 303
    assert text_of(page_of(op.get(path)), "confirmed-price") == "¥1,050,000.00"
    assert negotiation["seller"].post(f"{path}/confirm", data={"csrf_token": csrf_from(negotiation["seller"], path),
                                                               "price": "1,100,000"}).status_code == 403
    fail = op.post(f"{path}/result", data={"csrf_token": csrf_from(op, path), "outcome": "failed", "note": "",
                                           "confirm": "y"})
    assert fail.status_code == 422 and "has-error" in field_block(page_of(fail), "note")
    r = op.post(f"{path}/result", data={"csrf_token": csrf_from(op, path), "outcome": "concluded", "note": "",
                                        "confirm": "y"})
    assert r.status_code == 303
    page = page_of(buyer.get(path))
    assert text_of(page, "negotiation-state") == "已成交" and 'data-testid="price-form"' not in page
    deals = page_of(buyer.get("/my/deals"))
    assert "协议转让" in deals and "¥1,050,000.00" in deals


def test_negotiation_is_hidden_from_strangers(app, negotiation, session, clock):
    stranger = make_member(session, clock)
    session.commit()
    c = app.test_client()
    sign_in(c, stranger.email)
    assert c.get(f"/negotiations/{negotiation['ref']}").status_code == 404



def test_the_room_script_long_polls_with_the_session_cookie(live):
    """The page script reads the JSON API with the session cookie: personal fields included."""
    c = live["c_b1"]
    page = page_of(c.get(f"/auctions/{live['ref']}"))
    version = re.search(r'data-version="([^"]+)"', page).group(1)
    assert f'"version": "{version}"' in page  # the script's first look, in the JSON data block
    r = c.get(f"/api/v1/auctions/{live['ref']}/wait", query_string={"version": "stale", "timeout": 0})
    assert r.status_code == 200 and r.get_json()["your_bidder_no"] in ("J001", "J002")
    assert post_bid(live["c_b2"], live["ref"], START_PRICE).status_code == 303
    changed = ok(c.get(f"/api/v1/auctions/{live['ref']}/wait", query_string={"version": version, "timeout": 5}))
    assert changed["version"] != version and changed["bid_count"] == 1 and changed["you_lead"] is False
    assert [b["amount_fen"] for b in ok(c.get(f"/api/v1/auctions/{live['ref']}/bids"))] == [100_000_000]
