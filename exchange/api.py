"""The platform's JSON routes: sign-up, tokens, profile, parties, calendar, audit trail."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request

from exchange import accounts
from exchange.actors import Actor
from exchange.api_blueprint import ApiBlueprint
from exchange.audit import verify_chain
from exchange.auth import MEMBERS, PUBLIC, READERS, SELF_SERVICE, STAFF, access, login, require_user
from exchange.calendar import year_to_data
from exchange.calendar_store import get_calendar, load_year, stored_year
from exchange.context import get_clock
from exchange.db import get_session
from exchange.models import AuditEvent, Party, User
from exchange.pagination import PageArgsSchema, paginate
from exchange.schemas import (
    AuditFeedSchema,
    AuditQuerySchema,
    CalendarYearSchema,
    ChainReportSchema,
    DeadlineSchema,
    LoginSchema,
    NewTokenSchema,
    NoticePageSchema,
    PartyPageSchema,
    RegisterSchema,
    TokenCreateSchema,
    TokenSchema,
    UserPageSchema,
    UserSchema,
    WorkingDaysArgs,
)

exchange_api = ApiBlueprint("exchange_api", __name__, url_prefix="/api/v1", description="Accounts, tokens, calendar and audit trail")


def _new_token_payload(tok, plain):  # type: ignore[no-untyped-def]
    return {"id": tok.id, "name": tok.name, "prefix": tok.prefix, "created_at": tok.created_at, "token": plain}


@exchange_api.route("/auth/register", methods=["POST"])
@access(PUBLIC)
@exchange_api.arguments(RegisterSchema)
@exchange_api.response(201, UserSchema)
def register(data: dict):
    """Sign up as a member, together with the party (organisation or person) you act for."""
    from flask import current_app

    user = accounts.register_member(get_session(), accounts.RegisterMember(**data), clock=get_clock(),
                                    min_password_length=current_app.config["PASSWORD_MIN_LENGTH"])
    return user


@exchange_api.route("/auth/token", methods=["POST"])
@access(PUBLIC)
@exchange_api.arguments(LoginSchema)
@exchange_api.response(201, NewTokenSchema)
def get_token(data: dict):
    """Exchange e-mail and password for a bearer token (throttled after repeated failures)."""
    session = get_session()
    user = login(session, data["email"], data["password"], remote_addr=request.remote_addr or "-", clock=get_clock())
    tok, plain = accounts.create_token(session, user, data["token_name"], clock=get_clock())
    return _new_token_payload(tok, plain)


@exchange_api.route("/me", methods=["GET"])
@access(SELF_SERVICE)
@exchange_api.response(200, UserSchema)
def me():
    """Your own profile and party."""
    return require_user()


@exchange_api.route("/me/tokens", methods=["GET"])
@access(SELF_SERVICE)
@exchange_api.response(200, TokenSchema(many=True))
def my_tokens():
    """Your API tokens (never their secret part)."""
    return accounts.list_tokens(get_session(), require_user())


@exchange_api.route("/me/tokens", methods=["POST"])
@access(SELF_SERVICE)
@exchange_api.arguments(TokenCreateSchema)
@exchange_api.response(201, NewTokenSchema)
def create_my_token(data: dict):
    """Issue another API token; its secret is in this answer only."""
    tok, plain = accounts.create_token(get_session(), require_user(), data["name"], clock=get_clock())
    return _new_token_payload(tok, plain)


@exchange_api.route("/me/tokens/<int:token_id>", methods=["DELETE"])
@access(SELF_SERVICE)
@exchange_api.response(200, TokenSchema)
def revoke_my_token(token_id: int):
    """Revoke one of your tokens; it is refused from then on."""
    return accounts.revoke_token(get_session(), require_user(), token_id, clock=get_clock())


@exchange_api.route("/me/notices", methods=["GET"])
@access(*MEMBERS)
@exchange_api.arguments(PageArgsSchema, location="query")
@exchange_api.response(200, NoticePageSchema)
def my_notices(args: dict):
    """Notices to your party (qualification, changed terms, deals, deposits), newest first."""
    from exchange.notifications import notices_page

    items, meta = notices_page(get_session(), require_user().party_id, args["page"], args["per_page"])
    return {"items": items, "meta": meta}


@exchange_api.route("/parties", methods=["GET"])
@access(*READERS)
@exchange_api.arguments(PageArgsSchema, location="query")
@exchange_api.response(200, PartyPageSchema)
def list_parties(args: dict):
    """All parties (operators and auditors)."""
    items, meta = paginate(get_session(), sa.select(Party).order_by(Party.id), args["page"], args["per_page"])
    return {"items": items, "meta": meta}


@exchange_api.route("/users", methods=["GET"])
@access(*READERS)
@exchange_api.arguments(PageArgsSchema, location="query")
@exchange_api.response(200, UserPageSchema)
def list_users(args: dict):
    """All user accounts (operators and auditors)."""
    items, meta = paginate(get_session(), sa.select(User).order_by(User.id), args["page"], args["per_page"])
    return {"items": items, "meta": meta}


@exchange_api.route("/calendar/<int:year>", methods=["GET"])
@access(PUBLIC)
@exchange_api.response(200, CalendarYearSchema)
def get_calendar_year(year: int):
    """One loaded year of the business calendar: public holidays and make-up working days."""
    return year_to_data(stored_year(get_session(), year))


@exchange_api.route("/calendar/<int:year>", methods=["PUT"])
@access(*STAFF)
@exchange_api.arguments(CalendarYearSchema)
@exchange_api.response(200, CalendarYearSchema)
def put_calendar_year(data: dict, year: int):
    """Load or correct a year (operators), e.g. after the State Council's notice each November."""
    from exchange.errors import ValidationError

    if data["year"] != year:
        raise ValidationError("The body's year differs from the URL's.", code="calendar_year_mismatch", field="year")
    session = get_session()
    replace = request.args.get("replace") == "true"
    loaded = load_year(session, data, actor=Actor.of(require_user()), clock=get_clock(), replace=replace)
    return year_to_data(loaded)


@exchange_api.route("/calendar/working-days", methods=["GET"])
@access(PUBLIC)
@exchange_api.arguments(WorkingDaysArgs, location="query")
@exchange_api.response(200, DeadlineSchema)
def working_days(args: dict):
    """The N-th working day after a date, flagged provisional when a year is not loaded."""
    dl = get_calendar(get_session()).add_working_days(args["start"], args["days"])
    return {"start": args["start"], "days": args["days"], "deadline": dl.day, "provisional": dl.provisional}


@exchange_api.route("/audit/events", methods=["GET"])
@access(*READERS)
@exchange_api.arguments(AuditQuerySchema, location="query")
@exchange_api.response(200, AuditFeedSchema)
def audit_events(args: dict):
    """The audit trail in order. Pass ``after_seq`` = the last seq you saw to get only newer events;
    seq follows commit order, so nothing that commits late is skipped."""
    stmt = sa.select(AuditEvent).where(AuditEvent.seq > args["after_seq"])
    if args["action"]:
        stmt = stmt.where(AuditEvent.action == args["action"])
    if args["subject_ref"]:
        stmt = stmt.where(AuditEvent.subject_ref == args["subject_ref"])
    items = list(get_session().scalars(stmt.order_by(AuditEvent.seq).limit(args["limit"])))
    return {"items": items, "next_after_seq": items[-1].seq if items else args["after_seq"]}


@exchange_api.route("/audit/verify", methods=["GET"])
@access(*READERS)
@exchange_api.response(200, ChainReportSchema)
def audit_verify():
    """Recompute the hash chain and report the first broken link, if any."""
    return verify_chain(get_session()).as_dict()
