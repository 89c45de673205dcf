"""Properties of settlement on the database.

* Any sequence of deposits (exact, short and topped up, over, unidentified then matched, none),
  qualifications, a withdrawal, bids, awards, payments, defaults, refunds and payouts keeps every
  entry balanced (on PostgreSQL the deferred trigger accepts them), resolves each hold at most once
  and every decided hold by the end, and ends with cached balances equal to the sums of postings.
* Replaying a payment notification, a refund or a payout changes nothing.
* A failure injected between the steps of a settlement leaves no partial state, and running the step
  again completes it.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auctions.models import DealState, Negotiation
from auctions.service import confirm_price, deals, record_result
from exchange.models import AuditEvent
from listings import service as ls
from listings.domain import RegistrationState
from settlement import service as svc
from settlement.domain import HoldState
from settlement.models import (
    BankNotification,
    DealSettlement,
    DepositHold,
    Disbursement,
    JournalEntry,
    MatchTarget,
    NotificationState,
    PaymentPurpose,
    SettlementState,
)
from settlement.service import ledger
from tests import settlement_world as sw
from tests.conftest import START

DEPOSIT_WAYS = ["exact", "short_then_top_up", "over", "none", "unidentified"]
PATHS = ["lump_sum", "over_then_refund", "short_then_rest", "instalments_then_default", "default_unsigned"]


def _entries(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


def _replay(session, w, n: BankNotification) -> None:  # type: ignore[no-untyped-def]
    before = _entries(session)
    again, created = svc.receive_notification(session, w.op_actor, svc.NotificationInput(
        bank_reference=n.bank_reference, amount_fen=n.amount_fen, payer_name=n.payer_name, purpose=n.purpose,
        purpose_ref=n.purpose_ref, value_date=n.value_date), clock=w.clock)
    assert (again.id, created, _entries(session)) == (n.id, False, before)


def _deposit(session, w, reg, way: str, replay: bool) -> None:  # type: ignore[no-untyped-def]
    d = reg.deposit_fen
    if way == "exact":
        n = sw.pay_deposit(session, w, reg)
    elif way == "short_then_top_up":
        sw.pay_deposit(session, w, reg, d - 100)
        n = sw.pay_deposit(session, w, reg, 100)
    elif way == "over":
        n = sw.pay_deposit(session, w, reg, d + 500)
    elif way == "unidentified":
        n = sw.pay(session, w, d, PaymentPurpose.OTHER, None)
        assert n.state == NotificationState.SUSPENSE
        svc.match_notification(session, w.op_actor, n.ref, MatchTarget.REGISTRATION, reg.ref, clock=w.clock)
    else:
        return
    if replay:
        _replay(session, w, n)


def _settle_deal(session, w, deal, path: str, replay: bool) -> None:  # type: ignore[no-untyped-def]
    op, clock = w.op_actor, w.clock
    if path == "default_unsigned":
        deals.record_default(session, op, deal.ref, "did not sign", clock=clock)
        return
    sw.in_force(session, w, deal)
    st_ = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    if path == "instalments_then_default":
        svc.set_instalment_plan(session, op, deal.ref, {"down_ratio": "0.3", "count": 3}, clock=clock)
        session.refresh(st_)
        sw.pay(session, w, st_.obligations[0].amount_fen, PaymentPurpose.INSTALMENT, deal.ref)
        clock.set(sw.shanghai_end(st_.obligations[1].due_on) + timedelta(days=3))
        svc.flag_overdue(session, clock)
        assert deal.state == DealState.DEFAULTED
        back = ledger.available_cash_fen(session, deal.buyer)
        if back:
            svc.refund(session, op, deal.buyer.ref, back, "price paid on a defaulted deal", key=f"r-{deal.ref}",
                       clock=clock)
        return
    owed = svc.obligations.outstanding_fen(st_)
    if path == "short_then_rest":
        sw.pay(session, w, owed // 2, PaymentPurpose.PRICE, deal.ref)
        n = sw.pay(session, w, owed - owed // 2, PaymentPurpose.PRICE, deal.ref)
    else:
        n = sw.pay(session, w, owed + (1234 if path == "over_then_refund" else 0), PaymentPurpose.PRICE, deal.ref)
    if replay:
        _replay(session, w, n)
    if path == "over_then_refund":
        d, _ = svc.refund(session, op, deal.buyer.ref, 1234, "over-payment", key=f"over-{deal.ref}", clock=clock)
        before = _entries(session)
        assert svc.refund(session, op, deal.buyer.ref, 1234, "over-payment", key=f"over-{deal.ref}",
                          clock=clock) == (d, False)
        assert _entries(session) == before
    svc.confirm_transfer(session, op, deal.ref, evidence="转让登记完成", clock=clock)
    svc.pay_out(session, op, deal.ref, clock=clock)
    before = _entries(session)
    svc.pay_out(session, op, deal.ref, clock=clock)
    assert _entries(session) == before and deal.state == DealState.COMPLETED


def _scenario(session, clock, plan: dict) -> None:  # type: ignore[no-untyped-def]
    w = sw.build(session, clock, buyers=plan["buyers"])
    for i, reg in enumerate(w.regs):
        _deposit(session, w, reg, plan["deposits"][i], plan["replay"])
    for i, reg in enumerate(w.regs):
        if reg.state == RegistrationState.DEPOSIT_PAID and plan["qualify"][i]:
            sw.qualify(session, w, reg)
    quitter = plan["withdraw"]
    if quitter is not None and quitter < len(w.regs) and w.regs[quitter].state == RegistrationState.QUALIFIED:
        ls.withdraw_registration(session, w.actor(w.buyers[quitter]), w.regs[quitter].ref, "退出", clock=clock)
    qualified = [i for i, r in enumerate(w.regs) if r.state == RegistrationState.QUALIFIED]
    sw.end_publicity(session, w)
    deal = None
    if len(qualified) == 1:
        n = session.scalar(sa.select(Negotiation).where(Negotiation.listing_id == w.listing.id))
        confirm_price(session, w.actor(w.buyers[qualified[0]]), n.ref, w.listing.price_fen, clock=clock)
        record_result(session, w.op_actor, n.ref, concluded=True, note="", clock=clock)
        deal = sw.deal_of(session, w)
    elif len(qualified) >= 2:
        price, step = w.listing.price_fen, w.listing.increment_fen
        bidders = [i for i in qualified if plan["bidders"][i]]
        sw.run_auction(session, w, [(i, price + k * step) for k, i in enumerate(bidders)])
        deal = sw.deal_of(session, w)
    if deal is not None:
        _settle_deal(session, w, deal, plan["path"], plan["replay"])
    # Time passes; the job settles what is due, and a second run finds nothing more.
    clock.set(clock.now() + timedelta(days=14))
    svc.settle_due_holds(session, clock)
    assert svc.settle_due_holds(session, clock) == {"release": 0, "forfeit": 0}
    _check(session, w)


def _check(session, w) -> None:  # type: ignore[no-untyped-def]
    sw.check_ledger(session)
    session.expire_all()
    holds = list(session.scalars(sa.select(DepositHold).where(DepositHold.listing_id == w.listing.id)))
    for hold in holds:
        reg = svc.holds.registration_of(session, hold)
        outcomes = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.subject_ref == reg.ref,
            AuditEvent.action.in_(["hold.applied", "hold.released", "hold.forfeited"])))
        assert outcomes == (1 if hold.state in (HoldState.APPLIED, HoldState.RELEASED, HoldState.FORFEITED) else 0)
        # Once the listing has a result, every hold is settled except the one its live deal holds.
        if hold.deal_id is None and w.listing.state.value not in ("published", "suspended"):
            assert hold.state in (HoldState.RELEASED, HoldState.FORFEITED, HoldState.APPLIED), (reg.state, hold.state)
    # The deposit pool holds exactly the deposits still held; suspense exactly what waits there.
    assert ledger.balance_fen(session, ledger.POOL) == sum(h.cash_fen for h in holds if h.state == HoldState.HELD)
    waiting = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(BankNotification.amount_fen), 0))
                             .where(BankNotification.state == NotificationState.SUSPENSE))
    assert -ledger.balance_fen(session, ledger.SUSPENSE) == int(waiting)
    # Money in minus money out is what the exchange's bank accounts hold.
    received = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(BankNotification.amount_fen), 0))
                                  .where(BankNotification.state != NotificationState.RETURNED)))
    paid = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Disbursement.amount_fen), 0))))
    released = sum(h.cash_fen for h in holds if h.state == HoldState.RELEASED and h.funded_at is not None)
    assert ledger.balance_fen(session, ledger.BANK) + ledger.balance_fen(session, ledger.POOL) == \
        received - paid - released
    for st_ in session.scalars(sa.select(DealSettlement)):
        escrow = -ledger.balance_fen(session, ledger.escrow_key(session.get(deals.Deal, st_.deal_id).ref))
        assert escrow == {SettlementState.PRICE_IN: st_.price_fen, SettlementState.PAID_OUT: 0,
                          SettlementState.DEFAULTED: 0}.get(st_.state, escrow)


scenarios = st.fixed_dictionaries({
    "buyers": st.integers(1, 3),
    # Weighted towards buyers who pay, qualify and bid, so most examples reach a deal.
    "deposits": st.lists(st.sampled_from(["exact", *DEPOSIT_WAYS]), min_size=3, max_size=3),
    "qualify": st.lists(st.sampled_from([True, True, True, False]), min_size=3, max_size=3),
    "withdraw": st.sampled_from([None, None, None, 0, 1, 2]),
    "bidders": st.lists(st.sampled_from([True, True, False]), min_size=3, max_size=3),
    "path": st.sampled_from(PATHS),
    "replay": st.booleans(),
})


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=scenarios)
def test_any_sequence_keeps_the_ledger_sound(session, clock, plan):
    nested = session.begin_nested()
    session.info.clear()
    clock.set(START)
    try:
        _scenario(session, clock, plan)
    finally:
        nested.rollback()
        session.expire_all()
        session.info.clear()


# -- failures between the steps ----------------------------------------------------------------------
@pytest.fixture()
def price_in(session, clock):  # type: ignore[no-untyped-def]
    """A deal whose price is in escrow and whose transfer is confirmed: ready to pay out."""
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    st_ = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    sw.pay(session, w, svc.obligations.outstanding_fen(st_), PaymentPurpose.PRICE, deal.ref)
    svc.confirm_transfer(session, w.op_actor, deal.ref, evidence="登记完成", clock=clock)
    session.commit()
    return w, deal


def _snapshot(session, deal) -> tuple:  # type: ignore[no-untyped-def]
    session.expire_all()
    st_ = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    return (_entries(session), session.scalar(sa.select(sa.func.count()).select_from(Disbursement)),
            st_.state, session.get(deals.Deal, deal.id).state,
            ledger.balance_fen(session, ledger.escrow_key(deal.ref)), svc.verify_ledger(session).ok)


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("where", ["settlement.service.payouts._disburse", "auctions.service.deals.complete_deal",
                                   "settlement.service.obligations.move"])
def test_a_payout_interrupted_at_any_step_leaves_nothing_and_a_retry_completes_it(session, clock, price_in,
                                                                                   monkeypatch, where):
    w, deal = price_in
    before = _snapshot(session, deal)
    module, name = where.rsplit(".", 1)
    import importlib

    target = importlib.import_module(module)
    real = getattr(target, name)

    def fail_after_the_first_steps(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Boom(f"injected failure in {name}")

    monkeypatch.setattr(target, name, fail_after_the_first_steps)
    with pytest.raises(Boom):
        svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    session.rollback()  # what the request wrapper or the job runner does
    assert _snapshot(session, deal) == before
    monkeypatch.setattr(target, name, real)
    svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    session.commit()
    after = _snapshot(session, deal)
    assert after[2:4] == (SettlementState.PAID_OUT, DealState.COMPLETED) and after[4] == 0 and after[5]


def test_a_receipt_interrupted_before_it_is_applied_leaves_nothing_and_its_replay_completes_it(session, clock,
                                                                                                monkeypatch):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    session.commit()
    monkeypatch.setattr(svc.holds, "try_fund", lambda *a, **k: (_ for _ in ()).throw(Boom("after the match")))
    cmd = svc.NotificationInput(bank_reference="BK-CRASH-1", amount_fen=reg.deposit_fen, payer_name="买方",
                                purpose=PaymentPurpose.DEPOSIT, purpose_ref=reg.ref)
    with pytest.raises(Boom):
        svc.receive_notification(session, w.op_actor, cmd, clock=clock)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(BankNotification)) == 0 and _entries(session) == 0
    monkeypatch.undo()
    n, created = svc.receive_notification(session, w.op_actor, cmd, clock=clock)
    session.commit()
    assert created and n.state == NotificationState.MATCHED
    assert svc.holds.hold_of(session, reg.id).state == HoldState.HELD
    sw.check_ledger(session)


def test_a_default_interrupted_half_way_leaves_the_deal_and_its_deposit_as_they_were(session, clock, monkeypatch):
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    session.commit()
    real_post = ledger.post

    def post_but_not_escrow(session_, **kw):  # type: ignore[no-untyped-def]
        if kw["kind"].value == "escrow_returned" or kw["source_key"].endswith(":forfeit"):
            real_post(session_, **kw)
            raise Boom("after the forfeiture")
        return real_post(session_, **kw)

    monkeypatch.setattr(ledger, "post", post_but_not_escrow)
    with pytest.raises(Boom):
        deals.record_default(session, w.op_actor, deal.ref, "did not pay", clock=clock)
    session.rollback()
    session.expire_all()
    assert session.get(deals.Deal, deal.id).state == DealState.IN_FORCE
    assert svc.holds.hold_of(session, w.regs[1].id).state == HoldState.HELD
    monkeypatch.undo()
    deals.record_default(session, w.op_actor, deal.ref, "did not pay", clock=clock)
    session.commit()
    assert svc.holds.hold_of(session, w.regs[1].id).state == HoldState.FORFEITED
    sw.check_ledger(session)
