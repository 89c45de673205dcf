"""Tables of the auctions package: auctions, bidders, bids, negotiated transfers and deals (成交)."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, JSONType, UTCDateTime, enum_type
from exchange.models import Party
from auctions.domain import AuctionFormat, AuctionState
from listings.domain import TradingMode
from listings.models import Asset, BuyerRegistration, Listing

Fen = sa.BigInteger


class DealMethod(enum.StrEnum):
    """How the deal was struck; settlement's fee schedule distinguishes bidding from the rest."""

    AUCTION = "auction"
    NEGOTIATION = "negotiation"
    OPEN_LICENCE = "open_licence"


class DealState(enum.StrEnum):
    STRUCK = "struck"            # awarded, waiting for signatures
    IN_FORCE = "in_force"        # the contract has taken effect; payments run
    COMPLETED = "completed"      # paid, transferred, paid out
    DEFAULTED = "defaulted"      # the buyer did not sign or pay in time
    CANCELLED = "cancelled"      # superseded (offered to the runner-up) or relisted


class NegotiationState(enum.StrEnum):
    OPEN = "open"
    BUYER_CONFIRMED = "buyer_confirmed"
    CONCLUDED = "concluded"
    FAILED = "failed"


class Auction(Base):
    """One auction of one listing; the row is the lock every bid takes."""

    __tablename__ = "auctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listings.id"), unique=True)
    format: Mapped[AuctionFormat] = mapped_column(enum_type(AuctionFormat))
    state: Mapped[AuctionState] = mapped_column(enum_type(AuctionState), index=True)
    start_price_fen: Mapped[int] = mapped_column(Fen)
    increment_fen: Mapped[int | None] = mapped_column(Fen)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    free_period_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    countdown_seconds: Mapped[int] = mapped_column(default=300)
    hard_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leader_may_raise: Mapped[bool] = mapped_column(default=False)
    sealed_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    step_down_fen: Mapped[int | None] = mapped_column(Fen)
    step_interval_seconds: Mapped[int | None]
    floor_price_fen: Mapped[int | None] = mapped_column(Fen)
    # The live snapshot, updated under the row lock with each accepted bid.
    current_price_fen: Mapped[int | None] = mapped_column(Fen)
    leader_bidder_no: Mapped[str | None] = mapped_column(sa.String(10))
    bid_count: Mapped[int] = mapped_column(default=0)
    last_bid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    effective_end_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hammer_price_fen: Mapped[int | None] = mapped_column(Fen)
    winner_bidder_no: Mapped[str | None] = mapped_column(sa.String(10))
    unsold: Mapped[bool] = mapped_column(default=False)
    result_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    listing: Mapped[Listing] = relationship()
    bidders: Mapped[list[AuctionBidder]] = relationship(back_populates="auction", order_by="AuctionBidder.id")

    __table_args__ = (
        sa.CheckConstraint("start_price_fen > 0", name="start_price_positive"),
        sa.CheckConstraint("bid_count >= 0", name="bid_count_not_negative"),
    )


class AuctionBidder(Base):
    """A qualified registrant admitted to the auction under a bidder number (竞买号)."""

    __tablename__ = "auction_bidders"

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(sa.ForeignKey("auctions.id"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("buyer_registrations.id"), unique=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    bidder_no: Mapped[str] = mapped_column(sa.String(10))
    defaulted: Mapped[bool] = mapped_column(default=False)

    auction: Mapped[Auction] = relationship(back_populates="bidders")
    registration: Mapped[BuyerRegistration] = relationship()
    party: Mapped[Party] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("auction_id", "bidder_no", name="uq_auction_bidders_auction_id_bidder_no"),
        sa.UniqueConstraint("auction_id", "party_id", name="uq_auction_bidders_auction_id_party_id"),
    )


class Bid(Base):
    """Every accepted bid, in order: the bidding record (竞价记录)."""

    __tablename__ = "bids"

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(sa.ForeignKey("auctions.id"))
    bidder_id: Mapped[int] = mapped_column(sa.ForeignKey("auction_bidders.id"))
    bidder_no: Mapped[str] = mapped_column(sa.String(10))
    amount_fen: Mapped[int] = mapped_column(Fen)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seq: Mapped[int]  # 1, 2, 3... per auction
    sealed: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("auction_id", "seq", name="uq_bids_auction_id_seq"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        # In open bidding no two bids can hold the same price step, whatever the code does.
        sa.Index("uq_bids_open_price_step", "auction_id", "amount_fen", unique=True,
                 sqlite_where=sa.text("sealed = 0"), postgresql_where=sa.text("NOT sealed")),
        # One sealed bid per bidder.
        sa.Index("uq_bids_one_sealed_per_bidder", "auction_id", "bidder_id", unique=True,
                 sqlite_where=sa.text("sealed = 1"), postgresql_where=sa.text("sealed")),
    )


class Negotiation(Base):
    """A negotiated transfer (协议转让) with the one qualified buyer."""

    __tablename__ = "negotiations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listings.id"), unique=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("buyer_registrations.id"))
    state: Mapped[NegotiationState] = mapped_column(enum_type(NegotiationState))
    price_fen: Mapped[int | None] = mapped_column(Fen)
    buyer_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    listing: Mapped[Listing] = relationship()
    registration: Mapped[BuyerRegistration] = relationship()


class Deal(Base):
    """The deal (成交): every way of striking one ends here; contracts and settlement hang off it."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    method: Mapped[DealMethod] = mapped_column(enum_type(DealMethod))
    state: Mapped[DealState] = mapped_column(enum_type(DealState), index=True)
    listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listings.id"), index=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    seller_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    buyer_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    mode: Mapped[TradingMode] = mapped_column(enum_type(TradingMode))
    price_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    auction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("auctions.id"))
    negotiation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("negotiations.id"))
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("buyer_registrations.id"))
    open_licence_taking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("open_licence_takings.id"),
                                                               unique=True)
    # The deal this one replaced (offered to the runner-up after the winner defaulted).
    replaces_deal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deals.id"))
    terms: Mapped[dict[str, Any]] = mapped_column(JSONType)  # licence term, territory, royalty etc.
    struck_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sign_by: Mapped[datetime] = mapped_column(UTCDateTime())
    in_force_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(sa.Text)

    listing: Mapped[Listing | None] = relationship()
    asset: Mapped[Asset] = relationship()
    seller: Mapped[Party] = relationship(foreign_keys=[seller_party_id])
    buyer: Mapped[Party] = relationship(foreign_keys=[buyer_party_id])
    registration: Mapped[BuyerRegistration | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("seller_party_id <> buyer_party_id", name="distinct_parties"),
        # A listing has at most one live deal; a replaced one is cancelled first.
        sa.Index("uq_deals_one_live_per_listing", "listing_id", unique=True,
                 sqlite_where=sa.text("state IN ('struck', 'in_force', 'completed')"),
                 postgresql_where=sa.text("state IN ('struck', 'in_force', 'completed')")),
    )
