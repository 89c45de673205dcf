"""Demo stage of the settlement package: the fee schedule and the credit instruments that stand
behind the demo buyers. Idempotent: what exists already is left alone."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from exchange.actors import Actor
from exchange.demo import DEMO_STAGES
from settlement.domain import InstrumentKind
from settlement.models import CreditInstrument
from settlement.service import create_instrument
from settlement.service.common import today
from settlement.service.fees import ensure_default_schedule

# (buyer e-mail, kind, issuer, issuer's reference, amount in fen, months valid)
DEMO_INSTRUMENTS = [
    ("buyer1@demo.example", InstrumentKind.GUARANTEE_LETTER, "中国银行上海市分行", "BOC-SH-LG-2026-0018",
     20_000_000, 12),
    ("buyer2@demo.example", InstrumentKind.IP_INSURANCE, "人保财险上海市分公司", "PICC-IPI-2026-0042",
     5_000_000, 12),
]


def seed_settlement(app, session, clock, users) -> None:  # type: ignore[no-untyped-def]
    ensure_default_schedule(session, clock=clock)
    actor = Actor.system("demo")
    for email, kind, issuer, reference, amount, months in DEMO_INSTRUMENTS:
        user = users.get(email)
        if user is None or session.scalar(sa.select(CreditInstrument.id).where(CreditInstrument.reference == reference)):
            continue
        create_instrument(session, actor, user.party.ref, {
            "kind": kind.value, "issuer": issuer, "reference": reference, "amount_fen": amount,
            "issued_on": today(clock), "expires_on": today(clock) + timedelta(days=30 * months),
            "note": "演示数据"}, clock=clock)


if seed_settlement not in DEMO_STAGES:
    DEMO_STAGES.append(seed_settlement)
