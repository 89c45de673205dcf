"""Fee schedules as versioned configuration, and the fee record of a deal.

A deal is charged under the schedule in force on the day it was struck and
keeps that version (``deal_settlements.fee_schedule_version``) whatever
schedules are added later.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock, local_date
from exchange.errors import ConflictError, NotFoundError, ValidationError
from exchange.money import Money
from settlement.domain import (
    DEFAULT_FEE_SCHEDULE,
    DealMethod as FeeMethod,
    FeeQuote,
    FeeSchedule,
    FeeSide,
    quote_fee,
    schedule_from_dict,
    schedule_in_force,
    schedule_to_dict,
)
from settlement.models import FeeScheduleVersion
from settlement.service.common import log_event, today

_CACHE = "settlement.fee_schedules"


def ensure_default_schedule(session: Session, *, clock: Clock) -> None:
    """Seed DOMAIN.md's example schedule the first time any schedule is needed."""
    if session.scalar(sa.select(FeeScheduleVersion.id).limit(1)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(FeeScheduleVersion(version=DEFAULT_FEE_SCHEDULE.version,
                                           effective_from=DEFAULT_FEE_SCHEDULE.effective_from,
                                           data=schedule_to_dict(DEFAULT_FEE_SCHEDULE), created_at=clock.now(),
                                           created_by="system:fee-seed"))
    except sa.exc.IntegrityError:
        pass  # seeded by a concurrent first use


def schedules(session: Session, *, clock: Clock) -> list[tuple[FeeScheduleVersion, FeeSchedule]]:
    """Every stored version with its parsed schedule, oldest first (cached per unit of work)."""
    cached = session.info.get(_CACHE)
    if cached is not None:
        return cached
    ensure_default_schedule(session, clock=clock)
    rows = list(session.scalars(sa.select(FeeScheduleVersion).order_by(FeeScheduleVersion.effective_from,
                                                                        FeeScheduleVersion.id)))
    out = [(row, schedule_from_dict(row.data)) for row in rows]
    session.info[_CACHE] = out
    return out


def schedule_on(session: Session, on: date, *, clock: Clock) -> FeeSchedule:
    """The schedule in force on ``on`` (``no_fee_schedule`` when none has taken effect)."""
    return schedule_in_force([s for _, s in schedules(session, clock=clock)], on)


def schedule_version(session: Session, version: str, *, clock: Clock) -> FeeSchedule:
    """One stored version, parsed (``fee_schedule_not_found``)."""
    for row, sched in schedules(session, clock=clock):
        if row.version == version:
            return sched
    raise NotFoundError(f"No fee schedule version {version}.", code="fee_schedule_not_found")


def add_schedule(session: Session, actor: Actor, data: dict[str, Any], *, clock: Clock) -> FeeScheduleVersion:
    """Add a new version. It may not take effect in the past: deals already struck keep theirs,
    and a backdated version would silently change what the next deal on a past date pays."""
    sched = schedule_from_dict(data)
    if sched.effective_from < today(clock):
        raise ValidationError("A new fee schedule takes effect today or later.", code="fee_schedule_backdated",
                              field="effective_from")
    ensure_default_schedule(session, clock=clock)
    if session.scalar(sa.select(FeeScheduleVersion.id).where(FeeScheduleVersion.version == sched.version)):
        raise ConflictError("Fee schedule version %(version)s exists; versions are never changed.",
                            params={"version": sched.version}, code="fee_schedule_exists", field="version")
    row = FeeScheduleVersion(version=sched.version, effective_from=sched.effective_from,
                             data=schedule_to_dict(sched), created_at=clock.now(), created_by=actor.label)
    session.add(row)
    session.flush()
    session.info.pop(_CACHE, None)
    log_event(session, actor, "fee_schedule.added", "fee_schedule", sched.version, clock, after=row.data)
    return row


def fee_method_for(deal_method: str) -> FeeMethod:
    """Auctions pay the bidding bands; negotiated transfers and open licences the negotiated ones."""
    return FeeMethod.BIDDING if str(deal_method) == "auction" else FeeMethod.NEGOTIATED


@dataclass(frozen=True)
class FeeRecord:
    version: str
    method: FeeMethod
    buyer: FeeQuote | None
    seller: FeeQuote | None
    buyer_fee_fen: int
    seller_fee_fen: int


def fees_for_price(session: Session, price: Money, deal_method: str, on: date, *, clock: Clock) -> FeeRecord:
    """Both sides' fees on ``price`` under the schedule in force on ``on``.

    A deal without a price (a royalty-only open licence) settles nothing through the
    exchange and carries no fee. The seller's fee is taken from its payout, so it
    never exceeds the price (the minimum fee can, on a very small deal).
    """
    sched = schedule_on(session, on, clock=clock)
    method = fee_method_for(deal_method)
    if price.fen == 0:
        return FeeRecord(sched.version, method, None, None, 0, 0)
    buyer = quote_fee(sched, price, FeeSide.BUYER, method)
    seller = quote_fee(sched, price, FeeSide.SELLER, method)
    return FeeRecord(sched.version, method, buyer, seller, buyer.fee.fen, min(seller.fee.fen, price.fen))


def quote(session: Session, price_fen: int, deal_method: str, *, on: date | None = None, clock: Clock) -> dict:
    """A public quote of both fees, with the per-band breakdown."""
    rec = fees_for_price(session, Money(price_fen), deal_method, on or local_date(clock.now()), clock=clock)

    def lines(q: FeeQuote | None) -> list[dict]:
        if q is None:
            return []
        return [{"lower_fen": ln.lower_fen, "upper_fen": ln.upper_fen, "rate": str(ln.rate),
                 "base_fen": ln.base.fen, "fee_fen": ln.fee.fen} for ln in q.lines]

    return {"schedule_version": rec.version, "method": rec.method.value, "price_fen": price_fen,
            "buyer_fee_fen": rec.buyer_fee_fen, "seller_fee_fen": rec.seller_fee_fen,
            "buyer_minimum_applied": bool(rec.buyer and rec.buyer.minimum_applied),
            "seller_minimum_applied": bool(rec.seller and rec.seller.minimum_applied),
            "buyer_lines": lines(rec.buyer), "seller_lines": lines(rec.seller)}
