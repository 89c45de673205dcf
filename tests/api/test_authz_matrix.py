"""The authorisation matrix: every route x every role, the expectation derived from the route's
declared policy (``exchange.auth.policy_for``), so a new route is in the matrix the day it is
added and a wrong policy, or a policy the code does not apply, makes it fail.

Roles: anonymous, a member with no relation to anything ("other"), the seller, the buyer, an
operator and an auditor. Path arguments are dummy values: access is decided before anything is
looked up, so the answer says whether the door opened, not whether the object exists.

* anonymous: 401 (a problem for the API, the 401 page or a redirect to /login for pages) on
  every endpoint that is not public;
* members: 403 ``forbidden_role`` where their role is not in the policy;
* operators and auditors: likewise by role; auditors are refused every unsafe method
  (``auditor_read_only``) except on the public and self-service endpoints listed below;
* wherever the role is allowed, the door opens: no 401 and no access refusal.

The second part is about objects, not doors: a member with no relation to a seller's draft
listing, a buyer's registration or a deal gets 404 (never 200, never 403 that would confirm the
object exists) on reading them and cannot act on them, while their owners can read them.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from exchange.actors import Actor
from exchange.auth import PUBLIC, SAFE_METHODS, SELF_SERVICE, policy_for
from exchange.models import Role
from tests import settlement_world as sw
from tests.factories import auth, make_member, make_staff, token_for

PROBLEM = "application/problem+json"
ROLES = ("anonymous", "other", "seller", "buyer", "operator", "auditor")
ROLE_OF = {"other": Role.member, "seller": Role.member, "buyer": Role.member, "operator": Role.operator,
           "auditor": Role.auditor}
ACCESS_CODES = {"not_authenticated", "forbidden_role", "auditor_read_only", "access_not_declared", "invalid_token",
                "token_revoked"}
_DUMMY = {"IntegerConverter": 2026, "FloatConverter": 1.5, "UUIDConverter": "00000000-0000-4000-8000-000000000000"}

#: Every unsafe route an auditor may use: signing in and out, signing up, choosing a language,
#: and managing their own tokens. Nothing else; a new entry is a decision, so it is listed here.
AUDITOR_MAY_CHANGE = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/me/tokens"),
    ("DELETE", "/api/v1/me/tokens/<int:token_id>"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/signup"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/<int:token_id>/revoke"),
}


def routes(app) -> Iterator[tuple[Any, str]]:  # type: ignore[no-untyped-def]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def sample_url(rule) -> str:  # type: ignore[no-untyped-def]
    values = {arg: _DUMMY.get(type(rule._converters[arg]).__name__, "X2026-000001") for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def expected(policy: frozenset[str], role: str, method: str) -> str:
    """'open', 'unauthenticated' or 'forbidden': what the policy promises this role."""
    if PUBLIC in policy:
        return "open"
    if role == "anonymous":
        return "unauthenticated"
    if SELF_SERVICE in policy:
        return "open"
    user_role = ROLE_OF[role]
    if user_role == Role.auditor and method not in SAFE_METHODS:
        return "forbidden"
    if str(user_role) in policy or (user_role == Role.admin and str(Role.operator) in policy):
        return "open"
    return "forbidden"


@pytest.fixture()
def people(client, session, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A deal in force between a seller and a buyer, a draft listing of the seller, an operator,
    an auditor and a member with no relation to any of it; each signed in with a token."""
    from listings import domain as ld
    from listings import service as ls

    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    seller = Actor.of(w.seller)
    asset = ls.register_asset(session, seller, ls.AssetInput(
        kind=ld.AssetKind.INVENTION_PATENT, title="一种尚未挂牌的减速器", technical_field="advanced_manufacturing",
        number=sw.patent_no(next(sw._serial)), filing_date=clock.now().date().replace(year=2017)), clock=clock)
    asset.confirmation = ld.AssetConfirmation.CONFIRMED
    asset.confirmed_at = clock.now()
    session.flush()
    draft = ls.create_listing(session, seller, asset.ref, ls.ListingTerms(
        title="尚未提交的挂牌", mode=ld.TradingMode.ASSIGNMENT, price_fen=50_000_000, deposit_fen=5_000_000,
        increment_fen=500_000), clock=clock)
    other = make_member(session, clock)
    op, aud = make_staff(session, clock, Role.operator), make_staff(session, clock, Role.auditor)
    session.commit()
    winner = deal.buyer.users[0]
    reg = next(r for r in w.regs if r.buyer_party_id == winner.party_id)
    return {"tokens": {"anonymous": None, "other": token_for(client, other), "seller": token_for(client, w.seller),
                       "buyer": token_for(client, winner), "operator": token_for(client, op),
                       "auditor": token_for(client, aud)},
            "deal": deal, "draft": draft, "asset": asset, "registration": reg, "listing": w.listing}


def _csrf(client, token: str | None) -> str:
    page = client.get("/login", headers=auth(token) if token else {}).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "the login page has no CSRF token"
    return found.group(1)


def _call(app, client, db, rule, method: str, token: str | None, csrf: str):  # type: ignore[no-untyped-def]
    """One request in a savepoint that is rolled back (a dummy call must not change the next one)."""
    url = sample_url(rule)
    headers = auth(token) if token else {}
    kw: dict[str, Any] = {}
    if rule.rule.startswith("/api/"):
        headers["Accept"] = "application/json"
        if method not in SAFE_METHODS:
            kw["json"] = {}
            headers["Idempotency-Key"] = "authz-matrix-key"
    else:
        headers["Accept"] = "text/html"
        if method not in SAFE_METHODS:
            kw["data"] = {"csrf_token": csrf}
    conn = db.sessionmaker.kw["bind"]
    savepoint = conn.begin_nested()
    try:
        return client.open(url, method=method, headers=headers, **kw)
    finally:
        savepoint.rollback()


def _outcome(resp, api: bool) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """('unauthenticated' | 'forbidden' | 'open', the code or status seen)."""
    status = resp.status_code
    if api or resp.mimetype == PROBLEM:
        assert resp.mimetype == PROBLEM or status < 400, (status, resp.mimetype)
        code = resp.get_json()["code"] if status >= 400 else str(status)
        if status == 401:
            return "unauthenticated", code
        if status == 403 and code in ACCESS_CODES:
            return "forbidden", code
        return "open", code
    if status == 401 or (status in (302, 303) and "/login" in resp.headers.get("Location", "")):
        return "unauthenticated", str(status)
    if status == 403:
        page = resp.get_data(as_text=True)
        code = next((c for c in ACCESS_CODES if c in page), "403")
        return ("forbidden", code) if code in ACCESS_CODES else ("open", code)
    return "open", str(status)


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(app, client, db, people, role):
    token = people["tokens"][role]
    csrf = _csrf(client, token)
    wrong, checked = [], 0
    for rule, method in routes(app):
        policy = policy_for(app, rule.endpoint, method)
        assert policy, f"{method} {rule.rule} declares no policy"
        want = expected(policy, role, method)
        resp = _call(app, client, db, rule, method, token, csrf)
        got, code = _outcome(resp, rule.rule.startswith("/api/"))
        checked += 1
        assert resp.status_code < 500, f"{method} {rule.rule} as {role}: {resp.status_code}"
        if got != want:
            wrong.append(f"{method} {rule.rule} [{sorted(policy)}] as {role}: expected {want}, got {got} ({code})")
        elif want == "forbidden" and rule.rule.startswith("/api/"):
            expected_code = "auditor_read_only" if (ROLE_OF[role] == Role.auditor and method not in SAFE_METHODS) \
                else "forbidden_role"
            if code != expected_code:
                wrong.append(f"{method} {rule.rule} as {role}: refused with {code}, expected {expected_code}")
        elif want == "unauthenticated" and rule.rule.startswith("/api/") and code != "not_authenticated":
            wrong.append(f"{method} {rule.rule} as {role}: 401 with {code}")
        if role == "auditor" and method not in SAFE_METHODS and resp.status_code < 400:
            if (method, rule.rule) not in AUDITOR_MAY_CHANGE:
                wrong.append(f"{method} {rule.rule}: an auditor got {resp.status_code}")
    assert checked > 100
    assert not wrong, f"{len(wrong)} cells of the matrix are wrong:\n" + "\n".join(wrong)


def test_the_matrix_can_fail(app):
    """The expectation really depends on the policy: a sample of cells, worked out by hand."""
    assert expected(frozenset({PUBLIC}), "anonymous", "POST") == "open"
    assert expected(frozenset({"member"}), "anonymous", "GET") == "unauthenticated"
    assert expected(frozenset({"member"}), "operator", "GET") == "forbidden"
    assert expected(frozenset({"operator", "admin"}), "seller", "POST") == "forbidden"
    assert expected(frozenset({"operator", "admin", "auditor"}), "auditor", "GET") == "open"
    assert expected(frozenset({"operator", "admin", "auditor"}), "auditor", "POST") == "forbidden"
    assert expected(frozenset({SELF_SERVICE}), "auditor", "DELETE") == "open"
    assert expected(frozenset({SELF_SERVICE}), "anonymous", "GET") == "unauthenticated"
    # Staff-only and member-only routes both exist, so both kinds of refusal are exercised.
    pols = [policy_for(app, r.endpoint, m) for r, m in routes(app)]
    assert any(p == frozenset({"operator", "admin"}) for p in pols)
    assert any(p == frozenset({"member"}) for p in pols)


def test_auditors_unsafe_exceptions_are_exactly_the_listed_ones(app):
    """Every unsafe route an auditor can pass is public or self-service, and listed above: adding
    one (a public POST, a self-service DELETE) means deciding about it here."""
    passable = {(m, r.rule) for r, m in routes(app) if m not in SAFE_METHODS
                and policy_for(app, r.endpoint, m) & {PUBLIC, SELF_SERVICE}}
    assert passable == AUDITOR_MAY_CHANGE


# -- objects: a member with no relation sees nothing and can do nothing -------------------------------
def _reads(p) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(url, who may read it) for the seller's draft, the buyer's registration and the deal."""
    deal, draft, reg = p["deal"].ref, p["draft"].ref, p["registration"].ref
    return [(f"/api/v1/listings/{draft}", "seller"),
            (f"/api/v1/registrations/{reg}", "buyer"),
            (f"/api/v1/settlement/holds/{reg}", "buyer"),
            (f"/api/v1/deals/{deal}", "buyer"),
            (f"/api/v1/deals/{deal}", "seller"),
            (f"/api/v1/deals/{deal}/contract", "buyer"),
            (f"/api/v1/settlement/deals/{deal}", "seller"),
            (f"/api/v1/settlement/deals/{deal}/statement", "buyer"),
            (f"/api/v1/settlement/parties/{p['deal'].buyer.ref}/statement", "buyer"),
            (f"/api/v1/settlement/parties/{p['deal'].seller.ref}/credit", "seller"),
            (f"/listings/{draft}", "seller")]


def test_other_member_gets_404_on_objects_the_owners_can_read(client, people):
    tokens = people["tokens"]
    for url, owner in _reads(people):
        assert client.get(url, headers=auth(tokens[owner])).status_code == 200, (url, owner)
        r = client.get(url, headers={**auth(tokens["other"]), "Accept": "text/html"})
        assert r.status_code == 404, (url, r.status_code, r.get_data(as_text=True)[:200])
        if url.startswith("/api/"):
            assert r.mimetype == PROBLEM and r.get_json()["code"].endswith("not_found"), (url, r.get_json())
    # The lists a member sees do not include them either.
    mine = client.get("/api/v1/deals", headers=auth(tokens["other"])).get_json()
    assert people["deal"].ref not in str(mine)
    regs = client.get("/api/v1/registrations/mine", headers=auth(tokens["other"])).get_json()
    assert people["registration"].ref not in str(regs)


def test_other_member_cannot_act_on_them(client, session, people):
    from auctions.models import Deal
    from listings.models import BuyerRegistration, Listing

    t = auth(people["tokens"]["other"], **{"Idempotency-Key": "other-member-acts"})
    deal, draft, reg = people["deal"], people["draft"], people["registration"]
    before = (draft.state, draft.title, reg.state, deal.state)
    contract = client.get(f"/api/v1/deals/{deal.ref}/contract", headers=auth(people["tokens"]["buyer"])).get_json()
    attempts = [
        ("PATCH", f"/api/v1/listings/{draft.ref}", {"title": "被他人修改"}),
        ("POST", f"/api/v1/listings/{draft.ref}/submit", {}),
        ("POST", f"/api/v1/listings/{draft.ref}/withdraw", {"reason": "不是我的"}),
        ("POST", f"/api/v1/registrations/{reg.ref}/withdraw", {"reason": "不是我的"}),
        ("POST", f"/api/v1/registrations/{reg.ref}/declaration", {"declaration": "我方符合条件"}),
        ("POST", f"/api/v1/settlement/holds/{reg.ref}/release", {}),
        ("POST", f"/api/v1/contracts/{contract['ref']}/sign", {"text_sha256": contract["text_sha256"]}),
        ("POST", f"/api/v1/contracts/{contract['ref']}/registration", {}),
    ]
    for method, url, body in attempts:
        r = client.open(url, method=method, json=body, headers=t)
        assert r.status_code in (403, 404), (method, url, r.status_code, r.get_data(as_text=True)[:300])
        assert r.mimetype == PROBLEM and r.get_json()["code"] not in ("forbidden_role",), (url, r.get_json())
    session.expire_all()
    after = (session.get(Listing, draft.id).state, session.get(Listing, draft.id).title,
             session.get(BuyerRegistration, reg.id).state, session.get(Deal, deal.id).state)
    assert after == before
