"""Helpers shared by the settlement use cases: settings, dates, locks, loading parties."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import _AUDIT_LOCK_KEY, record_event
from exchange.clock import Clock, local_date
from exchange.db import is_postgres
from exchange.errors import NotFoundError, ValidationError
from exchange.jsonable import jsonable
from exchange.models import Party
from settlement.models import SettlementSetting

# Every default the issue calls a setting; operators override them (settlement_settings table).
DEFAULT_SETTINGS: dict[str, Any] = {
    # Share of a forfeited deposit that compensates the seller; the exchange keeps the rest.
    "forfeiture_seller_share": "0.80",
    # Lump sum: due this many working days after the contract takes effect.
    "lump_sum_working_days": 5,
    # Instalments: at least this share down, everything due within this many months.
    "min_down_ratio": "0.30",
    "max_instalment_months": 12,
    # Losers' deposits are released within this many working days after bidding closes.
    "release_working_days": 3,
    # An amount overdue this many working days after its due date starts the default path.
    "default_after_overdue_working_days": 0,
}


def _ratio(key: str, value: Any) -> str:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("%(key)s is a fraction between 0 and 1.", params={"key": key}, code="invalid_setting",
                              field=key) from None
    if isinstance(value, float) or not d.is_finite() or not 0 <= d <= 1:
        raise ValidationError("%(key)s is a fraction between 0 and 1 (as text).", params={"key": key},
                              code="invalid_setting", field=key)
    return str(d)


def _days(lo: int, hi: int):  # type: ignore[no-untyped-def]
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValidationError("%(key)s is a whole number from %(lo)d to %(hi)d.",
                                  params={"key": key, "lo": lo, "hi": hi}, code="invalid_setting", field=key)
        return value
    return check


_CHECKS = {
    "forfeiture_seller_share": _ratio,
    "lump_sum_working_days": _days(1, 60),
    "min_down_ratio": _ratio,
    "max_instalment_months": _days(1, 60),
    "release_working_days": _days(0, 30),
    "default_after_overdue_working_days": _days(0, 60),
}
_SETTINGS_CACHE = "settlement.settings"


def get_settings(session: Session) -> dict[str, Any]:
    """The settings in force: defaults overridden by what operators stored (read once per unit of work)."""
    cached = session.info.get(_SETTINGS_CACHE)
    if cached is not None:
        return cached
    values = dict(DEFAULT_SETTINGS)
    for row in session.scalars(sa.select(SettlementSetting)):
        if row.key in values:
            values[row.key] = row.value
    session.info[_SETTINGS_CACHE] = values
    return values


def setting_decimal(session: Session, key: str) -> Decimal:
    """A rate setting as a Decimal."""
    return Decimal(str(get_settings(session)[key]))


def update_settings(session: Session, actor: Actor, changes: dict[str, Any], *, clock: Clock) -> dict[str, Any]:
    """Store operators' overrides; every value is checked, nothing is stored if one is wrong."""
    unknown = sorted(set(changes) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValidationError("Unknown settings: %(keys)s.", params={"keys": ", ".join(unknown)},
                              code="unknown_setting", details={"unknown": unknown})
    checked = {k: _CHECKS[k](k, v) for k, v in changes.items()}
    if "min_down_ratio" in checked and Decimal(checked["min_down_ratio"]) >= 1:
        raise ValidationError("A down payment of everything is a lump sum.", code="invalid_setting",
                              field="min_down_ratio")
    before = get_settings(session)
    for key, value in checked.items():
        row = session.get(SettlementSetting, key)
        if row is None:
            session.add(SettlementSetting(key=key, value=value, updated_at=clock.now(), updated_by=actor.label))
        else:
            row.value, row.updated_at, row.updated_by = value, clock.now(), actor.label
    session.flush()
    session.info.pop(_SETTINGS_CACHE, None)
    record_event(session, actor=actor, action="settlement.settings_changed", subject_type="settings",
                 subject_ref="settlement", before={k: before[k] for k in checked}, after=checked, clock=clock)
    return get_settings(session)


def today(clock: Clock) -> date:
    """The business date (Shanghai) now."""
    return local_date(clock.now())


_LOCKED = "settlement.audit_lock_taken"


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: object) -> None:
    # What a rolled-back transaction or savepoint knew (account ids, the lock, parsed configuration)
    # may be gone with it; every settlement cache in session.info starts again.
    for key in [k for k in session.info if isinstance(k, str) and k.startswith("settlement.")]:
        del session.info[key]


def serialise_writes(session: Session) -> None:
    """Take the audit trail's append lock before any row lock.

    Every state change appends to the audit chain, and that append holds one
    transaction-wide lock until commit (exchange.audit). A settlement write that
    locked a hold or an account row first and then waited for that lock could
    deadlock against a transaction that appended first and then wanted the row;
    taking the audit lock first keeps one order in every settlement write.
    """
    if not is_postgres(session):
        return
    tx = session.get_transaction()
    if session.info.get(_LOCKED) is tx:
        return  # taken already in this transaction (it is held until commit)
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK_KEY)))
    session.info[_LOCKED] = tx


def lock(stmt: sa.Select) -> sa.Select:
    """Row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers); fresh values."""
    return stmt.with_for_update().execution_options(populate_existing=True)


def load_party(session: Session, ref: str, field: str = "party_ref") -> Party:
    """A party by its reference, or ``party_not_found``."""
    party = session.scalar(sa.select(Party).where(Party.ref == ref))
    if party is None:
        raise NotFoundError(f"No party {ref}.", code="party_not_found", field=field)
    return party


_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: str | None, field: str = "document_sha256") -> str | None:
    """A document fingerprint in normal form (lower-case hex), or ``invalid_sha256``."""
    if value is None or value == "":
        return None
    v = value.strip().lower()
    if not _SHA256.fullmatch(v):
        raise ValidationError("A document fingerprint is 64 hexadecimal characters (SHA-256).",
                              code="invalid_sha256", field=field)
    return v


def check_fen(value: Any, field: str, *, allow_zero: bool = False) -> int:
    """A positive (or, with ``allow_zero``, non-negative) whole number of fen below 10^15."""
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1) or value >= 10**15:
        raise ValidationError(f"{field} must be a {'non-negative' if allow_zero else 'positive'} whole number "
                              "of fen.", code="invalid_amount", field=field)
    return value


def check_currency(value: Any, field: str = "currency") -> str:
    """An ISO 4217 code, or ``invalid_currency``."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError("A currency is a three-letter ISO 4217 code.", code="invalid_currency", field=field)
    return value


def log_event(session: Session, actor: Actor, action: str, subject_type: str, subject_ref: str, clock: Clock, *,
          before: Any = None, after: Any = None, reason: str | None = None) -> None:
    """Append one audit event (values made JSON-ready)."""
    record_event(session, actor=actor, action=action, subject_type=subject_type, subject_ref=subject_ref,
                 before=jsonable(before), after=jsonable(after), reason=reason, clock=clock)
