"""Identity rules for parties: credit codes, resident IDs, region codes. Pure."""
from __future__ import annotations

from datetime import date

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from exchange.errors import ValidationError


def validate_credit_code(text: str, field: str = "credit_code") -> str:
    """A unified social credit code (GB 32100) in normal form, or a ``invalid_credit_code`` error."""
    try:
        return uscc.validate(text or "")
    except StdnumError as exc:
        raise ValidationError(
            f"Not a valid unified social credit code: {exc}", code="invalid_credit_code", field=field
        ) from None


def validate_id_number(text: str, field: str = "id_number", today: date | None = None) -> str:
    """An 18-character resident ID number (mod 11-2 check) in normal form, or ``invalid_id_number``."""
    try:
        value = ric.validate(text or "")
    except StdnumError as exc:
        raise ValidationError(f"Not a valid resident ID number: {exc}", code="invalid_id_number", field=field) from None
    if len(value) != 18:
        raise ValidationError("Resident ID numbers have 18 characters.", code="invalid_id_number", field=field)
    if today is not None and ric.get_birth_date(value) > today:
        raise ValidationError("The birth date in this ID number is in the future.", code="invalid_id_number", field=field)
    return value


def region_of_credit_code(code: str) -> str:
    """Characters 3-8 of a credit code are the administrative division of the registering authority."""
    return code[2:8]


def region_of_id_number(number: str) -> str:
    return number[:6]


def mask_id_number(number: str) -> str:
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def complete_credit_code(first17: str) -> str:
    """Append the check character to 17 characters of a credit code (demo data and tests)."""
    return first17 + uscc.calc_check_digit(first17)


def complete_id_number(first17: str) -> str:
    """Append the check digit to the first 17 digits of a resident ID number (demo data and tests)."""
    return first17 + ric.calc_check_digit(first17 + "0")
