"""Security around every route: password rules, sign-in throttling by address, token revocation,
security headers on pages, API answers and downloads, session cookie flags (Secure in production),
uploads that can never be served as a page, and logs that never hold a secret or an ID number.

(The throttle per e-mail, the token lifecycle and the basic cookie flags are in
``test_accounts_api.py`` and ``test_platform_api.py``; this file goes further.)
"""
from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest

from config import EXAMPLE_ACCOUNTS, ConfigError
from exchange.models import Role
from tests.factories import PASSWORD, auth, id_number, make_member, make_staff, register_payload, token_for
from tests.helpers import PNG_BYTES, assert_problem, confirm_asset, new_asset, ok, patent_no

PROBLEM = "application/problem+json"
PROD_SECRET = "production-secret-key-0123456789abcdefXYZ"


# -- passwords ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("password, codes", [
    ("", {"password_too_short"}),
    ("Ab1-", {"password_too_short"}),
    ("Abcdef-12", {"password_too_short"}),     # 9 < 10
    ("abcdefghijkl", {"password_too_weak"}),   # letters only
    ("123456789012", {"password_too_weak"}),   # digits only
    ("aaaaaaaaaaa1", {"password_too_weak"}),   # too few distinct characters
    ("x1" * 129, {"validation_error", "password_too_long"}),  # over 256: no megabyte fed to argon2
])
def test_password_rules_on_sign_up(client, session, password, codes):
    from exchange.models import User
    from tests.helpers import count_rows

    before = count_rows(session, User)
    r = client.post("/api/v1/auth/register", json=register_payload(password=password))
    assert r.status_code == 422 and r.mimetype == PROBLEM
    body = r.get_json()
    assert body["code"] in codes and "password" in body["errors"], body
    session.expire_all()
    assert count_rows(session, User) == before


def test_password_built_from_the_email_is_refused(client):
    payload = register_payload(email="wangxiaoming@example.com", password="Wangxiaoming-2026")
    assert_problem(client.post("/api/v1/auth/register", json=payload), 422, "password_too_weak")
    ok(client.post("/api/v1/auth/register", json={**payload, "password": "Plum-blossom-2026"}), 201)


def test_password_is_never_echoed_or_stored_in_clear(client, session):
    from exchange.models import User

    payload = register_payload(password="Clear-text-never-2026")
    r = client.post("/api/v1/auth/register", json=payload)
    assert r.status_code == 201 and "Clear-text-never-2026" not in r.get_data(as_text=True)
    user = session.query(User).filter_by(email=payload["email"]).one()
    assert "Clear-text-never-2026" not in user.password_hash and user.password_hash.startswith("$argon2id$")


def test_overlong_password_at_sign_in_is_refused_before_hashing(client):
    r = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "p" * 100_000})
    assert r.status_code in (413, 422) and r.mimetype == PROBLEM


# -- throttling ---------------------------------------------------------------------------------------------
def _sign_in(client, email: str, password: str, addr: str = "203.0.113.7",  # type: ignore[no-untyped-def]
             **headers: str):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password}, headers=headers,
                       environ_overrides={"REMOTE_ADDR": addr})


def test_throttle_per_address_across_many_emails(app, client, session, clock):
    victim = make_member(session, clock)
    session.commit()
    limit = app.config["LOGIN_MAX_FAILURES"]
    # One address guesses passwords for many accounts: each e-mail fails only once...
    for i in range(limit):
        assert_problem(_sign_in(client, f"guess{i}@example.com", "wrong-pass-1"), 401, "invalid_credentials")
    # ...but the address is throttled: even a real account with its right password is refused from it.
    body = assert_problem(_sign_in(client, victim.email, PASSWORD), 429, "login_throttled")
    assert body["details"]["retry_after_seconds"] > 0
    assert_problem(_sign_in(client, "yet-another@example.com", "wrong-pass-1"), 429, "login_throttled")
    # Another address is not affected; the victim signs in from home.
    assert _sign_in(client, victim.email, PASSWORD, addr="198.51.100.20").status_code == 201
    # A forged X-Forwarded-For does not move the attacker to another address.
    for forged in ("198.51.100.99", "10.0.0.1, 198.51.100.20"):
        assert_problem(_sign_in(client, "x@example.com", "wrong-pass-1", **{"X-Forwarded-For": forged}), 429,
                       "login_throttled")
    # The window passes, and the address may try again.
    clock.advance(timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1))
    assert _sign_in(client, victim.email, PASSWORD).status_code == 201


def test_throttle_holds_on_the_sign_in_page_too(app, client, session, clock):
    victim = make_member(session, clock)
    session.commit()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        _sign_in(client, f"page-guess{i}@example.com", "wrong-pass-1", addr="203.0.113.9")
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": victim.email, "password": PASSWORD, "csrf_token": csrf},
                    environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 429
    with client.session_transaction() as s:
        assert "user_id" not in s


def test_successful_sign_ins_do_not_count_as_failures(app, client, session, clock):
    user = make_member(session, clock)
    session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        assert _sign_in(client, user.email, PASSWORD, addr="203.0.113.50").status_code == 201


# -- tokens ----------------------------------------------------------------------------------------------------
def test_revoked_token_is_refused_everywhere_at_once(client, session, clock):
    user = make_member(session, clock)
    session.commit()
    keep = token_for(client, user)
    doomed = ok(client.post("/api/v1/me/tokens", json={"name": "doomed"}, headers=auth(keep)), 201)
    assert client.get("/my/listings", headers=auth(doomed["token"])).status_code == 200
    ok(client.delete(f"/api/v1/me/tokens/{doomed['id']}", headers=auth(keep)))
    for method, url in (("GET", "/api/v1/me"), ("GET", "/api/v1/me/tokens"), ("POST", "/api/v1/me/tokens"),
                        ("GET", "/api/v1/listings"), ("GET", "/my/listings")):
        r = client.open(url, method=method, json={"name": "x"} if method == "POST" else None,
                        headers={**auth(doomed["token"]), "Accept": "application/json"})
        assert r.status_code == 401 and r.get_json()["code"] == "token_revoked", (url, r.status_code)
    # Revoking twice changes nothing; the other token still works.
    assert client.delete(f"/api/v1/me/tokens/{doomed['id']}", headers=auth(keep)).status_code in (200, 409)
    assert client.get("/api/v1/me", headers=auth(keep)).status_code == 200


def test_token_of_a_disabled_account_is_refused(client, session, clock):
    user = make_member(session, clock)
    session.commit()
    token = token_for(client, user)
    user.is_active = False
    session.commit()
    assert_problem(client.get("/api/v1/me", headers=auth(token)), 401, "account_disabled")
    assert_problem(_sign_in(client, user.email, PASSWORD, addr="203.0.113.77"), 401, "invalid_credentials")


def test_token_plaintext_is_shown_once_and_stored_hashed(client, session, clock):
    from exchange.models import ApiToken

    user = make_member(session, clock)
    session.commit()
    token = token_for(client, user)
    listed = client.get("/api/v1/me/tokens", headers=auth(token)).get_data(as_text=True)
    assert token not in listed and token[10:] not in listed
    assert all(token not in (t.token_hash or "") for t in session.query(ApiToken).all())


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Token tex_x", "bearer", "Bearer tex_" + "A" * 5000,
                                    "Bearer \u202etex_abc"])
def test_malformed_authorization_headers(client, header):
    try:
        r = client.get("/api/v1/me", headers={"Authorization": header})
    except (UnicodeEncodeError, ValueError):
        return  # the header cannot even be sent
    assert r.status_code in (400, 401, 431) and r.mimetype == PROBLEM, (header[:20], r.status_code)


# -- headers ------------------------------------------------------------------------------------------------------
def _assert_headers(r, where: str, sandbox: bool = False) -> None:  # type: ignore[no-untyped-def]
    assert r.headers.get("X-Content-Type-Options") == "nosniff", where
    assert r.headers.get("X-Frame-Options") == "DENY", where
    csp = r.headers.get("Content-Security-Policy", "")
    assert csp, where
    if sandbox:
        assert "sandbox" in csp and "default-src 'none'" in csp, (where, csp)
    else:
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, (where, csp)
        script = csp.split("script-src")[1].split(";")[0] if "script-src" in csp else ""
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, (where, csp)


@pytest.fixture()
def uploaded(client, session, clock):  # type: ignore[no-untyped-def]
    """A member's asset with a PNG whose bytes also hold an HTML script, and a JPEG-named HTML file refused."""
    seller, op = make_member(session, clock), make_staff(session, clock, Role.operator)
    session.commit()
    ts, to = token_for(client, seller), token_for(client, op)
    asset = new_asset(client, ts, number=patent_no(7_400_001))
    evil = PNG_BYTES + b"<html><script>alert(document.cookie)</script></html>"
    doc = ok(client.post(f"/api/v1/assets/{asset['ref']}/documents", headers=auth(ts),
                         data={"kind": "certificate", "public": "false",
                               "file": (io.BytesIO(evil), "evil.html")},
                         content_type="multipart/form-data"), 201)
    return {"ts": ts, "to": to, "asset": asset, "doc": doc, "bytes": evil}


def test_uploads_are_never_served_as_html(client, uploaded):
    url = f"/api/v1/assets/{uploaded['asset']['ref']}/documents/{uploaded['doc']['id']}"
    for token in (uploaded["ts"], uploaded["to"]):
        r = client.get(url, headers={**auth(token), "Accept": "text/html"})
        assert r.status_code == 200
        assert r.mimetype == "image/png", r.mimetype          # the sniffed type, not the name's
        assert r.headers["Content-Disposition"].startswith("attachment")
        _assert_headers(r, url, sandbox=True)
        assert r.data == uploaded["bytes"]


def test_html_or_scripts_are_not_accepted_as_evidence(client, uploaded):
    ref = uploaded["asset"]["ref"]
    for data, name in ((b"<!doctype html><script>alert(1)</script>", "cert.pdf"),
                       (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.png"),
                       (b"GIF89a<script>alert(1)</script>", "x.gif")):
        r = client.post(f"/api/v1/assets/{ref}/documents", headers=auth(uploaded["ts"]),
                        data={"kind": "certificate", "file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")
        assert r.status_code == 422 and r.mimetype == PROBLEM, (name, r.status_code)


def test_security_headers_on_pages_api_and_downloads(client, session, clock, uploaded):
    pages = ["/", "/login", "/signup", "/listings", "/auctions", "/open-licences", "/statistics", "/no-such-page",
             "/account/tokens", "/my/listings"]
    for url in pages:
        r = client.get(url, headers={**auth(uploaded["ts"]), "Accept": "text/html"})
        _assert_headers(r, url)
    r = client.get("/my/listings")  # anonymous: the 401 page has them too
    assert r.status_code == 401
    _assert_headers(r, "401 page")
    for url in ["/api/v1/listings", "/api/v1/me", "/api/v1/nope", "/api/openapi.json", "/healthz"]:
        _assert_headers(client.get(url, headers=auth(uploaded["ts"])), url)
    _assert_headers(client.post("/api/v1/auth/token", data=b"{", content_type="application/json"), "400")
    # Downloads: exports and records are attachments with the same protection.
    downloads = ["/api/v1/settlement/journal.csv", "/api/v1/settlement/trial-balance.csv",
                 "/api/v1/exports/contracts.csv"]
    for url in downloads:
        r = client.get(url, headers=auth(uploaded["to"]))
        assert r.status_code == 200, (url, r.status_code)
        _assert_headers(r, url)
        assert "attachment" in r.headers.get("Content-Disposition", ""), url


def test_static_files_have_the_headers(client):
    r = client.get("/static/no-such-file.css")
    _assert_headers(r, "static 404")


# -- cookies and production settings -------------------------------------------------------------------------------
def _production_app(db_url: str, tmp_path):  # type: ignore[no-untyped-def]
    from exchange.app import create_app

    url = db_url if db_url.startswith("postgresql") else "postgresql+psycopg2://postgres@127.0.0.1:5432/rel_prod"
    return create_app("production", overrides={**EXAMPLE_ACCOUNTS, "SECRET_KEY": PROD_SECRET, "DATABASE_URL": url,
                                               "INSTANCE_PATH": str(tmp_path), "LOG_LEVEL": "WARNING"})


def test_session_cookie_is_secure_httponly_lax_in_production(db_url, tmp_path):
    app = _production_app(db_url, tmp_path)
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True and not app.debug and not app.testing
        c = app.test_client()
        # Rendering the form puts the CSRF secret in the session, so the answer sets the cookie.
        r = c.get("/login", base_url="https://exchange.example")
        cookie = r.headers.get("Set-Cookie", "")
        assert cookie.startswith("session="), cookie
        flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")[1:]}
        assert {"secure", "httponly"} <= flags and "SameSite=Lax" in cookie, cookie
        _assert_headers(r, "production login page")
        r = c.get("/lang/en", base_url="https://exchange.example")
        assert "Secure" in r.headers.get("Set-Cookie", "")
    finally:
        app.extensions["exchange.db"].engine.dispose()


def test_session_cookie_flags_in_testing(client):
    r = client.get("/login")
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("over", [
    {"SECRET_KEY": "short"}, {"SECRET_KEY": "dev-only-secret-change-me"},
    {"DATABASE_URL": "sqlite:///x.db"}, {"DATABASE_URL": ""},
    # Payers must never be shown the example bank details: both accounts, with name, bank and number.
    {"DEPOSIT_ACCOUNT": {}}, {"SETTLEMENT_ACCOUNT": {}},
    {"DEPOSIT_ACCOUNT": {**EXAMPLE_ACCOUNTS["DEPOSIT_ACCOUNT"], "account_number": " "}},
    {"SETTLEMENT_ACCOUNT": {"account_name": "结算专户", "account_number": "1"}},
    # Notices by mail: a URL the job could not use, or links pointing at the machine itself.
    {"SMTP_URL": "mail.example.com:25"}, {"SMTP_URL": "smtp://mail.example.com:25"},
])
def test_production_refuses_unsafe_settings(tmp_path, over):
    from exchange.app import create_app

    settings = {**EXAMPLE_ACCOUNTS, "SECRET_KEY": PROD_SECRET,
                "DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1/x", "INSTANCE_PATH": str(tmp_path)}
    create_app("production", overrides=settings).extensions["exchange.db"].engine.dispose()  # the base is fine
    with pytest.raises(ConfigError) as exc:
        create_app("production", overrides={**settings, **over})
    assert next(iter(over)) in str(exc.value)


def test_production_reads_the_bank_accounts_from_the_environment(tmp_path, monkeypatch):
    import json

    from exchange.app import create_app

    account = {"account_name": "上海技术交易所有限公司交易保证金专户", "bank": "中国工商银行上海分行",
               "account_number": "1001 0000 0000 0000 001"}
    monkeypatch.setenv("EXCHANGE_DEPOSIT_ACCOUNT", json.dumps(account, ensure_ascii=False))
    monkeypatch.setenv("EXCHANGE_SETTLEMENT_ACCOUNT", json.dumps({**account, "account_number": "2"}))
    app = create_app("production", overrides={"SECRET_KEY": PROD_SECRET, "INSTANCE_PATH": str(tmp_path),
                                              "DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1/x"})
    assert app.config["DEPOSIT_ACCOUNT"] == account and app.config["SETTLEMENT_ACCOUNT"]["account_number"] == "2"
    app.extensions["exchange.db"].engine.dispose()


def test_the_session_cookie_cannot_be_forged_or_reused_after_a_password_change(client, session, clock):
    from exchange.auth import hash_password

    user = make_member(session, clock)
    session.commit()
    # A session signed with another key is ignored.
    client.set_cookie("session", "eyJ1c2VyX2lkIjoxfQ.forged.signature")
    assert client.get("/my/listings").status_code == 401
    with client.session_transaction() as s:
        s["user_id"], s["pw"] = user.id, user.password_hash[-16:]
    assert client.get("/my/listings").status_code == 200
    user.password_hash = hash_password("Another-pass-2026")
    session.commit()
    assert client.get("/my/listings").status_code == 401


# -- logs --------------------------------------------------------------------------------------------------------
class _Capture(logging.Handler):
    """Keeps what the app's own formatter writes (the redaction is in the formatter)."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def captured_logs(app):  # type: ignore[no-untyped-def]
    """Every line the app's loggers write, as written: access log included (testing logs WARNING and up)."""
    names = ("exchange", "exchange.access", app.logger.name)
    loggers = [logging.getLogger(n) for n in dict.fromkeys(names)]
    handler = _Capture(logging.getLogger("exchange").handlers[0].formatter)
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger("exchange").addHandler(handler)
    try:
        yield handler.lines
    finally:
        logging.getLogger("exchange").removeHandler(handler)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def test_logs_never_hold_id_numbers_passwords_or_tokens(app, client, session, clock, captured_logs):
    idn = id_number()
    password = "Log-secret-pass-2026"
    payload = register_payload(party_kind="individual", entity_type="individual", party_name="张三", id_code=idn,
                               password=password)
    ok(client.post("/api/v1/auth/register", json=payload), 201)
    # A failed sign-in (logged as a refusal), a good one, and calls with the token.
    client.post("/api/v1/auth/token", json={"email": payload["email"], "password": password + "x"})
    token = ok(client.post("/api/v1/auth/token", json={"email": payload["email"], "password": password}), 201)["token"]
    client.get("/api/v1/me", headers=auth(token))
    client.get(f"/api/v1/me?id={idn}&token={token}", headers=auth(token))
    client.get(f"/api/v1/listings/{idn}", headers=auth(token))       # the ID number in a path
    client.get(f"/api/v1/listings/{token}")                          # the token in a path
    client.get("/api/v1/me", headers=auth(token + "x"))              # a wrong token
    # The same ID number used again: sign-up refused, logged as a refusal.
    client.post("/api/v1/auth/register", json={**payload, "email": "second@example.com"})
    # An error message that carries them (as a careless exception might).
    app.logger.error("failed for %s with %s and password %s", idn, token, "redacted-by-us")
    try:
        raise RuntimeError(f"boom {idn} {token}")
    except RuntimeError:
        app.logger.exception("unexpected")
    text = "\n".join(captured_logs)
    assert any('"logger": "exchange.access"' in line for line in captured_logs), "the access log was not captured"
    assert idn not in text and idn[:17] not in text, "an ID number reached the logs"
    assert token not in text and token[4:] not in text, "a token reached the logs"
    assert password not in text, "a password reached the logs"
    for line in captured_logs:
        json.loads(line)  # one JSON document per line: nothing can inject a fake entry
