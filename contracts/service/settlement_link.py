"""The one place the contracts package learns about money: the settlement status of a deal.

Contract: ``deal_money_status(session, deal)`` returns a dict with four booleans,
``price_received`` (the price is in the exchange's settlement account),
``buyer_fee_paid``, ``seller_fee_paid`` and ``settled`` (paid out, all done).

It asks ``settlement.service.deal_status(session, deal)``, which may answer
with such a dict or an object with those attributes. Until the settlement
package provides it, every value is False, so no certificate can be issued on
money that nobody has confirmed. Kept in this one small module so the two
packages can be reconciled here.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

MONEY_KEYS = ("price_received", "buyer_fee_paid", "seller_fee_paid", "settled")


def _settlement_deal_status() -> Any:
    try:
        from settlement.service import deal_status
    except ImportError:
        return None
    return deal_status


def deal_money_status(session: Session, deal: Any) -> dict[str, bool]:
    """The settlement facts the certificate waits for (all False when settlement cannot say)."""
    status_of = _settlement_deal_status()
    if status_of is None:
        return {key: False for key in MONEY_KEYS}
    status = status_of(session, deal)
    if isinstance(status, dict):
        return {key: bool(status.get(key, False)) for key in MONEY_KEYS}
    return {key: bool(getattr(status, key, False)) for key in MONEY_KEYS}
