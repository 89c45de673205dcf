"""Money out: the seller's payout after the price is in and the transfer is confirmed, and
refunds of a party's free cash. Both happen once: a replay returns the first result."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.errors import ConflictError, RuleViolationError, StateError, ValidationError
from exchange.money import Money
from exchange.notifications import money, notify
from exchange.refs import next_reference
from exchange.text import clean_text
from settlement.domain import payout_to_seller, refund as refund_postings
from settlement.models import DealSettlement, Disbursement, DisbursementKind, EntryKind
from settlement.service import ledger, obligations
from settlement.service.common import check_currency, check_fen, check_sha256, load_party, log_event, serialise_writes

S = obligations.S


def confirm_transfer(session: Session, actor: Actor, deal_ref: str, *, evidence: str,
                     document_sha256: str | None = None, clock: Clock) -> DealSettlement:
    """The operator confirms the rights have moved (e.g. the assignment is recorded at the patent
    office), with the evidence. Confirming again with the same evidence changes nothing."""
    evidence = clean_text(evidence, "evidence", max_length=2000, multiline=True)
    digest = check_sha256(document_sha256)
    deal, st = obligations.load_for_update(session, deal_ref)
    if st.transfer_confirmed_at is not None:
        if st.transfer_evidence == evidence and st.transfer_document_sha256 == digest:
            return st
        raise ConflictError("The transfer is already confirmed.", code="transfer_already_confirmed")
    if st.state not in (S.AWAITING_PAYMENT, S.PRICE_IN):
        raise StateError("The transfer is confirmed once the contract is in force.", code="transfer_not_confirmable",
                         details={"state": st.state.value})
    st.transfer_confirmed_at = clock.now()
    st.transfer_confirmed_by = actor.label
    st.transfer_evidence = evidence
    st.transfer_document_sha256 = digest
    st.updated_at = clock.now()
    session.flush()
    log_event(session, actor, "settlement.transfer_confirmed", "deal", deal.ref, clock,
              after={"document_sha256": digest}, reason=evidence)
    return st


def _disburse(session: Session, actor: Actor, *, kind: DisbursementKind, party, amount: Money, reason: str,
              source_key: str, clock: Clock, deal_id: int | None = None) -> Disbursement:  # type: ignore[no-untyped-def]
    entry = ledger.post(session, kind=EntryKind.DISBURSEMENT, source_key=f"{source_key}:out", actor=actor,
                        clock=clock, postings=refund_postings(amount, party_cash=ledger.cash_key(party),
                                                              paid_from=ledger.BANK),
                        memo=f"{kind.value} to {party.ref}: {reason}", deal_id=deal_id, party_id=party.id)
    now = clock.now()
    d = Disbursement(ref=next_reference(session, "RF", now.year), kind=kind, party_id=party.id, deal_id=deal_id,
                     amount_fen=amount.fen, currency=amount.currency, reason=reason, source_key=source_key,
                     entry_id=entry.id, created_at=now, created_by=actor.label)
    session.add(d)
    session.flush()
    log_event(session, actor, f"disbursement.{kind.value}", "disbursement", d.ref, clock,
              after={"party": party.ref, "amount_fen": amount.fen, "currency": amount.currency, "entry": entry.ref,
                     "deal_id": deal_id}, reason=reason)
    return d


def pay_out(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> DealSettlement:
    """Release the escrowed price: the seller's fee to the exchange, the rest paid to the seller's bank;
    then the deal is complete. Only after the price is in and the transfer confirmed; once."""
    from auctions.service import deals

    deal, st = obligations.load_for_update(session, deal_ref)
    if st.state == S.PAID_OUT:
        return st
    if st.state != S.PRICE_IN:
        raise StateError("The price is not fully in yet.", code="price_not_in", details={"state": st.state.value})
    if st.transfer_confirmed_at is None:
        raise StateError("The exchange has not confirmed the transfer.", code="transfer_not_confirmed")
    escrow = -ledger.balance_fen(session, ledger.escrow_key(deal.ref), st.currency)
    if escrow != st.price_fen:
        raise ConflictError("Escrow does not hold the price; reconcile before paying out.", code="escrow_mismatch",
                            details={"escrow_fen": escrow, "price_fen": st.price_fen})
    seller = deal.seller
    entry = None
    if st.price_fen:
        entry = ledger.post(session, kind=EntryKind.PAYOUT, source_key=f"deal:{deal.ref}:payout", actor=actor,
                            clock=clock, deal_id=deal.id, party_id=seller.id,
                            postings=payout_to_seller(Money(st.price_fen, st.currency),
                                                      Money(st.seller_fee_fen, st.currency),
                                                      escrow=ledger.escrow_key(deal.ref), fee_income=ledger.FEE_INCOME,
                                                      paid_to=ledger.cash_key(seller)),
                            memo=f"price of {deal.ref} released to the seller less its fee {st.seller_fee_fen}")
        net = st.price_fen - st.seller_fee_fen
        notify(session, party_id=seller.id, topic="payout.made", clock=clock,
               params={"deal": deal.ref, "amount": money(net, st.currency),
                       "fee": money(st.seller_fee_fen, st.currency),
                       "title": deal.listing.title if deal.listing is not None else deal.asset.title})
        if net:
            _disburse(session, actor, kind=DisbursementKind.PAYOUT, party=seller, amount=Money(net, st.currency),
                      reason=f"payout of {deal.ref}", source_key=f"payout:{deal.ref}", clock=clock, deal_id=deal.id)
    st.paid_out_at = clock.now()
    st.payout_entry_id = entry.id if entry is not None else None
    obligations.move(session, actor, st, deal.ref, S.PAID_OUT, clock,
                     after={"entry": entry.ref if entry else None, "seller_fee_fen": st.seller_fee_fen})
    deals.complete_deal(session, actor, deal.ref, clock=clock)
    return st


def refund(session: Session, actor: Actor, party_ref: str, amount_fen: int, reason: str, *, key: str,
           clock: Clock, currency: str = "CNY") -> tuple[Disbursement, bool]:
    """Pay a party's free cash back to its bank (an overpayment, a returned escrow, a forfeiture share).

    ``key`` names the request: the same key again returns the first refund and ``False``;
    the same key for another party or amount is refused.
    """
    serialise_writes(session)
    amount_fen = check_fen(amount_fen, "amount_fen")
    currency = check_currency(currency)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    key = clean_text(key, "key", max_length=140)
    party = load_party(session, party_ref)
    source_key = f"refund:{key}"
    found = session.scalar(sa.select(Disbursement).where(Disbursement.source_key == source_key))
    if found is not None:
        if (found.party_id, found.amount_fen, found.currency) != (party.id, amount_fen, currency):
            raise ValidationError("This refund key was used for another refund.", code="refund_key_reused")
        return found, False
    available = ledger.available_cash_fen(session, party, currency, for_update=True)
    if amount_fen > available:
        raise RuleViolationError("The party has less free cash at the exchange than that.", code="insufficient_cash",
                                 details={"available_fen": available, "requested_fen": amount_fen})
    d = _disburse(session, actor, kind=DisbursementKind.REFUND, party=party, amount=Money(amount_fen, currency),
                  reason=reason, source_key=source_key, clock=clock)
    return d, True
