"""Money in: bank notifications, matching, suspense and returns.

Every receipt enters the ledger through suspense (bank clearing / suspense) and
is then matched: to a buyer registration (its deposit), to a deal (price, fee or
instalment), to a party (cash kept for it) or to a called credit instrument (the
issuer paying its claim). A notification that matches nothing waits in suspense
for an operator to match or return it. Amounts are recorded as received; a
difference from what was due is flagged, never adjusted.

Notifications are idempotent by the bank's reference: the same notification again
returns the first one and changes nothing; the same reference with other facts is
refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError, StateError, ValidationError
from exchange.jsonable import canonical_json
from exchange.money import Money
from exchange.refs import next_reference
from exchange.text import clean_text
from auctions.models import Deal
from listings.models import BuyerRegistration
from settlement.domain import HoldState, bank_in, match_payment, refund, suspense_matched
from settlement.models import (
    BankNotification,
    CreditInstrument,
    EntryKind,
    InstrumentState,
    MatchTarget,
    NotificationState,
    PaymentFlag,
    PaymentPurpose,
)
from settlement.service import credit, holds, ledger, obligations
from settlement.service.common import (
    check_currency,
    check_fen,
    load_party,
    lock,
    log_event,
    serialise_writes,
    today,
)


@dataclass(frozen=True)
class NotificationInput:
    bank_reference: str
    amount_fen: int
    payer_name: str
    purpose: PaymentPurpose
    purpose_ref: str | None = None
    payer_account: str = ""
    payer_party_ref: str | None = None
    currency: str = "CNY"
    value_date: date | None = None
    remittance_info: str = ""


def _clean(cmd: NotificationInput, clock: Clock) -> dict[str, Any]:
    ref = clean_text(cmd.bank_reference, "bank_reference", max_length=64)
    if not all(c.isalnum() or c in "-_./:" for c in ref):
        raise ValidationError("A bank reference has letters, digits and - _ . / : only.",
                              code="invalid_bank_reference", field="bank_reference")
    try:
        purpose = PaymentPurpose(cmd.purpose)
    except ValueError:
        raise ValidationError("Unknown payment purpose.", code="invalid_purpose", field="purpose") from None
    value_date = cmd.value_date or today(clock)
    if value_date > today(clock):
        raise ValidationError("A receipt cannot have a value date in the future.", code="invalid_value_date",
                              field="value_date")
    return {
        "bank_reference": ref,
        "amount_fen": check_fen(cmd.amount_fen, "amount_fen"),
        "currency": check_currency(cmd.currency),
        "payer_name": clean_text(cmd.payer_name, "payer_name", max_length=200),
        "payer_account": clean_text(cmd.payer_account or "", "payer_account", max_length=64, min_length=0),
        "payer_party_ref": (clean_text(cmd.payer_party_ref, "payer_party_ref", max_length=20)
                            if cmd.payer_party_ref else None),
        "purpose": purpose,
        "purpose_ref": clean_text(cmd.purpose_ref, "purpose_ref", max_length=20) if cmd.purpose_ref else None,
        "value_date": value_date,
        "remittance_info": clean_text(cmd.remittance_info or "", "remittance_info", max_length=200, min_length=0),
    }


def _fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def load_notification(session: Session, ref: str, *, for_update: bool = False) -> BankNotification:
    """A receipt by its reference (locked with ``for_update``), or ``notification_not_found``."""
    stmt = sa.select(BankNotification).where(BankNotification.ref == ref)
    n = session.scalar(lock(stmt) if for_update else stmt)
    if n is None:
        raise NotFoundError(f"No bank notification {ref}.", code="notification_not_found")
    return n


def receive_notification(session: Session, actor: Actor, cmd: NotificationInput, *, clock: Clock,
                         source: str = "bank") -> tuple[BankNotification, bool]:
    """Record a receipt and match it if its purpose reference names something that is due.

    Returns (notification, created). A replay of the same bank reference with the same
    facts returns the stored notification and ``created=False``; with different facts it
    raises ``bank_reference_conflict``.
    """
    fields = _clean(cmd, clock)
    digest = _fingerprint(fields)
    serialise_writes(session)
    found = session.scalar(sa.select(BankNotification).where(
        BankNotification.bank_reference == fields["bank_reference"]))
    if found is not None:
        if found.payload_sha256 != digest:
            raise ConflictError("This bank reference was notified with different details.",
                                code="bank_reference_conflict", field="bank_reference",
                                details={"notification": found.ref})
        return found, False
    payer = load_party(session, fields["payer_party_ref"], "payer_party_ref") if fields["payer_party_ref"] else None
    now = clock.now()
    n = BankNotification(ref=next_reference(session, "PAY", now.year, width=8), payload_sha256=digest,
                         bank_reference=fields["bank_reference"], payer_name=fields["payer_name"],
                         payer_account=fields["payer_account"], payer_party_id=payer.id if payer else None,
                         amount_fen=fields["amount_fen"], currency=fields["currency"], purpose=fields["purpose"],
                         purpose_ref=fields["purpose_ref"], remittance_info=fields["remittance_info"],
                         value_date=fields["value_date"], received_at=now, source=source,
                         state=NotificationState.SUSPENSE, note="", created_by=actor.label)
    session.add(n)
    session.flush()
    amount = Money(n.amount_fen, n.currency)
    ledger.post(session, kind=EntryKind.BANK_IN, postings=bank_in(amount, bank=ledger.BANK, suspense=ledger.SUSPENSE),
                source_key=f"bank:{n.bank_reference}:in", actor=actor, clock=clock,
                memo=f"{n.ref} from {n.payer_name} ({n.purpose.value} {n.purpose_ref or '-'})")
    log_event(session, actor, "payment.received", "payment", n.ref, clock,
              after={"bank_reference": n.bank_reference, "amount_fen": n.amount_fen, "currency": n.currency,
                     "purpose": n.purpose, "purpose_ref": n.purpose_ref, "payer": n.payer_name})
    target = _auto_target(session, n)
    if target is not None:
        _match(session, actor, n, target[0], target[1], clock, note="matched automatically")
    return n, True


def _auto_target(session: Session, n: BankNotification) -> tuple[MatchTarget, Any] | None:
    """What the purpose reference names, if it is something a receipt can pay now."""
    if not n.purpose_ref:
        return None
    if n.purpose == PaymentPurpose.DEPOSIT:
        reg = session.scalar(sa.select(BuyerRegistration).where(BuyerRegistration.ref == n.purpose_ref))
        hold = holds.hold_of(session, reg.id) if reg is not None else None
        if hold is not None and hold.currency == n.currency and hold.state == HoldState.PENDING:
            return MatchTarget.REGISTRATION, reg
        return None
    if n.purpose in (PaymentPurpose.PRICE, PaymentPurpose.FEE, PaymentPurpose.INSTALMENT):
        deal = session.scalar(sa.select(Deal).where(Deal.ref == n.purpose_ref))
        st = obligations.settlement_of(session, deal) if deal is not None else None
        if st is not None and st.currency == n.currency and st.state == obligations.S.AWAITING_PAYMENT:
            return MatchTarget.DEAL, deal
    return None


def _flag(expected: int | None, received: int) -> PaymentFlag:
    if not expected:
        return PaymentFlag.UNEXPECTED
    return PaymentFlag(match_payment(Money(expected), Money(received)).value)


def _match(session: Session, actor: Actor, n: BankNotification, kind: MatchTarget, target: Any, clock: Clock,
           note: str) -> BankNotification:
    """Attribute a suspense receipt: the money leaves suspense for a party's cash (or pays a claim),
    then pays what the target is owed."""
    amount = Money(n.amount_fen, n.currency)
    expected: int | None = None
    after: dict[str, Any] = {}
    if kind == MatchTarget.INSTRUMENT:
        inst: CreditInstrument = target
        outstanding = inst.claim_fen - inst.claim_paid_fen
        if inst.state != InstrumentState.CALLED or outstanding <= 0:
            raise StateError("Nothing is claimed under this instrument.", code="nothing_claimed")
        if n.amount_fen > outstanding:
            raise ValidationError("The receipt exceeds the outstanding claim; match it to the party instead.",
                                  code="amount_exceeds_claim", details={"outstanding_fen": outstanding})
        expected = outstanding
        party = inst.party
        ledger.post(session, kind=EntryKind.SUSPENSE_MATCHED, source_key=f"bank:{n.bank_reference}:match",
                    postings=suspense_matched(amount, suspense=ledger.SUSPENSE, party_cash=ledger.receivable_key(party)),
                    actor=actor, clock=clock, memo=f"{n.ref}: claim under {inst.ref} paid", party_id=party.id)
        inst.claim_paid_fen += n.amount_fen
        target_ref = inst.ref
    else:
        if kind == MatchTarget.REGISTRATION:
            reg: BuyerRegistration = target
            party = reg.buyer
            target_ref = reg.ref
        elif kind == MatchTarget.DEAL:
            deal: Deal = target
            party = deal.buyer
            target_ref = deal.ref
        else:
            party = target
            target_ref = party.ref
        # What was expected of this receipt is what was still missing after the cash already held.
        held_before = ledger.available_cash_fen(session, party, n.currency, for_update=True)
        ledger.post(session, kind=EntryKind.SUSPENSE_MATCHED, source_key=f"bank:{n.bank_reference}:match",
                    postings=suspense_matched(amount, suspense=ledger.SUSPENSE, party_cash=ledger.cash_key(party)),
                    actor=actor, clock=clock, memo=f"{n.ref} is {party.ref}'s {n.purpose.value} for {target_ref}",
                    party_id=party.id)
        if kind == MatchTarget.REGISTRATION:
            hold = holds.hold_of(session, reg.id, for_update=True)
            if hold is not None and hold.state == HoldState.PENDING and holds.fundable(reg, clock):
                expected = max(0, hold.cash_fen - held_before)
                after["hold_funded"] = holds.try_fund(session, actor, hold, clock)
        elif kind == MatchTarget.DEAL:
            from auctions.service import deals

            deals.load_deal(session, deal.ref, for_update=True)
            st = obligations.settlement_of(session, deal, for_update=True)
            if st is not None and st.state == obligations.S.AWAITING_PAYMENT:
                nxt = obligations.next_due(st)
                total = max(0, obligations.outstanding_fen(st) - held_before)
                # A lump sum is expected whole; with instalments, the next instalment (or everything left).
                expected = total if n.amount_fen >= total or nxt is None else \
                    max(0, nxt.amount_fen - nxt.paid_fen - held_before)
                after["applied_fen"] = obligations.apply_cash(session, actor, deal, st, clock, f"receipt {n.ref}")
    n.state = NotificationState.MATCHED
    n.matched_kind = kind
    n.matched_ref = target_ref
    n.matched_party_id = party.id
    n.matched_at = clock.now()
    n.matched_by = actor.label
    n.expected_fen = expected
    n.flag = _flag(expected, n.amount_fen) if kind != MatchTarget.PARTY else None
    n.note = note
    session.flush()
    log_event(session, actor, "payment.matched", "payment", n.ref, clock, before={"state": "suspense"},
              after={"state": "matched", "to": kind, "ref": target_ref, "party": party.ref,
                     "expected_fen": expected, "flag": n.flag, **after}, reason=note)
    return n


def match_notification(session: Session, actor: Actor, ref: str, target: MatchTarget | str, target_ref: str,
                       note: str = "", *, clock: Clock) -> BankNotification:
    """The operator matches a receipt waiting in suspense. Matching a matched receipt again to the
    same target changes nothing; to another target it is refused."""
    serialise_writes(session)
    n = load_notification(session, ref, for_update=True)
    try:
        kind = MatchTarget(target)
    except ValueError:
        raise ValidationError("Unknown match target.", code="invalid_match_target", field="target") from None
    note = clean_text(note or "matched by the exchange", "note", max_length=2000, multiline=True)
    if n.state == NotificationState.MATCHED and n.matched_kind == kind and n.matched_ref == target_ref:
        return n
    if n.state != NotificationState.SUSPENSE:
        raise StateError(f"This receipt is already {n.state.value}.", code="notification_not_in_suspense",
                         details={"state": n.state.value, "matched_ref": n.matched_ref})
    if kind == MatchTarget.REGISTRATION:
        obj: Any = session.scalar(sa.select(BuyerRegistration).where(BuyerRegistration.ref == target_ref))
        if obj is None:
            raise NotFoundError(f"No registration {target_ref}.", code="registration_not_found", field="target_ref")
        hold = holds.hold_of(session, obj.id)
        if hold is None:
            raise NotFoundError(f"Registration {target_ref} has no deposit hold.", code="hold_not_found")
        if hold.currency != n.currency:
            raise ValidationError("The receipt's currency differs from the deposit's.", code="currency_mismatch")
        # Lock order: listing before hold (see holds._lock_for_resolution).
        holds._lock_for_resolution(session, hold)
    elif kind == MatchTarget.DEAL:
        obj = session.scalar(sa.select(Deal).where(Deal.ref == target_ref))
        if obj is None:
            raise NotFoundError(f"No deal {target_ref}.", code="deal_not_found", field="target_ref")
        if obj.currency != n.currency:
            raise ValidationError("The receipt's currency differs from the deal's.", code="currency_mismatch")
    elif kind == MatchTarget.PARTY:
        obj = load_party(session, target_ref, "target_ref")
    else:
        obj = credit.load_instrument(session, target_ref, for_update=True)
        if obj.currency != n.currency:
            raise ValidationError("The receipt's currency differs from the claim's.", code="currency_mismatch")
    return _match(session, actor, n, kind, obj, clock, note)


def return_notification(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> BankNotification:
    """Send an unidentified receipt back to the payer's account, once."""
    serialise_writes(session)
    n = load_notification(session, ref, for_update=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    if n.state == NotificationState.RETURNED:
        return n
    if n.state != NotificationState.SUSPENSE:
        raise StateError("Only a receipt waiting in suspense is returned; refund the party's cash instead.",
                         code="notification_not_in_suspense", details={"state": n.state.value})
    entry = ledger.post(session, kind=EntryKind.SUSPENSE_RETURNED, source_key=f"bank:{n.bank_reference}:return",
                        postings=refund(Money(n.amount_fen, n.currency), party_cash=ledger.SUSPENSE,
                                        paid_from=ledger.BANK),
                        actor=actor, clock=clock, memo=f"{n.ref} returned to {n.payer_name}: {reason}")
    n.state = NotificationState.RETURNED
    n.returned_at = clock.now()
    n.note = reason
    session.flush()
    log_event(session, actor, "payment.returned", "payment", n.ref, clock, before={"state": "suspense"},
              after={"state": "returned", "entry": entry.ref}, reason=reason)
    return n


def list_notifications(session: Session, *, state: NotificationState | None = None,
                       party_id: int | None = None) -> sa.Select:
    """The query for receipts, newest first, optionally by state or matched party."""
    stmt = sa.select(BankNotification).order_by(BankNotification.id.desc())
    if state is not None:
        stmt = stmt.where(BankNotification.state == state)
    if party_id is not None:
        stmt = stmt.where(BankNotification.matched_party_id == party_id)
    return stmt
