"""Property: any sequence of deposits, awards, payments, defaults, refunds and payouts, written with
the pure builders the service uses, keeps every entry balanced, resolves each hold once, ends with
balances equal to the sum of postings, and is unchanged by replaying any step.

A small in-memory exchange mirrors the settlement service's rules (settlement.service): receipts
through suspense, deposits funded into the deposit pool, applied to escrow when the winner's price
is complete, released from the pool, forfeited with the seller's share; the buyer fee first, then
the price into escrow; payout from escrow less the seller's fee; refunds of free cash. Entries are
keyed like the service's ``source_key``s; posting a key again changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pytest

from exchange.errors import StateError
from exchange.money import Money
from settlement.domain import (
    AccountKind,
    HoldEvent,
    HoldState,
    Posting,
    account_key,
    balances,
    bank_in,
    bank_transfer,
    check_balanced,
    deposit_applied_to_price,
    deposit_received,
    deposit_released,
    fund_hold,
    payout_to_seller,
    refund,
    resolve_hold,
    split_forfeiture,
    suspense_matched,
)

K = AccountKind
BANK, POOL, SUSPENSE = account_key(K.BANK_CLEARING), account_key(K.DEPOSIT_POOL), account_key(K.SUSPENSE)
FEES, FORFEIT = account_key(K.FEE_INCOME), account_key(K.FORFEITURE_INCOME)
BUYERS = ["B1", "B2", "B3"]
SELLER = "S1"
DEPOSIT = 1_000_000
SHARE = Decimal("0.8")


def cash(p: str) -> str:
    return account_key(K.PARTY_CASH, p)


def dep(p: str) -> str:
    return account_key(K.PARTY_DEPOSIT, p)


def escrow(d: str) -> str:
    return account_key(K.ESCROW, d)


class Exchange(RuleBasedStateMachine):
    """The service's money rules on the pure builders, with a cached balance per account."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, list[Posting]] = {}
        self.cache: dict[str, int] = defaultdict(int)
        self.holds: dict[str, HoldState] = {b: HoldState.PENDING for b in BUYERS}
        self.resolutions: dict[str, int] = defaultdict(int)
        self.deals: dict[str, dict] = {}
        self.n = 0
        self.log: list[str] = []

    # -- posting, once per key ---------------------------------------------------------------
    def post(self, key: str, postings: list[Posting]) -> bool:
        if key in self.entries:
            return False
        lines = check_balanced(postings)
        self.entries[key] = lines
        for p in lines:
            self.cache[p.account_key] += p.amount.fen
        self.log.append(key)
        return True

    def free_cash(self, party: str) -> int:
        return -self.cache[cash(party)]

    def receipt(self, party: str, amount: int) -> str:
        self.n += 1
        ref = f"BK{self.n}"
        m = Money(amount)
        self.post(f"bank:{ref}:in", bank_in(m, bank=BANK, suspense=SUSPENSE))
        self.post(f"bank:{ref}:match", suspense_matched(m, suspense=SUSPENSE, party_cash=cash(party)))
        return ref

    # -- deposits ------------------------------------------------------------------------------
    @rule(buyer=st.sampled_from(BUYERS), amount=st.sampled_from([DEPOSIT, DEPOSIT // 2, DEPOSIT + 700]))
    def deposit_arrives(self, buyer: str, amount: int) -> None:
        self.receipt(buyer, amount)
        if self.holds[buyer] == HoldState.PENDING and self.free_cash(buyer) >= DEPOSIT:
            m = Money(DEPOSIT)
            self.post(f"hold:{buyer}:fund", deposit_received(m, party_cash=cash(buyer), party_deposit=dep(buyer))
                      + bank_transfer(m, from_bank=BANK, to_bank=POOL))
            self.holds[buyer] = fund_hold(self.holds[buyer])

    def resolve(self, buyer: str, event: HoldEvent) -> None:
        self.holds[buyer] = resolve_hold(self.holds[buyer], event)
        self.resolutions[buyer] += 1

    @rule(buyer=st.sampled_from(BUYERS))
    def release(self, buyer: str) -> None:
        state = self.holds[buyer]
        if state not in (HoldState.PENDING, HoldState.HELD):
            # A retried release of a resolved hold is refused by the transition table, never paid twice.
            with pytest.raises(StateError) as e:
                resolve_hold(state, HoldEvent.RELEASE)
            assert e.value.code == "hold_already_resolved"
            return
        if any(d["buyer"] == buyer and d["open"] for d in self.deals.values()):
            return  # the hold belongs to the buyer's deal: applied or forfeited there
        if state == HoldState.HELD:
            self.post(f"hold:{buyer}:release", deposit_released(Money(DEPOSIT), party_deposit=dep(buyer),
                                                                paid_from=POOL))
        self.resolve(buyer, HoldEvent.RELEASE)

    def forfeit(self, buyer: str, deal: str | None) -> None:
        m = Money(DEPOSIT)
        seller, exchange = split_forfeiture(m, SHARE)
        legs = [Posting(dep(buyer), m), Posting(cash(SELLER), -seller), Posting(FORFEIT, -exchange)]
        self.post(f"hold:{buyer}:forfeit", [p for p in legs if p.amount.fen] +
                  bank_transfer(m, from_bank=POOL, to_bank=BANK))
        self.resolve(buyer, HoldEvent.FORFEIT)

    # -- deals -----------------------------------------------------------------------------------
    @rule(buyer=st.sampled_from(BUYERS), price=st.integers(2_000_000, 50_000_000),
          fee=st.integers(0, 500_000), seller_fee=st.integers(0, 200_000))
    def award(self, buyer: str, price: int, fee: int, seller_fee: int) -> None:
        if any(d["buyer"] == buyer and d["open"] for d in self.deals.values()):
            return
        held = self.holds[buyer] == HoldState.HELD
        d = f"D{len(self.deals) + 1}"
        self.deals[d] = {"buyer": buyer, "price": price, "fee": fee, "seller_fee": seller_fee, "open": True,
                         "applied": DEPOSIT if held else 0, "fee_paid": 0, "price_paid": 0, "payments": 0,
                         "price_in": False, "paid_out": False}

    def owed(self, d: dict) -> int:
        return d["fee"] - d["fee_paid"] + d["price"] - d["applied"] - d["price_paid"]

    @rule(data=st.data(), part=st.sampled_from(["all", "half", "over"]))
    def payment(self, data: st.DataObject, part: str) -> None:
        open_ = [k for k, d in self.deals.items() if d["open"] and not d["price_in"]]
        if not open_:
            return
        name = data.draw(st.sampled_from(open_))
        d = self.deals[name]
        owed = self.owed(d)
        amount = {"all": owed, "half": max(1, owed // 2), "over": owed + 999}[part]
        self.receipt(d["buyer"], amount)
        use = min(owed, self.free_cash(d["buyer"]))
        fee_part = min(use, d["fee"] - d["fee_paid"])
        price_part = use - fee_part
        d["payments"] += 1
        legs = [Posting(cash(d["buyer"]), Money(use)), Posting(FEES, Money(-fee_part)),
                Posting(escrow(name), Money(-price_part))]
        self.post(f"deal:{name}:payment:{d['payments']}", [p for p in legs if p.amount.fen])
        d["fee_paid"] += fee_part
        d["price_paid"] += price_part
        if self.owed(d) == 0:
            if d["applied"]:
                m = Money(d["applied"])
                self.post(f"hold:{d['buyer']}:apply", deposit_applied_to_price(m, party_deposit=dep(d["buyer"]),
                                                                               escrow=escrow(name))
                          + bank_transfer(m, from_bank=POOL, to_bank=BANK))
                self.resolve(d["buyer"], HoldEvent.APPLY)
            d["price_in"] = True

    @rule(data=st.data())
    def default(self, data: st.DataObject) -> None:
        open_ = [k for k, d in self.deals.items() if d["open"] and not d["price_in"]]
        if not open_:
            return
        name = data.draw(st.sampled_from(open_))
        d = self.deals[name]
        if self.holds[d["buyer"]] == HoldState.HELD:
            self.forfeit(d["buyer"], name)
        back = -self.cache[escrow(name)]
        if back:
            self.post(f"deal:{name}:escrow_returned", [Posting(escrow(name), Money(back)),
                                                       Posting(cash(d["buyer"]), Money(-back))])
        d["open"] = False

    @rule(data=st.data())
    def payout(self, data: st.DataObject) -> None:
        ready = [k for k, d in self.deals.items() if d["price_in"] and not d["paid_out"]]
        if not ready:
            return
        name = data.draw(st.sampled_from(ready))
        d = self.deals[name]
        assert -self.cache[escrow(name)] == d["price"]
        self.post(f"deal:{name}:payout", payout_to_seller(Money(d["price"]), Money(d["seller_fee"]),
                                                          escrow=escrow(name), fee_income=FEES, paid_to=cash(SELLER)))
        net = d["price"] - d["seller_fee"]
        if net:
            self.post(f"payout:{name}:out", refund(Money(net), party_cash=cash(SELLER), paid_from=BANK))
        d["paid_out"], d["open"] = True, False

    @rule(party=st.sampled_from([*BUYERS, SELLER]), n=st.integers(1, 10))
    def refund_cash(self, party: str, n: int) -> None:
        available = self.free_cash(party)
        if available <= 0:
            return
        self.post(f"refund:{party}:{len(self.log)}", refund(Money(max(1, available // n)), party_cash=cash(party),
                                                            paid_from=BANK))

    @precondition(lambda self: bool(self.log))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Posting any earlier event again (a retried request or job) changes nothing."""
        key = data.draw(st.sampled_from(self.log))
        before = dict(self.cache)
        assert self.post(key, self.entries[key]) is False
        assert self.cache == before

    # -- what must always hold --------------------------------------------------------------------
    @invariant()
    def every_entry_balances(self) -> None:
        for lines in self.entries.values():
            assert len(lines) >= 2 and sum(p.amount.fen for p in lines) == 0

    @invariant()
    def balances_are_the_sum_of_postings(self) -> None:
        derived = {k: m.fen for (k, _), m in balances(p for e in self.entries.values() for p in e).items()}
        assert {k: v for k, v in derived.items() if v} == {k: v for k, v in self.cache.items() if v}
        assert sum(self.cache.values()) == 0

    @invariant()
    def holds_resolve_once_and_the_pool_backs_the_deposits(self) -> None:
        assert all(n <= 1 for n in self.resolutions.values())
        held = sum(DEPOSIT for s in self.holds.values() if s == HoldState.HELD)
        assert self.cache[POOL] == held == -sum(self.cache[dep(b)] for b in BUYERS)
        assert self.cache[SUSPENSE] == 0

    @invariant()
    def escrow_and_cash_are_never_overdrawn(self) -> None:
        for name, d in self.deals.items():
            assert 0 <= -self.cache[escrow(name)] <= d["price"]
        for p in [*BUYERS, SELLER]:
            assert self.free_cash(p) >= 0


TestExchangeLedger = Exchange.TestCase
TestExchangeLedger.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
