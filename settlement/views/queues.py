"""The settlement desk on the operator console, and links from the auctions package's deal rows."""
from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.actors import Actor
from exchange.auth import current_user
from exchange.views import OPERATOR_QUEUES, Queue
from settlement.models import BankNotification, DealSettlement, PaymentObligation
from settlement.service.common import today
from settlement.views.common import (
    OPEN_OBLIGATIONS,
    PAYOUT_DUE,
    SUSPENSE,
    TRANSFER_PENDING,
    count,
    overdue_obligations,
    releasable_holds,
    surplus_cash,
)


def operator_queues(session: Any, clock: Any) -> list[Queue]:
    """What waits for the settlement desk; "overdue" marks what should have been done already."""
    releases = releasable_holds(session, clock)
    refunds = surplus_cash(session)
    return [
        Queue("settlement_suspense", _l("Payments to match"), count(session, BankNotification, *SUSPENSE),
              "settlement_web.payments",
              overdue=count(session, BankNotification, *SUSPENSE, BankNotification.value_date < today(clock))),
        Queue("settlement_transfers", _l("Transfers to confirm"), count(session, DealSettlement, *TRANSFER_PENDING),
              "settlement_web.transfers"),
        Queue("settlement_payouts", _l("Payouts due"), count(session, DealSettlement, *PAYOUT_DUE),
              "settlement_web.payouts"),
        Queue("settlement_refunds", _l("Deposit releases and refunds due"), len(releases) + len(refunds),
              "settlement_web.refunds", overdue=sum(1 for r in releases if r.due)),
        Queue("settlement_obligations", _l("Payments owed on deals"),
              count(session, PaymentObligation, *OPEN_OBLIGATIONS), "settlement_web.overdue",
              overdue=count(session, PaymentObligation, *overdue_obligations(clock))),
    ]


if operator_queues not in OPERATOR_QUEUES:
    OPERATOR_QUEUES.append(operator_queues)


def deal_link(deal: Any) -> tuple[str, str] | None:
    """On a deal row of the auctions pages: the settlement of the deal, for whoever may see it."""
    user = current_user()
    if user is None:
        return None
    if Actor.of(user).can_read_all:
        return _("Settlement"), url_for("settlement_web.deal_page", ref=deal.ref)
    if user.party_id in (deal.buyer_party_id, deal.seller_party_id):
        return _("Payments"), url_for("settlement_web.my_money", _anchor=deal.ref)
    return None


try:
    from auctions.views import DEAL_LINKS
except ImportError:  # pragma: no cover - the auctions pages are not installed
    DEAL_LINKS = []
if deal_link not in DEAL_LINKS:
    DEAL_LINKS.append(deal_link)
