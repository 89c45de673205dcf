"""Deal settlement: the fee record, what the buyer owes and by when, payments applied to it,
overdue amounts and the default path.

When a deal is struck its settlement row records the fee schedule version and both
fees. When the contract takes effect the buyer owes the price less its applied
deposit plus its fee: a lump sum due N working days later, or instalments (at least
30 % down, the rest within a year). Cash applied to a deal pays the buyer's fee
first, then the price into the deal's escrow; when the price is complete the
winner's deposit is applied and the price is fully held in escrow.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, local_date
from exchange.errors import NotFoundError, RuleViolationError, StateError, ValidationError
from exchange.money import Money
from exchange.notifications import money, notify
from auctions.models import Deal, DealState
from settlement.domain import (
    CreditEventKind,
    HoldState,
    PaymentPlanKind,
    Posting,
    amount_due,
    build_instalment_schedule,
    instalment_limit,
    split_forfeiture,
)
from settlement.models import (
    DealSettlement,
    DepositHold,
    EntryKind,
    ObligationState,
    PaymentObligation,
    SettlementState,
)
from settlement.service import credit, fees, holds, ledger
from settlement.service.common import get_settings, lock, log_event, serialise_writes, setting_decimal, today

S = SettlementState
SETTLEMENT_TRANSITIONS: dict[SettlementState, frozenset[SettlementState]] = {
    S.AWAITING_CONTRACT: frozenset({S.AWAITING_PAYMENT, S.PRICE_IN, S.DEFAULTED, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.PRICE_IN, S.DEFAULTED}),
    S.PRICE_IN: frozenset({S.PAID_OUT, S.DEFAULTED}),
    S.PAID_OUT: frozenset(),
    S.DEFAULTED: frozenset(),
    S.CANCELLED: frozenset(),
}
OPEN_STATES = (ObligationState.OPEN.value, ObligationState.OVERDUE.value)
SYSTEM = Actor.system("settlement")


def move(session: Session, actor: Actor, st: DealSettlement, deal_ref: str, to: SettlementState, clock: Clock,
         reason: str | None = None, after: dict[str, Any] | None = None) -> None:
    """Move a settlement along its transition table, with its audit event."""
    src = st.state
    if to not in SETTLEMENT_TRANSITIONS[src]:
        raise StateError(f"A settlement cannot go from {src.value} to {to.value}.", code="invalid_transition",
                         details={"from": src.value, "to": to.value})
    st.state = to
    st.updated_at = clock.now()
    session.flush()
    log_event(session, actor, f"settlement.{to.value}", "deal", deal_ref, clock, before={"state": src},
              after={"state": to, **(after or {})}, reason=reason)


# -- loading -------------------------------------------------------------------------------------
def settlement_of(session: Session, deal: Deal, *, for_update: bool = False) -> DealSettlement | None:
    """The settlement of a deal (locked with ``for_update``), or None."""
    stmt = sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id)
    return session.scalar(lock(stmt) if for_update else stmt)


def load_for_update(session: Session, deal_ref: str) -> tuple[Deal, DealSettlement]:
    """Lock the deal, then its settlement (the order every settlement write uses)."""
    from auctions.service import deals

    serialise_writes(session)
    deal = deals.load_deal(session, deal_ref, for_update=True)
    st = settlement_of(session, deal, for_update=True)
    if st is None:
        st = open_settlement(session, deal, None)
    return deal, st


def load_settlement(session: Session, actor: Actor, deal_ref: str) -> tuple[Deal, DealSettlement]:
    """A deal and its settlement, for the exchange or the deal's parties."""
    from auctions.service import deals

    deal = deals.visible_deal(actor, deals.load_deal(session, deal_ref))
    st = settlement_of(session, deal)
    if st is None:
        raise NotFoundError(f"Deal {deal_ref} has no settlement yet.", code="settlement_not_found")
    return deal, st


# -- struck and in force -------------------------------------------------------------------------
def open_settlement(session: Session, deal: Deal, clock: Clock | None) -> DealSettlement:
    """ON_DEAL_STRUCK: record the fee schedule version and both fees; the buyer's hold joins the deal."""
    existing = settlement_of(session, deal)
    if existing is not None:
        return existing
    clock = clock or holds._ambient_clock(session)
    rec = fees.fees_for_price(session, Money(deal.price_fen, deal.currency), deal.method.value,
                              local_date(deal.struck_at), clock=clock)
    hold = holds.earmark_for_deal(session, deal, clock)
    now = clock.now()
    st = DealSettlement(deal_id=deal.id, state=S.AWAITING_CONTRACT, currency=deal.currency, price_fen=deal.price_fen,
                        fee_schedule_version=rec.version, fee_method=rec.method.value,
                        buyer_fee_fen=rec.buyer_fee_fen, seller_fee_fen=rec.seller_fee_fen,
                        hold_id=hold.id if hold is not None else None, created_at=now, updated_at=now)
    session.add(st)
    session.flush()
    log_event(session, SYSTEM, "settlement.opened", "deal", deal.ref, clock,
              after={"fee_schedule_version": rec.version, "fee_method": rec.method.value,
                     "buyer_fee_fen": rec.buyer_fee_fen, "seller_fee_fen": rec.seller_fee_fen,
                     "price_fen": deal.price_fen, "hold": hold.id if hold is not None else None})
    if deal.state == DealState.IN_FORCE:
        start_obligations(session, deal, clock)
    return st


def _applied_deposit(session: Session, deal: Deal, st: DealSettlement, clock: Clock) -> int:
    """The cash deposit that will be applied to the price; a hold that never got its money through
    settlement (e.g. confirmed by hand in the listings package) applies nothing and is closed."""
    if st.hold_id is None:
        return 0
    hold = session.scalar(lock(sa.select(DepositHold).where(DepositHold.id == st.hold_id)))
    if hold.state == HoldState.PENDING:
        holds.release(session, SYSTEM, hold, "never funded through settlement; the buyer owes the whole price",
                      clock)
        return 0
    if hold.state != HoldState.HELD:
        return 0
    return min(hold.cash_fen, st.price_fen)


def start_obligations(session: Session, deal: Deal, clock: Clock) -> DealSettlement:
    """ON_DEAL_IN_FORCE: the buyer owes price − applied deposit + buyer fee; lump sum unless the deal's
    terms carry an instalment plan. Payment deadlines run from ``deal.in_force_at``. Idempotent."""
    st = settlement_of(session, deal, for_update=True)
    if st is None:
        return open_settlement(session, deal, clock)
    if st.state != S.AWAITING_CONTRACT:
        return st
    st.applied_deposit_fen = _applied_deposit(session, deal, st, clock)
    total = amount_due(Money(st.price_fen, st.currency), Money(st.applied_deposit_fen, st.currency),
                       Money(st.buyer_fee_fen, st.currency))
    plan = (deal.terms or {}).get("payment_plan") or {}
    effective_on = local_date(deal.in_force_at or clock.now())
    if total.fen == 0:
        st.plan_kind = PaymentPlanKind.LUMP_SUM
        session.flush()
        _complete_price(session, SYSTEM, deal, st, clock)
        return st
    if plan.get("kind") == PaymentPlanKind.INSTALMENTS.value:
        rows = _instalments(session, total, effective_on, plan)
        st.plan_kind = PaymentPlanKind.INSTALMENTS
    else:
        due = get_calendar(session).add_working_days(effective_on, get_settings(session)["lump_sum_working_days"])
        rows = [(1, due.day, total.fen, due.provisional)]
        st.plan_kind = PaymentPlanKind.LUMP_SUM
    _write_obligations(session, deal, st, rows, clock)
    move(session, SYSTEM, st, deal.ref, S.AWAITING_PAYMENT, clock,
         after={"plan": st.plan_kind, "total_fen": total.fen, "applied_deposit_fen": st.applied_deposit_fen})
    return st


def _instalments(session: Session, total: Money, effective_on: date, plan: dict[str, Any]) -> list[tuple]:
    settings = get_settings(session)
    try:
        down_ratio = Decimal(str(plan.get("down_ratio", settings["min_down_ratio"])))
    except ArithmeticError:
        raise ValidationError("down_ratio is a fraction.", code="invalid_instalments", field="down_ratio") from None
    count = plan.get("count", 2)
    first_due = plan.get("first_due")
    if isinstance(first_due, str):
        first_due = date.fromisoformat(first_due)
    cal = get_calendar(session)
    first = first_due or cal.add_working_days(effective_on, settings["lump_sum_working_days"]).day
    due_dates = [date.fromisoformat(d) if isinstance(d, str) else d for d in plan["due_dates"]] \
        if plan.get("due_dates") else None
    schedule = build_instalment_schedule(
        total, down_ratio, count, first, instalment_limit(effective_on, months=settings["max_instalment_months"]),
        min_down_ratio=Decimal(str(settings["min_down_ratio"])), interval_months=plan.get("interval_months", 1),
        due_dates=due_dates)
    return [(i.seq, i.due_date, i.amount.fen, not cal.is_loaded(i.due_date.year)) for i in schedule]


def _write_obligations(session: Session, deal: Deal, st: DealSettlement, rows: list[tuple], clock: Clock) -> None:
    now = clock.now()
    for seq, due_on, amount, provisional in rows:
        session.add(PaymentObligation(settlement_id=st.id, deal_id=deal.id, party_id=deal.buyer_party_id, seq=seq,
                                      due_on=due_on, due_provisional=provisional, amount_fen=amount, paid_fen=0,
                                      currency=st.currency, state=ObligationState.OPEN, created_at=now))
    session.flush()
    session.expire(st, ["obligations"])
    if rows:
        _seq, first_due, first_amount, _provisional = rows[0]
        title = deal.listing.title if deal.listing is not None else deal.asset.title
        params = {"deal": deal.ref, "title": title, "amount": money(first_amount, st.currency),
                  "due": first_due.isoformat(), "count": len(rows),
                  "total": money(sum(r[2] for r in rows), st.currency)}
        notify(session, party_id=deal.buyer_party_id, topic="payment.due" if len(rows) == 1 else "payment.plan",
               params=params, clock=clock)


def set_instalment_plan(session: Session, actor: Actor, deal_ref: str, plan: dict[str, Any], *,
                        clock: Clock) -> DealSettlement:
    """Replace the lump sum by instalments (or change the plan) while nothing has been paid on it."""
    deal, st = load_for_update(session, deal_ref)
    if st.state != S.AWAITING_PAYMENT:
        raise StateError("A payment plan is set while the buyer's payments are running.",
                         code="plan_not_changeable")
    if st.fee_paid_fen or st.price_paid_fen:
        raise StateError("Payments have been made under the current plan.", code="plan_not_changeable")
    total = Money(sum(o.amount_fen for o in st.obligations if o.state != ObligationState.CANCELLED), st.currency)
    rows = _instalments(session, total, local_date(deal.in_force_at or clock.now()),
                        {**plan, "kind": PaymentPlanKind.INSTALMENTS.value})
    before = [(o.seq, o.due_on, o.amount_fen) for o in st.obligations]
    session.execute(sa.delete(PaymentObligation).where(PaymentObligation.settlement_id == st.id))
    session.expire(st, ["obligations"])
    _write_obligations(session, deal, st, rows, clock)
    st.plan_kind = PaymentPlanKind.INSTALMENTS
    st.updated_at = clock.now()
    session.flush()
    log_event(session, actor, "settlement.plan_set", "deal", deal.ref, clock, before={"obligations": before},
              after={"obligations": [(seq, d, a) for seq, d, a, _ in rows]})
    return st


# -- money towards a deal ------------------------------------------------------------------------
def outstanding_fen(st: DealSettlement) -> int:
    """What the buyer still owes on the deal's open obligations."""
    return sum(o.amount_fen - o.paid_fen for o in st.obligations if o.state.value in OPEN_STATES)


def next_due(st: DealSettlement) -> PaymentObligation | None:
    """The first obligation not yet paid, or None."""
    return next((o for o in st.obligations if o.state.value in OPEN_STATES), None)


def apply_cash(session: Session, actor: Actor, deal: Deal, st: DealSettlement, clock: Clock,
               source: str) -> int:
    """Use the buyer's free cash for what it owes on the deal (both rows locked by the caller).

    Fee first, then the price into escrow; obligations are paid in order. When the
    price is complete the deposit is applied and the settlement moves to price_in.
    Returns the amount applied (0 when nothing is owed or no cash is free).
    """
    if st.state != S.AWAITING_PAYMENT:
        return 0
    owed = outstanding_fen(st)
    if owed <= 0:
        return 0
    buyer = deal.buyer
    use = min(owed, ledger.available_cash_fen(session, buyer, st.currency, for_update=True))
    if use <= 0:
        return 0
    fee_part = min(use, st.buyer_fee_fen - st.fee_paid_fen)
    price_part = use - fee_part
    legs = [Posting(ledger.cash_key(buyer), Money(use, st.currency)),
            Posting(ledger.FEE_INCOME, Money(-fee_part, st.currency)),
            Posting(ledger.escrow_key(deal.ref), Money(-price_part, st.currency))]
    st.payments_applied += 1
    entry = ledger.post(session, kind=EntryKind.DEAL_PAYMENT, postings=[p for p in legs if p.amount.fen],
                        source_key=f"deal:{deal.ref}:payment:{st.payments_applied}", actor=actor, clock=clock,
                        memo=f"{source}: fee {fee_part}, price {price_part}", deal_id=deal.id,
                        party_id=buyer.id)
    st.fee_paid_fen += fee_part
    st.price_paid_fen += price_part
    st.updated_at = clock.now()
    _allocate(session, deal, st, use, clock, actor)
    session.flush()
    log_event(session, actor, "settlement.payment_applied", "deal", deal.ref, clock,
              after={"entry": entry.ref, "amount_fen": use, "fee_fen": fee_part, "price_fen": price_part,
                     "outstanding_fen": outstanding_fen(st), "source": source})
    if outstanding_fen(st) == 0:
        _complete_price(session, actor, deal, st, clock)
    return use


def _allocate(session: Session, deal: Deal, st: DealSettlement, amount: int, clock: Clock, actor: Actor) -> None:
    on = today(clock)
    for ob in st.obligations:
        if amount <= 0:
            break
        if ob.state.value not in OPEN_STATES:
            continue
        take = min(amount, ob.amount_fen - ob.paid_fen)
        ob.paid_fen += take
        amount -= take
        if ob.paid_fen == ob.amount_fen:
            late = on > ob.due_on
            ob.state = ObligationState.PAID
            ob.paid_at = clock.now()
            credit.record_credit_event(
                session, deal.buyer_party_id,
                CreditEventKind.LATE_PAYMENT if late else CreditEventKind.ON_TIME_PAYMENT, on,
                source_key=f"{'late' if late else 'ontime'}:{deal.ref}:{ob.seq}", recorded_by=actor.label,
                clock=clock, deal_id=deal.id, note=f"payment {ob.seq} due {ob.due_on.isoformat()}")


def _complete_price(session: Session, actor: Actor, deal: Deal, st: DealSettlement, clock: Clock) -> None:
    """Everything the buyer owed is in: apply the deposit, so escrow holds the whole price."""
    if st.applied_deposit_fen and st.hold_id:
        hold = session.scalar(lock(sa.select(DepositHold).where(DepositHold.id == st.hold_id)))
        if hold.state == HoldState.HELD:
            holds.apply_to_price(session, actor, hold, deal.ref, deal.id, clock)
    st.price_in_at = clock.now()
    move(session, actor, st, deal.ref, S.PRICE_IN, clock,
         after={"escrow_fen": -ledger.balance_fen(session, ledger.escrow_key(deal.ref), st.currency)})


def pay_from_cash(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> DealSettlement:
    """The operator applies the buyer's free cash (e.g. an earlier overpayment) to the deal."""
    deal, st = load_for_update(session, deal_ref)
    if st.state != S.AWAITING_PAYMENT:
        raise StateError("Nothing is being paid on this deal now.", code="nothing_due",
                         details={"state": st.state.value})
    if apply_cash(session, actor, deal, st, clock, "buyer's cash applied by the exchange") == 0:
        raise RuleViolationError("The buyer has no free cash at the exchange.", code="insufficient_cash")
    return st


# -- overdue and default --------------------------------------------------------------------------
def flag_overdue(session: Session, clock: Clock) -> dict[str, int]:
    """The job: flag amounts past their due date and start the default path once the grace has run."""
    from auctions.service import deals

    serialise_writes(session)
    on = today(clock)
    cal = get_calendar(session)
    grace = get_settings(session)["default_after_overdue_working_days"]
    flagged = defaulted = 0
    refs = list(session.scalars(sa.select(Deal.ref).join(PaymentObligation, PaymentObligation.deal_id == Deal.id)
                                .where(PaymentObligation.state.in_(OPEN_STATES), PaymentObligation.due_on < on)
                                .distinct().order_by(Deal.ref).limit(500)))
    for ref in refs:
        deal, st = load_for_update(session, ref)
        if st.state != S.AWAITING_PAYMENT:
            continue
        worst: PaymentObligation | None = None
        for ob in st.obligations:
            if ob.state.value in OPEN_STATES and ob.due_on < on:
                if ob.state == ObligationState.OPEN:
                    ob.state = ObligationState.OVERDUE
                    ob.overdue_at = clock.now()
                    flagged += 1
                    log_event(session, SYSTEM, "obligation.overdue", "deal", deal.ref, clock,
                              after={"seq": ob.seq, "due_on": ob.due_on, "outstanding_fen": ob.amount_fen - ob.paid_fen})
                    notify(session, party_id=deal.buyer_party_id, topic="payment.overdue", clock=clock,
                           params={"deal": deal.ref, "amount": money(ob.amount_fen - ob.paid_fen, ob.currency),
                                   "due": ob.due_on.isoformat(),
                                   "title": deal.listing.title if deal.listing is not None else deal.asset.title})
                    credit.record_credit_event(session, deal.buyer_party_id, CreditEventKind.LATE_PAYMENT, on,
                                               source_key=f"late:{deal.ref}:{ob.seq}", recorded_by=SYSTEM.label,
                                               clock=clock, deal_id=deal.id, note=f"payment {ob.seq} overdue")
                worst = worst or ob
        session.flush()
        if worst is not None and deal.state in (DealState.STRUCK, DealState.IN_FORCE) and \
                cal.add_working_days(worst.due_on, grace).day < on:
            deals.record_default(session, SYSTEM, deal.ref,
                                 f"payment {worst.seq} of {worst.amount_fen} fen due {worst.due_on.isoformat()} "
                                 "not paid", clock=clock)
            defaulted += 1
    return {"flagged": flagged, "defaulted": defaulted}


def on_deal_defaulted(session: Session, deal: Deal, clock: Clock) -> None:
    """ON_DEAL_DEFAULTED: forfeit the defaulter's deposit, give back what it paid towards the
    price, cancel what it still owed."""
    serialise_writes(session)
    st = settlement_of(session, deal, for_update=True) or open_settlement(session, deal, clock)
    if st.state in (S.DEFAULTED, S.PAID_OUT):
        return
    seller = deal.seller
    buyer = deal.buyer
    forfeited_from_escrow = 0
    if st.hold_id:
        hold = session.scalar(lock(sa.select(DepositHold).where(DepositHold.id == st.hold_id)))
        if hold.state == HoldState.HELD:
            holds.forfeit(session, SYSTEM, hold, seller, f"deal {deal.ref} defaulted", clock, deal_id=deal.id)
        elif hold.state == HoldState.PENDING:
            holds.release(session, SYSTEM, hold, "never funded through settlement", clock)
        elif hold.state == HoldState.APPLIED and hold.cash_fen:
            # The deposit is already part of the escrowed price: forfeit it from there.
            forfeited_from_escrow = hold.cash_fen
    escrow = -ledger.balance_fen(session, ledger.escrow_key(deal.ref), st.currency)
    if forfeited_from_escrow:
        part = Money(min(forfeited_from_escrow, escrow), st.currency)
        if part.fen:
            seller_part, exchange_part = split_forfeiture(part, setting_decimal(session, "forfeiture_seller_share"))
            legs = [Posting(ledger.escrow_key(deal.ref), part), Posting(ledger.cash_key(seller), -seller_part),
                    Posting(ledger.FORFEITURE_INCOME, -exchange_part)]
            ledger.post(session, kind=EntryKind.DEPOSIT_FORFEITED, postings=[p for p in legs if p.amount.fen],
                        source_key=f"deal:{deal.ref}:forfeit_applied_deposit", actor=SYSTEM, clock=clock,
                        memo=f"applied deposit forfeited: deal {deal.ref} defaulted", deal_id=deal.id,
                        party_id=buyer.id)
            escrow -= part.fen
            credit.record_credit_event(session, buyer.id, CreditEventKind.FORFEITURE, today(clock),
                                       source_key=f"forfeit:deal:{deal.ref}", recorded_by=SYSTEM.label,
                                       clock=clock, deal_id=deal.id)
    _return_escrow(session, deal, st, escrow, "defaulted", clock)
    st.defaulted_at = clock.now()
    move(session, SYSTEM, st, deal.ref, S.DEFAULTED, clock, reason=deal.close_reason,
         after={"escrow_returned_fen": max(escrow, 0)})
    credit.record_credit_event(session, buyer.id, CreditEventKind.DEFAULT, today(clock),
                               source_key=f"default:{deal.ref}", recorded_by=SYSTEM.label, clock=clock,
                               deal_id=deal.id, note=deal.close_reason or "")


def _return_escrow(session: Session, deal: Deal, st: DealSettlement, escrow: int, why: str, clock: Clock) -> None:
    """What the buyer paid towards the price of a deal that will not complete goes back to its cash
    (refunded from there like any other credit); what it still owed is no longer owed."""
    buyer = deal.buyer
    if escrow > 0:
        ledger.post(session, kind=EntryKind.ESCROW_RETURNED,
                    postings=[Posting(ledger.escrow_key(deal.ref), Money(escrow, st.currency)),
                              Posting(ledger.cash_key(buyer), Money(-escrow, st.currency))],
                    source_key=f"deal:{deal.ref}:escrow_returned", actor=SYSTEM, clock=clock,
                    memo=f"price paid on {why} deal {deal.ref} returned to the buyer's cash", deal_id=deal.id,
                    party_id=buyer.id)
    for ob in st.obligations:
        if ob.state.value in OPEN_STATES:
            ob.state = ObligationState.CANCELLED


def on_deal_cancelled(session: Session, deal: Deal, clock: Clock) -> None:
    """ON_DEAL_CANCELLED: a deal called off before it took effect, the buyer not at fault (the seller
    did not sign): the buyer's deposit is released (refunded like a losing bidder's) and anything it
    paid towards the price goes back to it. A deal cancelled after the buyer defaulted was settled as
    a default already: nothing changes. Safe to run twice."""
    serialise_writes(session)
    st = settlement_of(session, deal, for_update=True)
    if st is None or st.state != S.AWAITING_CONTRACT:
        return
    if st.hold_id:
        hold = session.scalar(lock(sa.select(DepositHold).where(DepositHold.id == st.hold_id)))
        if hold.state in (HoldState.HELD, HoldState.PENDING):
            holds.release(session, SYSTEM, hold, f"deal {deal.ref} cancelled: {deal.close_reason or ''}".strip(),
                          clock)
    escrow = -ledger.balance_fen(session, ledger.escrow_key(deal.ref), st.currency)
    _return_escrow(session, deal, st, escrow, "cancelled", clock)
    move(session, SYSTEM, st, deal.ref, S.CANCELLED, clock, reason=deal.close_reason,
         after={"escrow_returned_fen": max(escrow, 0)})


def on_seller_failed_to_sign(session: Session, deal: Deal, clock: Clock) -> None:
    """The seller let the signing deadline pass with the buyer's signature on the contract: its
    default goes on its credit record (the buyer's deposit is released by ``on_deal_cancelled``)."""
    credit.record_credit_event(session, deal.seller_party_id, CreditEventKind.DEFAULT, today(clock),
                               source_key=f"default:{deal.ref}:seller", recorded_by=SYSTEM.label, clock=clock,
                               deal_id=deal.id, note=deal.close_reason or "")


def on_deal_completed(session: Session, deal: Deal, clock: Clock) -> None:
    """ON_DEAL_COMPLETED: both parties' records gain a completed deal."""
    for role, party_id in (("buyer", deal.buyer_party_id), ("seller", deal.seller_party_id)):
        credit.record_credit_event(session, party_id, CreditEventKind.COMPLETED_DEAL, today(clock),
                                   source_key=f"completed:{deal.ref}:{role}", recorded_by=SYSTEM.label,
                                   clock=clock, deal_id=deal.id)
