"""Checks for free text typed by people: names, titles, reasons."""
from __future__ import annotations

import unicodedata

from exchange.errors import ValidationError

# Bidirectional controls (RLO, LRI, ...) can make a name read differently from
# what is stored; control characters break exports and logs. Neither belongs in a name.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def clean_text(value: object, field: str, *, max_length: int, min_length: int = 1, multiline: bool = False) -> str:
    """Normalise (NFC, trimmed) and refuse control and bidirectional characters."""
    if not isinstance(value, str):
        raise ValidationError("%(field)s must be text.", params={"field": field}, code="invalid_type", field=field)
    text = unicodedata.normalize("NFC", value).strip()
    if multiline:
        # Browsers submit a textarea's line breaks as CRLF; store plain newlines.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for ch in text:
        if multiline and ch in "\n\t":
            continue
        # Zl/Zp (U+2028/U+2029) are line breaks in disguise: as unwelcome in a name as a newline.
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            raise ValidationError(
                f"{field} contains a control or direction character (U+{ord(ch):04X}).",
                code="invalid_characters",
                field=field,
            )
    if len(text) < min_length:
        raise ValidationError(f"{field} is required.", code="required", field=field)
    if len(text) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters.", code="too_long", field=field)
    return text
