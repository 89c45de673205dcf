"""marshmallow schemas of the auctions API."""
from __future__ import annotations

import marshmallow as ma

from auctions.models import DealMethod, DealState, NegotiationState
from exchange.schemas import StrictSchema
from listings import domain as ld
from listings.schemas import PartyRefSchema as PartyRef
from listings.schemas import ReasonSchema  # noqa: F401  (shared so the OpenAPI document has one)


class AuctionStateSchema(ma.Schema):
    ref = ma.fields.String()
    listing_ref = ma.fields.String()
    title = ma.fields.String()
    format = ma.fields.String()
    state = ma.fields.String()
    phase = ma.fields.String(allow_none=True)
    starts_at = ma.fields.DateTime()
    free_period_ends_at = ma.fields.DateTime(allow_none=True)
    effective_end_at = ma.fields.DateTime()
    hard_end_at = ma.fields.DateTime(allow_none=True)
    server_time = ma.fields.DateTime()
    seconds_left = ma.fields.Float()
    start_price_fen = ma.fields.Integer()
    increment_fen = ma.fields.Integer(allow_none=True)
    current_price_fen = ma.fields.Integer(allow_none=True)
    leader_bidder_no = ma.fields.String(allow_none=True)
    bid_count = ma.fields.Integer()
    min_next_bid_fen = ma.fields.Integer(allow_none=True)
    countdown_seconds = ma.fields.Integer()
    your_bidder_no = ma.fields.String(allow_none=True)
    you_lead = ma.fields.Boolean()
    hammer_price_fen = ma.fields.Integer(allow_none=True)
    winner_bidder_no = ma.fields.String(allow_none=True)
    unsold = ma.fields.Boolean()
    result_published = ma.fields.Boolean()
    winner_name = ma.fields.String(allow_none=True)
    version = ma.fields.String(metadata={"description": "changes whenever the live state changes"})


class WaitArgsSchema(StrictSchema):
    version = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    timeout = ma.fields.Integer(load_default=25, validate=ma.validate.Range(min=0, max=30))


class BidCreateSchema(StrictSchema):
    amount_fen = ma.fields.Integer(required=True, strict=True,
                                   metadata={"description": "the bid in fen; ignored for a descending acceptance"})


class BidSchema(ma.Schema):
    seq = ma.fields.Integer()
    bidder_no = ma.fields.String()
    amount_fen = ma.fields.Integer()
    placed_at = ma.fields.DateTime()


class BidReceiptAuctionSchema(ma.Schema):
    """The auction right after the bid (a subset of the live state, built without further queries)."""

    ref = ma.fields.String()
    state = ma.fields.String()
    bid_count = ma.fields.Integer()
    server_time = ma.fields.DateTime()
    current_price_fen = ma.fields.Integer(allow_none=True)
    leader_bidder_no = ma.fields.String(allow_none=True)
    you_lead = ma.fields.Boolean()
    effective_end_at = ma.fields.DateTime()
    min_next_bid_fen = ma.fields.Integer(allow_none=True)
    version = ma.fields.String()


class BidAcceptedSchema(BidSchema):
    auction = ma.fields.Nested(BidReceiptAuctionSchema)


class ScheduleSchema(StrictSchema):
    starts_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    step_down_fen = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                      validate=ma.validate.Range(min=1))
    step_interval_seconds = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                              validate=ma.validate.Range(min=10, max=3600))
    floor_price_fen = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                        validate=ma.validate.Range(min=1))
    sealed_minutes = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                       validate=ma.validate.Range(min=5, max=7 * 24 * 60))


class NegotiationSchema(ma.Schema):
    ref = ma.fields.String()
    listing_ref = ma.fields.Function(lambda n: n.listing.ref)
    state = ma.fields.Enum(NegotiationState, by_value=True)
    price_fen = ma.fields.Integer(allow_none=True)
    min_price_fen = ma.fields.Function(lambda n: n.listing.price_fen)
    buyer_confirmed_at = ma.fields.DateTime(allow_none=True)
    concluded_at = ma.fields.DateTime(allow_none=True)
    note = ma.fields.String()


class PriceSchema(StrictSchema):
    price_fen = ma.fields.Integer(required=True, strict=True)


class ResultSchema(StrictSchema):
    concluded = ma.fields.Boolean(required=True)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class DealSchema(ma.Schema):
    ref = ma.fields.String()
    method = ma.fields.Enum(DealMethod, by_value=True)
    state = ma.fields.Enum(DealState, by_value=True)
    listing_ref = ma.fields.Function(lambda d: d.listing.ref if d.listing else None)
    asset_ref = ma.fields.Function(lambda d: d.asset.ref)
    asset_title = ma.fields.Function(lambda d: d.asset.title)
    seller = ma.fields.Nested(PartyRef)
    buyer = ma.fields.Nested(PartyRef)
    mode = ma.fields.Enum(ld.TradingMode, by_value=True)
    price_fen = ma.fields.Integer()
    currency = ma.fields.String()
    terms = ma.fields.Dict()
    struck_at = ma.fields.DateTime()
    sign_by = ma.fields.DateTime()
    in_force_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    close_reason = ma.fields.String(allow_none=True)
