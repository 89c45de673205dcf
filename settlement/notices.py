"""What the settlement package tells buyers about their deposits (see exchange.notifications)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from exchange.notifications import register_topic

register_topic("deposit.released", link="/my/settlement",
               subject=_l("Deposit released: %(registration)s"),
               body=_l("The deposit of %(amount)s you paid for registration %(registration)s (“%(title)s”) is "
                       "released and will be refunded to you."))
register_topic("deposit.forfeited", link="/my/settlement",
               subject=_l("Deposit forfeited: %(registration)s"),
               body=_l("The deposit of %(amount)s for registration %(registration)s (“%(title)s”) is forfeited "
                       "under the trading rules. The settlement page gives the reason."))
