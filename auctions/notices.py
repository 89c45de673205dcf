"""What the auctions package tells the parties of a deal (see exchange.notifications)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from exchange.notifications import register_topic

register_topic("deal.struck_buyer", link="/my/deals",
               subject=_l("Deal %(deal)s: you are the buyer"),
               body=_l("The deal for “%(title)s” was struck at %(price)s. Sign the contract by %(sign_by)s (Beijing "
                       "time); a buyer that does not sign in time loses its deposit."))
register_topic("deal.struck_seller", link="/my/deals",
               subject=_l("Deal %(deal)s: your technology found a buyer"),
               body=_l("The deal for “%(title)s” was struck at %(price)s. Sign the contract by %(sign_by)s (Beijing "
                       "time)."))
