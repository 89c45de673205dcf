"""Money as an integer number of fen (分) and an ISO 4217 currency.

Never a float. Rates (fee percentages, royalty shares, deposit ratios) are
``Decimal`` and every multiplication by a rate names its rounding.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from exchange.errors import CurrencyMismatchError, ValidationError

DEFAULT_CURRENCY = "CNY"
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}
_SYMBOL_TO_CURRENCY = {v: k for k, v in _SYMBOLS.items()} | {"￥": "CNY", "RMB": "CNY"}
# Up to 15 integer digits keeps every amount well inside a signed 64-bit fen column.
_AMOUNT_RE = re.compile(r"^(?P<sign>-)?(?P<int>\d{1,3}(?:,\d{3})+|\d{1,15})(?:\.(?P<frac>\d{1,2}))?$")
MAX_FEN = 10**17


@dataclass(frozen=True, order=False, slots=True)
class Money:
    """An amount in fen with its currency. Immutable; arithmetic refuses mixed currencies."""

    fen: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise ValidationError("Money amounts are whole fen (integers).", code="invalid_amount")
        if abs(self.fen) >= MAX_FEN:
            raise ValidationError("Amount is too large.", code="amount_too_large")
        if not (isinstance(self.currency, str) and re.fullmatch(r"[A-Z]{3}", self.currency)):
            raise ValidationError("Unknown currency %(currency)r.", params={"currency": self.currency},
                                  code="invalid_currency")

    # -- construction -------------------------------------------------------
    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(0, currency)

    @classmethod
    def yuan(cls, amount: int | str | Decimal, currency: str = DEFAULT_CURRENCY) -> Money:
        """Build from a yuan amount given exactly (int, str or Decimal, at most 2 decimals)."""
        if isinstance(amount, float):
            raise TypeError("amounts are never floats; pass a string, an int or a Decimal")
        try:
            d = Decimal(str(amount))
        except InvalidOperation:
            raise ValidationError(f"Not an amount: {amount!r}", code="invalid_amount") from None
        if not d.is_finite():
            raise ValidationError(f"Not an amount: {amount!r}", code="invalid_amount")
        fen = d * 100
        if fen != fen.to_integral_value():
            raise ValidationError("Amounts have at most two decimals (fen).", code="invalid_amount")
        return cls(int(fen), currency)

    @classmethod
    def parse(cls, text: str, currency: str | None = None) -> Money:
        """Parse ``¥1,234,567.89``, ``1234567.89``, ``CNY 12.5`` and the like."""
        if not isinstance(text, str):
            raise ValidationError("Amount must be text.", code="invalid_amount")
        s = text.strip().replace(" ", "").replace("\u00a0", "")
        # format() writes negatives as "-¥12.00": a sign may come before the symbol.
        lead = ""
        if s[:1] in ("-", "\u2212"):
            lead, s = "-", s[1:]
        found = None
        for prefix in sorted(_SYMBOL_TO_CURRENCY, key=len, reverse=True):
            if s.startswith(prefix):
                found, s = _SYMBOL_TO_CURRENCY[prefix], s[len(prefix):]
                break
        else:
            m = re.match(r"^([A-Z]{3})", s)
            if m:
                found, s = m.group(1), s[3:]
        if s[:1] == "\u2212":
            s = "-" + s[1:]
        if lead:
            if s.startswith("-"):
                raise ValidationError(f"Not an amount: {text!r}", code="invalid_amount")
            s = "-" + s
        m = _AMOUNT_RE.match(s)
        if not m:
            raise ValidationError(f"Not an amount: {text!r}", code="invalid_amount")
        if found and currency and found != currency:
            raise CurrencyMismatchError("Amount is in %(found)s, expected %(expected)s.",
                                        params={"found": found, "expected": currency})
        whole = int(m.group("int").replace(",", ""))
        frac = int((m.group("frac") or "0").ljust(2, "0"))
        fen = whole * 100 + frac
        return cls(-fen if m.group("sign") else fen, found or currency or DEFAULT_CURRENCY)

    # -- presentation -------------------------------------------------------
    @property
    def symbol(self) -> str:
        return _SYMBOLS.get(self.currency, self.currency + " ")

    def format(self, *, symbol: bool = True) -> str:
        """``¥1,234,567.89``; negative amounts as ``-¥12.00``."""
        sign = "-" if self.fen < 0 else ""
        whole, frac = divmod(abs(self.fen), 100)
        body = f"{whole:,}.{frac:02d}"
        return f"{sign}{self.symbol if symbol else ''}{body}"

    def to_decimal(self) -> Decimal:
        """The amount in yuan as an exact Decimal (for display and export only)."""
        return Decimal(self.fen) / 100

    def __str__(self) -> str:
        return self.format()

    # -- arithmetic -----------------------------------------------------------
    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError("Cannot combine %(a)s and %(b)s.", params={"a": self.currency, "b": other.currency})
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + self._check(other).fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - self._check(other).fen, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.fen, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("multiply Money by an int; use apply_rate() for rates")
        return Money(self.fen * factor, self.currency)

    __rmul__ = __mul__

    def apply_rate(self, rate: Decimal, rounding: str = ROUND_HALF_UP) -> Money:
        """Multiply by a Decimal rate and round to whole fen with the given rounding."""
        if not isinstance(rate, Decimal):
            raise TypeError("rates are Decimal")
        return Money(int((Decimal(self.fen) * rate).quantize(Decimal(1), rounding=rounding)), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.fen < self._check(other).fen

    def __le__(self, other: Money) -> bool:
        return self.fen <= self._check(other).fen

    def __gt__(self, other: Money) -> bool:
        return self.fen > self._check(other).fen

    def __ge__(self, other: Money) -> bool:
        return self.fen >= self._check(other).fen

    def __bool__(self) -> bool:
        return self.fen != 0

    @property
    def is_positive(self) -> bool:
        return self.fen > 0


def rate(value: str | int | Decimal, places: int = 6) -> Decimal:
    """A rate as Decimal quantised to ``places`` decimals (``rate('0.30')``). Refuses floats."""
    if isinstance(value, float):
        raise TypeError("rates are never floats; pass a string")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("Not a rate: %(value)r", params={"value": value}, code="invalid_rate") from None
    if not d.is_finite():
        raise ValidationError("Not a rate: %(value)r", params={"value": value}, code="invalid_rate")
    try:
        return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too many digits for the decimal context: no real rate is that large
        raise ValidationError("Not a rate: %(value)r", params={"value": value}, code="invalid_rate") from None
