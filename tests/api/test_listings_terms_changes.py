"""The seller changes published terms: what that does to buyers already registered.

New qualification conditions send qualified buyers back to review, and nobody is qualified until it
has declared again against the conditions now published. Any change of published terms lets a buyer
qualified under the old terms withdraw with its deposit refunded, until it is qualified again.
Refused requests change nothing.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.models import AuditEvent
from tests.factories import auth
from tests.helpers import (
    assert_problem,
    cast_with_published_listing,
    ok,
    qualified_buyer,
    register_buyer,
)

NEW_CONDITIONS = "中国境内依法设立的企业法人，且近三年在精密减速器领域有量产业绩"


@pytest.fixture()
def c(client, session, clock):  # type: ignore[no-untyped-def]
    return cast_with_published_listing(client, session, clock)


def _reg(client, c, ref, token=None):  # type: ignore[no-untyped-def]
    return ok(client.get(f"/api/v1/registrations/{ref}", headers=auth(token or c.to)))


def _change(client, c, clock, **terms):  # type: ignore[no-untyped-def]
    clock.advance(hours=2)
    return ok(client.patch(f"/api/v1/listings/{c.ref}", json=terms, headers=auth(c.ts)))


def _paid(client, c, token):  # type: ignore[no-untyped-def]
    reg = register_buyer(client, token, c.ref)
    return ok(client.post(f"/api/v1/registrations/{reg['ref']}/deposit-received", headers=auth(c.to)))


def _audit(session, ref):  # type: ignore[no-untyped-def]
    return [e.action for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == ref)
                                              .order_by(AuditEvent.seq))]


def test_new_conditions_send_qualified_buyers_back_to_declare_again(client, session, clock, c):
    q = qualified_buyer(client, c.t1, c.to, c.ref)
    paid = _paid(client, c, c.t2)
    assert q["qualified_at"] and q["withdrawal_forfeits_deposit"] is True and q["declaration_outdated"] is False
    _change(client, c, clock, qualification_conditions=NEW_CONDITIONS)
    back = _reg(client, c, q["ref"], c.t1)
    assert back["state"] == "deposit_paid" and back["qualified_at"] is None
    assert back["declaration_outdated"] is True and back["withdrawal_forfeits_deposit"] is False
    assert back["decision_reason"] is None
    assert _reg(client, c, paid["ref"])["declaration_outdated"] is True
    # The seller sees that its buyers must declare again (without learning who they are).
    seen = ok(client.get(f"/api/v1/listings/{c.ref}/registrations", headers=auth(c.ts)))
    assert [(r["state"], r["declaration_outdated"]) for r in seen] == [("deposit_paid", True)] * 2
    # Nobody is qualified against conditions it never declared to meet.
    events = len(_audit(session, q["ref"]))
    assert_problem(client.post(f"/api/v1/registrations/{q['ref']}/decision", json={"qualify": True},
                               headers=auth(c.to)), 409, "declaration_outdated")
    assert len(_audit(session, q["ref"])) == events and _reg(client, c, q["ref"])["state"] == "deposit_paid"
    # Rejecting stays possible.
    ok(client.post(f"/api/v1/registrations/{paid['ref']}/decision", json={"qualify": False, "reason": "无量产业绩"},
                   headers=auth(c.to)))
    # The buyer declares again; the operator can then qualify it.
    clock.advance(minutes=5)
    renewed = ok(client.post(f"/api/v1/registrations/{q['ref']}/declaration",
                             json={"declaration": "本公司近三年量产精密减速器，符合新条件"}, headers=auth(c.t1)))
    assert renewed["declaration_outdated"] is False and renewed["declared_at"] > back["declared_at"]
    assert renewed["declaration"] == "本公司近三年量产精密减速器，符合新条件" and renewed["state"] == "deposit_paid"
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == q["ref"],
                                                        AuditEvent.action == "registration.declaration_renewed")).one()
    assert event.before["declaration"] == "本公司符合全部受让条件" and event.after["conditions"] == NEW_CONDITIONS
    assert_problem(client.post(f"/api/v1/registrations/{q['ref']}/declaration", json={"declaration": "再声明一次"},
                               headers=auth(c.t1)), 409, "declaration_current")
    again = ok(client.post(f"/api/v1/registrations/{q['ref']}/decision", json={"qualify": True}, headers=auth(c.to)))
    assert again["state"] == "qualified" and again["qualified_at"] and again["withdrawal_forfeits_deposit"] is True
    assert [a for a in _audit(session, q["ref"]) if a.startswith("registration.")] == [
        "registration.created", "registration.deposit_paid", "registration.qualified", "registration.deposit_paid",
        "registration.declaration_renewed", "registration.qualified"]


def test_the_same_conditions_sent_again_keep_buyers_qualified(client, session, clock, c):
    q = qualified_buyer(client, c.t1, c.to, c.ref)
    _change(client, c, clock, qualification_conditions=c.listing["qualification_conditions"])
    now = _reg(client, c, q["ref"])
    assert now["state"] == "qualified" and now["declaration_outdated"] is False
    # Nothing really changed, so the buyer is still bound: no free exit, no notice.
    assert now["withdrawal_forfeits_deposit"] is True
    from exchange.models import OutboxMessage

    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.topic == "registration.terms_changed")) == 0


def test_a_new_price_keeps_buyers_qualified_and_lets_them_leave_with_the_deposit(client, session, clock, c):
    q = qualified_buyer(client, c.t1, c.to, c.ref)
    paid = _paid(client, c, c.t2)
    _change(client, c, clock, price_fen=120_000_000)
    kept = _reg(client, c, q["ref"], c.t1)
    assert kept["state"] == "qualified" and kept["declaration_outdated"] is False
    assert kept["withdrawal_forfeits_deposit"] is False
    out = ok(client.post(f"/api/v1/registrations/{q['ref']}/withdraw", json={"reason": "价格上调，不再参与"},
                         headers=auth(c.t1)))
    assert out["state"] == "withdrawn" and out["forfeit_on_withdrawal"] is False
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == q["ref"],
                                                        AuditEvent.action == "registration.withdrawn")).one()
    assert event.after == {"state": "withdrawn", "forfeit_on_withdrawal": False} and event.reason == "价格上调，不再参与"
    # A buyer qualified after the change is bound by the new terms: leaving now forfeits.
    clock.advance(minutes=5)
    later = ok(client.post(f"/api/v1/registrations/{paid['ref']}/decision", json={"qualify": True},
                           headers=auth(c.to)))
    assert later["withdrawal_forfeits_deposit"] is True
    gone = ok(client.post(f"/api/v1/registrations/{paid['ref']}/withdraw", json={"reason": "退出"},
                          headers=auth(c.t2)))
    assert gone["forfeit_on_withdrawal"] is True


def test_a_buyer_qualified_under_unchanged_terms_forfeits_on_withdrawal(client, c):
    q = qualified_buyer(client, c.t1, c.to, c.ref)
    out = ok(client.post(f"/api/v1/registrations/{q['ref']}/withdraw", json={"reason": "退出"}, headers=auth(c.t1)))
    assert out["forfeit_on_withdrawal"] is True
    unpaid = register_buyer(client, c.t2, c.ref)
    assert unpaid["withdrawal_forfeits_deposit"] is False
    out = ok(client.post(f"/api/v1/registrations/{unpaid['ref']}/withdraw", json={"reason": "退出"},
                         headers=auth(c.t2)))
    assert out["forfeit_on_withdrawal"] is False


def test_declaring_again_is_refused_when_it_cannot_apply(client, session, clock, c):
    reg = _paid(client, c, c.t1)
    url = f"/api/v1/registrations/{reg['ref']}/declaration"
    body = {"declaration": "本公司符合新条件"}
    # Nothing changed yet: the declaration answers the conditions published.
    assert_problem(client.post(url, json=body, headers=auth(c.t1)), 409, "declaration_current")
    _change(client, c, clock, qualification_conditions=NEW_CONDITIONS)
    before = (len(_audit(session, reg["ref"])), _reg(client, c, reg["ref"])["declaration"])
    assert_problem(client.post(url, json=body, headers=auth(c.t_other)), 404, "registration_not_found")
    assert_problem(client.post(url, json=body, headers=auth(c.ts)), 404, "registration_not_found")
    assert_problem(client.post(url, json=body), 401, "not_authenticated")
    for bad in ({"declaration": ""}, {"declaration": "   "}, {}, {**body, "extra": 1}, {"declaration": "x" * 5001}):
        r = client.post(url, json=bad, headers=auth(c.t1))
        assert r.status_code == 422 and r.get_json()["code"], (bad, r.get_json())
    assert (len(_audit(session, reg["ref"])), _reg(client, c, reg["ref"])["declaration"]) == before
    # A withdrawn registration has nothing to declare.
    other = _paid(client, c, c.t2)
    ok(client.post(f"/api/v1/registrations/{other['ref']}/withdraw", json={"reason": "退出"}, headers=auth(c.t2)))
    assert_problem(client.post(f"/api/v1/registrations/{other['ref']}/declaration", json=body, headers=auth(c.t2)),
                   409, "invalid_transition")


def test_declaring_again_after_publicity_is_refused(client, session, clock, c):
    from datetime import datetime

    # Without extensions, publicity with no qualified buyer ends the listing unsold.
    _change(client, c, clock, allows_extension=False)
    reg = _paid(client, c, c.t1)
    _change(client, c, clock, qualification_conditions=NEW_CONDITIONS)
    listing = ok(client.get(f"/api/v1/listings/{c.ref}", headers=auth(c.ts)))
    clock.set(datetime.fromisoformat(listing["publicity_ends_at"]))
    assert_problem(client.post(f"/api/v1/registrations/{reg['ref']}/declaration",
                               json={"declaration": "本公司符合新条件"}, headers=auth(c.t1)), 409, "publicity_not_open")
    assert "registration.declaration_renewed" not in _audit(session, reg["ref"])


def test_a_withdrawal_told_otherwise_is_refused(client, session, clock, c):
    paid = _paid(client, c, c.t1)
    url = f"/api/v1/registrations/{paid['ref']}/withdraw"
    assert paid["withdrawal_forfeits_deposit"] is False
    ok(client.post(f"/api/v1/registrations/{paid['ref']}/decision", json={"qualify": True}, headers=auth(c.to)))
    events = len(_audit(session, paid["ref"]))
    assert_problem(client.post(url, json={"reason": "退出", "expect_forfeit": False}, headers=auth(c.t1)), 409,
                   "withdrawal_terms_changed")
    assert len(_audit(session, paid["ref"])) == events and _reg(client, c, paid["ref"])["state"] == "qualified"
    out = ok(client.post(url, json={"reason": "退出", "expect_forfeit": True}, headers=auth(c.t1)))
    assert out["forfeit_on_withdrawal"] is True


def test_buyers_sent_back_for_new_conditions_do_not_bid(client, session, clock, c):
    """At the end of publicity only buyers qualified against the conditions then published count."""
    from auctions.models import Auction

    q1 = qualified_buyer(client, c.t1, c.to, c.ref)
    q2 = qualified_buyer(client, c.t2, c.to, c.ref)
    q3 = qualified_buyer(client, c.t3, c.to, c.ref)
    _change(client, c, clock, qualification_conditions=NEW_CONDITIONS)
    for reg, token in ((q1, c.t1), (q2, c.t2)):
        ok(client.post(f"/api/v1/registrations/{reg['ref']}/declaration", json={"declaration": "符合新条件"},
                       headers=auth(token)))
        ok(client.post(f"/api/v1/registrations/{reg['ref']}/decision", json={"qualify": True}, headers=auth(c.to)))
    listing = ok(client.get(f"/api/v1/listings/{c.ref}", headers=auth(c.ts)))
    from datetime import datetime, timedelta

    clock.set(datetime.fromisoformat(listing["publicity_ends_at"]) + timedelta(seconds=1))
    assert ok(client.get(f"/api/v1/listings/{c.ref}", headers=auth(c.ts)))["state"] in ("awaiting_auction", "in_auction")
    auction = session.scalars(sa.select(Auction)).one()
    assert sorted(b.party_id for b in auction.bidders) == sorted([c.b1.party_id, c.b2.party_id])
    assert _reg(client, c, q3["ref"])["state"] == "deposit_paid"
