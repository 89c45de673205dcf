"""Tables of the contracts package: contracts and their signatures, the non-technical
items of the price, technology contract registrations with their changes, and
transaction certificates (交易凭证).

Every contract, registration and certificate carries ``record_hash``: the SHA-256
of its canonical record (``contracts.service.records``), rewritten by the
services on each change. An edit made behind the services' back (raw SQL) leaves
the stored hash stale, and ``verify_records`` reports it.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auctions.models import Deal
from contracts.domain import (
    CertificateState,
    ContractState,
    ContractSubtype,
    ContractType,
    RegistrationState,
    SigningSide,
)
from exchange.db import Base, JSONType, UTCDateTime, enum_type
from exchange.models import Party, User

Fen = sa.BigInteger
_LIVE_REGISTRATION = "state IN ('submitted', 'registered', 'changed')"


class Contract(Base):
    """The contract drawn up from a deal: one per deal, its text fixed from the first signature."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("deals.id"), unique=True)
    state: Mapped[ContractState] = mapped_column(enum_type(ContractState), index=True)
    contract_type: Mapped[ContractType] = mapped_column(enum_type(ContractType), index=True)
    subtype: Mapped[ContractSubtype] = mapped_column(enum_type(ContractSubtype, length=40))
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    text_sha256: Mapped[str] = mapped_column(sa.String(64))
    # False while the text is the generated one; an operator's edit sets it.
    text_edited: Mapped[bool] = mapped_column(default=False)
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    in_force_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(sa.Text)
    record_hash: Mapped[str] = mapped_column(sa.String(64))

    deal: Mapped[Deal] = relationship()
    signatures: Mapped[list[ContractSignature]] = relationship(
        back_populates="contract", order_by="ContractSignature.id", cascade="all, delete-orphan")
    non_technical_items: Mapped[list[NonTechnicalItem]] = relationship(
        back_populates="contract", order_by="NonTechnicalItem.position", cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint("length(text_sha256) = 64", name="text_sha256_length"),)


class ContractSignature(Base):
    """An authenticated signature: who, for which side, when, over which exact text."""

    __tablename__ = "contract_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    side: Mapped[SigningSide] = mapped_column(enum_type(SigningSide))
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text_sha256: Mapped[str] = mapped_column(sa.String(64))

    contract: Mapped[Contract] = relationship(back_populates="signatures")
    party: Mapped[Party] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("contract_id", "side", name="uq_contract_signatures_contract_id_side"),)


class NonTechnicalItem(Base):
    """A part of the price that buys no technology (equipment, materials); listed in the contract."""

    __tablename__ = "non_technical_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(sa.String(500))
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")

    contract: Mapped[Contract] = relationship(back_populates="non_technical_items")

    __table_args__ = (
        sa.UniqueConstraint("contract_id", "position", name="uq_non_technical_items_contract_id_position"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    )


class TechRegistration(Base):
    """Technology contract registration (技术合同认定登记): a snapshot of what was registered.

    A refused registration (未予登记) stays as it is; the parties may submit anew,
    so a contract can have several rows but only one that is live.
    """

    __tablename__ = "tech_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    state: Mapped[RegistrationState] = mapped_column(enum_type(RegistrationState), index=True)
    # JS{year}{region}{serial}: assigned when registered, never reused.
    registration_number: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    region_code: Mapped[str] = mapped_column(sa.String(6))
    contract_name: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(500))
    asset_refs: Mapped[list[str]] = mapped_column(JSONType)
    contract_type: Mapped[ContractType] = mapped_column(enum_type(ContractType), index=True)
    subtype: Mapped[ContractSubtype] = mapped_column(enum_type(ContractSubtype, length=40))
    technical_field: Mapped[str] = mapped_column(sa.String(40))
    ip_type: Mapped[str] = mapped_column(sa.String(40))  # listings AssetKind value
    signing_date: Mapped[date | None] = mapped_column(sa.Date)
    term_start: Mapped[date | None] = mapped_column(sa.Date)
    term_end: Mapped[date | None] = mapped_column(sa.Date)
    licence_term_years: Mapped[str | None] = mapped_column(sa.String(12))  # a Decimal, as text
    deal_amount_fen: Mapped[int] = mapped_column(Fen)
    tech_amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    # [{"role": "seller"|"buyer", "name", "credit_code", "region_code", "entity_type"}]
    parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    seller_state_owned: Mapped[bool] = mapped_column(default=False)
    appraisal_filed: Mapped[bool] = mapped_column(default=False)
    seller_is_resident_company: Mapped[bool] = mapped_column(default=False)
    export_controlled: Mapped[bool] = mapped_column(default=False)
    export_licence_obtained: Mapped[bool] = mapped_column(default=False)
    restrictive_clauses_flagged: Mapped[bool] = mapped_column(default=False)
    disputed: Mapped[bool] = mapped_column(default=False)
    wholly_related: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    submitted_by: Mapped[str] = mapped_column(sa.String(120))
    due_on: Mapped[date] = mapped_column(sa.Date, index=True)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    registered_on: Mapped[date | None] = mapped_column(sa.Date)
    # [{"reason", "message", "field"}] of a refusal (未予登记)
    refusal_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    # {"vat_exempt", "income_tax_relief", "reasons": [...]} once registered
    tax_relief: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    record_hash: Mapped[str] = mapped_column(sa.String(64))

    contract: Mapped[Contract] = relationship()
    changes: Mapped[list[TechRegistrationChange]] = relationship(
        back_populates="registration", order_by="TechRegistrationChange.id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("deal_amount_fen >= 0", name="deal_amount_not_negative"),
        sa.CheckConstraint("tech_amount_fen >= 0", name="tech_amount_not_negative"),
        sa.CheckConstraint("tech_amount_fen <= deal_amount_fen", name="tech_amount_within_deal"),
        sa.Index("uq_tech_registrations_one_live_per_contract", "contract_id", unique=True,
                 sqlite_where=sa.text(_LIVE_REGISTRATION), postgresql_where=sa.text(_LIVE_REGISTRATION)),
    )


class TechRegistrationChange(Base):
    """A registered change (变更登记) or cancellation of a registration, with what changed and why."""

    __tablename__ = "tech_registration_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("tech_registrations.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "change" | "cancellation"
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)  # {field: {"from": ..., "to": ...}}
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(sa.String(120))

    registration: Mapped[TechRegistration] = relationship(back_populates="changes")

    __table_args__ = (sa.CheckConstraint("kind IN ('change', 'cancellation')", name="kind_known"),)


class Certificate(Base):
    """The transaction certificate (交易凭证): once per deal, enforced here by ``deal_id`` UNIQUE."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)  # the certificate number
    deal_id: Mapped[int] = mapped_column(sa.ForeignKey("deals.id"), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"))
    serial: Mapped[int] = mapped_column(unique=True)
    short_code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))  # certificate_fingerprint(data)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)  # every printed field
    state: Mapped[CertificateState] = mapped_column(enum_type(CertificateState), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    issued_by: Mapped[str] = mapped_column(sa.String(120))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(sa.Text)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(120))
    record_hash: Mapped[str] = mapped_column(sa.String(64))

    deal: Mapped[Deal] = relationship()
    contract: Mapped[Contract] = relationship()

    __table_args__ = (
        sa.CheckConstraint("serial > 0", name="serial_positive"),
        sa.CheckConstraint("(state = 'revoked') = (revoked_at IS NOT NULL)", name="revoked_has_time"),
    )
