"""Use cases for parties, users and API tokens."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.auth import check_password_rules, hash_password, issue_token
from exchange.clock import Clock, local_date
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from exchange.models import ApiToken, EntityType, Party, PartyKind, Role, User
from exchange.parties import (
    complete_credit_code,
    region_of_credit_code,
    region_of_id_number,
    validate_credit_code,
    validate_id_number,
)
from exchange.refs import next_reference
from exchange.text import clean_text

EXCHANGE_CREDIT_CODE = complete_credit_code("12310000MB0000001")
EXCHANGE_NAME = "上海技术交易所 Shanghai Technology Exchange"
_EMAIL_MAX = 254


@dataclass(frozen=True)
class RegisterMember:
    email: str
    password: str
    display_name: str
    party_kind: PartyKind
    party_name: str
    entity_type: EntityType
    id_code: str  # credit code for organisations, resident ID number for individuals
    related_group: str | None = None


def normalise_email(email: str) -> str:
    email = clean_text(email, "email", max_length=_EMAIL_MAX).lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or domain.startswith(".") or domain.endswith("."):
        raise ValidationError("Not a valid e-mail address.", code="invalid_email", field="email")
    return email


def _find_or_create_party(session: Session, cmd: RegisterMember, clock: Clock) -> Party:
    name = clean_text(cmd.party_name, "party_name", max_length=200)
    if cmd.party_kind == PartyKind.organisation:
        if cmd.entity_type == EntityType.individual:
            raise ValidationError("An organisation cannot have the entity type 'individual'.",
                                  code="invalid_entity_type", field="entity_type")
        code = validate_credit_code(cmd.id_code, field="id_code")
        region = region_of_credit_code(code)
    else:
        if cmd.entity_type != EntityType.individual:
            raise ValidationError("A person has the entity type 'individual'.", code="invalid_entity_type",
                                  field="entity_type")
        code = validate_id_number(cmd.id_code, field="id_code", today=local_date(clock.now()))
        region = region_of_id_number(code)
    existing = session.scalar(sa.select(Party).where(Party.kind == cmd.party_kind, Party.id_code == code))
    if existing is not None:
        # A second user of an existing party must be added by that party, not by self-registration,
        # or anyone knowing a public credit code could join a company.
        raise ConflictError("This party is already registered; ask its administrator to add you.",
                            code="party_already_registered", field="id_code")
    now = clock.now()
    related = clean_text(cmd.related_group, "related_group", max_length=40) if cmd.related_group else None
    party = Party(ref=next_reference(session, "P", local_date(now).year), kind=cmd.party_kind,
                  entity_type=cmd.entity_type, name=name, id_code=code, region_code=region,
                  related_group=related, created_at=now)
    session.add(party)
    session.flush()
    return party


def register_member(session: Session, cmd: RegisterMember, *, clock: Clock, min_password_length: int = 10) -> User:
    """Sign up a member together with its party (organisation or person)."""
    email = normalise_email(cmd.email)
    display = clean_text(cmd.display_name, "display_name", max_length=100)
    check_password_rules(cmd.password, email=email, min_length=min_password_length)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ConflictError("This e-mail is already registered.", code="email_taken", field="email")
    party = _find_or_create_party(session, cmd, clock)
    now = clock.now()
    user = User(ref=next_reference(session, "U", local_date(now).year), party_id=party.id, email=email,
                display_name=display, password_hash=hash_password(cmd.password), role=Role.member, created_at=now)
    session.add(user)
    session.flush()
    actor = Actor.of(user)
    record_event(session, actor=actor, action="party.registered", subject_type="party", subject_ref=party.ref,
                 after={"name": party.name, "kind": party.kind, "entity_type": party.entity_type}, clock=clock)
    record_event(session, actor=actor, action="user.registered", subject_type="user", subject_ref=user.ref,
                 after={"email": email, "role": user.role, "party": party.ref}, clock=clock)
    return user


def ensure_exchange_party(session: Session, clock: Clock) -> Party:
    """The exchange itself is a party: staff belong to it and fee income is booked to it."""
    party = session.scalar(sa.select(Party).where(Party.is_exchange.is_(True)))
    if party is None:
        now = clock.now()
        party = Party(ref=next_reference(session, "P", local_date(now).year), kind=PartyKind.organisation,
                      entity_type=EntityType.other_organisation, name=EXCHANGE_NAME, id_code=EXCHANGE_CREDIT_CODE,
                      region_code=region_of_credit_code(EXCHANGE_CREDIT_CODE), is_exchange=True, created_at=now)
        session.add(party)
        session.flush()
    return party


def create_staff_user(session: Session, *, email: str, password: str, display_name: str, role: Role,
                      actor: Actor, clock: Clock, min_password_length: int = 10) -> User:
    """Operators, auditors and admins are made only here (CLI or an admin), never by sign-up."""
    if role == Role.member:
        raise ValidationError("Members sign up themselves.", code="invalid_role", field="role")
    if actor.user_id is not None and actor.role != Role.admin:
        raise PermissionDeniedError("Only an admin creates staff accounts.", code="forbidden_role")
    email = normalise_email(email)
    check_password_rules(password, email=email, min_length=min_password_length)
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ConflictError("This e-mail is already registered.", code="email_taken", field="email")
    party = ensure_exchange_party(session, clock)
    now = clock.now()
    user = User(ref=next_reference(session, "U", local_date(now).year), party_id=party.id, email=email,
                display_name=clean_text(display_name, "display_name", max_length=100),
                password_hash=hash_password(password), role=role, created_at=now)
    session.add(user)
    session.flush()
    record_event(session, actor=actor, action="user.staff_created", subject_type="user", subject_ref=user.ref,
                 after={"email": email, "role": role}, clock=clock)
    return user


def create_token(session: Session, user: User, name: str, *, clock: Clock) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``user``; the plaintext is only in the return value."""
    name = clean_text(name or "API token", "name", max_length=100)
    active = session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if active >= 20:
        raise ConflictError("At most 20 active tokens per user; revoke one first.", code="too_many_tokens")
    tok, plain = issue_token(session, user, name, clock)
    record_event(session, actor=Actor.of(user), action="token.issued", subject_type="user", subject_ref=user.ref,
                 after={"token_id": tok.id, "name": name, "prefix": tok.prefix}, clock=clock)
    return tok, plain


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int, *, clock: Clock) -> ApiToken:
    """Revoke one of the user's own tokens. Revoking twice is harmless."""
    tok = session.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise NotFoundError("No such token.", code="token_not_found")
    if tok.revoked_at is None:
        tok.revoked_at = clock.now()
        record_event(session, actor=Actor.of(user), action="token.revoked", subject_type="user", subject_ref=user.ref,
                     after={"token_id": tok.id}, clock=clock)
        session.flush()
    return tok
