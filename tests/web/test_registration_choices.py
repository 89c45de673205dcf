"""A buyer's choices on its registrations page: withdrawing (told beforehand whether the deposit is
forfeited or refunded) and declaring again after the seller changed the qualification conditions.
The operator's page flags an outdated declaration and offers no qualification until it is renewed."""
from __future__ import annotations

import html

import sqlalchemy as sa

from exchange.actors import Actor
from listings import service as svc
from listings.models import BuyerRegistration
from tests.web.test_listings_pages import client_for, error_beside, page_of, people, post_form, world  # noqa: F401

NEW = "近三年在精密减速器领域有量产业绩的企业法人"


def _registered(session, clock, w, who="b1", *, paid=True, qualified=False):  # type: ignore[no-untyped-def]
    reg = svc.register_interest(session, Actor.of(w[who]), w["ref"], "本公司符合全部受让条件。", clock=clock)
    if paid:
        svc.mark_deposit_paid(session, Actor.of(w["op"]), reg.ref, clock=clock)
    if qualified:
        svc.decide_registration(session, Actor.of(w["op"]), reg.ref, qualify=True, reason="", clock=clock)
    session.commit()
    return reg


def _change(session, clock, w, **changes):  # type: ignore[no-untyped-def]
    clock.advance(hours=1)
    svc.update_terms(session, Actor.of(w["uni"]), w["ref"], changes, clock=clock)
    session.commit()


def _state(session, ref):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(sa.select(BuyerRegistration).where(BuyerRegistration.ref == ref))


def test_a_qualified_buyer_is_warned_that_withdrawing_forfeits_the_deposit(app, session, clock, world):
    reg = _registered(session, clock, world, qualified=True)
    c = client_for(app, world["b1"])
    mine = page_of(c.get("/my/registrations?lang=en"))
    assert f'href="/my/registrations/{reg.ref}/withdraw"' in mine
    assert "withdrawing forfeits the deposit" in mine
    path = f"/my/registrations/{reg.ref}/withdraw?lang=en"
    page = html.unescape(page_of(c.get(path)))
    assert "withdrawing forfeits your deposit of ¥" in page
    # Without the reason and the ticked box nothing happens.
    r = post_form(c, path, path, {"reason": ""})
    assert r.status_code == 422 and _state(session, reg.ref).state.value == "qualified"
    assert error_beside(page_of(r), "reason") and error_beside(page_of(r), "confirm")
    r = post_form(c, path, path, {"reason": "预算调整", "confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/my/registrations#{reg.ref}")
    done = _state(session, reg.ref)
    assert done.state.value == "withdrawn" and done.forfeit_on_withdrawal is True
    after = html.unescape(page_of(c.get("/my/registrations?lang=en")))
    assert "is forfeited" in after and f"/my/registrations/{reg.ref}/withdraw" not in after


def test_after_new_terms_a_qualified_buyer_may_leave_with_its_deposit(app, session, clock, world):
    reg = _registered(session, clock, world, qualified=True)
    _change(session, clock, world, price_fen=300_000_000)
    c = client_for(app, world["b1"])
    mine = page_of(c.get("/my/registrations?lang=en"))
    assert "you may withdraw and have your deposit refunded" in mine and "forfeits" not in mine
    path = f"/my/registrations/{reg.ref}/withdraw?lang=en"
    assert "any deposit you paid is refunded" in page_of(c.get(path))
    r = post_form(c, path, path, {"reason": "价格上调", "confirm": "y"})
    assert r.status_code == 302
    assert _state(session, reg.ref).forfeit_on_withdrawal is False
    assert "any deposit paid is refunded" in page_of(c.get("/my/registrations?lang=en"))


def test_new_conditions_ask_the_buyer_to_declare_again(app, session, clock, world):
    reg = _registered(session, clock, world, qualified=True)
    _change(session, clock, world, qualification_conditions=NEW)
    c = client_for(app, world["b1"])
    mine = page_of(c.get("/my/registrations?lang=en"))
    assert "The seller changed the qualification conditions" in mine
    assert f'href="/my/registrations/{reg.ref}/declaration"' in mine
    assert "Waiting for the exchange to check your qualification" not in mine
    path = f"/my/registrations/{reg.ref}/declaration?lang=en"
    page = page_of(c.get(path))
    assert NEW in page and "本公司符合全部受让条件。" in page
    # The box must be ticked and the declaration written; nothing changes otherwise.
    r = post_form(c, path, path, {"declaration": "本公司符合新条件"})
    assert r.status_code == 422 and error_beside(page_of(r), "meets_conditions")
    r = post_form(c, path, path, {"declaration": "", "meets_conditions": "y"})
    assert r.status_code == 422 and error_beside(page_of(r), "declaration")
    assert _state(session, reg.ref).declaration == "本公司符合全部受让条件。"
    r = post_form(c, path, path, {"declaration": "本公司近三年量产精密减速器", "meets_conditions": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"#{reg.ref}")
    now = _state(session, reg.ref)
    assert now.declaration == "本公司近三年量产精密减速器" and not now.declaration_outdated
    mine = page_of(c.get("/my/registrations?lang=en"))
    assert "Waiting for the exchange to check your qualification" in mine
    # Declaring once more is refused above the form, and the stored declaration stays.
    r = post_form(c, path, path, {"declaration": "再次声明", "meets_conditions": "y"})
    assert r.status_code == 409 and "already answers the conditions" in html.unescape(page_of(r))
    assert _state(session, reg.ref).declaration == "本公司近三年量产精密减速器"


def test_operator_sees_the_outdated_declaration_and_cannot_qualify_yet(app, session, clock, world):
    reg = _registered(session, clock, world)
    _change(session, clock, world, qualification_conditions=NEW)
    op = client_for(app, world["op"])
    path = f"/operator/registrations/{reg.ref}?lang=en"
    page = page_of(op.get(path))
    assert "must declare again before it can be qualified" in page
    assert f"/operator/registrations/{reg.ref}/qualify" not in page
    assert f"/operator/registrations/{reg.ref}/reject" in page
    assert "must declare again" in page_of(op.get("/operator/registrations?lang=en"))
    r = post_form(op, path, f"/operator/registrations/{reg.ref}/qualify?lang=en", {"qualify-confirm": "y"})
    assert r.status_code == 409 and "declare again" in html.unescape(page_of(r))
    assert _state(session, reg.ref).state.value == "deposit_paid"


def test_someone_elses_registration_pages_are_not_found(app, session, clock, world):
    reg = _registered(session, clock, world)
    other = client_for(app, world["b2"])
    for action in ("withdraw", "declaration"):
        assert other.get(f"/my/registrations/{reg.ref}/{action}").status_code == 404
    assert client_for(app, world["b2"]).get("/my/registrations/R2026-999999/withdraw").status_code == 404
    assert app.test_client().get(f"/my/registrations/{reg.ref}/withdraw").status_code == 401


def test_chinese_pages_show_the_choices_in_chinese(app, session, clock, world):
    reg = _registered(session, clock, world, qualified=True)
    _change(session, clock, world, qualification_conditions=NEW)
    c = client_for(app, world["b1"])
    mine = page_of(c.get("/my/registrations?lang=zh"))
    assert "重新声明" in mine and "撤回" in mine
    r = post_form(c, f"/my/registrations/{reg.ref}/declaration?lang=zh", f"/my/registrations/{reg.ref}/declaration?lang=zh",
                  {"declaration": "本公司符合新条件", "meets_conditions": "y"})
    assert r.status_code == 302
    r = post_form(c, f"/my/registrations/{reg.ref}/declaration?lang=zh", f"/my/registrations/{reg.ref}/declaration?lang=zh",
                  {"declaration": "再次声明", "meets_conditions": "y"})
    assert r.status_code == 409 and "already answers" not in page_of(r)


def test_a_withdrawal_is_refused_when_what_it_means_for_the_deposit_changed(app, session, clock, world):
    """The page said 'refunded'; the operator qualified the buyer before it confirmed: refused, nothing
    changed, and the page now says the deposit would be forfeited."""
    reg = _registered(session, clock, world)
    c = client_for(app, world["b1"])
    path = f"/my/registrations/{reg.ref}/withdraw?lang=en"
    token_page = c.get(path)
    assert "any deposit you paid is refunded" in page_of(token_page)
    from tests.web.test_platform_pages import CSRF_RE

    token = CSRF_RE.search(page_of(token_page)).group(1)
    svc.decide_registration(session, Actor.of(world["op"]), reg.ref, qualify=True, reason="", clock=clock)
    session.commit()
    r = c.post(path, data={"reason": "退出", "confirm": "y", "expect_forfeit": "0", "csrf_token": token})
    page = html.unescape(page_of(r))
    assert r.status_code == 409 and "changed since you were told" in page
    assert "withdrawing forfeits your deposit" in page and 'value="1"' in page
    assert _state(session, reg.ref).state.value == "qualified"
    r = post_form(c, path, path, {"reason": "退出", "confirm": "y", "expect_forfeit": "1"})
    assert r.status_code == 302 and _state(session, reg.ref).forfeit_on_withdrawal is True


def test_posting_to_someone_elses_registration_is_not_found(app, session, clock, world):
    reg = _registered(session, clock, world)
    _change(session, clock, world, qualification_conditions=NEW)
    other = client_for(app, world["b2"])
    for action, data in (("withdraw", {"reason": "x", "confirm": "y"}),
                         ("declaration", {"declaration": "x", "meets_conditions": "y"})):
        r = post_form(other, "/my/registrations", f"/my/registrations/{reg.ref}/{action}", data)
        assert r.status_code == 404, action
    now = _state(session, reg.ref)
    assert now.state.value == "deposit_paid" and now.declaration == "本公司符合全部受让条件。"
