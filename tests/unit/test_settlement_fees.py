"""Service fees: worked examples at every band boundary, minimums, configuration, properties.

Band limits in fen: 3,000万 yuan = 30,000,000 yuan = 3,000,000,000 fen;
6,000万 = 6,000,000,000; 10,000万 (1亿) = 10,000,000,000; 50,000万 (5亿) = 50,000,000,000.

Full-band fees, seller (bidding) and each side (negotiated), rates 0.24/0.2/0.15/0.07/0.03 %:
  band 1: 3,000,000,000 × 0.0024 =  7,200,000
  band 2: 3,000,000,000 × 0.002  =  6,000,000  → cumulative at 6,000万  13,200,000
  band 3: 4,000,000,000 × 0.0015 =  6,000,000  → cumulative at 1亿      19,200,000
  band 4: 40,000,000,000 × 0.0007 = 28,000,000 → cumulative at 5亿      47,200,000
Buyer (bidding), rates 3.2/2.4/1.4/0.6/0.3 %:
  band 1: 3,000,000,000 × 0.032  =  96,000,000
  band 2: 3,000,000,000 × 0.024  =  72,000,000 → 168,000,000
  band 3: 4,000,000,000 × 0.014  =  56,000,000 → 224,000,000
  band 4: 40,000,000,000 × 0.006 = 240,000,000 → 464,000,000
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, RuleViolationError, ValidationError
from exchange.money import Money
from settlement.domain import (
    DEFAULT_FEE_SCHEDULE,
    DealMethod,
    FeeBand,
    FeeSchedule,
    FeeSide,
    compute_fee,
    quote_fee,
    schedule_from_dict,
    schedule_in_force,
    schedule_to_dict,
)

S = DEFAULT_FEE_SCHEDULE
WAN = 1_000_000  # fen in 1万 yuan


def fee(fen: int, side: str, method: str) -> int:
    return compute_fee(S, Money(fen), side, method).fen


def test_default_schedule_limits_are_exact_fen() -> None:
    assert [b.upper_fen for b in S.bidding_seller] == [
        3_000_000_000, 6_000_000_000, 10_000_000_000, 50_000_000_000, None]
    assert [b.rate for b in S.bidding_buyer] == [
        Decimal("0.032"), Decimal("0.024"), Decimal("0.014"), Decimal("0.006"), Decimal("0.003")]
    assert S.min_bidding_fen == 360_000 and S.min_negotiated_fen == 200_000


# (price in fen, expected fee in fen) for the seller's side of a bidding deal.
SELLER_BIDDING = [
    (3_000_000_000, 7_200_000),    # exactly 3,000万: all in band 1
    (3_000_000_001, 7_200_000),    # + 1 fen at 0.2 % = 0.002 fen → rounds to nothing
    (3_000_000_249, 7_200_000),    # + 249 × 0.002 = 0.498 → down
    (3_000_000_250, 7_200_001),    # + 250 × 0.002 = 0.5 → HALF_UP
    (6_000_000_000, 13_200_000),   # 7,200,000 + 6,000,000
    (6_000_000_001, 13_200_000),   # + 0.0015 fen
    (10_000_000_000, 19_200_000),  # + 6,000,000
    (10_000_000_001, 19_200_000),  # + 0.0007 fen
    (50_000_000_000, 47_200_000),  # + 28,000,000
    (50_000_000_001, 47_200_000),  # + 0.0003 fen
    (60_000_000_000, 50_200_000),  # + 10,000,000,000 × 0.0003 = 3,000,000
    (100_000_000_000, 62_200_000),  # 10亿: + 50,000,000,000 × 0.0003 = 15,000,000
]

BUYER_BIDDING = [
    (3_000_000_000, 96_000_000),
    (3_000_000_001, 96_000_000),   # + 0.024 fen
    (3_000_000_021, 96_000_001),   # + 21 × 0.024 = 0.504 → up
    (3_000_000_020, 96_000_000),   # + 20 × 0.024 = 0.48 → down
    (6_000_000_000, 168_000_000),
    (6_000_000_001, 168_000_000),  # + 0.014
    (10_000_000_000, 224_000_000),
    (10_000_000_001, 224_000_000),  # + 0.006
    (50_000_000_000, 464_000_000),
    (50_000_000_001, 464_000_000),  # + 0.003
    (60_000_000_000, 494_000_000),  # + 10,000,000,000 × 0.003 = 30,000,000
]

# Negotiated: each side on the seller-bidding bands; the 2,000-yuan minimum never bites this high.
NEGOTIATED = [(p, f) for p, f in SELLER_BIDDING]


@pytest.mark.parametrize(("price", "expected"), SELLER_BIDDING)
def test_bidding_seller_at_band_boundaries(price: int, expected: int) -> None:
    assert fee(price, "seller", "bidding") == expected


@pytest.mark.parametrize(("price", "expected"), BUYER_BIDDING)
def test_bidding_buyer_at_band_boundaries(price: int, expected: int) -> None:
    assert fee(price, "buyer", "bidding") == expected


@pytest.mark.parametrize(("price", "expected"), NEGOTIATED)
@pytest.mark.parametrize("side", ["seller", "buyer"])
def test_negotiated_each_side_at_band_boundaries(price: int, expected: int, side: str) -> None:
    assert fee(price, side, "negotiated") == expected


def test_minimum_fee_for_small_deals() -> None:
    # 100万 yuan = 100,000,000 fen: seller 0.24 % = 240,000 fen (2,400 yuan).
    assert fee(100_000_000, "seller", "bidding") == 360_000     # below 3,600 yuan → minimum
    assert fee(100_000_000, "seller", "negotiated") == 240_000  # above 2,000 yuan → bands
    assert fee(100_000_000, "buyer", "negotiated") == 240_000
    # 50万 yuan: 120,000 fen, under both minimums.
    assert fee(50_000_000, "seller", "negotiated") == 200_000
    assert fee(50_000_000, "buyer", "negotiated") == 200_000
    # Buyer bidding at 10万 yuan: 10,000,000 × 0.032 = 320,000 < 360,000.
    assert fee(10_000_000, "buyer", "bidding") == 360_000
    # Break-even for the seller: 360,000 / 0.0024 = 150,000,000 fen (150万 yuan).
    assert fee(150_000_000, "seller", "bidding") == 360_000
    assert fee(150_000_500, "seller", "bidding") == 360_001  # + 500 × 0.0024 = 1.2
    assert fee(0, "seller", "bidding") == 360_000


def test_quote_breaks_down_by_band() -> None:
    q = quote_fee(S, Money(6_500_000_000), FeeSide.SELLER, DealMethod.BIDDING)
    assert [(ln.lower_fen, ln.upper_fen, ln.base.fen, ln.fee.fen) for ln in q.lines] == [
        (0, 3_000_000_000, 3_000_000_000, 7_200_000),
        (3_000_000_000, 6_000_000_000, 3_000_000_000, 6_000_000),
        (6_000_000_000, 10_000_000_000, 500_000_000, 750_000),  # × 0.0015
    ]
    assert q.fee.fen == q.cumulative.fen == 13_950_000
    assert not q.minimum_applied
    small = quote_fee(S, Money(100_000_000), "seller", "bidding")
    assert small.minimum_applied and small.cumulative.fen == 240_000 and small.fee.fen == 360_000


def test_rounded_once_not_per_band() -> None:
    # Two bands at 50 %: a 2-fen price gives 0.5 + 0.5 = 1.0 fen; rounding each band would give 2.
    half = Decimal("0.5")
    s = FeeSchedule("t", date(2026, 1, 1), (FeeBand(1, half), FeeBand(None, half)),
                    (FeeBand(None, half),), (FeeBand(None, half),), 0, 0)
    q = quote_fee(s, Money(2), "seller", "bidding")
    assert [ln.fee.fen for ln in q.lines] == [1, 1]  # display lines, each rounded
    assert q.fee.fen == 1


def test_bad_inputs() -> None:
    with pytest.raises(ValidationError) as e:
        compute_fee(S, Money(-1), "seller", "bidding")
    assert e.value.code == "invalid_amount"
    with pytest.raises(CurrencyMismatchError):
        compute_fee(S, Money(100, "USD"), "seller", "bidding")
    with pytest.raises(ValidationError) as e:
        compute_fee(S, Money(100), "broker", "bidding")
    assert e.value.code == "invalid_fee_side"
    with pytest.raises(ValidationError) as e:
        compute_fee(S, Money(100), "seller", "lottery")
    assert e.value.code == "invalid_deal_method"


# -- configuration ----------------------------------------------------------------


def test_schedule_round_trips_through_json() -> None:
    data = json.loads(json.dumps(schedule_to_dict(S)))
    assert data["bidding_seller"][0] == {"upper_fen": 3_000_000_000, "rate": "0.0024"}
    assert schedule_from_dict(data) == S


def _broken(**changes: object) -> dict:
    d = schedule_to_dict(S)
    d.update(changes)
    return d


@pytest.mark.parametrize("data", [
    _broken(bidding_seller=[{"upper_fen": 6, "rate": "0.1"}, {"upper_fen": 5, "rate": "0.1"},
                            {"upper_fen": None, "rate": "0.1"}]),                       # descending
    _broken(bidding_seller=[{"upper_fen": 5, "rate": "0.1"}, {"upper_fen": 5, "rate": "0.1"},
                            {"upper_fen": None, "rate": "0.1"}]),                       # not strictly
    _broken(bidding_buyer=[{"upper_fen": 5, "rate": "0.1"}]),                           # last closed
    _broken(bidding_buyer=[{"upper_fen": None, "rate": "0.1"}, {"upper_fen": 5, "rate": "0.1"}]),
    _broken(bidding_buyer=[]),
    _broken(negotiated_each_side=[{"upper_fen": None, "rate": "1.5"}]),                 # rate > 1
    _broken(negotiated_each_side=[{"upper_fen": None, "rate": "-0.1"}]),                # rate < 0
    _broken(negotiated_each_side=[{"upper_fen": None, "rate": 0.0024}]),                # float rate
    _broken(negotiated_each_side=[{"upper_fen": None, "rate": "abc"}]),
    _broken(negotiated_each_side=[{"upper_fen": "5", "rate": "0.1"}, {"upper_fen": None, "rate": "0.1"}]),
    _broken(min_bidding_fen=-1),
    _broken(min_negotiated_fen="2000"),
    _broken(effective_from="2026-13-01"),
    _broken(version=""),
    {"version": "x"},
    [],
])
def test_invalid_schedules_are_refused(data: object) -> None:
    with pytest.raises(ValidationError) as e:
        schedule_from_dict(data)  # type: ignore[arg-type]
    assert e.value.code == "invalid_fee_schedule"


def test_schedule_in_force_picks_latest_effective() -> None:
    newer = schedule_from_dict(_broken(version="2026-07", effective_from="2026-07-01"))
    assert schedule_in_force([S, newer], date(2026, 6, 30)) is S
    assert schedule_in_force([S, newer], date(2026, 7, 1)) is newer
    with pytest.raises(RuleViolationError) as e:
        schedule_in_force([newer], date(2026, 1, 1))
    assert e.value.code == "no_fee_schedule"


# -- properties --------------------------------------------------------------------

prices = st.integers(min_value=0, max_value=2 * 10**12)  # up to 200亿 yuan
sides = st.sampled_from(["seller", "buyer"])
methods = st.sampled_from(["bidding", "negotiated"])


@given(prices, prices, sides, methods)
def test_fee_is_monotonic_in_price(a: int, b: int, side: str, method: str) -> None:
    lo, hi = sorted((a, b))
    assert fee(lo, side, method) <= fee(hi, side, method)


@given(prices, sides, methods)
def test_fee_is_at_least_the_minimum(price: int, side: str, method: str) -> None:
    assert compute_fee(S, Money(price), side, method) >= S.minimum_for(method)


@given(prices, sides, methods)
def test_cumulative_fee_never_exceeds_top_rate(price: int, side: str, method: str) -> None:
    q = quote_fee(S, Money(price), side, method)
    top = max(b.rate for b in S.bands_for(side, method))
    assert q.cumulative <= Money(price).apply_rate(top)
    assert q.fee == max(q.cumulative, q.minimum)
    assert sum(ln.base.fen for ln in q.lines) == price
