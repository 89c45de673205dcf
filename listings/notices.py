"""What the listings package tells buyers (see exchange.notifications). The texts are gettext msgids,
translated in this package's catalogue when a notice is shown or mailed."""
from __future__ import annotations

from exchange.notifications import register_topic

_REG = "/my/registrations#%(registration)s"

register_topic(
    "registration.qualified", link=_REG,
    subject="You are qualified to buy %(listing)s",
    body="The exchange qualified your registration %(registration)s for “%(title)s”. When publicity ends you will be "
         "invited to the negotiation or the auction.")
register_topic(
    "registration.rejected", link=_REG,
    subject="Your registration for %(listing)s was not accepted",
    body="The exchange did not qualify your registration %(registration)s for “%(title)s”: %(reason)s Any deposit "
         "you paid is refunded.")
register_topic(
    "registration.declare_again", link=_REG,
    subject="Declare again for %(listing)s",
    body="The seller changed the qualification conditions of “%(title)s” on %(at)s. Read them and declare again that "
         "you meet them; until you do, the exchange cannot qualify you. You may also withdraw with your deposit "
         "refunded.")
register_topic(
    "registration.terms_changed", link=_REG,
    subject="The terms of %(listing)s changed",
    body="The seller changed the published terms of “%(title)s” on %(at)s and publicity restarted; it now ends "
         "%(ends)s. Until then you may withdraw and have your deposit refunded, unless you are qualified again under "
         "the new terms.")
register_topic(
    "registration.lapsed", link=_REG,
    subject="Registration %(registration)s lapsed",
    body="The exchange did not receive the deposit for your registration %(registration)s (“%(title)s”) by the "
         "deadline, so the registration has lapsed.")
register_topic(
    "listing.suspended", link="/listings/%(listing)s",
    subject="Publicity of %(listing)s suspended",
    body="The exchange suspended the publicity of “%(title)s”. The days already served count when it resumes; your "
         "registration stands.")
register_topic(
    "listing.resumed", link="/listings/%(listing)s",
    subject="Publicity of %(listing)s resumed",
    body="The publicity of “%(title)s” resumed; it now ends %(ends)s.")
register_topic(
    "listing.terminated", link=_REG,
    subject="%(listing)s terminated",
    body="The exchange terminated “%(title)s”. It will not be traded; any deposit you paid is refunded.")
# The seller hears of its own listing's suspension, resumption and termination, with the exchange's reason.
register_topic(
    "listing.suspended_seller", link="/my/listings",
    subject="Publicity of %(listing)s suspended",
    body="The exchange suspended the publicity of “%(title)s”: %(reason)s")
register_topic(
    "listing.resumed_seller", link="/my/listings",
    subject="Publicity of %(listing)s resumed",
    body="The publicity of “%(title)s” resumed; it now ends %(ends)s.")
register_topic(
    "listing.terminated_seller", link="/my/listings",
    subject="%(listing)s terminated",
    body="The exchange terminated “%(title)s”: %(reason)s")
