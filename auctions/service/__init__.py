"""Use cases of the auctions package. Importing it wires the listings hooks:
publicity ending with 2+ qualified buyers creates an auction, with exactly one a
negotiation, and every open-licence taking becomes a deal."""
from __future__ import annotations

from auctions.service import deals  # noqa: F401
from auctions.service.bidding import (  # noqa: F401
    Schedule,
    bid_on,
    bidding_record,
    close_auction,
    close_if_due,
    create_auction,
    due_auction_refs,
    listing_auction,
    live_state,
    load_auction,
    open_started,
    peek_columns,
    peek_join,
    place_bid,
    protocol_rows,
    publish_result,
    reschedule_auction,
)
from auctions.service.negotiation import (  # noqa: F401
    bids_of,
    call_off_for_seller_default,
    confirm_price,
    load_negotiation,
    offer_to_runner_up,
    open_negotiation,
    record_result,
    relist_after_default,
)


def _on_publicity_end(session, listing, action, clock):  # type: ignore[no-untyped-def]
    from exchange.actors import Actor
    from listings.domain import EndAction

    system = Actor.system("publicity")
    if action == EndAction.AUCTION:
        create_auction(session, system, listing, clock=clock)
    elif action == EndAction.NEGOTIATION:
        open_negotiation(session, system, listing, clock=clock)


def _on_open_licence_taken(session, decl, taking, clock):  # type: ignore[no-untyped-def]
    from exchange.actors import Actor
    from auctions.models import DealMethod
    from listings.domain import TradingMode

    price = decl.lump_sum_fen or decl.entry_fee_fen or 0
    deals.strike_deal(session, method=DealMethod.OPEN_LICENCE, asset=decl.asset, seller_party_id=decl.seller_party_id,
                      buyer_party_id=taking.licensee_party_id, mode=TradingMode.OPEN_LICENCE, price_fen=price,
                      clock=clock, actor=Actor.system("open-licence"), open_licence_taking_id=taking.id,
                      terms={"open_licence": decl.ref, "fee_kind": decl.fee_kind.value,
                             "royalty_rate": decl.royalty_rate, "term_start": decl.term_start.isoformat(),
                             "term_end": decl.term_end.isoformat()})


def _wire() -> None:
    from listings.service.lifecycle import ON_PUBLICITY_END
    from listings.service.open_licences import ON_TAKEN

    if _on_publicity_end not in ON_PUBLICITY_END:
        ON_PUBLICITY_END.append(_on_publicity_end)
    if _on_open_licence_taken not in ON_TAKEN:
        ON_TAKEN.append(_on_open_licence_taken)


_wire()
