"""Credit enhancement (增信): parties' credit records and grades, and the credit
instruments (guarantee letters, IP insurance, third-party guarantees) that stand
behind them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError, ValidationError
from exchange.models import Party
from exchange.money import Money
from exchange.refs import next_reference
from exchange.text import clean_text
from settlement.domain import (
    DEFAULT_BARRED_GRADES,
    DEFAULT_DEPOSIT_MULTIPLIERS,
    DEFAULT_MAX_DEPOSIT_RATIO,
    CreditEvent,
    CreditEventKind,
    CreditGrade,
    CreditScore,
    HoldState,
    Instrument,
    InstrumentKind,
    credit_score,
    grade_bars_registration,
    instrument_valid_on,
)
from settlement.models import CreditEventRecord, CreditInstrument, DepositHold, InstrumentState
from settlement.service.common import (
    check_currency,
    check_fen,
    check_sha256,
    load_party,
    lock,
    log_event,
    serialise_writes,
    today,
)


# -- the credit record ---------------------------------------------------------------------------
def record_credit_event(session: Session, party_id: int, kind: CreditEventKind, on: date, *, source_key: str,
                        recorded_by: str, clock: Clock, deal_id: int | None = None,
                        note: str = "") -> CreditEventRecord:
    """Add one event to a party's record, once per ``source_key`` (a replay adds nothing)."""
    found = session.scalar(sa.select(CreditEventRecord).where(CreditEventRecord.source_key == source_key))
    if found is not None:
        return found
    ev = CreditEventRecord(party_id=party_id, kind=kind, occurred_on=on, source_key=source_key, deal_id=deal_id,
                           note=note, recorded_by=recorded_by, created_at=clock.now())
    session.add(ev)
    session.flush()
    return ev


def add_manual_event(session: Session, actor: Actor, party_ref: str, kind: CreditEventKind, note: str, *,
                     clock: Clock, on: date | None = None) -> CreditEventRecord:
    """An operator records what the exchange learned outside the system (usually a dispute)."""
    serialise_writes(session)
    party = load_party(session, party_ref)
    note = clean_text(note, "note", max_length=2000, multiline=True)
    on = on or today(clock)
    if on > today(clock):
        raise ValidationError("A credit event cannot be dated in the future.", code="invalid_credit_event",
                              field="occurred_on")
    n = session.scalar(sa.select(sa.func.count()).select_from(CreditEventRecord)
                       .where(CreditEventRecord.party_id == party.id)) or 0
    ev = record_credit_event(session, party.id, kind, on, source_key=f"manual:{party.ref}:{n + 1}",
                             recorded_by=actor.label, clock=clock, note=note)
    log_event(session, actor, "credit.event_recorded", "party", party.ref, clock,
              after={"kind": kind, "occurred_on": on}, reason=note)
    return ev


@dataclass(frozen=True)
class CreditRecord:
    party: Party
    score: CreditScore
    grade: CreditGrade
    barred: bool
    deposit_multiplier: Decimal | None
    events: list[CreditEventRecord]

    def as_dict(self, *, with_reasons: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"party_ref": self.party.ref, "party_name": self.party.name,
                               "score": self.score.score, "grade": self.grade.value, "barred": self.barred,
                               "deposit_multiplier": (str(self.deposit_multiplier)
                                                      if self.deposit_multiplier is not None else None)}
        if with_reasons:
            out["reasons"] = [{"kind": r.kind.value if r.kind else None, "on": r.on, "points": str(r.points),
                               "text": r.text} for r in self.score.reasons]
            out["events"] = [{"kind": e.kind.value, "occurred_on": e.occurred_on, "note": e.note,
                              "recorded_by": e.recorded_by} for e in self.events]
        return out


def credit_record(session: Session, party: Party, *, clock: Clock) -> CreditRecord:
    """A party's score, grade and what the grade changes, with the reasons line by line."""
    events = list(session.scalars(sa.select(CreditEventRecord).where(CreditEventRecord.party_id == party.id)
                                  .order_by(CreditEventRecord.occurred_on, CreditEventRecord.id)))
    on = today(clock)
    score = credit_score([CreditEvent(e.kind, min(e.occurred_on, on), e.note) for e in events], on)
    grade = score.grade
    barred = grade_bars_registration(grade, DEFAULT_BARRED_GRADES)
    return CreditRecord(party, score, grade, barred, DEFAULT_DEPOSIT_MULTIPLIERS.get(grade), events)


def grade_adjusted_deposit(listing_deposit_fen: int, record: CreditRecord, price_fen: int | None) -> int:
    """The listing's deposit scaled by the grade's multiplier, never above 30 % of the price when known."""
    if record.deposit_multiplier is None:
        return listing_deposit_fen
    fen = int((Decimal(listing_deposit_fen) * record.deposit_multiplier).quantize(Decimal(1), ROUND_HALF_UP))
    if price_fen is not None:
        cap = int((Decimal(price_fen) * DEFAULT_MAX_DEPOSIT_RATIO).quantize(Decimal(1), rounding=ROUND_FLOOR))
        fen = min(fen, max(cap, 0))
    return fen


# -- instruments -----------------------------------------------------------------------------------
def load_instrument(session: Session, ref: str, *, for_update: bool = False) -> CreditInstrument:
    """An instrument by its reference (locked with ``for_update``), or ``instrument_not_found``."""
    stmt = sa.select(CreditInstrument).where(CreditInstrument.ref == ref)
    inst = session.scalar(lock(stmt) if for_update else stmt)
    if inst is None:
        raise NotFoundError(f"No credit instrument {ref}.", code="instrument_not_found")
    return inst


def visible_instrument(actor: Actor, inst: CreditInstrument) -> CreditInstrument:
    """The instrument for the exchange and its party; anyone else gets 404."""
    if actor.can_read_all or actor.party_id == inst.party_id:
        return inst
    raise NotFoundError(f"No credit instrument {inst.ref}.", code="instrument_not_found")


def reserved_fen(session: Session, inst: CreditInstrument) -> int:
    """What unresolved deposit holds currently rely on this instrument for."""
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(DepositHold.cover_fen), 0)).where(
        DepositHold.instrument_id == inst.id,
        DepositHold.state.in_([HoldState.PENDING.value, HoldState.HELD.value]))) or 0)


def as_domain(inst: CreditInstrument) -> Instrument:
    """The stored instrument as the pure rules' value object."""
    return Instrument(kind=inst.kind, amount=Money(inst.amount_fen, inst.currency), issuer=inst.issuer,
                      expires_on=inst.expires_on, issued_on=inst.issued_on, reference=inst.ref)


def best_cover(session: Session, party_id: int, required_fen: int, currency: str, on: date,
               until: date | None) -> tuple[CreditInstrument | None, int]:
    """The party's valid instrument with the most unreserved amount, and what it covers of ``required_fen``."""
    if required_fen <= 0:
        return None, 0
    best: tuple[CreditInstrument | None, int] = (None, 0)
    for inst in session.scalars(sa.select(CreditInstrument).where(
            CreditInstrument.party_id == party_id, CreditInstrument.state == InstrumentState.ACTIVE,
            CreditInstrument.currency == currency).order_by(CreditInstrument.id)):
        if not instrument_valid_on(as_domain(inst), on, until=until):
            continue
        free = inst.amount_fen - reserved_fen(session, inst)
        cover = max(0, min(free, required_fen))
        if cover > best[1]:
            best = (inst, cover)
    return best


def _instrument_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "kind" in data or not partial:
        try:
            out["kind"] = InstrumentKind(data.get("kind"))
        except ValueError:
            raise ValidationError("Unknown instrument kind.", code="invalid_instrument", field="kind") from None
    if "issuer" in data or not partial:
        out["issuer"] = clean_text(data.get("issuer"), "issuer", max_length=200)
    if "reference" in data:
        out["reference"] = clean_text(data.get("reference") or "", "reference", max_length=60, min_length=0)
    if "amount_fen" in data or not partial:
        out["amount_fen"] = check_fen(data.get("amount_fen"), "amount_fen")
    if "currency" in data:
        out["currency"] = check_currency(data["currency"])
    for key in ("issued_on", "expires_on"):
        if key in data or (key == "expires_on" and not partial):
            value = data.get(key)
            if value is not None and not isinstance(value, date):
                raise ValidationError("%(key)s is a date.", params={"key": key}, code="invalid_date", field=key)
            if key == "expires_on" and value is None:
                raise ValidationError("An instrument has an expiry date.", code="invalid_instrument", field=key)
            out[key] = value
    if "document_sha256" in data:
        out["document_sha256"] = check_sha256(data.get("document_sha256"))
    if "note" in data:
        out["note"] = clean_text(data.get("note") or "", "note", max_length=2000, min_length=0, multiline=True)
    return out


def create_instrument(session: Session, actor: Actor, party_ref: str, data: dict[str, Any], *,
                      clock: Clock) -> CreditInstrument:
    """Record an instrument standing behind a party (the operator has checked the original)."""
    serialise_writes(session)
    party = load_party(session, party_ref)
    fields = _instrument_fields(data, partial=False)
    fields.setdefault("currency", "CNY")
    if fields.get("issued_on") and fields["issued_on"] > fields["expires_on"]:
        raise ValidationError("An instrument cannot expire before it is issued.", code="invalid_instrument",
                              field="expires_on")
    if fields["expires_on"] < today(clock):
        raise ValidationError("This instrument has already expired.", code="instrument_expired",
                              field="expires_on")
    now = clock.now()
    inst = CreditInstrument(ref=next_reference(session, "CI", now.year), party_id=party.id, created_at=now,
                            created_by=actor.label, state=InstrumentState.ACTIVE, **fields)
    session.add(inst)
    session.flush()
    log_event(session, actor, "instrument.created", "credit_instrument", inst.ref, clock,
              after={"party": party.ref, **fields})
    return inst


def update_instrument(session: Session, actor: Actor, ref: str, data: dict[str, Any], *,
                      clock: Clock) -> CreditInstrument:
    """Correct or extend an instrument. Its amount never drops below what deposits rely on."""
    serialise_writes(session)
    inst = load_instrument(session, ref, for_update=True)
    if inst.state != InstrumentState.ACTIVE:
        raise ConflictError(f"This instrument is {inst.state.value}.", code="instrument_not_active")
    fields = _instrument_fields(data, partial=True)
    if "currency" in fields and fields["currency"] != inst.currency and reserved_fen(session, inst):
        raise ConflictError("Deposits rely on this instrument; its currency cannot change.",
                            code="instrument_in_use")
    reserved = reserved_fen(session, inst)
    if fields.get("amount_fen", inst.amount_fen) < reserved:
        raise ConflictError("Deposits rely on more than this amount.", code="instrument_in_use",
                            details={"reserved_fen": reserved})
    issued, expires = fields.get("issued_on", inst.issued_on), fields.get("expires_on", inst.expires_on)
    if issued is not None and issued > expires:
        raise ValidationError("An instrument cannot expire before it is issued.", code="invalid_instrument",
                              field="expires_on")
    before = {k: getattr(inst, k) for k in fields}
    for k, v in fields.items():
        setattr(inst, k, v)
    session.flush()
    log_event(session, actor, "instrument.updated", "credit_instrument", inst.ref, clock, before=before,
              after=fields)
    return inst


def revoke_instrument(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> CreditInstrument:
    """Withdraw an instrument (returned, cancelled). Refused while a deposit relies on it."""
    serialise_writes(session)
    inst = load_instrument(session, ref, for_update=True)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    if inst.state != InstrumentState.ACTIVE:
        raise ConflictError(f"This instrument is {inst.state.value}.", code="instrument_not_active")
    reserved = reserved_fen(session, inst)
    if reserved:
        raise ConflictError("Deposits rely on this instrument; resolve them first.", code="instrument_in_use",
                            details={"reserved_fen": reserved})
    inst.state = InstrumentState.REVOKED
    inst.revoked_at = clock.now()
    session.flush()
    log_event(session, actor, "instrument.revoked", "credit_instrument", inst.ref, clock,
              before={"state": "active"}, after={"state": "revoked"}, reason=reason)
    return inst


def instruments_of(session: Session, actor: Actor, party_ref: str | None = None) -> list[CreditInstrument]:
    """Instruments the actor may see, optionally of one party."""
    stmt = sa.select(CreditInstrument).order_by(CreditInstrument.id.desc())
    if not actor.can_read_all:
        stmt = stmt.where(CreditInstrument.party_id == actor.party_id)
    if party_ref:
        stmt = stmt.where(CreditInstrument.party_id == load_party(session, party_ref).id)
    return list(session.scalars(stmt.limit(500)))


def instrument_view(session: Session, inst: CreditInstrument, *, clock: Clock) -> dict[str, Any]:
    """The instrument as the API shows it, with what deposits reserve of it."""
    reserved = reserved_fen(session, inst)
    return {"ref": inst.ref, "party_ref": inst.party.ref, "party_name": inst.party.name, "kind": inst.kind.value,
            "issuer": inst.issuer, "reference": inst.reference, "amount_fen": inst.amount_fen,
            "currency": inst.currency, "issued_on": inst.issued_on, "expires_on": inst.expires_on,
            "document_sha256": inst.document_sha256, "state": inst.state.value, "reserved_fen": reserved,
            "available_fen": max(0, inst.amount_fen - reserved) if inst.state == InstrumentState.ACTIVE else 0,
            "valid_today": inst.state == InstrumentState.ACTIVE and instrument_valid_on(as_domain(inst), today(clock)),
            "claim_fen": inst.claim_fen, "claim_paid_fen": inst.claim_paid_fen, "note": inst.note,
            "created_at": inst.created_at, "revoked_at": inst.revoked_at}
