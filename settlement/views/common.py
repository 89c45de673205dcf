"""Helpers shared by the settlement pages: refusals beside their field (in the reader's language),
the exchange's settlement account, one-time form tokens, and the queries behind the desk's queues."""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import Session

from config import EXAMPLE_ACCOUNTS
from exchange.auth import require_user
from exchange.clock import Clock
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.models import IdempotencyRecord, Party
from listings.views.common import actor, show_error  # noqa: F401  (re-exported for the page modules)
from settlement import service as svc
from settlement.domain import AccountKind, HoldState
from settlement.labels import error_message
from settlement.models import (
    BankNotification,
    DealSettlement,
    DepositHold,
    LedgerAccount,
    NotificationState,
    PaymentObligation,
    SettlementState,
)
from settlement.service.common import today
from settlement.service.obligations import OPEN_STATES

PER_PAGE = 50


def settlement_account() -> dict[str, str]:
    """Where buyers pay deal money: the configured account (production requires one), else the example."""
    return dict(current_app.config.get("SETTLEMENT_ACCOUNT") or EXAMPLE_ACCOUNTS["SETTLEMENT_ACCOUNT"])


def refuse(form, err: DomainError, aliases: dict[str, str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Undo what the failed attempt flushed and put its refusal, translated, beside the field it names."""
    shown = copy.copy(err)
    shown.message = error_message(err)
    shown.template = None  # the text above is final (translated, with settlement's hints)
    return show_error(form, shown, aliases)


# -- one-time form tokens ----------------------------------------------------------------------------
def new_token() -> str:
    return uuid.uuid4().hex


def _token_key(token: str) -> str:
    return f"web-form:{token}"


def done_before(token: str) -> str | None:
    """Where the first submission of this rendered form led, if it was submitted before."""
    found = get_session().scalar(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == require_user().id, IdempotencyRecord.key == _token_key(token)))
    return json.loads(found.response_body)["location"] if found is not None else None


def remember(token: str, location: str) -> None:
    """Record that this rendered form was used (in the same transaction as its effect)."""
    session = get_session()
    session.add(IdempotencyRecord(user_id=require_user().id, key=_token_key(token), endpoint=request.endpoint or "",
                                  request_hash="-", status_code=303, response_body=json.dumps({"location": location}),
                                  created_at=get_clock().now()))
    session.flush()


# -- what waits for the settlement desk -------------------------------------------------------------
@dataclass(frozen=True)
class Release:
    """A deposit that may be released now, and why; ``due`` when the release job is already late."""

    hold: DepositHold
    registration_ref: str
    reason: str
    due: bool


def releasable_holds(session: Session, clock: Clock, limit: int = 300) -> list[Release]:
    """Unresolved deposits, not taken by a deal, that the buyer or an operator may have released now."""
    from listings.models import BuyerRegistration

    candidates = {h.id: h for h in svc.holds.due_holds(session, clock, limit=limit)}
    for h in session.scalars(sa.select(DepositHold).where(
            DepositHold.state.in_([HoldState.PENDING.value, HoldState.HELD.value]), DepositHold.deal_id.is_(None),
            DepositHold.release_due_on.is_not(None)).order_by(DepositHold.release_due_on).limit(limit)):
        candidates.setdefault(h.id, h)
    refs = dict(session.execute(sa.select(BuyerRegistration.id, BuyerRegistration.ref).where(
        BuyerRegistration.id.in_([h.registration_id for h in candidates.values()]))).all()) if candidates else {}
    out = []
    for hold in sorted(candidates.values(), key=lambda h: (h.release_due_on is None, h.release_due_on, h.id)):
        fate = svc.holds.fate_of(session, hold, clock, on_request=True)
        if fate is None or fate[0] != "release":
            continue
        due_now = svc.holds.fate_of(session, hold, clock) is not None
        out.append(Release(hold, refs[hold.registration_id], fate[1], due_now))
    return out


def surplus_cash(session: Session, limit: int = 300) -> list[tuple[Party, int, str]]:
    """Parties for whom the exchange holds free cash not yet used for anything: (party, fen, currency)."""
    rows = session.execute(sa.select(Party, LedgerAccount.balance_fen, LedgerAccount.currency)
                           .join(LedgerAccount, LedgerAccount.party_id == Party.id)
                           .where(LedgerAccount.kind == AccountKind.PARTY_CASH.value, LedgerAccount.balance_fen < 0)
                           .order_by(LedgerAccount.balance_fen, Party.ref).limit(limit)).all()
    return [(p, -int(bal), cur) for p, bal, cur in rows]


def count(session: Session, model: Any, *where: Any) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


TRANSFER_PENDING = (DealSettlement.state.in_([SettlementState.AWAITING_PAYMENT.value, SettlementState.PRICE_IN.value]),
                    DealSettlement.transfer_confirmed_at.is_(None))
PAYOUT_DUE = (DealSettlement.state == SettlementState.PRICE_IN.value,
              DealSettlement.transfer_confirmed_at.is_not(None))
OPEN_OBLIGATIONS = (PaymentObligation.state.in_(OPEN_STATES),)


def overdue_obligations(clock: Clock) -> tuple[Any, ...]:
    return (PaymentObligation.state.in_(OPEN_STATES), PaymentObligation.due_on < today(clock))


SUSPENSE = (BankNotification.state == NotificationState.SUSPENSE.value,)
