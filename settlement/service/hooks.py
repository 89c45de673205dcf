"""Wiring: settlement reacts to the listings and auctions packages through their hook lists.

Imported by ``settlement.service``; every registration is guarded so a second import
(or a reload in tests) never wires a hook twice.
"""
from __future__ import annotations

from collections.abc import Callable

from settlement.service import holds, obligations


def _add(hooks: list[Callable], fn: Callable) -> None:
    if fn not in hooks:
        hooks.append(fn)


def wire() -> None:
    """Register settlement's functions in the listings and auctions hook lists (once)."""
    from auctions.service import deals
    from listings.service import lifecycle, registrations

    # Registration: the deposit a buyer must put up (grade, instruments) and its hold. The listings
    # package consults only the first policy in its list: settlement's is the one.
    _add(registrations.deposit_policy, holds.deposit_policy)
    _add(registrations.ON_REGISTERED, holds.open_hold)
    # New listing terms before the deposit was paid: the pending hold owes the new deposit.
    _add(registrations.deposit_requote, holds.requote_hold)
    # An operator's manual "deposit received" records the money through the ledger first.
    _add(registrations.MANUAL_DEPOSIT, holds.record_manual_deposit)
    # Publicity ended: holds of buyers that did not qualify resolve.
    _add(lifecycle.ON_PUBLICITY_END, holds.on_publicity_end)
    # Deals: fees and the winner's hold when struck, obligations in force, default, completion.
    _add(deals.ON_DEAL_STRUCK, obligations.open_settlement)
    _add(deals.ON_DEAL_IN_FORCE, obligations.start_obligations)
    _add(deals.ON_DEAL_DEFAULTED, obligations.on_deal_defaulted)
    _add(deals.ON_DEAL_COMPLETED, obligations.on_deal_completed)
    _add(deals.ON_DEAL_CANCELLED, obligations.on_deal_cancelled)
    # Bidding closed: losers' deposits fall due for release.
    _add(deals.ON_AUCTION_CLOSED, holds.on_auction_closed)
    # A seller that never signed: the default goes on its credit record.
    from contracts.service import contracts as contract_service

    _add(contract_service.ON_SELLER_FAILED_TO_SIGN, obligations.on_seller_failed_to_sign)
