"""Money in: bank notifications are idempotent by reference, unmatched ones wait in suspense for an
operator to match or return them, and a difference from what is due is recorded and flagged."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.errors import DomainError
from settlement import service as svc
from settlement.domain import HoldState
from settlement.models import (
    BankNotification,
    JournalEntry,
    MatchTarget,
    NotificationState,
    PaymentFlag,
    PaymentPurpose,
)
from settlement.service import ledger
from tests import settlement_world as sw


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_replaying_a_notification_changes_nothing_and_a_conflicting_one_is_refused(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    cmd = svc.NotificationInput(bank_reference="BOC20260302-0001", amount_fen=reg.deposit_fen, payer_name="买方",
                                purpose=PaymentPurpose.DEPOSIT, purpose_ref=reg.ref)
    n, created = svc.receive_notification(session, w.op_actor, cmd, clock=clock)
    entries = _count(session, JournalEntry)
    again, created2 = svc.receive_notification(session, w.op_actor, cmd, clock=clock)
    assert created and not created2 and again.id == n.id
    assert _count(session, JournalEntry) == entries and _count(session, BankNotification) == 1
    with pytest.raises(DomainError) as e:
        svc.receive_notification(session, w.op_actor, svc.NotificationInput(
            bank_reference="BOC20260302-0001", amount_fen=1, payer_name="买方", purpose=PaymentPurpose.DEPOSIT,
            purpose_ref=reg.ref), clock=clock)
    assert e.value.code == "bank_reference_conflict"
    sw.check_ledger(session)


@pytest.mark.parametrize("purpose, purpose_ref", [(PaymentPurpose.DEPOSIT, "R2026-999999"),
                                                  (PaymentPurpose.PRICE, "D2026-999999"),
                                                  (PaymentPurpose.OTHER, None)])
def test_unmatched_receipts_wait_in_suspense_and_are_returned_once(session, clock, purpose, purpose_ref):
    w = sw.build(session, clock, buyers=1, register=False)
    n = sw.pay(session, w, 12_345, purpose, purpose_ref)
    assert n.state == NotificationState.SUSPENSE and n.flag is None
    assert -ledger.balance_fen(session, ledger.SUSPENSE) == 12_345
    svc.return_notification(session, w.op_actor, n.ref, "payer unknown", clock=clock)
    svc.return_notification(session, w.op_actor, n.ref, "payer unknown", clock=clock)  # replay
    assert n.state == NotificationState.RETURNED
    assert ledger.balance_fen(session, ledger.SUSPENSE) == 0 and ledger.balance_fen(session, ledger.BANK) == 0
    with pytest.raises(DomainError) as e:
        svc.match_notification(session, w.op_actor, n.ref, "party", w.buyers[0].party.ref, clock=clock)
    assert e.value.code == "notification_not_in_suspense"
    sw.check_ledger(session)


def test_operator_matches_suspense_to_a_deposit_and_over_payment_stays_as_cash(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    n = sw.pay(session, w, reg.deposit_fen + 500, PaymentPurpose.OTHER, None)
    assert n.state == NotificationState.SUSPENSE
    svc.match_notification(session, w.op_actor, n.ref, MatchTarget.REGISTRATION, reg.ref, "remittance note names R",
                           clock=clock)
    assert n.state == NotificationState.MATCHED and n.flag == PaymentFlag.OVER and n.expected_fen == reg.deposit_fen
    assert svc.holds.hold_of(session, reg.id).state == HoldState.HELD
    assert ledger.available_cash_fen(session, reg.buyer) == 500
    # Matching again to the same target changes nothing; to another is refused.
    svc.match_notification(session, w.op_actor, n.ref, MatchTarget.REGISTRATION, reg.ref, clock=clock)
    with pytest.raises(DomainError):
        svc.match_notification(session, w.op_actor, n.ref, MatchTarget.PARTY, w.seller.party.ref, clock=clock)
    svc.refund(session, w.op_actor, reg.buyer.ref, 500, "over-payment", key="over-1", clock=clock)
    assert ledger.available_cash_fen(session, reg.buyer) == 0
    sw.check_ledger(session)


def test_manual_path_cash_to_party_then_fund_the_hold(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    with pytest.raises(DomainError) as e:
        svc.fund_from_cash(session, w.op_actor, reg.ref, clock=clock)
    assert e.value.code == "insufficient_cash"
    n = sw.pay(session, w, reg.deposit_fen, PaymentPurpose.OTHER, None)
    svc.match_notification(session, w.op_actor, n.ref, MatchTarget.PARTY, reg.buyer.ref, clock=clock)
    assert n.flag is None
    hold = svc.fund_from_cash(session, w.op_actor, reg.ref, clock=clock)
    assert hold.state == HoldState.HELD and reg.state.value == "deposit_paid"
    with pytest.raises(DomainError) as e:
        svc.fund_from_cash(session, w.op_actor, reg.ref, clock=clock)
    assert e.value.code == "hold_not_pending"
    sw.check_ledger(session)


def test_a_late_deposit_is_kept_as_cash_and_flagged_unexpected(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    sw.end_publicity(session, w)
    assert reg.state.value == "lapsed"  # publicity was extended: the listing goes on without it
    assert svc.settle_due_holds(session, clock) == {"release": 1, "forfeit": 0}
    assert svc.holds.hold_of(session, reg.id).state == HoldState.RELEASED
    n = sw.pay_deposit(session, w, reg)
    assert n.state == NotificationState.SUSPENSE  # nothing pending to pay: waits for the operator
    svc.match_notification(session, w.op_actor, n.ref, MatchTarget.REGISTRATION, reg.ref, clock=clock)
    assert n.flag == PaymentFlag.UNEXPECTED and ledger.available_cash_fen(session, reg.buyer) == reg.deposit_fen
    sw.check_ledger(session)


@pytest.mark.parametrize("field, value, code", [
    ("amount_fen", 0, "invalid_amount"), ("amount_fen", -5, "invalid_amount"), ("currency", "cny", "invalid_currency"),
    ("bank_reference", "a b", "invalid_bank_reference"), ("payer_name", "", "required"),
    ("payer_party_ref", "P2099-000001", "party_not_found"),
])
def test_bad_notifications_are_refused_and_leave_nothing(session, clock, field, value, code):
    from exchange.actors import Actor

    data = dict(bank_reference="X-1", amount_fen=100, payer_name="甲", purpose=PaymentPurpose.OTHER)
    data[field] = value
    with pytest.raises(DomainError) as e:
        svc.receive_notification(session, Actor.system("test"), svc.NotificationInput(**data), clock=clock)
    assert e.value.code == code
    assert _count(session, BankNotification) == 0 and _count(session, JournalEntry) == 0
