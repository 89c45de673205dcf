"""Platform pages through the test client: language, sign-in/out with CSRF, sign-up errors beside
their field, API tokens, open redirects, HTML error pages and escaping of user text."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from exchange.models import ApiToken, Party, User
from tests.factories import PASSWORD, auth, credit_code, make_member

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
XSS = "<script>alert(1)</script>"


def csrf_from(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, path
    m = CSRF_RE.search(page.get_data(as_text=True))
    assert m, f"no csrf_token on {path}"
    return m.group(1)


def sign_in(client, email: str, password: str = PASSWORD, next_: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_from(client, "/login")
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def field_block(page: str, name: str) -> str:
    """The <div class="field ..."> that holds the input called ``name``."""
    for block in re.findall(r'<div class="field[^"]*">.*?</div>', page, flags=re.S):
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name}")


def signup_data(client, **over):  # type: ignore[no-untyped-def]
    data = {"email": "new.member@example.com", "password": PASSWORD, "display_name": "王五",
            "party_kind": "organisation", "entity_type": "enterprise", "party_name": "上海新材料有限公司",
            "id_code": credit_code(), "csrf_token": csrf_from(client, "/signup")}
    data.update(over)
    return data


@pytest.fixture()
def member(session, clock):  # type: ignore[no-untyped-def]
    user = make_member(session, clock, display_name="赵六")
    session.commit()
    return user


def test_csrf_protection_is_on_in_testing(app):
    assert app.config["TESTING"] is True
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


# --- language ---------------------------------------------------------------------

def test_home_in_chinese_by_default(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "技术权益交易所" in page and '<html lang="zh-CN">' in page


def test_language_switch_is_kept_in_the_session(client):
    r = client.get("/lang/en")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Technology Rights Exchange" in page and '<html lang="en">' in page and "技术权益交易所" not in page
    client.get("/lang/zh")
    assert "技术权益交易所" in client.get("/").get_data(as_text=True)


def test_language_by_query_and_chinese_by_default(client):
    assert '<html lang="en">' in client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)  # ?lang is for that page only
    # Chinese by default even for an English-language browser; English is a switch away.
    assert '<html lang="zh-CN">' in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/?lang=xx").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.get("/lang/fr")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


# --- sign in and out ---------------------------------------------------------------------

def test_login_page(client):
    r = client.get("/login")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page and CSRF_RE.search(page)


def test_wrong_password_shows_message_beside_the_form(client, member):
    r = sign_in(client, member.email, "wrong-password-1")
    assert r.status_code == 401
    assert "Location" not in r.headers
    page = r.get_data(as_text=True)
    # Chinese pages say it in Chinese (the service's English message is the msgid).
    assert re.search(r'<p class="error form-error" role="alert">电子邮箱或密码错误。</p>', page)
    assert f'value="{member.email}"' in page  # the e-mail stays filled in
    assert 'value="wrong-password-1"' not in page  # the password never comes back
    assert member.display_name not in page  # not signed in


def test_login_throttled_on_the_page_too(client, member):
    for _ in range(5):
        assert sign_in(client, member.email, "wrong-password-1").status_code == 401
    r = sign_in(client, member.email)
    assert r.status_code == 429 and "Location" not in r.headers
    assert "登录失败次数过多，请等待几分钟后重试。" in r.get_data(as_text=True)
    r = client.post("/login?lang=en", data={"email": member.email, "password": PASSWORD,
                                            "csrf_token": csrf_from(client, "/login")})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)


def test_login_redirects_and_home_shows_the_user(client, member):
    r = sign_in(client, member.email)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "赵六" in page and "/account/tokens" in page


def test_login_with_missing_fields_is_422(client):
    token = csrf_from(client, "/login")
    r = client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert r.status_code == 422 and 'class="field has-error"' in r.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, member):
    r = client.post("/login", data={"email": member.email, "password": PASSWORD})
    assert r.status_code == 400 and r.mimetype == "text/html"
    assert "Location" not in r.headers
    assert "赵六" not in client.get("/").get_data(as_text=True)
    r = client.post("/login", data={"email": member.email, "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400


def test_logout_requires_post_with_csrf(client, member):
    sign_in(client, member.email)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert "赵六" in client.get("/").get_data(as_text=True)  # still signed in
    token = csrf_from(client, "/")
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "赵六" not in client.get("/").get_data(as_text=True)


def test_sign_in_starts_a_fresh_session(client, member):
    client.get("/lang/en")
    with client.session_transaction() as s:
        s["planted"] = "by-an-attacker"
    sign_in(client, member.email)
    with client.session_transaction() as s:
        assert "planted" not in s and s["user_id"] == member.id


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example/", "http:evil.example", "/\\evil.example", "\\\\evil.example",
    "/%09/evil.example%0a", "javascript:alert(1)",
])
def test_no_open_redirect_after_login(client, member, target):
    from urllib.parse import quote

    r = sign_in(client, member.email, next_=quote(target, safe=""))
    location = r.headers["Location"]
    assert r.status_code == 302
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    # Either refused (home page) or kept as a same-site path whose %-escapes a browser will not undo.
    assert location == "/" or location == target == "/%09/evil.example%0a"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example"])
def test_control_characters_in_next_are_refused(client, member, target):
    # Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" would mean "//evil.example".
    r = client.get("/lang/en", query_string={"next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    client.get("/lang/zh")
    r = sign_in(client, member.email, next_=target.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D")
                .replace(" ", "%20"))
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_same_site_next_is_followed(client, member):
    r = sign_in(client, member.email, next_="/account/tokens")
    assert r.status_code == 302 and r.headers["Location"] == "/account/tokens"


# --- sign up -------------------------------------------------------------------------------

def test_signup_page(client):
    r = client.get("/signup")
    assert r.status_code == 200 and 'name="id_code"' in r.get_data(as_text=True)


def test_signup_bad_credit_code_shown_beside_the_field(client, session):
    before = session.scalar(sa.select(sa.func.count()).select_from(Party))
    data = signup_data(client, id_code="91310104MA00000019")
    r = client.post("/signup", data=data)
    assert r.status_code == 422 and "Location" not in r.headers
    page = r.get_data(as_text=True)
    block = field_block(page, "id_code")
    assert "has-error" in block and "统一社会信用代码无效" in block  # a Chinese page says it in Chinese
    assert "has-error" not in field_block(page, "email")
    session.expire_all()
    assert session.scalar(sa.select(User).where(User.email == data["email"])) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Party)) == before


def test_signup_bad_id_number_for_a_person(client):
    r = client.post("/signup", data=signup_data(client, party_kind="individual", entity_type="individual",
                                                party_name="张三", id_code="110105194912310021"))
    assert r.status_code == 422
    assert "居民身份证号码无效" in field_block(r.get_data(as_text=True), "id_code")
    r = client.post("/signup?lang=en", data=signup_data(client, party_kind="individual", entity_type="individual",
                                                        party_name="张三", id_code="110105194912310021"))
    assert "Not a valid resident ID number" in field_block(r.get_data(as_text=True), "id_code")


def test_signup_weak_password_beside_the_password(client):
    r = client.post("/signup", data=signup_data(client, password="short1"))
    assert r.status_code == 422
    # The figure travels into the Chinese text (a message template with its parameters).
    assert "密码至少需要 10 个字符。" in field_block(r.get_data(as_text=True), "password")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "a@.example", "a b@example.com"])
def test_signup_bad_email_beside_the_email(client, session, email):
    r = client.post("/signup", data=signup_data(client, email=email))
    assert r.status_code == 422
    assert "has-error" in field_block(r.get_data(as_text=True), "email")
    session.expire_all()
    assert session.scalar(sa.select(User).where(User.email == email)) is None


def test_signup_invalid_choice_is_a_field_error_not_a_crash(client):
    r = client.post("/signup", data=signup_data(client, party_kind="robot"))
    assert r.status_code == 422
    assert "has-error" in field_block(r.get_data(as_text=True), "party_kind")


def test_signup_succeeds_and_signs_in(client, session):
    data = signup_data(client)
    r = client.post("/signup", data=data)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "王五" in client.get("/").get_data(as_text=True)
    session.expire_all()
    user = session.scalar(sa.select(User).where(User.email == data["email"]))
    assert user is not None and user.party.id_code == data["id_code"]


def test_signup_without_csrf_creates_nothing(client, session):
    data = signup_data(client)
    del data["csrf_token"]
    assert client.post("/signup", data=data).status_code == 400
    session.expire_all()
    assert session.scalar(sa.select(User).where(User.email == data["email"])) is None


# --- API tokens page -------------------------------------------------------------------------

def test_tokens_page_requires_sign_in(client):
    r = client.get("/account/tokens")
    assert r.status_code == 401 and r.mimetype == "text/html"


def test_tokens_page_creates_and_revokes(client, session, member):
    sign_in(client, member.email)
    token = csrf_from(client, "/account/tokens")
    r = client.post("/account/tokens", data={"name": "laptop", "csrf_token": token})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    plain = re.search(r'<code class="token">(tex_[^<]+)</code>', page).group(1)
    assert "laptop" in page
    assert client.get("/api/v1/me", headers=auth(plain)).status_code == 200
    # Shown once: the list never repeats the secret.
    assert plain not in client.get("/account/tokens").get_data(as_text=True)

    token_id = int(re.search(r'/account/tokens/(\d+)/revoke', page).group(1))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400  # CSRF required
    r = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_from(client, "/account/tokens")})
    assert r.status_code == 302 and r.headers["Location"] == "/account/tokens"
    assert client.get("/api/v1/me", headers=auth(plain)).get_json()["code"] == "token_revoked"
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert f"/account/tokens/{token_id}/revoke" not in listing  # no revoke button any more
    session.expire_all()
    assert session.get(ApiToken, token_id).revoked_at is not None


def test_cannot_revoke_someone_elses_token_from_the_page(client, session, clock, member):
    from exchange.accounts import create_token

    other = make_member(session, clock)
    tok, _plain = create_token(session, other, "theirs", clock=clock)
    session.commit()
    sign_in(client, member.email)
    r = client.post(f"/account/tokens/{tok.id}/revoke", data={"csrf_token": csrf_from(client, "/account/tokens")})
    assert r.status_code == 404 and r.mimetype == "text/html" and "token_not_found" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(ApiToken, tok.id).revoked_at is None


def test_empty_token_name_is_a_field_error(client, member):
    sign_in(client, member.email)
    r = client.post("/account/tokens", data={"name": "", "csrf_token": csrf_from(client, "/account/tokens")})
    assert r.status_code == 422 and "has-error" in field_block(r.get_data(as_text=True), "name")


# --- errors and escaping -----------------------------------------------------------------------

def test_unknown_page_is_an_html_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "<code>not_found</code>" in page and r.headers["X-Request-ID"] in page
    assert not page.lstrip().startswith("{")


def test_error_pages_speak_the_readers_language(client):
    """The HTML error page translates its title and text; the code stays as it is for support."""
    r = client.get("/no-such-page")
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and "页面不存在" in page and "Not Found" not in page and "<code>not_found</code>" in page
    r = client.get("/listings/L2026-999999")  # a service refusal naming the reference: said per code
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and "未找到该编号对应的记录" in page and "No listing" not in page
    assert "<code>listing_not_found</code>" in page
    r = client.get("/listings/L2026-999999?lang=en")  # English keeps the service's exact words
    assert r.status_code == 404 and "No listing L2026-999999." in r.get_data(as_text=True)
    # The API is never translated: clients read the code, people read the English detail.
    assert client.get("/api/v1/listings/L2026-999999").get_json()["detail"] == "No listing L2026-999999."


@pytest.mark.parametrize("path", ["/my/bids", "/my/deals", "/account/tokens", "/operator", "/my/settlement"])
def test_every_packages_pages_offer_the_sign_in_form_to_anonymous_visitors(client, path):
    """One answer for the whole exchange (it was the listings, settlement and contracts pages only):
    401 with the sign-in form, which brings the visitor back; JSON clients get the problem."""
    r = client.get(path)
    page = r.get_data(as_text=True)
    assert r.status_code == 401 and r.mimetype == "text/html"
    assert f'action="/login?next={path}"' in page and 'name="password"' in page
    r = client.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.get_json()["code"] == "not_authenticated"


def test_unknown_page_asked_as_json_gets_a_problem(client):
    r = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_user_text_is_escaped(client, session, clock):
    user = make_member(session, clock, display_name=XSS, party_name=f"{XSS}有限公司")
    session.commit()
    sign_in(client, user.email)
    for path in ("/", "/account/tokens"):
        page = client.get(path).get_data(as_text=True)
        assert XSS not in page, path
        assert html.escape(XSS, quote=False) in page, path
    name = '"><img src=x onerror=alert(1)>'
    r = client.post("/account/tokens", data={"name": name, "csrf_token": csrf_from(client, "/account/tokens")})
    page = r.get_data(as_text=True)
    assert name not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_form_values_are_escaped_when_shown_again(client):
    r = client.post("/signup", data=signup_data(client, email=f'"><script>x</script>@example.com',
                                                id_code="bad"))
    page = r.get_data(as_text=True)
    assert "<script>x</script>" not in page


def test_a_member_choosing_a_language_gets_its_emails_in_it(app, session, clock):
    from exchange.models import User
    from tests.factories import make_member

    user = make_member(session, clock)
    session.commit()
    c = app.test_client()
    assert sign_in(c, user.email).status_code == 302
    c.get("/lang/en")
    session.expire_all()
    assert session.get(User, user.id).locale == "en"
    c.get("/lang/zh")
    session.expire_all()
    assert session.get(User, user.id).locale == "zh"


def test_signing_up_keeps_the_language_for_emails(client, session):
    from exchange.models import User

    client.get("/lang/en")
    r = client.post("/signup", data=signup_data(client, email="english.reader@example.com"))
    assert r.status_code == 302
    user = session.scalar(sa.select(User).where(User.email == "english.reader@example.com"))
    assert user.locale == "en"
