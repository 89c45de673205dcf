"""marshmallow schemas of the contracts API."""
from __future__ import annotations

import marshmallow as ma

from contracts import domain as cd
from exchange.pagination import PageArgsSchema, PageMetaSchema
from exchange.schemas import StrictSchema
from listings.fields import TECH_FIELDS
from listings.schemas import PartyRefSchema
from listings.schemas import ReasonSchema  # noqa: F401  (shared so the OpenAPI document has one)

Fen = lambda **kw: ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=10**15 - 1), **kw)  # noqa: E731
Sha256 = lambda **kw: ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-f]{64}$"), **kw)  # noqa: E731


# --------------------------------------------------------------------------- contracts
class ContractSignatureSchema(ma.Schema):
    side = ma.fields.Enum(cd.SigningSide, by_value=True)
    party = ma.fields.Nested(PartyRefSchema)
    signer = ma.fields.Function(lambda s: s.user.display_name)
    signed_at = ma.fields.DateTime()
    text_sha256 = ma.fields.String()


class NonTechnicalItemSchema(ma.Schema):
    description = ma.fields.String()
    amount_fen = ma.fields.Integer()
    currency = ma.fields.String()


class ContractSummarySchema(ma.Schema):
    ref = ma.fields.String()
    deal_ref = ma.fields.Function(lambda c: c.deal.ref)
    listing_ref = ma.fields.Function(lambda c: c.deal.listing.ref if c.deal.listing else None)
    state = ma.fields.Enum(cd.ContractState, by_value=True)
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True)
    title = ma.fields.String()
    seller = ma.fields.Function(lambda c: {"ref": c.deal.seller.ref, "name": c.deal.seller.name})
    buyer = ma.fields.Function(lambda c: {"ref": c.deal.buyer.ref, "name": c.deal.buyer.name})
    price_fen = ma.fields.Function(lambda c: c.deal.price_fen)
    currency = ma.fields.Function(lambda c: c.deal.currency)
    text_sha256 = ma.fields.String()
    drafted_at = ma.fields.DateTime()
    sign_by = ma.fields.Function(lambda c: c.deal.sign_by.isoformat())
    in_force_at = ma.fields.DateTime(allow_none=True)
    record_hash = ma.fields.String()


class ContractSchema(ContractSummarySchema):
    text = ma.fields.String(metadata={"description": "the exact text that is signed; its SHA-256 is text_sha256"})
    text_edited = ma.fields.Boolean()
    signatures = ma.fields.List(ma.fields.Nested(ContractSignatureSchema))
    non_technical_items = ma.fields.List(ma.fields.Nested(NonTechnicalItemSchema))
    technology_amount_fen = ma.fields.Method("_tech")
    closed_at = ma.fields.DateTime(allow_none=True)
    close_reason = ma.fields.String(allow_none=True)

    def _tech(self, c):  # type: ignore[no-untyped-def]
        from contracts.service import technology_amount_of

        return technology_amount_of(c).fen


class ContractPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ContractSummarySchema))
    meta = ma.fields.Nested(PageMetaSchema)


class ContractListArgsSchema(PageArgsSchema):
    class Meta:
        unknown = ma.RAISE

    state = ma.fields.Enum(cd.ContractState, by_value=True, load_default=None)
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True, load_default=None)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True, load_default=None)
    party_ref = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))
    deal_ref = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))
    drafted_from = ma.fields.Date(load_default=None, metadata={"description": "Shanghai date, inclusive"})
    drafted_to = ma.fields.Date(load_default=None, metadata={"description": "Shanghai date, inclusive"})


class ContractExportArgsSchema(StrictSchema):
    state = ma.fields.Enum(cd.ContractState, by_value=True, load_default=None)
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True, load_default=None)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True, load_default=None)
    party_ref = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))
    drafted_from = ma.fields.Date(load_default=None)
    drafted_to = ma.fields.Date(load_default=None)


class BundleArgsSchema(StrictSchema):
    start = ma.fields.Date(required=True, data_key="from", metadata={"description": "Shanghai date, inclusive"})
    end = ma.fields.Date(required=True, data_key="to", metadata={"description": "Shanghai date, inclusive"})


class ContractSignSchema(StrictSchema):
    text_sha256 = Sha256(required=True, metadata={"description": "SHA-256 of the exact contract text being signed"})


class ContractTextEditSchema(StrictSchema):
    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200_000))
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class NonTechnicalItemInputSchema(StrictSchema):
    description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500))
    amount_fen = Fen(required=True)


class NonTechnicalItemsSchema(StrictSchema):
    items = ma.fields.List(ma.fields.Nested(NonTechnicalItemInputSchema), required=True, validate=ma.validate.Length(max=50))


# --------------------------------------------------------------------------- registrations
class RegistrationDeadlineSchema(ma.Schema):
    due_on = ma.fields.Date()
    provisional = ma.fields.Boolean()
    pending = ma.fields.Boolean()
    working_days_left = ma.fields.Integer(allow_none=True)
    overdue = ma.fields.Boolean()
    flagged_at = ma.fields.DateTime(allow_none=True)


class TechRegistrationPartySchema(ma.Schema):
    role = ma.fields.String()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    region_code = ma.fields.String()
    entity_type = ma.fields.String()


class RegistrationProblemSchema(ma.Schema):
    reason = ma.fields.String()
    message = ma.fields.String()
    field = ma.fields.String(allow_none=True)


class TaxReliefSchema(ma.Schema):
    vat_exempt = ma.fields.Boolean()
    income_tax_relief = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String())


class TechRegistrationChangeSchema(ma.Schema):
    kind = ma.fields.String()
    changes = ma.fields.Dict()
    reason = ma.fields.String()
    recorded_at = ma.fields.DateTime()
    recorded_by = ma.fields.String()


class TechRegistrationSchema(ma.Schema):
    ref = ma.fields.String()
    contract_ref = ma.fields.Function(lambda r: r.contract.ref)
    state = ma.fields.Enum(cd.RegistrationState, by_value=True)
    registration_number = ma.fields.String(allow_none=True)
    region_code = ma.fields.String()
    contract_name = ma.fields.String()
    subject = ma.fields.String()
    asset_refs = ma.fields.List(ma.fields.String())
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True)
    technical_field = ma.fields.String()
    ip_type = ma.fields.String()
    signing_date = ma.fields.Date(allow_none=True)
    term_start = ma.fields.Date(allow_none=True)
    term_end = ma.fields.Date(allow_none=True)
    licence_term_years = ma.fields.String(allow_none=True)
    deal_amount_fen = ma.fields.Integer()
    tech_amount_fen = ma.fields.Integer()
    currency = ma.fields.String()
    parties = ma.fields.List(ma.fields.Nested(TechRegistrationPartySchema))
    seller_state_owned = ma.fields.Boolean()
    appraisal_filed = ma.fields.Boolean()
    seller_is_resident_company = ma.fields.Boolean()
    export_controlled = ma.fields.Boolean()
    export_licence_obtained = ma.fields.Boolean()
    restrictive_clauses_flagged = ma.fields.Boolean()
    disputed = ma.fields.Boolean()
    wholly_related = ma.fields.Boolean()
    submitted_at = ma.fields.DateTime()
    submitted_by = ma.fields.String()
    due_on = ma.fields.Date()
    due_provisional = ma.fields.Boolean()
    deadline = ma.fields.Nested(RegistrationDeadlineSchema)
    decided_at = ma.fields.DateTime(allow_none=True)
    registered_on = ma.fields.Date(allow_none=True)
    refusal_reasons = ma.fields.List(ma.fields.Nested(RegistrationProblemSchema), allow_none=True)
    decision_note = ma.fields.String(allow_none=True)
    tax_relief = ma.fields.Nested(TaxReliefSchema, allow_none=True)
    changes = ma.fields.List(ma.fields.Nested(TechRegistrationChangeSchema))
    record_hash = ma.fields.String()


class TechRegistrationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TechRegistrationSchema))
    meta = ma.fields.Nested(PageMetaSchema)


class TechRegistrationListArgsSchema(PageArgsSchema):
    class Meta:
        unknown = ma.RAISE

    state = ma.fields.Enum(cd.RegistrationState, by_value=True, load_default=None)
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True, load_default=None)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True, load_default=None)
    overdue = ma.fields.Boolean(load_default=None)
    due_before = ma.fields.Date(load_default=None)
    submitted_from = ma.fields.Date(load_default=None)
    submitted_to = ma.fields.Date(load_default=None)
    registration_number = ma.fields.String(load_default=None, validate=ma.validate.Length(max=30))


class TechRegistrationSubmitSchema(StrictSchema):
    contract_type = ma.fields.Enum(cd.ContractType, by_value=True, load_default=None)
    subtype = ma.fields.Enum(cd.ContractSubtype, by_value=True, load_default=None)
    contract_name = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    subject = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))
    asset_refs = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=60)), load_default=None,
                                validate=ma.validate.Length(max=20))
    technical_field = ma.fields.String(load_default=None, validate=ma.validate.OneOf(list(TECH_FIELDS)))
    licence_term_years = ma.fields.String(load_default=None, allow_none=True,
                                          validate=ma.validate.Regexp(r"^[0-9]{1,3}(\.[0-9]{1,2})?$"),
                                          metadata={"description": "licence term in years, e.g. \"5\" or \"2.5\""})
    export_controlled = ma.fields.Boolean(load_default=False)
    export_licence_obtained = ma.fields.Boolean(load_default=False)
    disputed = ma.fields.Boolean(load_default=False)
    wholly_related = ma.fields.Boolean(load_default=False)


class ReviewFlagsSchema(StrictSchema):
    export_controlled = ma.fields.Boolean()
    export_licence_obtained = ma.fields.Boolean()
    restrictive_clauses_flagged = ma.fields.Boolean()
    disputed = ma.fields.Boolean()
    wholly_related = ma.fields.Boolean()


class DecisionNoteSchema(StrictSchema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class RefuseSchema(StrictSchema):
    reasons = ma.fields.List(ma.fields.Enum(cd.RefusalReason, by_value=True), load_default=list,
                             metadata={"description": "empty: every reason the data shows"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


class RegistrationChangeInputSchema(StrictSchema):
    changes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), required=True,
                             metadata={"description": "field -> new value; see the service for changeable fields"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


class RegistrationProblemsSchema(ma.Schema):
    problems = ma.fields.List(ma.fields.Nested(RegistrationProblemSchema))
    deadline = ma.fields.Nested(RegistrationDeadlineSchema)


# --------------------------------------------------------------------------- certificates
class CertificateSchema(ma.Schema):
    ref = ma.fields.String()
    deal_ref = ma.fields.Function(lambda c: c.deal.ref)
    contract_ref = ma.fields.Function(lambda c: c.contract.ref)
    short_code = ma.fields.String()
    serial = ma.fields.Integer()
    fingerprint = ma.fields.String()
    state = ma.fields.Enum(cd.CertificateState, by_value=True)
    data = ma.fields.Dict()
    issued_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    revoked_reason = ma.fields.String(allow_none=True)
    record_hash = ma.fields.String()


class CertificatePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CertificateSchema))
    meta = ma.fields.Nested(PageMetaSchema)


class CertificateListArgsSchema(PageArgsSchema):
    class Meta:
        unknown = ma.RAISE

    state = ma.fields.Enum(cd.CertificateState, by_value=True, load_default=None)
    deal_ref = ma.fields.String(load_default=None, validate=ma.validate.Length(max=20))
    issued_from = ma.fields.Date(load_default=None)
    issued_to = ma.fields.Date(load_default=None)


class CertificateReadinessSchema(ma.Schema):
    deal_ref = ma.fields.String()
    contract_ref = ma.fields.String(allow_none=True)
    conditions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())
    missing = ma.fields.List(ma.fields.String())
    issuable = ma.fields.Boolean()
    settled = ma.fields.Boolean()
    certificate_ref = ma.fields.String(allow_none=True)


class CertificateVerificationSchema(ma.Schema):
    code = ma.fields.String()
    certificate_number = ma.fields.String()
    state = ma.fields.String()
    valid = ma.fields.Boolean()
    fingerprint = ma.fields.String()
    issued_on = ma.fields.Date()
    revoked_on = ma.fields.Date(allow_none=True)


# --------------------------------------------------------------------------- records
class RecordMismatchSchema(ma.Schema):
    kind = ma.fields.String()
    ref = ma.fields.String()
    problem = ma.fields.String()


class RecordsReportSchema(ma.Schema):
    ok = ma.fields.Boolean()
    checked = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    mismatches = ma.fields.List(ma.fields.Nested(RecordMismatchSchema))
