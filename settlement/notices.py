"""What the settlement package tells buyers about their deposits (see exchange.notifications). The
texts are gettext msgids, translated in this package's catalogue when a notice is shown or mailed."""
from __future__ import annotations

from exchange.notifications import register_topic

register_topic(
    "deposit.released", link="/my/settlement",
    subject="Deposit released: %(registration)s",
    body="The deposit of %(amount)s you paid for registration %(registration)s (“%(title)s”) is released and will "
         "be refunded to you.")
register_topic(
    "deposit.forfeited", link="/my/settlement",
    subject="Deposit forfeited: %(registration)s",
    body="The deposit of %(amount)s for registration %(registration)s (“%(title)s”) is forfeited under the trading "
         "rules. The settlement page gives the reason.")
register_topic(
    "payment.due", link="/my/settlement",
    subject="Deal %(deal)s: pay %(amount)s by %(due)s",
    body="The contract for “%(title)s” is in force. Pay %(amount)s to the exchange's settlement account by %(due)s "
         "(Beijing time, end of day), quoting %(deal)s; the settlement page shows the account.")
register_topic(
    "payment.plan", link="/my/settlement",
    subject="Deal %(deal)s: first payment %(amount)s by %(due)s",
    body="The price for “%(title)s” (%(total)s) is due in %(count)d payments. The first, %(amount)s, is due by "
         "%(due)s (Beijing time, end of day), quoting %(deal)s; the settlement page shows the account and every due "
         "date.")
register_topic(
    "payment.overdue", link="/my/settlement",
    subject="Deal %(deal)s: %(amount)s overdue",
    body="%(amount)s for “%(title)s” was due by %(due)s and has not reached the exchange. Pay it now, quoting "
         "%(deal)s: a payment left unpaid past the grace period is recorded as the buyer's default.")
register_topic(
    "payout.made", link="/my/settlement",
    subject="Deal %(deal)s: %(amount)s paid out to you",
    body="The price of “%(title)s” was released to you: %(amount)s after the exchange's fee of %(fee)s.")
