"""Reference numbers for people to read (``L2026-000123``), separate from database ids.

A counter row per prefix and year is incremented under a row lock, so two
transactions never hand out the same number; the unique keys on the ref
columns are the second line of defence.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.models import ReferenceCounter

PREFIXES = {
    "P": "party",
    "U": "user",
    "A": "asset",
    "L": "listing",
    "R": "buyer registration",
    "AU": "auction",
    "D": "deal",
    "C": "contract",
    "T": "certificate",
    "PAY": "payment",
    "OL": "open licence",
    "V": "valuation",
    "N": "negotiation",
    "TR": "technology contract registration",
    "JS": "registration number serial",
    "J": "journal entry", "RF": "refund or payout", "CI": "credit instrument", "PL": "pledge",
}


def next_reference(session: Session, prefix: str, year: int, width: int = 6) -> str:
    """The next reference for ``prefix`` in ``year``: ``{prefix}{year}-{n:0width}``."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown reference prefix {prefix!r}")
    stmt = (
        sa.update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    )
    value = session.execute(stmt).scalar()
    if value is None:
        # First use this year. A concurrent first use makes one insert fail on the
        # primary key; the savepoint lets us retry the update instead.
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(prefix=prefix, year=year, last_value=1))
            value = 1
        except sa.exc.IntegrityError:
            value = session.execute(stmt).scalar()
    return f"{prefix}{year}-{value:0{width}d}"
