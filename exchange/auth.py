"""Passwords, API tokens, login throttling and the one place permissions are checked.

Every endpoint must declare who may call it with ``@access(...)``; an endpoint
without a declaration is refused for everyone (deny by default), so a route
cannot forget its permission check.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, request, session as web_session
from sqlalchemy.orm import Session

from exchange.clock import Clock
from exchange.errors import AuthenticationError, PermissionDeniedError, TooManyRequestsError, ValidationError
from exchange.models import ApiToken, LoginAttempt, Role, User

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SELF_SERVICE = "self_service"  # any signed-in user acting on their own account (auditors included)
STAFF = (Role.operator, Role.admin)
READERS = (Role.operator, Role.admin, Role.auditor)
MEMBERS = (Role.member,)
ACCESS_ATTR = "_exchange_access"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_ALWAYS_PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json", "api-docs.openapi_redoc"}

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2 parameters so the test suite stays fast; never used outside TESTING."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# -- passwords -----------------------------------------------------------------
def check_password_rules(password: str, *, email: str = "", min_length: int = 10) -> None:
    if not isinstance(password, str) or len(password) < min_length:
        raise ValidationError(
            "Passwords need at least %(n)d characters.", params={"n": min_length}, code="password_too_short",
            field="password"
        )
    if len(password) > 256:
        raise ValidationError("Passwords have at most 256 characters.", code="password_too_long", field="password")
    kinds = sum([any(c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(not c.isalnum() for c in password)])
    local = email.split("@")[0].lower()
    if kinds < 2 or len(set(password)) < 5 or (local and len(local) >= 4 and local in password.lower()):
        raise ValidationError(
            "Choose a password mixing letters with digits or symbols, not built from your e-mail.",
            code="password_too_weak",
            field="password",
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash to verify against when the e-mail is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


# -- login ---------------------------------------------------------------------
def _record_attempt(session: Session, email: str, addr: str, ok: bool, clock: Clock) -> None:
    """Failed attempts must outlive the failed request, or the throttle would never count them."""
    from exchange.db import keep_on_failure

    at = clock.now()
    if ok:
        session.add(LoginAttempt(email=email, remote_addr=addr, succeeded=True, at=at))
    else:
        keep_on_failure(lambda: LoginAttempt(email=email, remote_addr=addr, succeeded=False, at=at))


def check_throttle(session: Session, email: str, addr: str, clock: Clock) -> None:
    cfg = current_app.config
    since = clock.now() - timedelta(seconds=cfg["LOGIN_WINDOW_SECONDS"])
    failures = session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        .where(sa.or_(LoginAttempt.email == email, LoginAttempt.remote_addr == addr))
    )
    if failures >= cfg["LOGIN_MAX_FAILURES"]:
        raise TooManyRequestsError(
            "Too many failed sign-ins; wait a few minutes and try again.",
            code="login_throttled",
            details={"retry_after_seconds": cfg["LOGIN_WINDOW_SECONDS"]},
        )


def login(session: Session, email: str, password: str, *, remote_addr: str, clock: Clock) -> User:
    """Check e-mail and password under the throttle; the answer never says which one was wrong."""
    email = (email or "").strip().lower()
    check_throttle(session, email, remote_addr, clock)
    user = session.scalar(sa.select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if not ok or user is None or not user.is_active:
        _record_attempt(session, email, remote_addr, False, clock)
        raise AuthenticationError("E-mail or password is wrong.", code="invalid_credentials")
    _record_attempt(session, email, remote_addr, True, clock)
    return user


# -- API tokens ----------------------------------------------------------------
TOKEN_PREFIX = "tex_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, name: str, clock: Clock) -> tuple[ApiToken, str]:
    """Create a token; the plaintext is returned once and only its hash is kept."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name, token_hash=token_digest(plain), prefix=plain[:10],
                   created_at=clock.now())
    session.add(tok)
    session.flush()
    return tok, plain


@functools.cache
def _token_query() -> sa.Select:
    """The token's user with the token's own state, in one query and one entity: it runs on every
    API call, bids included, so it is built once (building and cache-keying a statement costs more
    than running it on a warm connection)."""
    return (sa.select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == sa.bindparam("digest")))


def token_principal_query(*more: sa.ColumnElement,
                          join: Callable[[sa.FromClause], sa.FromClause] = lambda holders: holders) -> sa.Select:
    """The token lookup as plain columns: who holds the token and what state the token is in, with no
    ORM entity. For the bid lane (``auctions.bid_lane``), which serves the busiest route without the
    session's identity map and reads ``more`` columns, from what ``join`` adds, in the same query.
    Every decision on a row it finds unusual is left to ``user_for_token``."""
    holders = User.__table__.join(ApiToken.__table__, ApiToken.user_id == User.id)
    return (sa.select(User.id.label("user_id"), User.ref.label("user_ref"), User.email, User.party_id, User.role,
                      User.is_active, ApiToken.id.label("token_id"), ApiToken.revoked_at, ApiToken.last_used_at, *more)
            .select_from(join(holders)).where(ApiToken.token_hash == sa.bindparam("digest")))


def stamp_token_use(conn: sa.Connection, token_id: int, last_used_at: datetime | None, now: datetime) -> bool:
    """Record when a token was last used (True if this call wrote it). Writing it on every call would
    turn each read into a write; a minute's precision is enough."""
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        conn.execute(_token_use_update(), {"token_row": token_id, "now": now})
        return True
    return False


@functools.cache
def _token_use_update() -> sa.Update:
    return (sa.update(ApiToken.__table__).where(ApiToken.__table__.c.id == sa.bindparam("token_row"))
            .values(last_used_at=sa.bindparam("now")))


def user_for_token(session: Session, plain: str, clock: Clock) -> User:
    row = session.execute(_token_query(), {"digest": token_digest(plain)}).first()
    if row is None:
        raise AuthenticationError("The API token is not valid.", code="invalid_token")
    user, token_id, revoked_at, last_used_at = row
    if revoked_at is not None:
        raise AuthenticationError("The API token has been revoked.", code="token_revoked")
    if not user.is_active:
        raise AuthenticationError("The account is disabled.", code="account_disabled")
    stamp_token_use(session.connection(), token_id, last_used_at, clock.now())
    return user


# -- access control --------------------------------------------------------------
def access(*allowed: str | Role) -> Callable[[F], F]:
    """Declare who may call an endpoint: PUBLIC, SELF_SERVICE, or roles."""
    if not allowed:
        raise ValueError("access() needs at least one policy")

    def deco(fn: F) -> F:
        setattr(fn, ACCESS_ATTR, frozenset(str(a) for a in allowed))
        return fn

    return deco


def policy_for(app: Flask, endpoint: str, method: str) -> frozenset[str] | None:
    if endpoint in _ALWAYS_PUBLIC_ENDPOINTS:
        return frozenset({PUBLIC})
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    pol = getattr(view, ACCESS_ATTR, None)
    view_class = getattr(view, "view_class", None)
    if pol is None and view_class is not None:
        meth = getattr(view_class, method.lower(), None) or (
            getattr(view_class, "get", None) if method == "HEAD" else None
        )
        pol = getattr(meth, ACCESS_ATTR, None) if meth else None
    return pol


def current_user() -> User | None:
    return g.get("user")


def require_user() -> User:
    user = g.get("user")
    if user is None:
        raise AuthenticationError("Sign in first.", code="not_authenticated")
    return user


def _identify(db_session: Session, clock: Clock) -> None:
    g.user = None
    g.auth_via = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("Use 'Authorization: Bearer <token>'.", code="invalid_token")
        g.user = user_for_token(db_session, value.strip(), clock)
        g.user_ref = g.user.ref  # kept for the access log, which runs after the session closes
        g.auth_via = "token"
        return
    uid = web_session.get("user_id")
    if uid is None:
        return
    # Session cookies authenticate pages and safe API reads; unsafe API calls need a token,
    # which keeps the JSON API free of cross-site request forgery.
    if request.path.startswith("/api/") and request.method not in SAFE_METHODS:
        return
    user = db_session.get(User, uid)
    if user is None or not user.is_active or web_session.get("pw") != user.password_hash[-16:]:
        web_session.clear()
        return
    g.user = user
    g.user_ref = user.ref
    g.auth_via = "session"


def enforce_access(app: Flask, db_session_factory: Callable[[], Session], clock_factory: Callable[[], Clock]) -> None:
    """Run before every request: identify the caller, then apply the endpoint's declared policy."""
    endpoint = request.endpoint
    if endpoint is None:
        return  # unknown URL: Flask answers 404 / 405 itself
    pol = policy_for(app, endpoint, request.method)
    if pol is None:
        app.logger.error("endpoint %s declares no access policy; refused", endpoint)
        raise PermissionDeniedError("This endpoint is not open to anyone.", code="access_not_declared")
    if PUBLIC in pol and not request.headers.get("Authorization") and "user_id" not in web_session:
        g.user = None
        return
    _identify(db_session_factory(), clock_factory())
    if PUBLIC in pol:
        return
    user = g.user
    if user is None:
        raise AuthenticationError("Sign in first.", code="not_authenticated")
    if SELF_SERVICE in pol:
        return
    refusal = role_refusal(user.role, pol, request.method)
    if refusal is not None:
        raise refusal


def role_refusal(role: Role, pol: frozenset[str], method: str) -> PermissionDeniedError | None:
    """Why a signed-in user of this role may not call an endpoint with this policy, or None if it may."""
    if role == Role.auditor and method not in SAFE_METHODS:
        return PermissionDeniedError("Auditors can read but never change anything.", code="auditor_read_only")
    if str(role) not in pol and not (role == Role.admin and str(Role.operator) in pol):
        return PermissionDeniedError("Your role may not do this.", code="forbidden_role")
    return None
