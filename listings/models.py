"""Tables of the listings package: assets and their rights, evidence, reviews,
valuations, appraisals, listings, buyer registrations and open licences."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, JSONType, UTCDateTime, enum_type
from exchange.models import Party
from listings.domain import (
    AssetConfirmation,
    AssetKind,
    EncumbranceKind,
    ListingState,
    OpenLicenceFeeKind,
    RegistrationState,
    RightType,
    TradingMode,
    ValuationMethod,
    declaration_outdated,
    withdrawal_forfeits_deposit,
)

Fen = sa.BigInteger


class Asset(Base):
    """A technology right (技术成果) registered by its holder."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[AssetKind] = mapped_column(enum_type(AssetKind))
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    technical_field: Mapped[str] = mapped_column(sa.String(40), index=True)
    # Normal form of the patent / registration number; NULL for technical secrets.
    number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    filing_date: Mapped[date | None] = mapped_column(sa.Date)
    expiry_date: Mapped[date | None] = mapped_column(sa.Date)
    lapsed: Mapped[bool] = mapped_column(default=False)  # 失效: unpaid fee, surrender, invalidation
    # Details of a technical secret: shown only to the holder and operators until a deal.
    confidential_details: Mapped[str | None] = mapped_column(sa.Text)
    holder_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    employee_invention_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"))
    confirmation: Mapped[AssetConfirmation] = mapped_column(enum_type(AssetConfirmation),
                                                            default=AssetConfirmation.UNCONFIRMED)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    holder: Mapped[Party] = relationship(foreign_keys=[holder_party_id])
    owners: Mapped[list[AssetOwner]] = relationship(back_populates="asset", order_by="AssetOwner.id")
    holdings: Mapped[list[RightHolding]] = relationship(order_by="RightHolding.id")
    authorisations: Mapped[list[InventionAuthorisation]] = relationship(order_by="InventionAuthorisation.id")
    encumbrances: Mapped[list[Encumbrance]] = relationship(order_by="Encumbrance.id")
    documents: Mapped[list[EvidenceDocument]] = relationship(order_by="EvidenceDocument.id")

    __table_args__ = (
        sa.CheckConstraint("kind = 'technical_secret' OR number IS NOT NULL", name="number_required"),
        sa.CheckConstraint("kind <> 'technical_secret' OR number IS NULL", name="secret_has_no_number"),
    )


class AssetOwner(Base):
    """An owner or co-owner, and whether its written consent to this sale is on file."""

    __tablename__ = "asset_owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    share_bp: Mapped[int | None]  # share in basis points (1/100 of a percent), optional
    consented: Mapped[bool] = mapped_column(default=False)
    consent_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("evidence_documents.id"))

    asset: Mapped[Asset] = relationship(back_populates="owners")
    party: Mapped[Party] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("asset_id", "party_id", name="uq_asset_owners_asset_id_party_id"),
        sa.CheckConstraint("share_bp IS NULL OR (share_bp > 0 AND share_bp <= 10000)", name="share_range"),
    )


class RightHolding(Base):
    """Split rights (所有权/运营权/收益权): who holds which right in the asset."""

    __tablename__ = "right_holdings"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    right_type: Mapped[RightType] = mapped_column(enum_type(RightType))

    party: Mapped[Party] = relationship()

    __table_args__ = (sa.UniqueConstraint("asset_id", "party_id", "right_type",
                                          name="uq_right_holdings_asset_party_right"),)


class InventionAuthorisation(Base):
    """An institution's authorisation to deal in an employee invention (职务科技成果)."""

    __tablename__ = "invention_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    institution_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    grantee_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    trading_modes: Mapped[list[str]] = mapped_column(JSONType)  # empty list: every mode
    valid_from: Mapped[date | None] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("evidence_documents.id"))


class Encumbrance(Base):
    """Pledge, existing exclusive/sole licence or court freeze on an asset."""

    __tablename__ = "encumbrances"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[EncumbranceKind] = mapped_column(enum_type(EncumbranceKind))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    holder_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"))
    holder_name: Mapped[str] = mapped_column(sa.String(200), default="")
    consent_to_transfer: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    released_on: Mapped[date | None] = mapped_column(sa.Date)
    # Set when the pledge is kept by the settlement package (IP pledge financing).
    pledge_ref: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),)


class EvidenceDocument(Base):
    """An uploaded proof, stored on disk and fingerprinted."""

    __tablename__ = "evidence_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    public: Mapped[bool] = mapped_column(default=False)  # visible to visitors of the listing
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.CheckConstraint("size > 0", name="size_positive"),)


class ConfirmationReview(Base):
    """An operator's rights-confirmation decision with its checklist and reasons."""

    __tablename__ = "confirmation_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSONType)
    problems: Mapped[list[Any]] = mapped_column(JSONType)
    decision: Mapped[AssetConfirmation] = mapped_column(enum_type(AssetConfirmation))
    reasons: Mapped[str] = mapped_column(sa.Text)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Valuation(Base):
    __tablename__ = "valuations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    method: Mapped[ValuationMethod] = mapped_column(enum_type(ValuationMethod))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    value_fen: Mapped[int | None] = mapped_column(Fen)  # None: market method with too few comparables
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Appraisal(Base):
    """A filed appraisal report (评估报告) by a licensed appraiser, valid one year."""

    __tablename__ = "appraisals"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    appraiser: Mapped[str] = mapped_column(sa.String(200))
    report_number: Mapped[str] = mapped_column(sa.String(60))
    value_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    report_date: Mapped[date] = mapped_column(sa.Date)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("evidence_documents.id"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.CheckConstraint("value_fen > 0", name="value_positive"),)


class Listing(Base):
    """A listing (挂牌) of one asset in one trading mode, with its publicity lifecycle."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    seller_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    mode: Mapped[TradingMode] = mapped_column(enum_type(TradingMode), index=True)
    licence_term_months: Mapped[int | None]
    territory: Mapped[str | None] = mapped_column(sa.String(200))
    price_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    deposit_fen: Mapped[int] = mapped_column(Fen)
    increment_fen: Mapped[int] = mapped_column(Fen)
    # Bidding settings, used when the listing goes to auction.
    auction_format: Mapped[str] = mapped_column(sa.String(20), default="ascending")
    free_bidding_minutes: Mapped[int] = mapped_column(default=60)
    countdown_seconds: Mapped[int] = mapped_column(default=300)
    hard_end_minutes: Mapped[int | None]
    leader_may_raise: Mapped[bool] = mapped_column(default=False)
    qualification_conditions: Mapped[str] = mapped_column(sa.Text, default="")
    disclosures: Mapped[str] = mapped_column(sa.Text, default="")
    publicity_working_days: Mapped[int] = mapped_column(default=20)
    allows_extension: Mapped[bool] = mapped_column(default=True)
    max_extensions: Mapped[int] = mapped_column(default=3)
    extensions_used: Mapped[int] = mapped_column(default=0)
    state: Mapped[ListingState] = mapped_column(enum_type(ListingState), index=True, default=ListingState.DRAFT)
    attempt: Mapped[int] = mapped_column(default=1)  # 1 for the first listing, +1 per relisting
    previous_listing_id: Mapped[int | None] = mapped_column(sa.ForeignKey("listings.id"))
    below_appraisal_approval: Mapped[str | None] = mapped_column(sa.Text)  # operator's reason, for <90% relists
    publicity_start: Mapped[date | None] = mapped_column(sa.Date)
    publicity_end: Mapped[date | None] = mapped_column(sa.Date, index=True)
    publicity_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    publicity_provisional: Mapped[bool] = mapped_column(default=False)
    days_served: Mapped[int] = mapped_column(default=0)  # publicity working days served before a suspension
    suspended_on: Mapped[date | None] = mapped_column(sa.Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the seller last changed the published terms (publicity restarted): buyers qualified before
    # may withdraw with their deposit refunded. And when the qualification conditions last changed:
    # buyers must declare again against the new ones before they can be qualified.
    terms_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    conditions_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The price the deal was struck at, once sold (comparables for the market method).
    deal_price_fen: Mapped[int | None] = mapped_column(Fen)
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    asset: Mapped[Asset] = relationship()
    seller: Mapped[Party] = relationship(foreign_keys=[seller_party_id])
    registrations: Mapped[list[BuyerRegistration]] = relationship(back_populates="listing",
                                                                   order_by="BuyerRegistration.id")

    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="price_positive"),
        sa.CheckConstraint("deposit_fen > 0 AND deposit_fen * 10 <= price_fen * 3", name="deposit_at_most_30pct"),
        sa.CheckConstraint("increment_fen > 0", name="increment_positive"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        sa.Index("ix_listings_state_publicity_end", "state", "publicity_end"),
        # The catalogue's default order (newest first); see bench/search.py for the effect.
        sa.Index("ix_listings_published_at_id", "published_at", "id"),
    )


class BuyerRegistration(Base):
    """A buyer's registration of interest (意向受让登记) in a listing, with its deposit and qualification."""

    __tablename__ = "buyer_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("listings.id"), index=True)
    buyer_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    state: Mapped[RegistrationState] = mapped_column(enum_type(RegistrationState),
                                                      default=RegistrationState.PENDING_DEPOSIT)
    declaration: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the declaration's time (renewed after new conditions)
    deposit_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    deposit_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deposit_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # cleared when sent back to review
    # Decided when the buyer withdraws, by the terms then in force: settlement forfeits or refunds by it.
    forfeit_on_withdrawal: Mapped[bool | None] = mapped_column()
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    listing: Mapped[Listing] = relationship(back_populates="registrations")
    buyer: Mapped[Party] = relationship()

    @property
    def declaration_outdated(self) -> bool:
        """The qualification conditions changed after the buyer declared it meets them."""
        return declaration_outdated(self.declared_at, self.listing.conditions_changed_at)

    @property
    def withdrawal_forfeits_deposit(self) -> bool:
        """Withdrawing now would forfeit the deposit (qualified under the terms in force)."""
        return (self.state == RegistrationState.QUALIFIED
                and withdrawal_forfeits_deposit(self.qualified_at, self.listing.terms_changed_at))

    __table_args__ = (
        sa.UniqueConstraint("listing_id", "buyer_party_id", name="uq_buyer_registrations_listing_buyer"),
        sa.CheckConstraint("deposit_fen >= 0", name="deposit_not_negative"),
    )


class OpenLicenceDeclaration(Base):
    """A patentee's open-licence declaration (开放许可声明, Patent Law art. 50-52)."""

    __tablename__ = "open_licence_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    seller_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    fee_kind: Mapped[OpenLicenceFeeKind] = mapped_column(enum_type(OpenLicenceFeeKind))
    lump_sum_fen: Mapped[int | None] = mapped_column(Fen)
    entry_fee_fen: Mapped[int | None] = mapped_column(Fen)
    royalty_rate: Mapped[str | None] = mapped_column(sa.String(12))  # Decimal as text, e.g. "0.035"
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    term_start: Mapped[date] = mapped_column(sa.Date)
    term_end: Mapped[date] = mapped_column(sa.Date)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    asset: Mapped[Asset] = relationship()


class OpenLicenceTaking(Base):
    """A licence obtained under an open-licence declaration by written notice."""

    __tablename__ = "open_licence_takings"

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(sa.ForeignKey("open_licence_declarations.id"), index=True)
    licensee_party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    notice: Mapped[str] = mapped_column(sa.Text)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("declaration_id", "licensee_party_id",
                                          name="uq_open_licence_takings_declaration_licensee"),)
