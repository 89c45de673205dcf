"""Turn domain values into plain JSON values, deterministically (audit, fingerprints)."""
from __future__ import annotations

import dataclasses
import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from exchange.money import Money


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # Floats have no place in records; keep their exact text if one slips in.
        return repr(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Money):
        return {"fen": value.fen, "currency": value.currency}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, (set, frozenset)) else items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    raise TypeError(f"cannot record {type(value).__name__} as JSON")


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
