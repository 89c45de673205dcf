"""Ledger rules: every builder balances, bad entries are refused, reversals cancel."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import Money
from settlement.domain import (
    ACCOUNT_NATURE,
    AccountKind,
    Posting,
    account_key,
    balances,
    bank_in,
    bank_transfer,
    check_balanced,
    deposit_applied_to_price,
    deposit_forfeited,
    deposit_received,
    deposit_released,
    fee_charged,
    kind_of_key,
    payout_to_seller,
    price_received,
    refund,
    reverse,
    split_forfeiture,
    suspense_matched,
)

BUYER_CASH = account_key(AccountKind.PARTY_CASH, "B-1")
BUYER_DEPOSIT = account_key(AccountKind.PARTY_DEPOSIT, "B-1")
SELLER_CASH = account_key(AccountKind.PARTY_CASH, "S-1")
ESCROW = account_key(AccountKind.ESCROW, "D-1")
BANK = account_key(AccountKind.BANK_CLEARING)
POOL = account_key(AccountKind.DEPOSIT_POOL)
SUSPENSE = account_key(AccountKind.SUSPENSE)
FEES = account_key(AccountKind.FEE_INCOME)
FORFEIT = account_key(AccountKind.FORFEITURE_INCOME)

amounts = st.integers(min_value=1, max_value=10**14).map(Money)
shares = st.decimals(min_value=0, max_value=1, places=4)


def assert_balanced(postings: list[Posting]) -> None:
    assert check_balanced(postings) == postings
    assert sum(p.amount.fen for p in postings) == 0
    assert all(p.amount.fen != 0 for p in postings)
    assert check_balanced(reverse(postings))


def test_account_keys_and_natures() -> None:
    assert BUYER_CASH == "party_cash:B-1" and BANK == "bank_clearing"
    assert kind_of_key(ESCROW) is AccountKind.ESCROW
    assert set(ACCOUNT_NATURE) == set(AccountKind)
    with pytest.raises(ValidationError):
        account_key(AccountKind.PARTY_CASH)  # a party account needs its party
    with pytest.raises(ValidationError):
        account_key("petty_cash", "x")
    with pytest.raises(ValidationError):
        kind_of_key("nonsense:1")


@given(amounts)
def test_simple_builders_balance(amount: Money) -> None:
    for entry in (
        bank_in(amount, bank=BANK, suspense=SUSPENSE),
        suspense_matched(amount, suspense=SUSPENSE, party_cash=BUYER_CASH),
        bank_transfer(amount, from_bank=BANK, to_bank=POOL),
        deposit_received(amount, party_cash=BUYER_CASH, party_deposit=BUYER_DEPOSIT),
        deposit_applied_to_price(amount, party_deposit=BUYER_DEPOSIT, escrow=ESCROW),
        deposit_released(amount, party_deposit=BUYER_DEPOSIT, paid_from=POOL),
        price_received(amount, payer=BUYER_CASH, escrow=ESCROW),
        fee_charged(amount, payer=BUYER_CASH, fee_income=FEES),
        refund(amount, party_cash=BUYER_CASH, paid_from=BANK),
    ):
        assert_balanced(entry)
        assert len(entry) == 2


@given(amounts, shares)
def test_forfeiture_balances_and_splits_exactly(amount: Money, share: Decimal) -> None:
    entry = deposit_forfeited(amount, share, party_deposit=BUYER_DEPOSIT, seller_account=SELLER_CASH,
                              forfeiture_income=FORFEIT)
    assert_balanced(entry)
    seller, exchange = split_forfeiture(amount, share)
    assert seller + exchange == amount and seller.fen >= 0 and exchange.fen >= 0
    b = balances(entry)
    assert b[(BUYER_DEPOSIT, "CNY")] == amount
    assert b.get((SELLER_CASH, "CNY"), Money(0)) == -seller


def test_forfeiture_split_examples() -> None:
    # 100,001 fen × 0.5 = 50,000.5 → seller 50,001 (HALF_UP), exchange the rest.
    assert split_forfeiture(Money(100_001), Decimal("0.5")) == (Money(50_001), Money(50_000))
    whole = deposit_forfeited(Money(500), Decimal(1), party_deposit=BUYER_DEPOSIT, seller_account=SELLER_CASH,
                              forfeiture_income=FORFEIT)
    assert [p.account_key for p in whole] == [BUYER_DEPOSIT, SELLER_CASH]  # no zero leg
    with pytest.raises(ValidationError) as e:
        split_forfeiture(Money(500), Decimal("1.1"))
    assert e.value.code == "invalid_share"


@given(amounts, st.integers(min_value=0, max_value=10**14))
def test_payout_balances(price: Money, fee_fen: int) -> None:
    fee = Money(min(fee_fen, price.fen))
    entry = payout_to_seller(price, fee, escrow=ESCROW, fee_income=FEES, paid_to=BANK)
    assert_balanced(entry)
    b = balances(entry)
    assert b[(ESCROW, "CNY")] == price
    assert b.get((BANK, "CNY"), Money(0)) == -(price - fee)


def test_payout_example_and_refusals() -> None:
    entry = payout_to_seller(Money.yuan(1_000_000), Money.yuan(3_600), escrow=ESCROW, fee_income=FEES,
                             paid_to=SELLER_CASH)
    assert entry == [Posting(ESCROW, Money.yuan(1_000_000)), Posting(FEES, Money.yuan(-3_600)),
                     Posting(SELLER_CASH, Money.yuan(-996_400))]
    with pytest.raises(ValidationError) as e:
        payout_to_seller(Money(100), Money(101), escrow=ESCROW, fee_income=FEES, paid_to=BANK)
    assert e.value.code == "fee_exceeds_payout"
    with pytest.raises(CurrencyMismatchError):
        payout_to_seller(Money(100), Money(1, "USD"), escrow=ESCROW, fee_income=FEES, paid_to=BANK)


def test_a_whole_deal_leaves_only_income_and_cash() -> None:
    """Deposit in, applied, the rest of the price and the fee paid, seller paid out."""
    price, deposit, buyer_fee, seller_fee = Money.yuan(2_000_000), Money.yuan(200_000), Money.yuan(64_000), \
        Money.yuan(4_800)
    rest = price - deposit + buyer_fee
    entries = [
        bank_in(deposit, bank=POOL, suspense=SUSPENSE),
        suspense_matched(deposit, suspense=SUSPENSE, party_cash=BUYER_CASH),
        deposit_received(deposit, party_cash=BUYER_CASH, party_deposit=BUYER_DEPOSIT),
        deposit_applied_to_price(deposit, party_deposit=BUYER_DEPOSIT, escrow=ESCROW),
        bank_transfer(deposit, from_bank=POOL, to_bank=BANK),
        bank_in(rest, bank=BANK, suspense=SUSPENSE),
        suspense_matched(rest, suspense=SUSPENSE, party_cash=BUYER_CASH),
        price_received(price - deposit, payer=BUYER_CASH, escrow=ESCROW),
        fee_charged(buyer_fee, payer=BUYER_CASH, fee_income=FEES),
        payout_to_seller(price, seller_fee, escrow=ESCROW, fee_income=FEES, paid_to=BANK),
    ]
    net = {k: m for k, m in balances(p for e in entries for p in e).items() if m.fen}
    assert net == {(BANK, "CNY"): buyer_fee + seller_fee, (FEES, "CNY"): -(buyer_fee + seller_fee)}


def test_unbalanced_and_degenerate_entries_are_refused() -> None:
    with pytest.raises(ValidationError) as e:
        check_balanced([Posting(BANK, Money(100)), Posting(SUSPENSE, Money(-99))])
    assert e.value.code == "unbalanced_entry" and e.value.details["imbalance_fen"] == {"CNY": 1}
    with pytest.raises(ValidationError) as e:
        check_balanced([Posting(BANK, Money(100))])
    assert e.value.code == "unbalanced_entry"
    with pytest.raises(ValidationError) as e:
        check_balanced([])
    assert e.value.code == "unbalanced_entry"
    with pytest.raises(ValidationError) as e:
        check_balanced([Posting(BANK, Money(0)), Posting(SUSPENSE, Money(0))])
    assert e.value.code == "zero_posting"
    with pytest.raises(ValidationError) as e:
        reverse([Posting(BANK, Money(100)), Posting(SUSPENSE, Money(-1))])
    assert e.value.code == "unbalanced_entry"
    with pytest.raises(ValidationError) as e:
        bank_in(Money(0), bank=BANK, suspense=SUSPENSE)
    assert e.value.code == "invalid_amount"
    with pytest.raises(ValidationError):
        refund(Money(-5), party_cash=BUYER_CASH, paid_from=BANK)
    with pytest.raises(ValidationError):
        Posting("", Money(1))


def test_currencies_never_net_against_each_other() -> None:
    # Same number of fen, different currencies: each currency is off by itself.
    with pytest.raises(ValidationError) as e:
        check_balanced([Posting(BANK, Money(100, "CNY")), Posting(SUSPENSE, Money(-100, "USD"))])
    assert e.value.code == "unbalanced_entry"
    assert e.value.details["imbalance_fen"] == {"CNY": 100, "USD": -100}
    # Balanced in each currency separately is fine.
    check_balanced([Posting(BANK, Money(100)), Posting(SUSPENSE, Money(-100)),
                    Posting(BANK, Money(7, "USD")), Posting(SUSPENSE, Money(-7, "USD"))])


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 10**12),
                          st.sampled_from(["CNY", "USD"])), min_size=1, max_size=8))
def test_reverse_of_any_balanced_entry_balances_and_cancels(legs: list[tuple[str, int, str]]) -> None:
    # Build a balanced entry: each leg and its offset to a contra account.
    postings = []
    for key, fen, cur in legs:
        postings += [Posting(key, Money(fen, cur)), Posting("contra", Money(-fen, cur))]
    back = reverse(postings)
    assert check_balanced(back)
    net = balances(postings + back)
    assert all(m.fen == 0 for m in net.values())
