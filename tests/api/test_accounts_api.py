"""Sign-up, tokens, throttling and roles through HTTP."""
from __future__ import annotations

from datetime import timedelta

from exchange.models import Role
from tests.factories import PASSWORD, auth, id_number, make_member, make_staff, register_payload, token_for

PROBLEM = "application/problem+json"


def assert_problem(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["code"] == code and body["status"] == status
    return body


def test_register_rejects_bad_credit_code(client):
    payload = register_payload(id_code="91310104MA00000019")  # wrong check character
    body = assert_problem(client.post("/api/v1/auth/register", json=payload), 422, "invalid_credit_code")
    assert "id_code" in body["errors"]
    # Nothing half-made: the e-mail is still free.
    ok = client.post("/api/v1/auth/register", json={**payload, "id_code": register_payload()["id_code"]})
    assert ok.status_code == 201


def test_register_rejects_bad_resident_id(client):
    payload = register_payload(party_kind="individual", entity_type="individual", party_name="张三",
                               id_code="110105194912310021")
    assert_problem(client.post("/api/v1/auth/register", json=payload), 422, "invalid_id_number")


def test_register_person_and_id_number_masked_for_others(client, session, clock):
    idn = id_number()
    payload = register_payload(party_kind="individual", entity_type="individual", party_name="李四", id_code=idn)
    r = client.post("/api/v1/auth/register", json=payload)
    assert r.status_code == 201
    assert r.get_json()["party"]["region_code"] == idn[:6]
    token = token_for(client, type("U", (), {"email": payload["email"]})(), payload["password"])
    me = client.get("/api/v1/me", headers=auth(token)).get_json()
    assert me["party"]["id_code"] == idn  # the party itself sees it whole
    op = make_staff(session, clock, Role.operator)
    session.commit()
    seen = client.get("/api/v1/parties?per_page=100", headers=auth(token_for(client, op))).get_json()
    assert idn in [p["id_code"] for p in seen["items"]]  # operators see it whole


def test_register_validation_errors_are_field_problems(client):
    r = client.post("/api/v1/auth/register", json={"email": "x"})
    body = assert_problem(r, 422, "validation_error")
    assert {"password", "party_kind", "id_code"} <= set(body["errors"])
    r = client.post("/api/v1/auth/register", json={**register_payload(), "surprise": 1})
    assert_problem(r, 422, "validation_error")


def test_weak_password_and_duplicate_email(client):
    assert_problem(client.post("/api/v1/auth/register", json=register_payload(password="short1")), 422,
                   "password_too_short")
    assert_problem(client.post("/api/v1/auth/register", json=register_payload(password="aaaaaaaaaaaa")), 422,
                   "password_too_weak")
    p = register_payload()
    assert client.post("/api/v1/auth/register", json=p).status_code == 201
    assert_problem(client.post("/api/v1/auth/register", json={**register_payload(), "email": p["email"]}), 409,
                   "email_taken")


def test_control_characters_in_names_refused(client):
    assert_problem(client.post("/api/v1/auth/register", json=register_payload(display_name="Eve\u202egnp.exe")),
                   422, "invalid_characters")


def test_wrong_password_and_throttling(client, session, clock):
    user = make_member(session, clock)
    session.commit()
    for _ in range(5):
        assert_problem(client.post("/api/v1/auth/token", json={"email": user.email, "password": "wrong-pass-1"}),
                       401, "invalid_credentials")
    # Even the right password is refused while throttled...
    body = assert_problem(client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}),
                          429, "login_throttled")
    assert body["details"]["retry_after_seconds"] > 0
    # ...and accepted again once the window has passed.
    clock.advance(timedelta(minutes=16))
    assert client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).status_code == 201


def test_unknown_email_same_answer_as_wrong_password(client):
    assert_problem(client.post("/api/v1/auth/token", json={"email": "nobody@example.com", "password": "x" * 12}),
                   401, "invalid_credentials")


def test_token_lifecycle_and_revoked_token_refused(client, session, clock):
    user = make_member(session, clock)
    session.commit()
    token = token_for(client, user)
    assert client.get("/api/v1/me", headers=auth(token)).get_json()["email"] == user.email
    second = client.post("/api/v1/me/tokens", json={"name": "ci"}, headers=auth(token)).get_json()
    listed = client.get("/api/v1/me/tokens", headers=auth(token)).get_json()
    assert {t["name"] for t in listed} >= {"API token", "ci"}
    assert all("token" not in t for t in listed)
    r = client.delete(f"/api/v1/me/tokens/{second['id']}", headers=auth(token))
    assert r.status_code == 200 and r.get_json()["revoked_at"]
    assert_problem(client.get("/api/v1/me", headers=auth(second["token"])), 401, "token_revoked")
    assert_problem(client.get("/api/v1/me", headers=auth("tex_forged")), 401, "invalid_token")
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "invalid_token")


def test_cannot_revoke_someone_elses_token(client, session, clock):
    a, b = make_member(session, clock), make_member(session, clock)
    session.commit()
    ta = token_for(client, a)
    tb_id = client.post("/api/v1/me/tokens", json={"name": "b"}, headers=auth(token_for(client, b))).get_json()["id"]
    assert_problem(client.delete(f"/api/v1/me/tokens/{tb_id}", headers=auth(ta)), 404, "token_not_found")


def test_roles_refused_where_they_do_not_belong(client, session, clock):
    member = make_member(session, clock)
    auditor = make_staff(session, clock, Role.auditor)
    operator = make_staff(session, clock, Role.operator)
    session.commit()
    tm, ta, to = token_for(client, member), token_for(client, auditor), token_for(client, operator)
    assert_problem(client.get("/api/v1/parties"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/parties", headers=auth(tm)), 403, "forbidden_role")
    assert client.get("/api/v1/parties", headers=auth(ta)).status_code == 200
    assert client.get("/api/v1/users", headers=auth(to)).status_code == 200
    year = {"year": 2031, "source": "test", "holidays": [], "makeup_days": []}
    assert_problem(client.put("/api/v1/calendar/2031", json=year, headers=auth(tm)), 403, "forbidden_role")
    assert_problem(client.put("/api/v1/calendar/2031", json=year, headers=auth(ta)), 403, "auditor_read_only")
    assert client.put("/api/v1/calendar/2031", json=year, headers=auth(to)).status_code == 200


def test_session_cookie_cannot_drive_unsafe_api_calls(client, session, clock):
    user = make_member(session, clock)
    session.commit()
    with client.session_transaction() as s:
        s["user_id"] = user.id
        s["pw"] = user.password_hash[-16:]
    assert client.get("/api/v1/me").status_code == 200
    assert_problem(client.post("/api/v1/me/tokens", json={"name": "x"}), 401, "not_authenticated")


def test_staff_accounts_only_through_cli_or_admin(session, clock):
    import pytest

    from exchange.accounts import create_staff_user
    from exchange.actors import Actor
    from exchange.errors import PermissionDeniedError

    op = make_staff(session, clock, Role.operator)
    with pytest.raises(PermissionDeniedError):
        create_staff_user(session, email="x@exchange.example", password=PASSWORD, display_name="x",
                          role=Role.operator, actor=Actor.of(op), clock=clock)
    admin = make_staff(session, clock, Role.admin)
    made = create_staff_user(session, email="y@exchange.example", password=PASSWORD, display_name="y",
                             role=Role.auditor, actor=Actor.of(admin), clock=clock)
    assert made.role == Role.auditor
