"""The application factory."""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, request, session as web_session
from flask_babel import Babel
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from config import load_config
from exchange import db as dbmod
from exchange.auth import PUBLIC, SAFE_METHODS, access, enforce_access
from exchange.clock import Clock, SystemClock, format_deadline, format_local
from exchange.http import register_error_handlers, security_headers
from exchange.logs import init_logging
from exchange.schemas import ProblemSchema

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
DOMAIN_PACKAGES = ("listings", "auctions", "settlement", "contracts")

csrf = CSRFProtect()
babel = Babel()


class ExchangeApi(Api):
    """flask-smorest's Api with our problem+json errors and documented error responses."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:  # errors are handled by exchange.http for all routes
        pass


def _select_locale() -> str:
    lang = request.args.get("lang") or web_session.get("lang") or request.cookies.get("lang")
    # Simplified Chinese unless the person chose English: the exchange's pages, notices and
    # certificates are Chinese first, whatever language the browser happens to prefer.
    return lang if lang in ("zh", "en") else "zh"


def _compile_translations(app: Flask) -> str:
    """Compile each package's .po catalogues into the instance folder (no binaries in the repository).

    Every package keeps its own ``translations/zh/LC_MESSAGES/messages.po`` so
    that packages never edit one shared file; Flask-Babel merges the catalogues.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    out_dirs = []
    for pkg in ("exchange", *DOMAIN_PACKAGES):
        src = REPO_ROOT / pkg / "translations"
        if not src.is_dir():
            continue
        out = Path(app.instance_path) / "translations" / pkg
        for po in src.glob("*/LC_MESSAGES/messages.po"):
            mo = out / po.relative_to(src).with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                mo.parent.mkdir(parents=True, exist_ok=True)
                with po.open("rb") as f:
                    catalog = read_po(f)
                tmp = mo.with_suffix(f".{os.getpid()}.tmp")
                with tmp.open("wb") as f:
                    write_mo(f, catalog)
                tmp.replace(mo)
        out_dirs.append(str(out))
    return ";".join(out_dirs)


def _document_errors(api: Api) -> None:
    """Every operation may answer a problem document; say so in the OpenAPI document."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path in api.spec._paths.values():  # apispec keeps the paths here; there is no public iterator
        for op in path.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"].setdefault(
                    "default",
                    {"description": "Error: RFC 9457 problem details with a machine-readable `code`.",
                     "content": {"application/problem+json": {"schema": problem_ref}}},
                )


def create_app(env: str | None = None, overrides: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    cfg = load_config(env, overrides)
    app = Flask("exchange", instance_path=str(Path(cfg.get("INSTANCE_PATH") or REPO_ROOT / "instance").resolve()),
                template_folder=str(PACKAGE_ROOT / "templates"), static_folder=str(PACKAGE_ROOT / "static"))
    app.config.update(cfg)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "exchange.db")
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")
    app.extensions["exchange.clock"] = clock or SystemClock()

    if app.config.get("TESTING"):
        from exchange.auth import use_fast_hashing_for_tests

        use_fast_hashing_for_tests()
    init_logging(app)

    # Registered before the database's commit hook so that it runs after it (Flask runs
    # after_request hooks in reverse): a 409/503 answer that replaces a failed commit's
    # response gets the headers too.
    @app.after_request
    def _security_headers(resp):  # type: ignore[no-untyped-def]
        for name, value in security_headers(request.path).items():
            resp.headers.setdefault(name, value)
        return resp

    db = dbmod.init_app(app)
    register_error_handlers(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below for pages only; the API uses bearer tokens
    csrf.init_app(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = _compile_translations(app)
    babel.init_app(app, locale_selector=_select_locale)

    api = ExchangeApi(app, spec_kwargs={"info": {"description": (
        "JSON API of the technology-rights exchange. Authenticate with `Authorization: Bearer <token>` "
        "(POST /api/v1/auth/token). Errors are RFC 9457 problem details with a stable `code`.")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}]})
    api.spec.components.schema("Problem", schema=ProblemSchema) if "Problem" not in api.spec.components.schemas else None

    from exchange.api import exchange_api
    from exchange.views import exchange_web

    api.register_blueprint(exchange_api)
    app.register_blueprint(exchange_web)
    for pkg in DOMAIN_PACKAGES:
        for mod_name, kind in (("api", "api"), ("views", "web")):
            try:
                mod = importlib.import_module(f"{pkg}.{mod_name}")
            except ModuleNotFoundError as exc:
                if exc.name == f"{pkg}.{mod_name}":
                    continue
                raise
            bp = getattr(mod, f"{pkg}_{kind}")
            (api.register_blueprint if kind == "api" else app.register_blueprint)(bp)
    _document_errors(api)
    app.extensions["exchange.api"] = api

    from exchange.guards import init_guards

    init_guards(app)

    @app.before_request
    def _guard() -> None:
        if request.method not in SAFE_METHODS and not request.path.startswith("/api/"):
            csrf.protect()
        enforce_access(app, dbmod.get_session, lambda: app.extensions["exchange.clock"])

    @app.get("/healthz")
    @access(PUBLIC)
    def healthz():  # type: ignore[no-untyped-def]
        """Liveness and database check for load balancers."""
        try:
            dbmod.get_session().execute(sa.text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            app.logger.exception("health check failed")
            return {"status": "unavailable", "database": "down"}, 503
        return {"status": "ok", "database": "up", "env": app.config["ENV_NAME"]}

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        from flask_babel import get_locale

        from exchange.views import nav_for

        user = g.get("user")
        from flask_babel import gettext

        roles = {"member": gettext("member"), "operator": gettext("operator"), "auditor": gettext("auditor"),
                 "admin": gettext("admin")}
        return {"current_user": user, "format_local": format_local, "lang": str(get_locale() or "zh"),
                "role_labels": roles,
                "now_utc": app.extensions["exchange.clock"].now(), "nav_items": nav_for(user)}

    @app.template_filter("money")
    def _money_filter(fen: int | None, currency: str = "CNY") -> str:
        """Integer fen shown as ¥1,234,567.89 (empty for None)."""
        from exchange.money import Money

        return "" if fen is None else Money(int(fen), currency).format()

    @app.template_filter("local")
    def _local_filter(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A UTC datetime shown in Shanghai time."""
        return format_local(value, fmt) if value is not None else ""

    @app.template_filter("deadline")
    def _deadline_filter(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """An exclusive deadline as the last minute that counts, in Shanghai time."""
        return format_deadline(value, fmt)

    from auctions.bid_lane import install as install_bid_lane

    install_bid_lane(app)  # last: it checks the bid route and its access policy as registered above

    from exchange.cli import register_cli

    register_cli(app)
    app.extensions["exchange.db"] = db
    return app
