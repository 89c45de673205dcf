"""Platform tables: parties, users, tokens, login attempts, the audit trail,
reference counters, the business calendar, idempotency records and the outbox."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, JSONType, UTCDateTime, enum_type


class PartyKind(enum.StrEnum):
    organisation = "organisation"
    individual = "individual"


class EntityType(enum.StrEnum):
    """What kind of party: drives registration statistics and some rules (public seller → appraisal)."""

    university = "university"
    research_institute = "research_institute"
    enterprise = "enterprise"
    state_owned_enterprise = "state_owned_enterprise"
    other_organisation = "other_organisation"
    individual = "individual"


class Role(enum.StrEnum):
    member = "member"
    operator = "operator"
    auditor = "auditor"
    admin = "admin"


class Party(Base):
    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[PartyKind] = mapped_column(enum_type(PartyKind))
    entity_type: Mapped[EntityType] = mapped_column(enum_type(EntityType))
    name: Mapped[str] = mapped_column(sa.String(200))
    # Unified social credit code (organisations) or resident ID number (people); unique per kind.
    id_code: Mapped[str] = mapped_column(sa.String(18))
    region_code: Mapped[str] = mapped_column(sa.String(6))
    # Parties in the same related group count as related parties (may not buy from each other).
    related_group: Mapped[str | None] = mapped_column(sa.String(40))
    is_exchange: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    users: Mapped[list[User]] = relationship(back_populates="party")

    __table_args__ = (
        sa.UniqueConstraint("kind", "id_code", name="uq_parties_kind_id_code"),
        sa.CheckConstraint("length(id_code) = 18", name="id_code_length"),
        sa.CheckConstraint("length(region_code) = 6", name="region_code_length"),
    )

    @property
    def masked_id_code(self) -> str:
        """Credit codes are public; resident ID numbers show only their ends to others."""
        if self.kind == PartyKind.organisation:
            return self.id_code
        return self.id_code[:3] + "*" * 11 + self.id_code[-4:]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("parties.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    is_active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    party: Mapped[Party] = relationship(back_populates="users")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # Only the SHA-256 of the token is stored; the token is shown once at creation.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEvent(Base):
    """Append-only; each row carries the SHA-256 of its predecessor (a hash chain)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # seq is dense and assigned under the audit lock, so it is also commit order.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_ref: Mapped[str] = mapped_column(sa.String(40), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class CalendarYear(Base):
    """A loaded year of the business calendar; its days are in calendar_days."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(sa.String(120))


class CalendarDay(Base):
    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    year: Mapped[int] = mapped_column(sa.ForeignKey("calendar_years.year", ondelete="CASCADE"), index=True)
    is_working: Mapped[bool]  # False: public holiday; True: make-up working day (调休)
    name: Mapped[str] = mapped_column(sa.String(100))


class IdempotencyRecord(Base):
    """The first answer to an unsafe request carrying an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(100))
    endpoint: Mapped[str] = mapped_column(sa.String(120))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_id_key"),)


class OutboxMessage(Base):
    """Notifications written in the business transaction and sent after commit."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(80))
    recipient_party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("parties.id"), index=True)  # the inbox
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Email delivery (exchange.notifications.deliver_notices): sent, or given up on, or due again.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    mails_sent: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(32))  # the sending run (a random token)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # ...that may mail it until then
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # given up: stays in the inbox only
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.CheckConstraint("mails_sent >= 0 AND attempts >= 0", name="delivery_counts_not_negative"),)
