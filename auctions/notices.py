"""What the auctions package tells bidders and the parties of a deal (see exchange.notifications). The
texts are gettext msgids, translated in this package's catalogue when a notice is shown or mailed."""
from __future__ import annotations

from exchange.notifications import register_topic

register_topic(
    "auction.invited", link="/auctions/%(auction)s",
    subject="Auction %(auction)s: your bidder number is %(bidder_no)s",
    body="Publicity of “%(title)s” ended with more than one qualified buyer, so it goes to auction. Your bidder "
         "number is %(bidder_no)s; bidding is scheduled to start at %(starts)s (Beijing time). The auction room "
         "always shows the current schedule.")
register_topic(
    "negotiation.invited", link="/negotiations/%(negotiation)s",
    subject="Negotiated transfer %(negotiation)s: confirm your price",
    body="You are the only qualified buyer of “%(title)s”, so it is transferred by negotiation. Confirm a price of "
         "at least %(price)s on the negotiation page.")
register_topic(
    "deal.struck_buyer", link="/my/deals",
    subject="Deal %(deal)s: you are the buyer",
    body="The deal for “%(title)s” was struck at %(price)s. Sign the contract by %(sign_by)s (Beijing time); a buyer "
         "that does not sign in time loses its deposit.")
register_topic(
    "deal.struck_seller", link="/my/deals",
    subject="Deal %(deal)s: your technology found a buyer",
    body="The deal for “%(title)s” was struck at %(price)s. Sign the contract by %(sign_by)s (Beijing time).")
register_topic(
    "deal.runner_up_buyer", link="/my/deals",
    subject="Deal %(deal)s: offered to you as the runner-up",
    body="The winning bidder of “%(title)s” did not complete the deal, so the exchange offers it to you at your "
         "last bid, %(price)s. Sign the contract by %(sign_by)s (Beijing time) to take it. If the exchange still "
         "holds your deposit, you lose it when you do not sign in time.")
register_topic(
    "deal.runner_up_seller", link="/my/deals",
    subject="Deal %(deal)s: offered to the runner-up",
    body="The first buyer of “%(title)s” did not complete the deal; the exchange offered it to the next-highest "
         "bidder at %(price)s. Sign the new contract by %(sign_by)s (Beijing time).")
register_topic(
    "deal.licence_taken_licensee", link="/my/deals",
    subject="Deal %(deal)s: open licence taken",
    body="You took the open licence of “%(title)s”. Sign the licence contract by %(sign_by)s (Beijing time).")
register_topic(
    "deal.licence_taken_seller", link="/my/deals",
    subject="Deal %(deal)s: your open licence was taken",
    body="A licensee took the open licence of “%(title)s”. Sign the licence contract by %(sign_by)s (Beijing "
         "time).")
register_topic(
    "deal.defaulted_buyer", link="/my/deals",
    subject="Deal %(deal)s: recorded as your default",
    body="The exchange recorded the deal for “%(title)s” as defaulted on the buyer's side.")
register_topic(
    "deal.defaulted_seller", link="/my/deals",
    subject="Deal %(deal)s: the buyer defaulted",
    body="The exchange recorded the deal for “%(title)s” as defaulted on the buyer's side. You will be told what "
         "happens next.")
register_topic(
    "deal.cancelled", link="/my/deals",
    subject="Deal %(deal)s called off",
    body="The deal for “%(title)s” was called off.")
register_topic(
    "auction.rescheduled", link="/auctions/%(auction)s",
    subject="Auction %(auction)s rescheduled",
    body="Bidding for “%(title)s” now starts at %(starts)s (Beijing time). Your bidder number is still "
         "%(bidder_no)s.")
