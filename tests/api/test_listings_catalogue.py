"""The public catalogue: Chinese keyword search, filters, stable pagination, and what it never shows."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from exchange.models import Role
from tests.factories import auth
from tests.helpers import (
    assert_problem,
    confirmed_asset,
    draft_listing,
    new_asset,
    ok,
    patent_no,
    published_listing,
    shanghai,
    signed_in,
)


@pytest.fixture()
def cat(client, session, clock):  # type: ignore[no-untyped-def]
    """Three published listings on three days, and a draft, a submitted and a withdrawn one."""
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    reducer = confirmed_asset(client, ts, to)  # 一种工业机器人关节减速器, invention, advanced manufacturing
    agv = confirmed_asset(client, ts, to, kind="utility_model", number=patent_no(1, 2021, 2), filing_date="2021-04-01",
                          title="一种AGV导航装置", technical_field="artificial_intelligence", summary="激光导航")
    software = confirmed_asset(client, ts, to, kind="software_copyright", number="2021SR0654321", filing_date=None,
                               title="机器人调度系统V2.0", technical_field="electronic_information", summary="多机调度")
    clock.set(shanghai(2026, 3, 2))
    l1 = published_listing(client, ts, to, reducer["ref"], title="关节减速器专利转让")  # ends Mar 30
    clock.set(shanghai(2026, 3, 3))
    l2 = published_listing(client, ts, to, agv["ref"], title="AGV导航实用新型普通许可", mode="ordinary_licence",
                           licence_term_months=36, territory="中国大陆", price_fen=20_000_000, deposit_fen=2_000_000,
                           increment_fen=100_000)  # ends Mar 31
    clock.set(shanghai(2026, 3, 4))
    l3 = published_listing(client, ts, to, software["ref"], title="调度软件著作权转让", price_fen=50_000_000,
                           deposit_fen=5_000_000)  # ends Apr 1
    hidden = []
    for serial, action in ((11, None), (12, "submit"), (13, "withdraw")):
        a = new_asset(client, ts, number=patent_no(serial), title=f"一种机器人焊接工艺{serial}")
        d = draft_listing(client, ts, a["ref"], title=f"机器人焊接工艺转让{serial}")
        if action == "submit":
            ok(client.post(f"/api/v1/listings/{d['ref']}/submit", headers=auth(ts)))
        elif action == "withdraw":
            ok(client.post(f"/api/v1/listings/{d['ref']}/withdraw", json={"reason": "暂缓"}, headers=auth(ts)))
        hidden.append(d["ref"])
    return SimpleNamespace(ts=ts, to=to, l1=l1["ref"], l2=l2["ref"], l3=l3["ref"], hidden=hidden)


def refs(client, **params):  # type: ignore[no-untyped-def]
    return [x["ref"] for x in ok(client.get("/api/v1/listings", query_string=params))["items"]]


def test_invalid_filters_are_422_problems(client, cat):
    for params in ({"kind": "spaceship"}, {"mode": "lease"}, {"technical_field": "astrology"}, {"colour": "red"},
                   {"per_page": 101}, {"page": 0}, {"min_price_fen": -1}, {"ending_before": "2026-02-30"},
                   {"state": "nonsense"}, {"q": "机" * 101}):
        assert_problem(client.get("/api/v1/listings", query_string=params), 422, "validation_error")
    assert_problem(client.get("/api/v1/listings", query_string={"min_price_fen": 60_000_000,
                                                                "max_price_fen": 50_000_000}),
                   422, "invalid_price_range")
    assert_problem(client.get("/api/v1/listings", query_string={"q": "一 二 三 四 五 六"}), 422, "too_many_keywords")
    assert_problem(client.get("/api/v1/listings", query_string={"state": "draft"}), 422, "invalid_state_filter")


def test_drafts_and_unpublished_listings_are_never_in_the_catalogue(client, cat):
    everything = refs(client, per_page=100)
    assert sorted(everything) == sorted([cat.l1, cat.l2, cat.l3])
    assert refs(client, q="焊接") == []
    assert refs(client, q="焊接", per_page=100, state="published") == []
    for ref in cat.hidden:
        assert_problem(client.get(f"/api/v1/listings/{ref}"), 404, "listing_not_found")
    # Signed in makes no difference to what the catalogue shows, even for the seller.
    assert sorted(x["ref"] for x in ok(client.get("/api/v1/listings", headers=auth(cat.ts)))["items"]) == \
        sorted(everything)


def test_chinese_keyword_finds_the_asset_title(client, cat):
    # 机器人 is in the asset's title 一种工业机器人关节减速器, not in the listing's title.
    found = ok(client.get("/api/v1/listings", query_string={"q": "机器人"}))
    assert [x["ref"] for x in found["items"]] == [cat.l3, cat.l1]
    assert found["items"][1]["asset"]["title"] == "一种工业机器人关节减速器"
    assert refs(client, q="机器人 调度") == [cat.l3]  # every keyword must match
    assert refs(client, q="agv") == [cat.l2]  # case does not matter
    assert refs(client, q="201710601862.3") == [cat.l1]  # the number is searchable
    assert refs(client, q="%") == [] and refs(client, q="机_人") == []  # LIKE wildcards are plain characters
    assert refs(client, q="量子") == []


def soonest_first(client, found: list[str]) -> set[str]:
    """The 'ending soon' filter lists the soonest end first (then by reference); return the set."""
    ends = [(ok(client.get(f"/api/v1/listings/{r}"))["publicity_end"], r) for r in found]
    assert ends == sorted(ends)
    return set(found)


def test_filters(client, cat):
    assert refs(client, kind="utility_model") == [cat.l2]
    assert refs(client, kind="software_copyright") == [cat.l3]
    assert refs(client, technical_field="advanced_manufacturing") == [cat.l1]
    assert refs(client, mode="ordinary_licence") == [cat.l2]
    assert refs(client, mode="assignment") == [cat.l3, cat.l1]
    assert refs(client, min_price_fen=30_000_000) == [cat.l3, cat.l1]
    assert refs(client, max_price_fen=50_000_000) == [cat.l3, cat.l2]
    assert refs(client, min_price_fen=50_000_000, max_price_fen=50_000_000) == [cat.l3]
    assert soonest_first(client, refs(client, ending_before="2026-03-31")) == {cat.l2, cat.l1}
    assert refs(client, ending_before="2026-03-29") == []
    assert refs(client, state="published", q="机器人", kind="invention_patent") == [cat.l1]


def test_ending_soon_shows_only_listings_still_in_publicity(client, clock, cat):
    clock.set(shanghai(2026, 3, 31, 10))
    # l1 ended on Mar 30 (and was extended: nobody registered), so it now ends on Apr 7.
    assert ok(client.get(f"/api/v1/listings/{cat.l1}"))["publicity_end"] == "2026-04-07"
    assert soonest_first(client, refs(client, ending_before="2026-04-01")) == {cat.l3, cat.l2}


def test_pagination_is_stable(client, cat):
    page1 = ok(client.get("/api/v1/listings", query_string={"per_page": 2, "page": 1}))
    page2 = ok(client.get("/api/v1/listings", query_string={"per_page": 2, "page": 2}))
    assert page1["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert page2["meta"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}
    first, second = [x["ref"] for x in page1["items"]], [x["ref"] for x in page2["items"]]
    assert first == [cat.l3, cat.l2] and second == [cat.l1]  # newest publication first
    assert not set(first) & set(second)
    assert refs(client, per_page=2, page=1) == first  # asking again gives the same page
    beyond = ok(client.get("/api/v1/listings", query_string={"per_page": 2, "page": 3}))
    assert beyond["items"] == [] and beyond["meta"]["total"] == 3


def test_listings_published_at_the_same_moment_keep_a_stable_order(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    made = []
    for serial in (21, 22, 23, 24):
        a = confirmed_asset(client, ts, to, number=patent_no(serial), title=f"同日挂牌的专利{serial}")
        made.append(published_listing(client, ts, to, a["ref"], title=f"同日挂牌{serial}")["ref"])
    pages = [refs(client, q="同日挂牌", per_page=3, page=p) for p in (1, 2)]
    assert pages == [made[::-1][:3], made[::-1][3:]]
