"""Settings per environment.

``load_config(env)`` returns a plain dict built from the environment's class,
then an optional settings file (``EXCHANGE_SETTINGS``, a Python file of UPPER
names), then environment variables prefixed ``EXCHANGE_`` (and ``DATABASE_URL``,
``SECRET_KEY``), each later source overriding the earlier.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DEFAULT_SECRET = "dev-only-secret-change-me"
BUSINESS_TIMEZONE = "Asia/Shanghai"


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY = DEFAULT_SECRET
    DATABASE_URL = ""
    BUSINESS_TIMEZONE = BUSINESS_TIMEZONE
    # Flask-Babel: Simplified Chinese by default, English on request.
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = BUSINESS_TIMEZONE
    LANGUAGES = ["zh", "en"]
    # Uploads: evidence documents live on disk, fingerprinted in the database.
    UPLOAD_FOLDER = ""  # default: <instance>/uploads
    MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    # Sessions and CSRF for the web pages.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None
    # Login throttling: this many failures per account or address in the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_WINDOW_SECONDS = 900
    # Passwords
    PASSWORD_MIN_LENGTH = 10
    # Scheduler: the dev server may run it in-process; production runs `exchange scheduler`.
    SCHEDULER_IN_PROCESS = False
    SCHEDULER_INTERVAL_SECONDS = 30
    # Public base URL printed on certificates (QR code target).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # The exchange's bank accounts shown to payers: deposits (交易保证金专户) and deal money
    # (结算专户), each {"account_name", "bank", "account_number", "swift"}. Outside production the
    # pages fall back on example details marked （示例）; production refuses to start without them.
    DEPOSIT_ACCOUNT: dict = {}
    SETTLEMENT_ACCOUNT: dict = {}
    # Notices are emailed by the scheduler when an SMTP server is set, e.g.
    # smtp://user:password@mail.example.com:587?starttls=1 or smtps://mail.example.com:465.
    # Without one, members read them in their inbox (/my/notices) only.
    SMTP_URL = ""
    MAIL_FROM = "noreply@techexchange.example"
    # Region code of the exchange (Shanghai, 310000) used in registration numbers.
    EXCHANGE_REGION_CODE = "310000"
    # flask-smorest / OpenAPI
    API_TITLE = "Technology Rights Exchange API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_REDOC_PATH = "docs"
    OPENAPI_REDOC_URL = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
    JSON_LOGS = True
    LOG_LEVEL = "INFO"
    DEMO_BOT = False
    # Plain API bids are answered by a lean WSGI path in front of Flask (auctions/bid_lane.py).
    BID_LANE = True


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    SCHEDULER_IN_PROCESS = True
    DEMO_BOT = True  # demo buyers bid now and then in the live demo auction
    JSON_LOGS = False


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    PASSWORD_MIN_LENGTH = 10
    LOG_LEVEL = "WARNING"


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


ACCOUNT_FIELDS = ("account_name", "bank", "account_number")
#: What the pages show outside production while no account is configured (marked as examples).
EXAMPLE_ACCOUNTS: dict[str, dict[str, str]] = {
    "DEPOSIT_ACCOUNT": {"account_name": "上海技术交易所有限公司交易保证金专户（示例）",
                        "bank": "中国工商银行上海市分行营业部（示例）",
                        "account_number": "1001 2000 3000 4000 500", "swift": "ICBKCNBJSHI"},
    "SETTLEMENT_ACCOUNT": {"account_name": "上海技术交易所有限公司交易资金结算专户（示例）",
                           "bank": "中国工商银行上海市分行营业部（示例）",
                           "account_number": "1001 2000 3000 4000 600", "swift": "ICBKCNBJSHI"},
}


class ConfigError(RuntimeError):
    """Configuration that must not be run with."""


def _coerce(current: Any, raw: str) -> Any:
    """Environment values are strings; give them the type of the default they replace."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, (list, dict)):
        return json.loads(raw)
    return raw


def load_config(env: str | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings for ``env`` (default: ``EXCHANGE_ENV`` or development)."""
    env = env or os.environ.get("EXCHANGE_ENV", "development")
    if env not in CONFIGS:
        raise ConfigError(f"unknown environment {env!r}; choose one of {sorted(CONFIGS)}")
    cls = CONFIGS[env]
    cfg = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    settings_file = os.environ.get("EXCHANGE_SETTINGS")
    if settings_file:
        ns: dict[str, Any] = {}
        exec(compile(Path(settings_file).read_text(encoding="utf-8"), settings_file, "exec"), ns)
        cfg.update({k: v for k, v in ns.items() if k.isupper()})
    for key, raw in os.environ.items():
        if key.startswith("EXCHANGE_") and key not in ("EXCHANGE_ENV", "EXCHANGE_SETTINGS"):
            name = key[len("EXCHANGE_"):]
            cfg[name] = _coerce(cfg.get(name, ""), raw)
    for name in ("DATABASE_URL", "SECRET_KEY"):
        if os.environ.get(name):
            cfg[name] = os.environ[name]
    cfg.update(overrides or {})
    validate_config(cfg)
    return cfg


def validate_config(cfg: dict[str, Any]) -> None:
    """Refuse settings that would be dangerous in production, or that would only fail later."""
    if cfg.get("SMTP_URL"):
        from urllib.parse import urlsplit

        parts = urlsplit(cfg["SMTP_URL"])
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://host:465")
        if cfg["ENV_NAME"] == "production" and "127.0.0.1" in cfg.get("PUBLIC_BASE_URL", ""):
            raise ConfigError("SMTP_URL is set, so production mails notices with links: set PUBLIC_BASE_URL to "
                              "the exchange's public address")
    if cfg["ENV_NAME"] == "production":
        if not cfg.get("SECRET_KEY") or cfg["SECRET_KEY"] == DEFAULT_SECRET or len(cfg["SECRET_KEY"]) < 32:
            raise ConfigError("production needs SECRET_KEY set to a random value of at least 32 characters")
        if not cfg.get("DATABASE_URL"):
            raise ConfigError("production needs DATABASE_URL (a PostgreSQL URL)")
        if not cfg["DATABASE_URL"].startswith("postgresql"):
            raise ConfigError("production runs on PostgreSQL; DATABASE_URL must be a postgresql:// URL")
        for name in ("DEPOSIT_ACCOUNT", "SETTLEMENT_ACCOUNT"):
            account = cfg.get(name)
            missing = [k for k in ACCOUNT_FIELDS if not (isinstance(account, dict) and str(account.get(k, "")).strip())]
            if missing:
                raise ConfigError(f"production needs {name} (EXCHANGE_{name}, JSON) with {', '.join(ACCOUNT_FIELDS)}: "
                                  f"payers would otherwise be shown example bank details (missing: {', '.join(missing)})")
