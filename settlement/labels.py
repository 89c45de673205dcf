"""People-facing names of the settlement enums and the refusals of its services (English msgids,
Chinese in ``settlement/translations``). Stored values stay lower snake_case English."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exchange.errors import DomainError
from exchange.http import refusal_text
from exchange.money import Money
from listings.domain import TradingMode
from listings.labels import LABELS as _LISTING_LABELS

# Keyed by a kind first: the same value ("open", "active", "released") means different things.
LABELS: dict[str, dict[str, Any]] = {
    "settlement": {"awaiting_contract": _l("Awaiting the contract"), "awaiting_payment": _l("Awaiting payment"),
                   "price_in": _l("Price held in escrow"), "paid_out": _l("Paid out"),
                   "defaulted": _l("Defaulted"), "cancelled": _l("Called off")},
    "obligation": {"open": _l("Not yet paid"), "paid": _l("Paid"), "overdue": _l("Overdue"),
                   "cancelled": _l("Cancelled")},
    "hold": {"pending": _l("Deposit due"), "held": _l("Held"), "applied": _l("Applied to the price"),
             "released": _l("Released"), "forfeited": _l("Forfeited")},
    "notification": {"suspense": _l("In suspense"), "matched": _l("Matched"), "returned": _l("Returned")},
    "flag": {"exact": _l("Exact"), "short": _l("Short"), "over": _l("Over"), "unexpected": _l("Nothing was due")},
    "purpose": {"deposit": _l("Deposit"), "price": _l("Price"), "fee": _l("Service fee"),
                "instalment": _l("Instalment"), "other": _l("Other")},
    "target": {"registration": _l("The deposit of a buyer registration"), "deal": _l("A payment on a deal"),
               "party": _l("Cash kept for a party"), "instrument": _l("A claim under a credit instrument")},
    "instrument_kind": {"guarantee_letter": _l("Bank guarantee letter"), "ip_insurance": _l("IP insurance"),
                        "third_party_guarantee": _l("Third-party guarantee")},
    "instrument_state": {"active": _l("Active"), "revoked": _l("Revoked"), "called": _l("Called")},
    "credit_event": {"on_time_payment": _l("Paid on time"), "late_payment": _l("Paid late"),
                     "default": _l("Default"), "forfeiture": _l("Deposit forfeited"), "dispute": _l("Dispute"),
                     "completed_deal": _l("Deal completed")},
    "pledge": {"active": _l("Active"), "released": _l("Released")},
    "plan": {"lump_sum": _l("Lump sum"), "instalments": _l("Instalments")},
    "account_kind": {"party_cash": _l("Party's cash"), "party_deposit": _l("Party's deposit"),
                     "party_receivable": _l("Owed by the party"), "deposit_pool": _l("Deposit pool (bank)"),
                     "escrow": _l("Escrow of a deal"), "fee_income": _l("Fee income"),
                     "bank_clearing": _l("Settlement account (bank)"), "suspense": _l("Suspense"),
                     "forfeiture_income": _l("Forfeiture income")},
    "nature": {"asset": _l("Asset account"), "liability": _l("Liability account"), "income": _l("Income account")},
    "entry_kind": {"bank_in": _l("Receipt"), "suspense_matched": _l("Receipt matched"),
                   "suspense_returned": _l("Receipt returned"), "deposit_funded": _l("Deposit funded"),
                   "deposit_applied": _l("Deposit applied to the price"), "deposit_released": _l("Deposit released"),
                   "deposit_forfeited": _l("Deposit forfeited"), "deal_payment": _l("Payment on the deal"),
                   "escrow_returned": _l("Escrow returned"), "payout": _l("Payout to the seller"),
                   "disbursement": _l("Paid to the bank account"), "reversal": _l("Reversal")},
    "disbursement": {"payout": _l("Payout"), "refund": _l("Refund")},
    "role": {"buyer": _l("Transferee (buyer)"), "seller": _l("Seller")},
    "fee_method": {"bidding": _l("Bidding"), "negotiated": _l("Negotiated")},
    "expected": {"deal_payment": _l("Payment on a deal"), "deposit": _l("Deposit")},
    # Trading modes (pledge consents) keep the listings package's names.
    "mode": {m.value: text for m, text in _LISTING_LABELS[TradingMode].items()},
}

BADGES: dict[str, str] = {
    "paid": "ok", "matched": "ok", "exact": "ok", "held": "ok", "applied": "ok", "paid_out": "ok", "price_in": "ok",
    "active": "ok", "released": "", "returned": "", "cancelled": "",
    "suspense": "warn", "short": "warn", "over": "warn", "pending": "warn", "open": "warn",
    "awaiting_payment": "warn", "awaiting_contract": "warn",
    "overdue": "bad", "defaulted": "bad", "forfeited": "bad", "unexpected": "bad", "revoked": "bad", "called": "bad",
}


def label(kind: str, value: Any) -> str:
    """The translated label of a stored value (the value itself when it has none)."""
    key = getattr(value, "value", value)
    found = LABELS.get(kind, {}).get(key)
    return str(found) if found is not None else str(key or "")


def badge(value: Any) -> str:
    return BADGES.get(getattr(value, "value", value), "")


# Refusals whose service message carries a reference or a figure (not a fixed msgid): said in our words.
CODE_MESSAGES: dict[str, Any] = {
    "invalid_amount": _l("Enter an amount in yuan, e.g. 1250000 or 1,250,000.00."),
    "amount_too_large": _l("The amount is too large."),
    "required": _l("This is required."),
    "too_long": _l("The text is too long."),
    "invalid_characters": _l("The text contains control or direction characters."),
    "invalid_type": _l("This is required."),
    "party_not_found": _l("No party has this reference."),
    "registration_not_found": _l("No buyer registration has this reference."),
    "deal_not_found": _l("No deal has this reference."),
    "hold_not_found": _l("This registration has no deposit hold."),
    "instrument_not_found": _l("No credit instrument has this reference."),
    "asset_not_found": _l("No asset has this reference."),
    "notification_not_in_suspense": _l("This receipt is no longer in suspense."),
    "instrument_not_active": _l("This instrument is no longer active."),
    "pledgor_not_holder": _l("The pledgor does not hold one of these assets."),
    "invalid_trading_mode": _l("Choose a trading mode."),
    "invalid_account": _l("No party has this reference."),
    # These name a hold's state or outcome in English ("forfeited", 'fund'): said without it.
    "hold_already_resolved": _l("This deposit hold is already resolved."),
    "hold_not_pending": _l("This deposit is no longer waiting to be paid."),
    "invalid_hold_outcome": _l("A deposit hold is resolved by applying, releasing or forfeiting it."),
}


def error_message(err: DomainError) -> str:
    """A service's refusal in the reader's language, with the figures that help correct it.

    A fixed service message is its own msgid; a message that carries a reference or a figure
    cannot be one, so its code says it in our words (``CODE_MESSAGES``).
    """
    d = err.details or {}
    if err.code == "down_payment_too_low" and d.get("min_down_ratio"):
        from decimal import Decimal

        pct = f"{(Decimal(str(d['min_down_ratio'])) * 100).normalize():f}%"
        return _("The down payment must be at least %(pct)s of the total.", pct=pct)
    if err.code == "instalments_beyond_one_year" and d.get("final_due_limit"):
        return _("Every instalment must fall due by %(date)s.", date=d["final_due_limit"])
    text = refusal_text(err, CODE_MESSAGES)
    hint = None
    if err.code == "insufficient_cash" and isinstance(d.get("available_fen"), int):
        hint = _("Free cash at the exchange: %(amount)s.", amount=Money(d["available_fen"]).format())
    elif err.code == "instrument_in_use" and isinstance(d.get("reserved_fen"), int):
        hint = _("Deposits rely on %(amount)s of it.", amount=Money(d["reserved_fen"]).format())
    elif err.code == "amount_exceeds_claim" and isinstance(d.get("outstanding_fen"), int):
        hint = _("Outstanding claim: %(amount)s.", amount=Money(d["outstanding_fen"]).format())
    if hint:
        text += hint if text.endswith("。") else " " + hint  # Chinese sentences need no space between them
    return text
