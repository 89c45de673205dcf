"""Platform pages: home, sign-in/out, sign-up, language switch, API tokens."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session as web_session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import gettext as _

from exchange import accounts
from exchange.auth import MEMBERS, PUBLIC, SELF_SERVICE, STAFF, access, current_user, login, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError
from exchange.forms import EmptyForm, LoginForm, SignupForm, TokenForm
from exchange.http import refusal_text
from exchange.models import EntityType, PartyKind, Role

exchange_web = Blueprint("exchange_web", __name__)

# Other packages add sections to the home page by registering a function returning
# (template, context); it keeps this package free of imports from the later ones.
HOME_SECTIONS: list = []


@dataclass(frozen=True)
class NavItem:
    """A link in the top bar. ``roles`` None: everyone; otherwise the roles that see it."""

    endpoint: str
    label: Any  # a lazy_gettext string
    roles: tuple[str, ...] | None = None
    order: int = 50


# Packages append their entries (e.g. the catalogue, "my listings", the operator console).
NAV: list[NavItem] = [NavItem("exchange_web.operator_console", _l("Console"), ("operator", "admin", "auditor"), 90),
                      NavItem("exchange_web.my_notices", _l("Notices"), ("member",), 80)]


@dataclass(frozen=True)
class Queue:
    """One line of the operator console: what waits, how many, and where to act on it."""

    key: str
    label: Any
    count: int
    endpoint: str | None = None
    overdue: int = 0


# Packages append functions fn(session, clock) -> list[Queue]; the console shows them all.
OPERATOR_QUEUES: list = []


def nav_for(user) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    items = []
    for item in sorted(NAV, key=lambda i: i.order):
        if item.roles is not None and (user is None or user.role.value not in item.roles):
            continue
        try:
            items.append({"url": url_for(item.endpoint), "label": str(item.label), "endpoint": item.endpoint})
        except Exception:  # noqa: BLE001 - an endpoint of a package that is not installed
            continue
    return items


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would make the sign-in page a phishing tool.
    # Browsers drop tabs and newlines inside URLs ("/\t/evil.example" is "//evil.example"),
    # and a newline cannot go into a Location header at all: refuse any control character.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and " " not in target):
        return target
    return url_for("exchange_web.home")


def start_web_session(user) -> None:  # type: ignore[no-untyped-def]
    web_session.clear()  # a fresh session on sign-in: no fixation
    web_session["user_id"] = user.id
    web_session["pw"] = user.password_hash[-16:]  # changing the password ends other sessions
    web_session.permanent = False


def apply_field_errors(form, err: DomainError,  # type: ignore[no-untyped-def]
                       code_messages: Mapping[str, Any] | None = None) -> None:
    """Show a refusal beside the field it concerns, or above the form (``code_messages``: the page's own texts)."""
    field = getattr(form, err.field, None) if err.field else None
    text = refusal_text(err, code_messages)
    if field is not None:
        field.errors = list(field.errors) + [text]
    else:
        form.form_errors.append(text)


@exchange_web.get("/")
@access(PUBLIC)
def home():
    sections = []
    for provider in HOME_SECTIONS:
        sections.append(provider())
    return render_template("exchange/home.html", sections=sections)


@exchange_web.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login_page():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = login(get_session(), form.email.data, form.password.data,
                         remote_addr=request.remote_addr or "-", clock=get_clock())
        except DomainError as err:
            apply_field_errors(form, err)
            status = err.status
        else:
            start_web_session(user)
            flash(_("Signed in."), "ok")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("exchange/login.html", form=form), status


@exchange_web.post("/logout")
@access(PUBLIC)
def logout():
    web_session.pop("user_id", None)
    web_session.pop("pw", None)
    flash(_("Signed out."), "ok")
    return redirect(url_for("exchange_web.home"))


@exchange_web.route("/signup", methods=["GET", "POST"])
@access(PUBLIC)
def signup():
    form = SignupForm()
    status = 200
    if form.validate_on_submit():
        cmd = accounts.RegisterMember(
            email=form.email.data, password=form.password.data, display_name=form.display_name.data,
            party_kind=PartyKind(form.party_kind.data), party_name=form.party_name.data,
            entity_type=EntityType(form.entity_type.data), id_code=form.id_code.data)
        try:
            user = accounts.register_member(get_session(), cmd, clock=get_clock(),
                                            min_password_length=current_app.config["PASSWORD_MIN_LENGTH"])
        except DomainError as err:
            apply_field_errors(form, err)
            status = err.status
        else:
            from flask_babel import get_locale

            user.locale = get_locale().language  # the language it signed up in, for its emails
            start_web_session(user)
            flash(_("Welcome! Your account is ready."), "ok")
            return redirect(url_for("exchange_web.home"))
    elif request.method == "POST":
        status = 422
    return render_template("exchange/signup.html", form=form), status


@exchange_web.get("/operator")
@access(*STAFF, Role.auditor.value)
def operator_console():
    """Queues with counts across every package, most urgent first."""
    session = get_session()
    queues: list[Queue] = []
    for provider in OPERATOR_QUEUES:
        queues.extend(provider(session, get_clock()))
    rows = []
    for q in queues:
        url = None
        if q.endpoint:
            try:
                url = url_for(q.endpoint)
            except Exception:  # noqa: BLE001 - a page not installed
                url = None
        rows.append({"key": q.key, "label": str(q.label), "count": q.count, "overdue": q.overdue, "url": url})
    return render_template("exchange/console.html", queues=rows)


@exchange_web.get("/lang/<code>")
@access(PUBLIC)
def set_language(code: str):
    if code in ("zh", "en"):
        web_session["lang"] = code
        user = current_user()
        if user is not None:  # emails (notices) follow the language the member reads in
            user.locale = code
    return redirect(_safe_next(request.args.get("next")))


@exchange_web.get("/my/notices")
@access(*MEMBERS)
def my_notices():
    from exchange.notifications import notices_page

    try:
        page = min(max(1, int(request.args.get("page", "1"))), 100000)
    except ValueError:
        page = 1
    items, meta = notices_page(get_session(), require_user().party_id, page, 20)
    return render_template("exchange/notices.html", notices=items, meta=meta)


@exchange_web.route("/account/tokens", methods=["GET", "POST"])
@access(SELF_SERVICE)
def tokens_page():
    user = require_user()
    form = TokenForm()
    new_token = None
    status = 200
    if form.validate_on_submit():
        try:
            _tok, new_token = accounts.create_token(get_session(), user, form.name.data, clock=get_clock())
        except DomainError as err:
            apply_field_errors(form, err)
            status = err.status
    elif request.method == "POST":
        status = 422
    return render_template("exchange/tokens.html", form=form, tokens=accounts.list_tokens(get_session(), user),
                           new_token=new_token, revoke_form=EmptyForm()), status


@exchange_web.post("/account/tokens/<int:token_id>/revoke")
@access(SELF_SERVICE)
def revoke_token_page(token_id: int):
    accounts.revoke_token(get_session(), require_user(), token_id, clock=get_clock())
    flash(_("Token revoked."), "ok")
    return redirect(url_for("exchange_web.tokens_page"))
