"""Credit instruments that stand behind a party: bank guarantee letters (保函),
IP insurance and third-party guarantees.

An instrument covers an obligation (typically a deposit) up to its amount on
any day from its issue date to its expiry date, both inclusive; on any other
day it covers nothing. What the instruments do not cover must be paid in cash.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import Money

__all__ = ["Instrument", "InstrumentKind", "cash_needed", "instrument_covers", "instrument_valid_on"]


class InstrumentKind(str, Enum):
    GUARANTEE_LETTER = "guarantee_letter"
    IP_INSURANCE = "ip_insurance"
    THIRD_PARTY_GUARANTEE = "third_party_guarantee"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A guarantee or policy: who issued it, for how much, until when (inclusive)."""

    kind: InstrumentKind
    amount: Money
    issuer: str
    expires_on: date
    issued_on: date | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", InstrumentKind(self.kind))
        if not isinstance(self.amount, Money) or self.amount.fen <= 0:
            raise ValidationError("An instrument's amount must be more than zero.", code="invalid_amount",
                                  field="amount")
        if not isinstance(self.issuer, str) or not self.issuer.strip():
            raise ValidationError("An instrument names its issuer.", code="invalid_instrument", field="issuer")
        if self.issued_on is not None and self.issued_on > self.expires_on:
            raise ValidationError("An instrument cannot expire before it is issued.", code="invalid_instrument",
                                  field="expires_on")


def instrument_valid_on(instrument: Instrument, on: date, *, until: date | None = None) -> bool:
    """True when the instrument is in force on ``on`` and, if given, still on ``until``.

    ``until`` is the last day the obligation needs cover (e.g. the day deposits are
    settled): a guarantee that lapses before then is no cover at all.
    """
    if instrument.issued_on is not None and on < instrument.issued_on:
        return False
    return max(on, until or on) <= instrument.expires_on


def instrument_covers(instrument: Instrument, required: Money, on: date, *, until: date | None = None) -> Money:
    """How much of ``required`` the instrument covers on ``on``: up to its amount while valid, else zero."""
    if instrument.amount.currency != required.currency:
        raise CurrencyMismatchError(
            "The instrument is in %(instrument)s, the requirement in %(required)s.",
            params={"instrument": instrument.amount.currency, "required": required.currency},
        )
    if required.fen <= 0 or not instrument_valid_on(instrument, on, until=until):
        return Money.zero(required.currency)
    return min(instrument.amount, required)


def cash_needed(required: Money, instruments: Iterable[Instrument], on: date, *, until: date | None = None) -> Money:
    """What remains to be paid in cash after the valid instruments cover what they can (never negative)."""
    remaining = required
    for instrument in instruments:
        if remaining.fen <= 0:
            break
        remaining = remaining - instrument_covers(instrument, remaining, on, until=until)
    return max(remaining, Money.zero(required.currency))
