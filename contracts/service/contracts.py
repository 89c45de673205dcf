"""Contracts: drawn up from every deal, signed by both parties over one exact text,
in force with the second signature; the default paths when a side does not sign.

Signing deadline: the deal's ``sign_by`` (3 working days after the deal was
struck, set by the auctions package). A signature after it is refused; the
sweep (``contracts.jobs``) then records who failed: the buyer (its default,
deposit forfeited by settlement) or, when only the seller is missing, the seller
(contract cancelled, deal cancelled: settlement releases the buyer's deposit on
``ON_DEAL_CANCELLED``, and ``ON_SELLER_FAILED_TO_SIGN`` puts the default on the
seller's credit record).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from auctions.models import Deal, DealState
from auctions.service import deals as deal_service
from auctions.service.negotiation import call_off_for_seller_default
from contracts import domain as cd
from contracts.models import Contract, ContractSignature, NonTechnicalItem
from contracts.service import drafting
from contracts.service.records import seal
from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock, end_of_local_day_utc, local_midnight_utc
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, StateError, ValidationError
from exchange.models import Party, Role
from exchange.money import Money
from exchange.pagination import paginate
from exchange.refs import next_reference
from exchange.text import clean_text

MAX_TEXT_LENGTH = 200_000
MAX_ITEMS = 50

#: fn(session, deal, clock): the seller did not sign in time; the deal is cancelled. Settlement
#: appends a function here to release the buyer's deposit.
ON_SELLER_FAILED_TO_SIGN: list[Callable[..., None]] = []

BUYER_DID_NOT_SIGN = "买方未在签约期限内签署合同 The buyer did not sign the contract by the deadline."
SELLER_DID_NOT_SIGN = "卖方未在签约期限内签署合同 The seller did not sign the contract by the deadline."


# --------------------------------------------------------------------------- loading and visibility
def load_contract(session: Session, ref: str, *, for_update: bool = False) -> Contract:
    stmt = sa.select(Contract).where(Contract.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    contract = session.scalar(stmt)
    if contract is None:
        raise NotFoundError(f"No contract {ref}.", code="contract_not_found")
    return contract


def contract_for_deal(session: Session, deal_id: int) -> Contract | None:
    return session.scalar(sa.select(Contract).where(Contract.deal_id == deal_id))


def contract_of_deal(session: Session, deal_ref: str) -> Contract:
    deal = deal_service.load_deal(session, deal_ref)
    contract = contract_for_deal(session, deal.id)
    if contract is None:
        raise NotFoundError(f"Deal {deal_ref} has no contract.", code="contract_not_found")
    return contract


def can_see(actor: Actor, contract: Contract) -> bool:
    deal = contract.deal
    return actor.can_read_all or actor.party_id in (deal.seller_party_id, deal.buyer_party_id)


def visible_contract(actor: Actor, contract: Contract) -> Contract:
    """The contract if ``actor`` is one of its parties, staff or an auditor; otherwise "not found"."""
    if can_see(actor, contract):
        return contract
    raise NotFoundError(f"No contract {contract.ref}.", code="contract_not_found")


def signed_sides(contract: Contract) -> set[cd.SigningSide]:
    return {s.side for s in contract.signatures}


def signature_of(contract: Contract, side: cd.SigningSide) -> ContractSignature | None:
    return next((s for s in contract.signatures if s.side == side), None)


# --------------------------------------------------------------------------- drafting
def _deposit_fen(deal: Deal) -> int:
    return deal.registration.deposit_fen if deal.registration is not None else 0


def _items(contract: Contract) -> list[drafting.ItemLine]:
    return [drafting.ItemLine(i.description, i.amount_fen) for i in contract.non_technical_items]


def _set_text(contract: Contract, text: str, *, edited: bool) -> None:
    contract.text = text
    contract.text_sha256 = cd.contract_text_fingerprint(text)
    contract.text_edited = edited


def draft_contract(session: Session, deal: Deal, *, clock: Clock, actor: Actor | None = None) -> Contract:
    """Draw up the contract of a struck deal (called from the deal hook). Idempotent per deal."""
    existing = contract_for_deal(session, deal.id)
    if existing is not None:
        return existing
    actor = actor or Actor.system("contracts")
    ctype, subtype = drafting.classify(deal)
    now = clock.now()
    ref = next_reference(session, "C", now.year)
    title, text = drafting.generate(ref, deal, [], deposit_fen=_deposit_fen(deal))
    contract = Contract(ref=ref, deal_id=deal.id, state=cd.ContractState.DRAFTED, contract_type=ctype, subtype=subtype,
                        title=title, text="", text_sha256="", drafted_at=now, record_hash="")
    contract.deal = deal
    _set_text(contract, text, edited=False)
    session.add(contract)
    seal(session, contract)
    record_event(session, actor=actor, action="contract.drafted", subject_type="contract", subject_ref=contract.ref,
                 after={"deal": deal.ref, "state": contract.state, "contract_type": ctype, "subtype": subtype,
                        "text_sha256": contract.text_sha256, "sign_by": deal.sign_by}, clock=clock)
    return contract


def _require_editable(contract: Contract) -> None:
    cd.check_text_editable(contract.state, signed_sides(contract))


def edit_text(session: Session, actor: Actor, ref: str, text: str, reason: str, *, clock: Clock) -> Contract:
    """An operator replaces the text before anyone has signed (``contract_text_locked`` after)."""
    contract = load_contract(session, ref, for_update=True)
    _require_editable(contract)
    text = clean_text(text, "text", max_length=MAX_TEXT_LENGTH, multiline=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    before = contract.text_sha256
    if cd.contract_text_fingerprint(text) == before:
        raise ValidationError("The text is unchanged.", code="contract_text_unchanged", field="text")
    _set_text(contract, text, edited=True)
    seal(session, contract)
    record_event(session, actor=actor, action="contract.text_edited", subject_type="contract", subject_ref=ref,
                 before={"text_sha256": before}, after={"text_sha256": contract.text_sha256}, reason=reason,
                 clock=clock)
    return contract


def regenerate_text(session: Session, actor: Actor, ref: str, *, clock: Clock) -> Contract:
    """Put the generated text back (after an edit, or after the records it is made from changed)."""
    contract = load_contract(session, ref, for_update=True)
    _require_editable(contract)
    before = contract.text_sha256
    _, text = drafting.generate(contract.ref, contract.deal, _items(contract), deposit_fen=_deposit_fen(contract.deal))
    _set_text(contract, text, edited=False)
    seal(session, contract)
    record_event(session, actor=actor, action="contract.text_regenerated", subject_type="contract", subject_ref=ref,
                 before={"text_sha256": before}, after={"text_sha256": contract.text_sha256}, clock=clock)
    return contract


@dataclass(frozen=True)
class ItemInput:
    description: str
    amount_fen: int


def set_non_technical_items(session: Session, actor: Actor, ref: str, items: Sequence[ItemInput], *,
                            clock: Clock) -> Contract:
    """List the parts of the price that buy no technology; the generated text lists them too.

    Refused once signed (``contract_text_locked``) and when the text was edited by
    hand (``contract_text_edited``: regenerate it first, the edit would be lost).
    """
    contract = load_contract(session, ref, for_update=True)
    _require_editable(contract)
    if contract.text_edited:
        raise StateError("The text was edited by hand; regenerate it before changing the items it lists.",
                         code="contract_text_edited")
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"At most {MAX_ITEMS} items.", code="too_many_items", field="items")
    deal = contract.deal
    cleaned = [cd.NonTechnicalItem(clean_text(i.description, "description", max_length=500),
                                   Money(i.amount_fen, deal.currency)) for i in items]
    cd.technology_amount(Money(deal.price_fen, deal.currency), cleaned)  # refuses items above the deal amount
    before = [{"description": i.description, "amount_fen": i.amount_fen} for i in contract.non_technical_items]
    contract.non_technical_items.clear()
    session.flush()
    for n, item in enumerate(cleaned, start=1):
        contract.non_technical_items.append(NonTechnicalItem(position=n, description=item.description,
                                                             amount_fen=item.amount.fen, currency=deal.currency))
    _, text = drafting.generate(contract.ref, deal, _items(contract), deposit_fen=_deposit_fen(deal))
    _set_text(contract, text, edited=False)
    seal(session, contract)
    record_event(session, actor=actor, action="contract.non_technical_items_set", subject_type="contract",
                 subject_ref=ref, before={"items": before},
                 after={"items": [{"description": i.description, "amount_fen": i.amount.fen} for i in cleaned],
                        "text_sha256": contract.text_sha256}, clock=clock)
    return contract


def technology_amount_of(contract: Contract) -> Money:
    deal = contract.deal
    return cd.technology_amount(Money(deal.price_fen, deal.currency),
                                [cd.NonTechnicalItem(i.description, Money(i.amount_fen, i.currency))
                                 for i in contract.non_technical_items])


# --------------------------------------------------------------------------- signing
def _side_of(actor: Actor, contract: Contract) -> cd.SigningSide:
    deal = contract.deal
    if actor.role != Role.member or actor.party_id not in (deal.seller_party_id, deal.buyer_party_id):
        if actor.can_read_all and actor.role is not None:
            raise PermissionDeniedError("Only a user of the seller or the buyer signs.", code="not_a_party")
        raise NotFoundError(f"No contract {contract.ref}.", code="contract_not_found")
    return cd.SigningSide.SELLER if actor.party_id == deal.seller_party_id else cd.SigningSide.BUYER


def sign_contract(session: Session, actor: Actor, ref: str, text_sha256: str, *, clock: Clock) -> Contract:
    """A user of the seller or the buyer signs the exact text whose SHA-256 it sends.

    The second signature puts the contract in force and tells the deal
    (``mark_in_force``), from which settlement's payment deadlines run. Refused:
    not a party (404), after the deadline (``signing_deadline_passed``), the side
    has signed (``already_signed``), another text (``contract_text_mismatch``).
    """
    contract = load_contract(session, ref, for_update=True)
    side = _side_of(actor, contract)
    deal = contract.deal
    now = clock.now()
    if contract.state in (cd.ContractState.DRAFTED, cd.ContractState.PARTLY_SIGNED) and now >= deal.sign_by:
        raise StateError("The signing deadline has passed.", code="signing_deadline_passed",
                         details={"sign_by": deal.sign_by.isoformat()})
    before = contract.state
    # The fingerprint of the text as stored, not as remembered: a stored text changed
    # behind the services' back cannot be signed.
    current = cd.contract_text_fingerprint(contract.text)
    if current != contract.text_sha256:
        raise ConflictError("The stored contract text does not match its fingerprint; ask the exchange.",
                            code="contract_text_corrupted")
    new_state = cd.apply_signature(before, signed_sides(contract), side, signed_fingerprint=text_sha256,
                                   current_fingerprint=current)
    contract.signatures.append(ContractSignature(side=side, party_id=actor.party_id, user_id=actor.user_id,
                                                 signed_at=now, text_sha256=current))
    contract.state = new_state
    if new_state is cd.ContractState.IN_FORCE:
        contract.in_force_at = now
    seal(session, contract)
    record_event(session, actor=actor, action="contract.signed", subject_type="contract", subject_ref=ref,
                 before={"state": before}, after={"state": new_state, "side": side, "text_sha256": current},
                 clock=clock)
    if new_state is cd.ContractState.IN_FORCE:
        deal_service.mark_in_force(session, actor, deal.ref, clock=clock)
    return contract


# --------------------------------------------------------------------------- ending
def _close(session: Session, actor: Actor, contract: Contract, to: cd.ContractState, reason: str, clock: Clock,
           action: str) -> Contract:
    before = contract.state
    cd.check_transition(before, to)
    contract.state = to
    contract.closed_at = clock.now()
    contract.close_reason = reason
    seal(session, contract)
    record_event(session, actor=actor, action=action, subject_type="contract", subject_ref=contract.ref,
                 before={"state": before}, after={"state": to}, reason=reason, clock=clock)
    return contract


def terminate_contract(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> Contract:
    """An operator records that a contract in force has ended early (rescinded)."""
    contract = load_contract(session, ref, for_update=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    return _close(session, actor, contract, cd.ContractState.TERMINATED, reason, clock, "contract.terminated")


def on_deal_defaulted(session: Session, deal: Deal, clock: Clock) -> None:
    """The buyer defaulted (did not sign or pay): a contract not yet in force is cancelled,
    one in force is terminated. Idempotent."""
    contract = contract_for_deal(session, deal.id)
    if contract is None or contract.state in (cd.ContractState.CANCELLED, cd.ContractState.TERMINATED):
        return
    reason = f"成交违约 The deal defaulted: {deal.close_reason or ''}".strip()
    target = (cd.ContractState.TERMINATED if contract.state is cd.ContractState.IN_FORCE
              else cd.ContractState.CANCELLED)
    _close(session, Actor.system("contracts"), contract, target, reason, clock, f"contract.{target.value}")


def apply_signing_deadline(session: Session, deal_ref: str, *, clock: Clock) -> str | None:
    """Record who failed to sign a deal whose deadline has passed: ``"buyer"``, ``"seller"``
    or None (nothing to do: signed, already handled, not yet due, or no contract).

    A buyer that has not signed defaults, whatever the seller did: it could have
    signed on its own. Only when the buyer signed and the seller did not is it the
    seller's default. Safe to run twice.
    """
    deal = deal_service.load_deal(session, deal_ref, for_update=True)
    if deal.state != DealState.STRUCK or clock.now() < deal.sign_by:
        return None
    contract = contract_for_deal(session, deal.id)
    if contract is None:
        return None  # nothing anyone could sign: leave it to an operator
    contract = load_contract(session, contract.ref, for_update=True)
    system = Actor.system("signing-deadline")
    if cd.SigningSide.BUYER not in signed_sides(contract):
        deal_service.record_default(session, system, deal.ref, BUYER_DID_NOT_SIGN, clock=clock)
        return "buyer"
    _close(session, system, contract, cd.ContractState.CANCELLED, SELLER_DID_NOT_SIGN, clock,
           "contract.seller_default")
    call_off_for_seller_default(session, system, deal.ref, SELLER_DID_NOT_SIGN, clock=clock)
    for hook in ON_SELLER_FAILED_TO_SIGN:
        hook(session, deal, clock)
    return "seller"


def overdue_deal_refs(session: Session, clock: Clock, limit: int = 200) -> list[str]:
    return deal_service.overdue_signature_refs(session, clock, limit)


# --------------------------------------------------------------------------- lists
@dataclass(frozen=True)
class ContractQuery:
    state: cd.ContractState | None = None
    contract_type: cd.ContractType | None = None
    subtype: cd.ContractSubtype | None = None
    party_ref: str | None = None
    deal_ref: str | None = None
    drafted_from: date | None = None  # Shanghai dates, inclusive
    drafted_to: date | None = None


def contracts_query(q: ContractQuery, *, party_id: int | None = None) -> sa.Select:
    """Contracts matching ``q``, newest first; only ``party_id``'s when given (members)."""
    stmt = sa.select(Contract).join(Deal, Deal.id == Contract.deal_id)
    if party_id is not None:
        stmt = stmt.where(sa.or_(Deal.seller_party_id == party_id, Deal.buyer_party_id == party_id))
    if q.state is not None:
        stmt = stmt.where(Contract.state == q.state)
    if q.contract_type is not None:
        stmt = stmt.where(Contract.contract_type == q.contract_type)
    if q.subtype is not None:
        stmt = stmt.where(Contract.subtype == q.subtype)
    if q.deal_ref:
        stmt = stmt.where(Deal.ref == q.deal_ref)
    if q.party_ref:
        pid = sa.select(Party.id).where(Party.ref == q.party_ref).scalar_subquery()
        stmt = stmt.where(sa.or_(Deal.seller_party_id == pid, Deal.buyer_party_id == pid))
    stmt = within(stmt, Contract.drafted_at, q.drafted_from, q.drafted_to)
    return stmt.order_by(Contract.drafted_at.desc(), Contract.id.desc())


def within(stmt: sa.Select, column: sa.ColumnElement, start: date | None, end: date | None) -> sa.Select:
    """Restrict ``column`` (an instant) to the Shanghai dates ``start``..``end``, both included."""
    if start is not None and end is not None and end < start:
        raise ValidationError("The end of the range is before its start.", code="invalid_range")
    if start is not None:
        stmt = stmt.where(column >= local_midnight_utc(start))
    if end is not None:
        stmt = stmt.where(column < end_of_local_day_utc(end))
    return stmt


def list_contracts(session: Session, q: ContractQuery, *, page: int, per_page: int,
                   party_id: int | None = None) -> tuple[list[Contract], dict[str, int]]:
    return paginate(session, contracts_query(q, party_id=party_id), page, per_page)

