"""Ledger rules: accounts, postings, balanced entries and the entry for each business event.

The ledger is the exchange's own books, kept in double entry.

**Sign convention.** A posting's amount is positive for a **debit** and negative
for a **credit**. An entry balances when its postings sum to zero in every
currency. Asset accounts (cash at the bank, amounts owed *to* the exchange) grow
with debits; liability and income accounts (money the exchange holds *for*
someone, money it has earned) grow with credits, so their natural balance is
negative in this convention.

**Chart of accounts** (``AccountKind``; ``ACCOUNT_NATURE`` gives each one's nature):

=====================  =========  ===================================================
kind                   nature     meaning
=====================  =========  ===================================================
party_cash             liability  identified cash the exchange holds for a party,
                                  free to be used for its deposit, price or fees
party_deposit          liability  a party's deposit, held until applied, released
                                  or forfeited
party_receivable       asset      what a party owes the exchange (billed, not paid)
deposit_pool           asset      cash in the exchange's segregated deposit account
                                  (保证金专户)
escrow                 liability  a deal's price held until the transfer is confirmed
fee_income             income     service fees earned
bank_clearing          asset      cash in the exchange's settlement bank account,
                                  where receipts land and payouts leave
suspense               liability  money received whose payer or purpose is not yet
                                  identified
forfeiture_income      income     the exchange's share of forfeited deposits
=====================  =========  ===================================================

Cash location (``bank_clearing`` vs ``deposit_pool``) is kept apart from what the
cash is for (the liability accounts); ``bank_transfer`` moves cash between the
two bank accounts when the treasury sweeps it, without changing whom it is owed to.

Account *keys* are strings chosen by the caller (``account_key(kind, owner)``
builds the house form ``"party_cash:P-42"``). The builders below take keys, not
kinds, so the same rule serves every party and deal. Each returns a list of
postings that is checked to balance; corrections are made by posting the
``reverse`` of an entry, never by editing it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from exchange.errors import CurrencyMismatchError, ValidationError
from exchange.money import Money

__all__ = [
    "ACCOUNT_NATURE",
    "AccountKind",
    "AccountNature",
    "Posting",
    "account_key",
    "balances",
    "bank_in",
    "bank_transfer",
    "check_balanced",
    "deposit_applied_to_price",
    "deposit_forfeited",
    "deposit_received",
    "deposit_released",
    "fee_charged",
    "kind_of_key",
    "payout_to_seller",
    "price_received",
    "refund",
    "reverse",
    "split_forfeiture",
    "suspense_matched",
]


class AccountKind(str, Enum):
    """The kinds of ledger account. Party kinds are keyed per party; the others per exchange (or deal)."""

    PARTY_CASH = "party_cash"
    PARTY_DEPOSIT = "party_deposit"
    PARTY_RECEIVABLE = "party_receivable"
    DEPOSIT_POOL = "deposit_pool"
    ESCROW = "escrow"
    FEE_INCOME = "fee_income"
    BANK_CLEARING = "bank_clearing"
    SUSPENSE = "suspense"
    FORFEITURE_INCOME = "forfeiture_income"

    @property
    def is_party(self) -> bool:
        return self.value.startswith("party_")


class AccountNature(str, Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"


ACCOUNT_NATURE: dict[AccountKind, AccountNature] = {
    AccountKind.PARTY_CASH: AccountNature.LIABILITY,
    AccountKind.PARTY_DEPOSIT: AccountNature.LIABILITY,
    AccountKind.PARTY_RECEIVABLE: AccountNature.ASSET,
    AccountKind.DEPOSIT_POOL: AccountNature.ASSET,
    AccountKind.ESCROW: AccountNature.LIABILITY,
    AccountKind.FEE_INCOME: AccountNature.INCOME,
    AccountKind.BANK_CLEARING: AccountNature.ASSET,
    AccountKind.SUSPENSE: AccountNature.LIABILITY,
    AccountKind.FORFEITURE_INCOME: AccountNature.INCOME,
}


def account_key(kind: AccountKind | str, owner: str | int | None = None) -> str:
    """The house form of an account key: ``"fee_income"``, ``"party_cash:P-42"``, ``"escrow:D-7"``.

    Party kinds need an owner; exchange kinds may take one (escrow per deal).
    """
    try:
        kind = AccountKind(kind)
    except ValueError:
        raise ValidationError(f"Unknown account kind {kind!r}.", code="invalid_account") from None
    if owner is None or owner == "":
        if kind.is_party:
            raise ValidationError(f"A {kind.value} account belongs to a party.", code="invalid_account")
        return kind.value
    if ":" in str(owner):
        raise ValidationError("An account owner may not contain ':'.", code="invalid_account")
    return f"{kind.value}:{owner}"


def kind_of_key(key: str) -> AccountKind:
    """The kind of an account key built by ``account_key``."""
    try:
        return AccountKind(key.split(":", 1)[0])
    except ValueError:
        raise ValidationError(f"Not a ledger account key: {key!r}.", code="invalid_account") from None


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a journal entry: positive ``amount`` debits the account, negative credits it."""

    account_key: str
    amount: Money

    def __post_init__(self) -> None:
        if not isinstance(self.account_key, str) or not self.account_key.strip():
            raise ValidationError("A posting needs an account.", code="invalid_account")
        if not isinstance(self.amount, Money):
            raise TypeError("a posting's amount is Money")

    @property
    def is_debit(self) -> bool:
        return self.amount.fen > 0

    def __neg__(self) -> Posting:
        return Posting(self.account_key, -self.amount)


def check_balanced(postings: Iterable[Posting]) -> list[Posting]:
    """Return the postings as a list if they form a valid entry, else raise ``ValidationError``.

    Codes: ``zero_posting`` (a posting of zero carries no meaning and hides
    mistakes), ``unbalanced_entry`` (fewer than two postings, or debits and
    credits differ in some currency). Currencies never net against each other.
    """
    items = list(postings)
    for p in items:
        if not isinstance(p, Posting):
            raise TypeError("an entry is made of Posting objects")
        if p.amount.fen == 0:
            raise ValidationError(
                "Posting to %(account)s is zero.", params={"account": p.account_key}, code="zero_posting",
                details={"account": p.account_key},
            )
    if len(items) < 2:
        raise ValidationError("An entry needs at least two postings.", code="unbalanced_entry")
    totals: dict[str, int] = {}
    for p in items:
        totals[p.amount.currency] = totals.get(p.amount.currency, 0) + p.amount.fen
    off = {cur: fen for cur, fen in totals.items() if fen != 0}
    if off:
        raise ValidationError(
            "Debits and credits differ: " + ", ".join(f"{c} {f:+d} fen" for c, f in sorted(off.items())),
            code="unbalanced_entry",
            details={"imbalance_fen": off},
        )
    return items


def reverse(postings: Iterable[Posting]) -> list[Posting]:
    """The entry that cancels ``postings`` (each amount negated). The original must balance."""
    return check_balanced(-p for p in check_balanced(postings))


def balances(postings: Iterable[Posting]) -> dict[tuple[str, str], Money]:
    """Net balance per (account key, currency); positive = debit balance."""
    out: dict[tuple[str, str], Money] = {}
    for p in postings:
        k = (p.account_key, p.amount.currency)
        out[k] = out[k] + p.amount if k in out else p.amount
    return out


# -- builders, one per business event ------------------------------------------


def _positive(amount: Money, field: str = "amount") -> Money:
    if not isinstance(amount, Money):
        raise TypeError(f"{field} is Money")
    if amount.fen <= 0:
        raise ValidationError(f"{field} must be more than zero.", code="invalid_amount", field=field)
    return amount


def _entry(*pairs: tuple[str, Money]) -> list[Posting]:
    # Zero legs are dropped (e.g. a forfeiture with no seller share) rather than posted.
    return check_balanced(Posting(k, m) for k, m in pairs if m.fen != 0)


def bank_in(amount: Money, *, bank: str, suspense: str) -> list[Posting]:
    """Money arrived at one of the exchange's bank accounts; whose it is is not yet known.

    Dr ``bank`` (asset: cash at the bank grows) / Cr ``suspense`` (liability: owed
    to a payer still to be identified). Every receipt enters through suspense so
    an unmatched payment is never lost or silently attributed.
    """
    _positive(amount)
    return _entry((bank, amount), (suspense, -amount))


def suspense_matched(amount: Money, *, suspense: str, party_cash: str) -> list[Posting]:
    """A receipt (or part of one) is identified as a party's money.

    Dr ``suspense`` (no longer unidentified) / Cr ``party_cash`` (the exchange now
    holds it for that party).
    """
    _positive(amount)
    return _entry((suspense, amount), (party_cash, -amount))


def bank_transfer(amount: Money, *, from_bank: str, to_bank: str) -> list[Posting]:
    """Cash swept between the exchange's own bank accounts (e.g. clearing → deposit account).

    Dr ``to_bank`` / Cr ``from_bank``; both assets, so nobody's claim changes.
    """
    _positive(amount)
    if from_bank == to_bank:
        raise ValidationError("A transfer needs two different accounts.", code="invalid_account")
    return _entry((to_bank, amount), (from_bank, -amount))


def deposit_received(amount: Money, *, party_cash: str, party_deposit: str) -> list[Posting]:
    """A buyer's identified cash becomes its deposit (the hold is funded).

    Dr ``party_cash`` (the buyer's free cash shrinks) / Cr ``party_deposit`` (the
    same money is now held as a deposit, returnable only by release).
    """
    _positive(amount)
    return _entry((party_cash, amount), (party_deposit, -amount))


def deposit_applied_to_price(amount: Money, *, party_deposit: str, escrow: str) -> list[Posting]:
    """The winner's deposit becomes part of the price.

    Dr ``party_deposit`` (no longer owed back to the buyer) / Cr ``escrow`` (held
    for the deal as price, until the transfer is confirmed).
    """
    _positive(amount)
    return _entry((party_deposit, amount), (escrow, -amount))


def deposit_released(amount: Money, *, party_deposit: str, paid_from: str) -> list[Posting]:
    """A loser's (or an unused) deposit is refunded to the party's bank account.

    Dr ``party_deposit`` (the obligation to return it is settled) / Cr
    ``paid_from`` (the bank account the refund leaves from, usually ``deposit_pool``).
    """
    _positive(amount)
    return _entry((party_deposit, amount), (paid_from, -amount))


def split_forfeiture(amount: Money, seller_share: Decimal) -> tuple[Money, Money]:
    """Split a forfeited deposit into (seller part, exchange part).

    The seller part is ``amount × seller_share`` rounded HALF_UP; the exchange
    takes the rest, so the two always add up to ``amount`` exactly.
    ``seller_share`` is a fraction 0..1 (``invalid_share`` otherwise).
    """
    if not isinstance(seller_share, Decimal) or not seller_share.is_finite() or not 0 <= seller_share <= 1:
        raise ValidationError("The seller's share is a fraction between 0 and 1.", code="invalid_share",
                              field="seller_share")
    seller = amount.apply_rate(seller_share, ROUND_HALF_UP)
    return seller, amount - seller


def deposit_forfeited(
    amount: Money,
    seller_share: Decimal,
    *,
    party_deposit: str,
    seller_account: str,
    forfeiture_income: str,
) -> list[Posting]:
    """A defaulting buyer's deposit is forfeited and split between the seller and the exchange.

    Dr ``party_deposit`` (no longer owed to the buyer) / Cr ``seller_account``
    (usually the seller's ``party_cash``: compensation it may be paid out) / Cr
    ``forfeiture_income`` (the exchange's share). A zero share leg is left out.
    """
    _positive(amount)
    seller, exchange = split_forfeiture(amount, seller_share)
    return _entry((party_deposit, amount), (seller_account, -seller), (forfeiture_income, -exchange))


def price_received(amount: Money, *, payer: str, escrow: str) -> list[Posting]:
    """The buyer's payment of (part of) the price goes into escrow.

    Dr ``payer`` (usually the buyer's ``party_cash``, the matched receipt; or its
    ``party_receivable`` when the price is billed before it is paid) / Cr
    ``escrow`` (held for the deal until the seller may be paid).
    """
    _positive(amount)
    return _entry((payer, amount), (escrow, -amount))


def fee_charged(amount: Money, *, payer: str, fee_income: str) -> list[Posting]:
    """A party's service fee is charged.

    Dr ``payer`` (the party's ``party_cash`` when paid from its cash, or its
    ``party_receivable`` when billed) / Cr ``fee_income`` (earned by the exchange).
    The seller's fee is normally taken in ``payout_to_seller`` instead.
    """
    _positive(amount)
    return _entry((payer, amount), (fee_income, -amount))


def payout_to_seller(
    price: Money, seller_fee: Money, *, escrow: str, fee_income: str, paid_to: str
) -> list[Posting]:
    """Release the escrowed price: the seller's fee to the exchange, the rest to the seller.

    Dr ``escrow`` (the whole price leaves escrow) / Cr ``fee_income`` (seller's fee)
    / Cr ``paid_to`` (price − fee: ``bank_clearing`` when paid straight to the
    seller's bank, or the seller's ``party_cash`` to pay out later). A fee larger
    than the price is refused (``fee_exceeds_payout``).
    """
    _positive(price, "price")
    if not isinstance(seller_fee, Money):
        raise TypeError("seller_fee is Money")
    if seller_fee.currency != price.currency:
        raise CurrencyMismatchError("Cannot combine %(a)s and %(b)s.",
                                    params={"a": price.currency, "b": seller_fee.currency})
    if seller_fee.fen < 0:
        raise ValidationError("A fee cannot be negative.", code="invalid_amount", field="seller_fee")
    if seller_fee > price:
        raise ValidationError("The seller's fee exceeds the price held.", code="fee_exceeds_payout",
                              field="seller_fee")
    return _entry((escrow, price), (fee_income, -seller_fee), (paid_to, -(price - seller_fee)))


def refund(amount: Money, *, party_cash: str, paid_from: str) -> list[Posting]:
    """Return a party's free cash (an overpayment, a surplus) to its bank account.

    Dr ``party_cash`` (no longer held for the party) / Cr ``paid_from`` (the bank
    account the money leaves, usually ``bank_clearing``).
    """
    _positive(amount)
    return _entry((party_cash, amount), (paid_from, -amount))
