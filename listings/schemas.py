"""marshmallow schemas of the listings API."""
from __future__ import annotations

import marshmallow as ma

from exchange.clock import local_date
from exchange.context import get_clock
from exchange.pagination import PageArgsSchema, PageMetaSchema
from exchange.schemas import StrictSchema
from listings import domain as d
from listings.fields import TECH_FIELDS

Fen = lambda **kw: ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=10**15 - 1), **kw)  # noqa: E731


class PartyRefSchema(ma.Schema):
    ref = ma.fields.String()
    name = ma.fields.String()


class AssetCreateSchema(StrictSchema):
    kind = ma.fields.Enum(d.AssetKind, by_value=True, required=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    technical_field = ma.fields.String(required=True, validate=ma.validate.OneOf(list(TECH_FIELDS)))
    number = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=40))
    filing_date = ma.fields.Date(load_default=None, allow_none=True)
    summary = ma.fields.String(load_default="", validate=ma.validate.Length(max=5000))
    confidential_details = ma.fields.String(load_default=None, allow_none=True,
                                            validate=ma.validate.Length(max=20000))
    employee_invention_of = ma.fields.String(load_default=None, allow_none=True,
                                             metadata={"description": "party ref of the institution"})
    co_owners = ma.fields.List(ma.fields.String(), load_default=list, validate=ma.validate.Length(max=20))


class OwnerSchema(ma.Schema):
    party = ma.fields.Nested(PartyRefSchema)
    share_bp = ma.fields.Integer(allow_none=True)
    consented = ma.fields.Boolean()
    consent_document_id = ma.fields.Integer(allow_none=True)


class HoldingSchema(ma.Schema):
    id = ma.fields.Integer()
    party = ma.fields.Nested(PartyRefSchema)
    right_type = ma.fields.Enum(d.RightType, by_value=True)


class EncumbranceSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Enum(d.EncumbranceKind, by_value=True)
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date(allow_none=True)
    holder_name = ma.fields.String()
    consent_to_transfer = ma.fields.Boolean()
    released_on = ma.fields.Date(allow_none=True)
    note = ma.fields.String()
    pledge_ref = ma.fields.String(allow_none=True)


class DocumentSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    public = ma.fields.Boolean()
    uploaded_at = ma.fields.DateTime()


class AssetSchema(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.Enum(d.AssetKind, by_value=True)
    title = ma.fields.String()
    summary = ma.fields.String()
    technical_field = ma.fields.String()
    number = ma.fields.String(allow_none=True)
    filing_date = ma.fields.Date(allow_none=True)
    expiry_date = ma.fields.Date(allow_none=True)
    lapsed = ma.fields.Boolean()
    confirmation = ma.fields.Enum(d.AssetConfirmation, by_value=True)
    confirmed_at = ma.fields.DateTime(allow_none=True)
    holder = ma.fields.Nested(PartyRefSchema)
    confidential_details = ma.fields.String(allow_none=True,
                                            metadata={"description": "technical secrets: holder and operators only"})
    owners = ma.fields.List(ma.fields.Nested(OwnerSchema))
    holdings = ma.fields.List(ma.fields.Nested(HoldingSchema))
    encumbrances = ma.fields.List(ma.fields.Nested(EncumbranceSchema))
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema))


class OwnerSetSchema(StrictSchema):
    party_ref = ma.fields.String(required=True)
    consented = ma.fields.Boolean(required=True)
    share_bp = ma.fields.Integer(load_default=None, allow_none=True, strict=True)
    consent_document_id = ma.fields.Integer(load_default=None, allow_none=True, strict=True)


class HoldingCreateSchema(StrictSchema):
    party_ref = ma.fields.String(required=True)
    right_type = ma.fields.Enum(d.RightType, by_value=True, required=True)


class AuthorisationCreateSchema(StrictSchema):
    institution_ref = ma.fields.String(required=True)
    grantee_ref = ma.fields.String(required=True)
    trading_modes = ma.fields.List(ma.fields.Enum(d.TradingMode, by_value=True), load_default=list)
    valid_from = ma.fields.Date(load_default=None, allow_none=True)
    valid_until = ma.fields.Date(load_default=None, allow_none=True)
    document_id = ma.fields.Integer(required=True, strict=True)


class EncumbranceCreateSchema(StrictSchema):
    kind = ma.fields.Enum(d.EncumbranceKind, by_value=True, required=True)
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(load_default=None, allow_none=True)
    holder_party_ref = ma.fields.String(load_default=None, allow_none=True)
    holder_name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    consent_to_transfer = ma.fields.Boolean(load_default=False)
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class EncumbranceUpdateSchema(StrictSchema):
    consent_to_transfer = ma.fields.Boolean(load_default=None, allow_none=True)
    released_on = ma.fields.Date(load_default=None, allow_none=True)


class UploadFormSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    public = ma.fields.Boolean(load_default=False)


class UploadFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ReviewSchema(StrictSchema):
    checklist = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean(), required=True)
    confirm = ma.fields.Boolean(required=True)
    reasons = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))


class ReviewResultSchema(ma.Schema):
    decision = ma.fields.Enum(d.AssetConfirmation, by_value=True)
    checklist = ma.fields.Dict()
    problems = ma.fields.List(ma.fields.Dict())
    reasons = ma.fields.String()
    decided_at = ma.fields.DateTime()


class ChecksSchema(ma.Schema):
    problems = ma.fields.List(ma.fields.Dict())


class ValuationCreateSchema(StrictSchema):
    method = ma.fields.Enum(d.ValuationMethod, by_value=True, required=True)
    inputs = ma.fields.Dict(load_default=dict, metadata={"description": (
        "cost: replacement_cost_fen, physical/functional/economic_depreciation_fen; income: yearly_revenue_fen "
        "(list), royalty_share and discount_rate as decimal strings, economic_life_years; market: none")})


class ValuationSchema(ma.Schema):
    ref = ma.fields.String()
    method = ma.fields.Enum(d.ValuationMethod, by_value=True)
    inputs = ma.fields.Dict()
    result = ma.fields.Dict()
    value_fen = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class AppraisalCreateSchema(StrictSchema):
    appraiser = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    report_number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    value_fen = Fen(required=True)
    report_date = ma.fields.Date(required=True)
    document_id = ma.fields.Integer(load_default=None, allow_none=True, strict=True)


class AppraisalSchema(ma.Schema):
    appraiser = ma.fields.String()
    report_number = ma.fields.String()
    value_fen = ma.fields.Integer()
    report_date = ma.fields.Date()


class PricingSchema(ma.Schema):
    valuations = ma.fields.List(ma.fields.Nested(ValuationSchema))
    appraisal = ma.fields.Nested(AppraisalSchema, allow_none=True)
    appraisal_required = ma.fields.Boolean()
    reference_low_fen = ma.fields.Integer(allow_none=True)
    reference_high_fen = ma.fields.Integer(allow_none=True)


class TermsFields(StrictSchema):
    title = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    mode = ma.fields.Enum(d.TradingMode, by_value=True)
    price_fen = Fen()
    deposit_fen = Fen()
    increment_fen = Fen()
    description = ma.fields.String(validate=ma.validate.Length(max=10000))
    licence_term_months = ma.fields.Integer(allow_none=True, strict=True)
    territory = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    auction_format = ma.fields.String(validate=ma.validate.OneOf(["ascending", "sealed", "descending"]))
    free_bidding_minutes = ma.fields.Integer(strict=True)
    countdown_seconds = ma.fields.Integer(strict=True)
    hard_end_minutes = ma.fields.Integer(allow_none=True, strict=True)
    leader_may_raise = ma.fields.Boolean()
    qualification_conditions = ma.fields.String(validate=ma.validate.Length(max=5000))
    disclosures = ma.fields.String(validate=ma.validate.Length(max=10000))
    publicity_working_days = ma.fields.Integer(strict=True)
    allows_extension = ma.fields.Boolean()
    max_extensions = ma.fields.Integer(strict=True)


class ListingCreateSchema(TermsFields):
    asset_ref = ma.fields.String(required=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    mode = ma.fields.Enum(d.TradingMode, by_value=True, required=True)
    price_fen = Fen(required=True)
    deposit_fen = Fen(required=True)
    increment_fen = Fen(required=True)


class ReasonSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class WithdrawalSchema(ReasonSchema):
    expect_forfeit = ma.fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "what the buyer was told (withdrawal_forfeits_deposit); if that is no longer so when the "
                       "withdrawal is made, it is refused with withdrawal_terms_changed and nothing changes"})


class RegistrationSummarySchema(ma.Schema):
    ref = ma.fields.String()
    state = ma.fields.Enum(d.RegistrationState, by_value=True)


class ListingSchema(ma.Schema):
    ref = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    state = ma.fields.Enum(d.ListingState, by_value=True)
    mode = ma.fields.Enum(d.TradingMode, by_value=True)
    asset = ma.fields.Method("_asset")
    seller = ma.fields.Nested(PartyRefSchema)
    price_fen = ma.fields.Integer()
    deposit_fen = ma.fields.Integer()
    increment_fen = ma.fields.Integer()
    currency = ma.fields.String()
    licence_term_months = ma.fields.Integer(allow_none=True)
    territory = ma.fields.String(allow_none=True)
    auction_format = ma.fields.String()
    free_bidding_minutes = ma.fields.Integer()
    countdown_seconds = ma.fields.Integer()
    hard_end_minutes = ma.fields.Integer(allow_none=True)
    leader_may_raise = ma.fields.Boolean()
    qualification_conditions = ma.fields.String()
    disclosures = ma.fields.String()
    publicity_working_days = ma.fields.Integer()
    publicity_start = ma.fields.Date(allow_none=True)
    publicity_end = ma.fields.Date(allow_none=True)
    publicity_ends_at = ma.fields.DateTime(allow_none=True)
    publicity_provisional = ma.fields.Boolean()
    suspended_on = ma.fields.Date(allow_none=True, metadata={"description": "Shanghai date the suspension (中止) began"})
    suspension_limit = ma.fields.Method("_suspension_limit", metadata={
        "type": "string", "format": "date", "nullable": True,
        "description": "while suspended: the last day of the normal one-month limit, after which the operator "
                       "should resume or terminate the listing"})
    suspension_overdue = ma.fields.Method("_suspension_overdue", metadata={
        "type": "boolean", "description": "suspended for longer than the one-month limit"})
    allows_extension = ma.fields.Boolean()
    max_extensions = ma.fields.Integer()
    extensions_used = ma.fields.Integer()
    attempt = ma.fields.Integer()
    registrations_count = ma.fields.Method("_reg_count")
    qualified_count = ma.fields.Method("_qualified")
    deal_price_fen = ma.fields.Integer(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)

    def _asset(self, listing):  # type: ignore[no-untyped-def]
        a = listing.asset
        return {"ref": a.ref, "kind": a.kind.value, "title": a.title, "number": a.number,
                "technical_field": a.technical_field, "confirmation": a.confirmation.value,
                "expiry_date": a.expiry_date.isoformat() if a.expiry_date else None}

    def _suspension_limit(self, listing):  # type: ignore[no-untyped-def]
        if listing.state != d.ListingState.SUSPENDED or listing.suspended_on is None:
            return None
        return d.suspension_limit(listing.suspended_on).isoformat()

    def _suspension_overdue(self, listing):  # type: ignore[no-untyped-def]
        if listing.state != d.ListingState.SUSPENDED or listing.suspended_on is None:
            return False
        return d.suspension_overdue(listing.suspended_on, local_date(get_clock().now()))

    def _reg_count(self, listing):  # type: ignore[no-untyped-def]
        return len(listing.registrations)

    def _qualified(self, listing):  # type: ignore[no-untyped-def]
        return sum(1 for r in listing.registrations if r.state == d.RegistrationState.QUALIFIED)


class ListingPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ListingSchema))
    meta = ma.fields.Nested(PageMetaSchema)


class CatalogueArgsSchema(PageArgsSchema):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    kind = ma.fields.Enum(d.AssetKind, by_value=True, load_default=None)
    technical_field = ma.fields.String(load_default=None, validate=ma.validate.OneOf(list(TECH_FIELDS)))
    mode = ma.fields.Enum(d.TradingMode, by_value=True, load_default=None)
    state = ma.fields.Enum(d.ListingState, by_value=True, load_default=None)
    # Not strict: query-string values arrive as text.
    min_price_fen = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=10**15 - 1))
    max_price_fen = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0, max=10**15 - 1))
    ending_before = ma.fields.Date(load_default=None)

    class Meta:
        unknown = ma.RAISE


class RegistrationCreateSchema(StrictSchema):
    declaration = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000),
                                   metadata={"description": "the buyer's declaration that it meets the conditions"})


class DeclarationSchema(RegistrationCreateSchema):
    """A renewed declaration, against qualification conditions that changed after the buyer registered."""


class RegistrationSchema(ma.Schema):
    ref = ma.fields.String()
    listing_ref = ma.fields.Method("_listing_ref")
    buyer = ma.fields.Nested(PartyRefSchema)
    state = ma.fields.Enum(d.RegistrationState, by_value=True)
    declaration = ma.fields.String()
    deposit_fen = ma.fields.Integer()
    currency = ma.fields.String()
    deposit_due_at = ma.fields.DateTime()
    deposit_paid_at = ma.fields.DateTime(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    registered_at = ma.fields.DateTime()
    declared_at = ma.fields.DateTime(metadata={"description": "when the buyer last declared it meets the conditions"})
    qualified_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "when the exchange qualified the buyer (cleared when new conditions send it back to review)"})
    declaration_outdated = ma.fields.Boolean(metadata={
        "description": "the qualification conditions changed after the declaration: declare again to be qualified"})
    withdrawal_forfeits_deposit = ma.fields.Boolean(metadata={
        "description": "withdrawing now forfeits the deposit (qualified under the terms in force)"})
    forfeit_on_withdrawal = ma.fields.Boolean(allow_none=True, metadata={
        "description": "for a withdrawn registration: whether the withdrawal forfeited the deposit"})

    def _listing_ref(self, r):  # type: ignore[no-untyped-def]
        return r["listing_ref"] if isinstance(r, dict) else r.listing.ref


class DecisionSchema(StrictSchema):
    qualify = ma.fields.Boolean(required=True)
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class OpenLicenceCreateSchema(StrictSchema):
    asset_ref = ma.fields.String(required=True)
    fee_kind = ma.fields.Enum(d.OpenLicenceFeeKind, by_value=True, required=True)
    term_start = ma.fields.Date(required=True)
    term_end = ma.fields.Date(required=True)
    lump_sum_fen = Fen(load_default=None, allow_none=True)
    entry_fee_fen = Fen(load_default=None, allow_none=True)
    royalty_rate = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=12))


class OpenLicenceSchema(ma.Schema):
    ref = ma.fields.String()
    asset_ref = ma.fields.Function(lambda o: o.asset.ref)
    asset_title = ma.fields.Function(lambda o: o.asset.title)
    fee_kind = ma.fields.Enum(d.OpenLicenceFeeKind, by_value=True)
    lump_sum_fen = ma.fields.Integer(allow_none=True)
    entry_fee_fen = ma.fields.Integer(allow_none=True)
    royalty_rate = ma.fields.String(allow_none=True)
    term_start = ma.fields.Date()
    term_end = ma.fields.Date()
    declared_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)


class TakeSchema(StrictSchema):
    notice = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))


class TakingSchema(ma.Schema):
    id = ma.fields.Integer()
    licensee_party_id = ma.fields.Integer()
    taken_at = ma.fields.DateTime()
