"""The platform around every route: health, OpenAPI, deny-by-default access, problem details,
security headers, request ids, and the business-calendar API."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from exchange.auth import PUBLIC, SELF_SERVICE, access, policy_for
from exchange.models import AuditEvent, Role
from tests.factories import auth, make_member, make_staff, token_for

PROBLEM = "application/problem+json"
KNOWN_POLICIES = {PUBLIC, SELF_SERVICE, *(r.value for r in Role)}
SECRET = "s3cret-internal-detail-7f1c"


def assert_problem(resp, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"].startswith("/problems/")
    assert body["type"] == f"/problems/{body['code']}"
    assert body["request_id"] == resp.headers["X-Request-ID"]
    if code is not None:
        assert body["code"] == code, body
    return body


# --- a second app with throwaway routes (the shared app cannot take routes after its first request) --

@pytest.fixture(scope="module")
def extra_app(db_url: str, tmp_path_factory) -> Flask:  # type: ignore[no-untyped-def]
    from exchange.app import create_app

    inst = tmp_path_factory.mktemp("extra_app")
    application = create_app("testing", overrides={"DATABASE_URL": db_url, "INSTANCE_PATH": str(inst)})

    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError(SECRET)

    def undeclared():  # type: ignore[no-untyped-def]
        return {"leaked": True}

    application.add_url_rule("/api/v1/_test/boom", "api_boom", access(PUBLIC)(boom))
    application.add_url_rule("/_test/boom", "page_boom", access(PUBLIC)(boom))
    application.add_url_rule("/api/v1/_test/undeclared", "api_undeclared", undeclared, methods=["GET", "POST"])
    application.add_url_rule("/_test/undeclared", "page_undeclared", undeclared)
    yield application
    application.extensions["exchange.db"].engine.dispose()


def test_unexpected_error_never_leaks_details(extra_app):
    c = extra_app.test_client()
    r = c.get("/api/v1/_test/boom")
    body = assert_problem(r, 500, "internal_error")
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and SECRET not in text and "RuntimeError" not in text
    assert set(body) <= {"type", "title", "status", "code", "detail", "request_id"}

    r = c.get("/_test/boom", headers={"Accept": "text/html"})
    assert r.status_code == 500 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "internal_error" in page and r.headers["X-Request-ID"] in page
    assert "Traceback" not in page and SECRET not in page and "RuntimeError" not in page


def test_undeclared_endpoint_is_refused_to_everyone(extra_app):
    c = extra_app.test_client()
    assert_problem(c.get("/api/v1/_test/undeclared"), 403, "access_not_declared")
    assert_problem(c.post("/api/v1/_test/undeclared", json={}), 403, "access_not_declared")
    assert_problem(c.get("/api/v1/_test/undeclared", headers=auth("tex_anything")), 403, "access_not_declared")
    r = c.get("/_test/undeclared", headers={"Accept": "text/html"})
    assert r.status_code == 403 and r.mimetype == "text/html" and "access_not_declared" in r.get_data(as_text=True)
    assert "leaked" not in r.get_data(as_text=True)


# --- deny by default ------------------------------------------------------------

def _rules(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_an_access_policy(app):
    missing, odd = [], []
    for rule, method in _rules(app):
        pol = policy_for(app, rule.endpoint, method)
        if not pol:
            missing.append(f"{method} {rule.rule} ({rule.endpoint})")
        elif not pol <= KNOWN_POLICIES:
            odd.append(f"{method} {rule.rule}: {sorted(pol)}")
    assert not missing, "routes without @access(...): " + ", ".join(missing)
    assert not odd, "unknown policies: " + ", ".join(odd)
    assert policy_for(app, "static", "GET") == {PUBLIC}
    assert policy_for(app, "healthz", "GET") == {PUBLIC}
    assert policy_for(app, "exchange_api.list_parties", "GET") == {"operator", "admin", "auditor"}
    assert policy_for(app, "no.such_endpoint", "GET") is None


_SAMPLE_VALUES = {"IntegerConverter": 2026, "FloatConverter": 1.5,
                  "UUIDConverter": "00000000-0000-4000-8000-000000000000"}


def _sample_url(rule) -> str:  # type: ignore[no-untyped-def]
    """A URL for ``rule`` with made-up arguments (access is decided before anything is looked up)."""
    values = {arg: _SAMPLE_VALUES.get(type(rule._converters[arg]).__name__, "X2026-000001") for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_non_public_api_routes_refuse_anonymous_callers(app, client):
    checked = 0
    for rule, method in _rules(app):
        pol = policy_for(app, rule.endpoint, method)
        if PUBLIC in pol or not rule.rule.startswith("/api/"):
            continue
        r = client.open(_sample_url(rule), method=method, json={} if method not in ("GET", "DELETE") else None)
        assert_problem(r, 401, "not_authenticated")
        checked += 1
    assert checked >= 5


def test_staff_only_api_reads_refuse_members(app, client, session, clock):
    member = make_member(session, clock)
    session.commit()
    tm = token_for(client, member)
    for rule, method in _rules(app):
        pol = policy_for(app, rule.endpoint, method)
        if method != "GET" or not rule.rule.startswith("/api/") or pol & {PUBLIC, SELF_SERVICE, "member"}:
            continue
        assert_problem(client.get(_sample_url(rule), headers=auth(tm)), 403, "forbidden_role")


def test_non_public_pages_refuse_anonymous_visitors(app, client):
    for rule, method in _rules(app):
        pol = policy_for(app, rule.endpoint, method)
        if PUBLIC in pol or rule.rule.startswith("/api/") or method != "GET":
            continue
        r = client.get(_sample_url(rule), headers={"Accept": "text/html"})
        assert r.status_code == 401 and r.mimetype == "text/html", rule.rule


# --- health and documentation ----------------------------------------------------------

def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "up", "env": "testing"}


def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    spec = r.get_json()
    validate(spec)
    assert spec["info"]["title"] and spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "Problem" in spec["components"]["schemas"]
    paths = spec["paths"]
    for path in ("/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/me/tokens/{token_id}",
                 "/api/v1/calendar/{year}", "/api/v1/calendar/working-days", "/api/v1/audit/events",
                 "/api/v1/audit/verify"):
        assert path in paths, path
    for path, ops in paths.items():
        for verb, op in ops.items():
            if verb in ("get", "post", "put", "patch", "delete"):
                assert "default" in op["responses"], f"{verb} {path} does not document its problem answers"
                assert op.get("summary") or op.get("description"), f"{verb} {path} is undocumented"


def test_openapi_lists_every_api_route(app, client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    documented = {(re.sub(r"\{(\w+)\}", r"<\1>", p), verb.upper()) for p, ops in paths.items() for verb in ops}
    for rule, method in _rules(app):
        if rule.rule.startswith("/api/v1/"):
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule)
            assert (route, method) in documented, f"{method} {rule.rule} missing from the OpenAPI document"


def test_docs_page(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "openapi.json" in r.get_data(as_text=True)


# --- problem details ---------------------------------------------------------------------

def test_unknown_api_path_is_a_problem_not_a_page(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_problem(client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"}), 404, "not_found")


def test_method_not_allowed(client):
    r = client.delete("/api/v1/auth/token")
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]
    assert_problem(client.patch("/api/v1/calendar/2026", json={}), 405, "method_not_allowed")


@pytest.mark.parametrize("body", ["{bad json", "{\"email\": ", "\xff\xfe", "null"])
def test_malformed_json_body(client, body):
    r = client.post("/api/v1/auth/token", data=body.encode("latin-1"), content_type="application/json")
    problem = assert_problem(r, r.status_code)
    assert r.status_code in (400, 422)
    assert problem["code"] in ("bad_request", "validation_error")


@pytest.mark.parametrize("payload, fields", [
    ({"email": 5, "password": ["x"]}, {"email", "password"}),
    ({"email": "a@b.example", "password": None}, {"password"}),
    ({"email": "a@b.example", "password": "x" * 300}, {"password"}),
    ({"email": "a@b.example", "password": "x" * 12, "token_name": ""}, {"token_name"}),
    ({"email": "a@b.example", "password": "x" * 12, "admin": True}, {"admin"}),  # unknown fields refused
])
def test_wrong_types_are_field_problems(client, payload, fields):
    body = assert_problem(client.post("/api/v1/auth/token", json=payload), 422, "validation_error")
    assert fields <= set(body["errors"])


def test_body_that_is_not_an_object(client):
    body = assert_problem(client.post("/api/v1/auth/token", json=[1, 2]), 422, "validation_error")
    assert body["errors"]


def test_body_too_large(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    r = client.post("/api/v1/auth/token", data=b" " * (limit + 1), content_type="application/json")
    assert_problem(r, 413, "payload_too_large")


def test_body_too_large_for_a_lower_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    big = {"email": "a@b.example", "password": "x" * 2000}
    assert_problem(client.post("/api/v1/auth/token", json=big), 413, "payload_too_large")


def test_problem_detail_texts_are_json_with_unicode(client):
    r = client.get("/api/v1/calendar/2030")
    body = assert_problem(r, 404, "calendar_year_not_loaded")
    assert "2030" in body["detail"]
    json.loads(r.get_data(as_text=True))  # one well-formed document


# --- headers --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/healthz", "/api/v1/calendar/2026", "/api/v1/no-such-thing",
                                  "/no-such-page", "/api/openapi.json"])
def test_security_headers(client, path):
    r = client.get(path)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_docs_page_csp_allows_only_its_own_cdn(client):
    csp = client.get("/api/docs").headers["Content-Security-Policy"]
    assert "https://cdn.jsdelivr.net" in csp and "frame-ancestors 'none'" in csp


def test_session_cookie_flags(client, session, clock):
    from tests.factories import PASSWORD

    user = make_member(session, clock)
    session.commit()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("incoming", ["abc-123", "req.2026_03_02", "A" * 64])
def test_request_id_echoed_when_safe(client, incoming):
    r = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert r.headers["X-Request-ID"] == incoming
    body = assert_problem(client.get("/api/v1/nope", headers={"X-Request-ID": incoming}), 404)
    assert body["request_id"] == incoming


@pytest.mark.parametrize("incoming", [None, "", "has space", "<script>", "A" * 65, "id;drop", "ü-nicode"])
def test_request_id_generated_otherwise(client, incoming):
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    r = client.get("/healthz", headers=headers)
    rid = r.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert rid != client.get("/healthz", headers=headers).headers["X-Request-ID"]  # one per request


# --- the calendar API -------------------------------------------------------------------------

def test_calendar_year(client):
    r = client.get("/api/v1/calendar/2026")
    assert r.status_code == 200
    data = r.get_json()
    assert data["year"] == 2026 and "国务院办公厅" in data["source"]
    national = next(h for h in data["holidays"] if h["name"].startswith("国庆节"))
    assert (national["start"], national["end"]) == ("2026-10-01", "2026-10-07")
    assert {"name": "国庆节 National Day", "date": "2026-10-10"} in data["makeup_days"]
    assert sum(1 for h in data["holidays"] if h["name"].startswith("春节")) == 1
    assert_problem(client.get("/api/v1/calendar/2030"), 404, "calendar_year_not_loaded")


@pytest.mark.parametrize("start, days, deadline, provisional", [
    ("2026-09-30", 1, "2026-10-08", False),   # over the National Day week
    ("2026-10-09", 1, "2026-10-10", False),   # Saturday 10 Oct is a make-up working day
    ("2026-02-13", 1, "2026-02-14", False),   # make-up Saturday before the Spring Festival
    ("2026-02-14", 1, "2026-02-24", False),   # then nine days off
    ("2026-10-01", 0, "2026-10-08", False),   # zero days from a holiday: the next working day
    ("2026-12-31", 1, "2027-01-01", True),    # 2027 is not loaded: plain weekdays, flagged
    ("2027-03-01", 1, "2027-03-02", True),
])
def test_working_days(client, start, days, deadline, provisional):
    r = client.get(f"/api/v1/calendar/working-days?start={start}&days={days}")
    assert r.status_code == 200
    assert r.get_json() == {"start": start, "days": days, "deadline": deadline, "provisional": provisional}


@pytest.mark.parametrize("query", ["start=2026-02-30&days=1", "start=2026-09-30", "days=1", "start=2026-09-30&days=-1",
                                   "start=2026-09-30&days=2001", "start=2026-09-30&days=x"])
def test_working_days_bad_arguments(client, query):
    body = assert_problem(client.get(f"/api/v1/calendar/working-days?{query}"), 422, "validation_error")
    assert body["errors"]


YEAR_2032 = {"year": 2032, "source": "test notice",
             "holidays": [{"name": "元旦", "start": "2032-01-01", "end": "2032-01-02"}],
             "makeup_days": [{"name": "元旦", "date": "2032-01-04"}]}  # 4 Jan 2032 is a Sunday


@pytest.fixture()
def operator_token(client, session, clock):  # type: ignore[no-untyped-def]
    op = make_staff(session, clock, Role.operator)
    session.commit()
    return token_for(client, op)


def test_put_calendar_year_then_get(client, session, operator_token):
    r = client.put("/api/v1/calendar/2032", json=YEAR_2032, headers=auth(operator_token))
    assert r.status_code == 200, r.get_json()
    assert client.get("/api/v1/calendar/2032").get_json() == YEAR_2032
    # The loaded year now drives deadlines and is no longer provisional.
    dl = client.get("/api/v1/calendar/working-days?start=2031-12-31&days=1").get_json()
    assert dl == {"start": "2031-12-31", "days": 1, "deadline": "2032-01-04", "provisional": True}  # 2031 missing
    dl = client.get("/api/v1/calendar/working-days?start=2032-01-01&days=1").get_json()
    assert dl == {"start": "2032-01-01", "days": 1, "deadline": "2032-01-04", "provisional": False}
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "calendar.year_loaded",
                                                     AuditEvent.subject_ref == "2032")).one()
    assert ev.after["holidays"] == YEAR_2032["holidays"] and ev.before is None


def test_loading_a_loaded_year_needs_replace(client, operator_token):
    assert client.put("/api/v1/calendar/2032", json=YEAR_2032, headers=auth(operator_token)).status_code == 200
    changed = {**YEAR_2032, "holidays": [{"name": "元旦", "start": "2032-01-01", "end": "2032-01-01"}]}
    assert_problem(client.put("/api/v1/calendar/2032", json=changed, headers=auth(operator_token)),
                   409, "calendar_year_loaded")
    assert client.get("/api/v1/calendar/2032").get_json() == YEAR_2032  # unchanged
    r = client.put("/api/v1/calendar/2032?replace=true", json=changed, headers=auth(operator_token))
    assert r.status_code == 200
    assert client.get("/api/v1/calendar/2032").get_json() == changed
    # The bundled year is protected the same way.
    current = client.get("/api/v1/calendar/2026").get_json()
    assert_problem(client.put("/api/v1/calendar/2026", json=current, headers=auth(operator_token)),
                   409, "calendar_year_loaded")


def test_calendar_year_mismatch(client, operator_token):
    body = assert_problem(client.put("/api/v1/calendar/2033", json=YEAR_2032, headers=auth(operator_token)),
                          422, "calendar_year_mismatch")
    assert "year" in body["errors"]
    assert_problem(client.get("/api/v1/calendar/2033"), 404, "calendar_year_not_loaded")


@pytest.mark.parametrize("change, code", [
    ({"makeup_days": [{"name": "x", "date": "2032-01-05"}]}, "calendar_makeup_not_weekend"),  # a Monday
    ({"holidays": [{"name": "x", "start": "2033-01-01", "end": "2033-01-01"}]}, "calendar_date_outside_year"),
    ({"holidays": [{"name": "x", "start": "2032-01-03", "end": "2032-01-01"}]}, "calendar_invalid"),
    ({"holidays": [{"name": "x", "start": "2032/01/01", "end": "2032-01-01"}]}, "calendar_invalid"),
    ({"holidays": [{"name": "", "start": "2032-01-01", "end": "2032-01-01"}]}, "calendar_invalid"),
    ({"makeup_days": [{"name": "x", "date": "2032-01-04"}, {"name": "y", "date": "2032-01-04"}]},
     "calendar_day_conflict"),
    ({"holidays": [{"name": "x", "start": "2032-01-03", "end": "2032-01-04"}]}, "calendar_day_conflict"),
])
def test_bad_calendar_data(client, operator_token, change, code):
    r = client.put("/api/v1/calendar/2032", json={**YEAR_2032, **change}, headers=auth(operator_token))
    assert_problem(r, 422, code)
    assert_problem(client.get("/api/v1/calendar/2032"), 404, "calendar_year_not_loaded")  # nothing half-loaded


@pytest.mark.parametrize("payload", [
    {"year": 1999, "holidays": [], "makeup_days": []},
    {"year": "2032", "holidays": "none", "makeup_days": []},
    {"year": 2032, "holidays": []},
    {**YEAR_2032, "extra": 1},
])
def test_calendar_schema_errors(client, operator_token, payload):
    year = payload["year"] if isinstance(payload["year"], int) else 2032
    assert_problem(client.put(f"/api/v1/calendar/{year}", json=payload, headers=auth(operator_token)),
                   422, "validation_error")


def test_every_query_parameter_a_route_does_not_know_is_refused(app, client, session, clock):
    """A misspelt filter (?stat= for ?state=) gets a 422 naming it, never the unfiltered list."""
    users = {"member": make_member(session, clock), "operator": make_staff(session, clock),
             "auditor": make_staff(session, clock, role=Role.auditor)}
    session.commit()
    tokens = {k: token_for(client, u) for k, u in users.items()}
    spec = client.get("/api/openapi.json").get_json()
    checked = []
    for rule, method in _rules(app):
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        op = spec["paths"].get(path, {}).get(method.lower(), {})
        if method != "GET" or not any(p.get("in") == "query" for p in op.get("parameters", [])):
            continue
        pol = policy_for(app, rule.endpoint, method)
        who = next((k for k in ("member", "operator", "auditor") if k in pol), "member")
        headers = {} if PUBLIC in pol else auth(tokens[who])
        r = client.get(_sample_url(rule) + "?no_such_filter=1", headers=headers)
        body = assert_problem(r, 422, "validation_error")
        assert "no_such_filter" in json.dumps(body["errors"]), (rule.rule, body)
        # The pages' language parameter is the one exception: accepted and ignored everywhere.
        r = client.get(_sample_url(rule) + "?lang=en", headers=headers)
        assert "lang" not in json.dumps((r.get_json(silent=True) or {}).get("errors", {})), (rule.rule, r.status_code)
        checked.append(rule.rule)
    assert len(checked) >= 10, checked
    # Declared parameters still pass, with the language parameter beside them.
    r = client.get("/api/v1/calendar/working-days?start=2026-01-05&days=3&lang=en")
    assert r.status_code == 200, r.get_json()
    assert_problem(client.get("/api/v1/calendar/working-days?start=2026-01-05&days=3&day=4"), 422, "validation_error")
